package localrun

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/localdev/mailsink"
	"github.com/casellario-pec/casellario/shared/localdev/needs"
	"github.com/casellario-pec/casellario/shared/localdev/sim/procura"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/pec/compose"
	"github.com/casellario-pec/casellario/shared/pecmail"
	"github.com/casellario-pec/casellario/shared/s3docs"
	"github.com/casellario-pec/casellario/shared/tenants"
	"github.com/casellario-pec/casellario/shared/uploads"
)

const list = "Cognome;Nome;Sesso;Data di nascita;Comune o Stato di nascita\n" +
	"Rossi;Mario;M;01/01/1980;Roma\n" +
	"Bianchi;Anna;F;12/03/1985;Germania\n" +
	"Verdi;Luca;X;01/01/1990;Prato\n"

// waitFor polls cond until it holds or the time is up.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRoundTripAndRestart runs the system as `casellario dev` does: a list put into
// the uploads bucket is taken in by the S3 notification, dispatch run on demand sends
// it, the office is told by e-mail, and everything is still there after a restart.
func TestRoundTripAndRestart(t *testing.T) {
	needs.Server(t, needs.LocalRun)
	ctx := context.Background()
	dir := t.TempDir()
	opts := Options{DataDir: dir, DispatchEvery: -1, ProcuraDelay: time.Hour, Log: slog.New(slog.DiscardHandler)}
	run, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := ReadEndpoints(filepath.Join(dir, EndpointsFile))
	if err != nil || ep.DynamoDB != run.Endpoints.DynamoDB || ep.SMTP != run.Endpoints.SMTP || ep.Control == "" || ep.Mail == "" || len(ep.Mailboxes) != 3 {
		t.Fatalf("endpoints.json: %+v %v", ep, err)
	}

	id := domain.NewID()
	key := s3docs.UploadKey("c_g999", "SUAP", id, "csv")
	if _, err := run.Docs.PutWithMetadata(ctx, run.Docs.Upload(key), "text/csv", strings.NewReader(list),
		map[string]string{uploads.MetaUploadedBy: "test"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "intake", func() bool {
		u, err := run.Store.GetUpload(ctx, "c_g999", id)
		return err == nil && u.State == domain.UploadQueued
	})
	u, _ := run.Store.GetUpload(ctx, "c_g999", id)
	if u.Counts != (domain.Counts{Rows: 3, Valid: 2, Invalid: 1}) {
		t.Errorf("counts %+v", u.Counts)
	}

	resp, err := http.Post(ep.Control+"/dispatch", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var sum struct{ Created, Sent int }
	if resp.StatusCode != 200 || json.Unmarshal(body, &sum) != nil || sum.Created != 1 || sum.Sent != 1 {
		t.Fatalf("dispatch: %d %s", resp.StatusCode, body)
	}
	batches, err := run.Store.ListBatches(ctx, "c_g999", "SUAP", nil, 10)
	if err != nil || len(batches) != 1 || batches[0].State != domain.BatchSent || batches[0].MessageID == "" || len(batches[0].People) != 2 {
		t.Fatalf("batches %+v %v", batches, err)
	}

	var notices []string
	waitFor(t, "notifications", func() bool {
		notices = notices[:0]
		for _, m := range run.sink.Messages() {
			notices = append(notices, m.Notice)
		}
		return len(notices) >= 2
	})
	if strings.Join(notices, ",") != "list-received,request-sent" {
		t.Errorf("notices %v", notices)
	}
	r, err := http.Get(ep.Mail + "/messages?to=suap@comune.prato.test")
	if err != nil {
		t.Fatal(err)
	}
	var listed []mailsink.Message
	_ = json.NewDecoder(r.Body).Decode(&listed)
	r.Body.Close()
	if len(listed) != 2 {
		t.Errorf("mail list has %d messages", len(listed))
	}
	caPEM := run.World.CAPEM
	run.Close()
	if _, err := ReadEndpoints(filepath.Join(dir, EndpointsFile)); err == nil {
		t.Error("endpoints.json left behind by a stopped run")
	}

	again, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	b, err := again.Store.GetBatch(ctx, "c_g999", batches[0].ID)
	if err != nil || b.State != domain.BatchSent || b.MessageID != batches[0].MessageID {
		t.Fatalf("after restart: %+v %v", b, err)
	}
	data, _, err := again.Docs.GetBytes(ctx, again.Docs.Upload(key))
	if err != nil || !bytes.Equal(data, []byte(list)) {
		t.Fatalf("upload after restart: %v", err)
	}
	// The simulator kept its CA and its mailboxes: the Comune still holds the
	// acceptance receipt, validly signed.
	if !bytes.Equal(again.World.CAPEM, caPEM) || again.Endpoints.CA != ep.CA {
		t.Fatal("the simulator's CA changed at the restart")
	}
	comune := again.opts.Tenants.Tenants[0].PEC.Address
	accepted := false
	for _, m := range inbox(t, again, comune) {
		if m.Kind == pec.KindAccettazione && m.RefMessageID == batches[0].MessageID {
			accepted = m.Signature.Status == pec.SignatureValid
		}
	}
	if !accepted {
		t.Fatal("after restart: no valid acceptance receipt in the Comune's INBOX")
	}
}

// inbox reads and verifies the INBOX of a simulator mailbox.
func inbox(t *testing.T, r *Run, address string) []*pec.Message {
	t.Helper()
	c, err := imapclient.DialTLS(r.World.IMAPAddr, &imapclient.Options{TLSConfig: r.World.CA.ClientTLS()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(address, r.World.Password(address)).Wait(); err != nil {
		t.Fatal(err)
	}
	sd, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil || sd.NumMessages == 0 {
		t.Fatalf("INBOX of %s: %v messages, %v", address, sd, err)
	}
	var all imap.SeqSet
	all.AddRange(1, sd.NumMessages)
	section := &imap.FetchItemBodySection{Peek: true}
	bufs, err := c.Fetch(all, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var out []*pec.Message
	for _, b := range bufs {
		m, err := pec.Parse(b.FindBodySection(section), pec.ReadOptions{TrustStore: r.World.CA.Pool()})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func TestReadEndpointsErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadEndpoints(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("missing file accepted")
	}
	p := filepath.Join(dir, "other.json")
	if err := writeJSON(p, map[string]string{"smtp": "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadEndpoints(p); err == nil || !strings.Contains(err.Error(), "not an endpoints file") {
		t.Errorf("other JSON accepted: %v", err)
	}
}

func TestStartRefusesABusyDataFolder(t *testing.T) {
	needs.Server(t, needs.LocalRun)
	ctx := context.Background()
	dir := t.TempDir()
	opts := Options{DataDir: dir, DispatchEvery: -1, Log: slog.New(slog.DiscardHandler)}
	run, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if second, err := Start(sctx, opts); err == nil {
		second.Close()
		t.Fatal("two local runs on one data folder")
	}
}

// TestEndToEnd is the whole mission on one machine: a list is uploaded, dispatched
// by PEC, the Procura answers with certificates, the poll stores each one for its
// person with the outcome the Procura decided, the batch completes, and the office
// has been told at every step.
//
// The Comune's PEC box is its general one (shared): a citizen's PEC that
// arrived before is still there, unread and unflagged, after the round trip,
// and nothing of it was copied into our buckets.
func TestEndToEnd(t *testing.T) {
	needs.Server(t, needs.LocalRun)
	ctx := context.Background()
	const citizen = "mario.rossi@pec.cittadini.test"
	run, err := Start(ctx, Options{DataDir: t.TempDir(), DispatchEvery: -1, PollEvery: -1, ProcuraDelay: time.Millisecond,
		Log: slog.New(slog.DiscardHandler), Mailboxes: []string{citizen}})
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	comune := run.Tenants.Tenants[0]
	if comune.PEC.Dedicated() {
		t.Fatal("the demo's mailbox should be shared")
	}
	const marker = "ISTANZA-ACCESSO-5812"
	citizenMsg := sendPEC(t, run, citizen, comune.PEC.Address, "Istanza di accesso agli atti", "Chiedo copia della pratica "+marker+".\r\n")
	id := domain.NewID()
	key := s3docs.UploadKey("c_g999", "ACQUISTI", id, "csv")
	lines := "Cognome;Nome;Sesso;Data di nascita;Comune o Stato di nascita\n"
	for i, n := range []string{"Mario", "Luigi", "Anna", "Paola", "Marco", "Sara", "Giulia", "Luca"} {
		sex := "M"
		if strings.HasSuffix(n, "a") {
			sex = "F"
		}
		lines += "Rossi;" + n + ";" + sex + ";0" + string(rune('1'+i)) + "/02/1970;Prato\n"
	}
	if _, err := run.Docs.Put(ctx, run.Docs.Upload(key), "text/csv", strings.NewReader(lines)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "intake", func() bool {
		u, err := run.Store.GetUpload(ctx, "c_g999", id)
		return err == nil && u.State == domain.UploadQueued
	})
	if _, err := run.pipeline.dispatch(ctx, domain.CauseUser("test")); err != nil {
		t.Fatal(err)
	}
	batches, _ := run.Store.ListBatches(ctx, "c_g999", "ACQUISTI", nil, 5)
	if len(batches) != 1 {
		t.Fatalf("%d batches", len(batches))
	}
	batch := batches[0].ID
	waitFor(t, "the reply to be polled and the batch completed", func() bool {
		if _, err := run.pipeline.pollNow(ctx, domain.CauseUser("test")); err != nil {
			t.Fatal(err)
		}
		b, err := run.Store.GetBatch(ctx, "c_g999", batch)
		return err == nil && b.State == domain.BatchCompleted
	})
	subjects, err := run.Store.SubjectsOfBatch(ctx, "c_g999", batch)
	if err != nil || len(subjects) != 8 {
		t.Fatalf("subjects %d %v", len(subjects), err)
	}
	outcomes := map[domain.Outcome]int{}
	for _, s := range subjects {
		if s.Certificate != nil {
			outcomes[s.Certificate.Outcome]++
		}
		if s.State != domain.PersonCertified || s.Certificate == nil {
			t.Fatalf("row %d: %s %+v", s.Row, s.State, s.Certificate)
		}
		if want := procura.Outcome(s.Person); s.Certificate.Outcome != want {
			t.Errorf("row %d: outcome %s, the Procura wrote %s", s.Row, s.Certificate.Outcome, want)
		}
		pdf, _, err := run.Docs.GetBytes(ctx, run.Docs.Document(s.Certificate.Key))
		if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF")) {
			t.Errorf("row %d: certificate not stored: %v", s.Row, err)
		}
	}
	if outcomes[domain.OutcomeNullo] == 0 || outcomes[domain.OutcomePositivo] == 0 {
		t.Errorf("the list should give both outcomes: %v", outcomes)
	}
	var states []string
	events, _ := run.Store.Events(ctx, "c_g999", batch)
	for _, e := range events {
		if len(states) == 0 || states[len(states)-1] != e.State {
			states = append(states, e.State)
		}
	}
	for _, want := range []string{"queued", "protocolled", "sent", "accepted", "delivered", "replied", "completed"} {
		if !contains(states, want) {
			t.Errorf("no %s event: %v", want, states)
		}
	}
	waitFor(t, "the office's e-mails", func() bool {
		got := map[string]bool{}
		for _, m := range run.sink.Messages() {
			if len(m.To) > 0 && m.To[0] == "acquisti@comune.prato.test" {
				got[m.Notice] = true
			}
		}
		return got["list-received"] && got["request-sent"] && got["delivered"] && got["certificates"]
	})
	if u, err := run.Store.GetUpload(ctx, "c_g999", id); err != nil || u.State != domain.UploadCompleted {
		t.Errorf("the list did not end completed: %+v %v", u, err)
	}

	// The citizen's PEC: still in the INBOX, not \Seen, not flagged, never copied.
	flags, found := flagsOf(t, run, comune.PEC.Address, citizenMsg)
	if !found {
		t.Fatal("the citizen's PEC is no longer in the Comune's INBOX")
	}
	if len(flags) != 0 {
		t.Errorf("the citizen's PEC got flags %v", flags)
	}
	for _, bucket := range []string{UploadsBucket, DocumentsBucket} {
		for _, k := range keys(t, run, bucket) {
			var raw []byte
			if bucket == UploadsBucket {
				raw, _, err = run.Docs.GetBytes(ctx, run.Docs.Upload(k))
			} else {
				raw, _, err = run.Docs.GetBytes(ctx, run.Docs.Document(k))
			}
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(raw, []byte(marker)) {
				t.Errorf("%s/%s holds the citizen's PEC", bucket, k)
			}
		}
	}
}

// sendPEC submits a message from one simulator mailbox to another and
// returns its Message-ID.
func sendPEC(t *testing.T, r *Run, from, to, subject, text string) string {
	t.Helper()
	var raw bytes.Buffer
	mid, err := compose.Write(&raw, compose.Mail{From: from, To: []string{to}, Subject: subject, Text: text})
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg, err := pecmail.TLSWithRoots(r.Peers.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	sender := &pecmail.SMTP{Secrets: pecmail.LocalSecrets(), TLS: tlsCfg, Timeout: 10 * time.Second}
	mb := tenants.Tenant{ID: "citizen", PEC: tenants.Mailbox{Address: from, SMTP: r.Peers.SMTP, Auth: tenants.Secret{Password: r.Peers.Password(from)}}}
	if err := sender.Send(context.Background(), mb, from, []string{to}, raw.Bytes()); err != nil {
		t.Fatal(err)
	}
	return mid
}

// flagsOf finds, read-only, the envelope of the original msgID in a mailbox's
// INBOX and returns its flags.
func flagsOf(t *testing.T, r *Run, address, msgID string) ([]imap.Flag, bool) {
	t.Helper()
	c, err := imapclient.DialTLS(r.Peers.IMAP, &imapclient.Options{TLSConfig: r.World.CA.ClientTLS()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(address, r.Peers.Password(address)).Wait(); err != nil {
		t.Fatal(err)
	}
	sd, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil || sd.NumMessages == 0 {
		return nil, false
	}
	var all imap.SeqSet
	all.AddRange(1, sd.NumMessages)
	section := &imap.FetchItemBodySection{Peek: true}
	bufs, err := c.Fetch(all, &imap.FetchOptions{Flags: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bufs {
		m, err := pec.Parse(b.FindBodySection(section), pec.ReadOptions{})
		if err == nil && m.Kind == pec.KindPostaCertificata && m.RefMessageID == msgID {
			return b.Flags, true
		}
	}
	return nil, false
}

// keys lists a bucket of the run.
func keys(t *testing.T, r *Run, bucket string) []string {
	t.Helper()
	var out []string
	p := s3.NewListObjectsV2Paginator(r.S3, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			out = append(out, aws.ToString(o.Key))
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

//go:build unix

package poll_test

// Poll against Debian's Dovecot (shared/localdev/dovecot), a real IMAP
// server, with and without MOVE and UIDPLUS: what a run fetches, stores,
// flags and moves, its cursor, and what the shared inbox looks like to the
// protocol office's own client afterwards.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/localdev/dovecot"
	"github.com/casellario-pec/casellario/shared/localdev/localaws/testenv"
	"github.com/casellario-pec/casellario/shared/localdev/needs"
	"github.com/casellario-pec/casellario/shared/localdev/sim/procura"
	"github.com/casellario-pec/casellario/shared/mailbox"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/pec/compose"
	"github.com/casellario-pec/casellario/shared/pec/pki"
	"github.com/casellario-pec/casellario/shared/pecmail"
	"github.com/casellario-pec/casellario/shared/poll"
	"github.com/casellario-pec/casellario/shared/s3docs"
	"github.com/casellario-pec/casellario/shared/store"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// dvServer starts a Dovecot without the given capabilities.
func dvServer(t *testing.T, without ...string) *dovecot.Server {
	t.Helper()
	needs.Server(t, needs.Dovecot)
	srv, err := dovecot.Start(context.Background(), dovecot.Options{Without: without})
	if err != nil {
		t.Fatalf("Dovecot does not start (it is part of the tests: `make packages` installs it): %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			lines := strings.Split(srv.Log(), "\n")
			t.Logf("Dovecot's log (end):\n%s", strings.Join(lines[max(0, len(lines)-30):], "\n"))
		}
		srv.Stop()
	})
	return srv
}

// dvFx is a poll of one tenant's mailbox on a Dovecot, over dynalite and
// gofakes3.
type dvFx struct {
	srv    *dovecot.Server
	env    *testenv.Env
	st     *store.Dynamo
	d      *s3docs.Docs
	h      *poll.Handler
	t      *tenants.Tenant
	user   string
	signer *pec.Signer
	im     *pecmail.IMAP // dispatch's "was it sent?" lookup
	spy    *dvSpy
}

var dvUsers struct {
	sync.Mutex
	n int
}

func newDvFx(t *testing.T, srv *dovecot.Server, mode string) *dvFx {
	t.Helper()
	dvUsers.Lock()
	dvUsers.n++
	user := fmt.Sprintf("comune%d@pec.comune.prato.test", dvUsers.n)
	dvUsers.Unlock()
	if err := srv.AddUser(user, "segreta"); err != nil {
		t.Fatal(err)
	}
	env := testenv.New(t)
	ca := must[*pki.CA](t)(pki.New("Gestore di prova", false))
	f := &dvFx{srv: srv, env: env, user: user, signer: must[*pec.Signer](t)(ca.Signer("Gestore di prova", "posta-certificata@gestore.test"))}
	f.st = store.New(env.Dynamo, store.Options{Table: env.Table})
	f.d = s3docs.New(env.S3, s3docs.Options{UploadsBucket: env.Uploads, DocumentsBucket: env.Documents, SSE: s3docs.SSENone})
	tn := tenants.Demo().Tenants[0]
	tn.PEC.IMAP, tn.PEC.Username, tn.PEC.Auth, tn.PEC.Mode = srv.Addr, user, tenants.Secret{Password: "segreta"}, mode
	tc := &tenants.Config{Tenants: []tenants.Tenant{tn}}
	if err := tc.Validate(); err != nil {
		t.Fatal(err)
	}
	f.t = &tc.Tenants[0]
	f.im = &pecmail.IMAP{Secrets: pecmail.LocalSecrets(), TLS: srv.CA.ClientTLS(), Timeout: 10 * time.Second, TrustStore: ca.Pool()}
	f.spy = &dvSpy{inner: &pecmail.IMAP{Secrets: pecmail.LocalSecrets(), TLS: srv.CA.ClientTLS(), Timeout: 10 * time.Second}}
	f.h = &poll.Handler{Store: f.st, Triage: f.st, Docs: f.d, Tenants: tc, Mail: f.spy, Trust: ca.Pool(), Deadline: 30 * time.Second}
	return f
}

// dvSpy wraps the real sessions: it counts the fetches of whole messages
// and runs a test's hook just before a step.
type dvSpy struct {
	inner           mailbox.Dialer
	mu              sync.Mutex
	fetched         []uint32
	beforeSummaries func()
	beforeFetch     map[uint32]func()
}

func (s *dvSpy) Dial(ctx context.Context, t *tenants.Tenant) (mailbox.Mailbox, error) {
	mb, err := s.inner.Dial(ctx, t)
	if err != nil {
		return nil, err
	}
	return &dvSpyBox{Mailbox: mb, s: s}, nil
}

func (s *dvSpy) fetches() []uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.fetched)
}

type dvSpyBox struct {
	mailbox.Mailbox
	s *dvSpy
}

func (b *dvSpyBox) Summaries(ctx context.Context, uids []uint32) ([]mailbox.Summary, error) {
	if hook := b.s.beforeSummaries; hook != nil {
		b.s.beforeSummaries = nil
		hook()
	}
	return b.Mailbox.Summaries(ctx, uids)
}

func (b *dvSpyBox) Fetch(ctx context.Context, uid uint32, fn func(io.Reader) error) error {
	b.s.mu.Lock()
	b.s.fetched = append(b.s.fetched, uid)
	hook := b.s.beforeFetch[uid]
	delete(b.s.beforeFetch, uid)
	b.s.mu.Unlock()
	if hook != nil {
		hook()
	}
	return b.Mailbox.Fetch(ctx, uid, fn)
}

// batch records a request for people[0] sent with a Message-ID, as dispatch
// leaves it.
func (f *dvFx) batch(t *testing.T) domain.Batch {
	t.Helper()
	ctx := context.Background()
	up := domain.NewID()
	must[domain.Upload](t)(f.st.CreateUpload(ctx, domain.Upload{ID: up, Tenant: f.t.ID, Office: "SUAP", Key: f.t.ID + "/SUAP/" + up + "/list.csv",
		SHA256: strings.Repeat("ab", 32)}, domain.CauseS3("k", "v")))
	if err := f.st.PutSubjects(ctx, f.t.ID, up, []domain.Subject{{Row: 2, Person: people[0]}}); err != nil {
		t.Fatal(err)
	}
	must[domain.Upload](t)(f.st.AdvanceUpload(ctx, f.t.ID, up, domain.UploadQueued, &domain.Counts{Rows: 1, Valid: 1}, "r", domain.Reason{}, cause))
	bt := must[domain.Batch](t)(f.st.CreateBatch(ctx, domain.Batch{ID: domain.NewID(), Tenant: f.t.ID, Office: "SUAP", People: []string{domain.SubjectID(up, 2)}}, cause))
	must[[]string](t)(f.st.ClaimSubjects(ctx, f.t.ID, bt.ID, cause))
	bt = must[domain.Batch](t)(f.st.RegisterProtocol(ctx, domain.ProtocolRequest{Tenant: f.t.ID, AOO: f.t.AOO, Registry: f.t.Protocol.Registry,
		Batch: bt.ID, Date: domain.DateOf(time.Now()), Cause: cause}))
	bt = must[domain.Batch](t)(f.st.SetMessageID(ctx, f.t.ID, bt.ID, "<casellario."+bt.ID+"@pec.comune.prato.test>"))
	return must[domain.Batch](t)(f.st.AdvanceBatch(ctx, domain.BatchChange{Tenant: f.t.ID, ID: bt.ID, To: domain.BatchSent, Cause: cause}))
}

func (f *dvFx) receipt(t *testing.T, k pec.Kind, ref string) []byte {
	t.Helper()
	var out bytes.Buffer
	if _, err := pec.WriteReceipt(&out, pec.ReceiptSpec{Kind: k, RefMessageID: ref, Sender: f.t.PEC.Address,
		Recipients: []pec.Recipient{{Address: f.t.Procura, Type: pec.RecipientCertificato}}, Subject: "Richiesta",
		Delivery: f.t.Procura, Domain: "gestore.test", Time: time.Now()}, f.signer); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// envelope is a PEC from sender to the Comune, as its provider delivers it;
// inReplyTo and the certificates make it the Procura's reply.
func (f *dvFx) envelope(t *testing.T, sender, subject, inReplyTo string, certs []domain.Person, attachment []byte) []byte {
	t.Helper()
	m := compose.Mail{From: sender, To: []string{f.t.PEC.Address}, Subject: subject, Text: "In riferimento alla Vs. richiesta.\r\n"}
	for _, p := range certs {
		pdf := must[[]byte](t)(procura.CertificatePDF(p, subject, time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)))
		m.Attachments = append(m.Attachments, compose.Attachment{Name: p.FiscalCode + ".pdf", ContentType: "application/pdf", Data: pdf})
	}
	if attachment != nil {
		m.Attachments = append(m.Attachments, compose.Attachment{Name: "allegato.bin", ContentType: "application/octet-stream", Data: attachment})
	}
	var orig, env bytes.Buffer
	if _, err := compose.Write(&orig, m); err != nil {
		t.Fatal(err)
	}
	raw := orig.Bytes()
	if inReplyTo != "" {
		raw = append([]byte("In-Reply-To: "+inReplyTo+"\r\n"), raw...)
	}
	if _, err := pec.WriteEnvelope(&env, raw, pec.EnvelopeSpec{Sender: sender, Recipients: []pec.Recipient{{Address: f.t.PEC.Address, Type: pec.RecipientCertificato}},
		Domain: "gestore.test"}, f.signer); err != nil {
		t.Fatal(err)
	}
	return env.Bytes()
}

func (f *dvFx) deliver(t *testing.T, raw []byte) uint32 {
	t.Helper()
	return must[uint32](t)(f.srv.Deliver(context.Background(), f.user, "INBOX", raw))
}

func (f *dvFx) run(t *testing.T) poll.MailboxSummary {
	t.Helper()
	sum, err := f.h.Run(context.Background(), domain.CauseSchedule("test"))
	if err != nil || len(sum.Mailboxes) != 1 {
		t.Fatalf("run: %+v %v", sum, err)
	}
	return sum.Mailboxes[0]
}

func (f *dvFx) cursor(t *testing.T) domain.MailboxCursor {
	t.Helper()
	return must[domain.MailboxCursor](t)(f.st.Cursor(context.Background(), f.t.ID, f.t.PEC.Address))
}

func (f *dvFx) look(t *testing.T, folder string) dovecot.Folder {
	t.Helper()
	return must[dovecot.Folder](t)(f.srv.Look(context.Background(), f.user, folder))
}

// doc reads an object of the documents bucket.
func (f *dvFx) doc(t *testing.T, key string) []byte {
	t.Helper()
	raw, _, err := f.d.GetBytes(context.Background(), f.d.Document(key))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// handledOnce checks the batch's audit trail: accepted, delivered, replied
// and completed, and no event twice (a message handled twice would repeat
// its event).
func (f *dvFx) handledOnce(t *testing.T, bt domain.Batch) {
	t.Helper()
	seen := map[string]bool{}
	for _, e := range must[[]domain.Event](t)(f.st.Events(context.Background(), f.t.ID, bt.ID)) {
		k := e.State + ": " + e.Detail
		if seen[k] {
			t.Errorf("event twice: %s", k)
		}
		seen[k] = true
		seen[e.State] = true
	}
	for _, st := range []string{"accepted", "delivered", "replied", "completed"} {
		if !seen[st] {
			t.Errorf("no %s event: %v", st, seen)
		}
	}
}

// readOnly checks that poll's sessions only read (a shared inbox): EXAMINE,
// never SELECT, STORE, COPY, MOVE or EXPUNGE.
func (f *dvFx) readOnly(t *testing.T) {
	t.Helper()
	verbs, _ := f.sent(t)
	for _, v := range verbs {
		if !slices.Contains([]string{"EXAMINE", "UID SEARCH", "UID FETCH", "LOGOUT"}, v) {
			t.Errorf("poll sent %s to a shared inbox", v)
		}
	}
}

var bodyFetch = regexp.MustCompile(`^UID FETCH ([0-9]+) \(UID BODY\.PEEK\[\]\)$`)

// sent returns what poll's sessions sent: the commands' names (with UID),
// and the UIDs whose whole message was fetched.
func (f *dvFx) sent(t *testing.T) (verbs []string, bodies []uint32) {
	t.Helper()
	for _, c := range must[[]string](t)(f.srv.Commands(f.user)) {
		fs := strings.Fields(c)
		v := strings.ToUpper(fs[0])
		if v == "UID" {
			v += " " + strings.ToUpper(fs[1])
		}
		if !slices.Contains(verbs, v) {
			verbs = append(verbs, v)
		}
		if m := bodyFetch.FindStringSubmatch(c); m != nil {
			n, _ := strconv.Atoi(m[1])
			bodies = append(bodies, uint32(n))
		}
	}
	return verbs, bodies
}

// The Comune's inbox as poll meets it: a citizen's PEC, a newsletter,
// another request's receipt, and ours: two receipts and the Procura's reply
// with the certificate.
type dvInbox struct {
	citizen, newsletter, others, accepted, delivered, reply uint32
	raws                                                    map[uint32][]byte
}

func (f *dvFx) fill(t *testing.T, bt domain.Batch) dvInbox {
	t.Helper()
	in := dvInbox{raws: map[uint32][]byte{}}
	put := func(raw []byte) uint32 {
		uid := f.deliver(t, raw)
		in.raws[uid] = raw
		return uid
	}
	in.citizen = put(f.envelope(t, citizen, "Istanza di accesso agli atti", "", nil, nil))
	in.newsletter = put([]byte("From: newsletter@example.test\r\nTo: " + f.t.PEC.Address + "\r\nSubject: offerte\r\nMessage-ID: <n1@example.test>\r\n\r\nciao\r\n"))
	in.others = put(f.receipt(t, pec.KindAccettazione, "<pratica-5812@pec.comune.prato.test>"))
	in.accepted = put(f.receipt(t, pec.KindAccettazione, bt.MessageID))
	in.delivered = put(f.receipt(t, pec.KindAvvenutaConsegna, bt.MessageID))
	in.reply = put(f.envelope(t, f.t.Procura, "Certificati del casellario giudiziario", bt.MessageID, []domain.Person{people[0]}, nil))
	return in
}

// dvShared: a shared inbox left as it was, as the protocol office's client
// sees it; only our messages fetched.
func dvShared(t *testing.T, srv *dovecot.Server) {
	ctx := context.Background()
	f := newDvFx(t, srv, tenants.MailboxShared)
	bt := f.batch(t)
	in := f.fill(t, bt)
	// The protocol office's client read the newsletter.
	if err := srv.Flag(ctx, f.user, "INBOX", in.newsletter, `\Seen`); err != nil {
		t.Fatal(err)
	}
	before := f.look(t, "INBOX")
	sum := f.run(t)
	if sum.Skipped != 3 || sum.Fetched != 3 || sum.Receipts != 2 || sum.Replies != 1 || sum.Certificates != 1 || sum.Triaged != 0 || sum.Gone != 0 {
		t.Fatalf("summary %+v", sum)
	}
	if got := f.cursor(t); got.LastUID != in.reply || got.UIDValidity != before.UIDValidity {
		t.Fatalf("cursor %+v, want UID %d of UIDVALIDITY %d", got, in.reply, before.UIDValidity)
	}
	f.handledOnce(t, bt)
	// Untouched, as the protocol office's client sees it: the
	// same messages, flags (no \Seen), even \Recent.
	if after := f.look(t, "INBOX"); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("the shared inbox changed:\n%+v\nwas\n%+v", after, before)
	}
	f.readOnly(t)
	_, bodies := f.sent(t)
	ours := []uint32{in.accepted, in.delivered, in.reply}
	if !slices.Equal(bodies, ours) || !slices.Equal(f.spy.fetches(), ours) {
		t.Fatalf("whole messages fetched: %v (spy %v), want only ours %v", bodies, f.spy.fetches(), ours)
	}
	docs := f.env.Keys(t, f.env.Documents)
	for _, k := range docs {
		raw := f.doc(t, k)
		if bytes.Contains(raw, []byte("accesso agli atti")) || bytes.Contains(raw, []byte("offerte")) || bytes.Contains(raw, []byte("pratica-5812")) {
			t.Errorf("%s holds a message that is not ours", k)
		}
	}
	// Again: nothing new, nothing done twice; then one new message.
	if sum := f.run(t); sum.Fetched+sum.Skipped+sum.Duplicates != 0 {
		t.Fatalf("a run with nothing new: %+v", sum)
	}
	if n := len(f.env.Keys(t, f.env.Documents)); n != len(docs) {
		t.Fatalf("%d documents, were %d", n, len(docs))
	}
	late := f.deliver(t, f.receipt(t, pec.KindAvvenutaConsegna, bt.MessageID))
	if sum := f.run(t); sum.Fetched != 1 || sum.Duplicates != 0 || f.cursor(t).LastUID != late {
		t.Fatalf("a late receipt: %+v, cursor %d", sum, f.cursor(t).LastUID)
	}
	f.wasSent(t, bt)
}

// wasSent: dispatch's lookup finds the acceptance where poll left it, and
// changes nothing.
func (f *dvFx) wasSent(t *testing.T, bt domain.Batch) {
	t.Helper()
	folders := []string{"INBOX"}
	if f.t.PEC.Dedicated() {
		folders = append(folders, f.t.PEC.ArchiveFolder())
	}
	var before []dovecot.Folder
	for _, name := range folders {
		before = append(before, f.look(t, name))
	}
	if k, err := f.im.Receipt(context.Background(), *f.t, bt.MessageID); k != pec.KindAccettazione || err != nil {
		t.Fatalf("Receipt: %q %v", k, err)
	}
	for i, name := range folders {
		if after := f.look(t, name); fmt.Sprint(after) != fmt.Sprint(before[i]) {
			t.Errorf("Receipt changed %s:\n%+v\nwas\n%+v", name, after, before[i])
		}
	}
}

// TestDovecotPoll: a dedicated mailbox emptied into its archive on a
// Dovecot with MOVE, without MOVE (COPY + UID EXPUNGE) and without MOVE and
// UIDPLUS (COPY, the original left flagged \Deleted), and a shared inbox
// left as it was (on the last: read-only needs neither); every message
// handled once, the cursor at the last UID.
func TestDovecotPoll(t *testing.T) {
	t.Parallel()
	for _, caps := range []struct {
		name    string
		without []string
		moves   []string // commands a move takes
		gone    bool     // moved messages leave the INBOX
		shared  bool     // a shared inbox too: it needs neither, one server shows it
	}{
		{"MOVE", nil, []string{"UID MOVE"}, true, false},
		{"without MOVE", []string{"MOVE"}, []string{"UID COPY", "UID STORE", "UID EXPUNGE"}, true, false},
		{"without MOVE and UIDPLUS", []string{"MOVE", "UIDPLUS"}, []string{"UID COPY", "UID STORE"}, false, true},
	} {
		t.Run(caps.name, func(t *testing.T) {
			t.Parallel()
			srv := dvServer(t, caps.without...)
			if caps.shared {
				t.Run("shared", func(t *testing.T) { dvShared(t, srv) })
			}
			t.Run("dedicated", func(t *testing.T) {
				ctx := context.Background()
				f := newDvFx(t, srv, tenants.MailboxDedicated)
				bt := f.batch(t)
				in := f.fill(t, bt)
				// While poll works, a message arrives and another client marks
				// it \Deleted: no expunge of poll's may take it.
				var marked uint32
				f.spy.beforeFetch = map[uint32]func(){in.delivered: func() {
					marked = f.deliver(t, []byte("From: newsletter@example.test\r\nSubject: altre offerte\r\nMessage-ID: <n2@example.test>\r\n\r\nciao\r\n"))
					if err := srv.Flag(ctx, f.user, "INBOX", marked, `\Deleted`); err != nil {
						t.Error(err)
					}
				}}
				sum := f.run(t)
				// Everything is read: another request's receipt and the
				// citizen's PEC count as a receipt and a reply, in triage
				// with the newsletter.
				if sum.Skipped != 0 || sum.Fetched != 6 || sum.Receipts != 3 || sum.Replies != 2 || sum.Certificates != 1 || sum.Triaged != 3 {
					t.Fatalf("summary %+v", sum)
				}
				if got := f.cursor(t).LastUID; got != in.reply {
					t.Fatalf("cursor %d, want %d", got, in.reply)
				}
				f.handledOnce(t, bt)
				inbox, arch := f.look(t, "INBOX"), f.look(t, f.t.PEC.ArchiveFolder())
				if !slices.Contains(inbox.Flags(marked), `\Deleted`) {
					t.Fatalf("the message another client marked \\Deleted is gone: %+v", inbox)
				}
				for uid := range in.raws {
					if inbox.Has(uid) == caps.gone {
						t.Errorf("UID %d in the INBOX: %v", uid, inbox.Has(uid))
					}
					if inbox.Has(uid) && !slices.Contains(inbox.Flags(uid), `\Deleted`) {
						t.Errorf("UID %d copied, left without \\Deleted: %v", uid, inbox.Flags(uid))
					}
				}
				// The archive holds each message once, as delivered; those
				// for a person are \Flagged.
				if len(arch.Messages) != len(in.raws) {
					t.Fatalf("archive %+v", arch)
				}
				flagged := 0
				bodies := must[map[uint32][]byte](t)(f.srv.Bodies(context.Background(), f.user, f.t.PEC.ArchiveFolder()))
				for i, m := range arch.Messages {
					if !bytes.Equal(bodies[m.UID], in.raws[uint32(i+1)]) {
						t.Errorf("archived message %d is not the one delivered as UID %d", m.UID, i+1)
					}
					if slices.Contains(m.Flags, `\Flagged`) {
						flagged++
					}
				}
				if flagged != sum.Triaged {
					t.Errorf("%d archived messages flagged, %d triaged", flagged, sum.Triaged)
				}
				verbs, _ := f.sent(t)
				for _, v := range caps.moves {
					if !slices.Contains(verbs, v) {
						t.Errorf("%s not sent: %v", v, verbs)
					}
				}
				if slices.Contains(verbs, "EXPUNGE") || slices.Contains(verbs, "CLOSE") {
					t.Errorf("an unscoped expunge: %v", verbs)
				}
				// Again: what was copied and left \Deleted is behind the
				// cursor, not handled twice; the message that came meanwhile
				// is read, \Deleted or not (the mailbox is ours).
				if sum := f.run(t); sum.Fetched != 1 || sum.Duplicates != 0 || f.cursor(t).LastUID != marked {
					t.Fatalf("the second run: %+v, cursor %d, want only UID %d", sum, f.cursor(t).LastUID, marked)
				}
				if n := len(f.look(t, f.t.PEC.ArchiveFolder()).Messages); n != len(in.raws)+1 {
					t.Fatalf("archive has %d messages after a second run", n)
				}
				f.wasSent(t, bt)
			})
		})
	}
}

// TestDovecotPollUIDValidity: the provider deleted and recreated the INBOX
// (a new UIDVALIDITY, UIDs from 1 again) and put back the messages poll had
// handled, after a new one. Poll scans it from UID 1: the new message is
// handled (it sits below the old cursor), the old ones are duplicates.
func TestDovecotPollUIDValidity(t *testing.T) {
	t.Parallel()
	srv := dvServer(t)
	for _, mode := range []string{tenants.MailboxShared, tenants.MailboxDedicated} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			f := newDvFx(t, srv, mode)
			bt := f.batch(t)
			accepted := f.receipt(t, pec.KindAccettazione, bt.MessageID)
			delivered := f.receipt(t, pec.KindAvvenutaConsegna, bt.MessageID)
			unrelated := f.envelope(t, citizen, "Istanza", "", nil, nil)
			f.deliver(t, accepted)
			f.deliver(t, unrelated)
			f.deliver(t, delivered)
			first := f.run(t)
			old := f.cursor(t)
			if first.Receipts != 2 || old.LastUID != 3 {
				t.Fatalf("first run %+v, cursor %+v", first, old)
			}
			if err := srv.Recreate(ctx, f.user, "INBOX"); err != nil {
				t.Fatal(err)
			}
			reply := f.deliver(t, f.envelope(t, f.t.Procura, "Certificati", bt.MessageID, []domain.Person{people[0]}, nil))
			f.deliver(t, accepted)
			f.deliver(t, unrelated)
			last := f.deliver(t, delivered)
			if reply != 1 || last != 4 {
				t.Fatalf("the recreated INBOX gave UIDs %d..%d", reply, last)
			}
			before := f.look(t, "INBOX")
			sum := f.run(t)
			if !sum.Rescanned || sum.Replies != 1 || sum.Certificates != 1 || sum.Receipts != 0 {
				t.Fatalf("run after the new UIDVALIDITY: %+v", sum)
			}
			want := poll.MailboxSummary{Duplicates: 2, Skipped: 1} // shared: the receipts again, the citizen's PEC skipped
			if mode == tenants.MailboxDedicated {
				want = poll.MailboxSummary{Duplicates: 3} // everything is read: the citizen's PEC too
			}
			if sum.Duplicates != want.Duplicates || sum.Skipped != want.Skipped {
				t.Fatalf("run after the new UIDVALIDITY: %+v, want %d duplicates and %d skipped", sum, want.Duplicates, want.Skipped)
			}
			cur := f.cursor(t)
			if cur.UIDValidity == old.UIDValidity || cur.UIDValidity != f.look(t, "INBOX").UIDValidity || cur.LastUID != last {
				t.Fatalf("cursor %+v (was %+v)", cur, old)
			}
			f.handledOnce(t, bt)
			// The citizen's PEC: triaged once in a dedicated mailbox, never
			// in a shared one.
			wantItems := 0
			if mode == tenants.MailboxDedicated {
				wantItems = 1
			}
			if items := must[[]domain.TriageItem](t)(f.st.ListTriage(ctx, f.t.ID, domain.TriageOpen, 0)); len(items) != wantItems {
				t.Fatalf("triage %+v, want %d items", items, wantItems)
			}
			if mode == tenants.MailboxShared {
				f.readOnly(t)
				if after := f.look(t, "INBOX"); fmt.Sprint(after) != fmt.Sprint(before) {
					t.Fatalf("the shared inbox changed:\n%+v\nwas\n%+v", after, before)
				}
			}
		})
	}
}

// TestDovecotPollExpungedMeanwhile: the protocol office's client expunges a
// message between poll's UID SEARCH and its headers, or between its headers
// and its fetch: it is counted gone, the run goes on, the cursor passes it.
func TestDovecotPollExpungedMeanwhile(t *testing.T) {
	t.Parallel()
	srv := dvServer(t)
	for _, tc := range []struct {
		mode         string
		beforeHeader bool
	}{
		{tenants.MailboxShared, true},
		{tenants.MailboxShared, false},
		{tenants.MailboxDedicated, true},
		{tenants.MailboxDedicated, false},
	} {
		t.Run(fmt.Sprintf("%s, before the header: %v", tc.mode, tc.beforeHeader), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newDvFx(t, srv, tc.mode)
			bt := f.batch(t)
			first := f.deliver(t, f.receipt(t, pec.KindAccettazione, bt.MessageID))
			second := f.deliver(t, f.receipt(t, pec.KindAvvenutaConsegna, bt.MessageID))
			expunge := func() {
				if err := srv.Expunge(ctx, f.user, "INBOX", first); err != nil {
					t.Error(err)
				}
			}
			if tc.beforeHeader {
				f.spy.beforeSummaries = expunge
			} else {
				f.spy.beforeFetch = map[uint32]func(){first: expunge}
			}
			sum := f.run(t)
			if sum.Gone != 1 || sum.Receipts != 1 || sum.Fetched != 1 || sum.Skipped != 0 || f.cursor(t).LastUID != second {
				t.Fatalf("summary %+v, cursor %d", sum, f.cursor(t).LastUID)
			}
			if st := must[domain.Batch](t)(f.st.GetBatch(ctx, f.t.ID, bt.ID)).State; st != domain.BatchDelivered {
				t.Fatalf("batch %s", st)
			}
			if sum := f.run(t); sum.Fetched+sum.Gone != 0 {
				t.Fatalf("a second run %+v", sum)
			}
			if tc.mode == tenants.MailboxShared {
				// Only the other client's expunge changed it.
				f.readOnly(t)
				if inbox := f.look(t, "INBOX"); inbox.Has(first) || !inbox.Has(second) || len(inbox.Flags(second)) != 0 {
					t.Fatalf("INBOX %+v", inbox)
				}
			}
		})
	}
}

// TestDovecotPollLargeMessage: a message over MaxMessage is never fetched
// (neither the spy nor Dovecot's rawlog sees its body asked for): its header
// is kept, in triage; the message behind it is read.
func TestDovecotPollLargeMessage(t *testing.T) {
	t.Parallel()
	srv := dvServer(t)
	for _, mode := range []string{tenants.MailboxShared, tenants.MailboxDedicated} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newDvFx(t, srv, mode)
			f.h.MaxMessage = 32 << 10
			bt := f.batch(t)
			filler := bytes.Repeat([]byte("0123456789abcdef"), 8<<10) // 128 KB
			big := f.deliver(t, f.envelope(t, f.t.Procura, "Certificati", bt.MessageID, nil, filler))
			next := f.deliver(t, f.receipt(t, pec.KindAccettazione, bt.MessageID))
			before := f.look(t, "INBOX")
			sum := f.run(t)
			if sum.SetAside != 1 || sum.Receipts != 1 || sum.Fetched != 1 || f.cursor(t).LastUID != next {
				t.Fatalf("summary %+v, cursor %d", sum, f.cursor(t).LastUID)
			}
			if slices.Contains(f.spy.fetches(), big) {
				t.Fatal("the large message was fetched")
			}
			if _, bodies := f.sent(t); slices.Contains(bodies, big) || !slices.Contains(bodies, next) {
				t.Fatalf("Dovecot was asked for the bodies of %v", bodies)
			}
			items := must[[]domain.TriageItem](t)(f.st.ListTriage(ctx, f.t.ID, domain.TriageOpen, 0))
			if len(items) != 1 || items[0].Reason.Code != domain.ReasonMessageTooLarge || items[0].Kind != "posta-certificata" {
				t.Fatalf("triage %+v", items)
			}
			hdr := f.doc(t, items[0].MessageKey)
			if !bytes.Contains(hdr, []byte("X-Trasporto: posta-certificata")) || bytes.Contains(hdr, []byte("allegato.bin")) || len(hdr) > 8<<10 {
				t.Fatalf("kept header (%d bytes) %q", len(hdr), hdr)
			}
			inbox := f.look(t, "INBOX")
			if mode == tenants.MailboxShared {
				f.readOnly(t)
				if fmt.Sprint(inbox) != fmt.Sprint(before) {
					t.Fatalf("the shared inbox changed:\n%+v\nwas\n%+v", inbox, before)
				}
			}
			if mode == tenants.MailboxDedicated {
				arch := f.look(t, f.t.PEC.ArchiveFolder())
				if inbox.Has(big) || len(arch.Messages) != 2 || !slices.Contains(arch.Messages[0].Flags, `\Flagged`) || arch.Messages[0].Size < int64(len(filler)) {
					t.Fatalf("the large message was not archived, \\Flagged, whole: %+v", arch)
				}
			}
		})
	}
}

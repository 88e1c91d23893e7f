package poll_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/localdev/localaws/testenv"
	"github.com/casellario-pec/casellario/shared/localdev/sim"
	"github.com/casellario-pec/casellario/shared/mailbox"
	"github.com/casellario-pec/casellario/shared/mailbox/mailboxtest"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/pec/compose"
	"github.com/casellario-pec/casellario/shared/pec/pki"
	"github.com/casellario-pec/casellario/shared/poll"
	"github.com/casellario-pec/casellario/shared/s3docs"
	"github.com/casellario-pec/casellario/shared/s3docs/s3docstest"
	"github.com/casellario-pec/casellario/shared/store"
	"github.com/casellario-pec/casellario/shared/store/memstore"
	"github.com/casellario-pec/casellario/shared/store/storetest"
	"github.com/casellario-pec/casellario/shared/tenants"
)

const citizen = "mario.rossi@pec.cittadini.test"

// box is a poll over an in-memory mailbox (no IMAP server), dynalite and
// gofakes3; under go test -short (make test-unit) over the in-memory store
// and S3 instead, which the stores' contract keeps equivalent.
type box struct {
	mb     *mailboxtest.Server
	st     storetest.Store
	d      *s3docs.Docs
	h      *poll.Handler
	t      *tenants.Tenant
	signer *pec.Signer
	keys   func(t *testing.T) []string // of the documents bucket
}

func newBox(t *testing.T, mode string) *box {
	t.Helper()
	ca := must[*pki.CA](t)(pki.New("Gestore di prova", false))
	b := &box{mb: mailboxtest.New(), signer: must[*pec.Signer](t)(ca.Signer("Gestore di prova", "posta-certificata@gestore.test"))}
	if testing.Short() {
		env := s3docstest.Open(t, s3docs.Options{SSE: s3docs.SSENone})
		b.st, b.d = memstore.New(memstore.Options{}), env.Docs
		b.keys = func(t *testing.T) []string { return env.Keys(t, env.Documents) }
	} else {
		env := testenv.New(t)
		b.st = store.New(env.Dynamo, store.Options{Table: env.Table})
		b.d = s3docs.New(env.S3, s3docs.Options{UploadsBucket: env.Uploads, DocumentsBucket: env.Documents, SSE: s3docs.SSENone})
		b.keys = func(t *testing.T) []string { return env.Keys(t, env.Documents) }
	}
	tc := &tenants.Config{Tenants: []tenants.Tenant{tenants.Demo().Tenants[0]}}
	tc.Tenants[0].PEC.Mode = mode
	b.t = &tc.Tenants[0]
	b.h = &poll.Handler{Store: b.st, Triage: b.st, Docs: b.d, Tenants: tc, Mail: b.mb, Trust: ca.Pool(), Deadline: 30 * time.Second}
	return b
}

// sentBatch records a batch sent with a Message-ID, as dispatch leaves it.
func (b *box) sentBatch(t *testing.T) domain.Batch {
	t.Helper()
	ctx := context.Background()
	up := domain.NewID()
	must[domain.Upload](t)(b.st.CreateUpload(ctx, domain.Upload{ID: up, Tenant: b.t.ID, Office: "SUAP", Key: b.t.ID + "/SUAP/" + up + "/list.csv",
		SHA256: strings.Repeat("ab", 32)}, domain.CauseS3("k", "v")))
	if err := b.st.PutSubjects(ctx, b.t.ID, up, []domain.Subject{{Row: 2, Person: people[0]}}); err != nil {
		t.Fatal(err)
	}
	must[domain.Upload](t)(b.st.AdvanceUpload(ctx, b.t.ID, up, domain.UploadQueued, &domain.Counts{Rows: 1, Valid: 1}, "r", domain.Reason{}, cause))
	bt := must[domain.Batch](t)(b.st.CreateBatch(ctx, domain.Batch{ID: domain.NewID(), Tenant: b.t.ID, Office: "SUAP", People: []string{domain.SubjectID(up, 2)}}, cause))
	must[[]string](t)(b.st.ClaimSubjects(ctx, b.t.ID, bt.ID, cause))
	bt = must[domain.Batch](t)(b.st.RegisterProtocol(ctx, domain.ProtocolRequest{Tenant: b.t.ID, AOO: b.t.AOO, Registry: b.t.Protocol.Registry,
		Batch: bt.ID, Date: domain.DateOf(time.Now()), Cause: cause}))
	bt = must[domain.Batch](t)(b.st.SetMessageID(ctx, b.t.ID, bt.ID, "<casellario."+bt.ID+"@pec.comune.prato.test>"))
	return must[domain.Batch](t)(b.st.AdvanceBatch(ctx, domain.BatchChange{Tenant: b.t.ID, ID: bt.ID, To: domain.BatchSent, Cause: cause}))
}

func (b *box) receipt(t *testing.T, k pec.Kind, ref string) []byte {
	t.Helper()
	var out bytes.Buffer
	_, err := pec.WriteReceipt(&out, pec.ReceiptSpec{Kind: k, RefMessageID: ref, Sender: b.t.PEC.Address,
		Recipients: []pec.Recipient{{Address: b.t.Procura, Type: pec.RecipientCertificato}}, Subject: "Richiesta",
		Delivery: b.t.Procura, Domain: "gestore.test", Time: time.Now()}, b.signer)
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// envelope is a PEC sent by from to the Comune, as its provider delivers it.
func (b *box) envelope(t *testing.T, from, subject, text string) []byte {
	t.Helper()
	var orig, env bytes.Buffer
	if _, err := compose.Write(&orig, compose.Mail{From: from, To: []string{b.t.PEC.Address}, Subject: subject, Text: text}); err != nil {
		t.Fatal(err)
	}
	if _, err := pec.WriteEnvelope(&env, orig.Bytes(), pec.EnvelopeSpec{Recipients: []pec.Recipient{{Address: b.t.PEC.Address, Type: pec.RecipientCertificato}},
		Domain: "gestore.test"}, b.signer); err != nil {
		t.Fatal(err)
	}
	return env.Bytes()
}

func (b *box) run(t *testing.T) (poll.MailboxSummary, error) {
	t.Helper()
	sum, err := b.h.Run(context.Background(), domain.CauseSchedule("test"))
	if len(sum.Mailboxes) != 1 {
		t.Fatalf("summary %+v", sum)
	}
	return sum.Mailboxes[0], err
}

func (b *box) cursor(t *testing.T) uint32 {
	return must[domain.MailboxCursor](t)(b.st.Cursor(context.Background(), b.t.ID, b.t.PEC.Address)).LastUID
}

// documents lists every object of the documents bucket with its bytes.
func (b *box) documents(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, k := range b.keys(t) {
		raw, _, err := b.d.GetBytes(context.Background(), b.d.Document(k))
		if err != nil {
			t.Fatal(err)
		}
		out[k] = raw
	}
	return out
}

// A shared inbox: only our receipts and the Procura's PECs are fetched and
// kept; a citizen's PEC, ordinary mail and others' receipts are never
// fetched, never copied, never flagged or moved.
func TestSharedInboxLeftAlone(t *testing.T) {
	b := newBox(t, tenants.MailboxShared)
	bt := b.sentBatch(t)
	citizenPEC := b.envelope(t, citizen, "Istanza di accesso agli atti", "Chiedo copia della pratica edilizia n. 5812.\r\n")
	uCitizen := b.mb.Append("INBOX", citizenPEC)
	uPlain := b.mb.Append("INBOX", []byte("From: newsletter@example.test\r\nTo: protocollo@pec.comune.prato.test\r\nSubject: offerte\r\nMessage-ID: <n1@example.test>\r\n\r\nciao\r\n"))
	uOthers := b.mb.Append("INBOX", b.receipt(t, pec.KindAccettazione, "<pratica-5812@pec.comune.prato.test>"))
	uOurs := b.mb.Append("INBOX", b.receipt(t, pec.KindAccettazione, bt.MessageID))
	uProcura := b.mb.Append("INBOX", b.envelope(t, sim.Procura, "Comunicazione", "Nessun riferimento.\r\n"))
	sum, err := b.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Skipped != 3 || sum.Fetched != 2 || sum.Receipts != 1 || sum.Replies != 1 {
		t.Fatalf("summary %+v", sum)
	}
	if ops, want := b.mb.Ops(), []string{fmt.Sprintf("fetch %d", uOurs), fmt.Sprintf("fetch %d", uProcura)}; !slices.Equal(ops, want) {
		t.Fatalf("operations on the shared inbox %v, want only %v", ops, want)
	}
	inbox := b.mb.Folder("INBOX")
	if len(inbox) != 5 {
		t.Fatalf("INBOX has %d messages, want all 5 still there", len(inbox))
	}
	for _, m := range inbox {
		if len(m.Flags) != 0 {
			t.Errorf("message %d got flags %v", m.UID, m.Flags)
		}
	}
	for k, raw := range b.documents(t) {
		if bytes.Contains(raw, []byte("pratica edilizia")) || bytes.Contains(raw, []byte("offerte")) || bytes.Contains(raw, []byte("pratica-5812")) {
			t.Errorf("%s holds a message that is not ours", k)
		}
	}
	if got := b.cursor(t); got != uProcura {
		t.Errorf("cursor %d, want %d", got, uProcura)
	}
	if st := must[domain.Batch](t)(b.st.GetBatch(context.Background(), b.t.ID, bt.ID)).State; st != domain.BatchAccepted {
		t.Errorf("batch %s", st)
	}
	_ = []uint32{uCitizen, uPlain, uOthers}
}

// A message whose handling keeps failing is set aside after MaxAttempts
// runs, kept whole in S3 with a triage item, and the mailbox moves on.
func TestFailingMessageSetAside(t *testing.T) {
	for _, tc := range []struct {
		name     string
		failures int // fetches that fail
		kept     string
	}{
		{"copied whole", 3, ".eml"},
		{"even the copy fails: header kept", 4, ".hdr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBox(t, tenants.MailboxShared)
			bt := b.sentBatch(t)
			bad := b.mb.Append("INBOX", b.receipt(t, pec.KindAccettazione, bt.MessageID))
			next := b.mb.Append("INBOX", b.receipt(t, pec.KindAvvenutaConsegna, bt.MessageID))
			b.mb.FailFetch(bad, tc.failures)
			for run := 1; run <= 3; run++ {
				if _, err := b.run(t); err == nil || !strings.Contains(err.Error(), "connection reset") {
					t.Fatalf("run %d: %v", run, err)
				}
				if b.cursor(t) >= bad {
					t.Fatalf("run %d moved past a message it could not handle", run)
				}
			}
			sum, err := b.run(t)
			if err != nil || sum.SetAside != 1 || sum.Receipts != 1 {
				t.Fatalf("fourth run %+v %v", sum, err)
			}
			if b.cursor(t) != next {
				t.Fatalf("cursor %d, want %d", b.cursor(t), next)
			}
			items := must[[]domain.TriageItem](t)(b.st.ListTriage(context.Background(), b.t.ID, domain.TriageOpen, 0))
			if len(items) != 1 || items[0].Reason.Code != domain.ReasonMessageFailing || !strings.HasSuffix(items[0].MessageKey, tc.kept) ||
				!strings.Contains(items[0].Reason.Detail, "failed 3 times") || !strings.Contains(items[0].Reason.Detail, "connection reset") {
				t.Fatalf("triage %+v", items)
			}
			if _, _, err := b.d.GetBytes(context.Background(), b.d.Document(items[0].MessageKey)); err != nil {
				t.Fatalf("set-aside copy: %v", err)
			}
			if st := must[domain.Batch](t)(b.st.GetBatch(context.Background(), b.t.ID, bt.ID)).State; st != domain.BatchDelivered {
				t.Errorf("the receipt behind it was not read: batch %s", st)
			}
			if len(b.mb.Folder("INBOX")) != 2 {
				t.Error("a shared inbox lost a message")
			}
		})
	}
}

// A message over the size limit is not fetched: its header is kept and the
// protocol office is told; the messages behind it are read.
func TestTooLargeMessage(t *testing.T) {
	b := newBox(t, tenants.MailboxShared)
	bt := b.sentBatch(t)
	big := b.mb.AppendSized("INBOX", b.envelope(t, sim.Procura, "Certificati", "in allegato\r\n"), 65<<20)
	next := b.mb.Append("INBOX", b.receipt(t, pec.KindAccettazione, bt.MessageID))
	sum, err := b.run(t)
	if err != nil || sum.SetAside != 1 || sum.Receipts != 1 || b.cursor(t) != next {
		t.Fatalf("summary %+v %v, cursor %d", sum, err, b.cursor(t))
	}
	if slices.Contains(b.mb.Ops(), fmt.Sprintf("fetch %d", big)) {
		t.Fatal("the large message was fetched")
	}
	items := must[[]domain.TriageItem](t)(b.st.ListTriage(context.Background(), b.t.ID, domain.TriageOpen, 0))
	if len(items) != 1 || items[0].Reason.Code != domain.ReasonMessageTooLarge || items[0].Kind != "posta-certificata" {
		t.Fatalf("triage %+v", items)
	}
	hdr, _, err := b.d.GetBytes(context.Background(), b.d.Document(items[0].MessageKey))
	if err != nil || !bytes.Contains(hdr, []byte("X-Trasporto")) || bytes.Contains(hdr, []byte("in allegato")) {
		t.Fatalf("kept header %q %v", hdr, err)
	}
}

// A dedicated mailbox: everything handled, triaged messages flagged, all moved.
func TestDedicatedMovesAndFlags(t *testing.T) {
	b := newBox(t, tenants.MailboxDedicated)
	bt := b.sentBatch(t)
	b.mb.Append("INBOX", b.receipt(t, pec.KindAccettazione, bt.MessageID))
	b.mb.Append("INBOX", b.envelope(t, citizen, "Istanza", "testo\r\n"))
	sum, err := b.run(t)
	if err != nil || sum.Fetched != 2 || sum.Triaged != 1 || sum.Skipped != 0 {
		t.Fatalf("summary %+v %v", sum, err)
	}
	if n := len(b.mb.Folder("INBOX")); n != 0 {
		t.Fatalf("%d messages left in the INBOX", n)
	}
	arch := b.mb.Folder(tenants.DefaultFolder)
	if len(arch) != 2 || len(arch[0].Flags) != 0 || !slices.Equal(arch[1].Flags, []string{mailbox.FlagFlagged}) {
		t.Fatalf("archive %+v", arch)
	}
	items := must[[]domain.TriageItem](t)(b.st.ListTriage(context.Background(), b.t.ID, domain.TriageOpen, 0))
	if len(items) != 1 || items[0].Reason.Code != domain.ReasonNotProcura {
		t.Fatalf("triage %+v", items)
	}
}

// Another client expunges a message between the search and the fetch: it is
// counted gone and the run goes on.
func TestExpungedMeanwhile(t *testing.T) {
	b := newBox(t, tenants.MailboxShared)
	bt := b.sentBatch(t)
	first := b.mb.Append("INBOX", b.receipt(t, pec.KindAccettazione, bt.MessageID))
	second := b.mb.Append("INBOX", b.receipt(t, pec.KindAvvenutaConsegna, bt.MessageID))
	b.mb.BeforeFetch = func(uid uint32) {
		if uid == first {
			b.mb.Expunge("INBOX", first)
		}
	}
	sum, err := b.run(t)
	if err != nil || sum.Gone != 1 || sum.Receipts != 1 || b.cursor(t) != second {
		t.Fatalf("summary %+v %v, cursor %d", sum, err, b.cursor(t))
	}
}

// A mailbox that cannot be reached fails its run and leaves the cursor.
func TestMailboxUnreachable(t *testing.T) {
	b := newBox(t, tenants.MailboxShared)
	b.mb.DialErr = fmt.Errorf("imap: dial: connection refused")
	if _, err := b.run(t); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("run: %v", err)
	}
}

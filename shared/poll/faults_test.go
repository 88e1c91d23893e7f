package poll_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/localdev/sim"
	"github.com/casellario-pec/casellario/shared/notice"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/pec/compose"
	"github.com/casellario-pec/casellario/shared/pec/pki"
	"github.com/casellario-pec/casellario/shared/poll"
	"github.com/casellario-pec/casellario/shared/tenants"
)

func noProcura(c *sim.Config) { c.Procura.Disabled = true }

// receipt writes a receipt of kind k about msgID, signed by s.
func receipt(tb testing.TB, k pec.Kind, msgID string, s *pec.Signer, n int) []byte {
	tb.Helper()
	var b bytes.Buffer
	_, err := pec.WriteReceipt(&b, pec.ReceiptSpec{Kind: k, RefMessageID: msgID, Sender: sim.ComunePrato,
		Recipients: []pec.Recipient{{Address: sim.Procura, Type: pec.RecipientCertificato}}, Subject: fmt.Sprintf("Richiesta %d", n),
		Delivery: sim.Procura, Domain: "gestore.sim.test", Time: time.Now()}, s)
	if err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// envelope wraps a message from the Procura in a transport envelope signed by the provider.
func envelope(tb testing.TB, w *sim.World, subject, text string) []byte {
	tb.Helper()
	var orig, env bytes.Buffer
	if _, err := compose.Write(&orig, compose.Mail{From: sim.Procura, To: []string{sim.ComunePrato}, Subject: subject, Text: text}); err != nil {
		tb.Fatal(err)
	}
	if _, err := pec.WriteEnvelope(&env, orig.Bytes(), pec.EnvelopeSpec{Recipients: []pec.Recipient{{Address: sim.ComunePrato, Type: pec.RecipientCertificato}},
		Domain: "gestore.sim.test"}, w.Provider.Signer()); err != nil {
		tb.Fatal(err)
	}
	return env.Bytes()
}

func (f *fx) appendInbox(tb testing.TB, raw []byte) {
	tb.Helper()
	if err := f.w.Provider.Append(sim.ComunePrato, "INBOX", raw); err != nil {
		tb.Fatal(err)
	}
}

func (f *fx) run(tb testing.TB) poll.MailboxSummary {
	tb.Helper()
	sum, err := f.h.Run(context.Background(), domain.CauseSchedule("test"))
	if err != nil {
		tb.Fatal(err)
	}
	return sum.Total()
}

func (f *fx) openTriage(tb testing.TB) []domain.TriageItem {
	return must[[]domain.TriageItem](tb)(f.st.ListTriage(context.Background(), f.t.ID, domain.TriageOpen, 0))
}

func TestTriage(t *testing.T) {
	f := newFx(t, tenants.MailboxDedicated, noProcura)
	ctx := context.Background()
	b, _ := f.batch(t, people[:2])
	b = must[domain.Batch](t)(f.st.AdvanceBatch(ctx, domain.BatchChange{Tenant: f.t.ID, ID: b.ID, To: domain.BatchSent, Cause: cause}))
	other := must[*pki.CA](t)(pki.New("Gestore sconosciuto", false))
	badSigner := must[*pec.Signer](t)(other.Signer("Gestore sconosciuto", "posta@sconosciuto.test"))

	f.appendInbox(t, []byte("From: someone@example.test\r\nTo: "+sim.ComunePrato+"\r\nSubject: hello\r\nMessage-ID: <plain-1@example.test>\r\n\r\nnot PEC\r\n"))
	f.appendInbox(t, envelope(t, f.w, "Certificati del casellario giudiziario - Rif. Vs. prot. n. 0099999 del 25/11/2026", "Si trasmettono i certificati.\r\n"))
	f.appendInbox(t, receipt(t, pec.KindAccettazione, b.MessageID, badSigner, 1))
	f.appendInbox(t, receipt(t, pec.KindAccettazione, "<unknown-1@pec.comune.prato.test>", f.w.Provider.Signer(), 2))
	sum := f.run(t)
	if sum.Fetched != 4 || sum.Triaged != 4 {
		t.Fatalf("summary %+v", sum)
	}
	items := f.openTriage(t)
	reasons := map[string]domain.TriageItem{}
	for _, it := range items {
		reasons[it.Kind] = it
		if it.MessageKey == "" || it.State != domain.TriageOpen {
			t.Errorf("item %+v", it)
		}
		if _, _, err := f.d.GetBytes(ctx, f.d.Document(it.MessageKey)); err != nil {
			t.Errorf("raw message of %s not stored: %v", it.ID, err)
		}
	}
	joined := fmt.Sprint(items)
	for _, want := range []string{"not a PEC message", "0099999 del 25/11/2026, which match no request", "signature that is untrusted", "did not send"} {
		if !strings.Contains(joined, want) {
			t.Errorf("no triage item says %q: %s", want, joined)
		}
	}
	if st := f.state(t, b.ID); st != domain.BatchSent {
		t.Fatalf("a badly signed receipt changed the batch to %s", st)
	}
	// Moved and never read again.
	if again := f.run(t); again.Fetched != 0 {
		t.Fatalf("a second poll fetched %d", again.Fetched)
	}
	// A person confirms the badly signed receipt.
	var bad domain.TriageItem
	for _, it := range items {
		if strings.Contains(it.Reason.Detail, "untrusted") {
			bad = it
		}
	}
	// A badly signed receipt needs an explicit override.
	_, err := f.h.Assign(ctx, f.t.ID, bad.ID, b.ID, domain.Override{}, domain.CauseUser("protocollo"))
	var cf *domain.ChecksFailed
	if !errors.As(err, &cf) || len(cf.Checks) != 1 || cf.Checks[0] != domain.CheckSignature {
		t.Fatalf("assign without override: %v", err)
	}
	if st := f.state(t, b.ID); st != domain.BatchSent {
		t.Fatalf("a refused assignment changed the batch to %s", st)
	}
	res := must[domain.AssignResult](t)(f.h.Assign(ctx, f.t.ID, bad.ID, b.ID, domain.Override{Confirm: true, Reason: "the provider's new certificate, not yet in the trust store"},
		domain.CauseUser("protocollo")))
	if res.Item.State != domain.TriageAssigned || res.Item.Batch != b.ID || !res.Remaining.IsZero() || len(res.Overridden) != 1 ||
		!strings.Contains(res.Item.Note, "overriding the failed checks signature") {
		t.Errorf("assign: %+v", res)
	}
	if st := f.state(t, b.ID); st != domain.BatchAccepted {
		t.Errorf("confirmed receipt: batch %s", st)
	}
	if n := len(f.openTriage(t)); n != 3 {
		t.Errorf("%d open items, want 3", n)
	}
}

// TestReceiptsOutOfOrder: delivery before acceptance, then a failure notice
// for another batch.
func TestReceiptsOutOfOrder(t *testing.T) {
	f := newFx(t, tenants.MailboxDedicated, noProcura)
	ctx := context.Background()
	b, _ := f.batch(t, people[:1])
	b = must[domain.Batch](t)(f.st.AdvanceBatch(ctx, domain.BatchChange{Tenant: f.t.ID, ID: b.ID, To: domain.BatchSent, Cause: cause}))
	b2, _ := f.batch(t, people[1:2])
	b2 = must[domain.Batch](t)(f.st.AdvanceBatch(ctx, domain.BatchChange{Tenant: f.t.ID, ID: b2.ID, To: domain.BatchSent, Cause: cause}))
	s := f.w.Provider.Signer()
	f.appendInbox(t, receipt(t, pec.KindAvvenutaConsegna, b.MessageID, s, 1))
	f.appendInbox(t, receipt(t, pec.KindAccettazione, b.MessageID, s, 2))
	f.appendInbox(t, receipt(t, pec.KindPreavvisoErroreConsegna, b2.MessageID, s, 3))
	f.appendInbox(t, receipt(t, pec.KindErroreConsegna, b2.MessageID, s, 4))
	sum := f.run(t)
	if sum.Receipts != 4 || sum.Triaged != 0 {
		t.Fatalf("summary %+v", sum)
	}
	if st := f.state(t, b.ID); st != domain.BatchDelivered {
		t.Errorf("batch %s, want delivered", st)
	}
	late := false
	for _, e := range must[[]domain.Event](t)(f.st.Events(ctx, f.t.ID, b.ID)) {
		late = late || strings.Contains(e.Detail, "acceptance receipt (accettazione) read while delivered")
	}
	if !late {
		t.Errorf("late acceptance not recorded as an event: %s", f.eventStates(t, b))
	}
	got := must[domain.Batch](t)(f.st.GetBatch(ctx, f.t.ID, b2.ID))
	if got.State != domain.BatchFailed || got.Reason.Code != domain.ReasonNotDelivered || !strings.Contains(got.Reason.Detail, "errore-consegna") {
		t.Errorf("batch 2: %s %q", got.State, got.Reason)
	}
	for _, sub := range must[[]domain.Subject](t)(f.st.SubjectsOfBatch(ctx, f.t.ID, b2.ID)) {
		if sub.State != domain.PersonPending {
			t.Errorf("subject of a batch that never reached the Procura is %s", sub.State)
		}
	}
	if f.notices(notice.NotDelivered) != 1 || f.notices(notice.RequestFailed) != 1 {
		t.Errorf("notices %+v", f.got)
	}
}

// TestUIDValidityChange: handled messages that reappear in the INBOX under a
// new UIDVALIDITY are not handled again; new ones are.
func TestUIDValidityChange(t *testing.T) {
	f := newFx(t, tenants.MailboxDedicated, noProcura)
	ctx := context.Background()
	b, _ := f.batch(t, people[:1])
	b = must[domain.Batch](t)(f.st.AdvanceBatch(ctx, domain.BatchChange{Tenant: f.t.ID, ID: b.ID, To: domain.BatchSent, Cause: cause}))
	s := f.w.Provider.Signer()
	acc := receipt(t, pec.KindAccettazione, b.MessageID, s, 1)
	f.appendInbox(t, acc)
	if sum := f.run(t); sum.Receipts != 1 {
		t.Fatalf("summary %+v", sum)
	}
	evs := len(must[[]domain.Event](t)(f.st.Events(ctx, f.t.ID, b.ID)))
	// The server rebuilds its index: the old message is back, a new one arrives.
	f.appendInbox(t, acc)
	f.appendInbox(t, receipt(t, pec.KindAvvenutaConsegna, b.MessageID, s, 2))
	if err := f.w.Provider.ChangeUIDValidity(sim.ComunePrato, "INBOX"); err != nil {
		t.Fatal(err)
	}
	sum := f.run(t)
	if !sum.Rescanned || sum.Fetched != 2 || sum.Duplicates != 1 || sum.Receipts != 1 {
		t.Fatalf("summary %+v", sum)
	}
	if st := f.state(t, b.ID); st != domain.BatchDelivered {
		t.Errorf("batch %s", st)
	}
	if n := len(must[[]domain.Event](t)(f.st.Events(ctx, f.t.ID, b.ID))); n != evs+1 {
		t.Errorf("%d events after the rescan, want %d", n, evs+1)
	}
}

// TestCutFetch: an IMAP session cut mid-FETCH fails the run; the next run
// resumes and handles every message once.
func TestCutFetch(t *testing.T) {
	f := newFx(t, tenants.MailboxDedicated, noProcura)
	s := f.w.Provider.Signer()
	for i := range 5 {
		f.appendInbox(t, receipt(t, pec.KindAccettazione, fmt.Sprintf("<unknown-%d@pec.comune.prato.test>", i), s, i))
	}
	fl := f.w.Provider.Faults()
	fl.CutFetch = &sim.CutFetch{Mailbox: sim.ComunePrato}
	f.w.Provider.SetFaults(fl)
	first, err := f.h.Run(context.Background(), domain.CauseSchedule("cut"))
	if err == nil {
		t.Fatalf("a cut session did not fail the run: %+v", first)
	}
	second := f.run(t)
	if got := first.Total().Fetched + second.Fetched; got != 5 || second.Duplicates != 0 {
		t.Fatalf("first %+v, second %+v", first.Total(), second)
	}
	if n := len(f.openTriage(t)); n != 5 {
		t.Errorf("%d triage items, want 5", n)
	}
}

// TestEmptyPoll: with everything handled, a poll fetches nothing however
// large the INBOX, and a mailbox leased by another run is skipped.
func TestEmptyPoll(t *testing.T) {
	f := newFx(t, tenants.MailboxDedicated, noProcura)
	ctx := context.Background()
	msg := []byte("From: a@example.test\r\nSubject: x\r\n\r\nx\r\n")
	for range 300 {
		f.appendInbox(t, msg)
	}
	uv := must[uint32](t)(f.w.Provider.UIDValidity(sim.ComunePrato, "INBOX"))
	must[domain.MailboxCursor](t)(f.st.SaveCursor(ctx, domain.MailboxCursor{Tenant: f.t.ID, Mailbox: sim.ComunePrato, UIDValidity: uv, LastUID: 300}))
	if sum := f.run(t); sum.Fetched != 0 {
		t.Fatalf("empty poll fetched %d", sum.Fetched)
	}
	l := must[domain.Lease](t)(f.st.AcquireLease(ctx, f.t.ID, "poll:"+sim.ComunePrato, "someone-else", time.Minute))
	if sum := f.run(t); !sum.Busy {
		t.Errorf("leased mailbox polled: %+v", sum)
	}
	_ = f.st.ReleaseLease(ctx, l)
}

func TestOverdue(t *testing.T) {
	f := newFx(t, tenants.MailboxDedicated, noProcura)
	ctx := context.Background()
	b, _ := f.batch(t, people[:1])
	for _, st := range []domain.BatchState{domain.BatchSent, domain.BatchDelivered} {
		b = must[domain.Batch](t)(f.st.AdvanceBatch(ctx, domain.BatchChange{Tenant: f.t.ID, ID: b.ID, To: st, Cause: cause}))
	}
	var metrics bytes.Buffer
	f.h.Metrics = &metrics
	if sum := f.run(t); sum.Overdue != 0 {
		t.Fatalf("overdue at once: %+v", sum)
	}
	if got := overdueMetric(t, &metrics); got != 0 {
		t.Fatalf("metric %d before the batch is overdue", got)
	}
	f.h.Now = func() time.Time { return time.Now().Add(11 * 24 * time.Hour) }
	if sum := f.run(t); sum.Overdue != 1 || f.notices(notice.Overdue) != 1 {
		t.Fatalf("summary %+v, notices %+v", sum, f.got)
	}
	if sum := f.run(t); sum.Overdue != 0 || f.notices(notice.Overdue) != 1 {
		t.Fatalf("overdue notice repeated: %+v", sum)
	}
	// The metric counts every overdue batch, alerted before or not.
	if got := overdueMetric(t, &metrics); got != 1 {
		t.Fatalf("metric %d, want 1", got)
	}
}

// overdueMetric reads the last Embedded Metric Format line written and checks its shape.
func overdueMetric(t *testing.T, b *bytes.Buffer) int {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	var m struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Tenant         string
		OverdueBatches *int
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &m); err != nil || m.OverdueBatches == nil {
		t.Fatalf("metric line %q: %v", lines[len(lines)-1], err)
	}
	cw := m.AWS.CloudWatchMetrics
	if m.Tenant == "" || m.AWS.Timestamp == 0 || len(cw) != 1 || cw[0].Namespace != poll.MetricNamespace ||
		len(cw[0].Metrics) != 1 || cw[0].Metrics[0].Name != poll.MetricOverdueBatches || len(cw[0].Dimensions) != 2 {
		t.Fatalf("metric shape %+v", m)
	}
	return *m.OverdueBatches
}

package dispatch_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/dispatch"
	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/localdev/sim"
	"github.com/casellario-pec/casellario/shared/localdev/sim/provider"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/pec/segnatura"
	"github.com/casellario-pec/casellario/shared/protocol"
	"github.com/casellario-pec/casellario/shared/s3docs"
	"github.com/casellario-pec/casellario/shared/subjects"
	"github.com/casellario-pec/casellario/shared/tenants"
	"github.com/casellario-pec/casellario/shared/uploads"
)

// TestUploadToProcura is the whole path: upload → intake → dispatch → the
// Procura's mailbox holds the request with the right attachments → acceptance
// and delivery receipts for its Message-ID → the simulated Procura answers
// quoting the protocol number.
func TestUploadToProcura(t *testing.T) {
	s := newStack(t, stackOpt{procura: true})
	ctx := context.Background()
	bad := []string{"=HYPERLINK(\"x\")", "Mario", "M", "31/02/1980", "Roma", "RM", ""}
	u := s.upload(t, suap, listCSV(0, 5, bad), map[string]string{uploads.MetaUploadedBy: "cli:test"})
	if u.State != domain.UploadQueued || u.Counts.Valid != 5 || u.Counts.Invalid != 1 || u.UploadedBy != "cli:test" {
		t.Fatalf("upload %+v", u)
	}

	sum := s.run(t)
	if sum.Created != 1 || sum.Sent != 1 || sum.Protocol != 1 || sum.People != 5 || sum.Failed != 0 {
		t.Fatalf("summary %s", summary(sum))
	}
	bs := s.batches(t, suap)
	if len(bs) != 1 || bs[0].State != domain.BatchSent || len(bs[0].People) != 5 || bs[0].MessageID == "" {
		t.Fatalf("batches %+v", bs)
	}
	b := bs[0]
	if b.Protocol.Number != "0000001" {
		t.Errorf("protocol %+v, want the register's first number", b.Protocol)
	}
	subs, err := s.store.SubjectsOfUpload(ctx, prato, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range subs {
		if sub.State != domain.PersonBatched || sub.Batch != b.ID {
			t.Errorf("subject %s: %s in %q", sub.ID, sub.State, sub.Batch)
		}
	}
	// The documents and the raw message are in the documents bucket.
	for _, name := range []string{s3docs.RequestPDF, s3docs.SubjectsFile, s3docs.Segnatura, s3docs.SentMessage} {
		if _, err := s.docs.Head(ctx, s.docs.Document(s3docs.BatchKey(prato, b.ID, name))); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}

	var req []fetched
	waitFor(t, "the request in the Procura's inbox", func() bool {
		req = ofKind(s.inbox(t, sim.Procura), pec.KindPostaCertificata)
		return len(req) == 1
	})
	m := req[0].msg
	if m.RefMessageID != b.MessageID || !strings.Contains(m.Subject, b.Protocol.Number) || !strings.Contains(m.Subject, b.Protocol.Date.Italian()) {
		t.Errorf("request: ref %s subject %q; batch %s %+v", m.RefMessageID, m.Subject, b.MessageID, b.Protocol)
	}
	atts := map[string]pec.Attachment{}
	for _, a := range m.Attachments() {
		atts[a.Name] = a
	}
	if len(atts) != 3 {
		t.Fatalf("attachments %v", m.View().Attachments)
	}
	read := func(name string) []byte {
		a, ok := atts[name]
		if !ok {
			t.Fatalf("attachment %s missing: %v", name, m.View().Attachments)
		}
		r, err := a.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(r)
		return data
	}
	if pdf := read("richiesta.pdf"); !bytes.HasPrefix(pdf, []byte("%PDF")) {
		t.Error("the letter is not a PDF")
	}
	people, err := subjects.Default().Read(bytes.NewReader(read(subjects.Default().FileName())))
	if err != nil {
		t.Fatal(err)
	}
	if len(people) != 5 {
		t.Fatalf("%d people in the subjects file", len(people))
	}
	for i, p := range people {
		want := person(i)
		if p.Surname != strings.ToUpper(want[0]) || p.Name != strings.ToUpper(want[1]) || p.BirthDate.Italian() != want[3] {
			t.Errorf("subject %d: %s %s %s, want %v", i, p.Surname, p.Name, p.BirthDate.Italian(), want[:4])
		}
	}
	seg, err := segnatura.Parse(read(segnatura.FileName))
	if err != nil {
		t.Fatal(err)
	}
	id := seg.Intestazione.Identificatore
	if id.NumeroRegistrazione != b.Protocol.Number || id.DataRegistrazione != b.Protocol.Date.String() || id.CodiceAmministrazione != prato ||
		id.CodiceAOO != "AOO_PRATO" || id.CodiceRegistro != "CPEC" || seg.Descrizione.DocumentoPrimario.Nome != "richiesta.pdf" ||
		len(seg.Descrizione.Allegato) != 1 {
		t.Errorf("segnatura %+v", seg)
	}
	if want := segnatura.NewDocumento("richiesta.pdf", read("richiesta.pdf")).Impronta; seg.Descrizione.DocumentoPrimario.Impronta != want {
		t.Error("segnatura: the letter's fingerprint does not match")
	}

	waitFor(t, "acceptance and delivery receipts", func() bool {
		r := s.receiptsFor(t, b.MessageID)
		return r[pec.KindAccettazione] == 1 && r[pec.KindAvvenutaConsegna] == 1
	})
	waitFor(t, "the Procura's reply quoting the protocol number", func() bool {
		for _, f := range ofKind(s.inbox(t, sim.ComunePrato), pec.KindPostaCertificata) {
			if strings.Contains(f.msg.Subject, b.Protocol.Number) {
				return true
			}
		}
		return false
	})

	// Nothing more to do: a second run creates and sends nothing.
	if sum := s.run(t); sum.Created != 0 || sum.Sent != 0 || sum.Recovered != 0 {
		t.Fatalf("second run %s", summary(sum))
	}
}

// TestBatching splits pending people into batches of at most N, a manual
// protocol upload forming its own batch with its own number.
func TestBatching(t *testing.T) {
	s := newStack(t, stackOpt{batchSize: 3})
	s.upload(t, suap, listCSV(0, 4), nil)
	man := s.submit(t, suap, listCSV(10, 12), &domain.Protocol{Number: "0004242", Date: domain.Date{Year: 2026, Month: 11, Day: 20}})
	s.upload(t, suap, listCSV(20, 23), nil)
	s.upload(t, "CONTRATTI", listCSV(30, 31), nil)
	sum := s.run(t)
	if sum.Created != 5 || sum.Sent != 5 || sum.People != 10 {
		t.Fatalf("summary %s", summary(sum))
	}
	seen := map[string]bool{}
	var manual int
	numbers := map[string]bool{}
	for _, office := range []string{suap, "CONTRATTI"} {
		for _, b := range s.batches(t, office) {
			if len(b.People) > 3 || b.State != domain.BatchSent {
				t.Errorf("batch %+v", b)
			}
			if numbers[b.Protocol.Number] {
				t.Errorf("protocol number %s twice", b.Protocol.Number)
			}
			numbers[b.Protocol.Number] = true
			for _, p := range b.People {
				if seen[p] {
					t.Errorf("%s in two batches", p)
				}
				seen[p] = true
				if up, _, _ := domain.ParseSubjectID(p); up == man.ID && (b.Protocol.Number != "0004242" || len(b.People) != 2) {
					t.Errorf("manual upload in batch %+v", b)
				}
			}
			if b.Protocol.Number == "0004242" {
				manual++
				if b.Protocol.Date.String() != "2026-11-20" {
					t.Errorf("manual date %s", b.Protocol.Date)
				}
			}
		}
	}
	if len(seen) != 10 || manual != 1 {
		t.Fatalf("%d people batched, %d manual batches", len(seen), manual)
	}
	waitFor(t, "5 requests", func() bool { return len(s.requests(t)) == 5 })
}

// TestSMTPRefused: the provider refuses connections; the batch stays
// protocolled, nothing is lost, and the next run sends it once.
func TestSMTPRefused(t *testing.T) {
	s := newStack(t, stackOpt{})
	s.world.Provider.SetFaults(provider.Faults{RefuseSMTP: true})
	s.upload(t, suap, listCSV(0, 3), nil)
	sum := s.run(t)
	if sum.Created != 1 || sum.Sent != 0 || sum.Retried != 1 {
		t.Fatalf("summary %s", summary(sum))
	}
	b := s.batches(t, suap)[0]
	if b.State != domain.BatchProtocolled || b.MessageID == "" || len(b.People) != 3 {
		t.Fatalf("batch %+v", b)
	}
	// Still refusing: retried again, never failed.
	if sum := s.run(t); sum.Retried != 1 || sum.Sent != 0 || sum.Failed != 0 {
		t.Fatalf("summary %s", summary(sum))
	}
	s.world.Provider.SetFaults(provider.Faults{})
	if sum := s.run(t); sum.Sent != 1 || sum.Created != 0 {
		t.Fatalf("summary %s", summary(sum))
	}
	nb, _ := s.store.GetBatch(context.Background(), prato, b.ID)
	if nb.State != domain.BatchSent || nb.MessageID != b.MessageID {
		t.Fatalf("batch %+v", nb)
	}
	waitFor(t, "the request", func() bool { return s.requests(t)[b.MessageID] == 1 })
	if sum := s.run(t); sum.Sent+sum.Recovered+sum.Created != 0 {
		t.Fatalf("summary %s", summary(sum))
	}
	time.Sleep(100 * time.Millisecond)
	if r := s.requests(t); len(r) != 1 || r[b.MessageID] != 1 {
		t.Fatalf("requests %v", r)
	}
}

// crashSender sends, then reports an unknown outcome, like a connection
// lost after the data (or a crash before the state is recorded).
type crashSender struct {
	next  dispatch.Sender
	send  bool // really send before failing
	calls atomic.Int32
}

func (c *crashSender) Send(ctx context.Context, t tenants.Tenant, from string, to []string, raw []byte) error {
	c.calls.Add(1)
	if c.send {
		if err := c.next.Send(ctx, t, from, to, raw); err != nil {
			return err
		}
	}
	return errors.New("connection reset after DATA")
}

// TestCrashBetweenSendAndRecord: the retry finds the acceptance and does not resend.
func TestCrashBetweenSendAndRecord(t *testing.T) {
	s := newStack(t, stackOpt{})
	s.disp.Sender = &crashSender{next: s.smtp, send: true}
	s.upload(t, suap, listCSV(0, 2), nil)
	if sum := s.run(t); sum.Sent != 0 || sum.Retried != 1 {
		t.Fatalf("summary %s", summary(sum))
	}
	b := s.batches(t, suap)[0]
	waitFor(t, "the acceptance", func() bool { return s.receiptsFor(t, b.MessageID)[pec.KindAccettazione] == 1 })
	s.disp.Sender = s.smtp
	s.clock.Advance(time.Hour) // past the grace period: only the receipt stops a resend
	if sum := s.run(t); sum.Recovered != 1 || sum.Sent != 0 {
		t.Fatalf("summary %s", summary(sum))
	}
	nb, _ := s.store.GetBatch(context.Background(), prato, b.ID)
	if nb.State != domain.BatchSent {
		t.Fatalf("batch %+v", nb)
	}
	time.Sleep(100 * time.Millisecond)
	if r := s.requests(t); len(r) != 1 || r[b.MessageID] != 1 {
		t.Fatalf("requests %v", r)
	}
}

// TestUnknownOutcomeGrace: an attempt of unknown outcome without receipt
// waits for the grace period, then the stored bytes are sent again.
func TestUnknownOutcomeGrace(t *testing.T) {
	s := newStack(t, stackOpt{})
	cs := &crashSender{next: s.smtp}
	s.disp.Sender = cs
	s.upload(t, suap, listCSV(0, 2), nil)
	s.run(t)
	b := s.batches(t, suap)[0]
	stored, _, err := s.docs.GetBytes(context.Background(), s.docs.Document(s3docs.BatchKey(prato, b.ID, s3docs.SentMessage)))
	if err != nil {
		t.Fatal(err)
	}
	s.disp.Sender = s.smtp
	if sum := s.run(t); sum.Waiting != 1 || sum.Sent != 0 {
		t.Fatalf("within the grace period: %s", summary(sum))
	}
	s.clock.Advance(2 * time.Minute)
	if sum := s.run(t); sum.Sent != 1 || sum.Resent != 1 {
		t.Fatalf("after the grace period: %s", summary(sum))
	}
	var req []fetched
	waitFor(t, "the request", func() bool {
		req = ofKind(s.inbox(t, sim.Procura), pec.KindPostaCertificata)
		return len(req) == 1
	})
	orig := req[0].msg.Original.Raw()
	if req[0].msg.RefMessageID != b.MessageID || !bytes.Contains(stored, bytes.TrimSpace(orig[len(orig)-200:])) {
		t.Error("the message sent is not the stored one")
	}
	evs, err := s.store.Events(context.Background(), prato, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, e := range evs {
		notes = append(notes, e.Detail)
	}
	all := strings.Join(notes, "\n")
	if !strings.Contains(all, "outcome unknown") || !strings.Contains(all, "sending again the stored message") {
		t.Errorf("events:\n%s", all)
	}
}

// TestTwoDispatchers: two runs at once; each person in exactly one batch,
// each batch sent once.
func TestTwoDispatchers(t *testing.T) {
	s := newStack(t, stackOpt{batchSize: 4})
	s.upload(t, suap, listCSV(0, 9), nil)
	s.upload(t, "CONTRATTI", listCSV(20, 25), nil)
	other := *s.disp // a second dispatcher: same configuration, its own runs
	var wg sync.WaitGroup
	sums := make([]dispatch.Summary, 2)
	for i, h := range []*dispatch.Handler{s.disp, &other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sum, err := h.Run(context.Background(), domain.CauseSchedule(domain.NewID()))
			if err != nil {
				t.Error(err)
			}
			sums[i] = sum
		}()
	}
	wg.Wait()
	sum := s.run(t) // whatever a busy office left
	total := sums[0].Sent + sums[1].Sent + sum.Sent
	seen := map[string]bool{}
	var batches int
	for _, office := range []string{suap, "CONTRATTI"} {
		for _, b := range s.batches(t, office) {
			batches++
			if b.State != domain.BatchSent {
				t.Errorf("batch %s %s", b.ID, b.State)
			}
			for _, p := range b.People {
				if seen[p] {
					t.Errorf("%s in two batches", p)
				}
				seen[p] = true
			}
		}
	}
	if len(seen) != 14 || batches != 5 || total != 5 {
		t.Fatalf("%d people, %d batches, %d sent (%s %s %s)", len(seen), batches, total, summary(sums[0]), summary(sums[1]), summary(sum))
	}
	waitFor(t, "5 requests", func() bool { return len(s.requests(t)) == 5 })
	for id, n := range s.requests(t) {
		if n != 1 {
			t.Errorf("%s received %d times", id, n)
		}
	}
}

type registerFunc func(ctx context.Context, r protocol.Request) (domain.Protocol, error)

func (f registerFunc) Register(ctx context.Context, r protocol.Request) (domain.Protocol, error) {
	return f(ctx, r)
}

// TestRegister: an external register's temporary failure is retried; a
// refusal fails the batch and its people.
func TestRegister(t *testing.T) {
	s := newStack(t, stackOpt{})
	var mode atomic.Value
	mode.Store("down")
	s.disp.Register = func(tenants.Tenant) (protocol.Register, error) {
		return registerFunc(func(_ context.Context, r protocol.Request) (domain.Protocol, error) {
			switch mode.Load() {
			case "down":
				return domain.Protocol{}, &protocol.Error{Temporary: true, Message: "register down"}
			case "refuse":
				return domain.Protocol{}, &protocol.Error{Message: "refused"}
			}
			if r.Tenant != prato || r.AOO != "AOO_PRATO" || r.Registry != "PG" || r.Recipient != sim.Procura || r.BatchID == "" {
				t.Errorf("request %+v", r)
			}
			return domain.Protocol{Number: "0777777", Date: domain.Date{Year: 2026, Month: 11, Day: 25}}, nil
		}), nil
	}
	u := s.upload(t, suap, listCSV(0, 2), nil)
	if sum := s.run(t); sum.Retried != 1 || sum.Protocol != 0 {
		t.Fatalf("summary %s", summary(sum))
	}
	if b := s.batches(t, suap)[0]; b.State != domain.BatchQueued {
		t.Fatalf("batch %+v", b)
	}
	mode.Store("up")
	if sum := s.run(t); sum.Sent != 1 || sum.Created != 0 {
		t.Fatalf("summary %s", summary(sum))
	}
	if b := s.batches(t, suap)[0]; b.State != domain.BatchSent || b.Protocol.Number != "0777777" {
		t.Fatalf("batch %+v", b)
	}

	mode.Store("refuse")
	u2 := s.upload(t, suap, listCSV(5, 7), nil)
	if sum := s.run(t); sum.Failed != 1 || sum.Sent != 0 {
		t.Fatalf("summary %s", summary(sum))
	}
	subs, _ := s.store.SubjectsOfUpload(context.Background(), prato, u2.ID)
	for _, sub := range subs {
		if sub.State != domain.PersonFailed || sub.Reason.Code != domain.ReasonRegisterRefused || !strings.Contains(sub.Reason.Detail, "refused") {
			t.Errorf("subject %+v", sub)
		}
	}
	_ = u
}

// fakeMailbox answers Receipt from a function.
type fakeMailbox func(messageID string) (pec.Kind, error)

func (f fakeMailbox) Receipt(_ context.Context, _ tenants.Tenant, id string) (pec.Kind, error) {
	return f(id)
}

// TestRecoveryPaths: a batch left with a Message-ID is never sent without
// asking the inbox first.
func TestRecoveryPaths(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mailbox dispatch.Mailbox
		check   func(t *testing.T, sum dispatch.Summary, b domain.Batch)
	}{
		{"no mailbox", nil, func(t *testing.T, sum dispatch.Summary, b domain.Batch) {
			if sum.Waiting != 1 || b.State != domain.BatchProtocolled {
				t.Errorf("%s %s", summary(sum), b.State)
			}
		}},
		{"inbox unreachable", fakeMailbox(func(string) (pec.Kind, error) { return "", errors.New("imap down") }),
			func(t *testing.T, sum dispatch.Summary, b domain.Batch) {
				if sum.Retried != 1 || b.State != domain.BatchProtocolled {
					t.Errorf("%s %s", summary(sum), b.State)
				}
			}},
		{"non-accettazione", fakeMailbox(func(string) (pec.Kind, error) { return pec.KindNonAccettazione, nil }),
			func(t *testing.T, sum dispatch.Summary, b domain.Batch) {
				if sum.Failed != 1 || b.State != domain.BatchFailed || b.Reason.Code != domain.ReasonProviderRefused {
					t.Errorf("%s %+v", summary(sum), b)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t, stackOpt{offices: 1})
			s.disp.Sender = &crashSender{next: s.smtp} // an unknown outcome; nothing really sent
			s.upload(t, suap, listCSV(0, 1), nil)
			s.run(t)
			s.disp.Sender = s.smtp
			s.clock.Advance(2 * time.Minute) // past the grace period
			s.disp.Mailbox = tc.mailbox
			sum := s.run(t)
			tc.check(t, sum, s.batches(t, suap)[0])
			if r := s.requests(t); len(r) != 0 {
				t.Errorf("requests %v", r)
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	s := newStack(t, stackOpt{offices: 1})
	h := *s.disp
	h.Sender = nil
	if _, err := h.Run(context.Background(), domain.CauseUser("x")); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("no sender: %v", err)
	}
	if _, err := s.disp.Run(context.Background(), domain.Cause("bogus")); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("bad cause: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.disp.Run(ctx, domain.CauseUser("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	// A busy office is skipped.
	if _, err := s.store.AcquireLease(context.Background(), prato, "dispatch-"+suap, "someone", time.Minute); err != nil {
		t.Fatal(err)
	}
	s.upload(t, suap, listCSV(0, 1), nil)
	if sum := s.run(t); sum.Busy != 1 || sum.Created != 0 {
		t.Errorf("busy: %s", summary(sum))
	}
	// The schedule entry point runs the same, for the Comune its detail names.
	s.clock.Advance(2 * time.Minute)
	for _, detail := range []string{`{"tenant":"c_x000"}`, `{"tenant":`} {
		ev := eventBridge("ev-0")
		ev.Detail = []byte(detail)
		if err := s.disp.HandleSchedule(context.Background(), ev); err == nil {
			t.Errorf("schedule detail %s accepted", detail)
		}
	}
	if b := s.batches(t, suap); len(b) != 0 {
		t.Fatalf("a refused schedule dispatched: %+v", b)
	}
	ev := eventBridge("ev-1")
	ev.Detail = []byte(`{"tenant":"` + prato + `"}`)
	if err := s.disp.HandleSchedule(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if b := s.batches(t, suap); len(b) != 1 || b[0].State != domain.BatchSent {
		t.Errorf("batches %+v", b)
	}
}

// refusingFormat is a subjects format that refuses every list, as a stricter
// NSC-MASSIVE layout might refuse a person's data.
type refusingFormat struct{ subjects.Format }

func (refusingFormat) Write(io.Writer, []domain.Person) error {
	return errors.New("row 1, column COGNOME: not allowed")
}

// A batch whose subjects file cannot be written fails for a person to see, and
// does not hold up the office's later work.
func TestSubjectsFileRefused(t *testing.T) {
	s := newStack(t, stackOpt{})
	s.disp.Format = refusingFormat{subjects.Default()}
	s.upload(t, suap, listCSV(0, 2), nil)
	sum := s.run(t)
	if sum.Created != 1 || sum.Sent != 0 || sum.Failed != 1 {
		t.Fatalf("summary %s", summary(sum))
	}
	b := s.batches(t, suap)[0]
	if b.State != domain.BatchFailed || b.Reason.Code != domain.ReasonNotComposed || !strings.Contains(b.Reason.Detail, "subjects file") {
		t.Fatalf("batch %+v", b)
	}
	s.disp.Format = nil
	s.upload(t, suap, listCSV(2, 3), nil)
	if sum := s.run(t); sum.Sent != 1 {
		t.Fatalf("the office is blocked: %s", summary(sum))
	}
}

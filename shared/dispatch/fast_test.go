package dispatch_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/dispatch"
	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/intake"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/s3docs"
	"github.com/casellario-pec/casellario/shared/s3docs/s3docstest"
	"github.com/casellario-pec/casellario/shared/store/memstore"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// The fast tests: dispatch over the in-memory store and S3, with a sender
// and a mailbox that record what they are asked (no server).

type fastStack struct {
	clock  *clock
	st     *memstore.Store
	docs   *s3docs.Docs
	intake *intake.Handler
	disp   *dispatch.Handler
	sender *sender
	box    *receipts
	tenant tenants.Tenant
}

func newFastStack(t *testing.T) *fastStack {
	t.Helper()
	tc := tenants.Demo()
	tc.Tenants = tc.Tenants[:1]
	tc.Tenants[0].Offices = tc.Tenants[0].Offices[:1] // SUAP
	if err := tc.Validate(); err != nil {
		t.Fatal(err)
	}
	clk := &clock{}
	s := &fastStack{clock: clk, st: memstore.New(memstore.Options{Now: clk.Now}), docs: s3docstest.New(t), sender: &sender{}, box: &receipts{}, tenant: tc.Tenants[0]}
	log := slog.New(slog.DiscardHandler)
	s.intake = &intake.Handler{Store: s.st, Docs: s.docs, Tenants: tc, Log: log, Now: clk.Now}
	s.disp = &dispatch.Handler{Store: s.st, Docs: s.docs, Tenants: tc, Sender: s.sender, Mailbox: s.box, Log: log, Now: clk.Now, Grace: time.Minute}
	return s
}

// upload stores a list of n people of SUAP and takes it in.
func (s *fastStack) upload(t *testing.T, n int) domain.Upload {
	t.Helper()
	key := s3docs.UploadKey(prato, suap, domain.NewID(), "csv")
	obj, err := s.docs.Put(context.Background(), s.docs.Upload(key), "text/csv", bytes.NewReader(listCSV(0, n)))
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.intake.Process(context.Background(), key, obj.Version, domain.CauseS3(key, obj.Version))
	if err != nil || u.State != domain.UploadQueued {
		t.Fatalf("intake: %+v %v", u, err)
	}
	return u
}

func (s *fastStack) run(t *testing.T) dispatch.Summary {
	t.Helper()
	sum, err := s.disp.Run(context.Background(), domain.CauseUser("test"))
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func (s *fastStack) batch(t *testing.T) domain.Batch {
	t.Helper()
	bs, err := s.st.ListBatches(context.Background(), prato, suap, nil, 0)
	if err != nil || len(bs) != 1 {
		t.Fatalf("batches %+v %v", bs, err)
	}
	return bs[0]
}

// notes are the details of a batch's events.
func (s *fastStack) notes(t *testing.T, b domain.Batch) string {
	t.Helper()
	evs, err := s.st.Events(context.Background(), prato, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	var d []string
	for _, e := range evs {
		d = append(d, e.State+": "+e.Detail)
	}
	return strings.Join(d, "\n")
}

// sender records submissions and answers each with the next of errs (nil
// when none is left).
type sender struct {
	mu   sync.Mutex
	raws [][]byte
	errs []error
}

func (s *sender) Send(_ context.Context, t tenants.Tenant, from string, to []string, raw []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if from != t.PEC.Address || len(to) != 1 || to[0] != t.Procura {
		return errors.New("sent from or to the wrong address")
	}
	s.raws = append(s.raws, bytes.Clone(raw))
	if len(s.errs) == 0 {
		return nil
	}
	err := s.errs[0]
	s.errs = s.errs[1:]
	return err
}

type notSent struct{}

func (notSent) Error() string { return "connection refused" }
func (notSent) NotSent() bool { return true }

// receipts is the Comune's mailbox as dispatch asks it for receipts.
type receipts struct {
	kind pec.Kind
	err  error
	asks int
}

func (r *receipts) Receipt(context.Context, tenants.Tenant, string) (pec.Kind, error) {
	r.asks++
	return r.kind, r.err
}

// TestFastNothingToSend: no pending people, no batch, no submission, and
// the office's lease is free again.
func TestFastNothingToSend(t *testing.T) {
	s := newFastStack(t)
	sum := s.run(t)
	if sum != (dispatch.Summary{Offices: 1}) {
		t.Fatalf("summary %s", summary(sum))
	}
	if bs, _ := s.st.ListBatches(context.Background(), prato, "", nil, 0); len(bs) != 0 || len(s.sender.raws) != 0 {
		t.Fatalf("batches %+v, %d sent", bs, len(s.sender.raws))
	}
	if _, err := s.st.AcquireLease(context.Background(), prato, "dispatch-"+suap, "another", time.Minute); err != nil {
		t.Fatalf("the office's lease was kept: %v", err)
	}
}

// TestFastSendFailures: a submission that failed is counted for a retry,
// recorded on the batch, and sent again, same bytes and Message-ID, only
// when it certainly did not leave or when no receipt came within the grace.
func TestFastSendFailures(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        error
		receipt    pec.Kind
		receiptErr error
		after      time.Duration // between the two runs
		// after the first run
		inFlight bool // LastSendAttempt recorded
		note     string
		// after the second run
		second   dispatch.Summary
		state    domain.BatchState
		sends    int
		attempts int
		asks     int
	}{
		{name: "not sent, sent next run", err: notSent{}, note: "sending failed, nothing sent; retried next run: connection refused",
			second: dispatch.Summary{Offices: 1, Sent: 1}, state: domain.BatchSent, sends: 2, attempts: 2},
		{name: "outcome unknown, within the grace", err: errors.New("connection reset"), inFlight: true,
			note:   "sending interrupted, outcome unknown; the next run looks for the acceptance receipt: connection reset",
			second: dispatch.Summary{Offices: 1, Waiting: 1}, state: domain.BatchProtocolled, sends: 1, attempts: 1, asks: 1},
		{name: "outcome unknown, no receipt after the grace", err: errors.New("connection reset"), inFlight: true, after: 2 * time.Minute,
			note:   "sending interrupted, outcome unknown; the next run looks for the acceptance receipt: connection reset",
			second: dispatch.Summary{Offices: 1, Sent: 1, Resent: 1}, state: domain.BatchSent, sends: 2, attempts: 2, asks: 1},
		{name: "outcome unknown, accepted after all", err: errors.New("timeout"), inFlight: true, receipt: pec.KindAccettazione,
			note:   "sending interrupted, outcome unknown; the next run looks for the acceptance receipt: timeout",
			second: dispatch.Summary{Offices: 1, Recovered: 1}, state: domain.BatchSent, sends: 1, attempts: 1, asks: 1},
		{name: "outcome unknown, refused by the provider", err: errors.New("timeout"), inFlight: true, receipt: pec.KindNonAccettazione,
			note:   "sending interrupted, outcome unknown; the next run looks for the acceptance receipt: timeout",
			second: dispatch.Summary{Offices: 1, Failed: 1}, state: domain.BatchFailed, sends: 1, attempts: 1, asks: 1},
		{name: "outcome unknown, mailbox unreachable", err: errors.New("timeout"), inFlight: true, receiptErr: errors.New("imap down"), after: time.Hour,
			note:   "sending interrupted, outcome unknown; the next run looks for the acceptance receipt: timeout",
			second: dispatch.Summary{Offices: 1, Retried: 1}, state: domain.BatchProtocolled, sends: 1, attempts: 1, asks: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newFastStack(t)
			u := s.upload(t, 3)
			s.sender.errs = []error{tc.err}
			s.box.kind, s.box.err = tc.receipt, tc.receiptErr
			first := s.run(t)
			if want := (dispatch.Summary{Offices: 1, Created: 1, People: 3, Protocol: 1, Retried: 1}); first != want {
				t.Fatalf("first run %s, want %s", summary(first), summary(want))
			}
			b := s.batch(t)
			if b.State != domain.BatchProtocolled || b.MessageID != dispatch.MessageID(b.ID, s.tenant.PEC.Address) || b.SendAttempts != 1 ||
				b.LastSendAttempt.IsZero() != !tc.inFlight {
				t.Fatalf("batch after a failed submission: %+v", b)
			}
			if notes := s.notes(t, b); !strings.Contains(notes, "protocolled: "+tc.note) {
				t.Errorf("events:\n%s\nwant the note %q", notes, tc.note)
			}
			s.clock.Advance(tc.after)
			second, err := s.disp.Run(context.Background(), domain.CauseUser("test"))
			if err != nil {
				t.Fatal(err)
			}
			if second != tc.second {
				t.Fatalf("second run %s, want %s", summary(second), summary(tc.second))
			}
			b = s.batch(t)
			if b.State != tc.state || b.SendAttempts != tc.attempts || len(s.sender.raws) != tc.sends || s.box.asks != tc.asks {
				t.Fatalf("batch %s, %d attempts, %d sends, %d receipt lookups", b.State, b.SendAttempts, len(s.sender.raws), s.box.asks)
			}
			if tc.sends == 2 && !bytes.Equal(s.sender.raws[0], s.sender.raws[1]) {
				t.Error("sent again with other bytes")
			}
			subs, _ := s.st.SubjectsOfUpload(context.Background(), prato, u.ID)
			for _, sub := range subs {
				want := domain.PersonBatched
				if tc.state == domain.BatchFailed {
					want = domain.PersonFailed
				}
				if sub.State != want || sub.Batch != b.ID {
					t.Errorf("person %s: %s in %q", sub.ID, sub.State, sub.Batch)
				}
			}
			if tc.state == domain.BatchFailed {
				if b.Reason.Code != domain.ReasonProviderRefused {
					t.Errorf("reason %+v", b.Reason)
				}
				if up, _ := s.st.GetUpload(context.Background(), prato, u.ID); up.State != domain.UploadCompleted {
					t.Errorf("upload %s after its only request failed", up.State)
				}
			}
		})
	}
}

// TestFastScheduleLeavesWork: a scheduled run that meets a busy office, or
// leaves a batch for a retry, returns ErrWorkLeft.
func TestFastScheduleLeavesWork(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, s *fastStack)
		want    error
	}{
		{"nothing to do", func(*testing.T, *fastStack) {}, nil},
		{"sent", func(t *testing.T, s *fastStack) { s.upload(t, 1) }, nil},
		{"office busy", func(t *testing.T, s *fastStack) {
			if _, err := s.st.AcquireLease(context.Background(), prato, "dispatch-"+suap, "crashed", time.Hour); err != nil {
				t.Fatal(err)
			}
		}, dispatch.ErrWorkLeft},
		{"sending failed", func(t *testing.T, s *fastStack) {
			s.upload(t, 1)
			s.sender.errs = []error{notSent{}}
		}, dispatch.ErrWorkLeft},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newFastStack(t)
			tc.prepare(t, s)
			err := s.disp.HandleSchedule(context.Background(), eventBridge("ev-"+domain.NewID()))
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("HandleSchedule: %v, want %v", err, tc.want)
			}
		})
	}
}

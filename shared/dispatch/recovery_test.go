package dispatch_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/dispatch"
	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/localdev/sim/provider"
)

// A submission refused before the data (nothing left) is retried at the next
// run at once: there is no receipt to wait for.
func TestNotSentRetriedAtOnce(t *testing.T) {
	s := newStack(t, stackOpt{offices: 1})
	s.world.Provider.SetFaults(provider.Faults{RefuseSMTP: true})
	s.upload(t, suap, listCSV(0, 2), nil)
	if sum := s.run(t); sum.Retried != 1 || sum.Sent != 0 {
		t.Fatalf("refused: %s", summary(sum))
	}
	b := s.batches(t, suap)[0]
	if b.State != domain.BatchProtocolled || b.SendAttempts != 1 || !b.LastSendAttempt.IsZero() {
		t.Fatalf("after a refused submission: %+v", b)
	}
	s.world.Provider.SetFaults(provider.Faults{})
	if sum := s.run(t); sum.Sent != 1 || sum.Waiting != 0 || sum.Resent != 0 {
		t.Fatalf("retry: %s", summary(sum))
	}
	waitFor(t, "one request", func() bool { return s.requests(t)[b.MessageID] == 1 })
}

// A dispatcher that crashed holding the office's lease keeps the office
// waiting no longer than the lease's TTL; the scheduled run that meets the
// lease says there is work left, so that its retry comes.
func TestCrashedDispatcherReplaced(t *testing.T) {
	s := newStack(t, stackOpt{offices: 1})
	s.upload(t, suap, listCSV(0, 2), nil)
	// The crashed run: it took the lease and died without renewing it.
	if _, err := s.store.AcquireLease(context.Background(), prato, "dispatch-"+suap, "dispatch-crashed", 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	err := s.disp.HandleSchedule(context.Background(), eventBridge("ev-1"))
	if !errors.Is(err, dispatch.ErrWorkLeft) {
		t.Fatalf("a run meeting a live lease returned %v, want ErrWorkLeft", err)
	}
	if len(s.batches(t, suap)) != 0 {
		t.Fatal("a batch made under another's lease")
	}
	s.clock.Advance(2*time.Minute + time.Second) // the dead run's lease runs out
	if err := s.disp.HandleSchedule(context.Background(), eventBridge("ev-1-retry")); err != nil {
		t.Fatal(err)
	}
	if b := s.batches(t, suap); len(b) != 1 || b[0].State != domain.BatchSent {
		t.Fatalf("batches after the retry %+v", b)
	}
}

// A resume run finishes open batches and leaves pending people for the
// next cut-off.
func TestResumeOnlyFinishes(t *testing.T) {
	s := newStack(t, stackOpt{offices: 1})
	s.world.Provider.SetFaults(provider.Faults{RefuseSMTP: true})
	s.upload(t, suap, listCSV(0, 2), nil)
	s.run(t) // a protocolled batch left for a retry
	s.world.Provider.SetFaults(provider.Faults{})
	s.upload(t, suap, listCSV(2, 4), nil) // pending, after the cut-off
	ev := eventBridge("resume-1")
	ev.Detail = []byte(`{"resume":true}`)
	if err := s.disp.HandleSchedule(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	bs := s.batches(t, suap)
	if len(bs) != 1 || bs[0].State != domain.BatchSent {
		t.Fatalf("after resuming: %+v", bs)
	}
	pending, err := s.store.PendingSubjects(context.Background(), prato, suap, 10)
	if err != nil || len(pending) != 2 {
		t.Fatalf("pending after resuming: %d %v", len(pending), err)
	}
	if sum := s.run(t); sum.Created != 1 || sum.Sent != 1 {
		t.Fatalf("next cut-off: %s", summary(sum))
	}
}

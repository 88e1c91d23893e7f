package intake_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/intake"
	"github.com/casellario-pec/casellario/shared/s3docs"
)

// stuck records an upload as a crashed intake would leave it: created,
// still received, its lease held by the dead run until it expires.
func (f *fixture) stuck(t *testing.T, created time.Time, leaseFor time.Duration) domain.Upload {
	t.Helper()
	ctx := context.Background()
	key, ver := f.put(t, "c_g999", "SUAP", valid, nil)
	p, err := s3docs.ParseUploadKey(key)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := f.docs.Head(ctx, f.docs.Upload(key))
	if err != nil {
		t.Fatal(err)
	}
	u, err := f.store.CreateUpload(ctx, domain.Upload{ID: p.Upload, Tenant: "c_g999", Office: "SUAP", Key: key, ObjectVersion: ver, SHA256: obj.SHA256},
		domain.CauseS3(key, ver))
	if err != nil {
		t.Fatal(err)
	}
	if leaseFor > 0 {
		if _, err := f.store.AcquireLease(ctx, "c_g999", "intake-"+u.ID, "intake-crashed", leaseFor); err != nil {
			t.Fatal(err)
		}
	}
	u.CreatedAt = created
	return u
}

func TestLeaseHeldIsBusy(t *testing.T) {
	f := newFixture(t)
	u := f.stuck(t, time.Now(), time.Minute)
	_, err := f.h.Process(context.Background(), u.Key, u.ObjectVersion, domain.CauseS3(u.Key, u.ObjectVersion))
	if domain.ErrorCode(err) != domain.EBUSY {
		t.Fatalf("Process under another run's lease: %v, want EBUSY", err)
	}
	if err := f.h.HandleS3(context.Background(), event(u.Key, u.ObjectVersion)); domain.ErrorCode(err) != domain.EBUSY {
		t.Fatalf("HandleS3 must return EBUSY for a retry, got %v", err)
	}
	got, err := f.store.GetUpload(context.Background(), "c_g999", u.ID)
	if err != nil || got.State != domain.UploadReceived {
		t.Fatalf("upload %+v %v", got, err)
	}
}

func TestSweep(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := time.Now()
	f.h.Now = func() time.Time { return now.Add(2 * time.Minute) }
	f.h.LeaseTTL = time.Second
	fresh := f.stuck(t, now, 0)                      // no lease: its event was lost
	busy := f.stuck(t, now, time.Hour)               // a live intake holds it
	crashed := f.stuck(t, now, 500*time.Millisecond) // a dead intake's lease, expiring
	time.Sleep(600 * time.Millisecond)               // the dead lease runs out
	sum, err := f.h.Sweep(ctx, domain.CauseSchedule("sweep-1"))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Found != 3 || sum.Done != 2 || sum.Busy != 1 || sum.GaveUp != 0 || sum.Failures != 0 {
		t.Fatalf("sweep %+v", sum)
	}
	for _, u := range []domain.Upload{fresh, crashed} {
		got, err := f.store.GetUpload(ctx, "c_g999", u.ID)
		if err != nil || got.State != domain.UploadQueued || got.Counts.Valid != 2 {
			t.Errorf("upload %s after the sweep: %+v %v", u.ID, got, err)
		}
	}
	if got, _ := f.store.GetUpload(ctx, "c_g999", busy.ID); got.State != domain.UploadReceived {
		t.Errorf("the busy upload was taken from its live intake: %+v", got)
	}

	// Much later, an upload nobody could take in is rejected so that the office hears of it.
	f.h.Now = func() time.Time { return now.Add(intake.GiveUpAfter + time.Hour) }
	sum, err = f.h.Sweep(ctx, domain.CauseSchedule("sweep-2"))
	if err != nil || sum.GaveUp != 1 {
		t.Fatalf("late sweep %+v %v", sum, err)
	}
	got, _ := f.store.GetUpload(ctx, "c_g999", busy.ID)
	if got.State != domain.UploadRejected || got.Reason.Code != domain.ReasonUploadNotProcessed {
		t.Fatalf("given-up upload %+v", got)
	}
	last := f.sent.n[len(f.sent.n)-1]
	if last.Upload != busy.ID || last.Reason != domain.ReasonUploadNotProcessed {
		t.Errorf("office not told: %+v", last)
	}
}

func TestSweepYoungUploadsLeftAlone(t *testing.T) {
	f := newFixture(t)
	now := time.Now()
	f.h.Now = func() time.Time { return now }
	u := f.stuck(t, now, 0)
	sum, err := f.h.Sweep(context.Background(), domain.CauseSchedule("s"))
	if err != nil || sum.Found != 0 {
		t.Fatalf("sweep took an upload created just now: %+v %v", sum, err)
	}
	if got, _ := f.store.GetUpload(context.Background(), "c_g999", u.ID); got.State != domain.UploadReceived {
		t.Fatalf("%+v", got)
	}
}

func TestHandleEvent(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	key, ver := f.put(t, "c_g999", "SUAP", valid, nil)
	s3ev, _ := json.Marshal(event(key, ver))
	if err := f.h.HandleEvent(ctx, s3ev); err != nil {
		t.Fatal(err)
	}
	p, _ := s3docs.ParseUploadKey(key)
	if u, err := f.store.GetUpload(ctx, "c_g999", p.Upload); err != nil || u.State != domain.UploadQueued {
		t.Fatalf("S3 event: %+v %v", u, err)
	}
	sched, _ := json.Marshal(events.EventBridgeEvent{ID: "e1", DetailType: "Scheduled Event", Source: "aws.scheduler", Detail: json.RawMessage(`{"tenant":"c_g999"}`)})
	if err := f.h.HandleEvent(ctx, sched); err != nil {
		t.Fatalf("scheduled sweep: %v", err)
	}
	for _, bad := range []string{`{}`, `[`, `{"detail-type":"x","detail":{"tenant":"c_nope"}}`} {
		if err := f.h.HandleEvent(ctx, json.RawMessage(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

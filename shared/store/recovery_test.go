package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
)

func TestReceivedUploads(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	mk := func(p *domain.Protocol) domain.Upload {
		id := domain.NewID()
		return must[domain.Upload](t)(f.CreateUpload(ctx, domain.Upload{ID: id, Tenant: tenant, Office: "SUAP",
			Key: tenant + "/SUAP/" + id + "/list.csv", SHA256: sha, Protocol: p}, domain.CauseS3("k", "v1")))
	}
	stuck := mk(&domain.Protocol{Number: "0001234", Date: domain.Date{Year: 2026, Month: 3, Day: 2}})
	queued := f.queuedUpload(t, "SUAP", 1)
	rejected := mk(nil)
	must[domain.Upload](t)(f.AdvanceUpload(ctx, tenant, rejected.ID, domain.UploadRejected, nil, "", domain.Because(domain.ReasonNoRows, ""), domain.CauseUser("x")))
	got := must[[]domain.Upload](t)(f.ReceivedUploads(ctx, tenant, 10))
	if len(got) != 1 || got[0].ID != stuck.ID {
		t.Fatalf("received uploads %+v; want only %s (not queued %s nor rejected %s)", got, stuck.ID, queued.ID, rejected.ID)
	}
	if p := got[0].Protocol; p == nil || p.Number != "0001234" || p.Date.String() != "2026-03-02" {
		t.Fatalf("manual protocol not kept: %+v", p)
	}
	_, err := f.CreateUpload(ctx, domain.Upload{ID: domain.NewID(), Tenant: tenant, Office: "SUAP", Key: "k", SHA256: sha,
		Protocol: &domain.Protocol{Number: "12"}}, domain.CauseS3("k", "v1"))
	code(t, err, domain.EINVALID)
	_, err = f.ReceivedUploads(ctx, "bad tenant", 1)
	code(t, err, domain.EINVALID)
}

func TestSendAttempts(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	u := f.queuedUpload(t, "SUAP", 1)
	b := must[domain.Batch](t)(f.CreateBatch(ctx, domain.Batch{ID: domain.NewID(), Tenant: tenant, Office: "SUAP",
		People: []string{domain.SubjectID(u.ID, 2)}}, domain.CauseUser("x")))
	_, err := f.RecordSendAttempt(ctx, tenant, b.ID, f.now())
	code(t, err, domain.ECONFLICT) // queued, no Message-ID
	must[domain.Batch](t)(f.RegisterProtocol(ctx, domain.ProtocolRequest{Tenant: tenant, AOO: "AOO", Registry: "PG", Batch: b.ID,
		Date: domain.Date{Year: 2026, Month: 3, Day: 2}, Cause: domain.CauseUser("x")}))
	must[domain.Batch](t)(f.SetMessageID(ctx, tenant, b.ID, "<casellario."+b.ID+"@pec.test>"))
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	got := must[domain.Batch](t)(f.RecordSendAttempt(ctx, tenant, b.ID, at))
	if got.SendAttempts != 1 || !got.LastSendAttempt.Equal(at) {
		t.Fatalf("after one attempt: %d at %v", got.SendAttempts, got.LastSendAttempt)
	}
	got = must[domain.Batch](t)(f.RecordSendAttempt(ctx, tenant, b.ID, time.Time{}))
	if got.SendAttempts != 1 || !got.LastSendAttempt.IsZero() {
		t.Fatalf("after clearing: %d at %v", got.SendAttempts, got.LastSendAttempt)
	}
	got = must[domain.Batch](t)(f.RecordSendAttempt(ctx, tenant, b.ID, at.Add(time.Minute)))
	if got.SendAttempts != 2 || !got.LastSendAttempt.Equal(at.Add(time.Minute)) {
		t.Fatalf("after a second attempt: %d at %v", got.SendAttempts, got.LastSendAttempt)
	}
	if read := must[domain.Batch](t)(f.GetBatch(ctx, tenant, b.ID)); read.SendAttempts != 2 {
		t.Fatalf("read back: %d", read.SendAttempts)
	}
	_, err = f.RecordSendAttempt(ctx, tenant, "not-an-id", at)
	code(t, err, domain.EINVALID)
}

func TestMessageAttempts(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	k := domain.AttemptKey{Tenant: tenant, Mailbox: "Protocollo@PEC.test", UIDValidity: 7, UID: 42}
	for want := 1; want <= 3; want++ {
		a := must[domain.MessageAttempts](t)(f.BeginAttempt(ctx, k))
		if a.Count != want {
			t.Fatalf("attempt %d counted as %d", want, a.Count)
		}
		if err := f.FailAttempt(ctx, k, "boom"); err != nil {
			t.Fatal(err)
		}
	}
	a := must[domain.MessageAttempts](t)(f.BeginAttempt(ctx, domain.AttemptKey{Tenant: tenant, Mailbox: "protocollo@pec.test", UIDValidity: 7, UID: 42}))
	if a.Count != 4 || a.LastFailure != "boom" {
		t.Fatalf("same message, other case of the address: %+v", a)
	}
	other := must[domain.MessageAttempts](t)(f.BeginAttempt(ctx, domain.AttemptKey{Tenant: tenant, Mailbox: "protocollo@pec.test", UIDValidity: 8, UID: 42}))
	if other.Count != 1 || other.LastFailure != "" {
		t.Fatalf("another UIDVALIDITY shares the count: %+v", other)
	}
	for _, bad := range []domain.AttemptKey{{Tenant: tenant, Mailbox: "m", UIDValidity: 1}, {Tenant: tenant, UIDValidity: 1, UID: 1}, {Tenant: "x y", Mailbox: "m", UIDValidity: 1, UID: 1}} {
		_, err := f.BeginAttempt(ctx, bad)
		code(t, err, domain.EINVALID)
		code(t, f.FailAttempt(ctx, bad, "x"), domain.EINVALID)
	}
}

func TestPendingAgainCountsAttempts(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	u := f.queuedUpload(t, "SUAP", 1)
	id := domain.SubjectID(u.ID, 2)
	for i := 1; i <= 2; i++ {
		b := must[domain.Batch](t)(f.CreateBatch(ctx, domain.Batch{ID: domain.NewID(), Tenant: tenant, Office: "SUAP", People: []string{id}}, domain.CauseUser("x")))
		if lost := must[[]string](t)(f.ClaimSubjects(ctx, tenant, b.ID, domain.CauseUser("x"))); len(lost) != 0 {
			t.Fatalf("lost %v", lost)
		}
		s := must[domain.Subject](t)(f.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: id, To: domain.PersonPending, Batch: b.ID, Cause: domain.CauseUser("x")}))
		if s.Attempts != i || s.State != domain.PersonPending {
			t.Fatalf("after failure %d: %+v", i, s)
		}
	}
}

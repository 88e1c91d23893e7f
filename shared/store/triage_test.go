package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
)

func TestTriage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	it := domain.TriageItem{Tenant: tenant, Mailbox: "protocollo@pec.comune.prato.test", MessageKey: tenant + "/pec/ab/" + strings.Repeat("ab", 32) + ".eml",
		MessageID: "<m1@x.test>", Kind: "non-pec", Reason: domain.Because(domain.ReasonOther, "not a PEC message"), Cause: domain.CausePEC("<m1@x.test>")}
	a, created, err := f.CreateTriage(ctx, it)
	if err != nil || !created || a.State != domain.TriageOpen || !domain.ValidID(a.ID) {
		t.Fatalf("create: %+v %v %v", a, created, err)
	}
	b, created, err := f.CreateTriage(ctx, it)
	if err != nil || created || b.ID != a.ID {
		t.Fatalf("create again: %+v %v %v", b, created, err)
	}
	it2 := it
	it2.MessageKey = tenant + "/pec/cd/" + strings.Repeat("cd", 32) + ".eml"
	c, _, _ := f.CreateTriage(ctx, it2)
	if open := must[[]domain.TriageItem](t)(f.ListTriage(ctx, tenant, domain.TriageOpen, 0)); len(open) != 2 || open[0].ID != c.ID {
		t.Fatalf("open: %+v", open)
	}
	q := f.queuedUpload(t, "SUAP", 1)
	_ = q
	batch := must[domain.Batch](t)(f.CreateBatch(ctx, domain.Batch{ID: domain.NewID(), Tenant: tenant, Office: "SUAP",
		People: []string{domain.SubjectID(q.ID, 2)}}, domain.CauseUser("x")))
	_, err = f.AssignTriage(ctx, tenant, a.ID, domain.NewID(), "", domain.CauseUser("p"))
	code(t, err, domain.ENOTFOUND)
	as := must[domain.TriageItem](t)(f.AssignTriage(ctx, tenant, a.ID, batch.ID, "mine", domain.CauseUser("p")))
	if as.State != domain.TriageAssigned || as.Batch != batch.ID || as.Note != "mine" {
		t.Fatalf("assigned: %+v", as)
	}
	must[domain.TriageItem](t)(f.AssignTriage(ctx, tenant, a.ID, batch.ID, "", domain.CauseUser("p")))
	_, err = f.DismissTriage(ctx, tenant, c.ID, "", domain.CauseUser("p"))
	code(t, err, domain.EINVALID)
	d := must[domain.TriageItem](t)(f.DismissTriage(ctx, tenant, c.ID, "spam", domain.CauseUser("p")))
	if d.State != domain.TriageDismissed || d.Note != "spam" {
		t.Fatalf("dismissed: %+v", d)
	}
	_, err = f.AssignTriage(ctx, tenant, c.ID, batch.ID, "", domain.CauseUser("p"))
	code(t, err, domain.ECONFLICT)
	if open := must[[]domain.TriageItem](t)(f.ListTriage(ctx, tenant, domain.TriageOpen, 0)); len(open) != 0 {
		t.Fatalf("open after closing: %+v", open)
	}
	if all := must[[]domain.TriageItem](t)(f.ListTriage(ctx, tenant, "", 0)); len(all) != 2 {
		t.Fatalf("all: %+v", all)
	}
	if got := must[domain.TriageItem](t)(f.GetTriage(ctx, tenant, a.ID)); got.State != domain.TriageAssigned {
		t.Fatalf("get: %+v", got)
	}
}

func TestMessageSeen(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sha1, sha2 := strings.Repeat("1", 64), strings.Repeat("2", 64)
	if seen := must[bool](t)(f.MessageSeen(ctx, tenant, sha1, "<a@x>")); seen {
		t.Fatal("seen before marking")
	}
	if err := f.MarkMessageSeen(ctx, tenant, sha1, "<a@x>", "k", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := f.MarkMessageSeen(ctx, tenant, sha1, "<a@x>", "k", time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ sha, id string }{{sha1, ""}, {sha2, "<a@x>"}} {
		if seen := must[bool](t)(f.MessageSeen(ctx, tenant, c.sha, c.id)); !seen {
			t.Errorf("%+v not seen", c)
		}
	}
	if seen := must[bool](t)(f.MessageSeen(ctx, tenant, sha2, "<b@x>")); seen {
		t.Error("another message seen")
	}
	// A Message-ID from outside may be longer than a DynamoDB key allows.
	long := "<" + strings.Repeat("x", 5000) + "@example.test>"
	if err := f.MarkMessageSeen(ctx, tenant, sha2, long, "k2", time.Now()); err != nil {
		t.Fatalf("long Message-ID: %v", err)
	}
	if seen := must[bool](t)(f.MessageSeen(ctx, tenant, strings.Repeat("3", 64), long)); !seen {
		t.Error("long Message-ID not seen")
	}
}

func TestBatchByProtocol(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	q := f.queuedUpload(t, "SUAP", 1)
	b := must[domain.Batch](t)(f.CreateBatch(ctx, domain.Batch{ID: domain.NewID(), Tenant: tenant, Office: "SUAP",
		People: []string{domain.SubjectID(q.ID, 2)}}, domain.CauseUser("x")))
	b = must[domain.Batch](t)(f.RegisterProtocol(ctx, domain.ProtocolRequest{Tenant: tenant, AOO: "AOO1", Registry: "PG", Batch: b.ID,
		Date: domain.Date{Year: 2026, Month: 11, Day: 25}, Cause: domain.CauseUser("x")}))
	for _, n := range []string{b.Protocol.Number, strings.TrimLeft(b.Protocol.Number, "0")} {
		got := must[domain.Batch](t)(f.BatchByProtocol(ctx, tenant, "AOO1", "PG", 2026, n))
		if got.ID != b.ID {
			t.Fatalf("%s: %s", n, got.ID)
		}
	}
	_, err := f.BatchByProtocol(ctx, tenant, "AOO1", "PG", 2025, b.Protocol.Number)
	code(t, err, domain.ENOTFOUND)
	_, err = f.BatchByProtocol(ctx, tenant, "AOO1", "PG", 2026, "99999")
	code(t, err, domain.ENOTFOUND)
}

package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
)

var stateCases = []Case{
	{"leases", testLeases},
	{"mailbox cursor", testCursor},
	{"message attempts", testMessageAttempts},
	{"values are copies", testCopies},
}

var triageCases = []Case{
	{"triage", testTriage},
	{"messages seen", testMessageSeen},
}

func testLeases(t *testing.T, f *Fixture) {
	l := must[domain.Lease](t)(f.AcquireLease(ctx, tenant, "send:SUAP", "a", time.Minute))
	if l.Token != 1 || l.Owner != "a" || l.Tenant != tenant || l.Name != "send:SUAP" || !l.Expires.Equal(f.last().Add(time.Minute)) {
		t.Fatalf("acquired %+v", l)
	}
	_, err := f.AcquireLease(ctx, tenant, "send:SUAP", "b", time.Minute)
	code(t, err, domain.ECONFLICT)
	if o := must[domain.Lease](t)(f.AcquireLease(ctx, other, "send:SUAP", "b", time.Minute)); o.Token != 1 {
		t.Fatal("tenants share leases")
	}
	again := must[domain.Lease](t)(f.AcquireLease(ctx, tenant, "send:SUAP", "a", time.Minute))
	if again.Token != l.Token+1 {
		t.Fatalf("token %d after %d", again.Token, l.Token)
	}
	_, err = f.RenewLease(ctx, l, time.Minute) // stale token
	code(t, err, domain.ECONFLICT)
	renewed := must[domain.Lease](t)(f.RenewLease(ctx, again, 2*time.Minute))
	if renewed.Token != again.Token || !renewed.Expires.Equal(f.last().Add(2*time.Minute)) {
		t.Fatalf("renewed %+v", renewed)
	}
	_, err = f.AcquireLease(ctx, tenant, "send:SUAP", "b", time.Minute)
	code(t, err, domain.ECONFLICT)
	f.Advance(3 * time.Minute) // expired
	b := must[domain.Lease](t)(f.AcquireLease(ctx, tenant, "send:SUAP", "b", time.Minute))
	if b.Token != renewed.Token+1 {
		t.Fatalf("taken over with token %d after %d", b.Token, renewed.Token)
	}
	_, err = f.RenewLease(ctx, renewed, time.Minute) // lost to b
	code(t, err, domain.ECONFLICT)
	if err := f.ReleaseLease(ctx, renewed); err != nil { // no longer ours: no-op
		t.Fatal(err)
	}
	_, err = f.AcquireLease(ctx, tenant, "send:SUAP", "a", time.Minute)
	code(t, err, domain.ECONFLICT) // b still holds it
	if err := f.ReleaseLease(ctx, b); err != nil {
		t.Fatal(err)
	}
	_, err = f.RenewLease(ctx, b, time.Minute) // released
	code(t, err, domain.ECONFLICT)
	must[domain.Lease](t)(f.AcquireLease(ctx, tenant, "send:SUAP", "a", time.Minute))
	// An expired lease nobody took is still its holder's to renew.
	f.Advance(5 * time.Minute)
	mine := must[domain.Lease](t)(f.AcquireLease(ctx, tenant, "poll", "c", time.Minute))
	f.Advance(5 * time.Minute)
	must[domain.Lease](t)(f.RenewLease(ctx, mine, time.Minute))
}

func testCursor(t *testing.T, f *Fixture) {
	c := must[domain.MailboxCursor](t)(f.Cursor(ctx, tenant, "Protocollo@pec.comune.prato.test"))
	if c.Version != 0 || c.UIDValidity != 0 || c.LastUID != 0 || c.Mailbox != "protocollo@pec.comune.prato.test" || c.Tenant != tenant {
		t.Fatal(c)
	}
	c.UIDValidity, c.LastUID = 7, 10
	c = must[domain.MailboxCursor](t)(f.SaveCursor(ctx, c))
	if c.Version != 1 || c.UpdatedAt.IsZero() {
		t.Fatalf("saved %+v", c)
	}
	stale := c
	c.LastUID = 12
	c = must[domain.MailboxCursor](t)(f.SaveCursor(ctx, c))
	stale.LastUID = 11
	_, err := f.SaveCursor(ctx, stale)
	code(t, err, domain.ECONFLICT)
	same := must[domain.MailboxCursor](t)(f.SaveCursor(ctx, c)) // the same UID again is not going back
	back := same
	back.LastUID = 5
	_, err = f.SaveCursor(ctx, back)
	code(t, err, domain.ECONFLICT)
	back.UIDValidity = 8 // mailbox recreated: starting over is allowed
	must[domain.MailboxCursor](t)(f.SaveCursor(ctx, back))
	got := must[domain.MailboxCursor](t)(f.Cursor(ctx, tenant, "PROTOCOLLO@pec.comune.prato.test"))
	if got.UIDValidity != 8 || got.LastUID != 5 || got.Version != 4 || got.Mailbox != "protocollo@pec.comune.prato.test" {
		t.Fatalf("%+v", got)
	}
	if o := must[domain.MailboxCursor](t)(f.Cursor(ctx, other, "protocollo@pec.comune.prato.test")); o.Version != 0 {
		t.Fatalf("another tenant's cursor: %+v", o)
	}
	_, err = f.SaveCursor(ctx, domain.MailboxCursor{Tenant: tenant, Mailbox: "protocollo@pec.comune.prato.test", UIDValidity: 9})
	code(t, err, domain.ECONFLICT) // version 0: only for a cursor never saved
}

func testMessageAttempts(t *testing.T, f *Fixture) {
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
	for _, o := range []domain.AttemptKey{
		{Tenant: tenant, Mailbox: "protocollo@pec.test", UIDValidity: 8, UID: 42},
		{Tenant: tenant, Mailbox: "protocollo@pec.test", UIDValidity: 7, UID: 43},
		{Tenant: tenant, Mailbox: "altro@pec.test", UIDValidity: 7, UID: 42},
		{Tenant: other, Mailbox: "protocollo@pec.test", UIDValidity: 7, UID: 42},
	} {
		if got := must[domain.MessageAttempts](t)(f.BeginAttempt(ctx, o)); got.Count != 1 || got.LastFailure != "" {
			t.Fatalf("%+v shares the count: %+v", o, got)
		}
	}
	// A failure recorded before any attempt counts none; a long one is cut.
	fresh := domain.AttemptKey{Tenant: tenant, Mailbox: "protocollo@pec.test", UIDValidity: 7, UID: 99}
	if err := f.FailAttempt(ctx, fresh, strings.Repeat("è", 600)); err != nil {
		t.Fatal(err)
	}
	if got := must[domain.MessageAttempts](t)(f.BeginAttempt(ctx, fresh)); got.Count != 1 || len(got.LastFailure) != 1000 {
		t.Fatalf("after a failure alone: count %d, failure of %d bytes", got.Count, len(got.LastFailure))
	}
}

// Values handed in and out are copies: changing them changes nothing stored.
func testCopies(t *testing.T, f *Fixture) {
	u := f.queuedUpload(t, "SUAP", 2)
	people := []string{domain.SubjectID(u.ID, 2), domain.SubjectID(u.ID, 3)}
	in := domain.Batch{ID: domain.NewID(), Tenant: tenant, Office: "SUAP", People: slices.Clone(people)}
	b := must[domain.Batch](t)(f.CreateBatch(ctx, in, domain.CauseUser("x")))
	in.People[0] = "changed"
	b.People[1] = "changed"
	if got := must[domain.Batch](t)(f.GetBatch(ctx, tenant, b.ID)); got.People[0] != domain.SubjectID(u.ID, 2) || got.People[1] != domain.SubjectID(u.ID, 3) {
		t.Fatalf("batch people aliased: %v", got.People)
	}
	if got := must[[]domain.Batch](t)(f.ListBatches(ctx, tenant, "SUAP", nil, 0)); got[0].People[1] != domain.SubjectID(u.ID, 3) {
		t.Fatalf("listed people: %v", got[0].People)
	}

	p := &domain.Protocol{Number: "0000555", Date: day}
	id := domain.NewID()
	up := must[domain.Upload](t)(f.CreateUpload(ctx, domain.Upload{ID: id, Tenant: tenant, Office: "SUAP", Key: "k", SHA256: sha, Protocol: p}, domain.CauseUser("x")))
	p.Number = "0000666"
	up.Protocol.Number = "0000777"
	if got := must[domain.Upload](t)(f.GetUpload(ctx, tenant, id)); got.Protocol.Number != "0000555" {
		t.Fatalf("upload protocol aliased: %+v", got.Protocol)
	}

	f2 := must[domain.Batch](t)(f.CreateBatch(ctx, domain.Batch{ID: domain.NewID(), Tenant: tenant, Office: "SUAP", People: people}, domain.CauseUser("x")))
	must[[]string](t)(f.ClaimSubjects(ctx, tenant, f2.ID, domain.CauseUser("x")))
	cert := certificate(f, sha)
	s := must[domain.Subject](t)(f.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: people[0], Batch: f2.ID, To: domain.PersonFailed,
		Reason: domain.Because(domain.ReasonOther, "x"), Cause: domain.CauseUser("x")}))
	s.Reason.Detail = "changed"
	_ = must[domain.Subject](t)(f.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: people[1], Batch: f2.ID, To: domain.PersonCertified,
		Certificate: cert, Cause: domain.CauseUser("x")}))
	cert.SHA256 = "changed"
	c := must[domain.Subject](t)(f.AddCandidate(ctx, tenant, people[1], *certificate(f, sha2), domain.CauseUser("x")))
	c.Certificate.SHA256 = "changed"
	c.Candidates[0].SHA256 = "changed"
	got := must[domain.Subject](t)(f.GetSubject(ctx, tenant, people[1]))
	if got.Certificate.SHA256 != sha || got.Candidates[0].SHA256 != sha2 {
		t.Fatalf("certificates aliased: %+v %+v", got.Certificate, got.Candidates)
	}
	if subs := must[[]domain.Subject](t)(f.SubjectsOfBatch(ctx, tenant, f2.ID)); subs[0].Reason.Detail != "x" {
		t.Fatalf("reason aliased: %+v", subs[0].Reason)
	}

	facts := domain.TriageFacts{Subject: "x", References: []domain.QuotedRef{{Reference: "0000001", Date: day}}, Files: []domain.AttachedFile{{Name: "a.pdf"}}}
	it, _, err := f.CreateTriage(ctx, domain.TriageItem{Tenant: tenant, MessageKey: tenant + "/pec/copies.eml", Kind: "non-pec",
		Reason: domain.Because(domain.ReasonNotPEC, "x"), Facts: facts})
	if err != nil {
		t.Fatal(err)
	}
	facts.References[0].Reference = "changed"
	it.Facts.Files[0].Name = "changed"
	back := must[domain.TriageItem](t)(f.GetTriage(ctx, tenant, it.ID))
	if back.Facts.References[0].Reference != "0000001" || back.Facts.Files[0].Name != "a.pdf" {
		t.Fatalf("facts aliased: %+v", back.Facts)
	}
}

func testTriage(t *testing.T, f *Fixture) {
	at := time.Date(2026, 3, 1, 8, 0, 0, 1500, time.UTC)
	facts := domain.TriageFacts{Sender: "procura@pec.test", SenderCertified: true, Subject: "Certificati", Signature: "valid",
		References: []domain.QuotedRef{{Reference: "CPEC-0000012", Date: day}}, Files: []domain.AttachedFile{{Name: "a.pdf", ContentType: "application/pdf", Size: 10}}}
	it := domain.TriageItem{Tenant: tenant, Mailbox: "Protocollo@pec.comune.prato.test", MessageKey: tenant + "/pec/ab/" + strings.Repeat("ab", 32) + ".eml",
		MessageID: "<m1@x.test>", Kind: "non-pec", Reason: domain.Because(domain.ReasonOther, "not a PEC message"), Cause: domain.CausePEC("<m1@x.test>"),
		CreatedAt: at, Facts: facts}
	a, created, err := f.CreateTriage(ctx, it)
	if err != nil || !created || a.State != domain.TriageOpen || !domain.ValidID(a.ID) || a.Version != 1 {
		t.Fatalf("create: %+v %v %v", a, created, err)
	}
	if a.Mailbox != "protocollo@pec.comune.prato.test" || !a.CreatedAt.Equal(at.Truncate(time.Microsecond)) || a.Facts.References[0].Reference != "CPEC-0000012" ||
		a.Facts.Files[0].Size != 10 || a.Reason != it.Reason || a.Cause != it.Cause || a.MessageID != it.MessageID {
		t.Fatalf("created %+v", a)
	}
	b, created, err := f.CreateTriage(ctx, it)
	if err != nil || created || b.ID != a.ID {
		t.Fatalf("create again: %+v %v %v", b, created, err)
	}
	it2 := it
	it2.MessageKey = tenant + "/pec/cd/" + strings.Repeat("cd", 32) + ".eml"
	it2.CreatedAt = time.Time{} // now
	c := must[domain.TriageItem](t)(func() (domain.TriageItem, error) { c, _, err := f.CreateTriage(ctx, it2); return c, err }())
	if c.ID == a.ID || c.CreatedAt.Before(f.last().Add(-time.Second)) {
		t.Fatalf("second item %+v", c)
	}
	if open := must[[]domain.TriageItem](t)(f.ListTriage(ctx, tenant, domain.TriageOpen, 0)); len(open) != 2 || open[0].ID != c.ID {
		t.Fatalf("open, newest first: %+v", open)
	}
	if one := must[[]domain.TriageItem](t)(f.ListTriage(ctx, tenant, "", 1)); len(one) != 1 || one[0].ID != c.ID {
		t.Fatalf("limit 1: %+v", one)
	}
	q := f.queuedUpload(t, "SUAP", 1)
	batch := must[domain.Batch](t)(f.CreateBatch(ctx, domain.Batch{ID: domain.NewID(), Tenant: tenant, Office: "SUAP",
		People: []string{domain.SubjectID(q.ID, 2)}}, domain.CauseUser("x")))
	as := must[domain.TriageItem](t)(f.AssignTriage(ctx, tenant, a.ID, batch.ID, "mine", domain.CauseUser("p")))
	if as.State != domain.TriageAssigned || as.Batch != batch.ID || as.Note != "mine" || as.Version != 2 || as.Cause != domain.CauseUser("p") {
		t.Fatalf("assigned: %+v", as)
	}
	if again := must[domain.TriageItem](t)(f.AssignTriage(ctx, tenant, a.ID, batch.ID, "", domain.CauseUser("p"))); again.Version != as.Version {
		t.Fatalf("assigning again wrote: %+v", again)
	}
	d := must[domain.TriageItem](t)(f.DismissTriage(ctx, tenant, c.ID, "spam", domain.CauseUser("p")))
	if d.State != domain.TriageDismissed || d.Note != "spam" {
		t.Fatalf("dismissed: %+v", d)
	}
	if again := must[domain.TriageItem](t)(f.DismissTriage(ctx, tenant, c.ID, "again", domain.CauseUser("p"))); again.Note != "spam" || again.Version != d.Version {
		t.Fatalf("dismissed again: %+v", again)
	}
	// An assigned item may still be dismissed: it keeps its batch.
	ad := must[domain.TriageItem](t)(f.DismissTriage(ctx, tenant, a.ID, "handled by hand", domain.CauseUser("p")))
	if ad.State != domain.TriageDismissed || ad.Batch != batch.ID {
		t.Fatalf("assigned, then dismissed: %+v", ad)
	}
	if open := must[[]domain.TriageItem](t)(f.ListTriage(ctx, tenant, domain.TriageOpen, 0)); len(open) != 0 {
		t.Fatalf("open after closing: %+v", open)
	}
	if all := must[[]domain.TriageItem](t)(f.ListTriage(ctx, tenant, "", 0)); len(all) != 2 {
		t.Fatalf("all: %+v", all)
	}
	if dis := must[[]domain.TriageItem](t)(f.ListTriage(ctx, tenant, domain.TriageDismissed, 0)); len(dis) != 2 {
		t.Fatalf("dismissed: %+v", dis)
	}
	if got := must[domain.TriageItem](t)(f.GetTriage(ctx, tenant, a.ID)); got.State != domain.TriageDismissed || got.Facts.Sender != facts.Sender {
		t.Fatalf("get: %+v", got)
	}
	if none := must[[]domain.TriageItem](t)(f.ListTriage(ctx, other, "", 0)); len(none) != 0 {
		t.Fatalf("another tenant's: %+v", none)
	}
}

func testMessageSeen(t *testing.T, f *Fixture) {
	sha1, shaB := strings.Repeat("1", 64), strings.Repeat("2", 64)
	if seen := must[bool](t)(f.MessageSeen(ctx, tenant, sha1, "<a@x>")); seen {
		t.Fatal("seen before marking")
	}
	for range 2 { // marking twice is harmless
		if err := f.MarkMessageSeen(ctx, tenant, sha1, "<a@x>", "k", f.Now()); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		sha, id string
		seen    bool
	}{
		{sha1, "", true},
		{strings.ToUpper(strings.Repeat("1", 64)), "", true},
		{shaB, "<a@x>", true},
		{"", "<a@x>", true},
		{shaB, "<b@x>", false},
		{shaB, "", false},
		{"not-a-sha", "", false},
	} {
		if seen := must[bool](t)(f.MessageSeen(ctx, tenant, c.sha, c.id)); seen != c.seen {
			t.Errorf("%+v: seen %v", c, seen)
		}
	}
	if seen := must[bool](t)(f.MessageSeen(ctx, other, sha1, "<a@x>")); seen {
		t.Error("seen by another tenant")
	}
	// A Message-ID from outside may be longer than a DynamoDB key allows.
	long := "<" + strings.Repeat("x", 5000) + "@example.test>"
	if err := f.MarkMessageSeen(ctx, tenant, shaB, long, "k2", f.Now()); err != nil {
		t.Fatalf("long Message-ID: %v", err)
	}
	if seen := must[bool](t)(f.MessageSeen(ctx, tenant, strings.Repeat("3", 64), long)); !seen {
		t.Error("long Message-ID not seen")
	}
	// Marked without a Message-ID: seen by content only.
	if err := f.MarkMessageSeen(ctx, tenant, strings.Repeat("4", 64), "", "k3", f.Now()); err != nil {
		t.Fatal(err)
	}
	if seen := must[bool](t)(f.MessageSeen(ctx, tenant, strings.Repeat("4", 64), "<c@x>")); !seen {
		t.Error("not seen by content")
	}
}

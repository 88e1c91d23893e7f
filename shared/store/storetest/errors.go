package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
)

// world is a store holding something of every kind, in various states, for
// the error cases.
type world struct {
	received, queued, rejected  domain.Upload
	pending, batched, certified string // subject ids of queued
	queuedB, sentB, failedB     domain.Batch
	lease                       domain.Lease
	cursor                      domain.MailboxCursor
	open, dismissed             domain.TriageItem
	manual                      domain.Protocol
}

const mbox = "protocollo@pec.comune.prato.test"

func newWorld(t *testing.T, f *Fixture) world {
	var w world
	w.received = f.receivedUpload(t, "SUAP", 1)
	w.queued = f.queuedUpload(t, "SUAP", 3)
	w.pending, w.batched, w.certified = domain.SubjectID(w.queued.ID, 2), domain.SubjectID(w.queued.ID, 3), domain.SubjectID(w.queued.ID, 4)
	id := domain.NewID()
	must[domain.Upload](t)(f.CreateUpload(ctx, domain.Upload{ID: id, Tenant: tenant, Office: "SUAP", Key: "k", SHA256: sha}, domain.CauseUser("x")))
	w.rejected = must[domain.Upload](t)(f.AdvanceUpload(ctx, tenant, id, domain.UploadRejected, nil, "", domain.Because(domain.ReasonNoRows, "empty"), domain.CauseUser("x")))
	w.sentB = f.sentBatch(t, "SUAP", w.batched, w.certified)
	must[domain.Subject](t)(f.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: w.certified, Batch: w.sentB.ID, To: domain.PersonCertified,
		Certificate: certificate(f, sha), Cause: domain.CauseUser("x")}))
	w.queuedB = must[domain.Batch](t)(f.CreateBatch(ctx, domain.Batch{ID: domain.NewID(), Tenant: tenant, Office: "SUAP", People: []string{w.pending}}, domain.CauseUser("x")))
	fb := must[domain.Batch](t)(f.CreateBatch(ctx, domain.Batch{ID: domain.NewID(), Tenant: tenant, Office: "SUAP", People: []string{w.pending}}, domain.CauseUser("x")))
	w.failedB = must[domain.Batch](t)(f.AdvanceBatch(ctx, domain.BatchChange{Tenant: tenant, ID: fb.ID, To: domain.BatchFailed,
		Reason: domain.Because(domain.ReasonNoPeopleLeft, "x"), Cause: domain.CauseUser("x")}))
	w.lease = must[domain.Lease](t)(f.AcquireLease(ctx, tenant, "dispatch-SUAP", "a", time.Hour))
	w.cursor = must[domain.MailboxCursor](t)(f.SaveCursor(ctx, domain.MailboxCursor{Tenant: tenant, Mailbox: mbox, UIDValidity: 7, LastUID: 10}))
	mk := func(key string) domain.TriageItem {
		it, _, err := f.CreateTriage(ctx, domain.TriageItem{Tenant: tenant, Mailbox: mbox, MessageKey: tenant + "/pec/" + key + ".eml",
			Kind: "non-pec", Reason: domain.Because(domain.ReasonNotPEC, "x")})
		if err != nil {
			t.Fatal(err)
		}
		return it
	}
	w.open, w.dismissed = mk("open"), mk("dismissed")
	w.dismissed = must[domain.TriageItem](t)(f.DismissTriage(ctx, tenant, w.dismissed.ID, "spam", domain.CauseUser("p")))
	w.manual = domain.Protocol{Number: "0000778", Date: day}
	if err := f.ClaimManualProtocol(ctx, tenant, w.manual, w.queued.ID); err != nil {
		t.Fatal(err)
	}
	return w
}

// snapshot describes what the world holds, to show that failing calls
// changed nothing.
func (w world) snapshot(t *testing.T, f *Fixture) string {
	var b strings.Builder
	for _, u := range []domain.Upload{w.received, w.queued, w.rejected} {
		got := must[domain.Upload](t)(f.GetUpload(ctx, tenant, u.ID))
		subs := must[[]domain.Subject](t)(f.SubjectsOfUpload(ctx, tenant, u.ID))
		evs := must[[]domain.Event](t)(f.Events(ctx, tenant, u.ID))
		fmt.Fprintf(&b, "upload %s v%d %s %d subjects %d events\n", got.ID, got.Version, got.State, len(subs), len(evs))
		for _, s := range subs {
			fmt.Fprintf(&b, "  subject %s v%d %s %s %d candidates\n", s.ID, s.Version, s.State, s.Batch, len(s.Candidates))
		}
	}
	for _, id := range []string{w.queuedB.ID, w.sentB.ID, w.failedB.ID} {
		got := must[domain.Batch](t)(f.GetBatch(ctx, tenant, id))
		evs := must[[]domain.Event](t)(f.Events(ctx, tenant, id))
		fmt.Fprintf(&b, "batch %s v%d %s %s %s %v %d sends %d events\n", got.ID, got.Version, got.State, got.Protocol.Number, got.MessageID, got.People, got.SendAttempts, len(evs))
	}
	for _, id := range []string{w.open.ID, w.dismissed.ID} {
		got := must[domain.TriageItem](t)(f.GetTriage(ctx, tenant, id))
		fmt.Fprintf(&b, "triage %s v%d %s %q\n", got.ID, got.Version, got.State, got.Note)
	}
	c := must[domain.MailboxCursor](t)(f.Cursor(ctx, tenant, mbox))
	fmt.Fprintf(&b, "cursor v%d %d/%d\n", c.Version, c.UIDValidity, c.LastUID)
	pending := must[[]domain.Subject](t)(f.PendingSubjects(ctx, tenant, "SUAP", 100))
	fmt.Fprintf(&b, "pending %d\n", len(pending))
	return b.String()
}

type errCase struct {
	name string
	call func(w world) error
	code string
}

func e1[T any](_ T, err error) error { return err }

func e2[T any](_ T, _ bool, err error) error { return err }

// testErrors: every error of the contract, each changing nothing.
func testErrors(t *testing.T, f *Fixture) {
	w := newWorld(t, f)
	before := w.snapshot(t, f)
	user, pecCause := domain.CauseUser("x"), domain.CausePEC("<m@x.test>")
	upload := func(mod func(*domain.Upload)) domain.Upload {
		u := domain.Upload{ID: domain.NewID(), Tenant: tenant, Office: "SUAP", Key: "k", SHA256: sha}
		mod(&u)
		return u
	}
	otherVersion := w.received
	otherVersion.ObjectVersion = "v2"
	otherObject := w.received
	otherObject.Key += ".bak"
	other2 := w.queued
	other2.Office = "CONTRATTI"
	cert := certificate(f, sha2)
	fail := domain.Because(domain.ReasonOther, "x")
	unknown := domain.NewID()
	batchOf := func(mod func(*domain.Batch)) domain.Batch {
		b := domain.Batch{ID: domain.NewID(), Tenant: tenant, Office: "SUAP", People: []string{w.pending}}
		mod(&b)
		return b
	}
	change := func(id string, mod func(*domain.BatchChange)) domain.BatchChange {
		c := domain.BatchChange{Tenant: tenant, ID: id, Cause: user}
		mod(&c)
		return c
	}
	reg := func(mod func(*domain.ProtocolRequest)) domain.ProtocolRequest {
		r := domain.ProtocolRequest{Tenant: tenant, AOO: "AOO1", Registry: "PG", Batch: w.queuedB.ID, Date: day, Cause: user}
		mod(&r)
		return r
	}
	cursor := func(mod func(*domain.MailboxCursor)) domain.MailboxCursor {
		c := w.cursor
		mod(&c)
		return c
	}
	event := func(mod func(*domain.Event)) domain.Event {
		e := domain.Event{Tenant: tenant, Subject: w.queued.ID, At: f.Now(), State: "note", Detail: "x", Cause: user}
		mod(&e)
		return e
	}
	attempt := domain.AttemptKey{Tenant: tenant, Mailbox: mbox, UIDValidity: 7, UID: 1}
	triage := func(mod func(*domain.TriageItem)) domain.TriageItem {
		it := domain.TriageItem{Tenant: tenant, MessageKey: tenant + "/pec/new.eml", Kind: "non-pec", Reason: domain.Because(domain.ReasonNotPEC, "x")}
		mod(&it)
		return it
	}
	cases := []errCase{
		// uploads
		{"create upload: bad tenant", func(w world) error {
			return e1(f.CreateUpload(ctx, upload(func(u *domain.Upload) { u.Tenant = "c g999" }), user))
		}, domain.EINVALID},
		{"create upload: bad office", func(w world) error {
			return e1(f.CreateUpload(ctx, upload(func(u *domain.Upload) { u.Office = "SU/AP" }), user))
		}, domain.EINVALID},
		{"create upload: bad id", func(w world) error {
			return e1(f.CreateUpload(ctx, upload(func(u *domain.Upload) { u.ID = "upload-1" }), user))
		}, domain.EINVALID},
		{"create upload: bad cause", func(w world) error { return e1(f.CreateUpload(ctx, upload(func(*domain.Upload) {}), "intake")) }, domain.EINVALID},
		{"create upload: no key", func(w world) error {
			return e1(f.CreateUpload(ctx, upload(func(u *domain.Upload) { u.Key = "" }), user))
		}, domain.EINVALID},
		{"create upload: upper-case SHA-256", func(w world) error {
			return e1(f.CreateUpload(ctx, upload(func(u *domain.Upload) { u.SHA256 = strings.ToUpper(strings.Repeat("ab", 32)) }), user))
		}, domain.EINVALID},
		{"create upload: short manual number", func(w world) error {
			return e1(f.CreateUpload(ctx, upload(func(u *domain.Upload) { u.Protocol = &domain.Protocol{Number: "12", Date: day} }), user))
		}, domain.EINVALID},
		{"create upload: manual number without date", func(w world) error {
			return e1(f.CreateUpload(ctx, upload(func(u *domain.Upload) { u.Protocol = &domain.Protocol{Number: "0000012"} }), user))
		}, domain.EINVALID},
		{"create upload: same id, another version", func(w world) error { return e1(f.CreateUpload(ctx, otherVersion, user)) }, domain.ECONFLICT},
		{"create upload: same id, another object", func(w world) error { return e1(f.CreateUpload(ctx, otherObject, user)) }, domain.ECONFLICT},
		{"create upload: same id, another office", func(w world) error { return e1(f.CreateUpload(ctx, other2, user)) }, domain.ECONFLICT},
		{"get upload: unknown", func(w world) error { return e1(f.GetUpload(ctx, tenant, unknown)) }, domain.ENOTFOUND},
		{"get upload: malformed id", func(w world) error { return e1(f.GetUpload(ctx, tenant, "../x")) }, domain.ENOTFOUND},
		{"get upload: another tenant's", func(w world) error { return e1(f.GetUpload(ctx, other, w.queued.ID)) }, domain.ENOTFOUND},
		{"get upload: bad tenant", func(w world) error { return e1(f.GetUpload(ctx, "", w.queued.ID)) }, domain.EINVALID},
		{"list uploads: bad office", func(w world) error { return e1(f.ListUploads(ctx, tenant, "", 10)) }, domain.EINVALID},
		{"list uploads: bad tenant", func(w world) error { return e1(f.ListUploads(ctx, "c#g999", "SUAP", 10)) }, domain.EINVALID},
		{"received uploads: bad tenant", func(w world) error { return e1(f.ReceivedUploads(ctx, "bad tenant", 1)) }, domain.EINVALID},
		{"put subjects: queued upload", func(w world) error { return f.PutSubjects(ctx, tenant, w.queued.ID, []domain.Subject{{Row: 2}}) }, domain.ECONFLICT},
		{"put subjects: rejected upload", func(w world) error { return f.PutSubjects(ctx, tenant, w.rejected.ID, []domain.Subject{{Row: 2}}) }, domain.ECONFLICT},
		{"put subjects: unknown upload", func(w world) error { return f.PutSubjects(ctx, tenant, unknown, []domain.Subject{{Row: 2}}) }, domain.ENOTFOUND},
		{"put subjects: row 0", func(w world) error { return f.PutSubjects(ctx, tenant, w.received.ID, []domain.Subject{{Row: 0}}) }, domain.EINVALID},
		{"put subjects: repeated row", func(w world) error {
			return f.PutSubjects(ctx, tenant, w.received.ID, []domain.Subject{{Row: 5}, {Row: 6}, {Row: 5}})
		}, domain.EINVALID},
		{"advance upload: received to completed", func(w world) error {
			return e1(f.AdvanceUpload(ctx, tenant, w.received.ID, domain.UploadCompleted, nil, "", domain.Reason{}, user))
		}, domain.ECONFLICT},
		{"advance upload: rejected to queued", func(w world) error {
			return e1(f.AdvanceUpload(ctx, tenant, w.rejected.ID, domain.UploadQueued, nil, "", domain.Reason{}, user))
		}, domain.ECONFLICT},
		{"advance upload: queued to rejected", func(w world) error {
			return e1(f.AdvanceUpload(ctx, tenant, w.queued.ID, domain.UploadRejected, nil, "", domain.Because(domain.ReasonNoRows, ""), user))
		}, domain.ECONFLICT},
		{"advance upload: reject without reason", func(w world) error {
			return e1(f.AdvanceUpload(ctx, tenant, w.received.ID, domain.UploadRejected, nil, "", domain.Reason{Detail: "why"}, user))
		}, domain.EINVALID},
		{"advance upload: unknown", func(w world) error {
			return e1(f.AdvanceUpload(ctx, tenant, unknown, domain.UploadQueued, nil, "", domain.Reason{}, user))
		}, domain.ENOTFOUND},
		{"advance upload: bad cause", func(w world) error {
			return e1(f.AdvanceUpload(ctx, tenant, w.received.ID, domain.UploadQueued, nil, "", domain.Reason{}, "user:"))
		}, domain.EINVALID},
		{"get subject: unknown row", func(w world) error { return e1(f.GetSubject(ctx, tenant, domain.SubjectID(w.queued.ID, 99))) }, domain.ENOTFOUND},
		{"get subject: malformed id", func(w world) error { return e1(f.GetSubject(ctx, tenant, "nobody")) }, domain.ENOTFOUND},
		{"get subject: another tenant's", func(w world) error { return e1(f.GetSubject(ctx, other, w.pending)) }, domain.ENOTFOUND},
		{"subjects of upload: unknown", func(w world) error { return e1(f.SubjectsOfUpload(ctx, tenant, unknown)) }, domain.ENOTFOUND},
		{"pending subjects: no limit", func(w world) error { return e1(f.PendingSubjects(ctx, tenant, "SUAP", 0)) }, domain.EINVALID},
		{"pending subjects: bad office", func(w world) error { return e1(f.PendingSubjects(ctx, tenant, "SU AP", 10)) }, domain.EINVALID},
		{"advance subject: batched without batch", func(w world) error {
			return e1(f.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: w.pending, To: domain.PersonBatched, Cause: user}))
		}, domain.EINVALID},
		{"advance subject: certified without certificate", func(w world) error {
			return e1(f.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: w.batched, To: domain.PersonCertified, Cause: pecCause}))
		}, domain.EINVALID},
		{"advance subject: certificate without SHA-256", func(w world) error {
			return e1(f.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: w.batched, To: domain.PersonCertified, Certificate: &domain.Certificate{Key: "k"}, Cause: pecCause}))
		}, domain.EINVALID},
		{"advance subject: failed without reason", func(w world) error {
			return e1(f.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: w.batched, To: domain.PersonFailed, Cause: pecCause}))
		}, domain.EINVALID},
		{"advance subject: bad cause", func(w world) error {
			return e1(f.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: w.batched, To: domain.PersonFailed, Reason: fail}))
		}, domain.EINVALID},
		{"advance subject: unknown", func(w world) error {
			return e1(f.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: domain.SubjectID(w.queued.ID, 99), To: domain.PersonFailed, Reason: fail, Cause: user}))
		}, domain.ENOTFOUND},
		{"advance subject: another batch's person", func(w world) error {
			return e1(f.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: w.batched, Batch: w.queuedB.ID, To: domain.PersonCertified, Certificate: cert, Cause: pecCause}))
		}, domain.ECONFLICT},
		{"advance subject: certified to failed", func(w world) error {
			return e1(f.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: w.certified, To: domain.PersonFailed, Reason: fail, Cause: user}))
		}, domain.ECONFLICT},
		{"advance subject: certified to pending", func(w world) error {
			return e1(f.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: w.certified, To: domain.PersonPending, Cause: user}))
		}, domain.ECONFLICT},
		{"advance subject: pending to certified", func(w world) error {
			return e1(f.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: w.pending, To: domain.PersonCertified, Certificate: cert, Cause: pecCause}))
		}, domain.ECONFLICT},
		{"advance subject: batched into another batch", func(w world) error {
			return e1(f.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: w.batched, To: domain.PersonBatched, Batch: w.queuedB.ID, Cause: user}))
		}, domain.ECONFLICT},
		{"manual protocol: taken", func(w world) error { return f.ClaimManualProtocol(ctx, tenant, w.manual, w.received.ID) }, domain.ECONFLICT},
		{"manual protocol: short number", func(w world) error {
			return f.ClaimManualProtocol(ctx, tenant, domain.Protocol{Number: "778", Date: day}, w.received.ID)
		}, domain.EINVALID},
		{"manual protocol: no date", func(w world) error {
			return f.ClaimManualProtocol(ctx, tenant, domain.Protocol{Number: "0000779"}, w.received.ID)
		}, domain.EINVALID},
		{"manual protocol: bad upload id", func(w world) error {
			return f.ClaimManualProtocol(ctx, tenant, domain.Protocol{Number: "0000779", Date: day}, "x")
		}, domain.EINVALID},
		{"add candidate: not certified", func(w world) error { return e1(f.AddCandidate(ctx, tenant, w.batched, *cert, pecCause)) }, domain.ECONFLICT},
		{"add candidate: no SHA-256", func(w world) error {
			return e1(f.AddCandidate(ctx, tenant, w.certified, domain.Certificate{Key: "k"}, pecCause))
		}, domain.EINVALID},
		{"add candidate: unknown person", func(w world) error {
			return e1(f.AddCandidate(ctx, tenant, domain.SubjectID(w.queued.ID, 99), *cert, pecCause))
		}, domain.ENOTFOUND},
		{"add candidate: bad cause", func(w world) error { return e1(f.AddCandidate(ctx, tenant, w.certified, *cert, "")) }, domain.EINVALID},
		{"choose certificate: unknown SHA-256", func(w world) error {
			return e1(f.ChooseCertificate(ctx, tenant, w.certified, sha2, "", user))
		}, domain.ENOTFOUND},
		{"choose certificate: not certified", func(w world) error {
			return e1(f.ChooseCertificate(ctx, tenant, w.pending, sha, "", user))
		}, domain.ECONFLICT},
		{"choose certificate: unknown person", func(w world) error {
			return e1(f.ChooseCertificate(ctx, tenant, domain.SubjectID(unknown, 2), sha, "", user))
		}, domain.ENOTFOUND},

		// batches
		{"create batch: nobody", func(w world) error {
			return e1(f.CreateBatch(ctx, batchOf(func(b *domain.Batch) { b.People = nil }), user))
		}, domain.EINVALID},
		{"create batch: too many", func(w world) error {
			return e1(f.CreateBatch(ctx, batchOf(func(b *domain.Batch) { b.People = make([]string, 5001) }), user))
		}, domain.EINVALID},
		{"create batch: malformed person", func(w world) error {
			return e1(f.CreateBatch(ctx, batchOf(func(b *domain.Batch) { b.People = []string{"x-2"} }), user))
		}, domain.EINVALID},
		{"create batch: bad id", func(w world) error {
			return e1(f.CreateBatch(ctx, batchOf(func(b *domain.Batch) { b.ID = "b1" }), user))
		}, domain.EINVALID},
		{"create batch: bad office", func(w world) error {
			return e1(f.CreateBatch(ctx, batchOf(func(b *domain.Batch) { b.Office = "" }), user))
		}, domain.EINVALID},
		{"create batch: bad cause", func(w world) error { return e1(f.CreateBatch(ctx, batchOf(func(*domain.Batch) {}), "schedule:")) }, domain.EINVALID},
		{"create batch: same id, other people", func(w world) error {
			return e1(f.CreateBatch(ctx, batchOf(func(b *domain.Batch) { b.ID = w.sentB.ID }), user))
		}, domain.ECONFLICT},
		{"create batch: same id, another office", func(w world) error {
			return e1(f.CreateBatch(ctx, batchOf(func(b *domain.Batch) { b.ID, b.Office = w.queuedB.ID, "CONTRATTI" }), user))
		}, domain.ECONFLICT},
		{"get batch: unknown", func(w world) error { return e1(f.GetBatch(ctx, tenant, unknown)) }, domain.ENOTFOUND},
		{"get batch: malformed id", func(w world) error { return e1(f.GetBatch(ctx, tenant, "xyz")) }, domain.ENOTFOUND},
		{"get batch: another tenant's", func(w world) error { return e1(f.GetBatch(ctx, other, w.sentB.ID)) }, domain.ENOTFOUND},
		{"list batches: bad office", func(w world) error { return e1(f.ListBatches(ctx, tenant, "#", nil, 0)) }, domain.EINVALID},
		{"list batches: bad tenant", func(w world) error { return e1(f.ListBatches(ctx, "", "", nil, 0)) }, domain.EINVALID},
		{"claim subjects: sent batch", func(w world) error { return e1(f.ClaimSubjects(ctx, tenant, w.sentB.ID, user)) }, domain.ECONFLICT},
		{"claim subjects: failed batch", func(w world) error { return e1(f.ClaimSubjects(ctx, tenant, w.failedB.ID, user)) }, domain.ECONFLICT},
		{"claim subjects: unknown batch", func(w world) error { return e1(f.ClaimSubjects(ctx, tenant, unknown, user)) }, domain.ENOTFOUND},
		{"claim subjects: bad cause", func(w world) error { return e1(f.ClaimSubjects(ctx, tenant, w.queuedB.ID, "x")) }, domain.EINVALID},
		{"subjects of batch: unknown", func(w world) error { return e1(f.SubjectsOfBatch(ctx, tenant, unknown)) }, domain.ENOTFOUND},
		{"advance batch: back to queued", func(w world) error {
			return e1(f.AdvanceBatch(ctx, change(w.sentB.ID, func(c *domain.BatchChange) { c.To = domain.BatchQueued })))
		}, domain.ECONFLICT},
		{"advance batch: failed to sent", func(w world) error {
			return e1(f.AdvanceBatch(ctx, change(w.failedB.ID, func(c *domain.BatchChange) { c.To = domain.BatchSent })))
		}, domain.ECONFLICT},
		{"advance batch: fail with an unknown reason code", func(w world) error {
			return e1(f.AdvanceBatch(ctx, change(w.sentB.ID, func(c *domain.BatchChange) { c.To, c.Reason = domain.BatchFailed, domain.Because("nope", "x") })))
		}, domain.EINVALID},
		{"advance batch: queued to sent", func(w world) error {
			return e1(f.AdvanceBatch(ctx, change(w.queuedB.ID, func(c *domain.BatchChange) { c.To = domain.BatchSent })))
		}, domain.ECONFLICT},
		{"advance batch: queued to sent with a Message-ID only", func(w world) error {
			return e1(f.AdvanceBatch(ctx, change(w.queuedB.ID, func(c *domain.BatchChange) { c.To, c.MessageID = domain.BatchSent, "<new@x.test>" })))
		}, domain.ECONFLICT},
		{"advance batch: registered as another number", func(w world) error {
			return e1(f.AdvanceBatch(ctx, change(w.sentB.ID, func(c *domain.BatchChange) {
				c.To, c.Protocol = domain.BatchAccepted, domain.Protocol{Number: "0000099", Date: day}
			})))
		}, domain.ECONFLICT},
		{"advance batch: another Message-ID", func(w world) error {
			return e1(f.AdvanceBatch(ctx, change(w.sentB.ID, func(c *domain.BatchChange) { c.To, c.MessageID = domain.BatchAccepted, "<other@x.test>" })))
		}, domain.ECONFLICT},
		{"advance batch: same state, another Message-ID", func(w world) error {
			return e1(f.AdvanceBatch(ctx, change(w.sentB.ID, func(c *domain.BatchChange) { c.To, c.MessageID = domain.BatchSent, "<other@x.test>" })))
		}, domain.ECONFLICT},
		{"advance batch: same state, another number", func(w world) error {
			return e1(f.AdvanceBatch(ctx, change(w.sentB.ID, func(c *domain.BatchChange) {
				c.To, c.Protocol = domain.BatchSent, domain.Protocol{Number: "0000099", Date: day}
			})))
		}, domain.ECONFLICT},
		{"advance batch: stale version", func(w world) error {
			return e1(f.AdvanceBatch(ctx, change(w.sentB.ID, func(c *domain.BatchChange) { c.To, c.Version = domain.BatchAccepted, w.sentB.Version-1 })))
		}, domain.ECONFLICT},
		{"advance batch: wrong from", func(w world) error {
			return e1(f.AdvanceBatch(ctx, change(w.sentB.ID, func(c *domain.BatchChange) { c.To, c.From = domain.BatchAccepted, domain.BatchProtocolled })))
		}, domain.ECONFLICT},
		{"advance batch: malformed Message-ID", func(w world) error {
			return e1(f.AdvanceBatch(ctx, change(w.sentB.ID, func(c *domain.BatchChange) { c.To, c.MessageID = domain.BatchAccepted, "<a b@x>" })))
		}, domain.EINVALID},
		{"advance batch: unknown", func(w world) error {
			return e1(f.AdvanceBatch(ctx, change(unknown, func(c *domain.BatchChange) { c.To = domain.BatchAccepted })))
		}, domain.ENOTFOUND},
		{"register: failed batch", func(w world) error {
			return e1(f.RegisterProtocol(ctx, reg(func(r *domain.ProtocolRequest) { r.Batch = w.failedB.ID })))
		}, domain.ECONFLICT},
		{"register: unknown batch", func(w world) error {
			return e1(f.RegisterProtocol(ctx, reg(func(r *domain.ProtocolRequest) { r.Batch = unknown })))
		}, domain.ENOTFOUND},
		{"register: bad AOO", func(w world) error {
			return e1(f.RegisterProtocol(ctx, reg(func(r *domain.ProtocolRequest) { r.AOO = "A O" })))
		}, domain.EINVALID},
		{"register: bad registry", func(w world) error {
			return e1(f.RegisterProtocol(ctx, reg(func(r *domain.ProtocolRequest) { r.Registry = strings.Repeat("R", 17) })))
		}, domain.EINVALID},
		{"register: no date", func(w world) error {
			return e1(f.RegisterProtocol(ctx, reg(func(r *domain.ProtocolRequest) { r.Date = domain.Date{} })))
		}, domain.EINVALID},
		{"register: bad cause", func(w world) error {
			return e1(f.RegisterProtocol(ctx, reg(func(r *domain.ProtocolRequest) { r.Cause = "" })))
		}, domain.EINVALID},
		{"set Message-ID: malformed", func(w world) error { return e1(f.SetMessageID(ctx, tenant, w.queuedB.ID, "m@x.test")) }, domain.EINVALID},
		{"set Message-ID: another one", func(w world) error { return e1(f.SetMessageID(ctx, tenant, w.sentB.ID, "<other@x.test>")) }, domain.ECONFLICT},
		{"set Message-ID: another batch's", func(w world) error { return e1(f.SetMessageID(ctx, tenant, w.queuedB.ID, w.sentB.MessageID)) }, domain.ECONFLICT},
		{"set Message-ID: failed batch", func(w world) error { return e1(f.SetMessageID(ctx, tenant, w.failedB.ID, "<new@x.test>")) }, domain.ECONFLICT},
		{"set Message-ID: unknown batch", func(w world) error { return e1(f.SetMessageID(ctx, tenant, unknown, "<new@x.test>")) }, domain.ENOTFOUND},
		{"batch by Message-ID: unknown", func(w world) error { return e1(f.BatchByMessageID(ctx, tenant, "<unknown@x.test>")) }, domain.ENOTFOUND},
		{"batch by Message-ID: another tenant's", func(w world) error { return e1(f.BatchByMessageID(ctx, other, w.sentB.MessageID)) }, domain.ENOTFOUND},
		{"batch by protocol: not a number", func(w world) error { return e1(f.BatchByProtocol(ctx, tenant, "AOO1", "PG", 2026, "n.1")) }, domain.EINVALID},
		{"batch by protocol: unknown", func(w world) error { return e1(f.BatchByProtocol(ctx, tenant, "AOO1", "PG", 2026, "0000042")) }, domain.ENOTFOUND},
		{"record send: queued batch", func(w world) error { return e1(f.RecordSendAttempt(ctx, tenant, w.queuedB.ID, f.Now())) }, domain.ECONFLICT},
		{"record send: sent batch", func(w world) error { return e1(f.RecordSendAttempt(ctx, tenant, w.sentB.ID, f.Now())) }, domain.ECONFLICT},
		{"record send: unknown batch", func(w world) error { return e1(f.RecordSendAttempt(ctx, tenant, unknown, f.Now())) }, domain.ECONFLICT},
		{"record send: malformed id", func(w world) error { return e1(f.RecordSendAttempt(ctx, tenant, "x", f.Now())) }, domain.EINVALID},

		// events
		{"append event: malformed subject", func(w world) error { return f.AppendEvent(ctx, event(func(e *domain.Event) { e.Subject = "x" })) }, domain.EINVALID},
		{"append event: no state", func(w world) error { return f.AppendEvent(ctx, event(func(e *domain.Event) { e.State = "" })) }, domain.EINVALID},
		{"append event: no time", func(w world) error { return f.AppendEvent(ctx, event(func(e *domain.Event) { e.At = time.Time{} })) }, domain.EINVALID},
		{"append event: bad cause", func(w world) error { return f.AppendEvent(ctx, event(func(e *domain.Event) { e.Cause = "s3" })) }, domain.EINVALID},
		{"append event: bad tenant", func(w world) error { return f.AppendEvent(ctx, event(func(e *domain.Event) { e.Tenant = "c/g999" })) }, domain.EINVALID},
		{"events: bad tenant", func(w world) error { return e1(f.Events(ctx, "", w.queued.ID)) }, domain.EINVALID},

		// leases and cursors
		{"acquire lease: held", func(w world) error { return e1(f.AcquireLease(ctx, tenant, w.lease.Name, "b", time.Minute)) }, domain.ECONFLICT},
		{"acquire lease: no name", func(w world) error { return e1(f.AcquireLease(ctx, tenant, "", "b", time.Minute)) }, domain.EINVALID},
		{"acquire lease: no owner", func(w world) error { return e1(f.AcquireLease(ctx, tenant, "x", "", time.Minute)) }, domain.EINVALID},
		{"acquire lease: no duration", func(w world) error { return e1(f.AcquireLease(ctx, tenant, "x", "b", 0)) }, domain.EINVALID},
		{"renew lease: stale token", func(w world) error {
			l := w.lease
			l.Token--
			return e1(f.RenewLease(ctx, l, time.Minute))
		}, domain.ECONFLICT},
		{"renew lease: another owner", func(w world) error {
			l := w.lease
			l.Owner = "b"
			return e1(f.RenewLease(ctx, l, time.Minute))
		}, domain.ECONFLICT},
		{"renew lease: never taken", func(w world) error {
			return e1(f.RenewLease(ctx, domain.Lease{Tenant: tenant, Name: "nothing", Owner: "a", Token: 1}, time.Minute))
		}, domain.ECONFLICT},
		{"renew lease: no duration", func(w world) error { return e1(f.RenewLease(ctx, w.lease, -time.Second)) }, domain.EINVALID},
		{"release lease: bad tenant", func(w world) error { return f.ReleaseLease(ctx, domain.Lease{Tenant: "", Name: "x"}) }, domain.EINVALID},
		{"cursor: bad tenant", func(w world) error { return e1(f.Cursor(ctx, "c g999", mbox)) }, domain.EINVALID},
		{"save cursor: stale version", func(w world) error {
			return e1(f.SaveCursor(ctx, cursor(func(c *domain.MailboxCursor) { c.Version, c.LastUID = 0, 20 })))
		}, domain.ECONFLICT},
		{"save cursor: version from the future", func(w world) error {
			return e1(f.SaveCursor(ctx, cursor(func(c *domain.MailboxCursor) { c.Version, c.LastUID = 9, 20 })))
		}, domain.ECONFLICT},
		{"save cursor: going back", func(w world) error {
			return e1(f.SaveCursor(ctx, cursor(func(c *domain.MailboxCursor) { c.LastUID = 9 })))
		}, domain.ECONFLICT},
		{"save cursor: never saved", func(w world) error {
			return e1(f.SaveCursor(ctx, cursor(func(c *domain.MailboxCursor) { c.Mailbox = "altro@pec.test" })))
		}, domain.ECONFLICT},
		{"save cursor: no UIDVALIDITY", func(w world) error {
			return e1(f.SaveCursor(ctx, cursor(func(c *domain.MailboxCursor) { c.UIDValidity = 0 })))
		}, domain.EINVALID},
		{"save cursor: no mailbox", func(w world) error {
			return e1(f.SaveCursor(ctx, cursor(func(c *domain.MailboxCursor) { c.Mailbox = "" })))
		}, domain.EINVALID},
		{"begin attempt: no UID", func(w world) error {
			a := attempt
			a.UID = 0
			return e1(f.BeginAttempt(ctx, a))
		}, domain.EINVALID},
		{"begin attempt: no UIDVALIDITY", func(w world) error {
			a := attempt
			a.UIDValidity = 0
			return e1(f.BeginAttempt(ctx, a))
		}, domain.EINVALID},
		{"fail attempt: no mailbox", func(w world) error {
			a := attempt
			a.Mailbox = ""
			return f.FailAttempt(ctx, a, "x")
		}, domain.EINVALID},

		// triage
		{"create triage: no message key", func(w world) error {
			return e2(f.CreateTriage(ctx, triage(func(it *domain.TriageItem) { it.MessageKey = "" })))
		}, domain.EINVALID},
		{"create triage: no reason code", func(w world) error {
			return e2(f.CreateTriage(ctx, triage(func(it *domain.TriageItem) { it.Reason = domain.Reason{Detail: "why"} })))
		}, domain.EINVALID},
		{"create triage: bad cause", func(w world) error {
			return e2(f.CreateTriage(ctx, triage(func(it *domain.TriageItem) { it.Cause = "pec" })))
		}, domain.EINVALID},
		{"create triage: bad tenant", func(w world) error {
			return e2(f.CreateTriage(ctx, triage(func(it *domain.TriageItem) { it.Tenant = "" })))
		}, domain.EINVALID},
		{"get triage: unknown", func(w world) error { return e1(f.GetTriage(ctx, tenant, unknown)) }, domain.ENOTFOUND},
		{"get triage: malformed id", func(w world) error { return e1(f.GetTriage(ctx, tenant, "nothing")) }, domain.ENOTFOUND},
		{"get triage: another tenant's", func(w world) error { return e1(f.GetTriage(ctx, other, w.open.ID)) }, domain.ENOTFOUND},
		{"list triage: bad state", func(w world) error { return e1(f.ListTriage(ctx, tenant, "closed", 0)) }, domain.EINVALID},
		{"assign triage: unknown batch", func(w world) error { return e1(f.AssignTriage(ctx, tenant, w.open.ID, unknown, "", user)) }, domain.ENOTFOUND},
		{"assign triage: malformed batch", func(w world) error { return e1(f.AssignTriage(ctx, tenant, w.open.ID, "b1", "", user)) }, domain.EINVALID},
		{"assign triage: dismissed item", func(w world) error { return e1(f.AssignTriage(ctx, tenant, w.dismissed.ID, w.sentB.ID, "", user)) }, domain.ECONFLICT},
		{"assign triage: unknown item", func(w world) error { return e1(f.AssignTriage(ctx, tenant, unknown, w.sentB.ID, "", user)) }, domain.ENOTFOUND},
		{"assign triage: bad cause", func(w world) error { return e1(f.AssignTriage(ctx, tenant, w.open.ID, w.sentB.ID, "", "")) }, domain.EINVALID},
		{"dismiss triage: blank reason", func(w world) error { return e1(f.DismissTriage(ctx, tenant, w.open.ID, "  ", user)) }, domain.EINVALID},
		{"dismiss triage: unknown item", func(w world) error { return e1(f.DismissTriage(ctx, tenant, unknown, "spam", user)) }, domain.ENOTFOUND},
		{"message seen: bad tenant", func(w world) error { return e1(f.MessageSeen(ctx, "", sha, "")) }, domain.EINVALID},
		{"mark seen: not a SHA-256", func(w world) error { return f.MarkMessageSeen(ctx, tenant, "abc", "<m@x>", "k", f.Now()) }, domain.EINVALID},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code(t, c.call(w), c.code)
		})
	}
	if after := w.snapshot(t, f); after != before {
		t.Errorf("failing calls changed the store:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	// The lease is still its holder's.
	must[domain.Lease](t)(f.RenewLease(ctx, w.lease, time.Hour))
}

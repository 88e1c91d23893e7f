package store_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/localdev/localaws/testenv"
	"github.com/casellario-pec/casellario/shared/store"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const tenant = "c_g999"

var sha = fmt.Sprintf("%064x", 42)

// fixture is a store over a fresh table with a settable clock.
type fixture struct {
	*store.Dynamo
	env *testenv.Env
	mu  sync.Mutex
	at  time.Time
}

func newFixture(t *testing.T) *fixture {
	env := testenv.New(t)
	f := &fixture{env: env, at: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	f.Dynamo = store.New(env.Dynamo, store.Options{Table: env.Table, Now: f.now})
	return f
}

func (f *fixture) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.at = f.at.Add(time.Millisecond)
	return f.at
}

func code(t *testing.T, err error, want string) {
	t.Helper()
	if got := domain.ErrorCode(err); got != want {
		t.Fatalf("error code = %q (%v), want %q", got, err, want)
	}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// queuedUpload creates an upload of office with n people and queues it.
func (f *fixture) queuedUpload(t *testing.T, office string, n int) domain.Upload {
	t.Helper()
	ctx := context.Background()
	id := domain.NewID()
	u := must[domain.Upload](t)(f.CreateUpload(ctx, domain.Upload{ID: id, Tenant: tenant, Office: office,
		Key: tenant + "/" + office + "/" + id + "/list.csv", SHA256: sha}, domain.CauseS3("k", "v1")))
	var people []domain.Subject
	for r := 2; r < n+2; r++ {
		people = append(people, domain.Subject{Row: r, Person: domain.Person{Surname: "ROSSI", Name: fmt.Sprint("MARIO", r),
			Sex: domain.Male, BirthDate: domain.Date{Year: 1980, Month: 1, Day: 1}, BirthPlaceCode: "H501", FiscalCode: "RSSMRA80A01H501U"}})
	}
	if err := f.PutSubjects(ctx, tenant, u.ID, people); err != nil {
		t.Fatal(err)
	}
	return must[domain.Upload](t)(f.AdvanceUpload(ctx, tenant, u.ID, domain.UploadQueued,
		&domain.Counts{Rows: n, Valid: n}, "report", domain.Reason{}, domain.CauseS3("k", "v1")))
}

func TestUploadLifecycle(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id := domain.NewID()
	in := domain.Upload{ID: id, Tenant: tenant, Office: "SUAP", Key: "c_g999/SUAP/" + id + "/list.csv", ObjectVersion: "v1", SHA256: sha}
	cause := domain.CauseS3(in.Key, "v1")
	u := must[domain.Upload](t)(f.CreateUpload(ctx, in, cause))
	if u.State != domain.UploadReceived || u.Version != 1 {
		t.Fatalf("created %+v", u)
	}
	again := must[domain.Upload](t)(f.CreateUpload(ctx, in, cause)) // S3 delivers twice
	if again.CreatedAt != u.CreatedAt {
		t.Fatalf("re-create changed the upload: %v vs %v", again.CreatedAt, u.CreatedAt)
	}
	other := in
	other.SHA256 = fmt.Sprintf("%064x", 7)
	_, err := f.CreateUpload(ctx, other, cause)
	code(t, err, domain.ECONFLICT)

	_, err = f.GetUpload(ctx, tenant, domain.NewID())
	code(t, err, domain.ENOTFOUND)
	_, err = f.GetUpload(ctx, "c_l537", id) // another tenant sees nothing
	code(t, err, domain.ENOTFOUND)

	people := []domain.Subject{{Row: 2, Person: domain.Person{Surname: "BIANCHI"}}, {Row: 3}}
	if err := f.PutSubjects(ctx, tenant, id, people); err != nil {
		t.Fatal(err)
	}
	if err := f.PutSubjects(ctx, tenant, id, people); err != nil { // intake re-run
		t.Fatal(err)
	}
	code(t, f.PutSubjects(ctx, tenant, id, []domain.Subject{{Row: 2}, {Row: 2}}), domain.EINVALID)
	// Not yet queued: dispatch sees nothing.
	if got := must[[]domain.Subject](t)(f.PendingSubjects(ctx, tenant, "SUAP", 10)); len(got) != 0 {
		t.Fatalf("pending before queued: %d", len(got))
	}
	_, err = f.AdvanceUpload(ctx, tenant, id, domain.UploadCompleted, nil, "", domain.Reason{}, cause)
	code(t, err, domain.ECONFLICT)
	_, err = f.AdvanceUpload(ctx, tenant, id, domain.UploadRejected, nil, "", domain.Reason{}, cause)
	code(t, err, domain.EINVALID)
	q := must[domain.Upload](t)(f.AdvanceUpload(ctx, tenant, id, domain.UploadQueued, &domain.Counts{Rows: 3, Valid: 2, Invalid: 1}, "c_g999/uploads/x/report.json", domain.Reason{}, cause))
	if q.State != domain.UploadQueued || q.Counts.Invalid != 1 || q.Version != 2 {
		t.Fatalf("queued %+v", q)
	}
	q2 := must[domain.Upload](t)(f.AdvanceUpload(ctx, tenant, id, domain.UploadQueued, nil, "", domain.Reason{}, cause))
	if q2.Version != 2 {
		t.Fatalf("re-run wrote again: version %d", q2.Version)
	}
	code(t, f.PutSubjects(ctx, tenant, id, people), domain.ECONFLICT) // never after queued

	subs := must[[]domain.Subject](t)(f.SubjectsOfUpload(ctx, tenant, id))
	if len(subs) != 2 || subs[0].Row != 2 || subs[0].Person.Surname != "BIANCHI" || subs[0].State != domain.PersonPending ||
		subs[0].ID != domain.SubjectID(id, 2) || subs[0].Office != "SUAP" {
		t.Fatalf("subjects %+v", subs)
	}
	list := must[[]domain.Upload](t)(f.ListUploads(ctx, tenant, "SUAP", 10))
	if len(list) != 1 || list[0].ID != id {
		t.Fatalf("list %+v", list)
	}
	ev := must[[]domain.Event](t)(f.Events(ctx, tenant, id))
	if len(ev) != 2 || ev[0].State != "received" || ev[1].State != "queued" || ev[1].Cause != cause {
		t.Fatalf("events %+v", ev)
	}
}

func TestRejectedUploadExpires(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id := domain.NewID()
	must[domain.Upload](t)(f.CreateUpload(ctx, domain.Upload{ID: id, Tenant: tenant, Office: "SUAP", Key: "k", SHA256: sha}, domain.CauseUser("anna")))
	u := must[domain.Upload](t)(f.AdvanceUpload(ctx, tenant, id, domain.UploadRejected, nil, "", domain.Because(domain.ReasonUnreadableList, "unreadable file"), domain.CauseUser("anna")))
	if u.Reason != domain.Because(domain.ReasonUnreadableList, "unreadable file") {
		t.Fatalf("%+v", u)
	}
	_, err := f.AdvanceUpload(ctx, tenant, id, domain.UploadQueued, nil, "", domain.Reason{}, domain.CauseUser("anna"))
	code(t, err, domain.ECONFLICT)
}

func TestPendingOldestFirstAndClaim(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	u1 := f.queuedUpload(t, "SUAP", 3)
	u2 := f.queuedUpload(t, "SUAP", 2)
	f.queuedUpload(t, "CONTRATTI", 4)
	got := must[[]domain.Subject](t)(f.PendingSubjects(ctx, tenant, "SUAP", 4))
	want := []string{domain.SubjectID(u1.ID, 2), domain.SubjectID(u1.ID, 3), domain.SubjectID(u1.ID, 4), domain.SubjectID(u2.ID, 2)}
	if len(got) != 4 {
		t.Fatalf("pending %d", len(got))
	}
	for i := range want {
		if got[i].ID != want[i] {
			t.Fatalf("pending[%d] = %s, want %s", i, got[i].ID, want[i])
		}
	}
	cause := domain.CauseSchedule("ev-1")
	b := domain.Batch{ID: domain.NewID(), Tenant: tenant, Office: "SUAP", People: want}
	bb := must[domain.Batch](t)(f.CreateBatch(ctx, b, cause))
	if bb.State != domain.BatchQueued {
		t.Fatal(bb.State)
	}
	must[domain.Batch](t)(f.CreateBatch(ctx, b, cause)) // re-run
	// Another batch takes one person first: it is lost to ours.
	other := must[domain.Batch](t)(f.CreateBatch(ctx, domain.Batch{ID: domain.NewID(), Tenant: tenant, Office: "SUAP", People: want[3:]}, cause))
	if lost, err := f.ClaimSubjects(ctx, tenant, other.ID, cause); err != nil || len(lost) != 0 {
		t.Fatal(lost, err)
	}
	lost := must[[]string](t)(f.ClaimSubjects(ctx, tenant, b.ID, cause))
	if len(lost) != 1 || lost[0] != want[3] {
		t.Fatalf("lost %v", lost)
	}
	if again := must[[]string](t)(f.ClaimSubjects(ctx, tenant, b.ID, cause)); len(again) != 0 {
		t.Fatalf("second claim lost %v", again)
	}
	subs := must[[]domain.Subject](t)(f.SubjectsOfBatch(ctx, tenant, b.ID))
	if len(subs) != 3 {
		t.Fatalf("batch subjects %d", len(subs))
	}
	for _, s := range subs {
		if s.State != domain.PersonBatched || s.Batch != b.ID {
			t.Fatalf("%+v", s)
		}
	}
	rest := must[[]domain.Subject](t)(f.PendingSubjects(ctx, tenant, "SUAP", 10))
	if len(rest) != 1 || rest[0].ID != domain.SubjectID(u2.ID, 3) {
		t.Fatalf("rest %+v", rest)
	}
	// Requeue after a failed batch makes the person pending again.
	must[domain.Subject](t)(f.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: want[0], To: domain.PersonPending, Cause: cause}))
	rest = must[[]domain.Subject](t)(f.PendingSubjects(ctx, tenant, "SUAP", 10))
	if len(rest) != 2 || rest[0].ID != want[0] {
		t.Fatalf("after requeue %+v", rest)
	}
	list := must[[]domain.Batch](t)(f.ListBatches(ctx, tenant, "SUAP", nil, 10))
	if len(list) != 2 || list[0].ID != other.ID {
		t.Fatalf("newest first: %+v", list)
	}
	if l := must[[]domain.Batch](t)(f.ListBatches(ctx, tenant, "", []domain.BatchState{domain.BatchQueued}, 1)); len(l) != 1 {
		t.Fatalf("tenant list %+v", l)
	}
	if l := must[[]domain.Batch](t)(f.ListBatches(ctx, tenant, "CONTRATTI", nil, 0)); len(l) != 0 {
		t.Fatalf("other office %+v", l)
	}
}

func TestBatchLifecycle(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	u := f.queuedUpload(t, "SUAP", 2)
	people := []string{domain.SubjectID(u.ID, 2), domain.SubjectID(u.ID, 3)}
	cause := domain.CauseSchedule("ev-1")
	b := must[domain.Batch](t)(f.CreateBatch(ctx, domain.Batch{ID: domain.NewID(), Tenant: tenant, Office: "SUAP", People: people}, cause))
	must[[]string](t)(f.ClaimSubjects(ctx, tenant, b.ID, cause))

	tests := []struct {
		name string
		c    domain.BatchChange
		code string
	}{
		{"skip protocol", domain.BatchChange{To: domain.BatchSent}, domain.ECONFLICT},
		{"protocol without number", domain.BatchChange{To: domain.BatchProtocolled}, domain.EINVALID},
		{"bad number", domain.BatchChange{To: domain.BatchProtocolled, Protocol: domain.Protocol{Number: "12", Date: domain.Date{Year: 2026, Month: 3, Day: 2}}}, domain.EINVALID},
		{"wrong from", domain.BatchChange{From: domain.BatchSent, To: domain.BatchProtocolled}, domain.ECONFLICT},
		{"stale version", domain.BatchChange{Version: 99, To: domain.BatchFailed, Reason: domain.Because(domain.ReasonOther, "x")}, domain.ECONFLICT},
		{"fail without reason", domain.BatchChange{To: domain.BatchFailed}, domain.EINVALID},
		{"unknown state", domain.BatchChange{To: "lost"}, domain.EINVALID},
		{"no cause", domain.BatchChange{To: domain.BatchFailed, Reason: domain.Because(domain.ReasonOther, "x"), Cause: "nothing"}, domain.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.Tenant, tc.c.ID = tenant, b.ID
			if tc.c.Cause == "" {
				tc.c.Cause = cause
			}
			_, err := f.AdvanceBatch(ctx, tc.c)
			code(t, err, tc.code)
		})
	}
	_, err := f.GetBatch(ctx, "c_l537", b.ID)
	code(t, err, domain.ENOTFOUND)

	date := domain.Date{Year: 2026, Month: 3, Day: 2}
	reg := domain.ProtocolRequest{Tenant: tenant, AOO: "AOO1", Registry: "PG", Batch: b.ID, Date: date, Cause: cause}
	p := must[domain.Batch](t)(f.RegisterProtocol(ctx, reg))
	if p.State != domain.BatchProtocolled || p.Protocol.Number != "0000001" || p.Protocol.Date != date {
		t.Fatalf("protocolled %+v", p)
	}
	p2 := must[domain.Batch](t)(f.RegisterProtocol(ctx, reg)) // double registration
	if p2.Protocol != p.Protocol || p2.Version != p.Version {
		t.Fatalf("second registration %+v", p2)
	}
	msg := "<" + b.ID + "@pec.comune.prato.test>"
	_, err = f.SetMessageID(ctx, tenant, b.ID, "no-brackets")
	code(t, err, domain.EINVALID)
	must[domain.Batch](t)(f.SetMessageID(ctx, tenant, b.ID, msg))
	must[domain.Batch](t)(f.SetMessageID(ctx, tenant, b.ID, msg))
	_, err = f.SetMessageID(ctx, tenant, b.ID, "<other@x.test>")
	code(t, err, domain.ECONFLICT)
	if got := must[domain.Batch](t)(f.BatchByMessageID(ctx, tenant, msg)); got.ID != b.ID {
		t.Fatal(got.ID)
	}
	_, err = f.BatchByMessageID(ctx, tenant, "<unknown@x.test>")
	code(t, err, domain.ENOTFOUND)
	_, err = f.BatchByMessageID(ctx, "c_l537", msg)
	code(t, err, domain.ENOTFOUND)

	sent := must[domain.Batch](t)(f.AdvanceBatch(ctx, domain.BatchChange{Tenant: tenant, ID: b.ID, From: domain.BatchProtocolled, To: domain.BatchSent, Cause: cause}))
	// A delivery receipt read before the acceptance: sent → delivered; the acceptance is then late.
	rc := domain.CausePEC("<receipt-1@provider.test>")
	del := must[domain.Batch](t)(f.AdvanceBatch(ctx, domain.BatchChange{Tenant: tenant, ID: b.ID, Version: sent.Version, To: domain.BatchDelivered, Cause: rc}))
	if del.Version != sent.Version+1 {
		t.Fatal(del.Version)
	}
	if again := must[domain.Batch](t)(f.AdvanceBatch(ctx, domain.BatchChange{Tenant: tenant, ID: b.ID, To: domain.BatchDelivered, Cause: rc})); again.Version != del.Version {
		t.Fatal("re-run wrote")
	}
	_, err = f.AdvanceBatch(ctx, domain.BatchChange{Tenant: tenant, ID: b.ID, To: domain.BatchAccepted, Cause: rc})
	code(t, err, domain.ECONFLICT)

	cert := &domain.Certificate{Outcome: domain.OutcomeNullo, Key: "c_g999/batches/x/certificates/y.pdf", SHA256: sha, ReceivedAt: f.now()}
	reply := domain.CausePEC("<reply-1@procura.test>")
	_, err = f.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: people[0], To: domain.PersonCertified, Cause: reply})
	code(t, err, domain.EINVALID)
	_, err = f.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: people[0], Batch: domain.NewID(), To: domain.PersonCertified, Certificate: cert, Cause: reply})
	code(t, err, domain.ECONFLICT)
	_, err = f.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: domain.SubjectID(u.ID, 99), To: domain.PersonFailed, Reason: domain.Because(domain.ReasonOther, "x"), Cause: reply})
	code(t, err, domain.ENOTFOUND)
	s := must[domain.Subject](t)(f.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: people[0], Batch: b.ID, To: domain.PersonCertified, Certificate: cert, Cause: reply}))
	if s.Certificate == nil || s.Certificate.Outcome != domain.OutcomeNullo || s.State != domain.PersonCertified {
		t.Fatalf("%+v", s)
	}
	must[domain.Subject](t)(f.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: people[0], Batch: b.ID, To: domain.PersonCertified, Certificate: cert, Cause: reply}))
	_, err = f.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: people[0], To: domain.PersonFailed, Reason: domain.Because(domain.ReasonOther, "x"), Cause: reply})
	code(t, err, domain.ECONFLICT)
	must[domain.Subject](t)(f.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: people[1], To: domain.PersonFailed, Reason: domain.Because(domain.ReasonOther, "not in the reply"), Cause: reply}))

	done := must[domain.Batch](t)(f.AdvanceBatch(ctx, domain.BatchChange{Tenant: tenant, ID: b.ID, To: domain.BatchCompleted, Cause: reply}))
	if want := f.at.AddDate(0, 12, 0); done.ExpiresAt.Before(want.Add(-time.Minute)) || done.ExpiresAt.After(want.Add(time.Minute)) {
		t.Fatalf("expires %v, want about %v", done.ExpiresAt, want)
	}
	_, err = f.AdvanceBatch(ctx, domain.BatchChange{Tenant: tenant, ID: b.ID, To: domain.BatchFailed, Reason: domain.Because(domain.ReasonOther, "x"), Cause: reply})
	code(t, err, domain.ECONFLICT)

	ev := must[[]domain.Event](t)(f.Events(ctx, tenant, b.ID))
	var states []string
	for _, e := range ev {
		states = append(states, e.State)
	}
	if fmt.Sprint(states) != "[queued protocolled sent delivered completed]" {
		t.Fatalf("events %v", states)
	}
	if !sort.SliceIsSorted(ev, func(i, j int) bool { return ev[i].At.Before(ev[j].At) }) {
		t.Fatal("events out of order")
	}
	uev := must[[]domain.Event](t)(f.Events(ctx, tenant, u.ID))
	if last := uev[len(uev)-1]; last.State != "failed" || last.About != people[1] || last.Detail != "row 3 failed: other: not in the reply" {
		t.Fatalf("upload events %+v", uev)
	}
	note := domain.Event{Tenant: tenant, Subject: b.ID, At: f.now(), State: "note", Detail: "late acceptance", Cause: domain.CausePEC("<acc@x.test>")}
	if err := f.AppendEvent(ctx, note); err != nil {
		t.Fatal(err)
	}
	if err := f.AppendEvent(ctx, note); err != nil {
		t.Fatal(err)
	}
	if n := len(must[[]domain.Event](t)(f.Events(ctx, tenant, b.ID))); n != len(ev)+1 {
		t.Fatalf("note appended twice: %d events", n)
	}
}

func TestProtocolConcurrent(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	u := f.queuedUpload(t, "SUAP", 1)
	const n = 12
	date := domain.Date{Year: 2026, Month: 3, Day: 2}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = domain.NewID()
		must[domain.Batch](t)(f.CreateBatch(ctx, domain.Batch{ID: ids[i], Tenant: tenant, Office: "SUAP", People: []string{domain.SubjectID(u.ID, 2)}}, domain.CauseSchedule("x")))
	}
	numbers := make([]string, n)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := f.RegisterProtocol(ctx, domain.ProtocolRequest{Tenant: tenant, AOO: "AOO1", Registry: "PG", Batch: ids[i], Date: date, Cause: domain.CauseSchedule("x")})
			if err != nil {
				t.Error(err)
			}
			numbers[i] = b.Protocol.Number
		}()
	}
	wg.Wait()
	sort.Strings(numbers)
	for i, got := range numbers {
		if want := domain.FormatProtocolNumber(int64(i + 1)); got != want {
			t.Fatalf("numbers %v: want 1..%d with no gaps", numbers, n)
		}
	}
	// Another year, AOO or tenant starts at 1 again.
	b := domain.NewID()
	must[domain.Batch](t)(f.CreateBatch(ctx, domain.Batch{ID: b, Tenant: tenant, Office: "SUAP", People: []string{domain.SubjectID(u.ID, 2)}}, domain.CauseSchedule("x")))
	p := must[domain.Batch](t)(f.RegisterProtocol(ctx, domain.ProtocolRequest{Tenant: tenant, AOO: "AOO1", Registry: "PG", Batch: b, Date: domain.Date{Year: 2027, Month: 1, Day: 1}, Cause: domain.CauseSchedule("x")}))
	if p.Protocol.Number != "0000001" {
		t.Fatal(p.Protocol)
	}
}

func TestProtocolSameBatchConcurrent(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	u := f.queuedUpload(t, "SUAP", 1)
	id := domain.NewID()
	must[domain.Batch](t)(f.CreateBatch(ctx, domain.Batch{ID: id, Tenant: tenant, Office: "SUAP", People: []string{domain.SubjectID(u.ID, 2)}}, domain.CauseSchedule("x")))
	var wg sync.WaitGroup
	got := make([]string, 6)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := f.RegisterProtocol(ctx, domain.ProtocolRequest{Tenant: tenant, AOO: "AOO1", Registry: "PG", Batch: id, Date: domain.Date{Year: 2026, Month: 1, Day: 5}, Cause: domain.CauseSchedule("x")})
			if err != nil {
				t.Error(err)
			}
			got[i] = b.Protocol.Number
		}()
	}
	wg.Wait()
	for _, g := range got {
		if g != got[0] || g == "" {
			t.Fatalf("one batch got numbers %v", got)
		}
	}
}

func TestLeases(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	l := must[domain.Lease](t)(f.AcquireLease(ctx, tenant, "send:SUAP", "a", time.Minute))
	_, err := f.AcquireLease(ctx, tenant, "send:SUAP", "b", time.Minute)
	code(t, err, domain.ECONFLICT)
	if other := must[domain.Lease](t)(f.AcquireLease(ctx, "c_l537", "send:SUAP", "b", time.Minute)); other.Token != 1 {
		t.Fatal("tenants share leases")
	}
	again := must[domain.Lease](t)(f.AcquireLease(ctx, tenant, "send:SUAP", "a", time.Minute))
	if again.Token != l.Token+1 {
		t.Fatalf("token %d after %d", again.Token, l.Token)
	}
	_, err = f.RenewLease(ctx, l, time.Minute) // stale token
	code(t, err, domain.ECONFLICT)
	l = must[domain.Lease](t)(f.RenewLease(ctx, again, 2*time.Minute))
	_, err = f.AcquireLease(ctx, tenant, "send:SUAP", "b", time.Minute)
	code(t, err, domain.ECONFLICT)
	f.mu.Lock()
	f.at = f.at.Add(3 * time.Minute) // expired
	f.mu.Unlock()
	b := must[domain.Lease](t)(f.AcquireLease(ctx, tenant, "send:SUAP", "b", time.Minute))
	_, err = f.RenewLease(ctx, l, time.Minute)
	code(t, err, domain.ECONFLICT)
	if err := f.ReleaseLease(ctx, l); err != nil { // no longer ours: no-op
		t.Fatal(err)
	}
	if err := f.ReleaseLease(ctx, b); err != nil {
		t.Fatal(err)
	}
	must[domain.Lease](t)(f.AcquireLease(ctx, tenant, "send:SUAP", "a", time.Minute))
	_, err = f.AcquireLease(ctx, tenant, "", "a", time.Minute)
	code(t, err, domain.EINVALID)
}

func TestCursor(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := must[domain.MailboxCursor](t)(f.Cursor(ctx, tenant, "Protocollo@pec.comune.prato.test"))
	if c.Version != 0 {
		t.Fatal(c)
	}
	c.UIDValidity, c.LastUID = 7, 10
	c = must[domain.MailboxCursor](t)(f.SaveCursor(ctx, c))
	stale := c
	c.LastUID = 12
	c = must[domain.MailboxCursor](t)(f.SaveCursor(ctx, c))
	stale.LastUID = 11
	_, err := f.SaveCursor(ctx, stale)
	code(t, err, domain.ECONFLICT)
	back := c
	back.LastUID = 5
	_, err = f.SaveCursor(ctx, back)
	code(t, err, domain.ECONFLICT)
	back.UIDValidity = 8 // mailbox recreated: starting over is allowed
	must[domain.MailboxCursor](t)(f.SaveCursor(ctx, back))
	got := must[domain.MailboxCursor](t)(f.Cursor(ctx, tenant, "protocollo@pec.comune.prato.test"))
	if got.UIDValidity != 8 || got.LastUID != 5 || got.Version != 3 {
		t.Fatalf("%+v", got)
	}
}

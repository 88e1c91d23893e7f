package storetest

import (
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
)

var batchCases = []Case{
	{"batch lifecycle", testBatchLifecycle},
	{"send attempts", testSendAttempts},
	{"candidate certificates", testCandidates},
	{"batches created in a span", testBatchesCreated},
}

// testBatchesCreated: a tenant's batches created in [from, to), oldest first.
func testBatchesCreated(t *testing.T, f *Fixture) {
	var ids []string
	var at []time.Time
	for i := 0; i < 4; i++ {
		u := f.queuedUpload(t, []string{"SUAP", "CONTRATTI"}[i%2], 1)
		f.Advance(time.Hour) // one batch an hour
		b := must[domain.Batch](t)(f.CreateBatch(ctx, domain.Batch{ID: domain.NewID(), Tenant: tenant, Office: u.Office,
			People: []string{domain.SubjectID(u.ID, 2)}}, domain.CauseUser("test")))
		ids, at = append(ids, b.ID), append(at, b.CreatedAt)
	}
	for _, tt := range []struct {
		name     string
		tenant   string
		from, to time.Time
		want     []string
		code     string
	}{
		{"all", tenant, at[0], at[3].Add(time.Second), ids, ""},
		{"the end is left out", tenant, at[0], at[3], ids[:3], ""},
		{"the middle", tenant, at[1].Add(-time.Minute), at[2].Add(time.Minute), ids[1:3], ""},
		{"before any", tenant, at[0].Add(-48 * time.Hour), at[0].Add(-24 * time.Hour), nil, ""},
		{"another tenant", other, at[0], at[3].Add(time.Second), nil, ""},
		{"empty span", tenant, at[1], at[1], nil, domain.EINVALID},
		{"backwards", tenant, at[2], at[1], nil, domain.EINVALID},
		{"bad tenant", "c#x", at[0], at[3], nil, domain.EINVALID},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.BatchesCreated(ctx, tt.tenant, tt.from, tt.to)
			code(t, err, tt.code)
			if len(got) != len(tt.want) {
				t.Fatalf("%d batches, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if got[i].ID != tt.want[i] {
					t.Fatalf("batch %d is %s, want %s (oldest first)", i, got[i].ID, tt.want[i])
				}
			}
		})
	}
}

var protocolCases = []Case{
	{"protocol numbers without gaps, concurrently", testProtocolConcurrent},
	{"one batch registered concurrently", testProtocolSameBatch},
	{"batch by protocol", testBatchByProtocol},
}

func testBatchLifecycle(t *testing.T, f *Fixture) {
	u := f.queuedUpload(t, "SUAP", 2)
	people := []string{domain.SubjectID(u.ID, 2), domain.SubjectID(u.ID, 3)}
	cause := domain.CauseSchedule("ev-1")
	b := f.batchOf(t, "SUAP", people...)

	tests := []struct {
		name string
		c    domain.BatchChange
		code string
	}{
		{"skip protocol", domain.BatchChange{To: domain.BatchSent}, domain.ECONFLICT},
		{"protocol without number", domain.BatchChange{To: domain.BatchProtocolled}, domain.EINVALID},
		{"bad number", domain.BatchChange{To: domain.BatchProtocolled, Protocol: domain.Protocol{Number: "12", Date: day}}, domain.EINVALID},
		{"number without date", domain.BatchChange{To: domain.BatchProtocolled, Protocol: domain.Protocol{Number: "0000012"}}, domain.EINVALID},
		{"wrong from", domain.BatchChange{From: domain.BatchSent, To: domain.BatchProtocolled}, domain.ECONFLICT},
		{"stale version", domain.BatchChange{Version: 99, To: domain.BatchFailed, Reason: domain.Because(domain.ReasonOther, "x")}, domain.ECONFLICT},
		{"fail without reason", domain.BatchChange{To: domain.BatchFailed}, domain.EINVALID},
		{"fail with an unknown reason", domain.BatchChange{To: domain.BatchFailed, Reason: domain.Because("lost", "x")}, domain.EINVALID},
		{"unknown state", domain.BatchChange{To: "lost"}, domain.EINVALID},
		{"no cause", domain.BatchChange{To: domain.BatchFailed, Reason: domain.Because(domain.ReasonOther, "x"), Cause: "nothing"}, domain.EINVALID},
		{"bad Message-ID", domain.BatchChange{To: domain.BatchSent, MessageID: "no-brackets"}, domain.EINVALID},
		{"sent without Message-ID", domain.BatchChange{To: domain.BatchSent, Protocol: domain.Protocol{Number: "0000012", Date: day}}, domain.ECONFLICT},
		{"same state, another version", domain.BatchChange{To: domain.BatchQueued, Version: 99}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.Tenant, tc.c.ID = tenant, b.ID
			if tc.c.Cause == "" {
				tc.c.Cause = cause
			}
			_, err := f.AdvanceBatch(ctx, tc.c)
			code(t, err, tc.code)
			if got := must[domain.Batch](t)(f.GetBatch(ctx, tenant, b.ID)); got.Version != b.Version || got.State != domain.BatchQueued {
				t.Fatalf("changed: %+v", got)
			}
		})
	}
	_, err := f.GetBatch(ctx, other, b.ID)
	code(t, err, domain.ENOTFOUND)

	reg := domain.ProtocolRequest{Tenant: tenant, AOO: "AOO1", Registry: "PG", Batch: b.ID, Date: day, Cause: cause}
	p := must[domain.Batch](t)(f.RegisterProtocol(ctx, reg))
	if p.State != domain.BatchProtocolled || p.Protocol != (domain.Protocol{Number: "0000001", Date: day, Register: "PG"}) || p.Version != b.Version+1 {
		t.Fatalf("protocolled %+v", p)
	}
	p2 := must[domain.Batch](t)(f.RegisterProtocol(ctx, reg)) // double registration
	if p2.Protocol != p.Protocol || p2.Version != p.Version {
		t.Fatalf("second registration %+v", p2)
	}
	msg := "<" + b.ID + "@pec.comune.prato.test>"
	_, err = f.SetMessageID(ctx, tenant, b.ID, "no-brackets")
	code(t, err, domain.EINVALID)
	withID := must[domain.Batch](t)(f.SetMessageID(ctx, tenant, b.ID, msg))
	if again := must[domain.Batch](t)(f.SetMessageID(ctx, tenant, b.ID, msg)); again.Version != withID.Version || again.MessageID != msg {
		t.Fatalf("setting the same Message-ID again wrote: %+v", again)
	}
	_, err = f.SetMessageID(ctx, tenant, b.ID, "<other@x.test>")
	code(t, err, domain.ECONFLICT)
	if got := must[domain.Batch](t)(f.BatchByMessageID(ctx, tenant, msg)); got.ID != b.ID {
		t.Fatal(got.ID)
	}
	_, err = f.BatchByMessageID(ctx, tenant, "<unknown@x.test>")
	code(t, err, domain.ENOTFOUND)
	_, err = f.BatchByMessageID(ctx, other, msg)
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
	_, err = f.AdvanceBatch(ctx, domain.BatchChange{Tenant: tenant, ID: b.ID, To: domain.BatchDelivered, MessageID: "<other@x.test>", Cause: rc})
	code(t, err, domain.ECONFLICT)

	cert := certificate(f, sha)
	reply := domain.CausePEC("<reply-1@procura.test>")
	_, err = f.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: people[0], To: domain.PersonCertified, Cause: reply})
	code(t, err, domain.EINVALID)
	_, err = f.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: people[0], Batch: domain.NewID(), To: domain.PersonCertified, Certificate: cert, Cause: reply})
	code(t, err, domain.ECONFLICT)
	_, err = f.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: domain.SubjectID(u.ID, 99), To: domain.PersonFailed, Reason: domain.Because(domain.ReasonOther, "x"), Cause: reply})
	code(t, err, domain.ENOTFOUND)
	s := must[domain.Subject](t)(f.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: people[0], Batch: b.ID, To: domain.PersonCertified, Certificate: cert, Cause: reply}))
	if s.Certificate == nil || *s.Certificate != *cert || s.State != domain.PersonCertified || s.Batch != b.ID {
		t.Fatalf("%+v", s)
	}
	again := must[domain.Subject](t)(f.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: people[0], Batch: b.ID, To: domain.PersonCertified, Certificate: cert, Cause: reply}))
	if again.Version != s.Version {
		t.Fatalf("re-run wrote: %d after %d", again.Version, s.Version)
	}
	_, err = f.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: people[0], To: domain.PersonFailed, Reason: domain.Because(domain.ReasonOther, "x"), Cause: reply})
	code(t, err, domain.ECONFLICT)
	must[domain.Subject](t)(f.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: people[1], To: domain.PersonFailed, Reason: domain.Because(domain.ReasonOther, "not in the reply"), Cause: reply}))

	done := must[domain.Batch](t)(f.AdvanceBatch(ctx, domain.BatchChange{Tenant: tenant, ID: b.ID, To: domain.BatchCompleted, Cause: reply}))
	if want := f.last().AddDate(0, 12, 0); done.ExpiresAt.Before(want.Add(-time.Minute)) || done.ExpiresAt.After(want.Add(time.Minute)) {
		t.Fatalf("expires %v, want about %v", done.ExpiresAt, want)
	}
	if got := must[domain.Batch](t)(f.GetBatch(ctx, tenant, b.ID)); !got.ExpiresAt.Equal(done.ExpiresAt) || got.MessageID != msg || got.Protocol != p.Protocol {
		t.Fatalf("read back %+v", got)
	}
	_, err = f.AdvanceBatch(ctx, domain.BatchChange{Tenant: tenant, ID: b.ID, To: domain.BatchFailed, Reason: domain.Because(domain.ReasonOther, "x"), Cause: reply})
	code(t, err, domain.ECONFLICT)
	_, err = f.SetMessageID(ctx, tenant, b.ID, msg)
	code(t, err, domain.ECONFLICT) // terminal

	ev := must[[]domain.Event](t)(f.Events(ctx, tenant, b.ID))
	if states(ev) != "[queued protocolled sent delivered completed]" || ev[1].Detail != "protocolled as PG-0000001 of 02/03/2026" || ev[3].Cause != rc {
		t.Fatalf("events %+v", ev)
	}
	if !sort.SliceIsSorted(ev, func(i, j int) bool { return ev[i].At.Before(ev[j].At) }) {
		t.Fatal("events out of order")
	}
	uev := must[[]domain.Event](t)(f.Events(ctx, tenant, u.ID))
	if last := uev[len(uev)-1]; last.State != "failed" || last.About != people[1] || last.Detail != "row 3 failed: other: not in the reply" {
		t.Fatalf("upload events %+v", uev)
	}
	if c := uev[len(uev)-2]; c.State != "certified" || c.About != people[0] || c.Detail != "row 2 certified: nullo" {
		t.Fatalf("upload events %+v", uev)
	}
	note := domain.Event{Tenant: tenant, Subject: b.ID, At: f.Now(), State: "note", Detail: "late acceptance", Cause: domain.CausePEC("<acc@x.test>")}
	if err := f.AppendEvent(ctx, note); err != nil {
		t.Fatal(err)
	}
	if err := f.AppendEvent(ctx, note); err != nil {
		t.Fatal(err)
	}
	note.Cause = domain.CausePEC("<acc-2@x.test>") // same time, another cause: another event
	if err := f.AppendEvent(ctx, note); err != nil {
		t.Fatal(err)
	}
	if n := len(must[[]domain.Event](t)(f.Events(ctx, tenant, b.ID))); n != len(ev)+2 {
		t.Fatalf("%d events, want %d", n, len(ev)+2)
	}
	if none := must[[]domain.Event](t)(f.Events(ctx, other, b.ID)); len(none) != 0 {
		t.Fatalf("another tenant's events: %+v", none)
	}
}

func testSendAttempts(t *testing.T, f *Fixture) {
	u := f.queuedUpload(t, "SUAP", 1)
	b := f.batchOf(t, "SUAP", domain.SubjectID(u.ID, 2))
	_, err := f.RecordSendAttempt(ctx, tenant, b.ID, f.Now())
	code(t, err, domain.ECONFLICT) // queued, no Message-ID
	must[domain.Batch](t)(f.RegisterProtocol(ctx, domain.ProtocolRequest{Tenant: tenant, AOO: "AOO", Registry: "PG", Batch: b.ID,
		Date: day, Cause: domain.CauseUser("x")}))
	_, err = f.RecordSendAttempt(ctx, tenant, b.ID, f.Now())
	code(t, err, domain.ECONFLICT) // protocolled, no Message-ID
	must[domain.Batch](t)(f.SetMessageID(ctx, tenant, b.ID, "<casellario."+b.ID+"@pec.test>"))
	at := time.Date(2026, 3, 2, 10, 0, 0, 123456789, time.UTC)
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
	if read := must[domain.Batch](t)(f.GetBatch(ctx, tenant, b.ID)); read.SendAttempts != 2 || !read.LastSendAttempt.Equal(got.LastSendAttempt) || read.State != domain.BatchProtocolled {
		t.Fatalf("read back: %+v", read)
	}
	must[domain.Batch](t)(f.AdvanceBatch(ctx, domain.BatchChange{Tenant: tenant, ID: b.ID, To: domain.BatchSent, Cause: domain.CauseUser("x")}))
	_, err = f.RecordSendAttempt(ctx, tenant, b.ID, at)
	code(t, err, domain.ECONFLICT) // sent
	_, err = f.RecordSendAttempt(ctx, tenant, domain.NewID(), at)
	code(t, err, domain.ECONFLICT) // no such batch: nothing to record
	_, err = f.RecordSendAttempt(ctx, tenant, "not-an-id", at)
	code(t, err, domain.EINVALID)
}

func testCandidates(t *testing.T, f *Fixture) {
	u := f.queuedUpload(t, "SUAP", 2)
	id := domain.SubjectID(u.ID, 2)
	b := f.sentBatch(t, "SUAP", id, domain.SubjectID(u.ID, 3))
	cause := domain.CausePEC("<reply@procura.test>")
	first := certificate(f, sha)
	_, err := f.AddCandidate(ctx, tenant, id, *certificate(f, sha2), cause)
	code(t, err, domain.ECONFLICT) // not certified yet
	must[domain.Subject](t)(f.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: id, Batch: b.ID, To: domain.PersonCertified, Certificate: first, Cause: cause}))
	same := must[domain.Subject](t)(f.AddCandidate(ctx, tenant, id, *first, cause))
	if len(same.Candidates) != 0 {
		t.Fatalf("the same certificate became a candidate: %+v", same)
	}
	second := certificate(f, sha2)
	second.Outcome = domain.OutcomePositivo
	s := must[domain.Subject](t)(f.AddCandidate(ctx, tenant, id, *second, cause))
	if s.Certificate.SHA256 != sha || len(s.Candidates) != 1 || s.Candidates[0] != *second || s.Version != same.Version+1 {
		t.Fatalf("with a candidate: %+v", s)
	}
	if again := must[domain.Subject](t)(f.AddCandidate(ctx, tenant, id, *second, cause)); again.Version != s.Version || len(again.Candidates) != 1 {
		t.Fatalf("the same candidate again: %+v", again)
	}
	_, err = f.ChooseCertificate(ctx, tenant, id, strings.Repeat("f", 64), "", domain.CauseUser("p"))
	code(t, err, domain.ENOTFOUND)
	if kept := must[domain.Subject](t)(f.ChooseCertificate(ctx, tenant, id, sha, "", domain.CauseUser("p"))); kept.Version != s.Version {
		t.Fatalf("choosing the standing one wrote: %+v", kept)
	}
	ch := must[domain.Subject](t)(f.ChooseCertificate(ctx, tenant, id, sha2, "the later one", domain.CauseUser("p")))
	if ch.Certificate.SHA256 != sha2 || ch.Certificate.Outcome != domain.OutcomePositivo || len(ch.Candidates) != 1 || ch.Candidates[0].SHA256 != sha {
		t.Fatalf("after choosing: %+v", ch)
	}
	_, err = f.ChooseCertificate(ctx, tenant, domain.SubjectID(u.ID, 3), sha, "", domain.CauseUser("p"))
	code(t, err, domain.ECONFLICT) // batched, no certificate
	_, err = f.AddCandidate(ctx, tenant, id, domain.Certificate{Key: "k", SHA256: "x"}, cause)
	code(t, err, domain.EINVALID)
	ev := must[[]domain.Event](t)(f.Events(ctx, tenant, u.ID))
	var notes []string
	var codes []domain.NoteCode
	for _, e := range ev {
		if e.About == id {
			notes, codes = append(notes, e.Detail), append(codes, e.Note)
		}
	}
	if !slices.Equal(codes, []domain.NoteCode{"", domain.NoteCandidate, domain.NoteChosen}) {
		t.Errorf("note codes %q", codes)
	}
	want := []string{"row 2 certified: nullo",
		"row 2: another certificate received (positivo, SHA-256 000000000000), different from the one that stands: kept as a candidate",
		"row 2: certificate SHA-256 000000000000 (positivo) chosen to stand instead of 000000000000: the later one"}
	if !slices.Equal(notes, want) {
		t.Fatalf("events about the person:\n%q\nwant\n%q", notes, want)
	}
}

func testProtocolConcurrent(t *testing.T, f *Fixture) {
	u := f.queuedUpload(t, "SUAP", 1)
	const n = 12
	ids := make([]string, n)
	for i := range ids {
		ids[i] = domain.NewID()
		must[domain.Batch](t)(f.CreateBatch(ctx, domain.Batch{ID: ids[i], Tenant: tenant, Office: "SUAP", People: []string{domain.SubjectID(u.ID, 2)}}, domain.CauseSchedule("x")))
	}
	numbers := make([]string, n)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			b, err := f.RegisterProtocol(ctx, domain.ProtocolRequest{Tenant: tenant, AOO: "AOO1", Registry: "PG", Batch: ids[i], Date: day, Cause: domain.CauseSchedule("x")})
			if err != nil {
				t.Error(err)
			}
			numbers[i] = b.Protocol.Number
		})
	}
	wg.Wait()
	sort.Strings(numbers)
	for i, got := range numbers {
		if want := domain.FormatProtocolNumber(int64(i + 1)); got != want {
			t.Fatalf("numbers %v: want 1..%d with no gaps", numbers, n)
		}
	}
	// Another year, AOO, registry or tenant starts at 1 again.
	for _, r := range []domain.ProtocolRequest{
		{Tenant: tenant, AOO: "AOO1", Registry: "PG", Date: domain.Date{Year: 2027, Month: 1, Day: 1}},
		{Tenant: tenant, AOO: "AOO2", Registry: "PG", Date: day},
		{Tenant: tenant, AOO: "AOO1", Registry: "CPEC", Date: day},
	} {
		r.Batch, r.Cause = domain.NewID(), domain.CauseSchedule("x")
		must[domain.Batch](t)(f.CreateBatch(ctx, domain.Batch{ID: r.Batch, Tenant: tenant, Office: "SUAP", People: []string{domain.SubjectID(u.ID, 2)}}, r.Cause))
		if p := must[domain.Batch](t)(f.RegisterProtocol(ctx, r)); p.Protocol.Number != "0000001" || p.Protocol.Register != r.Registry {
			t.Fatalf("%+v: %+v", r, p.Protocol)
		}
	}
	ou := domain.NewID()
	must[domain.Upload](t)(f.CreateUpload(ctx, domain.Upload{ID: ou, Tenant: other, Office: "SUAP", Key: "k", SHA256: sha}, domain.CauseUser("x")))
	ob := must[domain.Batch](t)(f.CreateBatch(ctx, domain.Batch{ID: domain.NewID(), Tenant: other, Office: "SUAP", People: []string{domain.SubjectID(ou, 2)}}, domain.CauseUser("x")))
	if p := must[domain.Batch](t)(f.RegisterProtocol(ctx, domain.ProtocolRequest{Tenant: other, AOO: "AOO1", Registry: "PG", Batch: ob.ID, Date: day, Cause: domain.CauseUser("x")})); p.Protocol.Number != "0000001" {
		t.Fatalf("another tenant: %+v", p.Protocol)
	}
}

func testProtocolSameBatch(t *testing.T, f *Fixture) {
	u := f.queuedUpload(t, "SUAP", 1)
	id := domain.NewID()
	must[domain.Batch](t)(f.CreateBatch(ctx, domain.Batch{ID: id, Tenant: tenant, Office: "SUAP", People: []string{domain.SubjectID(u.ID, 2)}}, domain.CauseSchedule("x")))
	var wg sync.WaitGroup
	got := make([]string, 6)
	for i := range got {
		wg.Go(func() {
			b, err := f.RegisterProtocol(ctx, domain.ProtocolRequest{Tenant: tenant, AOO: "AOO1", Registry: "PG", Batch: id, Date: domain.Date{Year: 2026, Month: 1, Day: 5}, Cause: domain.CauseSchedule("x")})
			if err != nil {
				t.Error(err)
			}
			got[i] = b.Protocol.Number
		})
	}
	wg.Wait()
	for _, g := range got {
		if g != got[0] || g == "" {
			t.Fatalf("one batch got numbers %v", got)
		}
	}
	b := must[domain.Batch](t)(f.BatchByProtocol(ctx, tenant, "AOO1", "PG", 2026, got[0]))
	if b.ID != id {
		t.Fatalf("the batch's number is another's: %s", b.ID)
	}
}

func testBatchByProtocol(t *testing.T, f *Fixture) {
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
	// An external register's number is not the built-in register's.
	ext := must[domain.Batch](t)(f.CreateBatch(ctx, domain.Batch{ID: domain.NewID(), Tenant: tenant, Office: "SUAP",
		People: []string{domain.SubjectID(q.ID, 2)}}, domain.CauseUser("x")))
	must[domain.Batch](t)(f.AdvanceBatch(ctx, domain.BatchChange{Tenant: tenant, ID: ext.ID, To: domain.BatchProtocolled,
		Protocol: domain.Protocol{Number: "0000002", Date: domain.Date{Year: 2026, Month: 11, Day: 25}}, Cause: domain.CauseUser("x")}))
	for _, c := range []struct {
		name, tenant, aoo, registry string
		year                        int
		number, code                string
	}{
		{"another year", tenant, "AOO1", "PG", 2025, b.Protocol.Number, domain.ENOTFOUND},
		{"unknown number", tenant, "AOO1", "PG", 2026, "99999", domain.ENOTFOUND},
		{"external register's number", tenant, "AOO1", "PG", 2026, "0000002", domain.ENOTFOUND},
		{"another AOO", tenant, "AOO2", "PG", 2026, b.Protocol.Number, domain.ENOTFOUND},
		{"another registry", tenant, "AOO1", "CPEC", 2026, b.Protocol.Number, domain.ENOTFOUND},
		{"another tenant", other, "AOO1", "PG", 2026, b.Protocol.Number, domain.ENOTFOUND},
		{"not a number", tenant, "AOO1", "PG", 2026, "CPEC-1", domain.EINVALID},
		{"zero", tenant, "AOO1", "PG", 2026, "0000000", domain.EINVALID},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.BatchByProtocol(ctx, c.tenant, c.aoo, c.registry, c.year, c.number)
			code(t, err, c.code)
		})
	}
}

package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/casellario-pec/casellario/shared/domain"
)

var uploadCases = []Case{
	{"upload lifecycle", testUploadLifecycle},
	{"upload delivered again", testUploadAgain},
	{"rejected upload", testRejectedUpload},
	{"received uploads", testReceivedUploads},
	{"pending oldest first, claimed once", testPendingAndClaim},
	{"pending again counts attempts", testPendingAgain},
	{"manual protocol numbers", testManualProtocol},
	{"finish uploads", testFinishUploads},
	{"upload recorded without its SHA-256", testUploadWithoutSHA256},
	{"notes and warnings kept", testNotesAndWarnings},
	{"listings page by cursor", testPages},
}

// testPages: following the cursor page by page gives the whole listing,
// newest first, for uploads and for batches of an office or of the tenant.
func testPages(t *testing.T, f *Fixture) {
	var ids []string
	for i := 0; i < 5; i++ {
		u := f.queuedUpload(t, "SUAP", 1)
		f.queuedUpload(t, "CONTRATTI", 1)
		b := must[domain.Batch](t)(f.CreateBatch(ctx, domain.Batch{ID: domain.NewID(), Tenant: tenant, Office: "SUAP",
			People: []string{domain.SubjectID(u.ID, 2)}}, domain.CauseUser("test")))
		ids = append(ids, b.ID)
	}
	pages := func(first func() ([]string, string), next func(cursor string) ([]string, string)) []string {
		got, cursor := first()
		for n := 0; cursor != "" && n < 10; n++ {
			var more []string
			more, cursor = next(cursor)
			got = append(got, more...)
		}
		return got
	}
	uploadIDs := func(us []domain.Upload, err error) ([]string, string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, u := range us {
			out = append(out, u.ID)
		}
		if len(us) < 2 {
			return out, ""
		}
		return out, us[len(us)-1].Cursor()
	}
	batchIDs := func(bs []domain.Batch, err error) ([]string, string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, b := range bs {
			out = append(out, b.ID)
		}
		if len(bs) < 2 {
			return out, ""
		}
		return out, bs[len(bs)-1].Cursor()
	}
	all, _ := uploadIDs(f.ListUploads(ctx, tenant, "SUAP", 0))
	paged := pages(func() ([]string, string) { return uploadIDs(f.ListUploads(ctx, tenant, "SUAP", 2)) },
		func(c string) ([]string, string) { return uploadIDs(f.UploadsBefore(ctx, tenant, "SUAP", c, 2)) })
	if len(all) != 5 || !slices.Equal(paged, all) {
		t.Errorf("uploads page by page %q, all at once %q", paged, all)
	}
	slices.Reverse(ids) // newest first
	for _, office := range []string{"SUAP", ""} {
		paged := pages(func() ([]string, string) { return batchIDs(f.ListBatches(ctx, tenant, office, nil, 2)) },
			func(c string) ([]string, string) { return batchIDs(f.BatchesBefore(ctx, tenant, office, c, 2)) })
		if !slices.Equal(paged, ids) {
			t.Errorf("batches of %q page by page %q, want %q", office, paged, ids)
		}
	}
	for _, bad := range []string{"", "yesterday", "2026-03-02T09:00:00Z#x"} {
		_, err := f.UploadsBefore(ctx, tenant, "SUAP", bad, 2)
		code(t, err, domain.EINVALID)
		_, err = f.BatchesBefore(ctx, tenant, "", bad, 2)
		code(t, err, domain.EINVALID)
	}
}

// testNotesAndWarnings: a note's code and a person's warning come back as
// they were given.
func testNotesAndWarnings(t *testing.T, f *Fixture) {
	id := domain.NewID()
	u := must[domain.Upload](t)(f.CreateUpload(ctx, domain.Upload{ID: id, Tenant: tenant, Office: "SUAP",
		Key: tenant + "/SUAP/" + id + "/list.csv", SHA256: sha}, domain.CauseS3("k", "")))
	warned := domain.Subject{Row: 2, Person: person(2), Warning: "Già richiesto per questo ufficio: richiesto di nuovo."}
	if err := f.PutSubjects(ctx, tenant, u.ID, []domain.Subject{warned, {Row: 3, Person: person(3)}}); err != nil {
		t.Fatal(err)
	}
	subs := must[[]domain.Subject](t)(f.SubjectsOfUpload(ctx, tenant, u.ID))
	if len(subs) != 2 || subs[0].Warning != warned.Warning || subs[1].Warning != "" {
		t.Fatalf("warnings %+v", subs)
	}
	at := f.Now()
	for _, n := range []domain.NoteCode{domain.NoteDownloaded, ""} {
		if err := f.AppendEvent(ctx, domain.Event{Tenant: tenant, Subject: u.ID, At: at, State: "received", Note: n,
			Detail: "note " + string(n), Cause: domain.CauseUser("anna")}); err != nil {
			t.Fatal(err)
		}
	}
	var got []domain.NoteCode
	for _, e := range must[[]domain.Event](t)(f.Events(ctx, tenant, u.ID)) {
		if e.Cause == domain.CauseUser("anna") {
			got = append(got, e.Note)
		}
	}
	if len(got) != 2 || !slices.Contains(got, domain.NoteDownloaded) || !slices.Contains(got, "") {
		t.Fatalf("notes %q", got)
	}
}

// An upload recorded for a presigned PUT has no SHA-256 until intake reads
// its object: CreateUpload then completes it.
func testUploadWithoutSHA256(t *testing.T, f *Fixture) {
	for _, tt := range []struct {
		name  string
		steps []domain.Upload // after the record without SHA-256; Key and ID filled in
		code  string          // of the last step
		sha   string          // recorded at the end
		ver   string
	}{
		{"recorded again", []domain.Upload{{}}, "", "", ""},
		{"completed unversioned", []domain.Upload{{SHA256: sha}}, "", sha, ""},
		{"completed versioned", []domain.Upload{{SHA256: sha, ObjectVersion: "v1"}}, "", sha, "v1"},
		{"completed twice", []domain.Upload{{SHA256: sha, ObjectVersion: "v1"}, {SHA256: sha, ObjectVersion: "v1"}}, "", sha, "v1"},
		{"record after completion", []domain.Upload{{SHA256: sha}, {}}, "", sha, ""},
		{"another content after completion", []domain.Upload{{SHA256: sha}, {SHA256: sha2}}, domain.ECONFLICT, sha, ""},
		{"another version after completion", []domain.Upload{{SHA256: sha, ObjectVersion: "v1"}, {SHA256: sha, ObjectVersion: "v2"}}, domain.ECONFLICT, sha, "v1"},
		{"another office", []domain.Upload{{Office: "CONTRATTI", SHA256: sha}}, domain.ECONFLICT, "", ""},
		{"version without SHA-256", []domain.Upload{{ObjectVersion: "v1"}}, domain.EINVALID, "", ""},
		{"bad SHA-256", []domain.Upload{{SHA256: "ABC"}}, domain.EINVALID, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id := domain.NewID()
			key := tenant + "/SUAP/" + id + "/list.csv"
			rec := must[domain.Upload](t)(f.CreateUpload(ctx, domain.Upload{ID: id, Tenant: tenant, Office: "SUAP", Key: key,
				FileName: "elenco.csv", UploadedBy: "suap@c_g999"}, domain.CauseUser("suap@c_g999")))
			if rec.SHA256 != "" || rec.State != domain.UploadReceived {
				t.Fatalf("recorded %+v", rec)
			}
			var err error
			for _, st := range tt.steps {
				st.ID, st.Tenant, st.Key = id, tenant, key
				if st.Office == "" {
					st.Office = "SUAP"
				}
				_, err = f.CreateUpload(ctx, st, domain.CauseS3(key, st.ObjectVersion))
			}
			code(t, err, tt.code)
			got := must[domain.Upload](t)(f.GetUpload(ctx, tenant, id))
			if got.SHA256 != tt.sha || got.ObjectVersion != tt.ver || got.FileName != "elenco.csv" || got.UploadedBy != "suap@c_g999" ||
				!got.CreatedAt.Equal(rec.CreatedAt) || got.State != domain.UploadReceived {
				t.Fatalf("stored %+v", got)
			}
		})
	}
}

func testUploadLifecycle(t *testing.T, f *Fixture) {
	id := domain.NewID()
	in := domain.Upload{ID: id, Tenant: tenant, Office: "SUAP", Key: "c_g999/SUAP/" + id + "/list.csv", ObjectVersion: "v1", SHA256: sha,
		UploadedBy: "anna", FileName: "elenco.csv"}
	cause := domain.CauseS3(in.Key, "v1")
	u := must[domain.Upload](t)(f.CreateUpload(ctx, in, cause))
	if u.State != domain.UploadReceived || u.Version != 1 || u.UploadedBy != "anna" || u.FileName != "elenco.csv" || u.CreatedAt.IsZero() {
		t.Fatalf("created %+v", u)
	}
	again := must[domain.Upload](t)(f.CreateUpload(ctx, in, cause)) // S3 delivers twice
	if again != u {
		t.Fatalf("re-create changed the upload: %+v vs %+v", again, u)
	}
	_, err := f.GetUpload(ctx, other, id) // another tenant sees nothing
	code(t, err, domain.ENOTFOUND)

	people := []domain.Subject{{Row: 2, Person: domain.Person{Surname: "BIANCHI"}}, {Row: 3}}
	if err := f.PutSubjects(ctx, tenant, id, people); err != nil {
		t.Fatal(err)
	}
	if err := f.PutSubjects(ctx, tenant, id, people); err != nil { // intake re-run
		t.Fatal(err)
	}
	// Not yet queued: dispatch sees nothing.
	if got := must[[]domain.Subject](t)(f.PendingSubjects(ctx, tenant, "SUAP", 10)); len(got) != 0 {
		t.Fatalf("pending before queued: %d", len(got))
	}
	q := must[domain.Upload](t)(f.AdvanceUpload(ctx, tenant, id, domain.UploadQueued, &domain.Counts{Rows: 3, Valid: 2, Invalid: 1}, "c_g999/uploads/x/report.json", domain.Reason{}, cause))
	if q.State != domain.UploadQueued || q.Counts.Invalid != 1 || q.Version != 2 || q.ReportKey != "c_g999/uploads/x/report.json" || !q.UpdatedAt.After(q.CreatedAt) {
		t.Fatalf("queued %+v", q)
	}
	q2 := must[domain.Upload](t)(f.AdvanceUpload(ctx, tenant, id, domain.UploadQueued, nil, "", domain.Reason{}, cause))
	if q2.Version != 2 {
		t.Fatalf("re-run wrote again: version %d", q2.Version)
	}
	code(t, f.PutSubjects(ctx, tenant, id, people), domain.ECONFLICT) // never after queued

	subs := must[[]domain.Subject](t)(f.SubjectsOfUpload(ctx, tenant, id))
	if len(subs) != 2 || subs[0].Row != 2 || subs[0].Person.Surname != "BIANCHI" || subs[0].State != domain.PersonPending ||
		subs[0].ID != domain.SubjectID(id, 2) || subs[0].Office != "SUAP" || subs[0].Upload != id || subs[0].Tenant != tenant || subs[0].Version != 1 {
		t.Fatalf("subjects %+v", subs)
	}
	if s := must[domain.Subject](t)(f.GetSubject(ctx, tenant, subs[1].ID)); s.Row != 3 || s.State != domain.PersonPending {
		t.Fatalf("subject %+v", s)
	}
	list := must[[]domain.Upload](t)(f.ListUploads(ctx, tenant, "SUAP", 10))
	if len(list) != 1 || list[0].ID != id || list[0].Version != 2 {
		t.Fatalf("list %+v", list)
	}
	ev := must[[]domain.Event](t)(f.Events(ctx, tenant, id))
	if states(ev) != "[received queued]" || ev[1].Cause != cause || ev[1].Detail != "2 people queued" || ev[0].Detail != "list received" {
		t.Fatalf("events %+v", ev)
	}
	done := must[domain.Upload](t)(f.AdvanceUpload(ctx, tenant, id, domain.UploadCompleted, nil, "", domain.Reason{}, cause))
	if done.State != domain.UploadCompleted || done.Counts.Valid != 2 || done.Version != 3 {
		t.Fatalf("completed %+v", done)
	}
	if l := must[[]domain.Upload](t)(f.ListUploads(ctx, tenant, "CONTRATTI", 10)); len(l) != 0 {
		t.Fatalf("another office's list: %+v", l)
	}
}

// An upload recorded by the API before its object (no version), then
// delivered by S3 (with the version), then delivered again after intake.
func testUploadAgain(t *testing.T, f *Fixture) {
	id := domain.NewID()
	in := domain.Upload{ID: id, Tenant: tenant, Office: "SUAP", Key: "c_g999/SUAP/" + id + "/list.csv", SHA256: sha, UploadedBy: "anna"}
	api := must[domain.Upload](t)(f.CreateUpload(ctx, in, domain.CauseUser("anna")))
	in.ObjectVersion, in.UploadedBy = "v1", ""
	s3 := must[domain.Upload](t)(f.CreateUpload(ctx, in, domain.CauseS3(in.Key, "v1")))
	if s3.ObjectVersion != "v1" || s3.UploadedBy != "anna" || s3.Version != api.Version || !s3.CreatedAt.Equal(api.CreatedAt) {
		t.Fatalf("completed with its version: %+v", s3)
	}
	if err := f.PutSubjects(ctx, tenant, id, []domain.Subject{{Row: 2, Person: person(2)}}); err != nil {
		t.Fatal(err)
	}
	must[domain.Upload](t)(f.AdvanceUpload(ctx, tenant, id, domain.UploadQueued, &domain.Counts{Rows: 1, Valid: 1}, "r", domain.Reason{}, domain.CauseS3(in.Key, "v1")))
	before := must[[]domain.Event](t)(f.Events(ctx, tenant, id))
	late := must[domain.Upload](t)(f.CreateUpload(ctx, in, domain.CauseS3(in.Key, "v1")))
	if late.State != domain.UploadQueued || late.Version != 2 {
		t.Fatalf("delivered again after intake: %+v", late)
	}
	after := must[[]domain.Event](t)(f.Events(ctx, tenant, id))
	if states(before) != "[received queued]" || fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("events changed by a late delivery:\nbefore %+v\nafter  %+v", before, after)
	}
	for _, c := range []struct {
		name string
		mod  func(*domain.Upload)
	}{
		{"another version", func(u *domain.Upload) { u.ObjectVersion = "v2" }},
		{"another content", func(u *domain.Upload) { u.SHA256 = sha2 }},
		{"another key", func(u *domain.Upload) { u.Key += ".bak" }},
		{"another office", func(u *domain.Upload) { u.Office = "CONTRATTI" }},
	} {
		u := in
		c.mod(&u)
		_, err := f.CreateUpload(ctx, u, domain.CauseS3(u.Key, "v2"))
		if domain.ErrorCode(err) != domain.ECONFLICT {
			t.Errorf("%s: %v, want a conflict", c.name, err)
		}
	}
}

func testRejectedUpload(t *testing.T, f *Fixture) {
	id := domain.NewID()
	must[domain.Upload](t)(f.CreateUpload(ctx, domain.Upload{ID: id, Tenant: tenant, Office: "SUAP", Key: "k", SHA256: sha}, domain.CauseUser("anna")))
	reason := domain.Because(domain.ReasonUnreadableList, "unreadable file")
	u := must[domain.Upload](t)(f.AdvanceUpload(ctx, tenant, id, domain.UploadRejected, &domain.Counts{Rows: 0}, "c_g999/uploads/"+id+"/report.json", reason, domain.CauseUser("anna")))
	if u.Reason != reason || u.State != domain.UploadRejected || u.ReportKey == "" {
		t.Fatalf("%+v", u)
	}
	_, err := f.AdvanceUpload(ctx, tenant, id, domain.UploadQueued, nil, "", domain.Reason{}, domain.CauseUser("anna"))
	code(t, err, domain.ECONFLICT)
	ev := must[[]domain.Event](t)(f.Events(ctx, tenant, id))
	if states(ev) != "[received rejected]" || ev[1].Detail != "list rejected: "+reason.String() {
		t.Fatalf("events %+v", ev)
	}
	if got := must[domain.Upload](t)(f.GetUpload(ctx, tenant, id)); got.Reason != reason {
		t.Fatalf("reason read back: %+v", got.Reason)
	}
}

func testReceivedUploads(t *testing.T, f *Fixture) {
	mk := func(p *domain.Protocol) domain.Upload {
		id := domain.NewID()
		return must[domain.Upload](t)(f.CreateUpload(ctx, domain.Upload{ID: id, Tenant: tenant, Office: "SUAP",
			Key: tenant + "/SUAP/" + id + "/list.csv", SHA256: sha, Protocol: p}, domain.CauseS3("k", "v1")))
	}
	stuck := mk(&domain.Protocol{Number: "0001234", Date: day})
	queued := f.queuedUpload(t, "SUAP", 1)
	rejected := mk(nil)
	later := mk(nil)
	must[domain.Upload](t)(f.AdvanceUpload(ctx, tenant, rejected.ID, domain.UploadRejected, nil, "", domain.Because(domain.ReasonNoRows, ""), domain.CauseUser("x")))
	got := must[[]domain.Upload](t)(f.ReceivedUploads(ctx, tenant, 10))
	if len(got) != 2 || got[0].ID != stuck.ID || got[1].ID != later.ID {
		t.Fatalf("received uploads %+v; want %s then %s (not queued %s nor rejected %s)", got, stuck.ID, later.ID, queued.ID, rejected.ID)
	}
	if p := got[0].Protocol; p == nil || p.Number != "0001234" || p.Date.String() != "2026-03-02" {
		t.Fatalf("manual protocol not kept: %+v", p)
	}
	if one := must[[]domain.Upload](t)(f.ReceivedUploads(ctx, tenant, 1)); len(one) != 1 || one[0].ID != stuck.ID {
		t.Fatalf("oldest first, limit 1: %+v", one)
	}
	if none := must[[]domain.Upload](t)(f.ReceivedUploads(ctx, other, 10)); len(none) != 0 {
		t.Fatalf("another tenant's: %+v", none)
	}
}

func testPendingAndClaim(t *testing.T, f *Fixture) {
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
	if bb.State != domain.BatchQueued || bb.Version != 1 || len(bb.People) != 4 {
		t.Fatalf("created %+v", bb)
	}
	must[domain.Batch](t)(f.CreateBatch(ctx, b, cause)) // re-run
	// Another batch takes one person first: it is lost to ours.
	taker := must[domain.Batch](t)(f.CreateBatch(ctx, domain.Batch{ID: domain.NewID(), Tenant: tenant, Office: "SUAP", People: want[3:]}, cause))
	if lost, err := f.ClaimSubjects(ctx, tenant, taker.ID, cause); err != nil || len(lost) != 0 {
		t.Fatal(lost, err)
	}
	lost := must[[]string](t)(f.ClaimSubjects(ctx, tenant, b.ID, cause))
	if len(lost) != 1 || lost[0] != want[3] {
		t.Fatalf("lost %v", lost)
	}
	if again := must[[]string](t)(f.ClaimSubjects(ctx, tenant, b.ID, cause)); len(again) != 0 {
		t.Fatalf("second claim lost %v", again)
	}
	// The batch lists only the people it holds, and the same batch created
	// again (a re-run with the people it had at first) is still harmless.
	if cur := must[domain.Batch](t)(f.GetBatch(ctx, tenant, b.ID)); len(cur.People) != 3 || cur.Version != 2 {
		t.Fatalf("after the claim: %+v", cur)
	}
	must[domain.Batch](t)(f.CreateBatch(ctx, b, cause))
	subs := must[[]domain.Subject](t)(f.SubjectsOfBatch(ctx, tenant, b.ID))
	if len(subs) != 3 {
		t.Fatalf("batch subjects %d", len(subs))
	}
	for i, s := range subs {
		if s.State != domain.PersonBatched || s.Batch != b.ID || s.ID != want[i] {
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
	if len(rest) != 2 || rest[0].ID != want[0] || rest[0].Batch != "" {
		t.Fatalf("after requeue %+v", rest)
	}
	list := must[[]domain.Batch](t)(f.ListBatches(ctx, tenant, "SUAP", nil, 10))
	if len(list) != 2 || list[0].ID != taker.ID || list[1].ID != b.ID {
		t.Fatalf("newest first: %+v", list)
	}
	if l := must[[]domain.Batch](t)(f.ListBatches(ctx, tenant, "", []domain.BatchState{domain.BatchQueued}, 1)); len(l) != 1 || l[0].ID != taker.ID {
		t.Fatalf("tenant list %+v", l)
	}
	if l := must[[]domain.Batch](t)(f.ListBatches(ctx, tenant, "", []domain.BatchState{domain.BatchSent}, 0)); len(l) != 0 {
		t.Fatalf("no batch sent: %+v", l)
	}
	if l := must[[]domain.Batch](t)(f.ListBatches(ctx, tenant, "CONTRATTI", nil, 0)); len(l) != 0 {
		t.Fatalf("other office %+v", l)
	}
	if l := must[[]domain.Batch](t)(f.ListBatches(ctx, other, "", nil, 0)); len(l) != 0 {
		t.Fatalf("other tenant %+v", l)
	}
}

func testPendingAgain(t *testing.T, f *Fixture) {
	u := f.queuedUpload(t, "SUAP", 1)
	id := domain.SubjectID(u.ID, 2)
	for i := 1; i <= 2; i++ {
		b := f.batchOf(t, "SUAP", id)
		s := must[domain.Subject](t)(f.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: id, To: domain.PersonPending, Batch: b.ID, Cause: domain.CauseUser("x")}))
		if s.Attempts != i || s.State != domain.PersonPending || s.Batch != "" {
			t.Fatalf("after failure %d: %+v", i, s)
		}
		if again := must[domain.Subject](t)(f.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: id, To: domain.PersonPending, Cause: domain.CauseUser("x")})); again.Attempts != i {
			t.Fatalf("a re-run counted again: %+v", again)
		}
	}
	ev := must[[]domain.Event](t)(f.Events(ctx, tenant, u.ID))
	if states(ev) != "[received queued pending pending]" || ev[2].About != id || ev[2].Detail != "row 2 pending" {
		t.Fatalf("events %+v", ev)
	}
}

func testManualProtocol(t *testing.T, f *Fixture) {
	a, b := f.receivedUpload(t, "SUAP", 1), f.receivedUpload(t, "SUAP", 1)
	p := domain.Protocol{Number: "0000778", Date: domain.Date{Year: 2026, Month: 1, Day: 2}}
	if err := f.ClaimManualProtocol(ctx, tenant, p, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.ClaimManualProtocol(ctx, tenant, p, a.ID); err != nil { // again, same upload
		t.Fatal(err)
	}
	longer := domain.Protocol{Number: "00000778", Date: domain.Date{Year: 2026, Month: 7, Day: 1}} // the same number, the same year
	code(t, f.ClaimManualProtocol(ctx, tenant, longer, b.ID), domain.ECONFLICT)
	code(t, f.ClaimManualProtocol(ctx, tenant, p, b.ID), domain.ECONFLICT)
	nextYear := domain.Protocol{Number: "0000778", Date: domain.Date{Year: 2027, Month: 1, Day: 2}}
	if err := f.ClaimManualProtocol(ctx, tenant, nextYear, b.ID); err != nil {
		t.Fatalf("another year: %v", err)
	}
	if err := f.ClaimManualProtocol(ctx, other, p, b.ID); err != nil {
		t.Fatalf("another tenant: %v", err)
	}
	// A claim whose upload was never recorded is taken over.
	ghost := domain.NewID()
	q := domain.Protocol{Number: "0000779", Date: p.Date}
	if err := f.ClaimManualProtocol(ctx, tenant, q, ghost); err != nil {
		t.Fatal(err)
	}
	if err := f.ClaimManualProtocol(ctx, tenant, q, b.ID); err != nil {
		t.Fatalf("taking over an unrecorded upload's claim: %v", err)
	}
	code(t, f.ClaimManualProtocol(ctx, tenant, q, a.ID), domain.ECONFLICT)
}

func testFinishUploads(t *testing.T, f *Fixture) {
	u := f.queuedUpload(t, "SUAP", 2)
	ids := []string{domain.SubjectID(u.ID, 2), domain.SubjectID(u.ID, 3)}
	b := f.sentBatch(t, "SUAP", ids...)
	cause := domain.CausePEC("<reply@procura.test>")
	must[domain.Subject](t)(f.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: ids[0], Batch: b.ID, To: domain.PersonCertified, Certificate: certificate(f, sha), Cause: cause}))
	if err := domain.FinishUploads(ctx, f, tenant, domain.UploadsOf(b.People), cause); err != nil {
		t.Fatal(err)
	}
	if got := must[domain.Upload](t)(f.GetUpload(ctx, tenant, u.ID)); got.State != domain.UploadQueued {
		t.Fatalf("finished with a person waiting: %s", got.State)
	}
	must[domain.Subject](t)(f.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: ids[1], Batch: b.ID, To: domain.PersonFailed, Reason: domain.Because(domain.ReasonProcuraRefused, "x"), Cause: cause}))
	if err := domain.FinishUploads(ctx, f, tenant, domain.UploadsOf(b.People), cause); err != nil {
		t.Fatal(err)
	}
	if got := must[domain.Upload](t)(f.GetUpload(ctx, tenant, u.ID)); got.State != domain.UploadCompleted {
		t.Fatalf("not finished: %s", got.State)
	}
	if p := must[[]domain.Subject](t)(f.PendingSubjects(ctx, tenant, "SUAP", 10)); len(p) != 0 {
		t.Fatalf("pending of a completed upload: %+v", p)
	}
}

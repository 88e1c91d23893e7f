package intake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/fiscalcode"
	"github.com/casellario-pec/casellario/shared/intake"
	"github.com/casellario-pec/casellario/shared/localdev/localaws/testenv"
	"github.com/casellario-pec/casellario/shared/namelist"
	"github.com/casellario-pec/casellario/shared/notice"
	"github.com/casellario-pec/casellario/shared/s3docs"
	"github.com/casellario-pec/casellario/shared/store"
	"github.com/casellario-pec/casellario/shared/tenants"
	"github.com/casellario-pec/casellario/shared/uploads"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type fixture struct {
	env   *testenv.Env
	h     *intake.Handler
	store *store.Dynamo
	docs  *s3docs.Docs
	sent  *recorder
}

type recorder struct {
	mu sync.Mutex
	n  []notice.Event
}

func (r *recorder) Publish(_ context.Context, ev notice.Event) error {
	r.mu.Lock()
	r.n = append(r.n, ev)
	r.mu.Unlock()
	return nil
}

func newFixture(t *testing.T) *fixture {
	env := testenv.New(t)
	st := store.New(env.Dynamo, store.Options{Table: env.Table})
	d := s3docs.New(env.S3, s3docs.Options{UploadsBucket: env.Uploads, DocumentsBucket: env.Documents})
	tc := tenants.Demo()
	tc.Tenants[1].Protocol.Kind = tenants.ProtocolManual
	tc.Tenants[0].BatchSize = 3
	rec := &recorder{}
	return &fixture{env: env, store: st, docs: d, sent: rec, h: &intake.Handler{Store: st, Docs: d, Tenants: tc, Notify: rec,
		Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC) }}}
}

const header = "Cognome;Nome;Sesso;Data di nascita;Comune o Stato di nascita;Provincia;Codice fiscale\r\n"

func row(sur, name string, sex domain.Sex, born domain.Date) string {
	return strings.Join([]string{sur, name, string(sex), born.Italian(), "Roma", "RM", fiscalcode.Compute(sur, name, sex, born, "H501")}, ";") + "\r\n"
}

var valid = header + row("Rossi", "Mario", domain.Male, domain.Date{Year: 1980, Month: 1, Day: 1}) +
	row("Bianchi", "Anna", domain.Female, domain.Date{Year: 1975, Month: 5, Day: 12})

func (f *fixture) put(t *testing.T, tenant, office, body string, meta map[string]string) (string, string) {
	t.Helper()
	key := s3docs.UploadKey(tenant, office, domain.NewID(), "csv")
	obj, err := f.docs.PutWithMetadata(context.Background(), f.docs.Upload(key), "text/csv", strings.NewReader(body), meta)
	if err != nil {
		t.Fatal(err)
	}
	return key, obj.Version
}

func event(key, version string) events.S3Event {
	return events.S3Event{Records: []events.S3EventRecord{{EventName: "ObjectCreated:Put",
		S3: events.S3Entity{Object: events.S3Object{Key: key, VersionID: version}}}}}
}

func (f *fixture) report(t *testing.T, u domain.Upload) map[string]any {
	t.Helper()
	b, _, err := f.docs.GetBytes(context.Background(), f.docs.Document(u.ReportKey))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSameEventTwice(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	key, ver := f.put(t, "c_g999", "SUAP", valid, map[string]string{uploads.MetaUploadedBy: "mario"})
	var wg sync.WaitGroup
	for range 3 { // at once, and then once more
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A twin meets the first one's lease: EBUSY, for a retry.
			if err := f.h.HandleS3(ctx, event(key, ver)); err != nil && domain.ErrorCode(err) != domain.EBUSY {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := f.h.HandleS3(ctx, event(key, ver)); err != nil {
		t.Fatal(err)
	}
	p, _ := s3docs.ParseUploadKey(key)
	ups, err := f.store.ListUploads(ctx, "c_g999", "SUAP", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ups) != 1 || ups[0].ID != p.Upload || ups[0].State != domain.UploadQueued || ups[0].Counts.Valid != 2 || ups[0].UploadedBy != "mario" {
		t.Fatalf("uploads %+v", ups)
	}
	subs, _ := f.store.SubjectsOfUpload(ctx, "c_g999", p.Upload)
	pending, _ := f.store.PendingSubjects(ctx, "c_g999", "SUAP", 100)
	if len(subs) != 2 || len(pending) != 2 {
		t.Fatalf("%d subjects, %d pending", len(subs), len(pending))
	}
	if len(f.sent.n) != 1 { // the twins left the work to the first (lease per upload)
		t.Errorf("%d notifications, want 1", len(f.sent.n))
	}
	rep := f.report(t, ups[0])
	if s := rep["summary"].(map[string]any); s["valid"] != 2.0 {
		t.Errorf("report summary %v", s)
	}
	if _, err := f.docs.Head(ctx, f.docs.Document(s3docs.RefusedKey("c_g999", p.Upload))); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("refused.csv written without refused rows: %v", err)
	}
}

func TestRefusedRows(t *testing.T) {
	f := newFixture(t)
	body := valid + "=cmd|' /C calc'!A0;Mario;M;01/01/1980;Roma;RM;\r\n" + "Verdi;Luca;X;31/02/1980;Atlantide;;\r\n" +
		row("Rossi", "Mario", domain.Male, domain.Date{Year: 1980, Month: 1, Day: 1})
	key, ver := f.put(t, "c_g999", "SUAP", body, nil)
	u, err := f.h.Process(context.Background(), key, ver, domain.CauseS3(key, ver))
	if err != nil {
		t.Fatal(err)
	}
	if u.State != domain.UploadQueued || u.Counts != (domain.Counts{Rows: 5, Valid: 2, Invalid: 3, Duplicates: 1}) {
		t.Fatalf("upload %+v", u)
	}
	csvBytes, _, err := f.docs.GetBytes(context.Background(), f.docs.Document(s3docs.RefusedKey("c_g999", u.ID)))
	if err != nil {
		t.Fatal(err)
	}
	text := string(csvBytes)
	lines := strings.Split(strings.TrimSuffix(text, "\r\n"), "\r\n")
	if !strings.HasPrefix(text, "\uFEFFRiga;Cognome;Nome;") || len(lines) != 4 {
		t.Fatalf("refused.csv:\n%s", text)
	}
	if !strings.HasPrefix(lines[1], "4;'=cmd") || !strings.Contains(lines[2], "5;Verdi;Luca;X;31/02/1980;Atlantide") ||
		!strings.Contains(lines[3], "riga 2") {
		t.Errorf("refused.csv:\n%s", text)
	}
	if !strings.Contains(strings.ToLower(lines[2]), "sesso") {
		t.Errorf("no Italian reason: %s", lines[2])
	}
	rep := f.report(t, u)
	if rows := rep["rows"].([]any); len(rows) != 5 {
		t.Errorf("report rows %d", len(rows))
	}
}

func TestRejected(t *testing.T) {
	for _, tc := range []struct {
		name, tenant, office, body string
		meta                       map[string]string
		max                        int64
		code                       string
		reason                     domain.ReasonCode
	}{
		{"pdf", "c_g999", "SUAP", "%PDF-1.4 not a list", nil, 0, namelist.CodeUnsupported, domain.ReasonUnreadableList},
		{"header only", "c_g999", "SUAP", header, nil, 0, "empty", domain.ReasonNoRows},
		{"no header", "c_g999", "SUAP", "a;b;c\r\n1;2;3\r\n", nil, 0, "", domain.ReasonUnreadableList},
		{"too large", "c_g999", "SUAP", valid, nil, 20, namelist.CodeTooLarge, domain.ReasonFileTooLarge},
		{"unknown office", "c_g999", "NOPE", valid, nil, 0, "office", domain.ReasonUnknownOffice},
		{"unknown tenant", "c_x000", "SUAP", valid, nil, 0, "office", domain.ReasonUnknownOffice},
		{"a protocol number in the metadata", "c_g999", "SUAP", valid, map[string]string{uploads.MetaProtocolNumber: "12", uploads.MetaProtocolDate: "2026-11-25"}, 0, "protocol", domain.ReasonManualNotAllowed},
		{"only a protocol date in the metadata", "c_g999", "SUAP", valid, map[string]string{uploads.MetaProtocolDate: "2026-11-25"}, 0, "protocol", domain.ReasonManualNotAllowed},
		{"manual register without number", "c_l537", "SUAP", valid, nil, 0, "protocol", domain.ReasonNoManualProtocol},
		{"no valid row", "c_g999", "SUAP", header + "Verdi;Luca;X;31/02/1980;Atlantide;;\r\n", nil, 0, "", domain.ReasonNoValidRow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.h.Read.MaxBytes = tc.max
			key, ver := f.put(t, tc.tenant, tc.office, tc.body, tc.meta)
			u, err := f.h.Process(context.Background(), key, ver, domain.CauseS3(key, ver))
			if err != nil {
				t.Fatal(err)
			}
			if u.State != domain.UploadRejected || u.Reason.Code != tc.reason || u.ReportKey == "" {
				t.Fatalf("upload %+v", u)
			}
			rep := f.report(t, u)
			if tc.code != "" {
				e, _ := rep["error"].(map[string]any)
				if e["code"] != tc.code || e["message"] == "" {
					t.Errorf("report %v", rep)
				}
			}
			subs, _ := f.store.SubjectsOfUpload(context.Background(), tc.tenant, u.ID)
			if len(subs) != 0 {
				t.Errorf("%d subjects stored", len(subs))
			}
			if len(f.sent.n) != 1 || f.sent.n[0].Kind != notice.ListRejected || f.sent.n[0].Reason != tc.reason {
				t.Errorf("notifications %+v", f.sent.n)
			}
		})
	}
}

// submit hands a list in as the API and the CLI do: the record, the
// protocol office's number claimed, the object; then runs intake on it.
func (f *fixture) submit(t *testing.T, tenant, body string, p *domain.Protocol) (domain.Upload, error) {
	t.Helper()
	u, err := uploads.Submit(context.Background(), f.store, f.docs, uploads.Submission{Tenant: tenant, Office: "SUAP", Ext: "csv",
		FileName: "elenco.csv", UploadedBy: "protocollo", Protocol: p, Data: []byte(body)}, domain.CauseUser("protocollo"))
	if err != nil {
		return u, err
	}
	return f.h.Process(context.Background(), u.Key, "", domain.CauseS3(u.Key, ""))
}

func TestManualProtocol(t *testing.T) {
	f := newFixture(t)
	p := &domain.Protocol{Number: "0000055", Date: domain.Date{Year: 2026, Month: 11, Day: 24}}
	u, err := f.submit(t, "c_l537", valid, p)
	if err != nil || u.State != domain.UploadQueued || u.Protocol == nil || *u.Protocol != *p || u.FileName != "elenco.csv" || u.UploadedBy != "protocollo" {
		t.Fatalf("%+v %v", u, err)
	}
	// The same number again, for another list: refused before anything is stored.
	if _, err := f.submit(t, "c_l537", valid, p); domain.ErrorCode(err) != domain.ECONFLICT || !strings.Contains(domain.ErrorMessage(err), "già stato usato") {
		t.Fatalf("a number used twice: %v", err)
	}
	// The same number in another year is another registration.
	other := *p
	other.Date.Year = 2027
	if _, err := f.submit(t, "c_l537", valid, &other); err != nil {
		t.Fatal(err)
	}
	// More people than one request holds.
	tooMany := valid + row("Verdi", "Luca", domain.Male, domain.Date{Year: 1990, Month: 3, Day: 3}) +
		row("Neri", "Sara", domain.Female, domain.Date{Year: 1991, Month: 4, Day: 4})
	u, err = f.submit(t, "c_g999", tooMany, &domain.Protocol{Number: "0000012", Date: domain.Date{Year: 2026, Month: 11, Day: 25}})
	if err != nil || u.State != domain.UploadRejected || u.Reason.Code != domain.ReasonManualTooMany {
		t.Fatalf("too many for one request: %+v %v", u, err)
	}
}

func TestFinalErrors(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// Not an upload key: nothing recorded, the event is not retried.
	for _, bad := range []string{"c_g999/rossi_mario.csv", "c_g999/SUAP/sub/rossi_mario.csv", "c_g999/SUAP/rossi_mario.pdf", "c_g999/SUAP/.csv"} {
		if _, err := f.h.Process(ctx, bad, "", domain.CauseS3("k", "v")); domain.ErrorCode(err) != domain.EINVALID {
			t.Errorf("bad key: %v", err)
		}
	}
	// The object is gone.
	gone := s3docs.UploadKey("c_g999", "SUAP", domain.NewID(), "csv")
	if _, err := f.h.Process(ctx, gone, "", domain.CauseS3(gone, "")); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("missing object: %v", err)
	}
	// The same key overwritten with other bytes: the first version counts.
	key, ver := f.put(t, "c_g999", "SUAP", valid, nil)
	if _, err := f.h.Process(ctx, key, ver, domain.CauseS3(key, ver)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.docs.Put(ctx, f.docs.Upload(key), "text/csv", strings.NewReader(valid+"\r\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.h.Process(ctx, key, "", domain.CauseS3(key, "2")); domain.ErrorCode(err) != domain.ECONFLICT {
		t.Errorf("reused id: %v", err)
	}
	// None of these is worth a retry of the S3 event; other event kinds are ignored.
	ev := event("c_g999/rossi_mario.csv", "")
	ev.Records = append(ev.Records, event(gone, "").Records[0], events.S3EventRecord{EventName: "ObjectRemoved:Delete"})
	if err := f.h.HandleS3(ctx, ev); err != nil {
		t.Errorf("HandleS3: %v", err)
	}
	// A store failure is: the table does not exist.
	h := *f.h
	h.Store = store.New(testenv.New(t).Dynamo, store.Options{Table: "missing"})
	key2, ver2 := f.put(t, "c_g999", "SUAP", valid, nil)
	if err := h.HandleS3(ctx, event(key2, ver2)); err == nil || domain.ErrorCode(err) != domain.EINTERNAL {
		t.Errorf("store down: %v", err)
	}
}

func TestRefusedCSVDefuse(t *testing.T) {
	body := header + "+SUM(A1);@x;-1;\t1;%y;|z;\r\n"
	rep := mustValidate(t, body)
	out, err := intake.RefusedCSV("list.csv", []byte(body), rep, namelist.Options{})
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Split(string(out), "\r\n")[1]
	for _, want := range []string{"'+SUM(A1)", "'@x", "'-1"} {
		if !strings.Contains(line, want) {
			t.Errorf("%q not defused in %q", want, line)
		}
	}
	_ = bytes.MinRead
}

// A file an office drops with its own S3 client, under its own name, is a
// list like any other: its upload gets an id, keeps the file's name, and the
// same event twice makes one upload.
func TestDroppedFile(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	key := "c_g999/SUAP/elenco marzo 2026.csv" // as `aws s3 cp` would write it: any name
	out, err := f.env.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(f.env.Uploads), Key: aws.String(key), Body: strings.NewReader(valid),
		Metadata: map[string]string{uploads.MetaUploadedBy: "job-notturno"}})
	if err != nil {
		t.Fatal(err)
	}
	obj := struct{ Version string }{aws.ToString(out.VersionId)}
	var ids []string
	for range 2 {
		u, err := f.h.Process(ctx, key, obj.Version, domain.CauseS3(key, obj.Version))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
		if u.State != domain.UploadQueued || u.FileName != "elenco marzo 2026.csv" || u.UploadedBy != "job-notturno" || u.Key != key || !domain.ValidID(u.ID) {
			t.Fatalf("dropped upload %+v", u)
		}
	}
	if ids[0] != ids[1] {
		t.Fatalf("the same event twice made two uploads: %v", ids)
	}
	ups, _ := f.store.ListUploads(ctx, "c_g999", "SUAP", 10)
	if len(ups) != 1 {
		t.Fatalf("%d uploads", len(ups))
	}
	if n := f.sent.n[0]; n.Kind != notice.ListReceived || n.Upload != ids[0] {
		t.Errorf("office not told: %+v", f.sent.n)
	}
}

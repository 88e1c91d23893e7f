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

	"github.com/casellario-pec/casellario/shared/docs"
	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/fiscalcode"
	"github.com/casellario-pec/casellario/shared/intake"
	"github.com/casellario-pec/casellario/shared/localaws/testenv"
	"github.com/casellario-pec/casellario/shared/namelist"
	"github.com/casellario-pec/casellario/shared/notice"
	"github.com/casellario-pec/casellario/shared/store"
	"github.com/casellario-pec/casellario/shared/tenants"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type fixture struct {
	h     *intake.Handler
	store *store.Dynamo
	docs  *docs.Docs
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
	d := docs.New(env.S3, docs.Options{UploadsBucket: env.Uploads, DocumentsBucket: env.Documents})
	tc := tenants.Demo()
	tc.Tenants[1].Protocol.Kind = tenants.ProtocolManual
	tc.Tenants[0].BatchSize = 3
	rec := &recorder{}
	return &fixture{store: st, docs: d, sent: rec, h: &intake.Handler{Store: st, Docs: d, Tenants: tc, Notify: rec,
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
	key := docs.UploadKey(tenant, office, domain.NewID(), "csv")
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
	key, ver := f.put(t, "c_g999", "SUAP", valid, map[string]string{intake.MetaUploadedBy: "mario"})
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
	p, _ := docs.ParseUploadKey(key)
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
	if _, err := f.docs.Head(ctx, f.docs.Document(intake.RefusedKey("c_g999", p.Upload))); domain.ErrorCode(err) != domain.ENOTFOUND {
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
	csvBytes, _, err := f.docs.GetBytes(context.Background(), f.docs.Document(intake.RefusedKey("c_g999", u.ID)))
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
		{"bad protocol number", "c_g999", "SUAP", valid, map[string]string{intake.MetaProtocolNumber: "12a", intake.MetaProtocolDate: "2026-11-25"}, 0, "protocol", domain.ReasonBadManualProtocol},
		{"bad protocol date", "c_g999", "SUAP", valid, map[string]string{intake.MetaProtocolNumber: "12", intake.MetaProtocolDate: "25/11/2026"}, 0, "protocol", domain.ReasonBadManualProtocol},
		{"manual register without number", "c_l537", "SUAP", valid, nil, 0, "protocol", domain.ReasonNoManualProtocol},
		{"no valid row", "c_g999", "SUAP", header + "Verdi;Luca;X;31/02/1980;Atlantide;;\r\n", nil, 0, "", domain.ReasonNoValidRow},
		{"manual over batch size", "c_g999", "SUAP", valid + row("Verdi", "Luca", domain.Male, domain.Date{Year: 1990, Month: 3, Day: 3}) +
			row("Neri", "Sara", domain.Female, domain.Date{Year: 1991, Month: 4, Day: 4}),
			map[string]string{intake.MetaProtocolNumber: "12", intake.MetaProtocolDate: "2026-11-25"}, 0, "", domain.ReasonManualTooMany},
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

func TestManualAccepted(t *testing.T) {
	f := newFixture(t)
	key, ver := f.put(t, "c_l537", "SUAP", valid, map[string]string{intake.MetaProtocolNumber: "55", intake.MetaProtocolDate: "2026-11-24"})
	u, err := f.h.Process(context.Background(), key, ver, domain.CauseS3(key, ver))
	if err != nil || u.State != domain.UploadQueued || u.Protocol == nil || u.Protocol.Number != "0000055" {
		t.Fatalf("%+v %v", u, err)
	}
	p, err := intake.ManualProtocol(map[string]string{intake.MetaProtocolNumber: "55", intake.MetaProtocolDate: "2026-11-24"})
	if err != nil || p.Number != "0000055" || p.Date.String() != "2026-11-24" {
		t.Errorf("%+v %v", p, err)
	}
	if p, err := intake.ManualProtocol(nil); p != nil || err != nil {
		t.Errorf("no metadata: %+v %v", p, err)
	}
}

func TestFinalErrors(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// Not an upload key: nothing recorded, the event is not retried.
	if _, err := f.h.Process(ctx, "c_g999/SUAP/rossi_mario.csv", "", domain.CauseS3("k", "v")); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("bad key: %v", err)
	}
	// The object is gone.
	gone := docs.UploadKey("c_g999", "SUAP", domain.NewID(), "csv")
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
	ev := event("c_g999/SUAP/rossi_mario.csv", "")
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

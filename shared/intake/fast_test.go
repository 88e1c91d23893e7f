package intake_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/intake"
	"github.com/casellario-pec/casellario/shared/namelist"
	"github.com/casellario-pec/casellario/shared/notice"
	"github.com/casellario-pec/casellario/shared/s3docs"
	"github.com/casellario-pec/casellario/shared/s3docs/s3docstest"
	"github.com/casellario-pec/casellario/shared/store/memstore"
	"github.com/casellario-pec/casellario/shared/tenants"
	"github.com/casellario-pec/casellario/shared/uploads"
)

// The fast tests: intake over the in-memory store and S3 (no server).

type fast struct {
	st   *memstore.Store
	docs *s3docs.Docs
	h    *intake.Handler
	sent *recorder
}

func newFast(t *testing.T) *fast {
	t.Helper()
	f := &fast{st: memstore.New(memstore.Options{}), docs: s3docstest.New(t), sent: &recorder{}}
	tc := tenants.Demo()
	tc.Tenants[1].Protocol.Kind = tenants.ProtocolManual
	f.h = &intake.Handler{Store: f.st, Docs: f.docs, Tenants: tc, Notify: f.sent, Log: slog.New(slog.DiscardHandler),
		Now: func() time.Time { return time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC) }}
	return f
}

func (f *fast) put(t *testing.T, key, body string, meta map[string]string) string {
	t.Helper()
	obj, err := f.docs.PutWithMetadata(context.Background(), f.docs.Upload(key), "text/csv", strings.NewReader(body), meta)
	if err != nil {
		t.Fatal(err)
	}
	return obj.Version
}

// TestFastRejections: each list intake refuses, the reason recorded, the
// report the office reads (its Italian message), nobody stored, one notice.
func TestFastRejections(t *testing.T) {
	key := func(tenant, office string) string { return s3docs.UploadKey(tenant, office, domain.NewID(), "csv") }
	for _, tc := range []struct {
		name, key, body string
		meta            map[string]string
		max             int64
		reason          domain.ReasonCode
		code, message   string // of report.json's error, when the file could not be read
	}{
		{name: "unreadable file", key: key("c_g999", "SUAP"), body: "%PDF-1.4 not a list", reason: domain.ReasonUnreadableList, code: namelist.CodeUnsupported},
		{name: "binary garbage", key: key("c_g999", "SUAP"), body: "\x00\x01\x02\x03", reason: domain.ReasonUnreadableList},
		{name: "unknown office", key: key("c_g999", "NESSUNO"), body: valid, reason: domain.ReasonUnknownOffice, code: "office", message: domain.ReasonUnknownOffice.Italian()},
		{name: "unknown tenant", key: key("c_x000", "SUAP"), body: valid, reason: domain.ReasonUnknownOffice, code: "office", message: domain.ReasonUnknownOffice.Italian()},
		{name: "header only", key: key("c_g999", "SUAP"), body: header, reason: domain.ReasonNoRows, code: "empty",
			message: "Il file non contiene nominativi: dopo la riga di intestazione non c'è alcuna riga compilata"},
		{name: "too large", key: key("c_g999", "SUAP"), body: valid, max: 20, reason: domain.ReasonFileTooLarge, code: namelist.CodeTooLarge,
			message: "Il file supera la dimensione massima consentita (0 MB)."},
		{name: "a protocol number in the metadata", key: key("c_g999", "SUAP"), body: valid, meta: map[string]string{uploads.MetaProtocolNumber: "12"},
			reason: domain.ReasonManualNotAllowed, code: "protocol",
			message: "Il numero di protocollo si indica solo dalla pagina o dall'interfaccia dell'ufficio protocollo, non nei metadati del file."},
		{name: "manual register, no number", key: key("c_l537", "SUAP"), body: valid, reason: domain.ReasonNoManualProtocol, code: "protocol",
			message: "Il Comune registra le richieste a mano: caricare l'elenco indicando numero e data di protocollo."},
		{name: "no valid row", key: key("c_g999", "SUAP"), body: header + "Verdi;Luca;X;31/02/1980;Atlantide;;\r\n", reason: domain.ReasonNoValidRow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFast(t)
			f.h.Read.MaxBytes = tc.max
			ver := f.put(t, tc.key, tc.body, tc.meta)
			u, err := f.h.Process(context.Background(), tc.key, ver, domain.CauseS3(tc.key, ver))
			if err != nil {
				t.Fatal(err)
			}
			if u.State != domain.UploadRejected || u.Reason.Code != tc.reason || u.ReportKey == "" {
				t.Fatalf("upload %+v", u)
			}
			stored, err := f.st.GetUpload(context.Background(), u.Tenant, u.ID)
			if err != nil || stored.State != domain.UploadRejected || stored.Reason != u.Reason {
				t.Fatalf("stored %+v %v", stored, err)
			}
			b, _, err := f.docs.GetBytes(context.Background(), f.docs.Document(u.ReportKey))
			if err != nil {
				t.Fatal(err)
			}
			var rep struct {
				Error *struct{ Code, Message string }
			}
			if err := json.Unmarshal(b, &rep); err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.code == "" && tc.reason == domain.ReasonNoValidRow:
				if rep.Error != nil {
					t.Errorf("a report of rows was expected: %s", b)
				}
			case rep.Error == nil || rep.Error.Message == "":
				t.Errorf("report without the file's error: %s", b)
			case tc.code != "" && rep.Error.Code != tc.code, tc.message != "" && rep.Error.Message != tc.message:
				t.Errorf("report error %+v, want %s %q", rep.Error, tc.code, tc.message)
			}
			if subs, _ := f.st.SubjectsOfUpload(context.Background(), u.Tenant, u.ID); len(subs) != 0 {
				t.Errorf("%d subjects stored", len(subs))
			}
			if len(f.sent.n) != 1 || f.sent.n[0].Kind != notice.ListRejected || f.sent.n[0].Reason != tc.reason {
				t.Errorf("notices %+v", f.sent.n)
			}
		})
	}
}

// TestFastFinalAndRetried: what HandleS3 gives up on (logged, the event is
// not retried) and what it returns for a retry, with the store after.
func TestFastFinalAndRetried(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, f *fast) (key, version string)
		code    string // of Process
		retried bool   // HandleS3 returns an error
		uploads int    // uploads of SUAP stored after
	}{
		{"not an upload key", func(t *testing.T, f *fast) (string, string) { return "c_g999/rossi_mario.csv", "" }, domain.EINVALID, false, 0},
		{"object gone", func(t *testing.T, f *fast) (string, string) {
			return s3docs.UploadKey("c_g999", "SUAP", domain.NewID(), "csv"), ""
		}, domain.ENOTFOUND, false, 0},
		{"upload id used by another object", func(t *testing.T, f *fast) (string, string) {
			k := s3docs.UploadKey("c_g999", "SUAP", domain.NewID(), "csv")
			p, _ := s3docs.ParseUploadKey(k)
			if _, err := f.st.CreateUpload(ctx, domain.Upload{ID: p.Upload, Tenant: "c_g999", Office: "SUAP", Key: k, SHA256: strings.Repeat("0", 64)},
				domain.CauseUser("x")); err != nil {
				t.Fatal(err)
			}
			return k, f.put(t, k, valid, nil)
		}, domain.ECONFLICT, false, 1},
		{"another intake holds the upload", func(t *testing.T, f *fast) (string, string) {
			k := s3docs.UploadKey("c_g999", "SUAP", domain.NewID(), "csv")
			p, _ := s3docs.ParseUploadKey(k)
			if _, err := f.st.AcquireLease(ctx, "c_g999", "intake-"+p.Upload, "another", time.Hour); err != nil {
				t.Fatal(err)
			}
			return k, f.put(t, k, valid, nil)
		}, domain.EBUSY, true, 1},
		{"the store fails", func(t *testing.T, f *fast) (string, string) {
			f.h.Store = failing{f.st}
			k := s3docs.UploadKey("c_g999", "SUAP", domain.NewID(), "csv")
			return k, f.put(t, k, valid, nil)
		}, domain.EINTERNAL, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFast(t)
			key, ver := tc.prepare(t, f)
			_, err := f.h.Process(ctx, key, ver, domain.CauseS3(key, ver))
			if domain.ErrorCode(err) != tc.code {
				t.Fatalf("Process: %v, want %s", err, tc.code)
			}
			err = f.h.HandleS3(ctx, event(key, ver))
			if (err != nil) != tc.retried {
				t.Fatalf("HandleS3: %v, retried %v", err, tc.retried)
			}
			ups, err := f.st.ListUploads(ctx, "c_g999", "SUAP", 0)
			if err != nil || len(ups) != tc.uploads {
				t.Fatalf("uploads %+v %v", ups, err)
			}
			for _, u := range ups {
				if u.State != domain.UploadReceived || u.Version != 1 {
					t.Errorf("upload changed: %+v", u)
				}
			}
			if len(f.sent.n) != 0 {
				t.Errorf("notices %+v", f.sent.n)
			}
		})
	}
}

// TestFastQueued: a good list is queued with its people pending, and a
// second delivery changes nothing.
func TestFastQueued(t *testing.T) {
	ctx := context.Background()
	f := newFast(t)
	k := s3docs.UploadKey("c_g999", "SUAP", domain.NewID(), "csv")
	ver := f.put(t, k, valid, map[string]string{uploads.MetaUploadedBy: "mario"})
	for range 2 {
		if err := f.h.HandleS3(ctx, event(k, ver)); err != nil {
			t.Fatal(err)
		}
	}
	ups, _ := f.st.ListUploads(ctx, "c_g999", "SUAP", 0)
	pending, _ := f.st.PendingSubjects(ctx, "c_g999", "SUAP", 10)
	if len(ups) != 1 || ups[0].State != domain.UploadQueued || ups[0].Counts.Valid != 2 || ups[0].UploadedBy != "mario" || len(pending) != 2 {
		t.Fatalf("uploads %+v, %d pending", ups, len(pending))
	}
	evs, _ := f.st.Events(ctx, "c_g999", ups[0].ID)
	if len(evs) != 2 || len(f.sent.n) != 1 || f.sent.n[0].Kind != notice.ListReceived {
		t.Fatalf("events %+v, notices %+v", evs, f.sent.n)
	}
}

// failing is a store whose uploads cannot be recorded.
type failing struct{ domain.Store }

func (failing) CreateUpload(context.Context, domain.Upload, domain.Cause) (domain.Upload, error) {
	return domain.Upload{}, &domain.Error{Code: domain.EINTERNAL, Message: "table unavailable", Err: errors.New("connection reset")}
}

package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/api"
	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/namelist"
	"github.com/casellario-pec/casellario/shared/s3docs"
	"github.com/casellario-pec/casellario/shared/uploads"
)

const goodAndBad = "Cognome;Nome;Sesso;Data di nascita;Comune o Stato di nascita\n" +
	"Ferri;Giovanna;F;03/04/1975;Prato\n" +
	"Galli;Piero;M;15/09/1968;Firenze\n" +
	"Neri;Carla;X;01/01/1990;Prato\n"

// uploadList posts a list as user and returns the upload id and the answer.
func uploadList(t *testing.T, u api.User, list string) (string, map[string]any) {
	t.Helper()
	body, ctype := multipartList(t, "elenco.csv", []byte(list), nil)
	var out map[string]any
	code, b := call(t, "POST", "/api/v1/uploads", token(t, u), body, ctype, &out)
	if code != http.StatusCreated {
		t.Fatalf("upload: %d %s", code, b)
	}
	return out["upload"].(map[string]any)["id"].(string), out
}

func waitUpload(t *testing.T, tenant, id string, want domain.UploadState) domain.Upload {
	t.Helper()
	var up domain.Upload
	waitFor(t, "intake of upload "+id, 20*time.Second, func() bool {
		var err error
		up, err = run.Store.GetUpload(context.Background(), tenant, id)
		return err == nil && up.State == want
	})
	return up
}

// TestOfficeJourney is a clerk's journey through the API: upload with a refused row,
// the synchronous validation, intake through the S3 notification, dispatch
// and poll, the batch with its timeline, the reports, and a certificate
// downloaded through its presigned URL with one audit entry.
func TestOfficeJourney(t *testing.T) {
	local(t)
	ctx := context.Background()
	u := officeUser(prato, "ELETTORALE")
	tok := token(t, u)
	id, ans := uploadList(t, u, goodAndBad)

	v := ans["validation"].(map[string]any)
	sum := v["summary"].(map[string]any)
	if sum["rows"] != 3.0 || sum["valid"] != 2.0 || sum["invalid"] != 1.0 {
		t.Fatalf("summary %v", sum)
	}
	bad := v["rows"].([]any)[2].(map[string]any)
	if bad["valid"] != false || bad["row"] != 4.0 || !strings.Contains(strings.ToLower(bad["errors"].([]any)[0].(map[string]any)["message"].(string)), "sesso") {
		t.Fatalf("refused row: %v", bad)
	}
	if got := ans["upload"].(map[string]any); got["office"] != "ELETTORALE" || got["uploaded_by"] != u.Name || got["state"] != "received" {
		t.Errorf("upload in answer: %v", got)
	}
	// The upload exists as soon as the answer says so: its Location answers.
	if code, b := call(t, "GET", "/api/v1/uploads/"+id, tok, nil, "", nil); code != 200 {
		t.Errorf("the Location of a 201: %d %s", code, b)
	}

	up := waitUpload(t, prato, id, domain.UploadQueued)
	if up.UploadedBy != u.Name || up.Counts.Invalid != 1 {
		t.Errorf("stored upload: %+v", up)
	}
	obj, err := run.Docs.Head(ctx, run.Docs.Upload(s3docs.UploadKey(prato, "ELETTORALE", id, "csv")))
	if err != nil || obj.Metadata[uploads.MetaUploadedBy] != u.Name {
		t.Fatalf("uploaded object: %+v %v", obj, err)
	}

	var list struct{ Uploads []map[string]any }
	if code, b := call(t, "GET", "/api/v1/uploads", tok, nil, "", &list); code != 200 || len(list.Uploads) == 0 || list.Uploads[0]["id"] != id {
		t.Fatalf("my uploads: %d %s", code, b)
	}
	code, b := call(t, "GET", "/api/v1/uploads/"+id+"/report.json", tok, nil, "", nil)
	if code != 200 || !bytes.Contains(b, []byte(`"summary"`)) {
		t.Fatalf("report.json: %d %s", code, b)
	}
	code, b = call(t, "GET", "/api/v1/uploads/"+id+"/refused.csv", tok, nil, "", nil)
	if code != 200 || !bytes.Contains(b, []byte("Neri")) || !bytes.Contains(b, []byte("Motivo")) {
		t.Fatalf("refused.csv: %d %s", code, b)
	}

	control(t, "dispatch")
	var batches struct{ Batches []map[string]any }
	if code, b := call(t, "GET", "/api/v1/batches", tok, nil, "", &batches); code != 200 || len(batches.Batches) != 1 {
		t.Fatalf("batches: %d %s", code, b)
	}
	batch := batches.Batches[0]["id"].(string)
	var detail struct {
		Batch    map[string]any
		Timeline []api.Step
		People   []map[string]any
		Events   []map[string]any
	}
	waitFor(t, "the certificates", 30*time.Second, func() bool {
		control(t, "poll")
		code, b := call(t, "GET", "/api/v1/batches/"+batch, tok, nil, "", &detail)
		if code != 200 {
			t.Fatalf("batch: %d %s", code, b)
		}
		return detail.Batch["state"] == "completed"
	})
	var labels []string
	for _, s := range detail.Timeline {
		labels = append(labels, s.Label)
		if s.At == nil {
			t.Errorf("step %s has no time", s.Label)
		}
	}
	if strings.Join(labels, ",") != "caricata,protocollata,inviata,accettata,consegnata,risposta ricevuta,completata" {
		t.Errorf("timeline %v", labels)
	}
	if len(detail.People) != 2 || len(detail.Events) < 6 {
		t.Fatalf("people %d, events %d", len(detail.People), len(detail.Events))
	}
	var subject string
	for _, p := range detail.People {
		if p["surname"] == "FERRI" {
			subject = p["id"].(string)
		}
		if p["certificate"] == nil || p["state"] != "certified" {
			t.Errorf("person %v", p)
		}
	}

	var link struct {
		URL       string    `json:"url"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if code, b := call(t, "GET", "/api/v1/certificates/"+subject, tok, nil, "", &link); code != 200 {
		t.Fatalf("certificate: %d %s", code, b)
	}
	if strings.Contains(link.URL, "FERRI") || strings.Contains(strings.ToUpper(link.URL), "GIOVANNA") || time.Until(link.ExpiresAt) > 6*time.Minute {
		t.Errorf("presigned link %+v", link)
	}
	resp, err := http.Get(link.URL)
	if err != nil {
		t.Fatal(err)
	}
	pdf, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.HasPrefix(pdf, []byte("%PDF")) {
		t.Fatalf("certificate download: %d %.40q", resp.StatusCode, pdf)
	}
	if text := pdfText(t, pdf); !strings.Contains(text, "FERRI") || !strings.Contains(text, "GIOVANNA") {
		t.Errorf("certificate text does not name the person: %.300s", text)
	}
	evs, err := run.Store.Events(ctx, prato, id)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Note == domain.NoteDownloaded {
			n++
			if e.Cause != domain.CauseUser(u.Name) || e.About != subject || !strings.Contains(e.Detail, subject) || strings.Contains(strings.ToUpper(e.Detail), "FERRI") {
				t.Errorf("audit event %+v", e)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d download events, want 1", n)
	}

	// The protocol office sees the same batch; another office does not.
	if code, _ := call(t, "GET", "/api/v1/batches/"+batch, token(t, protocolUser(prato)), nil, "", nil); code != 200 {
		t.Errorf("protocol office: batch %d", code)
	}
	var all struct{ Batches []map[string]any }
	if code, _ := call(t, "GET", "/api/v1/batches", token(t, protocolUser(prato)), nil, "", &all); code != 200 || len(all.Batches) == 0 {
		t.Errorf("protocol office: batches %d %v", code, all)
	}
	var ups struct{ Uploads []map[string]any }
	if code, _ := call(t, "GET", "/api/v1/uploads?office=ELETTORALE", token(t, protocolUser(prato)), nil, "", &ups); code != 200 || len(ups.Uploads) == 0 {
		t.Errorf("protocol office: uploads of an office %d", code)
	}
	journey = struct{ upload, batch, subject string }{id, batch, subject}
}

// journey holds the ids TestOfficeJourney made, for the refusal tests.
var journey struct{ upload, batch, subject string }

// TestRefusals: every way a request is turned away.
func TestRefusals(t *testing.T) {
	local(t)
	if journey.upload == "" {
		TestOfficeJourney(t)
	}
	ctx := context.Background()
	other, err := api.NewLocalIssuer("test-issuer", "test-audience")
	if err != nil {
		t.Fatal(err)
	}
	mustSign := func(s string, err error) string {
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	owner := officeUser(prato, "ELETTORALE")
	claims := func(extra map[string]any) map[string]any {
		m := map[string]any{"sub": "x", "tenant": prato, "office": "ELETTORALE", "role": "office"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	iss2, _ := api.NewLocalIssuer("another-issuer", "test-audience")
	aud2, _ := api.NewLocalIssuer("test-issuer", "another-audience")
	// a token of the right issuer name and audience but signed by another key
	forged := mustSign(other.Sign(owner, time.Hour))
	triageIt, _, err := run.Store.CreateTriage(ctx, domain.TriageItem{Tenant: prato, Mailbox: "protocollo@pec.comune.prato.test",
		MessageKey: prato + "/pec/aa/refusals.eml", Kind: "non-pec", Reason: domain.Because(domain.ReasonNotPEC, "test item")})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, method, path, token string
		authz                     string // raw Authorization header, when set
		want                      int
		code                      string
	}{
		{"no token", "GET", "/api/v1/me", "", "", 401, "unauthorized"},
		{"basic scheme", "GET", "/api/v1/me", "", "Basic dXNlcjpwYXNz", 401, "unauthorized"},
		{"empty bearer", "GET", "/api/v1/uploads", "", "Bearer ", 401, "unauthorized"},
		{"garbage", "GET", "/api/v1/me", "not-a-jwt", "", 401, "unauthorized"},
		{"other key", "GET", "/api/v1/me", forged, "", 401, "unauthorized"},
		{"expired", "GET", "/api/v1/me", mustSign(issuer.Sign(owner, -time.Hour)), "", 401, "unauthorized"},
		{"other issuer", "GET", "/api/v1/me", mustSign(iss2.Sign(owner, time.Hour)), "", 401, "unauthorized"},
		{"other audience", "GET", "/api/v1/me", mustSign(aud2.Sign(owner, time.Hour)), "", 401, "unauthorized"},
		{"bad role", "GET", "/api/v1/me", mustSign(issuer.SignClaims(claims(map[string]any{"role": "admin"}), time.Hour)), "", 401, "unauthorized"},
		{"office user without office", "GET", "/api/v1/me", mustSign(issuer.SignClaims(claims(map[string]any{"office": ""}), time.Hour)), "", 401, "unauthorized"},
		{"no tenant", "GET", "/api/v1/me", mustSign(issuer.SignClaims(claims(map[string]any{"tenant": ""}), time.Hour)), "", 401, "unauthorized"},
		{"unknown tenant", "GET", "/api/v1/me", token(t, officeUser("c_x000", "SUAP")), "", 403, "forbidden"},
		{"unknown office", "GET", "/api/v1/me", token(t, officeUser(prato, "NESSUNO")), "", 403, "forbidden"},
		{"office user: triage list", "GET", "/api/v1/triage", token(t, owner), "", 403, "forbidden"},
		{"office user: triage show", "GET", "/api/v1/triage/" + triageIt.ID, token(t, owner), "", 403, "forbidden"},
		{"office user: triage assign", "POST", "/api/v1/triage/" + triageIt.ID + "/assign", token(t, owner), "", 403, "forbidden"},
		{"office user: triage dismiss", "POST", "/api/v1/triage/" + triageIt.ID + "/dismiss", token(t, owner), "", 403, "forbidden"},
		{"other office: upload", "GET", "/api/v1/uploads/" + journey.upload, token(t, officeUser(prato, "SUAP")), "", 404, "not_found"},
		{"other office: report", "GET", "/api/v1/uploads/" + journey.upload + "/report.json", token(t, officeUser(prato, "SUAP")), "", 404, "not_found"},
		{"other office: refused", "GET", "/api/v1/uploads/" + journey.upload + "/refused.csv", token(t, officeUser(prato, "SUAP")), "", 404, "not_found"},
		{"other office: batch", "GET", "/api/v1/batches/" + journey.batch, token(t, officeUser(prato, "SUAP")), "", 404, "not_found"},
		{"other office: certificate", "GET", "/api/v1/certificates/" + journey.subject, token(t, officeUser(prato, "SUAP")), "", 404, "not_found"},
		{"other office: uploads list", "GET", "/api/v1/uploads?office=ELETTORALE", token(t, officeUser(prato, "SUAP")), "", 404, "not_found"},
		{"other office: batches list", "GET", "/api/v1/batches?office=ELETTORALE", token(t, officeUser(prato, "SUAP")), "", 404, "not_found"},
		{"other tenant: upload", "GET", "/api/v1/uploads/" + journey.upload, token(t, officeUser(vaiano, "SUAP")), "", 404, "not_found"},
		{"other tenant protocol: upload", "GET", "/api/v1/uploads/" + journey.upload, token(t, protocolUser(vaiano)), "", 404, "not_found"},
		{"other tenant protocol: batch", "GET", "/api/v1/batches/" + journey.batch, token(t, protocolUser(vaiano)), "", 404, "not_found"},
		{"other tenant protocol: certificate", "GET", "/api/v1/certificates/" + journey.subject, token(t, protocolUser(vaiano)), "", 404, "not_found"},
		{"other tenant protocol: triage", "GET", "/api/v1/triage/" + triageIt.ID, token(t, protocolUser(vaiano)), "", 404, "not_found"},
		{"other tenant protocol: report", "GET", "/api/v1/uploads/" + journey.upload + "/report.json", token(t, protocolUser(vaiano)), "", 404, "not_found"},
		{"unknown upload", "GET", "/api/v1/uploads/" + domain.NewID(), token(t, owner), "", 404, "not_found"},
		{"malformed upload id", "GET", "/api/v1/uploads/..%2f..%2fetc", token(t, owner), "", 404, "not_found"},
		{"malformed batch id", "GET", "/api/v1/batches/xyz", token(t, owner), "", 404, "not_found"},
		{"malformed subject", "GET", "/api/v1/certificates/abc", token(t, owner), "", 404, "not_found"},
		{"uncertified subject", "GET", "/api/v1/certificates/" + journey.upload + "-4", token(t, owner), "", 404, "not_found"},
		{"unknown route", "GET", "/api/v1/nothing", token(t, owner), "", 404, "not_found"},
		{"wrong method", "DELETE", "/api/v1/uploads", token(t, owner), "", 405, "method_not_allowed"},
		{"wrong method on item", "POST", "/api/v1/batches/" + journey.batch, token(t, owner), "", 405, "method_not_allowed"},
		{"dev users off in AWS", "GET", "/api/v1/dev/users", "", "", 404, "not_found"},
		{"bad triage state", "GET", "/api/v1/triage?state=closed", token(t, protocolUser(prato)), "", 400, "invalid"},
		{"unknown triage item", "GET", "/api/v1/triage/nothing", token(t, protocolUser(prato)), "", 404, "not_found"},
		{"unknown office for protocol", "GET", "/api/v1/uploads?office=NESSUNO", token(t, protocolUser(prato)), "", 404, "not_found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader("{}"))
			if c.token != "" {
				req.Header.Set("Authorization", "Bearer "+c.token)
			}
			if c.authz != "" {
				req.Header.Set("Authorization", c.authz)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.want, b)
			}
			if got := errorCode(t, b); got != c.code {
				t.Errorf("code %q, want %q", got, c.code)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("content type %q", ct)
			}
			if c.want == 401 && resp.Header.Get("WWW-Authenticate") == "" && strings.HasPrefix(c.path, "/api/v1/me") {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

// TestUploadErrors: every refusal of an upload, and an unreadable file that
// is stored but answered with its file-level error.
func TestUploadErrors(t *testing.T) {
	local(t)
	small := newHandler(api.Config{Read: namelist.Options{MaxBytes: 200}})
	office := token(t, officeUser(prato, "SUAP"))
	prot := token(t, protocolUser(prato))
	big := strings.Repeat("Rossi;Mario;M;01/01/1980;Roma\n", 20)
	type tc struct {
		name    string
		h       http.Handler
		tok     string
		query   string
		body    func() (io.Reader, string)
		want    int
		code    string
		checkOK func(t *testing.T, b []byte)
	}
	mp := func(name, data string, fields map[string]string) func() (io.Reader, string) {
		return func() (io.Reader, string) { return multipartList(t, name, []byte(data), fields) }
	}
	raw := func(data, ctype string) func() (io.Reader, string) {
		return func() (io.Reader, string) { return strings.NewReader(data), ctype }
	}
	cases := []tc{
		{name: "no file part", tok: office, body: mp("", "", map[string]string{"office": "SUAP"}), want: 400, code: "invalid"},
		{name: "empty file", tok: office, body: mp("elenco.csv", "", nil), want: 400, code: "invalid"},
		{name: "empty raw body", tok: office, body: raw("", "text/csv"), want: 400, code: "invalid"},
		{name: "broken multipart", tok: office, body: raw("--x\r\nnot a part", "multipart/form-data; boundary=x"), want: 400, code: "invalid"},
		{name: "multipart without boundary", tok: office, body: raw("x", "multipart/form-data"), want: 400, code: "invalid"},
		{name: "too large multipart", h: small, tok: office, body: mp("elenco.csv", "Cognome;Nome;Sesso;Data di nascita;Comune o Stato di nascita\n"+big, nil), want: 413, code: "too_large"},
		{name: "too large raw", h: small, tok: office, body: raw(strings.Repeat(big, 10), "text/csv"), want: 413, code: "too_large"},
		{name: "office user for another office", tok: office, query: "?office=CONTRATTI", body: mp("elenco.csv", goodAndBad, nil), want: 403, code: "forbidden"},
		{name: "protocol office without office", tok: prot, body: mp("elenco.csv", goodAndBad, nil), want: 400, code: "invalid"},
		{name: "protocol office, unknown office", tok: prot, body: mp("elenco.csv", goodAndBad, map[string]string{"office": "NESSUNO"}), want: 400, code: "invalid"},
		{name: "bad protocol number", tok: prot, body: mp("elenco.csv", goodAndBad, map[string]string{"office": "SUAP", "protocol_number": "abc", "protocol_date": "2026-01-02"}), want: 400, code: "invalid"},
		{name: "bad protocol date", tok: prot, query: "?office=SUAP&protocol_number=123&protocol_date=02/01/2026", body: mp("elenco.csv", goodAndBad, nil), want: 400, code: "invalid"},
		{name: "a clerk may not give a protocol number", tok: office, body: mp("elenco.csv", goodAndBad, map[string]string{"protocol_number": "777", "protocol_date": "2026-01-02"}), want: 403, code: "forbidden"},
		{name: "the protocol office gives one", tok: prot, body: mp("elenco.csv", goodAndBad, map[string]string{"office": "SUAP", "protocol_number": "778", "protocol_date": "2026-01-02"}), want: 201,
			checkOK: func(t *testing.T, b []byte) {
				if !bytes.Contains(b, []byte(`"file_name":"elenco.csv"`)) {
					t.Errorf("upload: %s", b)
				}
			}},
		{name: "the same number twice", tok: prot, body: mp("altro.csv", goodAndBad, map[string]string{"office": "CONTRATTI", "protocol_number": "778", "protocol_date": "2026-03-04"}), want: 409, code: "conflict"},
		{name: "unreadable file is stored with its error", tok: office, body: raw("\x00\x01\x02 binary", "application/octet-stream"), want: 201,
			checkOK: func(t *testing.T, b []byte) {
				var a struct {
					Validation struct {
						Error struct{ Code, Message string }
					}
				}
				if json.Unmarshal(b, &a) != nil || a.Validation.Error.Code == "" || a.Validation.Error.Message == "" {
					t.Errorf("validation error missing: %s", b)
				}
			}},
		{name: "raw CSV body", tok: office, query: "?filename=x.csv", body: raw(goodAndBad, "text/csv"), want: 201},
		{name: "protocol office for an office", tok: prot, body: mp("elenco.csv", goodAndBad, map[string]string{"office": "CONTRATTI"}), want: 201,
			checkOK: func(t *testing.T, b []byte) {
				if !bytes.Contains(b, []byte(`"office":"CONTRATTI"`)) {
					t.Errorf("office: %s", b)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var h http.Handler = srv.Config.Handler
			if c.h != nil {
				h = c.h
			}
			body, ctype := c.body()
			req, _ := http.NewRequest("POST", "/api/v1/uploads"+c.query, body)
			req.Header.Set("Authorization", "Bearer "+c.tok)
			req.Header.Set("Content-Type", ctype)
			rec := newRecorder()
			h.ServeHTTP(rec, req)
			if rec.status != c.want {
				t.Fatalf("status %d, want %d: %s", rec.status, c.want, rec.body.Bytes())
			}
			if c.code != "" {
				if got := errorCode(t, rec.body.Bytes()); got != c.code {
					t.Errorf("code %q, want %q", got, c.code)
				}
			}
			if c.checkOK != nil {
				c.checkOK(t, rec.body.Bytes())
			}
		})
	}
}

// recorder is a minimal ResponseWriter for calling the handler in process.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder            { return &recorder{header: http.Header{}} }
func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(s int)   { r.status = s }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	return r.body.Write(b)
}

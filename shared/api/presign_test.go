package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/casellario-pec/casellario/shared/api"
	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/namelist"
	"github.com/casellario-pec/casellario/shared/tenants"
)

type presignAnswer struct {
	Upload struct {
		ID       string `json:"id"`
		Office   string `json:"office"`
		State    string `json:"state"`
		FileName string `json:"file_name"`
	} `json:"upload"`
	URL       string            `json:"url"`
	Method    string            `json:"method"`
	Headers   map[string]string `json:"headers"`
	ExpiresAt string            `json:"expires_at"`
}

func presignBody(office, name string, size int) string {
	b, _ := json.Marshal(map[string]any{"office": office, "file_name": name, "size": size})
	return string(b)
}

// put sends the list to the presigned URL as the page does.
func put(t *testing.T, a presignAnswer, data []byte) {
	t.Helper()
	req, _ := http.NewRequest(a.Method, a.URL, bytes.NewReader(data))
	for k, v := range a.Headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("PUT to the presigned URL: %d", res.StatusCode)
	}
}

// TestPresignedUpload: the page asks for a URL, PUTs the list there, and the
// upload it was given goes through intake like any other, with its file name.
func TestPresignedUpload(t *testing.T) {
	local(t)
	d := loadDoc(t)
	for _, tt := range []struct {
		name   string
		user   api.User
		office string
	}{
		{"office user, own office", officeUser(prato, "SUAP"), ""},
		{"office user naming its office", officeUser(prato, "SUAP"), "SUAP"},
		{"protocol office for an office", protocolUser(prato), "CONTRATTI"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var a presignAnswer
			code, b := call(t, "POST", "/api/v1/uploads/presign", token(t, tt.user),
				strings.NewReader(presignBody(tt.office, "elenco grande.csv", len(goodAndBad))), "application/json", &a)
			if code != http.StatusCreated {
				t.Fatalf("presign: %d %s", code, b)
			}
			var v any
			_ = json.Unmarshal(b, &v)
			if err := conform(d, map[string]any{"$ref": "#/components/schemas/PresignAnswer"}, v, "presign"); err != nil {
				t.Error(err)
			}
			want := tt.office
			if want == "" {
				want = tt.user.Office
			}
			if a.Method != "PUT" || a.Upload.State != "received" || a.Upload.Office != want || a.Upload.FileName != "elenco grande.csv" ||
				a.Headers["Content-Type"] != "text/csv" || a.Headers["X-Amz-Meta-Uploaded-By"] != tt.user.Name || a.ExpiresAt == "" {
				t.Fatalf("answer %s", b)
			}
			put(t, a, []byte(goodAndBad))
			up := waitUpload(t, prato, a.Upload.ID, domain.UploadQueued)
			if up.Counts.Valid != 2 || up.Counts.Invalid != 1 || up.FileName != "elenco grande.csv" || len(up.SHA256) != 64 || up.UploadedBy != tt.user.Name {
				t.Fatalf("upload after intake %+v", up)
			}
		})
	}
}

func TestPresignRefusals(t *testing.T) {
	local(t)
	small := newHandler(api.Config{Read: namelist.Options{MaxBytes: 200}})
	manualTenants := &tenants.Config{Tenants: append([]tenants.Tenant(nil), run.Tenants.Tenants...)}
	manualTenants.Tenants[1].Protocol.Kind = tenants.ProtocolManual
	manual := newHandler(api.Config{Tenants: manualTenants})
	office := token(t, officeUser(prato, "SUAP"))
	prot := token(t, protocolUser(prato))
	for _, tt := range []struct {
		name string
		h    http.Handler
		tok  string
		body string
		want int
		code string
	}{
		{"no token", nil, "", presignBody("", "a.csv", 10), 401, "unauthorized"},
		{"not JSON", nil, office, "office=SUAP", 400, "invalid"},
		{"unknown field", nil, office, `{"file_name":"a.csv","size":10,"sha":"x"}`, 400, "invalid"},
		{"another office", nil, office, presignBody("CONTRATTI", "a.csv", 10), 403, "forbidden"},
		{"protocol office without office", nil, prot, presignBody("", "a.csv", 10), 400, "invalid"},
		{"unknown office", nil, prot, presignBody("NESSUNO", "a.csv", 10), 400, "invalid"},
		{"another Comune's office", nil, prot, presignBody("DEMOGRAFICI", "a.csv", 10), 400, "invalid"},
		{"not a list", nil, office, presignBody("", "elenco.xls", 10), 400, "invalid"},
		{"no extension", nil, office, presignBody("", "elenco", 10), 400, "invalid"},
		{"no size", nil, office, presignBody("", "a.csv", 0), 400, "invalid"},
		{"negative size", nil, office, presignBody("", "a.csv", -5), 400, "invalid"},
		{"over the limit", small, office, presignBody("", "a.csv", 201), 413, "too_large"},
		{"over the default limit", nil, office, presignBody("", "a.xlsx", namelist.DefaultMaxBytes+1), 413, "too_large"},
		{"manual register", manual, token(t, officeUser(vaiano, manualTenants.Tenants[1].Offices[0].Code)), presignBody("", "a.csv", 10), 400, "invalid"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.h
			if h == nil {
				h = srv.Config.Handler
			}
			req, _ := http.NewRequest("POST", "/api/v1/uploads/presign", strings.NewReader(tt.body))
			if tt.tok != "" {
				req.Header.Set("Authorization", "Bearer "+tt.tok)
			}
			req.Header.Set("Content-Type", "application/json")
			rec := newRecorder()
			h.ServeHTTP(rec, req)
			if rec.status != tt.want {
				t.Fatalf("status %d, want %d: %s", rec.status, tt.want, rec.body.Bytes())
			}
			if got := errorCode(t, rec.body.Bytes()); got != tt.code {
				t.Errorf("code %q, want %q", got, tt.code)
			}
		})
	}
}

package api_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/intake"
)

// TestTraceability follows the journey's list to its request and back, gets
// the refused rows as Excel, all the certificates as a ZIP (list and
// request), and searches by surname, codice fiscale and protocol number.
func TestTraceability(t *testing.T) {
	if journey.upload == "" {
		TestOfficeJourney(t)
	}
	u := officeUser(prato, "ELETTORALE")
	tok := token(t, u)

	var list struct {
		Upload   map[string]any
		Requests []map[string]any
		People   []map[string]any
		Events   []map[string]any
	}
	if code, b := call(t, "GET", "/api/v1/uploads/"+journey.upload, tok, nil, "", &list); code != 200 {
		t.Fatalf("upload: %d %s", code, b)
	}
	if len(list.Requests) != 1 || list.Requests[0]["id"] != journey.batch || list.Requests[0]["from_list"] != 2.0 {
		t.Fatalf("the list's requests %v", list.Requests)
	}
	prot := list.Requests[0]["protocol"].(map[string]any)
	if !strings.HasPrefix(prot["text"].(string), "prot. n. CPEC-"+prot["number"].(string)+" del ") {
		t.Errorf("protocol %v", prot)
	}
	if list.Upload["state_label"] != "completato" || list.Upload["office_name"] == "ELETTORALE" {
		t.Errorf("upload words %v / %v", list.Upload["state_label"], list.Upload["office_name"])
	}
	var certified bool
	for _, e := range list.Events {
		if s, _ := e["text"].(string); strings.Contains(s, "certificato arrivato") && strings.Contains(s, prot["text"].(string)) {
			certified = true
		}
	}
	if !certified {
		t.Errorf("no event names the request: %v", list.Events)
	}
	for _, p := range list.People {
		if c, _ := p["certificate"].(map[string]any); c != nil && (c["outcome_label"] == "" || c["outcome_help"] == "") {
			t.Errorf("certificate words %v", c)
		}
	}

	var req struct{ Lists []map[string]any }
	if code, b := call(t, "GET", "/api/v1/batches/"+journey.batch, tok, nil, "", &req); code != 200 || len(req.Lists) != 1 || req.Lists[0]["id"] != journey.upload {
		t.Fatalf("the request's lists: %d %s", code, b)
	}

	code, b := call(t, "GET", "/api/v1/uploads/"+journey.upload+"/refused.xlsx", tok, nil, "", nil)
	if code != 200 || !bytes.HasPrefix(b, []byte("PK")) {
		t.Fatalf("refused.xlsx: %d %.40q", code, b)
	}
	if zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b))); err != nil || !zipHas(zr, "xl/workbook.xml") {
		t.Fatalf("refused.xlsx is not a workbook: %v", err)
	}
	_ = intake.RefusedSheet

	before := downloads(t, journey.upload)
	for _, path := range []string{"/api/v1/uploads/" + journey.upload + "/certificates.zip", "/api/v1/batches/" + journey.batch + "/certificates.zip"} {
		var link struct {
			URL   string
			Count int
		}
		if code, b := call(t, "GET", path, tok, nil, "", &link); code != 200 || link.Count != 2 {
			t.Fatalf("%s: %d %s", path, code, b)
		}
		if strings.Contains(strings.ToUpper(link.URL), "FERRI") {
			t.Errorf("a name in the URL: %s", link.URL)
		}
		res, err := http.Get(link.URL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
		if err != nil {
			t.Fatalf("%s: not a ZIP (%d): %v", path, res.StatusCode, err)
		}
		var names []string
		for _, f := range zr.File {
			names = append(names, f.Name)
			rc, _ := f.Open()
			head := make([]byte, 4)
			_, _ = io.ReadFull(rc, head)
			rc.Close()
			if string(head) != "%PDF" {
				t.Errorf("%s: %s is not a PDF", path, f.Name)
			}
		}
		sort.Strings(names)
		want := []string{"prot-" + prot["number"].(string) + " riga 2 FERRI GIOVANNA.pdf", "prot-" + prot["number"].(string) + " riga 3 GALLI PIERO.pdf"}
		if strings.Join(names, "|") != strings.Join(want, "|") {
			t.Errorf("%s: entries %q, want %q", path, names, want)
		}
	}
	if got := downloads(t, journey.upload) - before; got != 4 {
		t.Errorf("%d audit events for two ZIPs of two certificates, want 4", got)
	}
	// Another office sees neither the list's nor the request's ZIP (no
	// other test uploads for this one, so its search finds nobody).
	other := token(t, officeUser(prato, "EDILIZIA-PUBBLICA"))
	for _, path := range []string{"/api/v1/uploads/" + journey.upload + "/certificates.zip", "/api/v1/batches/" + journey.batch + "/certificates.zip"} {
		if code, _ := call(t, "GET", path, other, nil, "", nil); code != 404 {
			t.Errorf("another office: %s %d", path, code)
		}
	}

	// Listings come in pages that follow one another.
	ptok := token(t, protocolUser(prato))
	for _, path := range []string{"/api/v1/uploads", "/api/v1/batches"} {
		key := strings.TrimPrefix(path, "/api/v1/")
		var whole, first, second map[string]any
		if code, b := call(t, "GET", path+"?limit=200", ptok, nil, "", &whole); code != 200 {
			t.Fatalf("%s: %d %s", path, code, b)
		}
		n := len(whole[key].([]any))
		if code, b := call(t, "GET", path+"?limit=1", ptok, nil, "", &first); code != 200 || (first["next"] == "") != (n < 2) {
			t.Fatalf("%s first page of %d: %d %s", path, n, code, b)
		}
		if n < 2 {
			continue
		}
		if code, b := call(t, "GET", path+"?limit=1&cursor="+url.QueryEscape(first["next"].(string)), ptok, nil, "", &second); code != 200 {
			t.Fatalf("%s second page: %d %s", path, code, b)
		}
		a, b := first[key].([]any), second[key].([]any)
		if len(a) != 1 || len(b) != 1 || a[0].(map[string]any)["id"] == b[0].(map[string]any)["id"] ||
			a[0].(map[string]any)["created_at"].(string) < b[0].(map[string]any)["created_at"].(string) {
			t.Errorf("%s pages %v then %v", path, a, b)
		}
		for _, bad := range []string{"?limit=0", "?limit=500", "?cursor=yesterday"} {
			if code, _ := call(t, "GET", path+bad, ptok, nil, "", nil); code != 400 {
				t.Errorf("%s%s: %d", path, bad, code)
			}
		}
	}

	var ferri string
	for _, p := range list.People {
		if p["surname"] == "FERRI" {
			ferri = p["fiscal_code"].(string)
		}
	}
	tests := []struct {
		name, who, q string
		code         int
		people, reqs int
	}{
		{"surname prefix, any case and accent", "office", "ferrì", 200, 1, 0},
		{"surname and name", "office", "galli pie", 200, 1, 0},
		{"codice fiscale", "office", strings.ToLower(ferri), 200, 1, 0},
		{"protocol number", "office", strings.TrimLeft(prot["number"].(string), "0"), 200, 0, 1},
		{"protocol number with the register", "protocol", "CPEC-" + prot["number"].(string), 200, 0, 1},
		{"the protocol office finds anyone", "protocol", "ferri", 200, 1, 0},
		{"another office finds nobody", "other", "ferri", 200, 0, 0},
		{"too short", "office", "f", 400, 0, 0},
		{"refused rows are not people", "office", "neri", 200, 0, 0},
	}
	// The query is a name or a codice fiscale: never in a URL.
	if code, b := call(t, "GET", "/api/v1/search?q=ferri", tok, nil, "", nil); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /search?q=: %d %s, want 405", code, b)
	}
	for _, body := range []string{"", "ferri", `{"q":"ferri","x":1}`} {
		if code, b := call(t, "POST", "/api/v1/search", tok, strings.NewReader(body), "application/json", nil); code != http.StatusBadRequest {
			t.Errorf("POST /search %q: %d %s, want 400", body, code, b)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tk := map[string]string{"office": tok, "other": other, "protocol": token(t, protocolUser(prato))}[tt.who]
			var res struct {
				People   []map[string]any
				Requests []map[string]any
				Complete bool
			}
			body, _ := json.Marshal(map[string]string{"q": tt.q})
			code, b := call(t, "POST", "/api/v1/search", tk, bytes.NewReader(body), "application/json", &res)
			if code != tt.code {
				t.Fatalf("%d %s", code, b)
			}
			if code != 200 {
				return
			}
			if len(res.People) < tt.people || tt.people == 0 && len(res.People) != 0 || len(res.Requests) != tt.reqs || !res.Complete {
				t.Fatalf("%d people, %d requests: %s", len(res.People), len(res.Requests), b)
			}
			var fromJourney bool
			for _, p := range res.People {
				if p["file_name"] == "" {
					t.Errorf("a person found without its list's name: %v", p)
				}
				if p["upload"] == journey.upload {
					fromJourney = p["protocol"].(map[string]any)["text"] == prot["text"]
				}
			}
			if tt.people > 0 && !fromJourney {
				t.Errorf("the journey's person not found with its request: %s", b)
			}
		})
	}
}

func zipHas(zr *zip.Reader, name string) bool {
	for _, f := range zr.File {
		if f.Name == name {
			return true
		}
	}
	return false
}

func downloads(t *testing.T, upload string) int {
	t.Helper()
	evs, err := run.Store.Events(t.Context(), prato, upload)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Note == domain.NoteDownloaded {
			n++
		}
	}
	return n
}

package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/casellario-pec/casellario/shared/api"
	"github.com/casellario-pec/casellario/shared/report"
)

// TestReport: the protocol office's report of its Comune, after the office
// journey sent a request of ELETTORALE.
func TestReport(t *testing.T) {
	if journey.upload == "" {
		TestOfficeJourney(t)
	}
	d := loadDoc(t)
	prot := token(t, protocolUser(prato))
	today := time.Now().In(report.Rome).Format(time.DateOnly)
	usage := func(context.Context, time.Time, time.Time) (*report.Usage, error) {
		return &report.Usage{Source: "test", Functions: map[string]report.FunctionUsage{"poll": {Invocations: 1e6, DurationMS: 1e9, MemoryMB: 512}}}, nil
	}
	withUsage := httptestServer(t, newHandler(api.Config{Usage: usage}))
	failing := httptestServer(t, newHandler(api.Config{Usage: func(context.Context, time.Time, time.Time) (*report.Usage, error) {
		return nil, errors.New("AccessDenied")
	}}))
	for _, tt := range []struct {
		name  string
		base  string
		query string
		cost  bool
		basis string
	}{
		{"no usage source", srv.URL, "", false, "no usage figure"},
		{"today only", srv.URL, "?from=" + today + "&to=" + today, false, "no usage figure"},
		{"with usage", withUsage, "", true, "test usage"},
		{"usage failing: figures without cost", failing, "", false, "no usage figure"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, b := get(t, tt.base+"/api/v1/report"+tt.query, prot)
			if code != 200 {
				t.Fatalf("%d %s", code, b)
			}
			var v any
			_ = json.Unmarshal(b, &v)
			if err := conform(d, map[string]any{"$ref": "#/components/schemas/TurnaroundReport"}, v, "report"); err != nil {
				t.Fatal(err)
			}
			var rep report.Report
			_ = json.Unmarshal(b, &rep)
			if len(rep.Tenants) != 1 || rep.Tenants[0].Tenant != prato || rep.Tenants[0].TenantName == "" || rep.To != today {
				t.Fatalf("report %s", b)
			}
			cfg, _ := run.Tenants.Tenant(prato)
			if len(rep.Tenants[0].Offices) < len(cfg.Offices) {
				t.Fatalf("offices %d, want every one of %d", len(rep.Tenants[0].Offices), len(cfg.Offices))
			}
			var el report.OfficeReport
			for _, o := range rep.Tenants[0].Offices {
				if o.Office == "ELETTORALE" {
					el = o
				}
			}
			if el.Requests < 1 || el.People < 2 || el.Turnaround.UploadToSent.P50 == nil || el.OfficeName == "" {
				t.Errorf("ELETTORALE %+v", el)
			}
			if (rep.Cost.PerRequestEUR != nil) != tt.cost || !strings.Contains(rep.Cost.Basis, tt.basis) {
				t.Errorf("cost %+v", rep.Cost)
			}
		})
	}
}

func TestReportRefusals(t *testing.T) {
	local(t)
	prot := token(t, protocolUser(prato))
	for _, tt := range []struct {
		name, path, tok string
		want            int
		code            string
	}{
		{"office user", "/api/v1/report", token(t, officeUser(prato, "SUAP")), 403, "forbidden"},
		{"office user, workbook", "/api/v1/report.xlsx", token(t, officeUser(prato, "SUAP")), 403, "forbidden"},
		{"no token", "/api/v1/report", "", 401, "unauthorized"},
		{"bad from", "/api/v1/report?from=01/03/2026", prot, 400, "invalid"},
		{"bad to", "/api/v1/report.xlsx?to=2026-02-30", prot, 400, "invalid"},
		{"from after to", "/api/v1/report?from=2026-03-02&to=2026-03-01", prot, 400, "invalid"},
		{"wrong method", "/api/v1/report", prot, 405, "method_not_allowed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			method := "GET"
			if tt.want == 405 {
				method = "POST"
			}
			code, b := call(t, method, tt.path, tt.tok, nil, "", nil)
			if code != tt.want {
				t.Fatalf("%d, want %d: %s", code, tt.want, b)
			}
			if got := errorCode(t, b); got != tt.code {
				t.Errorf("code %q, want %q", got, tt.code)
			}
			if tt.want == 400 && !strings.Contains(string(b), "AAAA-MM-GG") {
				t.Errorf("message for users: %s", b)
			}
		})
	}
}

func TestReportWorkbook(t *testing.T) {
	if journey.upload == "" {
		TestOfficeJourney(t)
	}
	code, b := get(t, srv.URL+"/api/v1/report.xlsx?from=2026-01-01", token(t, protocolUser(prato)))
	if code != 200 {
		t.Fatalf("%d %s", code, b)
	}
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := strings.Join(f.GetSheetList(), ","); got != api.ReportSheet+","+api.ReportFailuresSheet {
		t.Fatalf("sheets %s", got)
	}
	rows, _ := f.GetRows(api.ReportSheet)
	if len(rows) < 7 || rows[5][0] != "Comune" || rows[5][1] != api.ReportHeader[0] || rows[5][len(api.ReportHeader)] != api.ReportHeader[len(api.ReportHeader)-1] {
		t.Fatalf("header %v", rows)
	}
	if v, _ := f.GetCellValue(api.ReportSheet, "B2"); v != "01/01/2026" {
		t.Errorf("from shown as %q", v)
	}
	if raw, _ := f.GetCellValue(api.ReportSheet, "B2", excelize.Options{RawCellValue: true}); raw != "46023" {
		t.Errorf("from is not a date serial: %q", raw)
	}
	found := false
	for _, r := range rows[6:] {
		if len(r) > 4 && r[2] == "ELETTORALE" && r[3] != "0" {
			found = true
		}
	}
	if !found {
		t.Errorf("no ELETTORALE row with requests: %v", rows[6:])
	}
	frows, _ := f.GetRows(api.ReportFailuresSheet)
	if len(frows) < 1 || strings.Join(frows[0], ",") != strings.Join(api.ReportFailuresHeader, ",") {
		t.Errorf("failures sheet %v", frows)
	}
}

// TestReportWorkbookValues: hours as numbers, no value as an empty cell,
// failures with their Italian text.
func TestReportWorkbookValues(t *testing.T) {
	p := 1.5
	rep := report.Report{From: "2026-03-01", To: "2026-03-31", Cost: report.Cost{PerRequestEUR: &p, Basis: "b"},
		Tenants: []report.TenantReport{{Tenant: "c_g999", TenantName: "Comune di Prato", Offices: []report.OfficeReport{{
			Office: "SUAP", OfficeName: "Sportello", Requests: 2, People: 3, Overdue: 1, Failed: 1,
			Turnaround: report.Turnaround{UploadToSent: report.Percentiles{P50: &p, P90: &p}},
			Failures:   []report.Failure{{Code: "not-delivered", Text: "Non consegnata", Requests: 1, People: 2}}}}}}}
	b, err := api.ReportWorkbook(rep)
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, _ := f.GetRows(api.ReportSheet)
	want := []string{"Comune di Prato", "Sportello", "SUAP", "2", "3", "1.5", "1.5", "", "", "", "", "", "", "1", "1"}
	if strings.Join(rows[6], "|") != strings.Join(want, "|") {
		t.Errorf("row %q, want %q", rows[6], want)
	}
	if v, _ := f.GetCellValue(api.ReportSheet, "B4"); v != "1.5" {
		t.Errorf("cost %q", v)
	}
	frows, _ := f.GetRows(api.ReportFailuresSheet)
	if len(frows) != 2 || strings.Join(frows[1], "|") != "Comune di Prato|SUAP|not-delivered|Non consegnata|1|2" {
		t.Errorf("failures %q", frows)
	}
}

func httptestServer(t *testing.T, h http.Handler) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}

func get(t *testing.T, url, tok string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(res.Body)
	return res.StatusCode, buf.Bytes()
}

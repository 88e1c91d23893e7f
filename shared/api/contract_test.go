package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/xuri/excelize/v2"

	"github.com/casellario-pec/casellario/shared/api"
	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/localdev/inproc"
	"github.com/casellario-pec/casellario/shared/namelist"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/poll"
)

type openapiDoc struct {
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]map[string]any `json:"schemas"`
	} `json:"components"`
}

func loadDoc(t *testing.T) openapiDoc {
	t.Helper()
	var d openapiDoc
	if err := json.Unmarshal(api.OpenAPI(), &d); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	return d
}

// TestOpenAPIMatchesRoutes: every route of the handler is in the document
// with its method, and the document has nothing the handler lacks.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	d := loadDoc(t)
	h := newFast(t, func(c *api.Config) { c.DevUsers = func() []api.DevUser { return nil } }).h
	var inMux, inDoc []string
	for _, r := range h.Routes() {
		inMux = append(inMux, r.Method+" "+r.Path)
	}
	for p, ops := range d.Paths {
		for m := range ops {
			if m == "parameters" {
				continue
			}
			inDoc = append(inDoc, strings.ToUpper(m)+" "+p)
		}
	}
	sort.Strings(inMux)
	sort.Strings(inDoc)
	if strings.Join(inMux, "\n") != strings.Join(inDoc, "\n") {
		t.Errorf("routes and openapi.json differ:\nhandler:\n%s\n\ndocument:\n%s", strings.Join(inMux, "\n"), strings.Join(inDoc, "\n"))
	}
	rec := newRecorder()
	req, _ := http.NewRequest("GET", "/api/v1/openapi.json", nil)
	h.ServeHTTP(rec, req)
	if rec.status != 200 || !bytes.Equal(rec.body.Bytes(), api.OpenAPI()) {
		t.Errorf("served document differs: %d", rec.status)
	}
}

// conform checks v against a schema of the document, structurally: types,
// required properties, enums, nullable, items, allOf and oneOf, $ref.
func conform(d openapiDoc, schema map[string]any, v any, at string) error {
	if ref, ok := schema["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		s, ok := d.Components.Schemas[name]
		if !ok {
			return fmt.Errorf("%s: unknown $ref %s", at, ref)
		}
		return conform(d, s, v, at)
	}
	if all, ok := schema["allOf"].([]any); ok {
		for _, s := range all {
			if err := conform(d, s.(map[string]any), v, at); err != nil {
				return err
			}
		}
	}
	if one, ok := schema["oneOf"].([]any); ok {
		var errs []string
		for _, s := range one {
			err := conform(d, s.(map[string]any), v, at)
			if err == nil {
				return nil
			}
			errs = append(errs, err.Error())
		}
		return fmt.Errorf("%s: matches no alternative: %s", at, strings.Join(errs, "; "))
	}
	if v == nil {
		if schema["nullable"] == true || schema["type"] == nil {
			return nil
		}
		return fmt.Errorf("%s: null", at)
	}
	if enum, ok := schema["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			found = found || e == v
		}
		if !found {
			return fmt.Errorf("%s: %v not in %v", at, v, enum)
		}
	}
	switch schema["type"] {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: not an object", at)
		}
		for _, r := range asList(schema["required"]) {
			if _, ok := m[r.(string)]; !ok {
				return fmt.Errorf("%s: no %q", at, r)
			}
		}
		props, _ := schema["properties"].(map[string]any)
		for k, pv := range m {
			if ps, ok := props[k].(map[string]any); ok {
				if err := conform(d, ps, pv, at+"."+k); err != nil {
					return err
				}
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: not an array", at)
		}
		if is, ok := schema["items"].(map[string]any); ok {
			for i, e := range a {
				if err := conform(d, is, e, fmt.Sprintf("%s[%d]", at, i)); err != nil {
					return err
				}
			}
		}
	case "string":
		if _, ok := v.(string); !ok {
			return fmt.Errorf("%s: not a string", at)
		}
	case "integer", "number":
		if _, ok := v.(float64); !ok {
			return fmt.Errorf("%s: not a number", at)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: not a boolean", at)
		}
	}
	return nil
}

func asList(v any) []any { l, _ := v.([]any); return l }

// TestResponsesMatchSchemas validates the answers of the main routes
// against the document's schemas.
func TestResponsesMatchSchemas(t *testing.T) {
	local(t)
	if journey.upload == "" {
		TestOfficeJourney(t)
	}
	d := loadDoc(t)
	office := token(t, officeUser(prato, "ELETTORALE"))
	prot := token(t, protocolUser(prato))
	body, ctype := multipartList(t, "elenco.csv", []byte(goodAndBad), nil)
	cases := []struct {
		name, method, path, tok, schema string
		body                            func() ([]byte, string)
		want                            int
	}{
		{"me", "GET", "/api/v1/me", office, "Me", nil, 200},
		{"config", "GET", "/api/v1/config", "", "Config", nil, 200},
		{"uploads", "GET", "/api/v1/uploads", office, "UploadList", nil, 200},
		{"upload", "GET", "/api/v1/uploads/" + journey.upload, office, "UploadDetail", nil, 200},
		{"report", "GET", "/api/v1/uploads/" + journey.upload + "/report.json", office, "Validation", nil, 200},
		{"batches", "GET", "/api/v1/batches", office, "BatchList", nil, 200},
		{"batch", "GET", "/api/v1/batches/" + journey.batch, office, "BatchDetail", nil, 200},
		{"certificate", "GET", "/api/v1/certificates/" + journey.subject, office, "CertificateLink", nil, 200},
		{"triage", "GET", "/api/v1/triage?state=all", prot, "TriageList", nil, 200},
		{"post upload", "POST", "/api/v1/uploads", office, "UploadAnswer", func() ([]byte, string) {
			b := new(bytes.Buffer)
			b.ReadFrom(body)
			return b.Bytes(), ctype
		}, 201},
		{"error", "GET", "/api/v1/batches/" + domain.NewID(), office, "Error", nil, 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var rd *bytes.Reader
			var ct string
			if c.body != nil {
				b, typ := c.body()
				rd, ct = bytes.NewReader(b), typ
			} else {
				rd = bytes.NewReader(nil)
			}
			code, b := call(t, c.method, c.path, c.tok, rd, ct, nil)
			if code != c.want {
				t.Fatalf("status %d: %s", code, b)
			}
			var v any
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatal(err)
			}
			if err := conform(d, map[string]any{"$ref": "#/components/schemas/" + c.schema}, v, c.name); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestTriageRoutes: list, show, assign and dismiss through the API.
func TestTriageRoutes(t *testing.T) {
	local(t)
	if journey.upload == "" {
		TestOfficeJourney(t)
	}
	ctx := context.Background()
	trust, err := pec.ParseTrustStore(run.World.CAPEM)
	if err != nil {
		t.Fatal(err)
	}
	rp := &poll.Handler{Store: run.Store, Triage: run.Store, Docs: run.Docs, Tenants: run.Tenants, Trust: trust}
	h := httptest.NewServer(newHandler(api.Config{Assign: rp}))
	defer h.Close()
	key := prato + "/pec/bb/triage-test.eml"
	if _, err := run.Docs.Put(ctx, run.Docs.Document(key), "message/rfc822", strings.NewReader("Subject: hello\r\n\r\nnot a PEC message\r\n")); err != nil {
		t.Fatal(err)
	}
	it, _, err := run.Store.CreateTriage(ctx, domain.TriageItem{Tenant: prato, Mailbox: "protocollo@pec.comune.prato.test",
		MessageKey: key, Kind: "non-pec", Reason: domain.Because(domain.ReasonNotPEC, "not a PEC message")})
	if err != nil {
		t.Fatal(err)
	}
	prot := token(t, protocolUser(prato))
	do := func(method, path, body string) (int, []byte) {
		req, _ := http.NewRequest(method, h.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+prot)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp.StatusCode, b.Bytes()
	}
	base := "/api/v1/triage/" + it.ID
	steps := []struct {
		name, method, path, body string
		want                     int
		contains                 string
	}{
		{"list open", "GET", "/api/v1/triage", "", 200, it.ID},
		{"show", "GET", base, "", 200, `"state":"open"`},
		{"assign: not JSON", "POST", base + "/assign", "batch=x", 400, "invalid"},
		{"assign: unknown field", "POST", base + "/assign", `{"lotto":"x"}`, 400, "invalid"},
		{"assign: malformed batch", "POST", base + "/assign", `{"batch":"x"}`, 400, "invalid"},
		{"assign: unknown batch", "POST", base + "/assign", `{"batch":"` + domain.NewID() + `"}`, 400, "Nessuna richiesta"},
		{"assign: unknown item", "POST", "/api/v1/triage/nothing/assign", `{"batch":"` + journey.batch + `"}`, 404, "not_found"},
		{"assign: not a PEC message", "POST", base + "/assign", `{"batch":"` + journey.batch + `"}`, 400, "Archiviarlo"},
		{"assign: neither a request nor a protocol number", "POST", base + "/assign", `{"note":"x"}`, 400, "numero di protocollo"},
		{"assign: a protocol number without date", "POST", base + "/assign", `{"protocol":"CPEC-0000001"}`, 400, "data"},
		{"assign: another register", "POST", base + "/assign", `{"protocol":"PG-0000001","date":"2026-01-15"}`, 400, "non è quello"},
		{"assign: no such number", "POST", base + "/assign", `{"protocol":"CPEC-0999999","date":"2026-01-15"}`, 400, "Nessuna richiesta"},
		{"text of the message", "GET", base + "/message", "", 200, "not a PEC message"},
		{"requests it may belong to", "GET", base + "/requests", "", 200, journey.batch},
		{"dismiss: no reason", "POST", base + "/dismiss", `{"reason":"  ","confirm":true}`, 400, "motivo"},
		{"dismiss: not confirmed", "POST", base + "/dismiss", `{"reason":"pubblicità"}`, 400, "confermare"},
		{"dismiss: unknown item", "POST", "/api/v1/triage/nothing/dismiss", `{"reason":"x","confirm":true}`, 404, "not_found"},
		{"dismiss", "POST", base + "/dismiss", `{"reason":"pubblicità","confirm":true}`, 200, `"state":"dismissed"`},
		{"assign a dismissed item", "POST", base + "/assign", `{"batch":"` + journey.batch + `","note":"n"}`, 409, "conflict"},
		{"list dismissed", "GET", "/api/v1/triage?state=dismissed", "", 200, it.ID},
	}
	for _, s := range steps {
		code, b := do(s.method, s.path, s.body)
		if code != s.want || !bytes.Contains(b, []byte(s.contains)) {
			t.Errorf("%s: %d %s; want %d with %q", s.name, code, b, s.want, s.contains)
		}
	}
	viewed := false
	for _, e := range must(run.Store.Events(ctx, prato, it.ID)) {
		viewed = viewed || (e.Note == domain.NoteMessageRead && e.Cause == domain.CauseUser(protocolUser(prato).Name))
	}
	if !viewed {
		t.Error("reading the message left no trace in the audit trail")
	}
	// Without an assigner, assign is an internal error, not a silent success.
	code, b := call(t, "POST", "/api/v1/triage/"+it.ID+"/assign", prot, strings.NewReader(`{"batch":"`+journey.batch+`"}`), "application/json", nil)
	if code != 500 || errorCode(t, b) != "internal" {
		t.Errorf("assign without reprocessor: %d %s", code, b)
	}
}

// TestLambdaAdapter: API Gateway HTTP API events reach the handler and
// come back as its answers, binary bodies base64-encoded.
func TestLambdaAdapter(t *testing.T) {
	fn := api.LambdaHandler(newFast(t, nil).h)
	ctx := context.Background()
	ev := func(method, path, query, body string, b64 bool, headers map[string]string) events.APIGatewayV2HTTPRequest {
		e := events.APIGatewayV2HTTPRequest{RawPath: path, RawQueryString: query, Body: body, IsBase64Encoded: b64, Headers: headers}
		e.RequestContext.HTTP.Method = method
		e.RequestContext.HTTP.Path = path
		return e
	}
	tok := token(t, officeUser(prato, "SUAP"))
	cases := []struct {
		name   string
		ev     events.APIGatewayV2HTTPRequest
		status int
		check  func(t *testing.T, r events.APIGatewayV2HTTPResponse)
	}{
		{"openapi", ev("GET", "/api/v1/openapi.json", "", "", false, nil), 200, func(t *testing.T, r events.APIGatewayV2HTTPResponse) {
			if r.IsBase64Encoded || !strings.Contains(r.Body, `"openapi"`) {
				t.Errorf("body %.80s", r.Body)
			}
		}},
		{"page", ev("GET", "/", "", "", false, nil), 200, func(t *testing.T, r events.APIGatewayV2HTTPResponse) {
			if !strings.Contains(r.Body, `lang="it"`) || r.Headers["Content-Security-Policy"] == "" {
				t.Errorf("page: %v %.80s", r.Headers, r.Body)
			}
		}},
		{"template is binary", ev("GET", "/api/v1/template.xlsx", "", "", false, nil), 200, func(t *testing.T, r events.APIGatewayV2HTTPResponse) {
			b, err := base64.StdEncoding.DecodeString(r.Body)
			if !r.IsBase64Encoded || err != nil || !bytes.HasPrefix(b, []byte("PK")) {
				t.Errorf("template: base64 %v, %v", r.IsBase64Encoded, err)
			}
		}},
		{"no token", ev("GET", "/api/v1/me", "", "", false, nil), 401, nil},
		{"me", ev("GET", "/api/v1/me", "", "", false, map[string]string{"authorization": "Bearer " + tok}), 200, func(t *testing.T, r events.APIGatewayV2HTTPResponse) {
			if !strings.Contains(r.Body, `"office":"SUAP"`) {
				t.Errorf("me: %s", r.Body)
			}
		}},
		{"raw upload, base64 body and query", ev("POST", "/api/v1/uploads", "filename=elenco.csv",
			base64.StdEncoding.EncodeToString([]byte(goodAndBad)), true,
			map[string]string{"authorization": "Bearer " + tok, "content-type": "text/csv"}), 201, func(t *testing.T, r events.APIGatewayV2HTTPResponse) {
			if !strings.Contains(r.Body, `"invalid":1`) {
				t.Errorf("upload: %s", r.Body)
			}
		}},
		{"bad base64", ev("POST", "/api/v1/uploads", "", "***", true, nil), 400, nil},
		{"unknown", ev("GET", "/api/v1/x", "", "", false, nil), 404, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := fn(ctx, c.ev)
			if err != nil {
				t.Fatal(err)
			}
			if r.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %.200s", r.StatusCode, c.status, r.Body)
			}
			if c.check != nil {
				c.check(t, r)
			}
		})
	}
}

// TestTemplate: headers namelist recognises, M/F and date validation, the
// instructions sheet, and a filled template that validates.
func TestTemplate(t *testing.T) {
	rec := newFast(t, nil).do(t, "GET", "/api/v1/template.xlsx", "", nil, "")
	if rec.Code != 200 {
		t.Fatalf("template: %d", rec.Code)
	}
	f, err := excelize.OpenReader(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if sheets := f.GetSheetList(); len(sheets) != 2 || sheets[0] != api.TemplateSheet || sheets[1] != api.TemplateHelpSheet {
		t.Fatalf("sheets %v", sheets)
	}
	rows, _ := f.GetRows(api.TemplateSheet)
	if len(rows) != 1 || strings.Join(rows[0], "|") != strings.Join(api.TemplateHeader, "|") {
		t.Errorf("header %v", rows)
	}
	dvs, err := f.GetDataValidations(api.TemplateSheet)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, dv := range dvs {
		kinds[dv.Type] = dv.Sqref + " " + dv.Formula1
	}
	if !strings.HasPrefix(kinds["list"], "C2:") || !strings.Contains(kinds["list"], "M,F") || !strings.HasPrefix(kinds["date"], "D2:") {
		t.Errorf("data validations %v", kinds)
	}
	help, _ := f.GetRows(api.TemplateHelpSheet)
	if len(help) < 5 || !strings.Contains(help[0][0], "Modello") {
		t.Errorf("instructions %v", help)
	}
	f.SetSheetRow(api.TemplateSheet, "A2", &[]any{"Rossi", "Mario", "M", time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC), "Roma"})
	var buf bytes.Buffer
	f.WriteTo(&buf)
	n := 0
	if _, err := namelist.Read("modello.xlsx", &buf, namelist.Options{}, func(r namelist.Row) error { n++; return nil }); err != nil || n != 1 {
		t.Errorf("filled template: %d rows, %v", n, err)
	}
}

// TestCognitoClaims: an ID token as Cognito issues it, verified against a
// JWKS fetched through OIDC discovery.
func TestCognitoClaims(t *testing.T) {
	iss, err := api.NewLocalIssuer("", "client-id")
	if err != nil {
		t.Fatal(err)
	}
	// The identity provider, served in process: discovery, then its keys.
	const idpURL = "https://cognito-idp.eu-south-1.amazonaws.test/pool"
	fetched := 0
	idp := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/pool/.well-known/openid-configuration":
			json.NewEncoder(w).Encode(map[string]string{"issuer": idpURL, "jwks_uri": idpURL + "/.well-known/jwks.json"})
		case "/pool/.well-known/jwks.json":
			fetched++
			json.NewEncoder(w).Encode(iss.JWKS())
		default:
			http.NotFound(w, r)
		}
	})
	iss.Issuer = idpURL
	auth := &api.JWTAuth{Issuer: idpURL, Audience: "client-id", Keys: &api.RemoteKeys{Issuer: idpURL, Client: inproc.Client(idp)}}
	sign := func(c map[string]any) string {
		s, err := iss.SignClaims(c, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	cases := []struct {
		name   string
		claims map[string]any
		want   api.User
		ok     bool
	}{
		{"clerk", map[string]any{"sub": "u1", "cognito:username": "mrossi", "token_use": "id", "custom:tenant": prato, "custom:office": "SUAP"},
			api.User{Name: "mrossi", Tenant: prato, Office: "SUAP", Role: api.RoleOffice}, true},
		{"protocol group", map[string]any{"sub": "u2", "cognito:username": "prot", "token_use": "id", "custom:tenant": prato, "cognito:groups": []string{"altro", "protocollo"}},
			api.User{Name: "prot", Tenant: prato, Role: api.RoleProtocol}, true},
		{"access token refused", map[string]any{"sub": "u3", "token_use": "access", "custom:tenant": prato, "custom:office": "SUAP"}, api.User{}, false},
		{"no group, no office", map[string]any{"sub": "u4", "token_use": "id", "custom:tenant": prato}, api.User{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u, err := auth.Authenticate(context.Background(), sign(c.claims))
			if (err == nil) != c.ok || u != c.want {
				t.Errorf("got %+v, %v; want %+v (ok %v)", u, err, c.want, c.ok)
			}
		})
	}
	// A key the JWKS does not have: refused, and the JWKS is not fetched again at once.
	other, _ := api.NewLocalIssuer(idpURL, "client-id")
	tok, _ := other.SignClaims(map[string]any{"sub": "x", "custom:tenant": prato, "custom:office": "SUAP"}, time.Hour)
	before := fetched
	if _, err := auth.Authenticate(context.Background(), tok); err == nil {
		t.Error("token of an unknown key accepted")
	}
	if fetched != before {
		t.Errorf("the JWKS fetched again at once (%d times in all)", fetched)
	}
	if _, err := (&api.JWTAuth{Issuer: "x", Keys: api.StaticKeys{Set: jose.JSONWebKeySet{}}}).Authenticate(context.Background(), tok); err == nil {
		t.Error("empty key set accepted a token")
	}
}

// TestTriageOverride: a PEC whose certified sender is not the Procura is
// attributed to a request only with an explicit confirmation and a reason,
// both recorded; without them nothing changes.
func TestTriageOverride(t *testing.T) {
	local(t)
	if journey.upload == "" {
		TestOfficeJourney(t)
	}
	ctx := context.Background()
	trust, err := pec.ParseTrustStore(run.World.CAPEM)
	if err != nil {
		t.Fatal(err)
	}
	rp := &poll.Handler{Store: run.Store, Triage: run.Store, Docs: run.Docs, Tenants: run.Tenants, Trust: trust}
	h := httptest.NewServer(newHandler(api.Config{Assign: rp}))
	defer h.Close()
	var orig, env bytes.Buffer
	orig.WriteString("From: cancelleria@pec.tribunale.test\r\nTo: protocollo@pec.comune.prato.test\r\nSubject: Certificati\r\n" +
		"Message-ID: <override-1@pec.tribunale.test>\r\n\r\nIn allegato.\r\n")
	if _, err := pec.WriteEnvelope(&env, orig.Bytes(), pec.EnvelopeSpec{Recipients: []pec.Recipient{{Address: "protocollo@pec.comune.prato.test",
		Type: pec.RecipientCertificato}}, Domain: "gestore.sim.test"}, run.World.Provider.Signer()); err != nil {
		t.Fatal(err)
	}
	key := prato + "/pec/cc/override-test.eml"
	if _, err := run.Docs.Put(ctx, run.Docs.Document(key), "message/rfc822", bytes.NewReader(env.Bytes())); err != nil {
		t.Fatal(err)
	}
	it, _, err := run.Store.CreateTriage(ctx, domain.TriageItem{Tenant: prato, Mailbox: "protocollo@pec.comune.prato.test",
		MessageKey: key, Kind: "posta-certificata", Reason: domain.Because(domain.ReasonNotProcura, "certified sender not the Procura")})
	if err != nil {
		t.Fatal(err)
	}
	prot := token(t, protocolUser(prato))
	post := func(body string) (int, []byte) {
		req, _ := http.NewRequest("POST", h.URL+"/api/v1/triage/"+it.ID+"/assign", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+prot)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	before := must(run.Store.Events(ctx, prato, journey.batch))
	for _, body := range []string{`{"batch":"` + journey.batch + `"}`, `{"batch":"` + journey.batch + `","override":{"confirm":true}}`,
		`{"batch":"` + journey.batch + `","override":{"reason":"telefonata"}}`} {
		code, b := post(body)
		if code != 409 || errorCode(t, b) != "override_required" || !bytes.Contains(b, []byte("mittente certificato")) {
			t.Fatalf("%s: %d %s", body, code, b)
		}
	}
	if after := must(run.Store.Events(ctx, prato, journey.batch)); len(after) != len(before) {
		t.Fatal("a refused assignment changed the request's trail")
	}
	code, b := post(`{"batch":"` + journey.batch + `","override":{"confirm":true,"reason":"la cancelleria scrive per conto della Procura"}}`)
	if code != 200 || !bytes.Contains(b, []byte(`"state":"assigned"`)) || !bytes.Contains(b, []byte("mittente certificato")) {
		t.Fatalf("override: %d %s", code, b)
	}
	recorded := false
	for _, e := range must(run.Store.Events(ctx, prato, journey.batch)) {
		recorded = recorded || (strings.Contains(e.Detail, "overriding the failed checks sender") && strings.Contains(e.Detail, "cancelleria") &&
			e.Cause == domain.CauseUser(protocolUser(prato).Name))
	}
	if !recorded {
		t.Error("the override is not in the request's audit trail")
	}
}

// must returns v, failing the test on err.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/api"
	"github.com/casellario-pec/casellario/shared/localdev/localrun"
	"github.com/casellario-pec/casellario/shared/localdev/needs"
	"github.com/casellario-pec/casellario/shared/reply"
)

// One local run serves the slow tests of the package (starting dynalite is
// the slow part): the API of the run itself for the browser test, and
// handlers built here over the same store and buckets with a key the tests
// control. It starts with the first test that calls local; the fast tests
// (fast_test.go) need none.
var (
	run      *localrun.Run
	issuer   *api.LocalIssuer
	srv      *httptest.Server
	runDir   string
	runOnce  sync.Once
	runError error
)

const (
	prato  = "c_g999"
	vaiano = "c_l537"
)

func TestMain(m *testing.M) {
	var err error
	if issuer, err = api.NewLocalIssuer("test-issuer", "test-audience"); err != nil {
		panic(err)
	}
	code := m.Run()
	if srv != nil {
		srv.Close()
	}
	if run != nil {
		run.Close()
	}
	if runDir != "" {
		os.RemoveAll(runDir)
	}
	os.Exit(code)
}

// local starts the package's local run and test server, once; under
// go test -short it skips t instead.
// browserDirectMax is the local run's limit of a list sent through POST
// /uploads by the page: the browser test's small lists stay under it, its
// larger one goes by presigned PUT.
const browserDirectMax = 1024

func local(t testing.TB) {
	t.Helper()
	needs.Server(t, needs.LocalRun)
	runOnce.Do(func() {
		if runDir, runError = os.MkdirTemp("", "casellario-api-"); runError != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		run, runError = localrun.Start(ctx, localrun.Options{DataDir: runDir, InMemory: true, DispatchEvery: -1, PollEvery: -1,
			ProcuraDelay: time.Millisecond, Log: slog.New(slog.DiscardHandler),
			DirectUploadMax: browserDirectMax}) // the browser test's larger list goes by presigned PUT
		if runError == nil {
			srv = httptest.NewServer(newHandler(api.Config{}))
		}
	})
	if runError != nil {
		t.Fatalf("starting the local run: %v", runError)
	}
}

// newHandler builds a handler over the run's store and buckets; fields set in
// c override the defaults.
func newHandler(c api.Config) *api.Handler {
	if c.Store == nil {
		c.Store = run.Store
	}
	if c.Triage == nil {
		c.Triage = run.Store
	}
	if c.Docs == nil {
		c.Docs = run.Docs
	}
	if c.Tenants == nil {
		c.Tenants = run.Tenants
	}
	if c.Auth == nil {
		c.Auth = issuer.Auth()
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return api.New(c)
}

func officeUser(tenant, office string) api.User {
	return api.User{Name: strings.ToLower(office) + "@" + tenant, Tenant: tenant, Office: office, Role: api.RoleOffice}
}

func protocolUser(tenant string) api.User {
	return api.User{Name: "protocollo@" + tenant, Tenant: tenant, Role: api.RoleProtocol}
}

func token(t *testing.T, u api.User) string {
	t.Helper()
	tok, err := issuer.Sign(u, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// call makes a request to the test server and decodes a JSON answer into out (when not nil).
func call(t *testing.T, method, path, tok string, body io.Reader, ctype string, out any) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return resp.StatusCode, b
}

// multipartList encodes a list as the web page sends it.
func multipartList(t *testing.T, name string, data []byte, fields map[string]string) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	if name != "" {
		fw, err := mw.CreateFormFile("file", name)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(data)
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

// errorCode reads the code of a JSON error answer, failing when it is not one.
func errorCode(t *testing.T, b []byte) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(b, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("not a JSON error: %s", b)
	}
	return e.Error.Code
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// control posts to the local run's control endpoint (dispatch, poll).
func control(t *testing.T, what string) {
	t.Helper()
	resp, err := http.Post(run.Endpoints.Control+"/"+what, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d %s", what, resp.StatusCode, b)
	}
}

func pdfText(t *testing.T, b []byte) string {
	t.Helper()
	pages, err := reply.PDFPages(context.Background(), b)
	if err != nil {
		t.Fatalf("certificate is not a readable PDF: %v", err)
	}
	return strings.Join(pages, "\n")
}

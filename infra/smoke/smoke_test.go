// Package smoke runs the built functions under the AWS Lambda Runtime Interface Emulator (aws-lambda-rie,
// built from the Go module pinned in infra/go.mod) against the local stand-ins: dynalite and gofakes3
// (shared/localdev/localaws/testenv), the PEC provider (shared/localdev/sim) and a Secrets Manager stand-in (below). Each
// function is built for this machine's architecture with the release flags (CGO off, lambda.norpc,
// trimpath), started by the RIE as a provided.al2023 runtime would start it (bootstrap, Runtime API),
// and invoked with a representative event; the test checks the effect in the table, the buckets and the
// mailboxes, not only the status.
package smoke

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/infra/internal/deploy"
	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/localdev/localaws/testenv"
	"github.com/casellario-pec/casellario/shared/localdev/sim"
	"github.com/casellario-pec/casellario/shared/s3docs"
	"github.com/casellario-pec/casellario/shared/store"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// TestMain points shared/localdev/localaws at the repository's dynalite (it looks upwards only as far as the
// nearest go.mod, which is infra's).
func TestMain(m *testing.M) {
	if os.Getenv("CASELLARIO_DYNALITE") == "" {
		if p, err := filepath.Abs("../../node_modules/.bin/dynalite"); err == nil {
			os.Setenv("CASELLARIO_DYNALITE", p)
		}
	}
	testenv.Main(m)
}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// build compiles the RIE and the three functions once per test binary.
func build(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "casellario-smoke-")
		if buildErr != nil {
			return
		}
		root, _ := filepath.Abs("../..")
		run := func(dir string, args ...string) error {
			cmd := exec.Command("go", args...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			return nil
		}
		// The RIE is a tool of the infra module (go.mod "tool" line): built from the pinned version.
		if buildErr = run("..", "build", "-o", filepath.Join(binDir, "aws-lambda-rie"), "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"); buildErr != nil {
			return
		}
		for _, fn := range []string{"intake", "dispatch", "poll"} {
			if buildErr = run(root, "build", "-tags", "lambda.norpc", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w -buildid=",
				"-o", filepath.Join(binDir, fn, "bootstrap"), "./functions/"+fn); buildErr != nil {
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatalf("building the RIE and the functions: %v", buildErr)
	}
	return binDir
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// invoke starts the RIE with the function's bootstrap, sends one event and returns the response body.
// The RIE stops with the test.
func invoke(t *testing.T, fn string, env []string, event any) []byte {
	t.Helper()
	dir := build(t)
	addr, api := freePort(t), freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "aws-lambda-rie"),
		"--runtime-interface-emulator-address", addr, "--runtime-api-address", api, filepath.Join(dir, fn, "bootstrap"))
	cmd.Dir = filepath.Join(dir, fn)
	cmd.Env = append(append(os.Environ(), env...), "AWS_LAMBDA_FUNCTION_NAME=casellario-"+fn, "AWS_LAMBDA_FUNCTION_TIMEOUT=120", "LOG_LEVEL=warn")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting aws-lambda-rie: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s under the RIE:\n%s", fn, logs.String())
		}
	})
	body, _ := json.Marshal(event)
	url := "http://" + addr + "/2015-03-31/functions/function/invocations"
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Post(url, "application/json", bytes.NewReader(body))
		if err == nil {
			out, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || bytes.Contains(out, []byte(`"errorMessage"`)) {
				t.Fatalf("%s: HTTP %d: %s", fn, resp.StatusCode, out)
			}
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the RIE did not answer: %v", fn, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// secretsManager is a stand-in for GetSecretValue (JSON 1.1 protocol), counting reads.
type secretsManager struct {
	mu      sync.Mutex
	secrets map[string]string
	reads   map[string]int
}

func (s *secretsManager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var in struct{ SecretId string }
	_ = json.NewDecoder(r.Body).Decode(&in)
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	v, ok := s.secrets[in.SecretId]
	if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" || !ok {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"__type":"ResourceNotFoundException","message":"no secret %s"}`, in.SecretId)
		return
	}
	s.reads[in.SecretId]++
	_ = json.NewEncoder(w).Encode(map[string]any{"ARN": "arn:aws:secretsmanager:eu-south-1:123456789012:secret:" + in.SecretId + "-AbCdEf",
		"Name": in.SecretId, "SecretString": `{"password":"` + v + `"}`, "VersionId": "v1"})
}

const (
	prato  = "c_g999"
	office = "SUAP"
	secret = "casellario/pec/c_g999"
)

// TestFunctionsUnderRIE: an upload goes through intake, dispatch and poll, each a built binary under the RIE.
func TestFunctionsUnderRIE(t *testing.T) {
	env := testenv.New(t)
	cfg := sim.Default()
	cfg.Dir = t.TempDir()
	cfg.Procura.Disabled = true // the receipts are enough here; replies are shared/poll's tests
	w, err := sim.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	// The tenants file as in AWS: credentials are Secrets Manager names.
	tc := tenants.Demo()
	tc.Tenants = tc.Tenants[:1]
	tc.Tenants[0].Offices = tc.Tenants[0].Offices[:1]
	tp := &tc.Tenants[0]
	tp.PEC.SMTP, tp.PEC.IMAP = w.SMTPAddr, w.IMAPAddr
	tp.PEC.Auth = tenants.Secret{Secret: secret}
	tfile := filepath.Join(t.TempDir(), "tenants.json")
	b, _ := json.Marshal(tc)
	if err := os.WriteFile(tfile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	sm := &secretsManager{secrets: map[string]string{secret: w.Password(tp.PEC.Address)}, reads: map[string]int{}}
	smSrv := httptest.NewServer(sm)
	defer smSrv.Close()

	// Each function gets the settings the stack gives it from the local deployment file, with the
	// layer's files swapped for this test's, and the references to the stand-ins.
	dep, err := deploy.Load("../deployments/local.json")
	if err != nil {
		t.Fatal(err)
	}
	fnEnv := func(fn string) []string {
		out := []string{
			"AWS_REGION=eu-south-1", "AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local",
			"AWS_ENDPOINT_URL_DYNAMODB=" + env.DynamoURL, "AWS_ENDPOINT_URL_S3=" + env.S3URL,
			"AWS_ENDPOINT_URL_SECRETS_MANAGER=" + smSrv.URL,
			"CASELLARIO_TABLE=" + env.Table, "CASELLARIO_UPLOADS_BUCKET=" + env.Uploads, "CASELLARIO_DOCUMENTS_BUCKET=" + env.Documents,
			"CASELLARIO_KMS_KEY_ID=arn:aws:kms:eu-south-1:123456789012:key/smoke", "CASELLARIO_TLS_ROOTS=" + w.CAFile,
		}
		layer := map[string]string{deploy.LayerDir + "/" + deploy.TenantsLayerFile: tfile, deploy.LayerDir + "/" + deploy.PECTrustLayerFile: w.CAFile}
		for k, v := range dep.Settings(fn) {
			if f, ok := layer[v]; ok {
				v = f
			}
			out = append(out, k+"="+v)
		}
		return out
	}
	st := store.New(env.Dynamo, store.Options{Table: env.Table})
	d := s3docs.New(env.S3, s3docs.Options{UploadsBucket: env.Uploads, DocumentsBucket: env.Documents, SSE: s3docs.SSENone})
	ctx := context.Background()

	// intake: an S3 ObjectCreated event for an uploaded list of three people.
	upload := domain.NewID()
	key := s3docs.UploadKey(prato, office, upload, "csv")
	list := "Cognome;Nome;Sesso;Data di nascita;Comune o Stato di nascita;Provincia\r\n" +
		"Rossi;Mario;M;01/01/1980;Roma;RM\r\nBianchi;Anna;F;15/06/1975;Prato;PO\r\nMüller;Hans;M;03/03/1970;Germania;\r\n"
	obj, err := d.Put(ctx, d.Upload(key), "text/csv", strings.NewReader(list))
	if err != nil {
		t.Fatal(err)
	}
	invoke(t, "intake", fnEnv("intake"), map[string]any{"Records": []any{map[string]any{
		"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "eu-south-1", "eventName": "ObjectCreated:Put",
		"eventTime": time.Now().UTC().Format(time.RFC3339),
		"s3": map[string]any{"bucket": map[string]any{"name": env.Uploads, "arn": "arn:aws:s3:::" + env.Uploads},
			"object": map[string]any{"key": key, "size": len(list), "versionId": obj.Version}},
	}}})
	u, err := st.GetUpload(ctx, prato, upload)
	if err != nil {
		t.Fatalf("after intake, the upload is not in the table: %v", err)
	}
	subs, err := st.SubjectsOfUpload(ctx, prato, upload)
	if err != nil || len(subs) != 3 {
		t.Fatalf("after intake: %d subjects (%v), want 3; upload state %s", len(subs), err, u.State)
	}
	if _, err := d.Head(ctx, d.Document(s3docs.ReportKey(prato, upload))); err != nil {
		t.Fatalf("after intake, no validation report: %v", err)
	}
	t.Logf("intake: upload %s %s, %d subjects", upload, u.State, len(subs))

	// dispatch: the scheduled event of the tenant's schedule.
	schedule := map[string]any{"id": "smoke-" + domain.NewID(), "detail-type": "Scheduled Event", "source": "casellario.scheduler",
		"time": time.Now().UTC().Format(time.RFC3339), "detail": map[string]any{"tenant": prato}}
	invoke(t, "dispatch", fnEnv("dispatch"), schedule)
	batches, err := st.ListBatches(ctx, prato, office, nil, 10)
	if err != nil || len(batches) != 1 {
		t.Fatalf("after dispatch: %d batches (%v), want 1", len(batches), err)
	}
	bt := batches[0]
	if bt.State != domain.BatchSent || bt.MessageID == "" {
		t.Fatalf("after dispatch: batch %s state %s message-id %q, want sent with a Message-ID", bt.ID, bt.State, bt.MessageID)
	}
	if sm.reads[secret] == 0 {
		t.Fatal("dispatch did not read the PEC password from Secrets Manager")
	}
	t.Logf("dispatch: batch %s %s, protocol %v, %s", bt.ID, bt.State, bt.Protocol, bt.MessageID)

	// poll: the provider's acceptance and delivery receipts are in Prato's inbox.
	deadline := time.Now().Add(30 * time.Second)
	for {
		schedule["id"] = "smoke-" + domain.NewID()
		invoke(t, "poll", fnEnv("poll"), schedule)
		b, err := st.GetBatch(ctx, prato, bt.ID)
		if err != nil {
			t.Fatal(err)
		}
		if b.State == domain.BatchDelivered {
			t.Logf("poll: batch %s %s", b.ID, b.State)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after poll: batch %s is %s, want delivered (the receipts were in the inbox)", b.ID, b.State)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

package localrun

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/localdev/needs"
)

// awsPath is Debian's AWS CLI (package awscli), which `make test` installs:
// the one an office's scheduled job would use, not whatever else is on PATH.
const awsPath = "/usr/bin/aws"

// opsRun starts a local run without schedules.
func opsRun(t *testing.T) *Run {
	t.Helper()
	needs.Server(t, needs.LocalRun)
	run, err := Start(context.Background(), Options{DataDir: t.TempDir(), DispatchEvery: -1, PollEvery: -1, ProcuraDelay: time.Millisecond,
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(run.Close)
	return run
}

func userToken(t *testing.T, r *Run, name string) string {
	t.Helper()
	for _, u := range r.Endpoints.Users {
		if u.Name == name {
			return u.Token
		}
	}
	t.Fatalf("no demo user %s", name)
	return ""
}

// apiCall calls the run's API with a demo user's token.
func apiCall(t *testing.T, r *Run, method, path, tok string, body []byte, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, r.Endpoints.API+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	if res.StatusCode >= 300 {
		t.Logf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	return res.StatusCode
}

type listedUpload struct {
	ID       string             `json:"id"`
	State    domain.UploadState `json:"state"`
	FileName string             `json:"file_name"`
	Counts   domain.Counts      `json:"counts"`
}

// waitListed waits until the office's upload list shows the file taken in.
func waitListed(t *testing.T, r *Run, tok, fileName string, d time.Duration) listedUpload {
	t.Helper()
	var found listedUpload
	deadline := time.Now().Add(d)
	for {
		var list struct{ Uploads []listedUpload }
		apiCall(t, r, "GET", "/api/v1/uploads", tok, nil, &list)
		for _, u := range list.Uploads {
			if u.FileName == fileName && u.State != domain.UploadReceived {
				return u
			}
			if u.FileName == fileName {
				found = u
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not taken in within %s (last seen %+v)", fileName, d, found)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// letters spells n in letters, for distinct valid names.
func letters(n int) string {
	s := ""
	for {
		s += string(rune('a' + n%26))
		n /= 26
		if n == 0 {
			return s
		}
	}
}

// bigList writes a CSV of rows people, each distinct (names and birth
// dates vary), padded with an ignored "Note" column to about rowBytes a row.
func bigList(rows, rowBytes int) []byte {
	var b bytes.Buffer
	b.WriteString("Cognome;Nome;Sesso;Data di nascita;Comune o Stato di nascita;Note\n")
	pad := strings.Repeat("x", max(0, rowBytes-45))
	start := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < rows; i++ {
		d := start.AddDate(0, 0, i%18000)
		fmt.Fprintf(&b, "Rossi;Mario%s;M;%s;Prato;%s\n", letters(i), d.Format("02/01/2006"), pad)
	}
	return b.Bytes()
}

// TestDroppedWithAWSCLI: an office's scheduled job drops lists into the
// uploads bucket with Debian's AWS CLI, as infra/README.md tells it to
// (here with the local run's S3 endpoint and path-style addressing); intake
// takes each in and the API lists it with its file name. The large one goes
// as a multipart upload (the CLI splits files over 8 MB).
func TestDroppedWithAWSCLI(t *testing.T) {
	needs.Server(t, needs.LocalRun)
	if _, err := os.Stat(awsPath); err != nil {
		t.Fatalf("this test needs Debian's AWS CLI at %s (%v): run `make test`, which installs it (apt-get install awscli)", awsPath, err)
	}
	run := opsRun(t)
	tok := userToken(t, run, "suap@c_g999")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	if err := os.WriteFile(cfg, []byte("[default]\nregion = eu-south-1\ns3 =\n  addressing_style = path\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Nothing of the caller's environment: no pyenv, no profile, no real credentials.
	env := []string{"PATH=/usr/bin:/bin", "HOME=" + dir, "AWS_CONFIG_FILE=" + cfg, "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "none"),
		"AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local", "AWS_DEFAULT_REGION=eu-south-1", "AWS_PAGER=", "AWS_EC2_METADATA_DISABLED=true"}
	dup := "Rossi;Mario;M;01/01/1980;Roma;" + strings.Repeat("n", 150) + "\n"
	for _, tt := range []struct {
		name, file string
		data       []byte
		want       domain.Counts
	}{
		{"small list", "elenco-marzo.csv", []byte(list), domain.Counts{Rows: 3, Valid: 2, Invalid: 1}},
		{"9 MB list, multipart", "elenco grande aprile.csv",
			append([]byte("Cognome;Nome;Sesso;Data di nascita;Comune o Stato di nascita;Note\n"), bytes.Repeat([]byte(dup), 9<<20/len(dup))...),
			domain.Counts{Rows: 9 << 20 / len(dup), Valid: 1, Invalid: 9<<20/len(dup) - 1, Duplicates: 9<<20/len(dup) - 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "upload.csv")
			if err := os.WriteFile(path, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(awsPath, "--endpoint-url", run.Endpoints.S3, "s3", "cp", path,
				"s3://"+run.Endpoints.UploadsBucket+"/c_g999/SUAP/"+tt.file)
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("aws s3 cp: %v\n%s", err, out)
			}
			u := waitListed(t, run, tok, tt.file, time.Minute)
			if u.State != domain.UploadQueued || u.Counts != tt.want {
				t.Fatalf("upload %+v, want queued with %+v", u, tt.want)
			}
		})
	}
}

// TestPresignedLargeLists: the page's way for lists over what API Gateway
// takes: presign, PUT with a plain HTTP client, intake completes the record.
func TestPresignedLargeLists(t *testing.T) {
	run := opsRun(t)
	tok := userToken(t, run, "acquisti@c_g999")
	for _, tt := range []struct {
		name           string
		rows, rowBytes int
		minBytes       int
	}{
		{"50,000 rows, about 3 MB", 50000, 73, 3 << 20},
		{"50,000 rows, 8 MB", 50000, 179, 8 << 20},
	} {
		t.Run(tt.name, func(t *testing.T) {
			data := bigList(tt.rows, tt.rowBytes)
			if len(data) < tt.minBytes {
				t.Fatalf("the list is %d bytes", len(data))
			}
			name := fmt.Sprintf("elenco-%d.csv", len(data))
			var a struct {
				Upload    listedUpload      `json:"upload"`
				URL       string            `json:"url"`
				Method    string            `json:"method"`
				Headers   map[string]string `json:"headers"`
				ExpiresAt time.Time         `json:"expires_at"`
			}
			body, _ := json.Marshal(map[string]any{"file_name": name, "size": len(data)})
			if code := apiCall(t, run, "POST", "/api/v1/uploads/presign", tok, body, &a); code != http.StatusCreated {
				t.Fatalf("presign: %d", code)
			}
			start := time.Now()
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
				t.Fatalf("PUT: %d", res.StatusCode)
			}
			u := waitListed(t, run, tok, name, 3*time.Minute)
			t.Logf("%d rows, %d bytes: PUT to queued in %s", tt.rows, len(data), time.Since(start).Round(10*time.Millisecond))
			if u.ID != a.Upload.ID || u.State != domain.UploadQueued || u.Counts.Rows != tt.rows || u.Counts.Valid < tt.rows*99/100 {
				t.Fatalf("upload %+v", u)
			}
			rec, err := run.Store.GetUpload(context.Background(), "c_g999", u.ID)
			if err != nil || len(rec.SHA256) != 64 || rec.UploadedBy != "acquisti@c_g999" {
				t.Fatalf("record %+v %v", rec, err)
			}
		})
	}
}

// TestUsageEndpoint: the control endpoint tells what the run used.
func TestUsageEndpoint(t *testing.T) {
	run := opsRun(t)
	id := domain.NewID()
	if _, err := run.Docs.Put(context.Background(), run.Docs.Upload("c_g999/SUAP/"+id+"/list.csv"), "text/csv", strings.NewReader(list)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "intake", func() bool {
		u, err := run.Store.GetUpload(context.Background(), "c_g999", id)
		return err == nil && u.State == domain.UploadQueued
	})
	type usage struct {
		Source    string `json:"source"`
		Functions map[string]struct {
			Invocations float64 `json:"invocations"`
			MemoryMB    float64 `json:"memory_mb"`
		} `json:"functions"`
		Writes    float64  `json:"dynamodb_write_units"`
		S3        float64  `json:"s3_storage_gb_months"`
		KMS       float64  `json:"kms_requests"`
		Estimated []string `json:"estimated"`
	}
	read := func() usage {
		res, err := http.Get(run.Endpoints.Control + "/usage")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var u usage
		if err := json.NewDecoder(res.Body).Decode(&u); err != nil || res.StatusCode != 200 {
			t.Fatalf("%d %v", res.StatusCode, err)
		}
		return u
	}
	// The invocation is counted when the handler returns, just after it stored the upload's state.
	var u usage
	waitFor(t, "the intake invocation counted", func() bool { u = read(); return u.Functions["intake"].Invocations > 0 })
	if u.Source != "local run" || u.Functions["intake"].Invocations != 1 || u.Functions["intake"].MemoryMB != 1024 ||
		u.Writes == 0 || u.S3 <= 0 || u.KMS != 2 || len(u.Estimated) == 0 {
		t.Fatalf("usage %+v", u)
	}
}

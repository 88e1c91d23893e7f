package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/localdev/localrun"
	"github.com/casellario-pec/casellario/shared/localdev/needs"
)

// TestOperatorCommands drives submit, dispatch --now and status against a local run,
// as an operator would after `make dev`.
func TestOperatorCommands(t *testing.T) {
	needs.Server(t, needs.LocalRun)
	dir := t.TempDir()
	run, err := localrun.Start(context.Background(), localrun.Options{DataDir: dir, DispatchEvery: -1,
		ProcuraDelay: time.Hour, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	ep := filepath.Join(dir, localrun.EndpointsFile)
	// A run killed without stopping leaves its endpoints.json behind.
	stale := filepath.Join(t.TempDir(), localrun.EndpointsFile)
	if err := os.WriteFile(stale, []byte(`{"dynamodb":"http://127.0.0.1:1","s3":"http://127.0.0.1:1","table":"casellario"}`), 0o600); err != nil {
		t.Fatal(err)
	}

	usage := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"submit without office", []string{"submit", "--endpoints", ep, "testdata/mistakes-bom.csv"}, 2, "--office is missing"},
		{"submit without a file", []string{"submit", "--endpoints", ep, "--office", "SUAP"}, 2, "the list file is missing"},
		{"submit of a list with a wrong header", []string{"submit", "--endpoints", ep, "--office", "SUAP", "testdata/wrong-header.csv"}, 1, "cannot be read as a list:\nMancano le colonne obbligatorie"},
		{"submit of a list with no valid row", []string{"submit", "--endpoints", ep, "--office", "SUAP", "testdata/no-valid-row.csv"}, 1, "no valid row"},
		{"a bad protocol number", []string{"submit", "--endpoints", ep, "--office", "SUAP", "--protocol-number", "x1", "--protocol-date", "2026-01-02", "testdata/mistakes-bom.csv"}, 2, "Numero di protocollo"},
		{"submit of a text file", []string{"submit", "--endpoints", ep, "--office", "SUAP", "notes.txt"}, 2, ".csv, .xlsx or .json"},
		{"submit to an unknown office", []string{"submit", "--endpoints", ep, "--office", "NOPE", "testdata/mistakes-bom.csv"}, 2, "NOPE"},
		{"protocol number without date", []string{"submit", "--endpoints", ep, "--office", "SUAP", "--protocol-number", "1", "testdata/mistakes-bom.csv"}, 2, "go together"},
		{"missing file", []string{"submit", "--endpoints", ep, "--office", "SUAP", "testdata/none.csv"}, 1, "no such file"},
		{"endpoints file missing", []string{"submit", "--endpoints", filepath.Join(dir, "x.json"), "--office", "SUAP", "testdata/mistakes-bom.csv"}, 1, "local run"},
		{"a local run no longer running", []string{"status", "--endpoints", stale, domain.NewID()}, 1, "is not running (nothing answers at 127.0.0.1:1)"},
		{"dispatch without --now", []string{"dispatch", "--endpoints", ep}, 2, "usage"},
		{"status of a bad id", []string{"status", "--endpoints", ep, "nope"}, 2, "usage"},
		{"status of an unknown id", []string{"status", "--endpoints", ep, domain.NewID()}, 1, "no upload or request"},
		{"status of an unknown protocol number", []string{"status", "--endpoints", ep, "9999999"}, 1, "no request registered as 9999999"},
		{"status of two things", []string{"status", "--endpoints", ep, "1", "2"}, 2, "give one"},
	}
	for _, tt := range usage {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := runCLI(t, tt.args...)
			if code != tt.code || !strings.Contains(errs, tt.err) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errs, tt.code, tt.err)
			}
		})
	}

	code, out, errs := runCLI(t, "submit", "--endpoints", ep, "--office", "SUAP", "testdata/valid-windows1252.csv")
	upload := strings.TrimSpace(out)
	if code != 0 || !domain.ValidID(upload) {
		t.Fatalf("submit: exit %d, %q %q", code, out, errs)
	}
	var st statusView
	deadline := time.Now().Add(20 * time.Second)
	for st.State != string(domain.UploadQueued) {
		if time.Now().After(deadline) {
			t.Fatalf("upload never queued: %+v", st)
		}
		time.Sleep(100 * time.Millisecond)
		if code, out, _ := runCLI(t, "status", "--json", "--endpoints", ep, upload); code == 0 {
			st = statusView{}
			_ = json.Unmarshal([]byte(out), &st)
		}
	}
	if st.Tenant != "c_g999" || st.Office != "SUAP" || len(st.People) != 3 || st.People[0].Row != 2 || st.People[0].FiscalCode != "RSSMRA80A01H501U" ||
		st.People[0].State != "pending" || st.People[0].Certificate != nil || len(st.Events) < 2 {
		t.Fatalf("upload status %+v", st)
	}

	code, out, errs = runCLI(t, "dispatch", "--now", "--endpoints", ep)
	if code != 0 || !strings.Contains(out, `"sent":1`) {
		t.Fatalf("dispatch: exit %d %s %s", code, out, errs)
	}
	batches, err := run.Store.ListBatches(context.Background(), "c_g999", "SUAP", nil, 5)
	if err != nil || len(batches) != 1 {
		t.Fatalf("batches %v %v", batches, err)
	}
	code, out, errs = runCLI(t, "status", "--json", "--endpoints", ep, batches[0].ID)
	var bs statusView
	if code != 0 || json.Unmarshal([]byte(out), &bs) != nil {
		t.Fatalf("batch status: exit %d %s %s", code, out, errs)
	}
	if bs.State != "sent" || len(bs.Protocol.Number) != 7 || bs.Protocol.Date == "" || !strings.HasPrefix(bs.MessageID, "<") ||
		len(bs.People) != 3 || bs.People[0].State != "batched" {
		t.Fatalf("batch status %+v", bs)
	}
	var raw map[string]any
	_ = json.Unmarshal([]byte(out), &raw)
	for _, k := range []string{"id", "tenant", "office", "state", "protocol", "message_id", "people", "events"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("status JSON lacks %q", k)
		}
	}
	code, out, _ = runCLI(t, "status", "--endpoints", ep, batches[0].ID)
	if code != 0 || !strings.Contains(out, "protocol: n. CPEC-"+bs.Protocol.Number) || bs.Protocol.Register != "CPEC" || !strings.Contains(out, "valid-windows1252.csv") {
		t.Errorf("human status: %s", out)
	}
	if len(bs.Lists) != 1 || bs.Lists[0].ID != upload || bs.Lists[0].FileName != "valid-windows1252.csv" {
		t.Errorf("the request's lists %+v", bs.Lists)
	}

	// The list now names its request, and the request is found by its number.
	code, out, _ = runCLI(t, "status", "--json", "--endpoints", ep, upload)
	st = statusView{}
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || len(st.Batches) != 1 {
		t.Fatalf("upload status: exit %d %s", code, out)
	}
	if b := st.Batches[0]; b.ID != batches[0].ID || b.Protocol != bs.Protocol || b.MessageID != bs.MessageID || b.People != 3 || b.State != "sent" {
		t.Errorf("upload's request %+v, want %s %+v", b, batches[0].ID, bs.Protocol)
	}
	var italian bool
	for _, ev := range st.Events {
		italian = italian || ev.Text == "Elenco ricevuto"
	}
	if !italian {
		t.Errorf("events without their Italian text: %+v", st.Events)
	}
	n := strings.TrimLeft(bs.Protocol.Number, "0")
	for _, ref := range []string{bs.Protocol.Number, n, "CPEC-" + bs.Protocol.Number} {
		code, out, errs = runCLI(t, "status", "--json", "--endpoints", ep, "--year", bs.Protocol.Date[:4], ref)
		var byNumber statusView
		if code != 0 || json.Unmarshal([]byte(out), &byNumber) != nil || byNumber.ID != batches[0].ID {
			t.Errorf("status %s: exit %d %s %s", ref, code, out, errs)
		}
	}
}

// TestListings: `casellario uploads` and `casellario batches` list what a
// round trip left, newest first, as lines and as JSON; usage errors say
// what is wrong before the usage.
func TestListings(t *testing.T) {
	needs.Server(t, needs.LocalRun)
	dir := t.TempDir()
	run, err := localrun.Start(context.Background(), localrun.Options{DataDir: dir, InMemory: true, DispatchEvery: -1, PollEvery: -1,
		ProcuraDelay: time.Hour, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	ep := filepath.Join(dir, localrun.EndpointsFile)
	for _, tt := range []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"a stray argument", []string{"uploads", "--endpoints", ep, "SUAP"}, 2, `unexpected argument "SUAP"`},
		{"a bad limit", []string{"batches", "--endpoints", ep, "--limit", "0"}, 2, "--limit must be at least 1"},
		{"a bad state", []string{"batches", "--endpoints", ep, "--state", "lost"}, 2, `--state "lost"`},
		{"an unknown office", []string{"uploads", "--endpoints", ep, "--office", "NOPE"}, 2, `office "NOPE"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := runCLI(t, tt.args...)
			if code != tt.code || !strings.Contains(errs, tt.err) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errs, tt.code, tt.err)
			}
		})
	}
	code, out, _ := runCLI(t, "batches", "--endpoints", ep)
	if code != 0 || !strings.Contains(out, "(no requests)") {
		t.Fatalf("no requests yet: %d %s", code, out)
	}
	code, out, errs := runCLI(t, "submit", "--endpoints", ep, "--office", "SUAP", "testdata/valid-windows1252.csv")
	upload := strings.TrimSpace(out)
	if code != 0 {
		t.Fatalf("submit: %d %s", code, errs)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if u, err := run.Store.GetUpload(context.Background(), "c_g999", upload); err == nil && u.State == domain.UploadQueued {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the upload was never taken in")
		}
	}
	if code, out, errs = runCLI(t, "dispatch", "--now", "--endpoints", ep); code != 0 {
		t.Fatalf("dispatch: %d %s %s", code, out, errs)
	}
	code, out, _ = runCLI(t, "uploads", "--endpoints", ep, "--tenant", "c_g999")
	if code != 0 || !strings.Contains(out, "c_g999/SUAP") || !strings.Contains(out, "valid-windows1252.csv") || !strings.Contains(out, upload) {
		t.Fatalf("uploads: %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "batches", "--endpoints", ep, "--json", "--state", "sent")
	var b batchLine
	if code != 0 || json.Unmarshal([]byte(strings.Split(out, "\n")[0]), &b) != nil || b.Office != "SUAP" || b.People != 3 || len(b.Protocol.Number) != 7 {
		t.Fatalf("batches --json: %d %s", code, out)
	}
}

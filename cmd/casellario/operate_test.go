package main

import (
	"context"
	"encoding/json"
	"log/slog"
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

	usage := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"submit without office", []string{"submit", "--endpoints", ep, "testdata/mistakes-bom.csv"}, 2, "--office is missing"},
		{"submit without a file", []string{"submit", "--endpoints", ep, "--office", "SUAP"}, 2, "the list file is missing"},
		{"submit of a list with a wrong header", []string{"submit", "--endpoints", ep, "--office", "SUAP", "testdata/wrong-header.csv"}, 1, "cannot be read as a list"},
		{"submit of a list with no valid row", []string{"submit", "--endpoints", ep, "--office", "SUAP", "testdata/no-valid-row.csv"}, 1, "no valid row"},
		{"a bad protocol number", []string{"submit", "--endpoints", ep, "--office", "SUAP", "--protocol-number", "x1", "--protocol-date", "2026-01-02", "testdata/mistakes-bom.csv"}, 2, "Numero di protocollo"},
		{"submit of a text file", []string{"submit", "--endpoints", ep, "--office", "SUAP", "notes.txt"}, 2, ".csv, .xlsx or .json"},
		{"submit to an unknown office", []string{"submit", "--endpoints", ep, "--office", "NOPE", "testdata/mistakes-bom.csv"}, 2, "NOPE"},
		{"protocol number without date", []string{"submit", "--endpoints", ep, "--office", "SUAP", "--protocol-number", "1", "testdata/mistakes-bom.csv"}, 2, "go together"},
		{"missing file", []string{"submit", "--endpoints", ep, "--office", "SUAP", "testdata/none.csv"}, 1, "no such file"},
		{"endpoints file missing", []string{"submit", "--endpoints", filepath.Join(dir, "x.json"), "--office", "SUAP", "testdata/mistakes-bom.csv"}, 1, "local run"},
		{"dispatch without --now", []string{"dispatch", "--endpoints", ep}, 2, "usage"},
		{"status of a bad id", []string{"status", "--endpoints", ep, "nope"}, 2, "usage"},
		{"status of an unknown id", []string{"status", "--endpoints", ep, domain.NewID()}, 1, "no upload or batch"},
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
	if code != 0 || !strings.Contains(out, "protocol: n. "+bs.Protocol.Number) {
		t.Errorf("human status: %s", out)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/localdev/localrun"
	"github.com/casellario-pec/casellario/shared/localdev/needs"
	"github.com/casellario-pec/casellario/shared/localdev/sim"
	"github.com/casellario-pec/casellario/shared/pec"
)

// TestTriageCommands routes a PEC from the Procura that quotes no request of
// ours (the poll cannot attach it to any) through the triage commands.
func TestTriageCommands(t *testing.T) {
	needs.Server(t, needs.LocalRun)
	dir := t.TempDir()
	run, err := localrun.Start(context.Background(), localrun.Options{DataDir: dir, DispatchEvery: -1, PollEvery: -1,
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	ep := filepath.Join(dir, localrun.EndpointsFile)
	orig := "From: " + sim.Procura + "\r\nTo: protocollo@pec.comune.prato.test\r\nSubject: Informazioni\r\n" +
		"Message-ID: <procura-1@pec.procura.prato.test>\r\nDate: Wed, 25 Nov 2026 10:00:00 +0100\r\n\r\nBuongiorno.\r\n"
	var env bytes.Buffer
	if _, err := pec.WriteEnvelope(&env, []byte(orig), pec.EnvelopeSpec{Recipients: []pec.Recipient{{Address: sim.ComunePrato, Type: pec.RecipientCertificato}},
		Domain: "gestore.sim.test"}, run.World.Provider.Signer()); err != nil {
		t.Fatal(err)
	}
	if err := run.World.Provider.Append(sim.ComunePrato, "INBOX", env.Bytes()); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.Post(run.Endpoints.Control+"/poll", "", nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("poll: %v %v", resp, err)
	}

	code, out, errs := runCLI(t, "triage", "--endpoints", ep, "--json", "list")
	var items []domain.TriageItem
	if code != 0 || json.Unmarshal([]byte(out), &items) != nil || len(items) != 1 || items[0].State != domain.TriageOpen {
		t.Fatalf("list: exit %d %s %s", code, out, errs)
	}
	id := items[0].ID
	if code, out, _ := runCLI(t, "triage", "--endpoints", ep, "list"); code != 0 || !strings.Contains(out, id) {
		t.Errorf("human list: %s", out)
	}

	tests := []struct {
		name string
		args []string
		code int
		text string // on stdout (exit 0) or stderr
	}{
		{"no command", []string{"triage", "--endpoints", ep}, 2, "usage"},
		{"unknown command", []string{"triage", "--endpoints", ep, "route", id}, 2, "usage"},
		{"show without id", []string{"triage", "--endpoints", ep, "show"}, 2, "usage"},
		{"dismiss without reason", []string{"triage", "--endpoints", ep, "dismiss", id, "--confirm"}, 2, "needs --reason"},
		{"dismiss without confirming", []string{"triage", "--endpoints", ep, "dismiss", id, "--reason", "x"}, 2, "--confirm"},
		{"assign without a request", []string{"triage", "--endpoints", ep, "assign", id}, 2, "--protocol and --date"},
		{"assign with a bad date", []string{"triage", "--endpoints", ep, "assign", id, "--protocol", "CPEC-1", "--date", "1/1/2026"}, 2, "YYYY-MM-DD"},
		{"assign to a number nobody has", []string{"triage", "--endpoints", ep, "assign", id, "--protocol", "CPEC-0999999", "--date", "2026-01-15"}, 1, "Nessuna richiesta"},
		{"show as JSON", []string{"triage", "--endpoints", ep, "--json", "show", id}, 0, `"state": "open"`},
		{"requests", []string{"triage", "--endpoints", ep, "requests", id}, 0, "PROTOCOL"},
		{"text (recorded)", []string{"triage", "--endpoints", ep, "text", id}, 0, "Buongiorno"},
		{"show unknown", []string{"triage", "--endpoints", ep, "show", "nope"}, 1, "casellario triage"},
		{"assign to an unknown batch", []string{"triage", "--endpoints", ep, "assign", id, domain.NewID()}, 1, "casellario triage"},
		{"show: the facts, not the storage", []string{"triage", "--endpoints", ep, "show", id}, 0, "(certified: the Procura)"},
		{"dismiss", []string{"triage", "--endpoints", ep, "dismiss", id, "--reason", "pubblicità", "--confirm"}, 0, `"state": "dismissed"`},
		{"dismissed is no longer listed", []string{"triage", "--endpoints", ep, "list"}, 0, "nothing to route"},
		{"but --all shows it", []string{"triage", "--endpoints", ep, "list", "--all"}, 0, id},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tt.args...)
			where := out
			if tt.code != 0 {
				where = errs
			}
			if code != tt.code || !strings.Contains(where, tt.text) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %d and %q", code, out, errs, tt.code, tt.text)
			}
		})
	}
	if _, out, _ := runCLI(t, "triage", "--endpoints", ep, "show", id); strings.Contains(out, "/pec/") || strings.Contains(out, ".eml") {
		t.Errorf("show prints storage keys: %s", out)
	}
	it, err := run.Store.GetTriage(context.Background(), "c_g999", id)
	if err != nil || it.Note != "pubblicità" || !strings.HasPrefix(string(it.Cause), "user:") || it.UpdatedAt.Before(time.Now().Add(-time.Minute)) {
		t.Fatalf("stored item %+v %v", it, err)
	}
}

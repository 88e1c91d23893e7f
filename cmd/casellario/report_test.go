package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/localdev/localrun"
	"github.com/casellario-pec/casellario/shared/localdev/needs"
	"github.com/casellario-pec/casellario/shared/report"
	"github.com/casellario-pec/casellario/shared/s3docs"
)

// TestReportAfterRoundTrip: a list goes to the Procura and back in the local
// run; `casellario report --json` then counts its request and people, with
// turnaround figures that are those of the stored events, and a cost per
// request from the run's own usage.
func TestReportAfterRoundTrip(t *testing.T) {
	needs.Server(t, needs.LocalRun)
	ctx := context.Background()
	dir := t.TempDir()
	run, err := localrun.Start(ctx, localrun.Options{DataDir: dir, DispatchEvery: -1, PollEvery: -1, ProcuraDelay: time.Millisecond,
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	ep := filepath.Join(dir, localrun.EndpointsFile)

	id := domain.NewID()
	lines := "Cognome;Nome;Sesso;Data di nascita;Comune o Stato di nascita\n" +
		"Rossi;Mario;M;01/02/1970;Prato\nRossi;Anna;F;02/02/1970;Prato\nRossi;Luca;M;03/02/1970;Prato\n"
	if _, err := run.Docs.Put(ctx, run.Docs.Upload(s3docs.UploadKey("c_g999", "ACQUISTI", id, "csv")), "text/csv", strings.NewReader(lines)); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "intake", func() bool {
		u, err := run.Store.GetUpload(ctx, "c_g999", id)
		return err == nil && u.State == domain.UploadQueued
	})
	if code, out, errs := runCLI(t, "dispatch", "--now", "--endpoints", ep); code != 0 {
		t.Fatalf("dispatch: %d %s %s", code, out, errs)
	}
	batches, err := run.Store.ListBatches(ctx, "c_g999", "ACQUISTI", nil, 5)
	if err != nil || len(batches) != 1 {
		t.Fatalf("batches %v %v", batches, err)
	}
	waitUntil(t, "the batch completed", func() bool {
		res, err := http.Post(run.Endpoints.Control+"/poll", "", nil)
		if err == nil {
			res.Body.Close()
		}
		b, err := run.Store.GetBatch(ctx, "c_g999", batches[0].ID)
		return err == nil && b.State == domain.BatchCompleted
	})

	code, out, errs := runCLI(t, "report", "--json", "--endpoints", ep)
	if code != 0 {
		t.Fatalf("report: %d %s", code, errs)
	}
	var rep report.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var acq *report.OfficeReport
	for _, tr := range rep.Tenants {
		for i, o := range tr.Offices {
			if tr.Tenant == "c_g999" && o.Office == "ACQUISTI" {
				acq = &tr.Offices[i]
			}
		}
	}
	if acq == nil || acq.Requests != 1 || acq.People != 3 || acq.Overdue != 0 || acq.Failed != 0 || acq.OfficeName == "" {
		t.Fatalf("ACQUISTI: %+v", acq)
	}
	// The figures are those of the events the store keeps: the first change
	// to each state; sent is the first evidence of sending (a receipt's
	// time, to the second, may precede the store's record of the sending).
	up, _ := run.Store.GetUpload(ctx, "c_g999", id)
	evs, _ := run.Store.Events(ctx, "c_g999", batches[0].ID)
	at := map[string]time.Time{}
	for _, e := range evs {
		if t, ok := at[e.State]; e.Note == "" && (!ok || e.At.Before(t)) {
			at[e.State] = e.At
		}
	}
	for _, s := range []string{"accepted", "delivered", "replied", "completed"} {
		if t, ok := at[s]; ok && t.Before(at["sent"]) {
			at["sent"] = t
		}
	}
	subs, _ := run.Store.SubjectsOfBatch(ctx, "c_g999", batches[0].ID)
	var certified []float64
	for _, s := range subs {
		certified = append(certified, s.Certificate.ReceivedAt.Sub(up.CreatedAt).Hours())
	}
	p50, _ := report.Percentile(certified, 50)
	p90, _ := report.Percentile(certified, 90)
	for _, tt := range []struct {
		name string
		got  report.Percentiles
		want [2]float64
	}{
		{"upload to sent", acq.Turnaround.UploadToSent, [2]float64{at["sent"].Sub(up.CreatedAt).Hours(), at["sent"].Sub(up.CreatedAt).Hours()}},
		{"sent to delivered", acq.Turnaround.SentToDelivered, [2]float64{at["delivered"].Sub(at["sent"]).Hours(), at["delivered"].Sub(at["sent"]).Hours()}},
		{"sent to reply", acq.Turnaround.SentToReply, [2]float64{at["replied"].Sub(at["sent"]).Hours(), at["replied"].Sub(at["sent"]).Hours()}},
		{"upload to certified", acq.Turnaround.UploadToCertified, [2]float64{p50, p90}},
	} {
		if tt.got.P50 == nil || tt.got.P90 == nil || math.Abs(*tt.got.P50-tt.want[0]) > 1e-9 || math.Abs(*tt.got.P90-tt.want[1]) > 1e-9 || *tt.got.P50 <= 0 {
			t.Errorf("%s: %v %v, want %v", tt.name, tt.got.P50, tt.got.P90, tt.want)
		}
	}
	if rep.Cost.PerRequestEUR == nil || *rep.Cost.PerRequestEUR <= 0 || !strings.Contains(rep.Cost.Basis, "local run usage") ||
		!strings.Contains(rep.Cost.Basis, "eu-south-1") {
		t.Errorf("cost %+v", rep.Cost)
	}
	today := time.Now().In(report.Rome)
	if rep.To != today.Format(time.DateOnly) || rep.From != today.AddDate(0, 0, -29).Format(time.DateOnly) {
		t.Errorf("period %s to %s", rep.From, rep.To)
	}

	// For people: English, Rome's days, the office's row and the cost.
	code, out, _ = runCLI(t, "report", "--tenant", "c_g999", "--endpoints", ep)
	for _, s := range []string{"Comune di Prato (c_g999)", "ACQUISTI", "Cost per request sent: EUR", today.Format("02/01/2006")} {
		if code != 0 || !strings.Contains(out, s) {
			t.Errorf("human output lacks %q: %d\n%s", s, code, out)
		}
	}
	if strings.Contains(out, "Vaiano") {
		t.Errorf("--tenant c_g999 shows another Comune:\n%s", out)
	}

	for _, tt := range []struct {
		name    string
		args    []string
		overdue string
		code    int
		err     string
	}{
		{"unknown tenant", []string{"--tenant", "c_x000"}, "", 2, "not configured"},
		{"bad from", []string{"--from", "01/03/2026"}, "", 2, "YYYY-MM-DD"},
		{"bad to", []string{"--to", "2026-02-30"}, "", 2, "YYYY-MM-DD"},
		{"from after to", []string{"--from", "2026-03-02", "--to", "2026-03-01"}, "", 2, "after it ends"},
		{"an argument", []string{"c_g999"}, "", 2, "unexpected arguments"},
		{"unknown flag", []string{"--month", "3"}, "", 2, "flag provided but not defined"},
		{"bad overdue setting", nil, "ten days", 2, "CASELLARIO_OVERDUE_AFTER"},
		{"no local run", []string{"--endpoints", filepath.Join(dir, "none.json")}, "", 1, "local run"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CASELLARIO_OVERDUE_AFTER", tt.overdue)
			args := append([]string{"report"}, tt.args...)
			if !strings.Contains(strings.Join(tt.args, " "), "--endpoints") {
				args = append(args, "--endpoints", ep)
			}
			code, _, errs := runCLI(t, args...)
			if code != tt.code || !strings.Contains(errs, tt.err) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errs, tt.code, tt.err)
			}
		})
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

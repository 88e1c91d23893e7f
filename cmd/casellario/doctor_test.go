package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/localdev/localrun"
	"github.com/casellario-pec/casellario/shared/localdev/needs"
	"github.com/casellario-pec/casellario/shared/pec/compose"
	"github.com/casellario-pec/casellario/shared/pecmail"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// sendOne sends one PEC from tn's mailbox to its Procura: its acceptance and
// delivery receipts land in tn's INBOX at once, for the trust check.
func sendOne(t *testing.T, tn tenants.Tenant, caFile string) {
	t.Helper()
	roots, err := pecmail.TLSWithRoots(caFile)
	if err != nil {
		t.Fatal(err)
	}
	var msg bytes.Buffer
	if _, err := compose.Write(&msg, compose.Mail{From: tn.PEC.Address, To: []string{tn.Procura}, Subject: "prova", Text: "prova\r\n"}); err != nil {
		t.Fatal(err)
	}
	s := &pecmail.SMTP{Secrets: pecmail.LocalSecrets(), TLS: roots, Timeout: 10 * time.Second}
	if err := s.Send(context.Background(), tn, tn.PEC.Address, []string{tn.Procura}, msg.Bytes()); err != nil {
		t.Fatal(err)
	}
}

// TestDoctorLocalRun runs doctor against `casellario dev`'s local run, as an
// operator would before trying a new tenants file.
func TestDoctorLocalRun(t *testing.T) {
	needs.Server(t, needs.LocalRun)
	dir := t.TempDir()
	run, err := localrun.Start(context.Background(), localrun.Options{DataDir: dir, DispatchEvery: -1, PollEvery: -1,
		ProcuraDelay: time.Hour, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	ep := filepath.Join(dir, localrun.EndpointsFile)
	prato, err := run.Tenants.Tenant("c_g999")
	if err != nil {
		t.Fatal(err)
	}
	sendOne(t, *prato, run.Peers.CAFile)

	// A copy of the run's files whose tenants file has a wrong password for Prato.
	wrong := *run.Tenants
	wrong.Tenants = append([]tenants.Tenant(nil), run.Tenants.Tenants...)
	wrong.Tenants[0].PEC.Auth = tenants.Secret{Password: "not-the-password"}
	b, _ := json.Marshal(&wrong)
	wrongTenants := filepath.Join(dir, "wrong-tenants.json")
	if err := os.WriteFile(wrongTenants, b, 0o600); err != nil {
		t.Fatal(err)
	}
	epWrong := run.Endpoints
	epWrong.Tenants = wrongTenants
	b, _ = json.Marshal(epWrong)
	wrongEP := filepath.Join(dir, "wrong-endpoints.json")
	if err := os.WriteFile(wrongEP, b, 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		args    []string
		code    int
		out     []string
		errs    string
		notOut  string
		jsonOut bool
	}{
		{"a good Comune passes", []string{"doctor", "--endpoints", ep, "--tenant", "c_g999"}, 0,
			[]string{"casellario doctor: c_g999 (Comune di Prato), local run (" + ep + ")", "OK    imap-login", "OK    trust-provider", "OK    smtp-login",
				"SKIP  schedules", "c_g999: 11 OK, 0 WARN, 0 FAIL, 2 SKIP: nothing failed"}, "", "FAIL  ", false},
		{"JSON", []string{"doctor", "--json", "--endpoints", ep, "--tenant", "c_g999"}, 0, []string{`"ok":true`, `"target":"local"`, `"check":"trust-provider","status":"OK"`}, "", "", true},
		{"a mailbox without receipts warns", []string{"doctor", "--endpoints", ep, "--tenant", "c_l537"}, 0,
			[]string{"WARN  trust-provider", "→ fix: send one PEC from this mailbox", "1 WARN, 0 FAIL"}, "", "", false},
		{"a wrong password fails", []string{"doctor", "--endpoints", wrongEP, "--tenant", "c_g999"}, 1,
			[]string{"FAIL  imap-login", "FAIL  smtp-login", "fix the FAIL lines"}, "", "not-the-password", false},
		{"a wrong password in JSON", []string{"doctor", "--json", "--endpoints", wrongEP, "--tenant", "c_g999"}, 1,
			[]string{`"ok":false`, `"FAIL":2`}, "", "not-the-password", true},
		{"an unknown tenant", []string{"doctor", "--endpoints", ep, "--tenant", "c_x000"}, 2, nil, `tenant "c_x000" is not in the tenants file (it has c_g999, c_l537)`, "", false},
		{"no tenant", []string{"doctor", "--endpoints", ep}, 2, nil, "usage: casellario doctor --tenant T", "", false},
		{"an extra argument", []string{"doctor", "--endpoints", ep, "--tenant", "c_g999", "x"}, 2, nil, "usage", "", false},
		{"an unknown flag", []string{"doctor", "--tenants", "c_g999"}, 2, nil, "flag provided but not defined", "", false},
		{"no such endpoints file", []string{"doctor", "--endpoints", filepath.Join(dir, "none.json"), "--tenant", "c_g999"}, 2, nil, "local run", "", false},
		{"--aws and --endpoints together", []string{"doctor", "--aws", "--endpoints", ep, "--tenant", "c_g999"}, 2, nil, "exclude each other", "", false},
		{"schedules of a local run", []string{"schedules", "enable", "--endpoints", ep, "--tenant", "c_g999"}, 2, nil, "no EventBridge schedules", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tt.args...)
			if code != tt.code || !strings.Contains(errs, tt.errs) {
				t.Fatalf("exit %d, stderr %q; want %d and %q\n%s", code, errs, tt.code, tt.errs, out)
			}
			for _, w := range tt.out {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if tt.notOut != "" && strings.Contains(out+errs, tt.notOut) {
				t.Errorf("output has %q:\n%s", tt.notOut, out)
			}
			if tt.jsonOut {
				var v doctorJSON
				if err := json.Unmarshal([]byte(out), &v); err != nil || v.Tenant == "" || len(v.Checks) != 13 || len(v.Counts) != 4 {
					t.Errorf("JSON %v: %s", err, out)
				}
			}
		})
	}
}

func TestLocalCheckTargetErrors(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		ep   localrun.Endpoints
		err  string
	}{
		{"a tenants file that is missing", localrun.Endpoints{Tenants: filepath.Join(dir, "none.json"), CA: ca}, "tenants"},
		{"a CA file that is missing", localrun.Endpoints{CA: filepath.Join(dir, "none.pem")}, "TLS roots"},
		{"a mail sink address that is not host:port", localrun.Endpoints{MailSMTP: "sink", CA: ""}, "mail_smtp"},
		{"the demo tenants and the system roots", localrun.Endpoints{}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ct, err := localCheckTarget(tt.ep, "endpoints.json", time.Second)
			if tt.err == "" {
				if err != nil || len(ct.tenants.Tenants) != 2 || !ct.local || ct.base.Notices != nil {
					t.Fatalf("%+v %v", ct, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("err %v, want %q", err, tt.err)
			}
		})
	}
}

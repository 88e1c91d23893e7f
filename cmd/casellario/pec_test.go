package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/pec/pectest"
)

func pecFixture(t *testing.T) (raw []byte, trustFile string) {
	t.Helper()
	ca, err := pectest.NewCA("CA di prova", pectest.Options{ECDSA: true})
	if err != nil {
		t.Fatal(err)
	}
	s, err := ca.NewSigner("Gestore di prova", "posta-certificata@pec.example")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	_, err = pec.WriteReceipt(&b, pec.ReceiptSpec{
		Kind: pec.KindAccettazione, Identificativo: "id-1@pec.example", RefMessageID: "<orig-1@comune.example>",
		Sender: "comune@pec.example", Recipients: []pec.Recipient{{Address: "procura@pec.example", Type: pec.RecipientCertificato}},
		Subject: "Richiesta", Issuer: "Gestore di prova", Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("", 3600)),
	}, s)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	trustFile = filepath.Join(dir, "trust.pem")
	if err := os.WriteFile(trustFile, ca.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), trustFile
}

func TestPecInspect(t *testing.T) {
	raw, trust := pecFixture(t)
	dir := t.TempDir()
	emlFile := filepath.Join(dir, "r.eml")
	if err := os.WriteFile(emlFile, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	badTrust := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(badTrust, []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		stdin  string
		code   int
		status string // signature status in JSON, "" when not JSON
		out    string // substring of stdout
		errOut string // substring of stderr
	}{
		{name: "json trusted", args: []string{"--json", "--trust", trust, emlFile}, code: 0, status: "valid"},
		{name: "json untrusted", args: []string{"--json", emlFile}, code: 0, status: "untrusted"},
		{name: "stdin", args: []string{"--json", "-"}, stdin: string(raw), code: 0, status: "untrusted"},
		{name: "text", args: []string{emlFile}, code: 0, out: "kind:           accettazione"},
		{name: "plain mail", args: []string{"--json", "-"}, stdin: "From: a@b.example\r\nSubject: hi\r\n\r\nbody\r\n", code: 0, status: "absent", out: `"kind": "non-pec"`},
		{name: "not a message", args: []string{"-"}, stdin: "%PDF-1.4 binary", code: 2, errOut: "not an e-mail message"},
		{name: "missing file", args: []string{filepath.Join(dir, "none.eml")}, code: 2, errOut: "no such file"},
		{name: "bad trust", args: []string{"--trust", badTrust, emlFile}, code: 2, errOut: "no PEM certificate"},
		{name: "missing trust file", args: []string{"--trust", filepath.Join(dir, "none.pem"), emlFile}, code: 2, errOut: "trust store"},
		{name: "no file", args: []string{}, code: 2, errOut: "exactly one"},
		{name: "two files", args: []string{emlFile, emlFile}, code: 2, errOut: "exactly one"},
		{name: "bad flag", args: []string{"--nope", emlFile}, code: 2, errOut: "flag provided but not defined"},
		{name: "help", args: []string{"-h"}, code: 0, errOut: "usage: casellario pec inspect"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"pec", "inspect"}, tc.args...)
			code := run(context.Background(), env{strings.NewReader(tc.stdin), &stdout, &stderr}, args)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.code, stderr.String())
			}
			if tc.out != "" && !strings.Contains(stdout.String(), tc.out) {
				t.Errorf("stdout %q lacks %q", stdout.String(), tc.out)
			}
			if tc.errOut != "" && !strings.Contains(stderr.String(), tc.errOut) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tc.errOut)
			}
			if tc.status == "" {
				return
			}
			var v map[string]any
			if err := json.Unmarshal(stdout.Bytes(), &v); err != nil {
				t.Fatalf("stdout is not JSON: %v", err)
			}
			for _, k := range []string{"kind", "receipt_type", "message_id", "ref_message_id", "pec_id", "error", "error_detail",
				"sender", "recipients", "subject", "issuer", "timestamp", "signature", "original", "attachments", "problems"} {
				if _, ok := v[k]; !ok {
					t.Errorf("JSON lacks %q", k)
				}
			}
			if got := v["signature"].(map[string]any)["status"]; got != tc.status {
				t.Errorf("signature status = %v, want %s", got, tc.status)
			}
			for _, k := range []string{"recipients", "attachments", "problems"} {
				if v[k] == nil {
					t.Errorf("%s is null, want a list", k)
				}
			}
		})
	}
	// the contract's values for the receipt
	var stdout bytes.Buffer
	run(context.Background(), env{nil, &stdout, &bytes.Buffer{}}, []string{"pec", "inspect", "--json", "--trust", trust, emlFile})
	var v pec.View
	if err := json.Unmarshal(stdout.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if v.Kind != pec.KindAccettazione || v.RefMessageID != "<orig-1@comune.example>" || v.PECID != "id-1@pec.example" ||
		v.Timestamp != "2025-01-02T03:04:05+01:00" || v.Subject != "Richiesta" || len(v.Recipients) != 1 ||
		v.Recipients[0].Type != "certificato" || !strings.Contains(stdout.String(), `"<orig-1@comune.example>"`) {
		t.Errorf("view = %+v", v)
	}
}

func TestPecUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
	}{
		{[]string{"pec"}, 2},
		{[]string{"pec", "nope"}, 2},
		{[]string{"pec", "help"}, 0},
	}
	for _, tc := range tests {
		var stderr bytes.Buffer
		if code := run(context.Background(), env{nil, &bytes.Buffer{}, &stderr}, tc.args); code != tc.code {
			t.Errorf("%v: exit %d, want %d", tc.args, code, tc.code)
		}
		if !strings.Contains(stderr.String(), "usage: casellario pec") {
			t.Errorf("%v: no usage in %q", tc.args, stderr.String())
		}
	}
}

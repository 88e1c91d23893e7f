package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func trustCert(t *testing.T, cn string, from, until time.Time) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotBefore: from, NotAfter: until}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

func TestTrustBuild(t *testing.T) {
	dir := t.TempDir()
	n := time.Now()
	good := "dn: providerName=Gestore Uno,o=postacert\nproviderName: Gestore Uno\nmanagedDomains: pec.uno.it\nproviderCertificate;binary:: " +
		trustCert(t, "Gestore Uno PEC", n.AddDate(-1, 0, 0), n.AddDate(1, 0, 0)) + "\n\n"
	expired := "dn: providerName=Gestore Due,o=postacert\nproviderName: Gestore Due\nproviderCertificate:: " +
		trustCert(t, "Gestore Due PEC", n.AddDate(-3, 0, 0), n.AddDate(0, 0, -1)) + "\n\n"
	rejected := "dn: providerName=Gestore Tre,o=postacert\nproviderName: Gestore Tre\nproviderCertificateHash: " + strings.Repeat("ab", 20) +
		"\nproviderCertificate:: " + trustCert(t, "Gestore Tre PEC", n.AddDate(-1, 0, 0), n.AddDate(1, 0, 0)) + "\n\n"
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	index := write("index.ldif", "version: 1\n\n"+good+expired)
	partial := write("partial.ldif", good+rejected)
	onlyExpired := write("expired.ldif", expired)
	broken := write("broken.ldif", "providerName: x\n")
	out := filepath.Join(dir, "pec-trust.pem")
	tests := []struct {
		name           string
		args           []string
		code           int
		stdout, stderr string
		wrote          bool
	}{
		{"to a file", []string{"trust", "build", "--from", index, "--out", out}, 0, "Gestore Due", "", true},
		{"report flags expired", []string{"trust", "build", "--from", index, "--out", out}, 0, "EXPIRED", "", true},
		{"to stdout", []string{"trust", "build", "--from", index}, 0, "BEGIN CERTIFICATE", "1 certificates in the trust store", false},
		{"keep expired", []string{"trust", "build", "--from", index, "--keep-expired"}, 0, "BEGIN CERTIFICATE", "1 expired (kept)", false},
		{"json report", []string{"trust", "build", "--json", "--from", index, "--out", out}, 0, `"status": "expired"`, "", true},
		{"some rejected", []string{"trust", "build", "--from", partial, "--out", out}, 1, "HASH-MISMATCH", "", true},
		{"nothing usable", []string{"trust", "build", "--from", onlyExpired, "--out", filepath.Join(dir, "none.pem")}, 2, "EXPIRED", "no usable certificate", false},
		{"broken export", []string{"trust", "build", "--from", broken}, 2, "", "before any dn", false},
		{"missing export", []string{"trust", "build", "--from", filepath.Join(dir, "nowhere.ldif")}, 2, "", "no such file", false},
		{"no --from", []string{"trust", "build"}, 2, "", "usage", false},
		{"extra argument", []string{"trust", "build", "--from", index, "x"}, 2, "", "usage", false},
		{"bad flag", []string{"trust", "build", "--nope"}, 2, "", "flag provided but not defined", false},
		{"no subcommand", []string{"trust"}, 2, "", "usage: casellario trust build", false},
		{"unknown subcommand", []string{"trust", "fetch"}, 2, "", "usage: casellario trust build", false},
		{"unwritable output", []string{"trust", "build", "--from", index, "--out", filepath.Join(dir, "no", "such", "dir.pem")}, 2, "", "trust build:", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.Remove(out)
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			if !strings.Contains(stdout, tt.stdout) || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stdout %q (want %q)\nstderr %q (want %q)", stdout, tt.stdout, stderr, tt.stderr)
			}
			b, err := os.ReadFile(out)
			if tt.wrote != (err == nil) {
				t.Fatalf("%s written: %v, want %v", out, err == nil, tt.wrote)
			}
			if tt.wrote && !strings.Contains(string(b), "BEGIN CERTIFICATE") {
				t.Errorf("%s: %s", out, b)
			}
		})
	}
	// The JSON report is a contract for scripts.
	_, stdout, _ := runCLI(t, "trust", "build", "--json", "--from", index, "--out", out)
	var rep struct {
		Providers []struct {
			Name         string `json:"name"`
			Certificates []struct {
				Subject  string `json:"subject"`
				Status   string `json:"status"`
				Included bool   `json:"included"`
			} `json:"certificates"`
		} `json:"providers"`
		Included int `json:"included"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || rep.Included != 1 || len(rep.Providers) != 2 || rep.Providers[0].Certificates[0].Subject != "CN=Gestore Due PEC" {
		t.Fatalf("JSON report %+v (%v): %s", rep, err, stdout)
	}
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/casellario-pec/casellario/shared/localdev/needs"
	"github.com/casellario-pec/casellario/shared/pec"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type readyLine struct {
	SMTP      string `json:"smtp"`
	IMAP      string `json:"imap"`
	CA        string `json:"ca"`
	Mailboxes []struct {
		Address  string `json:"address"`
		Password string `json:"password"`
	} `json:"mailboxes"`
}

// startSim runs `casellario sim args...` until the test cancels it.
func startSim(t *testing.T, args ...string) (readyLine, context.CancelFunc, <-chan int, *lockedBuffer) {
	t.Helper()
	needs.Server(t, needs.Simulator)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	stderr := &lockedBuffer{}
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, env{stdin: strings.NewReader(""), stdout: pw, stderr: stderr}, append([]string{"sim"}, args...))
		pw.Close()
	}()
	lines := make(chan string, 1)
	go func() {
		br := bufio.NewReader(pr)
		l, _ := br.ReadString('\n')
		lines <- l
		_, _ = io.Copy(io.Discard, br)
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatalf("no ready line; stderr: %s", stderr.String())
	}
	var r readyLine
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		cancel()
		t.Fatalf("ready line %q: %v (stderr %s)", line, err, stderr.String())
	}
	return r, cancel, code, stderr
}

func TestSimCommand(t *testing.T) {
	r, cancel, code, stderr := startSim(t)
	if !strings.HasPrefix(r.SMTP, "127.0.0.1:") || !strings.HasPrefix(r.IMAP, "127.0.0.1:") || len(r.Mailboxes) != 3 {
		t.Fatalf("ready: %+v", r)
	}
	pemData, err := os.ReadFile(r.CA)
	if err != nil {
		t.Fatal(err)
	}
	trust, err := pec.ParseTrustStore(pemData)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"protocollo@pec.comune.prato.test": true, "protocollo@pec.comune.vaiano.test": true, "casellario@pec.procura.prato.test": true}
	for _, m := range r.Mailboxes {
		if !want[m.Address] || len(m.Password) < 12 {
			t.Fatalf("mailbox %+v", m)
		}
	}
	// The mailboxes open over TLS trusting the exported CA.
	c, err := imapclient.DialTLS(r.IMAP, &imapclient.Options{TLSConfig: tlsConfig(trust)})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(r.Mailboxes[0].Address, r.Mailboxes[0].Password).Wait(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	cancel()
	select {
	case n := <-code:
		if n != 0 {
			t.Fatalf("exit %d; stderr: %s", n, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop")
	}
	if !strings.Contains(stderr.String(), "simulator ready") || !strings.Contains(stderr.String(), "simulator stopping") {
		t.Fatalf("stderr: %s", stderr.String())
	}
	if _, err := os.Stat(r.CA); !os.IsNotExist(err) {
		t.Fatalf("the temporary CA file is left behind: %v", err)
	}
}

func TestSimCommandConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sim.json")
	if err := os.WriteFile(cfg, []byte(`{"dir":`+jsonString(dir)+`,"mailboxes":[{"address":"a@pec.a.test","password":"segreta-a"},{"address":"b@pec.b.test"}],
		"procura":{"address":"b@pec.b.test","mode":"merged","delay":"1m"},"faults":{"receipt_delay":"5s"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	r, cancel, code, _ := startSim(t, "--config", cfg)
	defer cancel()
	if r.CA != filepath.Join(dir, "ca.pem") || len(r.Mailboxes) != 2 || r.Mailboxes[0].Password != "segreta-a" || r.Mailboxes[1].Password == "" {
		t.Fatalf("ready: %+v", r)
	}
	cancel()
	if n := <-code; n != 0 {
		t.Fatalf("exit %d", n)
	}
}

func jsonString(s string) string { b, _ := json.Marshal(s); return string(b) }

func TestSimCommandErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		errOut string
		starts bool // the provider starts (listens) before the error
	}{
		{"help", []string{"-h"}, 0, "usage: casellario sim", false},
		{"bad flag", []string{"--nope"}, 2, "flag provided but not defined", false},
		{"argument", []string{"extra"}, 2, "no arguments", false},
		{"missing config", []string{"--config", filepath.Join(dir, "none.json")}, 2, "no such file", false},
		{"bad json", []string{"--config", write("bad.json", "{")}, 2, "config", false},
		{"unknown field", []string{"--config", write("unknown.json", `{"smpt":"127.0.0.1:0"}`)}, 2, "unknown field", false},
		{"bad duration", []string{"--config", write("dur.json", `{"procura":{"delay":"soon"}}`)}, 2, "duration", false},
		{"not loopback", []string{"--config", write("lan.json", `{"smtp":"0.0.0.0:0"}`)}, 1, "not a loopback address", false},
		{"procura not a mailbox", []string{"--config", write("procura.json", `{"procura":{"address":"x@pec.x.test"}}`)}, 1, "not among the mailboxes", true},
		{"bad mode", []string{"--config", write("mode.json", `{"procura":{"mode":"sometimes"}}`)}, 1, "unknown mode", true},
		{"bad format", []string{"--config", write("format.json", `{"procura":{"format":"xlsx"}}`)}, 1, "unknown format", true},
		{"bad regexp", []string{"--config", write("re.json", `{"procura":{"subject_regexp":"("}}`)}, 1, "regexp", true},
		{"regexp without groups", []string{"--config", write("re2.json", `{"procura":{"subject_regexp":"prot"}}`)}, 1, "groups", true},
		{"bad mailbox", []string{"--config", write("mb.json", `{"mailboxes":[{"address":"nobody"}]}`)}, 1, "not an address", true},
		{"duplicate mailbox", []string{"--config", write("dup.json", `{"mailboxes":[{"address":"a@pec.a.test"},{"address":"A@pec.a.test"}],"procura":{"disabled":true}}`)}, 1, "twice", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.starts {
				needs.Server(t, needs.Simulator)
			}
			var stdout, stderr bytes.Buffer
			n := run(context.Background(), env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr}, append([]string{"sim"}, tc.args...))
			if n != tc.code || !strings.Contains(stderr.String(), tc.errOut) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q)", n, tc.code, stderr.String(), tc.errOut)
			}
			if stdout.Len() != 0 {
				t.Fatalf("stdout: %q", stdout.String())
			}
		})
	}
}

func tlsConfig(pool *x509.CertPool) *tls.Config {
	return &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12}
}

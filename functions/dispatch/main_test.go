package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/config"
	"github.com/casellario-pec/casellario/shared/config/configtest"
	"github.com/casellario-pec/casellario/shared/pec/pki"
	"github.com/casellario-pec/casellario/shared/pecmail"
)

// trustFile writes a PEC trust store (one test CA) and returns its path.
func trustFile(t testing.TB) string {
	t.Helper()
	ca, err := pki.New("Test PEC CA", true)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "trust.pem")
	if err := os.WriteFile(p, ca.PEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSetup checks dispatch's own wiring: the grace, the mailbox that looks
// for receipts (trusting the providers' certificates when given), the sender.
func TestSetup(t *testing.T) {
	c := configtest.Complete(t)
	c.Dispatch.Grace = 7 * time.Minute
	h, err := setup(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	mb, ok := h.Mailbox.(*pecmail.IMAP)
	if h.Store == nil || h.Docs == nil || h.Sender == nil || h.Secrets == nil || !ok || h.Grace != 7*time.Minute {
		t.Fatalf("incomplete handler %+v", h)
	}
	if mb.TrustStore != nil {
		t.Error("a trust store without CASELLARIO_PEC_TRUST")
	}
	c.PECTrust = trustFile(t)
	if h, err = setup(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if h.Mailbox.(*pecmail.IMAP).TrustStore == nil {
		t.Error("CASELLARIO_PEC_TRUST given, receipts not checked against it")
	}
}

func TestSetupErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(*config.Config)
		want   string
	}{
		{"no table", func(c *config.Config) { c.Store.Table = "" }, "CASELLARIO_TABLE"},
		{"no documents bucket", func(c *config.Config) { c.Docs.DocumentsBucket = "" }, "CASELLARIO_DOCUMENTS_BUCKET"},
		{"bad TLS roots", func(c *config.Config) { c.TLSRoots = "/nonexistent.pem" }, "CASELLARIO_TLS_ROOTS"},
		{"unreadable trust store", func(c *config.Config) { c.PECTrust = "/nonexistent.pem" }, "nonexistent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := configtest.Complete(t)
			tt.change(&c)
			if _, err := setup(context.Background(), c); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one naming %s", err, tt.want)
			}
		})
	}
}

// BenchmarkSetup measures the cold-start cost of the wiring (budget 50 ms).
func BenchmarkSetup(b *testing.B) {
	c := configtest.Complete(b)
	for b.Loop() {
		if _, err := setup(context.Background(), c); err != nil {
			b.Fatal(err)
		}
	}
}

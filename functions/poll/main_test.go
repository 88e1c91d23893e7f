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

// TestSetup checks poll's own wiring: the trust store, the deadline and the
// overdue delay from the configuration, the metrics on stdout.
func TestSetup(t *testing.T) {
	c := configtest.Complete(t)
	c.PECTrust = trustFile(t)
	c.Poll = config.Poll{Deadline: 3 * time.Minute, OverdueAfter: 48 * time.Hour}
	h, err := setup(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if h.Store == nil || h.Triage == nil || h.Docs == nil || h.Trust == nil || h.Mail == nil || h.Notify == nil || h.Metrics != os.Stdout {
		t.Fatalf("incomplete handler %+v", h)
	}
	if h.Deadline != 3*time.Minute || h.OverdueAfter != 48*time.Hour {
		t.Errorf("deadline %v, overdue after %v", h.Deadline, h.OverdueAfter)
	}
}

func TestSetupErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(*config.Config)
		want   string
	}{
		{"no table", func(c *config.Config) { c.Store.Table = "" }, "CASELLARIO_TABLE"},
		{"no buckets", func(c *config.Config) { c.Docs = config.Docs{} }, "CASELLARIO_UPLOADS_BUCKET"},
		{"no tenants", func(c *config.Config) { c.Tenants = "" }, "CASELLARIO_TENANTS"},
		{"no trust store", func(c *config.Config) { c.PECTrust = "" }, "CASELLARIO_PEC_TRUST"},
		{"unreadable trust store", func(c *config.Config) { c.PECTrust = "/nonexistent.pem" }, "nonexistent"},
		{"bad TLS roots", func(c *config.Config) { c.TLSRoots = "/nonexistent.pem" }, "CASELLARIO_TLS_ROOTS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := configtest.Complete(t)
			c.PECTrust = trustFile(t)
			tt.change(&c)
			if _, err := setup(context.Background(), c); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one naming %s", err, tt.want)
			}
		})
	}
}

package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

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

// TestSetup checks the API's own wiring: the page is served, the API wants a
// token (verified against the configured issuer).
func TestSetup(t *testing.T) {
	for _, trust := range []bool{false, true} {
		c := configtest.Complete(t)
		if trust {
			c.PECTrust = trustFile(t)
		}
		h, err := setup(context.Background(), c)
		if err != nil {
			t.Fatalf("trust %v: %v", trust, err)
		}
		page := httptest.NewRecorder()
		h.ServeHTTP(page, httptest.NewRequest(http.MethodGet, "/", nil))
		api := httptest.NewRecorder()
		h.ServeHTTP(api, httptest.NewRequest(http.MethodGet, "/api/v1/uploads", nil))
		if page.Code != http.StatusOK || api.Code != http.StatusUnauthorized {
			t.Errorf("trust %v: page %d, API without a token %d", trust, page.Code, api.Code)
		}
	}
}

func TestSetupErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(*config.Config)
		want   string
	}{
		{"no table", func(c *config.Config) { c.Store.Table = "" }, "CASELLARIO_TABLE"},
		{"no uploads bucket", func(c *config.Config) { c.Docs.UploadsBucket = "" }, "CASELLARIO_UPLOADS_BUCKET"},
		{"missing tenants file", func(c *config.Config) { c.Tenants = "/nonexistent.json" }, "tenants"},
		{"no issuer", func(c *config.Config) { c.Auth.Issuer = "" }, "CASELLARIO_OIDC_ISSUER"},
		{"no audience", func(c *config.Config) { c.Auth.Audience = "" }, "CASELLARIO_OIDC_AUDIENCE"},
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

package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/casellario-pec/casellario/shared/lambdaenv/lambdaenvtest"
	"github.com/casellario-pec/casellario/shared/pec/pki"
)

func setEnv(t *testing.T) {
	t.Helper()
	ca, err := pki.New("Test PEC CA", true)
	if err != nil {
		t.Fatal(err)
	}
	trust := filepath.Join(t.TempDir(), "trust.pem")
	if err := os.WriteFile(trust, ca.PEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	lambdaenvtest.Set(t)
	t.Setenv("CASELLARIO_PEC_TRUST", trust)
}

func TestSetup(t *testing.T) {
	setEnv(t)
	t.Setenv("CASELLARIO_POLL_DEADLINE", "3m")
	t.Setenv("CASELLARIO_NOTIFY_QUEUE_URL", "http://127.0.0.1:1/queue/notify")
	h, err := setup(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if h.Store == nil || h.Triage == nil || h.Docs == nil || h.Trust == nil || h.Mail == nil || h.Notify == nil || h.Deadline.Minutes() != 3 {
		t.Fatalf("incomplete handler %+v", h)
	}
}

func TestSetupErrors(t *testing.T) {
	tests := []struct{ name, key, value string }{
		{"no table", "CASELLARIO_TABLE", ""},
		{"no buckets", "CASELLARIO_DOCUMENTS_BUCKET", ""},
		{"no tenants", "CASELLARIO_TENANTS", ""},
		{"no trust store", "CASELLARIO_PEC_TRUST", ""},
		{"unreadable trust store", "CASELLARIO_PEC_TRUST", "/nonexistent.pem"},
		{"bad TLS roots", "CASELLARIO_TLS_ROOTS", "/nonexistent.pem"},
		{"bad deadline", "CASELLARIO_POLL_DEADLINE", "soon"},
		{"negative overdue", "CASELLARIO_OVERDUE_AFTER", "-1h"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setEnv(t)
			t.Setenv(tt.key, tt.value)
			if _, err := setup(context.Background()); err == nil {
				t.Fatalf("%s=%q accepted", tt.key, tt.value)
			}
		})
	}
}

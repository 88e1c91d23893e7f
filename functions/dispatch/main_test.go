package main

import (
	"context"
	"testing"
	"time"
)

func setEnv(t testing.TB) {
	t.Setenv("CASELLARIO_TABLE", "casellario")
	t.Setenv("CASELLARIO_UPLOADS_BUCKET", "uploads")
	t.Setenv("CASELLARIO_DOCUMENTS_BUCKET", "documents")
	t.Setenv("CASELLARIO_TENANTS", "demo")
	t.Setenv("AWS_REGION", "eu-south-1")
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1") // never contacted: setup makes no call
}

// TestSetupBudget checks the cold-start work of our own stays under 50 ms.
func TestSetupBudget(t *testing.T) {
	setEnv(t)
	start := time.Now()
	h, err := setup(context.Background())
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if h == nil || h.Store == nil || h.Docs == nil || h.Tenants == nil {
		t.Fatal("incomplete handler")
	}
	t.Logf("setup took %v", took)
	if took > 50*time.Millisecond {
		t.Errorf("setup took %v, budget 50ms", took)
	}
}

func TestSetupErrors(t *testing.T) {
	for _, unset := range []string{"CASELLARIO_TABLE", "CASELLARIO_UPLOADS_BUCKET", "CASELLARIO_TENANTS"} {
		setEnv(t)
		t.Setenv(unset, "")
		if _, err := setup(context.Background()); err == nil {
			t.Errorf("%s unset: no error", unset)
		}
	}
}

func BenchmarkSetup(b *testing.B) {
	setEnv(b)
	for b.Loop() {
		if _, err := setup(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

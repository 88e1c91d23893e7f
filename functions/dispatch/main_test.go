package main

import (
	"context"
	"testing"

	"github.com/casellario-pec/casellario/shared/lambdaenv/lambdaenvtest"
)

func setEnv(t testing.TB) { lambdaenvtest.Set(t) }

// TestSetup builds the handler from a complete environment. Its cost (the
// cold-start budget of 50 ms) is measured by BenchmarkSetup, not here.
func TestSetup(t *testing.T) {
	setEnv(t)
	h, err := setup(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if h == nil || h.Store == nil || h.Docs == nil || h.Tenants == nil {
		t.Fatal("incomplete handler")
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

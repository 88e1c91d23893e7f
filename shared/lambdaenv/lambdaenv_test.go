package lambdaenv

import (
	"context"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/lambdaenv/lambdaenvtest"
)

func setEnv(t *testing.T) { lambdaenvtest.Set(t) }

func TestLoad(t *testing.T) {
	setEnv(t)
	e, err := Load(context.Background(), true)
	if err != nil || e.Store == nil || e.Docs == nil || e.Tenants == nil || e.Log == nil || e.AWS.Region != "eu-south-1" {
		t.Fatalf("%+v %v", e, err)
	}
	t.Setenv("CASELLARIO_UPLOADS_BUCKET", "")
	if e, err := Load(context.Background(), false); err != nil || e.Docs != nil {
		t.Fatalf("without docs: %+v %v", e, err)
	}
	tests := []struct {
		key, value string
		withDocs   bool
	}{
		{"CASELLARIO_TABLE", "", false},
		{"CASELLARIO_RETENTION", "forever", false},
		{"CASELLARIO_TENANTS", "", false},
		{"CASELLARIO_TENANTS", "/nonexistent.json", false},
		{"CASELLARIO_DOCUMENTS_BUCKET", "", true},
		{"CASELLARIO_SSE", "rot13", true},
	}
	for _, tt := range tests {
		setEnv(t)
		t.Setenv(tt.key, tt.value)
		if _, err := Load(context.Background(), tt.withDocs); err == nil {
			t.Errorf("%s=%q accepted", tt.key, tt.value)
		}
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		value string
		want  time.Duration
		ok    bool
	}{
		{"", 0, true},
		{"10m", 10 * time.Minute, true},
		{"0s", 0, false},
		{"-1h", 0, false},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		t.Setenv("X_DURATION", tt.value)
		got, err := Duration("X_DURATION")
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("%q: %v %v", tt.value, got, err)
		}
	}
}

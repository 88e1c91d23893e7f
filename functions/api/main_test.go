package main

import (
	"context"
	"testing"

	"github.com/casellario-pec/casellario/shared/lambdaenv/lambdaenvtest"
)

func setEnv(t *testing.T) {
	lambdaenvtest.Set(t)
	t.Setenv("CASELLARIO_OIDC_ISSUER", "https://cognito-idp.eu-south-1.amazonaws.com/eu-south-1_example")
	t.Setenv("CASELLARIO_OIDC_AUDIENCE", "client-id")
}

func TestSetup(t *testing.T) {
	setEnv(t)
	if h, err := setup(context.Background()); err != nil || h == nil {
		t.Fatalf("setup: %v", err)
	}
}

func TestSetupErrors(t *testing.T) {
	tests := []struct{ key, value string }{
		{"CASELLARIO_TABLE", ""},
		{"CASELLARIO_UPLOADS_BUCKET", ""},
		{"CASELLARIO_TENANTS", ""},
		{"CASELLARIO_TENANTS", "/nonexistent.json"},
		{"CASELLARIO_OIDC_ISSUER", ""},
		{"CASELLARIO_OIDC_AUDIENCE", ""},
		{"CASELLARIO_PEC_TRUST", "/nonexistent.pem"},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			setEnv(t)
			t.Setenv(tt.key, tt.value)
			if _, err := setup(context.Background()); err == nil {
				t.Fatalf("%s=%q accepted", tt.key, tt.value)
			}
		})
	}
}

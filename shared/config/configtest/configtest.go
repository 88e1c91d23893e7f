// Package configtest gives tests a complete configuration that no client ever
// contacts: a function's setup builds everything from it without a network
// call, and would fail fast on a closed port if it tried.
package configtest

import (
	"testing"

	"github.com/casellario-pec/casellario/shared/config"
)

// Complete returns the settings every function needs (a test changes the ones
// it is about) and points the SDK's own variables at a closed local port.
func Complete(t testing.TB) config.Config {
	t.Helper()
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	t.Setenv("AWS_REGION", "eu-south-1")
	return config.Config{
		AWS:     config.AWS{Endpoint: true, S3PathStyle: true},
		Store:   config.Store{Table: "casellario"},
		Docs:    config.Docs{UploadsBucket: "uploads", DocumentsBucket: "documents", SSE: "none"},
		Tenants: "demo",
		SMTP:    config.SMTP{Host: "smtp.example.test", Port: 587, From: "casellario@example.test"},
		Auth:    config.Auth{Issuer: "https://cognito-idp.eu-south-1.amazonaws.com/eu-south-1_example", Audience: "client-id"},
	}
}

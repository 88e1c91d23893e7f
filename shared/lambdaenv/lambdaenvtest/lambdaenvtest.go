// Package lambdaenvtest sets, for a test, the environment every function reads
// through lambdaenv: a complete one that no client ever contacts.
package lambdaenvtest

import "testing"

// Set fills the common variables; a test then changes or clears the ones it is about.
func Set(t testing.TB) {
	t.Helper()
	t.Setenv("CASELLARIO_TABLE", "casellario")
	t.Setenv("CASELLARIO_UPLOADS_BUCKET", "uploads")
	t.Setenv("CASELLARIO_DOCUMENTS_BUCKET", "documents")
	t.Setenv("CASELLARIO_TENANTS", "demo")
	t.Setenv("AWS_REGION", "eu-south-1")
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1") // never contacted: setup makes no call
}

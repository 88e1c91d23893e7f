// Package needs marks the tests that need a server of the local stack (or
// a browser), so that `go test -short` — make test-unit — skips them and
// says what they need. The helpers that start servers call it (testenv.New,
// simtest.Start, the API tests' local run, the browser test…), so that each
// kind of server is checked in one place; make test runs them all.
package needs

import "testing"

// What the slow tests need, as their skip messages say it.
const (
	Dynalite  = "dynalite and gofakes3 (testenv)"
	Simulator = "the PEC simulator (SMTP and IMAP on loopback)"
	LocalRun  = "the local run (dynalite, gofakes3, the PEC simulator, the mail sink)"
	MailSink  = "the mail sink (SMTP and HTTP on loopback)"
	Browser   = "chromium and the local run"
	Loopback  = "a server on loopback"
	Dovecot   = "Dovecot (dovecot-imapd on loopback: make packages)"
)

// Server skips t under -short: it needs what to run.
func Server(t testing.TB, what string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("needs %s; run make test", what)
	}
}

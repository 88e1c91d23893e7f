// Package protocol registers outgoing requests in a Comune's protocol register
// (protocollo generale). Three registers sit behind one port: the built-in one kept in
// DynamoDB (see shared/store), an external register reached over HTTP, and numbers
// typed by the protocol office and supplied with the upload.
//
// Every Register call is idempotent on Request.BatchID: asking twice for the same batch
// gives the same number, so a dispatch that crashed after registering can retry.
package protocol

import (
	"context"
	"regexp"
	"strings"

	"github.com/casellario-pec/casellario/shared/domain"
)

// Request is what the register needs to know of an outgoing request.
type Request struct {
	Tenant    string     // IPA code of the Comune, e.g. c_g999
	AOO       string     // the area organizzativa omogenea
	Registry  string     // CodiceRegistro, [A-Za-z0-9_.-]{1,16}
	BatchID   string     // idempotency key
	Subject   string     // the letter's Oggetto; never a person's name
	Recipient string     // the Procura's PEC address
	Documents []Document // fingerprints of what is sent
	Manual    *domain.Protocol
}

// Document is a file registered with the request.
type Document struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
}

// Register assigns protocol numbers.
type Register interface {
	Register(ctx context.Context, r Request) (domain.Protocol, error)
}

// Error is a failed registration. Temporary errors (the register is down, times out,
// answers 5xx or 429) are retried by the next dispatch; others need a person.
type Error struct {
	Temporary bool
	Message   string // English, for operators
	Err       error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return "protocol: " + e.Message + ": " + e.Err.Error()
	}
	return "protocol: " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// IsTemporary reports whether err is a registration failure worth retrying.
func IsTemporary(err error) bool {
	var e *Error
	return asError(err, &e) && e.Temporary
}

var numberRE = regexp.MustCompile(`^[0-9]{1,16}$`)

// Normalize checks a protocol number and pads it to the seven digits of the AgID
// segnatura (NumeroRegistrazione is [0-9]{7,}).
func Normalize(n string) (string, bool) {
	n = strings.TrimSpace(n)
	if !numberRE.MatchString(n) || strings.Trim(n, "0") == "" {
		return "", false
	}
	if len(n) < 7 {
		n = strings.Repeat("0", 7-len(n)) + n
	}
	return n, true
}

// Manual returns the number the protocol office typed for this upload.
type Manual struct{}

// Register returns r.Manual, checked.
func (Manual) Register(_ context.Context, r Request) (domain.Protocol, error) {
	if r.Manual == nil {
		return domain.Protocol{}, &Error{Message: "manual register: no protocol number supplied with the upload of batch " + r.BatchID}
	}
	n, ok := Normalize(r.Manual.Number)
	if !ok || r.Manual.Date.IsZero() {
		return domain.Protocol{}, &Error{Message: "manual register: invalid protocol number or date for batch " + r.BatchID}
	}
	return domain.Protocol{Number: n, Date: r.Manual.Date}, nil
}

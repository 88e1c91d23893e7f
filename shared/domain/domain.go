// Package domain holds the types of Casellario PEC that every other package shares:
// tenants (Comuni), offices, people (subjects of a certificate request), batches
// (one protocolled request to the Procura) and their states. It imports no adapter.
package domain

import (
	"fmt"
	"strings"
	"time"
)

// Date is a calendar date without time of day or zone: a birth date, a protocol date.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the calendar date of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// Time returns midnight UTC of the date.
func (d Date) Time() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// IsZero reports whether the date is unset.
func (d Date) IsZero() bool { return d == Date{} }

// String formats as ISO 8601 (YYYY-MM-DD), the form of every JSON contract.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	if d.Year < 0 || d.Year > 9999 {
		return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
	}
	// By hand: this runs for every row of every list.
	b := [10]byte{'0', '0', '0', '0', '-', '0', '0', '-', '0', '0'}
	put := func(at, n, width int) {
		for i := at + width - 1; i >= at; i-- {
			b[i] = byte('0' + n%10)
			n /= 10
		}
	}
	put(0, d.Year, 4)
	put(5, int(d.Month)%100, 2)
	put(8, d.Day%100, 2)
	return string(b[:])
}

// Italian formats as GG/MM/AAAA, the form the Procura and the offices read.
func (d Date) Italian() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%02d/%02d/%04d", d.Day, int(d.Month), d.Year)
}

// MarshalJSON writes the ISO form, or "" for the zero date.
func (d Date) MarshalJSON() ([]byte, error) { return []byte(`"` + d.String() + `"`), nil }

// UnmarshalJSON reads the ISO form; "" and null give the zero date.
func (d *Date) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*d = Date{}
		return nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	*d = DateOf(t)
	return nil
}

// Before reports whether d comes before e.
func (d Date) Before(e Date) bool { return d.Time().Before(e.Time()) }

// Sex as the codice fiscale and the Procura want it.
type Sex string

const (
	Male   Sex = "M"
	Female Sex = "F"
)

// Person is one subject of a certificate request, as validated from a name list.
type Person struct {
	Surname        string `json:"surname"`
	Name           string `json:"name"`
	Sex            Sex    `json:"sex"`
	BirthDate      Date   `json:"birth_date"`
	BirthPlace     string `json:"birth_place"`      // official name of the comune or foreign state
	BirthPlaceCode string `json:"birth_place_code"` // cadastral (Belfiore) code: H501, Z112
	Province       string `json:"province"`         // two letters; empty for foreign states
	FiscalCode     string `json:"fiscal_code"`
	FatherName     string `json:"father_name,omitempty"`
}

// BornAbroad reports whether the birthplace is a foreign state (Z code).
func (p Person) BornAbroad() bool {
	return len(p.BirthPlaceCode) == 4 && p.BirthPlaceCode[0] == 'Z'
}

// Tenant is a Comune using the service.
type Tenant struct {
	ID      string   // IPA code, e.g. c_g999
	Name    string   // "Comune di Prato"
	Offices []Office // the offices that request certificates
}

// Office is one office of a Comune that asks for certificates.
type Office struct {
	Tenant string   `json:"tenant"`
	Code   string   `json:"code"` // SUAP, CONTRATTI, ...
	Name   string   `json:"name"`
	Notify []string `json:"notify"` // e-mail addresses told about progress
}

// Protocol identifies a registration in a protocol register of the Comune.
type Protocol struct {
	Number string `json:"number"` // seven or more digits, zero-padded
	Date   Date   `json:"date"`
	// Register is the code of the built-in register when it gave the number;
	// empty for the Comune's general register (a number given by an external
	// register or typed by the protocol office).
	Register string `json:"register,omitempty"`
}

// Reference is the number as letters, subjects and e-mails quote it: the
// built-in register's numbers carry its code ("CPEC-0000012"), so that a
// reply quoting a number of the general register ("0000012") is never taken
// for ours.
func (p Protocol) Reference() string {
	if p.Register == "" || p.Number == "" {
		return p.Number
	}
	return p.Register + "-" + p.Number
}

// BatchState is where a request to the Procura stands. The words are a contract:
// tests, scripts and the status JSON read them.
type BatchState string

const (
	BatchQueued      BatchState = "queued"
	BatchProtocolled BatchState = "protocolled"
	BatchSent        BatchState = "sent"
	BatchAccepted    BatchState = "accepted"
	BatchDelivered   BatchState = "delivered"
	BatchReplied     BatchState = "replied"
	BatchCompleted   BatchState = "completed"
	BatchFailed      BatchState = "failed"
)

// BatchStates lists every state a request may be in, in their order.
func BatchStates() []BatchState {
	return []BatchState{BatchQueued, BatchProtocolled, BatchSent, BatchAccepted, BatchDelivered, BatchReplied, BatchCompleted, BatchFailed}
}

// batchOrder ranks the forward states; failed stands apart.
var batchOrder = map[BatchState]int{
	BatchQueued: 1, BatchProtocolled: 2, BatchSent: 3, BatchAccepted: 4,
	BatchDelivered: 5, BatchReplied: 6, BatchCompleted: 7,
}

// Valid reports whether s is one of the known states.
func (s BatchState) Valid() bool { return batchOrder[s] > 0 || s == BatchFailed }

// Terminal reports whether nothing more happens to a batch in state s.
func (s BatchState) Terminal() bool { return s == BatchCompleted || s == BatchFailed }

// CanAdvance reports whether a batch may move from s to next. States only move forward
// (receipts may arrive out of order, so a step may be skipped: a delivery receipt
// read before the acceptance moves sent straight to delivered); any non-terminal
// state may fail.
func (s BatchState) CanAdvance(next BatchState) bool {
	if !s.Valid() || !next.Valid() || s.Terminal() {
		return false
	}
	if next == BatchFailed {
		return true
	}
	return batchOrder[next] > batchOrder[s]
}

// PersonState is where one subject's certificate stands.
type PersonState string

const (
	PersonPending   PersonState = "pending"   // validated, waiting for a batch
	PersonBatched   PersonState = "batched"   // part of a batch sent or about to be
	PersonCertified PersonState = "certified" // certificate received and stored
	PersonFailed    PersonState = "failed"    // the request for this person failed
)

// Outcome is what a certificate says.
type Outcome string

const (
	OutcomeNullo    Outcome = "nullo"    // nothing on record
	OutcomePositivo Outcome = "positivo" // something on record
	OutcomeUnknown  Outcome = "unknown"  // the text could not be read
)

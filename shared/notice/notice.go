// Package notice is what the handlers (intake, dispatch, poll) say happened
// that a person should hear about: an Event carrying ids and counts only, and
// the Publisher port they hand it to. It is a leaf of the dependency graph:
// the e-mail side (shared/notify) and the queue adapter (notice/queue)
// depend on it, never the other way round, so no handler imports another.
package notice

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/casellario-pec/casellario/shared/domain"
)

// Kind is what an event is about.
type Kind string

// The kinds of event.
const (
	ListReceived  Kind = "list-received"  // a list was taken in (Counts)
	ListRejected  Kind = "list-rejected"  // a list was refused (Reason)
	RequestSent   Kind = "request-sent"   // a request left for the Procura
	Delivered     Kind = "delivered"      // the request reached the Procura
	Certificates  Kind = "certificates"   // certificates are available (Count)
	RequestFailed Kind = "request-failed" // the request failed (Reason)
	Overdue       Kind = "overdue"        // delivered, no reply after Days
	NotDelivered  Kind = "not-delivered"  // preavviso di mancata consegna: not yet a failure
	Triage        Kind = "triage"         // a message waits for the protocol office (Reason)
)

// Event is what a handler says happened, with ids only: the notify function
// (or, locally, a direct publisher) resolves it into an e-mail with names,
// addresses and the protocol number. Its JSON is the body of the notify
// queue's messages: a contract between the functions.
type Event struct {
	Kind   Kind              `json:"kind"`
	Tenant string            `json:"tenant"`
	Office string            `json:"office,omitempty"`
	Upload string            `json:"upload,omitempty"`
	Batch  string            `json:"batch,omitempty"`
	Triage string            `json:"triage,omitempty"`
	Count  int               `json:"count,omitempty"`  // people, certificates
	Counts domain.Counts     `json:"counts,omitzero"`  // a list's rows
	Days   int               `json:"days,omitempty"`   // overdue
	Reason domain.ReasonCode `json:"reason,omitempty"` // a refusal, a failure, a triage item
}

// Publisher hands events on: to the notify function's queue in AWS, straight
// to the mailer locally. A publisher's failure never undoes what happened:
// handlers log it and go on.
type Publisher interface {
	Publish(ctx context.Context, ev Event) error
}

// Nop tells nobody.
type Nop struct{}

// Publish does nothing.
func (Nop) Publish(context.Context, Event) error { return nil }

// Log writes each event to a logger (ids and counts only): the publisher of a
// deployment that e-mails nobody.
type Log struct{ Logger *slog.Logger }

// Publish logs ev.
func (l Log) Publish(ctx context.Context, ev Event) error {
	lg := l.Logger
	if lg == nil {
		lg = slog.Default()
	}
	lg.InfoContext(ctx, "notice", "kind", ev.Kind, "tenant", ev.Tenant, "office", ev.Office, "upload", ev.Upload,
		"batch", ev.Batch, "triage", ev.Triage, "count", ev.Count, "reason", ev.Reason)
	return nil
}

// Marshal is the queue's wire format.
func (ev Event) Marshal() (string, error) {
	b, err := json.Marshal(ev)
	return string(b), err
}

// Unmarshal reads a queue message body.
func Unmarshal(body string) (Event, error) {
	var ev Event
	if err := json.Unmarshal([]byte(body), &ev); err != nil {
		return ev, fmt.Errorf("notice: event: %w", err)
	}
	if ev.Kind == "" || ev.Tenant == "" {
		return ev, fmt.Errorf("notice: event without kind or tenant")
	}
	return ev, nil
}

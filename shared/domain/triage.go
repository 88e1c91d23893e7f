package domain

import (
	"context"
	"time"
)

// TriageState is where an item of the protocol office's triage queue stands.
type TriageState string

const (
	TriageOpen      TriageState = "open"      // waiting for a person
	TriageAssigned  TriageState = "assigned"  // a person said which batch the message belongs to
	TriageDismissed TriageState = "dismissed" // a person said it needs nothing (with a reason)
)

// Valid reports whether s is a known triage state.
func (s TriageState) Valid() bool {
	return s == TriageOpen || s == TriageAssigned || s == TriageDismissed
}

// TriageItem is a message read from a tenant's PEC mailbox that the poll could
// not handle alone: unreadable, unrelated, a receipt for an unknown or badly
// signed message, a reply or certificate that matches no batch or person. The
// message itself is kept unaltered in the documents bucket (MessageKey).
type TriageItem struct {
	ID         string      `json:"id"` // derived from the message key: one item per message
	Tenant     string      `json:"tenant"`
	Mailbox    string      `json:"mailbox"`
	MessageKey string      `json:"message_key"`          // raw message in the documents bucket
	MessageID  string      `json:"message_id,omitempty"` // of the message read (the envelope's), with angle brackets
	Kind       string      `json:"kind"`                 // PEC kind (pec.Kind) or "unreadable"
	Reason     Reason      `json:"reason"`               // why it needs a person
	CreatedAt  time.Time   `json:"created_at"`
	State      TriageState `json:"state"`
	Batch      string      `json:"batch,omitempty"` // when assigned
	Note       string      `json:"note,omitempty"`  // the assigner's note or the dismissal reason
	UpdatedAt  time.Time   `json:"updated_at"`
	Cause      Cause       `json:"cause,omitempty"` // of the last change
	Version    int64       `json:"-"`
}

// TriageStore keeps the triage queue and the log of mailbox messages already
// handled (so that a message read again, after a UIDVALIDITY change or a
// second delivery, is never handled twice).
type TriageStore interface {
	// CreateTriage stores a new open item. Idempotent by message key: the
	// item of that message is returned (created=false) when it exists.
	CreateTriage(ctx context.Context, it TriageItem) (out TriageItem, created bool, err error)
	GetTriage(ctx context.Context, tenant, id string) (TriageItem, error)
	// ListTriage returns items newest first: those in state (all when
	// empty), at most limit (all when 0).
	ListTriage(ctx context.Context, tenant string, state TriageState, limit int) ([]TriageItem, error)
	// AssignTriage records that the item's message belongs to batch (the
	// caller then re-processes it: poll.Handler.Reprocess). Open or assigned
	// items only; assigning again to the same batch is harmless.
	AssignTriage(ctx context.Context, tenant, id, batch, note string, cause Cause) (TriageItem, error)
	// DismissTriage closes an open or assigned item with a reason.
	DismissTriage(ctx context.Context, tenant, id, reason string, cause Cause) (TriageItem, error)

	// MessageSeen reports whether a message with this SHA-256 (hex) or this
	// Message-ID (when not empty) was handled already.
	MessageSeen(ctx context.Context, tenant, sha256, messageID string) (bool, error)
	// MarkMessageSeen records that a message was handled (by content and by
	// Message-ID). Idempotent.
	MarkMessageSeen(ctx context.Context, tenant, sha256, messageID, key string, at time.Time) error

	// BeginAttempt counts one more attempt to handle a mailbox message,
	// before it starts (so that a crash counts too), and returns the record
	// with this attempt included.
	BeginAttempt(ctx context.Context, k AttemptKey) (MessageAttempts, error)
	// FailAttempt records why the last attempt failed (English, no personal data).
	FailAttempt(ctx context.Context, k AttemptKey, failure string) error
}

// AttemptKey names one message of a mailbox: its UIDVALIDITY and UID.
type AttemptKey struct {
	Tenant      string
	Mailbox     string
	UIDValidity uint32
	UID         uint32
}

// MessageAttempts is how often handling one mailbox message was tried.
type MessageAttempts struct {
	Count       int    // attempts started, this one included
	LastFailure string // why the previous attempt failed, when it said so
}

package domain

import (
	"context"
	"strings"
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
	Facts      TriageFacts `json:"facts"`
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

// TriageFacts are what the protocol office needs to decide about a message
// without opening it: who certified it, what it says it is about, how it is
// signed, what it quotes and carries. They may name people (a subject, a
// file name): shown to the protocol office only, never logged.
type TriageFacts struct {
	// Sender is the certified sender (daticert.xml mittente, inside the
	// provider's signature); for a message without daticert, its From.
	Sender          string    `json:"sender,omitempty"`
	SenderCertified bool      `json:"sender_certified"` // Sender comes from daticert.xml
	SenderIsProcura bool      `json:"sender_is_procura"`
	Subject         string    `json:"subject,omitempty"`
	Date            time.Time `json:"date,omitzero"`
	Signature       string    `json:"signature,omitempty"` // valid, untrusted, invalid, absent
	Signer          string    `json:"signer,omitempty"`    // the provider's certificate subject
	// RefersTo is the Message-ID a receipt is about, or the In-Reply-To of a reply.
	RefersTo   string          `json:"refers_to,omitempty"`
	References []QuotedRef     `json:"references,omitempty"` // protocol numbers quoted
	Files      []AttachedFile  `json:"files,omitempty"`
	Candidates []CandidateFact `json:"candidates,omitempty"` // second certificates kept for certified people
}

// QuotedRef is a protocol number a message quotes, with its date when quoted.
type QuotedRef struct {
	Reference string `json:"reference"` // as our letters write it ("CPEC-0000012", "0000123")
	Date      Date   `json:"date,omitzero"`
}

// AttachedFile is an attachment of a message.
type AttachedFile struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

// CandidateFact is a further certificate kept for a certified person.
type CandidateFact struct {
	Subject   string `json:"subject"`   // subject id
	Standing  string `json:"standing"`  // SHA-256 of the certificate that stands
	Candidate string `json:"candidate"` // SHA-256 of the one received now
}

// Check is a verification a message failed, which only a person may
// override (with a reason, in the audit trail).
type Check string

// Checks an assignment may have to override.
const (
	CheckSignature Check = "signature"  // the provider's signature did not verify against the trust store
	CheckSender    Check = "sender"     // the certified sender is not the Procura
	CheckMessageID Check = "message-id" // a receipt about another Message-ID than the request's
)

var checksIT = map[Check]string{
	CheckSignature: "la firma del gestore PEC non è verificata",
	CheckSender:    "il mittente certificato non è la Procura",
	CheckMessageID: "la ricevuta si riferisce a un messaggio diverso da quello della richiesta",
}

// Italian says what failed, for the protocol office.
func (c Check) Italian() string {
	if s, ok := checksIT[c]; ok {
		return s
	}
	return string(c)
}

// Override is a person's explicit decision to attribute a message whose
// checks failed: a confirmation and a reason, both required.
type Override struct {
	Confirm bool   `json:"confirm"`
	Reason  string `json:"reason"`
}

// ChecksFailed is returned by an assignment that needs an Override.
type ChecksFailed struct{ Checks []Check }

func (e *ChecksFailed) Error() string {
	var s []string
	for _, c := range e.Checks {
		s = append(s, string(c))
	}
	return "checks failed, an explicit override with a reason is required: " + strings.Join(s, ", ")
}

// AssignResult is what assigning a triage item to a request did.
type AssignResult struct {
	Item         TriageItem
	Certificates int
	Overridden   []Check
	// Remaining says what still could not be handled (zero when all was).
	Remaining Reason
}

// TriageAssigner handles a triage item's message again against the request a
// person chose (shared/poll implements it).
type TriageAssigner interface {
	Assign(ctx context.Context, tenant, triageID, batch string, o Override, cause Cause) (AssignResult, error)
}

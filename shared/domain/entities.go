package domain

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// This file holds the persistent entities (uploads, subjects, batches, events,
// leases, mailbox cursors) and the changes the stores apply to them; ports.go
// has the Store interfaces the handlers use. The DynamoDB implementation is
// shared/store; its package doc has the key design.

// idEncoding is lowercase base32 without padding: ids are safe in S3 keys, URLs,
// DynamoDB keys and file names, and case-insensitive file systems.
var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewID returns a random identifier (16 bytes of crypto/rand, 26 characters of
// lowercase base32). Ids never carry personal data.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("domain: crypto/rand failed: " + err.Error()) // cannot happen on supported platforms
	}
	return idEncoding.EncodeToString(b[:])
}

// ValidID reports whether s looks like an id made by NewID.
func ValidID(s string) bool {
	if len(s) != 26 {
		return false
	}
	_, err := idEncoding.DecodeString(s)
	return err == nil
}

// SubjectID is the id of row `row` of upload `upload`: "<upload>-<row>". It is
// derived, not random, so that re-running the intake of one list writes the same
// items again instead of new ones.
func SubjectID(upload string, row int) string { return upload + "-" + strconv.Itoa(row) }

// ParseSubjectID splits a SubjectID into its upload id and row.
func ParseSubjectID(id string) (upload string, row int, err error) {
	u, r, ok := strings.Cut(id, "-")
	if ok && ValidID(u) {
		if row, err = strconv.Atoi(r); err == nil && row > 0 {
			return u, row, nil
		}
	}
	return "", 0, Errorf(EINVALID, "subject id %q: want <upload-id>-<row>", id)
}

// Cause names what made a change happen; every event records one. Build causes
// with the functions below so that the kinds stay few and greppable.
type Cause string

// CauseS3 is an S3 object event: "s3:<key>#<version>".
func CauseS3(key, version string) Cause { return Cause("s3:" + key + "#" + version) }

// CausePEC is a PEC message read from a mailbox: "pec:<message-id>".
func CausePEC(messageID string) Cause { return Cause("pec:" + messageID) }

// CauseSchedule is a scheduled run: "schedule:<id>" (the EventBridge event id).
func CauseSchedule(id string) Cause { return Cause("schedule:" + id) }

// CauseUser is an action of a person through the API or the CLI: "user:<name>".
func CauseUser(name string) Cause { return Cause("user:" + name) }

// Valid reports whether c has one of the known kinds and a non-empty value.
func (c Cause) Valid() bool {
	kind, v, ok := strings.Cut(string(c), ":")
	if !ok || v == "" {
		return false
	}
	switch kind {
	case "s3", "pec", "schedule", "user":
		return true
	}
	return false
}

// UploadState is where an uploaded list stands.
type UploadState string

const (
	UploadReceived  UploadState = "received"  // object stored, people being written
	UploadQueued    UploadState = "queued"    // valid people written and offered to dispatch
	UploadRejected  UploadState = "rejected"  // unreadable, or no valid row: nothing to send
	UploadCompleted UploadState = "completed" // every person certified or failed
)

// CanAdvance reports whether an upload may move from s to next.
func (s UploadState) CanAdvance(next UploadState) bool {
	switch s {
	case UploadReceived:
		return next == UploadQueued || next == UploadRejected
	case UploadQueued:
		return next == UploadCompleted
	}
	return false
}

// Terminal reports whether nothing more happens to an upload in state s.
func (s UploadState) Terminal() bool { return s == UploadRejected || s == UploadCompleted }

// CanAdvance reports whether a subject may move from s to next: pending→batched
// (dispatch), batched→certified|failed (poll), and batched→pending when its
// batch failed before reaching the Procura and the person is offered again.
func (s PersonState) CanAdvance(next PersonState) bool {
	switch s {
	case PersonPending:
		return next == PersonBatched || next == PersonFailed
	case PersonBatched:
		return next == PersonCertified || next == PersonFailed || next == PersonPending
	}
	return false
}

// Terminal reports whether nothing more happens to a subject in state s.
func (s PersonState) Terminal() bool { return s == PersonCertified || s == PersonFailed }

// Counts summarises the validation of a list.
type Counts struct {
	Rows       int `json:"rows"`
	Valid      int `json:"valid"`
	Invalid    int `json:"invalid"`
	Duplicates int `json:"duplicates"`
}

// Upload is one name list uploaded by an office.
type Upload struct {
	ID            string `json:"id"`
	Tenant        string `json:"tenant"`
	Office        string `json:"office"`
	Key           string `json:"key"`                      // object key in the uploads bucket
	ObjectVersion string `json:"object_version,omitempty"` // S3 version id; empty when unversioned
	SHA256        string `json:"sha256"`                   // hex, of the uploaded bytes
	UploadedBy    string `json:"uploaded_by,omitempty"`    // user name of the clerk, when known
	// FileName is the name the clerk gave the file, as shown on the page and
	// in e-mails; it may be anything the clerk typed, so it is never logged.
	FileName  string      `json:"file_name,omitempty"`
	State     UploadState `json:"state"`
	Counts    Counts      `json:"counts"`
	ReportKey string      `json:"report_key,omitempty"` // validation report in the documents bucket
	// Protocol is the number the protocol office registered by hand for this
	// list (its people then form a request of their own); nil when the
	// register gives one.
	Protocol  *Protocol `json:"protocol,omitempty"`
	Reason    Reason    `json:"reason,omitzero"` // why rejected
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int64     `json:"-"` // optimistic concurrency; 1 after creation
}

// Certificate is what the Procura returned for one subject.
type Certificate struct {
	Outcome    Outcome   `json:"outcome"`
	Key        string    `json:"key"`    // PDF in the documents bucket
	SHA256     string    `json:"sha256"` // hex, of the PDF
	ReceivedAt time.Time `json:"received_at"`
}

// Subject is one person of an upload: a validated row and where its certificate stands.
type Subject struct {
	ID          string       `json:"id"` // SubjectID(Upload, Row)
	Tenant      string       `json:"tenant"`
	Office      string       `json:"office"`
	Upload      string       `json:"upload"`
	Row         int          `json:"row"` // as the spreadsheet shows it (header = 1)
	Person      Person       `json:"person"`
	State       PersonState  `json:"state"`
	Batch       string       `json:"batch,omitempty"`
	Certificate *Certificate `json:"certificate"`
	// Candidates are further certificates received for a person already
	// certified, different from Certificate: kept, never dropped, until the
	// protocol office chooses which stands (ChooseCertificate).
	Candidates []Certificate `json:"candidates,omitempty"`
	Reason     Reason        `json:"reason,omitzero"` // why failed
	// Attempts counts the requests for this person that failed in transport
	// (the person was offered again each time); bounded by the tenant's
	// transport_attempts.
	Attempts int `json:"attempts,omitempty"`
	// Warning, in Italian, says that the person was requested or certified
	// for the same office a short while ago: requested again all the same,
	// the clerk is told (tenants repeat_warning_days).
	Warning   string    `json:"warning,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int64     `json:"-"`
}

// CursorTime is the fixed-width form of a creation time in a listing's
// cursor: cursors sort as text in the order of creation.
const CursorTime = "2006-01-02T15:04:05.000000Z"

// ListCursor is where a listing newest first stopped: the creation time and
// id of the last item seen (Upload.Cursor, Batch.Cursor).
func ListCursor(created time.Time, id string) string {
	return created.UTC().Truncate(time.Microsecond).Format(CursorTime) + "#" + id
}

// Cursor is the upload's place in a listing (see ListCursor).
func (u Upload) Cursor() string { return ListCursor(u.CreatedAt, u.ID) }

// Cursor is the batch's place in a listing (see ListCursor).
func (b Batch) Cursor() string { return ListCursor(b.CreatedAt, b.ID) }

// Batch is one request to the Procura: up to the tenant's batch size of subjects
// of one office, registered in the protocol and sent by PEC.
type Batch struct {
	ID        string     `json:"id"`
	Tenant    string     `json:"tenant"`
	Office    string     `json:"office"`
	State     BatchState `json:"state"`
	Protocol  Protocol   `json:"protocol"`             // zero until protocolled
	MessageID string     `json:"message_id,omitempty"` // outgoing Message-ID, with angle brackets
	People    []string   `json:"people"`               // subject ids
	Reason    Reason     `json:"reason,omitzero"`      // why failed
	// SendAttempts counts the submissions of the request to the provider;
	// LastSendAttempt is when the last one started (a resend waits for the
	// grace period after it, so that a late acceptance is not sent twice).
	SendAttempts    int       `json:"send_attempts,omitempty"`
	LastSendAttempt time.Time `json:"last_send_attempt,omitzero"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
	ExpiresAt       time.Time `json:"-"` // retention (TTL); zero until terminal
	Version         int64     `json:"-"`
}

// Event is one entry of the audit trail: a state change (or a note) of an
// upload, a batch or a subject, filed under the upload or batch it belongs to.
type Event struct {
	Tenant  string    `json:"-"`
	Subject string    `json:"-"`               // upload id or batch id the event is filed under
	About   string    `json:"about,omitempty"` // subject id when the event concerns one person
	At      time.Time `json:"at"`
	State   string    `json:"state"`          // the new state word (batch, upload or person state), or the state a note is filed in
	Note    NoteCode  `json:"note,omitempty"` // set on a note (no state change): what it is about
	Detail  string    `json:"detail"`         // English, for operators; never personal data
	Cause   Cause     `json:"cause"`
}

// Lease is a time-limited exclusive claim on a named resource (a send lease per
// office, a mailbox poll lease). Token grows at every acquisition: pass it on
// to detect that someone else held the lease in between (fencing).
type Lease struct {
	Tenant  string
	Name    string
	Owner   string
	Expires time.Time
	Token   int64
}

// MailboxCursor is how far a mailbox has been read (IMAP UIDVALIDITY and last UID).
type MailboxCursor struct {
	Tenant      string
	Mailbox     string // the PEC address
	UIDValidity uint32
	LastUID     uint32
	UpdatedAt   time.Time
	Version     int64 // 0 when never saved
}

// BatchChange asks to move a batch from one state to another. From and Version,
// when set, must match the stored batch (optimistic concurrency); Protocol and
// MessageID are recorded with the change when not zero; Reason is required
// when To is failed.
type BatchChange struct {
	Tenant    string
	ID        string
	From      BatchState // optional: expected current state
	Version   int64      // optional: expected current version
	To        BatchState
	Protocol  Protocol
	MessageID string
	Reason    Reason
	Detail    string // for the event; a default is written when empty
	Cause     Cause
}

// SubjectChange asks to move one subject from one state to another.
type SubjectChange struct {
	Tenant      string
	ID          string
	To          PersonState
	Batch       string       // for batched: the batch; for others: optional check
	Certificate *Certificate // for certified
	Reason      Reason       // for failed
	Cause       Cause
}

// ProtocolRequest asks the built-in protocol register for a number for a batch.
type ProtocolRequest struct {
	Tenant   string
	AOO      string // the tenant's AOO code
	Registry string // CodiceRegistro
	Batch    string
	Date     Date // registration date; its year selects the counter
	Cause    Cause
}

// FormatProtocolNumber zero-pads a register number to seven digits (AgID: [0-9]{7,}).
func FormatProtocolNumber(n int64) string { return fmt.Sprintf("%07d", n) }

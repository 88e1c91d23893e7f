package domain

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// This file holds the persistent entities (uploads, subjects, batches, events,
// leases, mailbox cursors) and the Store interfaces that the handlers use. The
// DynamoDB implementation is shared/store; its package doc has the key design.

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
	Attempts  int       `json:"attempts,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int64     `json:"-"`
}

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
	State   string    `json:"state"`  // the new state word (batch, upload or person state)
	Detail  string    `json:"detail"` // English, for operators; never personal data
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

// UploadStore keeps uploads and their subjects.
type UploadStore interface {
	// CreateUpload stores a new upload in state received. Idempotent: the same
	// upload again (same id, key, object version and SHA-256) returns the stored
	// one; a different upload with that id is ECONFLICT. An upload recorded
	// before its object was stored (by the API: no object version yet) is
	// completed with the version of the same key and SHA-256.
	CreateUpload(ctx context.Context, u Upload, cause Cause) (Upload, error)
	// ClaimManualProtocol reserves a number the protocol office gave by hand
	// for one upload: ECONFLICT when another upload has it already (the same
	// number and year of the general register). Claiming again for the same
	// upload is harmless.
	ClaimManualProtocol(ctx context.Context, tenant string, p Protocol, upload string) error
	GetUpload(ctx context.Context, tenant, id string) (Upload, error)
	// ListUploads returns the uploads of an office, newest first, at most limit.
	ListUploads(ctx context.Context, tenant, office string, limit int) ([]Upload, error)
	// PutSubjects writes the validated people of an upload in state pending.
	// Allowed only while the upload is received (so a re-run never resets people
	// that dispatch already took); writing them again is harmless.
	PutSubjects(ctx context.Context, tenant, upload string, people []Subject) error
	// AdvanceUpload moves an upload to queued (offering its pending subjects to
	// dispatch), rejected (with reason) or completed. Counts and reportKey are
	// recorded when given. Already in state `to`: returns it, no error.
	AdvanceUpload(ctx context.Context, tenant, id string, to UploadState, counts *Counts, reportKey string, reason Reason, cause Cause) (Upload, error)
	// ReceivedUploads returns up to limit uploads of a tenant still in state
	// received, oldest first: intake stopped half-way on them (a crash, a
	// lost event), and a sweep takes them in again.
	ReceivedUploads(ctx context.Context, tenant string, limit int) ([]Upload, error)
	GetSubject(ctx context.Context, tenant, id string) (Subject, error)
	// AddCandidate keeps c, a certificate different from the stored one, for
	// a certified subject (files an event). The same one again is harmless.
	AddCandidate(ctx context.Context, tenant, id string, c Certificate, cause Cause) (Subject, error)
	// ChooseCertificate makes the certificate with SHA-256 sha (the current
	// one or a candidate) the one that stands; the other stays a candidate.
	// The choice is filed as an event with note.
	ChooseCertificate(ctx context.Context, tenant, id, sha, note string, cause Cause) (Subject, error)
	// SubjectsOfUpload returns the subjects of an upload by row.
	SubjectsOfUpload(ctx context.Context, tenant, upload string) ([]Subject, error)
	// PendingSubjects returns up to limit pending subjects of an office's queued
	// uploads, oldest upload first, then by row.
	PendingSubjects(ctx context.Context, tenant, office string, limit int) ([]Subject, error)
	// AdvanceSubject moves one subject (see PersonState.CanAdvance); already in
	// state To (with the same batch): returns it, no error. An event is filed
	// under the upload for certified and failed. Moving batched → pending
	// counts one more transport attempt (Subject.Attempts).
	AdvanceSubject(ctx context.Context, c SubjectChange) (Subject, error)
}

// BatchStore keeps batches, the protocol register and outgoing Message-IDs.
type BatchStore interface {
	// CreateBatch stores a new batch in state queued (b.ID from NewID, b.People
	// set). Idempotent by id (same office and people); otherwise ECONFLICT.
	CreateBatch(ctx context.Context, b Batch, cause Cause) (Batch, error)
	GetBatch(ctx context.Context, tenant, id string) (Batch, error)
	// ListBatches returns batches newest first: of an office, or of the whole
	// tenant when office is empty; only those in states (all when empty).
	ListBatches(ctx context.Context, tenant, office string, states []BatchState, limit int) ([]Batch, error)
	// ClaimSubjects moves the batch's pending subjects to batched. It returns
	// the ids that could not be claimed (taken by another batch or not pending);
	// claiming again is harmless.
	ClaimSubjects(ctx context.Context, tenant, batch string, cause Cause) (lost []string, err error)
	// SubjectsOfBatch returns the subjects of a batch in the batch's order.
	SubjectsOfBatch(ctx context.Context, tenant, batch string) ([]Subject, error)
	// AdvanceBatch applies a state change (BatchState.CanAdvance) with a
	// conditional write and files its event. Already in state To: returns the
	// batch, no error. Illegal or lost races: ECONFLICT.
	AdvanceBatch(ctx context.Context, c BatchChange) (Batch, error)
	// RegisterProtocol takes the next number of the built-in register for a
	// queued batch and moves it to protocolled. Idempotent per batch: a batch
	// already protocolled returns its number.
	RegisterProtocol(ctx context.Context, r ProtocolRequest) (Batch, error)
	// SetMessageID records the outgoing Message-ID of a batch (before sending,
	// so that early receipts match) and indexes it. Idempotent; a different
	// Message-ID for the same batch is ECONFLICT.
	SetMessageID(ctx context.Context, tenant, batch, messageID string) (Batch, error)
	// BatchByMessageID returns the batch an outgoing Message-ID belongs to.
	BatchByMessageID(ctx context.Context, tenant, messageID string) (Batch, error)
	// BatchByProtocol returns the batch the built-in register (AOO,
	// registry, year) gave number; ENOTFOUND for others.
	BatchByProtocol(ctx context.Context, tenant, aoo, registry string, year int, number string) (Batch, error)
	// RecordSendAttempt notes, just before a submission to the provider, that
	// one starts now (SendAttempts+1, LastSendAttempt = at); a zero at clears
	// LastSendAttempt (the submission certainly did not leave). Protocolled
	// batches with a Message-ID only.
	RecordSendAttempt(ctx context.Context, tenant, batch string, at time.Time) (Batch, error)
}

// EventStore keeps the audit trail.
type EventStore interface {
	// Events returns the events filed under an upload or batch id, in time order.
	Events(ctx context.Context, tenant, subject string) ([]Event, error)
	// AppendEvent files a note. Keyed by (At, State, Detail, Cause): appending
	// the same event twice stores it once, so take At from the cause (the
	// receipt's date, the S3 event time), not from the clock.
	AppendEvent(ctx context.Context, e Event) error
}

// LeaseStore gives exclusive, expiring claims and mailbox cursors.
type LeaseStore interface {
	// AcquireLease takes the named lease for ttl if free, expired or already
	// owner's; otherwise ECONFLICT.
	AcquireLease(ctx context.Context, tenant, name, owner string, ttl time.Duration) (Lease, error)
	// RenewLease extends a lease still held by l.Owner with token l.Token.
	RenewLease(ctx context.Context, l Lease, ttl time.Duration) (Lease, error)
	// ReleaseLease frees a lease held by l.Owner; releasing a lease no longer
	// held is not an error.
	ReleaseLease(ctx context.Context, l Lease) error
	// Cursor returns the stored cursor of a mailbox (zero, Version 0, if none).
	Cursor(ctx context.Context, tenant, mailbox string) (MailboxCursor, error)
	// SaveCursor stores c if the stored version is still c.Version; a cursor
	// never goes back within one UIDVALIDITY.
	SaveCursor(ctx context.Context, c MailboxCursor) (MailboxCursor, error)
}

// Store is the whole persistent state of Casellario PEC.
type Store interface {
	UploadStore
	BatchStore
	EventStore
	LeaseStore
}

// FormatProtocolNumber zero-pads a register number to seven digits (AgID: [0-9]{7,}).
func FormatProtocolNumber(n int64) string { return fmt.Sprintf("%07d", n) }

package domain

import (
	"context"
	"time"
)

// The stores the handlers use (the ports); shared/store implements them on
// DynamoDB.

// UploadStore keeps uploads and their subjects.
type UploadStore interface {
	// CreateUpload stores a new upload in state received. Idempotent: the same
	// upload again (same id, key, object version and SHA-256) returns the stored
	// one; a different upload with that id is ECONFLICT. An upload may be
	// recorded before its object is stored: by the API or the CLI with its
	// SHA-256 and no object version, or for a presigned PUT with neither
	// (the content is not known yet). Creating it again with the object's
	// version and SHA-256 (intake) completes the record; a SHA-256 that
	// differs from a recorded one is ECONFLICT. Without a SHA-256 the object
	// version must be empty too.
	CreateUpload(ctx context.Context, u Upload, cause Cause) (Upload, error)
	// ClaimManualProtocol reserves a number the protocol office gave by hand
	// for one upload: ECONFLICT when another upload has it already (the same
	// number and year of the general register). Claiming again for the same
	// upload is harmless.
	ClaimManualProtocol(ctx context.Context, tenant string, p Protocol, upload string) error
	GetUpload(ctx context.Context, tenant, id string) (Upload, error)
	// ListUploads returns the uploads of an office, newest first, at most limit.
	ListUploads(ctx context.Context, tenant, office string, limit int) ([]Upload, error)
	// UploadsBefore returns the next page of that listing: at most limit
	// uploads created before cursor (the Cursor of the last one seen).
	UploadsBefore(ctx context.Context, tenant, office, cursor string, limit int) ([]Upload, error)
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
	// BatchesBefore returns the next page of ListBatches (every state): at
	// most limit batches created before cursor (the Cursor of the last one seen).
	BatchesBefore(ctx context.Context, tenant, office, cursor string, limit int) ([]Batch, error)
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
	// BatchesCreated returns a tenant's batches created in [from, to),
	// oldest first (the turnaround report); EINVALID for an empty span.
	BatchesCreated(ctx context.Context, tenant string, from, to time.Time) ([]Batch, error)
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

// Package mailbox is a Comune's PEC mailbox as the handlers see it: the port
// (Mailbox, Dialer) and its types, and no protocol. shared/pecmail is the
// IMAP adapter; mailboxtest is an in-memory mailbox for fast tests.
//
// Every method takes UIDs of the folder last opened. A Mailbox is used by
// one goroutine at a time and closed when done.
package mailbox

import (
	"context"
	"errors"
	"io"

	"github.com/casellario-pec/casellario/shared/tenants"
)

// Status is what opening a folder tells.
type Status struct {
	UIDValidity uint32
	UIDNext     uint32 // 0 when the server did not say
	Messages    uint32
}

// Summary is what is known of a message before its body is fetched: its UID,
// its size (RFC822.SIZE) and its raw header (BODY.PEEK[HEADER]).
type Summary struct {
	UID    uint32
	Size   int64
	Header []byte
}

// Flags a handler may set.
const (
	FlagFlagged = `\Flagged`
)

// ErrGone is returned for a message expunged (by another client) since its
// UID was listed.
var ErrGone = errors.New("mailbox: message no longer in the folder")

// Mailbox is an open session on a PEC mailbox.
type Mailbox interface {
	// Open selects a folder. readOnly opens it so that nothing in it can
	// change through this session (IMAP EXAMINE): no flag, not even \Seen.
	Open(ctx context.Context, folder string, readOnly bool) (Status, error)
	// UIDsAfter lists the UIDs above after, ascending.
	UIDsAfter(ctx context.Context, after uint32) ([]uint32, error)
	// Summaries returns the summaries of uids (those still there), by UID.
	Summaries(ctx context.Context, uids []uint32) ([]Summary, error)
	// Fetch streams the whole message to fn without marking it \Seen; the
	// reader is valid only during fn. ErrGone when it was expunged.
	Fetch(ctx context.Context, uid uint32, fn func(r io.Reader) error) error
	// SearchHeader lists the UIDs whose header field contains value.
	SearchHeader(ctx context.Context, field, value string) ([]uint32, error)
	// Flag adds a flag (a folder opened for writing only).
	Flag(ctx context.Context, uid uint32, flag string) error
	// Move moves a message to folder, creating it when missing (a folder
	// opened for writing only).
	Move(ctx context.Context, uid uint32, folder string) error
	// Close logs out and closes the connection.
	Close() error
}

// Dialer opens an authenticated session on a tenant's PEC mailbox.
type Dialer interface {
	Dial(ctx context.Context, t *tenants.Tenant) (Mailbox, error)
}

// DialerFunc adapts a function to Dialer.
type DialerFunc func(ctx context.Context, t *tenants.Tenant) (Mailbox, error)

// Dial calls f.
func (f DialerFunc) Dial(ctx context.Context, t *tenants.Tenant) (Mailbox, error) { return f(ctx, t) }

// Refused reports whether err is the server's refusal of one command (a NO
// or BAD answer: the session is still usable), as adapters mark it.
func Refused(err error) bool {
	var r interface{ Refused() bool }
	return errors.As(err, &r) && r.Refused()
}

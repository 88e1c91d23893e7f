// Package poll reads the tenants' PEC mailboxes (the poll function, on an
// EventBridge schedule): receipts move batches through accepted, delivered or
// failed; the Procura's replies bring certificates that are stored and linked
// to people; what cannot be handled alone goes to the protocol office's triage
// queue. See Handler.
//
// # Two kinds of mailbox
//
// A Comune's PEC mailbox is usually its general one, read by the protocol
// office and its protocol software too (tenants pec.mode "shared", the
// default). There poll changes nothing: the INBOX is opened read-only
// (EXAMINE), no flag is set, not even \Seen, nothing is moved. It reads the
// header and size of each new message first and fetches whole only the
// messages that concern its requests: receipts whose X-Riferimento-Message-ID
// is a Message-ID it sent, and PEC envelopes whose sender is the tenant's
// Procura (procura, procura_senders). Everything else is left untouched and
// never copied. A mailbox for this service alone (pec.mode "dedicated") is
// read whole: every message is handled, triaged ones are flagged \Flagged,
// and handled ones are moved to pec.folder.
//
// # A run, per mailbox
//
// A lease (so that overlapping runs never work one mailbox at once; short,
// renewed while the run works, so a crashed run is replaced within minutes);
// open the INBOX; the stored cursor (UIDVALIDITY and last UID) decides what is
// new: nothing new costs one SELECT (UIDNEXT) whatever the mailbox holds,
// else one UID SEARCH over last+1:*; then, by chunks, the size and header of
// the new messages, and per message in UID order: does it concern us (shared
// mode); one more attempt counted (stored before trying, so that a crash
// counts too); a message that failed MaxAttempts times already is set aside
// (streamed to S3 as it is, never held whole in memory, and a triage item
// says so), one over MaxMessage bytes has only its header kept (triage);
// otherwise it is fetched (BODY.PEEK[]), stored unaltered in S3
// (content-addressed), handled unless the same content or Message-ID was
// handled before, moved (dedicated mode), and the cursor advances. A changed
// UIDVALIDITY re-scans the INBOX from UID 1; the log of handled messages
// keeps anything from being handled twice. A run stops cleanly at Deadline;
// the next one resumes from the cursor. A message whose handling fails stops
// the mailbox's run (the next run tries it again, up to MaxAttempts).
package poll

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/leases"
	"github.com/casellario-pec/casellario/shared/mailbox"
	"github.com/casellario-pec/casellario/shared/notice"
	"github.com/casellario-pec/casellario/shared/s3docs"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// Defaults.
const (
	DefaultDeadline     = 4 * time.Minute // for a Lambda timeout of 5 minutes
	DefaultOverdueAfter = 10 * 24 * time.Hour
	// DefaultMaxMessage: PEC providers refuse messages over about 30 MB; a
	// message larger than this is not fetched (its header is kept, in triage).
	DefaultMaxMessage = 48 << 20
	// DefaultMaxAttempts: a message whose handling failed this many times is
	// set aside for a person, and the mailbox moves on.
	DefaultMaxAttempts = 3
	// MetricNamespace and MetricOverdueBatches name the metric the overdue
	// alarm of the stack watches (infra/stack.go has the same names).
	MetricNamespace      = "Casellario"
	MetricOverdueBatches = "OverdueBatches"
)

// Handler polls every tenant's PEC mailbox. Store, Triage, Docs, Tenants and
// Mail are required.
type Handler struct {
	Store   domain.Store
	Triage  domain.TriageStore
	Docs    *s3docs.Docs
	Tenants *tenants.Config
	Mail    mailbox.Dialer
	Trust   *x509.CertPool   // PEC providers' trust store: receipts and replies must verify against it
	Notify  notice.Publisher // nil: nobody is told
	Log     *slog.Logger     // nil: discard
	Now     func() time.Time
	// Deadline: a run stops taking new messages this long after it started
	// (keep it shorter than the Lambda timeout); DefaultDeadline when 0.
	Deadline time.Duration
	// OverdueAfter: a delivered batch without a reply this long after delivery
	// is overdue; DefaultOverdueAfter when 0.
	OverdueAfter time.Duration
	// MaxMessage bounds the messages fetched (DefaultMaxMessage when 0).
	MaxMessage int64
	// MaxAttempts: failures after which a message is set aside (DefaultMaxAttempts when 0).
	MaxAttempts int
	// LeaseTTL of a mailbox's lease (leases.DefaultTTL when 0).
	LeaseTTL time.Duration
	// Metrics, when set, receives the OverdueBatches metric in CloudWatch
	// Embedded Metric Format (the poll function sets os.Stdout).
	Metrics io.Writer
}

// MailboxSummary is what one run did with one mailbox.
type MailboxSummary struct {
	Tenant       string `json:"tenant"`
	Mailbox      string `json:"mailbox"`
	Busy         bool   `json:"busy,omitempty"`      // another run holds the lease
	Rescanned    bool   `json:"rescanned,omitempty"` // UIDVALIDITY changed
	Stopped      bool   `json:"stopped,omitempty"`   // deadline reached with messages left
	Skipped      int    `json:"skipped"`             // not ours (shared mailbox): left untouched, not fetched
	Gone         int    `json:"gone"`                // expunged by another client before we read them
	Fetched      int    `json:"fetched"`
	Duplicates   int    `json:"duplicates"` // handled before
	Receipts     int    `json:"receipts"`
	Replies      int    `json:"replies"`
	Certificates int    `json:"certificates"`
	Triaged      int    `json:"triaged"`
	SetAside     int    `json:"set_aside"` // failed too often, or too large: kept for a person
	Overdue      int    `json:"overdue"`
	Error        string `json:"error,omitempty"`
}

// Summary is what a run did.
type Summary struct {
	Mailboxes []MailboxSummary `json:"mailboxes"`
}

// Total adds up the mailboxes.
func (s Summary) Total() MailboxSummary {
	var t MailboxSummary
	for _, m := range s.Mailboxes {
		t.Skipped += m.Skipped
		t.Gone += m.Gone
		t.Fetched += m.Fetched
		t.Duplicates += m.Duplicates
		t.Receipts += m.Receipts
		t.Replies += m.Replies
		t.Certificates += m.Certificates
		t.Triaged += m.Triaged
		t.SetAside += m.SetAside
		t.Overdue += m.Overdue
		t.Busy = t.Busy || m.Busy
		t.Rescanned = t.Rescanned || m.Rescanned
		t.Stopped = t.Stopped || m.Stopped
	}
	return t
}

func (h *Handler) log() *slog.Logger {
	if h.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Log
}

func (h *Handler) now() time.Time {
	if h.Now == nil {
		return time.Now()
	}
	return h.Now()
}

func (h *Handler) deadline() time.Duration {
	if h.Deadline <= 0 {
		return DefaultDeadline
	}
	return h.Deadline
}

func (h *Handler) overdueAfter() time.Duration {
	if h.OverdueAfter <= 0 {
		return DefaultOverdueAfter
	}
	return h.OverdueAfter
}

func (h *Handler) maxMessage() int64 {
	if h.MaxMessage <= 0 {
		return DefaultMaxMessage
	}
	return h.MaxMessage
}

func (h *Handler) maxAttempts() int {
	if h.MaxAttempts <= 0 {
		return DefaultMaxAttempts
	}
	return h.MaxAttempts
}

// HandleSchedule is the Lambda entry point of the EventBridge schedule.
func (h *Handler) HandleSchedule(ctx context.Context, ev events.EventBridgeEvent) error {
	id := ev.ID
	if id == "" {
		id = "unknown"
	}
	scoped, err := h.Tenants.ForSchedule(ev.Detail) // a schedule per Comune: that one alone
	if err != nil {
		return err
	}
	run := *h
	run.Tenants = scoped
	sum, err := run.Run(ctx, domain.CauseSchedule(id))
	t := sum.Total()
	h.log().InfoContext(ctx, "poll run", "mailboxes", len(sum.Mailboxes), "skipped", t.Skipped, "fetched", t.Fetched, "receipts", t.Receipts,
		"replies", t.Replies, "certificates", t.Certificates, "triaged", t.Triaged, "set_aside", t.SetAside, "duplicates", t.Duplicates, "err", err)
	return err
}

// Run polls every tenant's mailbox once and checks overdue batches. A
// mailbox that fails does not stop the others; the errors are joined.
func (h *Handler) Run(ctx context.Context, cause domain.Cause) (Summary, error) {
	if h.Store == nil || h.Triage == nil || h.Docs == nil || h.Tenants == nil || h.Mail == nil {
		return Summary{}, errors.New("poll: Store, Triage, Docs, Tenants and Mail are required")
	}
	ctx, cancel := context.WithTimeout(ctx, h.deadline())
	defer cancel()
	var sum Summary
	var errs []error
	for i := range h.Tenants.Tenants {
		t := &h.Tenants.Tenants[i]
		ms, err := h.pollMailbox(ctx, t)
		if err != nil {
			ms.Error = err.Error()
			errs = append(errs, fmt.Errorf("poll: mailbox of %s: %w", t.ID, err))
			h.log().ErrorContext(ctx, "mailbox poll failed", "tenant", t.ID, "mailbox", t.PEC.Address, "err", err)
		}
		n, overdue, err := h.checkOverdue(ctx, t, cause)
		ms.Overdue = n
		if err != nil {
			errs = append(errs, fmt.Errorf("poll: overdue batches of %s: %w", t.ID, err))
		} else {
			h.emitOverdue(ctx, t.ID, overdue)
		}
		sum.Mailboxes = append(sum.Mailboxes, ms)
	}
	return sum, errors.Join(errs...)
}

func newOwner() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "poll-" + hex.EncodeToString(b[:])
}

// notify hands an event on; a failure is logged, never undoes what happened.
func (h *Handler) notify(ctx context.Context, ev notice.Event) {
	if h.Notify == nil {
		return
	}
	if err := h.Notify.Publish(ctx, ev); err != nil {
		h.log().WarnContext(ctx, "notice not delivered", "kind", ev.Kind, "tenant", ev.Tenant, "batch", ev.Batch, "err", err)
	}
}

// leaseOf takes a mailbox's lease.
func (h *Handler) leaseOf(ctx context.Context, t *tenants.Tenant, addr string) (*leases.Held, context.Context, error) {
	return leases.Acquire(ctx, h.Store, t.ID, "poll:"+addr, newOwner(), h.LeaseTTL, h.log())
}

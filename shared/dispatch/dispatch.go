// Package dispatch turns the pending people of every office into protocolled
// requests sent by PEC to the Procura (one batch = one request).
//
// # A run
//
// Run visits every tenant and office of the configuration. For each office it
// takes the office's dispatch lease ("dispatch-<office>", so two dispatchers
// never work one office at once; short and renewed while the run works, so
// that a crashed dispatcher is replaced within minutes; a busy office is
// skipped and counted), then
//
//  1. finishes the office's unfinished batches first, oldest first (queued:
//     claim and register again; protocolled: send or recover, below);
//  2. unless the run only resumes (Resume), gathers pending people
//     (store.PendingSubjects, oldest upload first) into batches of at most
//     the batch size (Handler.BatchSize, else the tenant's batch_size, 300 by
//     default). The people of an upload that carries a manual protocol
//     number (domain.Upload.Protocol) form a batch of their own (intake
//     refused such an upload if it did not fit);
//  3. per batch: CreateBatch, ClaimSubjects (people lost to another batch are
//     dropped; a batch left with nobody fails), registration, documents,
//     Message-ID, sending.
//
// # Registration
//
// Per tenant protocol.kind: "builtin" uses the store's register
// (domain.Store.RegisterProtocol: per tenant AOO, registry and year, no gaps,
// no duplicates); "http" uses protocol.HTTP with the token resolved by
// Handler.Secrets; "manual" uses the number supplied with the upload
// (protocol.Manual). An upload with a manual number is registered with it
// whatever the tenant's kind. Handler.Register, when set and returning a
// non-nil register, replaces the built-in choice for http and manual
// tenants and for builtin ones too (tests, other adapters).
//
// A temporary register failure (protocol.IsTemporary) leaves the batch queued
// for the next run. Any other refusal needs a person: the batch fails with the
// reason and its people fail too (state failed, same reason), so that they do
// not go round again automatically; the office uploads them again once the
// cause is fixed. The same applies to a provider's non-acceptance notice.
//
// # Sending, and never twice
//
// For a protocolled batch without Message-ID, dispatch writes to the
// documents bucket the request letter (request.pdf, shared/letter), the
// subjects file (subjects.txt, shared/subjects) and segnatura.xml (AgID), then
// composes the PEC (from the tenant's mailbox to its Procura, subject
// letter.Subject, the three files attached, Message-ID
// <casellario.<batch>@<mailbox domain>>), stores the raw message
// (request.eml) and records the Message-ID (SetMessageID) before sending.
//
// Each submission holds the batch's send lease ("send-<batch>") and is
// recorded on the batch just before it starts (RecordSendAttempt: the count
// and the time). After the provider accepts the submission the batch moves to
// sent. A submission that certainly did not leave (connection refused, TLS
// or login failure, command refused: the Sender's error has a NotSent() bool
// method returning true) clears the record: the batch stays protocolled and
// the next run sends it. Any other failure (the connection broke during or
// after the data) leaves the record: the outcome is unknown.
//
// A batch found protocolled with a Message-ID and a recorded submission (a
// previous run failed or crashed between sending and recording) is never
// sent blindly: dispatch first asks the tenant's PEC mailbox (Mailbox, over
// IMAP, read-only) for the provider's answer quoting our Message-ID
// (X-Riferimento-Message-ID, daticert msgid). An acceptance (or any receipt
// implying one) moves the batch to sent (shared/poll reads the receipts
// properly); a non-acceptance fails it. With no answer, if the submission is
// more recent than Grace (its receipt may still be on its way) the batch
// waits; otherwise the stored bytes are sent again, same Message-ID, and an
// event says so. Without a Mailbox such batches wait for a person.
//
// Run returns an error only for failures of the store, of S3 or of the
// configuration; SMTP, IMAP and register outages are retried by the next run
// and show in the Summary and in the batches' events. HandleSchedule also
// returns ErrWorkLeft when offices were busy or batches left for a retry, so
// that the scheduler's retry (within minutes in AWS) finishes the work.
package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/leases"
	"github.com/casellario-pec/casellario/shared/notice"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/protocol"
	"github.com/casellario-pec/casellario/shared/s3docs"
	"github.com/casellario-pec/casellario/shared/subjects"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// Defaults.
const (
	// DefaultGrace: providers issue the acceptance receipt within seconds of
	// a submission; five minutes without one means it was not accepted.
	DefaultGrace = 5 * time.Minute
	// ProcuraName is how the letter and the segnatura name the addressee (the
	// tenants configuration has only its address).
	ProcuraName = "Procura della Repubblica"
)

// ErrWorkLeft says a scheduled run left work for a run that should come
// soon: an office whose lease a crashed run still held, or a batch left for
// a retry. The Lambda's retry of the event is that run.
var ErrWorkLeft = errors.New("dispatch: work left for a retry")

// Sender submits a raw message through the tenant's PEC provider. An error
// with a method NotSent() bool returning true says the message certainly
// did not leave; any other error leaves the outcome unknown.
type Sender interface {
	Send(ctx context.Context, t tenants.Tenant, from string, to []string, raw []byte) error
}

// Mailbox finds the provider's answer to a submission in the tenant's PEC
// mailbox: pec.KindAccettazione (accepted), pec.KindNonAccettazione (refused)
// or "" (nothing found). pecmail.IMAP implements it.
type Mailbox interface {
	Receipt(ctx context.Context, t tenants.Tenant, messageID string) (pec.Kind, error)
}

// SecretResolver resolves credentials references (the http register's token).
type SecretResolver interface {
	Resolve(ctx context.Context, s tenants.Secret) (string, error)
}

// Handler dispatches batches. Store, Docs, Tenants and Sender are required;
// Mailbox is needed to recover batches whose sending was interrupted.
type Handler struct {
	Store   domain.Store
	Docs    *s3docs.Docs
	Tenants *tenants.Config
	// Register, when set and returning a non-nil register for a tenant,
	// registers that tenant's batches; nil (or a nil register): the tenant's
	// configured kind (see the package doc).
	Register func(t tenants.Tenant) (protocol.Register, error)
	Secrets  SecretResolver // http registers' tokens
	Sender   Sender
	Mailbox  Mailbox
	Format   subjects.Format  // nil: subjects.Default()
	Notify   notice.Publisher // nil: nobody is told
	Log      *slog.Logger     // nil: slog.Default()
	Now      func() time.Time
	// BatchSize overrides the tenants' batch_size when positive.
	BatchSize int
	// Grace is how long after a submission whose outcome is unknown the
	// provider's acceptance receipt is awaited before the same message is
	// sent again (DefaultGrace).
	Grace time.Duration
	// LeaseTTL is how long the office's and the batch's leases outlive a
	// crashed dispatcher (leases.DefaultTTL when 0); they are renewed while it works.
	LeaseTTL time.Duration
	// Resume makes a run finish the offices' open batches only, without
	// gathering new people (a catch-up run between two cut-offs).
	Resume bool
}

// Summary counts what a run did.
type Summary struct {
	Offices   int `json:"offices"`   // offices visited
	Busy      int `json:"busy"`      // offices skipped: another dispatcher held the lease
	Created   int `json:"created"`   // batches created
	People    int `json:"people"`    // people in the batches created
	Lost      int `json:"lost"`      // people dropped from new batches (taken meanwhile)
	Protocol  int `json:"protocol"`  // batches registered
	Sent      int `json:"sent"`      // batches sent (accepted by the provider's SMTP)
	Resent    int `json:"resent"`    // of which sent again after an attempt of unknown outcome
	Recovered int `json:"recovered"` // batches found accepted in the inbox and recorded as sent
	Retried   int `json:"retried"`   // batches left for the next run (SMTP or register outage)
	Waiting   int `json:"waiting"`   // batches waiting for the receipt of a recent attempt
	Failed    int `json:"failed"`    // batches failed (need a person)
}

func (s *Summary) add(o Summary) {
	s.Offices += o.Offices
	s.Busy += o.Busy
	s.Created += o.Created
	s.People += o.People
	s.Lost += o.Lost
	s.Protocol += o.Protocol
	s.Sent += o.Sent
	s.Resent += o.Resent
	s.Recovered += o.Recovered
	s.Retried += o.Retried
	s.Waiting += o.Waiting
	s.Failed += o.Failed
}

func (h *Handler) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) grace() time.Duration {
	if h.Grace > 0 {
		return h.Grace
	}
	return DefaultGrace
}

func (h *Handler) format() subjects.Format {
	if h.Format != nil {
		return h.Format
	}
	return subjects.Default()
}

var rome = sync.OnceValue(func() *time.Location {
	if l, err := time.LoadLocation("Europe/Rome"); err == nil {
		return l
	}
	return time.FixedZone("CET", 3600)
})

// HandleSchedule runs a dispatch for an EventBridge (scheduled) event. Its
// detail may name one Comune ({"tenant":"c_g999"}) and ask for a catch-up
// run that only finishes open batches ({"resume":true}).
func (h *Handler) HandleSchedule(ctx context.Context, ev events.EventBridgeEvent) error {
	id := ev.ID
	if id == "" {
		id = domain.NewID()
	}
	scoped, err := h.Tenants.ForSchedule(ev.Detail) // a schedule per Comune: that one alone
	if err != nil {
		return err
	}
	run := *h
	run.Tenants = scoped
	run.Resume = run.Resume || resumeDetail(ev.Detail)
	sum, err := run.Run(ctx, domain.CauseSchedule(id))
	h.log().InfoContext(ctx, "run finished", "summary", sum, "err", err)
	if err == nil && (sum.Busy > 0 || sum.Retried > 0) {
		err = fmt.Errorf("%w: %d offices busy, %d batches to retry", ErrWorkLeft, sum.Busy, sum.Retried)
	}
	return err
}

// Run dispatches every office of every tenant (see the package doc).
func (h *Handler) Run(ctx context.Context, cause domain.Cause) (Summary, error) {
	var total Summary
	if h.Store == nil || h.Docs == nil || h.Tenants == nil || h.Sender == nil {
		return total, domain.Errorf(domain.EINVALID, "dispatch: Store, Docs, Tenants and Sender are required")
	}
	if !cause.Valid() {
		return total, domain.Errorf(domain.EINVALID, "dispatch: invalid cause %q", cause)
	}
	r := &run{h: h, cause: cause, owner: "dispatch-" + domain.NewID(), uploads: map[string]*domain.Protocol{}}
	var errs []error
	for i := range h.Tenants.Tenants {
		t := h.Tenants.Tenants[i]
		for j := range t.Offices {
			if err := ctx.Err(); err != nil {
				return total, errors.Join(append(errs, err)...)
			}
			var s Summary
			err := r.office(ctx, t, &t.Offices[j], &s)
			total.add(s)
			if err != nil {
				h.log().ErrorContext(ctx, "office failed", "tenant", t.ID, "office", t.Offices[j].Code, "err", err)
				errs = append(errs, fmt.Errorf("%s/%s: %w", t.ID, t.Offices[j].Code, err))
			}
		}
	}
	return total, errors.Join(errs...)
}

// run is the state of one Run.
type run struct {
	h       *Handler
	cause   domain.Cause
	owner   string
	uploads map[string]*domain.Protocol // upload id → its manual protocol (nil: none)
}

func (r *run) office(ctx context.Context, t tenants.Tenant, o *tenants.Office, sum *Summary) error {
	h := r.h
	sum.Offices++
	held, octx, err := leases.Acquire(ctx, h.Store, t.ID, "dispatch-"+o.Code, r.owner, h.LeaseTTL, h.log())
	if domain.ErrorCode(err) == domain.ECONFLICT {
		sum.Busy++
		return nil
	}
	if err != nil {
		return err
	}
	defer held.Release()
	err = r.officeLocked(octx, t, o, sum)
	if leases.Lost(octx) {
		h.log().WarnContext(ctx, "office lease lost; stopping", "tenant", t.ID, "office", o.Code)
		sum.Busy++
		return nil
	}
	return err
}

// timeZero clears a batch's recorded submission (RecordSendAttempt).
var timeZero time.Time

// resumeDetail reads {"resume": true} from a schedule's detail.
func resumeDetail(detail []byte) bool {
	var d struct {
		Resume bool `json:"resume"`
	}
	return len(detail) > 0 && json.Unmarshal(detail, &d) == nil && d.Resume
}

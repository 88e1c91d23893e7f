// Package dispatch turns the pending people of every office into protocolled
// requests sent by PEC to the Procura (one batch = one request).
//
// # A run
//
// Run visits every tenant and office of the configuration. For each office it
// takes the office's dispatch lease ("dispatch-<office>", so two dispatchers
// never work one office at once; a busy office is skipped and counted), then
//
//  1. finishes the office's unfinished batches first, oldest first (queued:
//     claim and register again; protocolled: send or recover, below);
//  2. gathers pending people (store.PendingSubjects, oldest upload first)
//     into batches of at most the batch size (Handler.BatchSize, else the
//     tenant's batch_size, 300 by default). The people of an upload that
//     carries a manual protocol number (intake.MetaProtocolNumber) form a
//     batch of their own (intake refused such an upload if it did not fit);
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
// After the provider accepts the submission the batch moves to sent.
//
// Just before each submission dispatch takes the batch's send lease
// ("send-<batch>") for the grace period (Handler.Grace, 10 minutes by
// default). A submission that certainly did not leave (connection refused,
// TLS or login failure, command refused: the Sender's error has a
// NotSent() bool method returning true) releases it: the batch stays
// protocolled and the next run sends it. Any other failure (the connection
// broke during or after the data) keeps the lease: the outcome is unknown.
//
// A batch found protocolled with a Message-ID at the start of a run (a
// previous run failed or crashed between sending and recording) is never
// sent blindly: dispatch first asks the tenant's PEC inbox (Mailbox, over
// IMAP) for the provider's answer quoting our Message-ID
// (X-Riferimento-Message-ID, daticert msgid). An acceptance (or any receipt
// implying one) moves the batch to sent (shared/poll reads
// the receipts properly); a non-acceptance fails it. With no answer, if the
// send lease is still held (the last attempt is more recent than the grace
// period, its receipt may still be on its way) the batch waits for the next
// run; otherwise the stored bytes are sent again, same Message-ID, and an
// event says so. Without a Mailbox such batches wait for a person.
//
// Run returns an error only for failures of the store, of S3 or of the
// configuration; SMTP, IMAP and register outages are retried by the next run
// and show in the Summary and in the batches' events.
package dispatch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/casellario-pec/casellario/shared/docs"
	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/intake"
	"github.com/casellario-pec/casellario/shared/letter"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/pec/compose"
	"github.com/casellario-pec/casellario/shared/pec/segnatura"
	"github.com/casellario-pec/casellario/shared/protocol"
	"github.com/casellario-pec/casellario/shared/subjects"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// Defaults.
const (
	DefaultGrace    = 10 * time.Minute
	DefaultLeaseTTL = 10 * time.Minute
	// ProcuraName is how the letter and the segnatura name the addressee (the
	// tenants configuration has only its address).
	ProcuraName = "Procura della Repubblica"
)

// Sender submits a raw message through the tenant's PEC provider. An error
// with a method NotSent() bool returning true says the message certainly
// did not leave; any other error leaves the outcome unknown.
type Sender interface {
	Send(ctx context.Context, t tenants.Tenant, from string, to []string, raw []byte) error
}

// Mailbox finds the provider's answer to a submission in the tenant's PEC
// inbox: pec.KindAccettazione (accepted), pec.KindNonAccettazione (refused)
// or "" (nothing found). pecmail.IMAP implements it.
type Mailbox interface {
	Receipt(ctx context.Context, t tenants.Tenant, messageID string) (pec.Kind, error)
}

// SecretResolver resolves credentials references (the http register's token).
type SecretResolver interface {
	Resolve(ctx context.Context, s tenants.Secret) (string, error)
}

// Notifier tells offices that their request left (shared/notify/ports e-mails them).
type Notifier interface {
	RequestSent(ctx context.Context, b domain.Batch) error
}

// NopNotifier tells nobody.
type NopNotifier struct{}

// RequestSent does nothing.
func (NopNotifier) RequestSent(context.Context, domain.Batch) error { return nil }

// SlogNotifier logs the notification (ids, counts and protocol only).
type SlogNotifier struct{ Log *slog.Logger }

// RequestSent logs b.
func (n SlogNotifier) RequestSent(ctx context.Context, b domain.Batch) error {
	l := n.Log
	if l == nil {
		l = slog.Default()
	}
	l.InfoContext(ctx, "notify: request sent", "tenant", b.Tenant, "office", b.Office, "batch", b.ID,
		"protocol", b.Protocol.Number, "protocol_date", b.Protocol.Date.String(), "people", len(b.People))
	return nil
}

// Handler dispatches batches. Store, Docs, Tenants and Sender are required;
// Mailbox is needed to recover batches whose sending was interrupted.
type Handler struct {
	Store   domain.Store
	Docs    *docs.Docs
	Tenants *tenants.Config
	// Register, when set and returning a non-nil register for a tenant,
	// registers that tenant's batches; nil (or a nil register): the tenant's
	// configured kind (see the package doc).
	Register func(t tenants.Tenant) (protocol.Register, error)
	Secrets  SecretResolver // http registers' tokens
	Sender   Sender
	Mailbox  Mailbox
	Format   subjects.Format // nil: subjects.Default()
	Notify   Notifier        // nil: no-op
	Log      *slog.Logger    // nil: slog.Default()
	Now      func() time.Time
	// BatchSize overrides the tenants' batch_size when positive.
	BatchSize int
	// Grace is how long an attempt whose outcome is unknown waits for its
	// acceptance receipt before the message is sent again (DefaultGrace).
	Grace time.Duration
	// LeaseTTL is the office lease's duration, renewed at every batch (DefaultLeaseTTL).
	LeaseTTL time.Duration
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

func (h *Handler) leaseTTL() time.Duration {
	if h.LeaseTTL > 0 {
		return h.LeaseTTL
	}
	return DefaultLeaseTTL
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

// HandleSchedule runs a dispatch for an EventBridge (scheduled) event.
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
	sum, err := run.Run(ctx, domain.CauseSchedule(id))
	h.log().InfoContext(ctx, "dispatch: run finished", "summary", sum, "err", err)
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
	r := &run{h: h, cause: cause, owner: "dispatch-" + domain.NewID(), manual: map[string]*domain.Protocol{}}
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
				h.log().ErrorContext(ctx, "dispatch: office failed", "tenant", t.ID, "office", t.Offices[j].Code, "err", err)
				errs = append(errs, fmt.Errorf("%s/%s: %w", t.ID, t.Offices[j].Code, err))
			}
		}
	}
	return total, errors.Join(errs...)
}

// run is the state of one Run.
type run struct {
	h      *Handler
	cause  domain.Cause
	owner  string
	manual map[string]*domain.Protocol // upload id → manual protocol (nil: none)
	lease  domain.Lease
}

// errLeaseLost stops an office whose lease another dispatcher took.
var errLeaseLost = errors.New("office lease lost")

func (r *run) office(ctx context.Context, t tenants.Tenant, o *tenants.Office, sum *Summary) error {
	h := r.h
	sum.Offices++
	lease, err := h.Store.AcquireLease(ctx, t.ID, "dispatch-"+o.Code, r.owner, h.leaseTTL())
	if domain.ErrorCode(err) == domain.ECONFLICT {
		sum.Busy++
		return nil
	}
	if err != nil {
		return err
	}
	r.lease = lease
	defer func() { _ = h.Store.ReleaseLease(context.WithoutCancel(ctx), r.lease) }()

	err = r.officeLocked(ctx, t, o, sum)
	if errors.Is(err, errLeaseLost) {
		h.log().WarnContext(ctx, "dispatch: office lease lost; stopping", "tenant", t.ID, "office", o.Code)
		return nil
	}
	return err
}

func (r *run) renew(ctx context.Context) error {
	l, err := r.h.Store.RenewLease(ctx, r.lease, r.h.leaseTTL())
	if domain.ErrorCode(err) == domain.ECONFLICT {
		return errLeaseLost
	}
	if err != nil {
		return err
	}
	r.lease = l
	return nil
}

func (r *run) officeLocked(ctx context.Context, t tenants.Tenant, o *tenants.Office, sum *Summary) error {
	h := r.h
	open, err := h.Store.ListBatches(ctx, t.ID, o.Code, []domain.BatchState{domain.BatchQueued, domain.BatchProtocolled}, 0)
	if err != nil {
		return err
	}
	slices.Reverse(open) // oldest first
	for _, b := range open {
		if err := r.batch(ctx, t, o, b, true, sum); err != nil {
			return err
		}
	}
	size := h.BatchSize
	if size <= 0 {
		size = t.BatchSize
	}
	if size <= 0 {
		size = tenants.DefaultBatchSize
	}
	for iter := 0; iter < 10000; iter++ {
		if err := r.renew(ctx); err != nil {
			return err
		}
		pending, err := h.Store.PendingSubjects(ctx, t.ID, o.Code, size)
		if err != nil {
			return err
		}
		if len(pending) == 0 {
			return nil
		}
		people, err := r.group(ctx, t.ID, pending)
		if err != nil {
			return err
		}
		b, err := h.Store.CreateBatch(ctx, domain.Batch{ID: domain.NewID(), Tenant: t.ID, Office: o.Code, People: people}, r.cause)
		if err != nil {
			return err
		}
		sum.Created++
		if err := r.batch(ctx, t, o, b, false, sum); err != nil {
			return err
		}
	}
	return nil
}

// group picks the people of the next batch from pending (oldest upload
// first): the first upload alone when it has a manual protocol number, else
// every pending person of uploads without one.
func (r *run) group(ctx context.Context, tenant string, pending []domain.Subject) ([]string, error) {
	first, err := r.manualOf(ctx, tenant, pending[0].Upload)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, s := range pending {
		if first != nil {
			if s.Upload == pending[0].Upload {
				ids = append(ids, s.ID)
			}
			continue
		}
		m, err := r.manualOf(ctx, tenant, s.Upload)
		if err != nil {
			return nil, err
		}
		if m == nil {
			ids = append(ids, s.ID)
		}
	}
	return ids, nil
}

// manualOf returns the manual protocol of an upload (from its object's metadata), cached per run.
func (r *run) manualOf(ctx context.Context, tenant, upload string) (*domain.Protocol, error) {
	if p, ok := r.manual[upload]; ok {
		return p, nil
	}
	u, err := r.h.Store.GetUpload(ctx, tenant, upload)
	if err != nil {
		return nil, err
	}
	ref := r.h.Docs.Upload(u.Key)
	ref.Version = u.ObjectVersion
	obj, err := r.h.Docs.Head(ctx, ref)
	if err != nil {
		return nil, err
	}
	p, err := intake.ManualProtocol(obj.Metadata)
	if err != nil {
		p = &domain.Protocol{} // intake rejected such uploads; an invalid one fails registration
	}
	r.manual[upload] = p
	return p, nil
}

// batch moves one batch as far as it goes in this run.
func (r *run) batch(ctx context.Context, t tenants.Tenant, o *tenants.Office, b domain.Batch, resumed bool, sum *Summary) error {
	log := r.h.log().With("tenant", t.ID, "office", o.Code, "batch", b.ID)
	if b.State == domain.BatchQueued {
		lost, err := r.h.Store.ClaimSubjects(ctx, t.ID, b.ID, r.cause)
		if err != nil {
			return err
		}
		if b, err = r.h.Store.GetBatch(ctx, t.ID, b.ID); err != nil {
			return err
		}
		if !resumed {
			sum.Lost += len(lost)
			sum.People += len(b.People)
		}
		if len(lost) > 0 {
			log.WarnContext(ctx, "dispatch: people taken by another batch, dropped", "lost", len(lost))
		}
		if len(b.People) == 0 {
			_, err := r.h.Store.AdvanceBatch(ctx, domain.BatchChange{Tenant: t.ID, ID: b.ID, From: domain.BatchQueued, To: domain.BatchFailed,
				Reason: "no people left: all were taken by other batches", Cause: r.cause})
			sum.Failed++
			return err
		}
		var done bool
		if b, done, err = r.register(ctx, t, o, b, log, sum); err != nil || done {
			return err
		}
	}
	if b.State != domain.BatchProtocolled {
		return nil
	}
	return r.send(ctx, t, o, b, log, sum)
}

// register gives a queued batch its protocol number. done reports that the
// batch goes no further in this run (retry later, or failed).
func (r *run) register(ctx context.Context, t tenants.Tenant, o *tenants.Office, b domain.Batch, log *slog.Logger, sum *Summary) (domain.Batch, bool, error) {
	h := r.h
	today := domain.DateOf(h.now().In(rome()))
	uploads := map[string]bool{}
	for _, id := range b.People {
		u, _, err := domain.ParseSubjectID(id)
		if err != nil {
			return b, false, err
		}
		uploads[u] = true
	}
	var manual *domain.Protocol
	if len(uploads) == 1 {
		for u := range uploads {
			m, err := r.manualOf(ctx, t.ID, u)
			if err != nil {
				return b, false, err
			}
			manual = m
		}
	}
	var reg protocol.Register
	if h.Register != nil {
		var err error
		if reg, err = h.Register(t); err != nil {
			return b, false, err
		}
	}
	if manual != nil {
		reg = protocol.Manual{}
	}
	if reg == nil {
		switch t.Protocol.Kind {
		case tenants.ProtocolBuiltin:
			nb, err := h.Store.RegisterProtocol(ctx, domain.ProtocolRequest{Tenant: t.ID, AOO: t.AOO, Registry: t.Protocol.Registry,
				Batch: b.ID, Date: today, Cause: r.cause})
			if err != nil {
				return b, false, err
			}
			sum.Protocol++
			log.InfoContext(ctx, "dispatch: protocolled", "protocol", nb.Protocol.Number)
			return nb, false, nil
		case tenants.ProtocolHTTP:
			reg = httpRegister{h: h, t: t}
		default:
			reg = protocol.Manual{}
		}
	}
	req := protocol.Request{Tenant: t.ID, AOO: t.AOO, Registry: t.Protocol.Registry, BatchID: b.ID,
		Subject:   "Richiesta certificati del casellario giudiziario",
		Recipient: t.Procura, Manual: manual}
	p, err := reg.Register(ctx, req)
	if err != nil {
		if protocol.IsTemporary(err) {
			log.WarnContext(ctx, "dispatch: register unavailable; retried next run", "err", err)
			sum.Retried++
			return b, true, r.note(ctx, b, "registration failed temporarily, retried next run: "+err.Error())
		}
		log.ErrorContext(ctx, "dispatch: register refused the batch", "err", err)
		return b, true, r.fail(ctx, t, b, "protocol registration refused: "+err.Error(), sum)
	}
	nb, err := h.Store.AdvanceBatch(ctx, domain.BatchChange{Tenant: t.ID, ID: b.ID, From: domain.BatchQueued, To: domain.BatchProtocolled,
		Protocol: p, Cause: r.cause})
	if err != nil {
		return b, false, err
	}
	sum.Protocol++
	log.InfoContext(ctx, "dispatch: protocolled", "protocol", nb.Protocol.Number)
	return nb, false, nil
}

type httpRegister struct {
	h *Handler
	t tenants.Tenant
}

func (x httpRegister) Register(ctx context.Context, req protocol.Request) (domain.Protocol, error) {
	token := ""
	if x.t.Protocol.Auth != (tenants.Secret{}) {
		if x.h.Secrets == nil {
			return domain.Protocol{}, &protocol.Error{Message: "http register: no secrets resolver configured for the token"}
		}
		var err error
		if token, err = x.h.Secrets.Resolve(ctx, x.t.Protocol.Auth); err != nil {
			return domain.Protocol{}, &protocol.Error{Temporary: true, Message: "http register: resolving the token", Err: err}
		}
	}
	return protocol.HTTP{URL: x.t.Protocol.URL, Token: token}.Register(ctx, req)
}

// note files an event about a batch at the current time.
func (r *run) note(ctx context.Context, b domain.Batch, detail string) error {
	return r.h.Store.AppendEvent(ctx, domain.Event{Tenant: b.Tenant, Subject: b.ID, At: r.h.now().UTC(), State: string(b.State),
		Detail: detail, Cause: r.cause})
}

// fail fails a batch and its people (see the package doc).
func (r *run) fail(ctx context.Context, t tenants.Tenant, b domain.Batch, reason string, sum *Summary) error {
	if _, err := r.h.Store.AdvanceBatch(ctx, domain.BatchChange{Tenant: t.ID, ID: b.ID, To: domain.BatchFailed, Reason: reason, Cause: r.cause}); err != nil {
		return err
	}
	sum.Failed++
	for _, id := range b.People {
		_, err := r.h.Store.AdvanceSubject(ctx, domain.SubjectChange{Tenant: t.ID, ID: id, To: domain.PersonFailed, Batch: b.ID,
			Reason: reason, Cause: r.cause})
		if err != nil && domain.ErrorCode(err) != domain.ECONFLICT {
			return err
		}
	}
	return nil
}

// MessageID is the Message-ID of a batch's request sent from mailbox address from.
func MessageID(batch, from string) string {
	dom := from[strings.LastIndexByte(from, '@')+1:]
	return "<casellario." + batch + "@" + dom + ">"
}

// send sends (or recovers) a protocolled batch.
func (r *run) send(ctx context.Context, t tenants.Tenant, o *tenants.Office, b domain.Batch, log *slog.Logger, sum *Summary) error {
	h := r.h
	from := t.PEC.Address
	rawRef := h.Docs.Document(docs.BatchKey(t.ID, b.ID, docs.SentMessage))
	var raw []byte
	recovering := b.MessageID != ""
	if !recovering {
		var mid string
		var err error
		if raw, mid, err = r.compose(ctx, t, o, b); err != nil {
			if domain.ErrorCode(err) == domain.EINVALID {
				return r.fail(ctx, t, b, "request not composed: "+domain.ErrorMessage(err), sum)
			}
			return err
		}
		if _, err := h.Docs.Put(ctx, rawRef, "message/rfc822", bytes.NewReader(raw)); err != nil {
			return err
		}
		if b, err = h.Store.SetMessageID(ctx, t.ID, b.ID, mid); err != nil {
			return err
		}
	} else {
		if h.Mailbox == nil {
			log.ErrorContext(ctx, "dispatch: batch with a Message-ID and no Mailbox to check its receipts: left for a person")
			sum.Waiting++
			return nil
		}
		kind, err := h.Mailbox.Receipt(ctx, t, b.MessageID)
		if err != nil {
			log.WarnContext(ctx, "dispatch: cannot read the PEC inbox; retried next run", "err", err)
			sum.Retried++
			return nil
		}
		switch kind {
		case pec.KindAccettazione:
			nb, err := h.Store.AdvanceBatch(ctx, domain.BatchChange{Tenant: t.ID, ID: b.ID, From: domain.BatchProtocolled, To: domain.BatchSent,
				Detail: "sent (the provider's acceptance of " + b.MessageID + " was found in the inbox)", Cause: r.cause})
			if err != nil {
				return err
			}
			sum.Recovered++
			log.InfoContext(ctx, "dispatch: acceptance found; recorded as sent")
			r.notify(ctx, nb, log)
			return nil
		case pec.KindNonAccettazione:
			log.ErrorContext(ctx, "dispatch: the provider refused the request")
			return r.fail(ctx, t, b, "the PEC provider refused the message (non-accettazione)", sum)
		}
		if raw, _, err = h.Docs.GetBytes(ctx, rawRef); err != nil {
			return err
		}
	}
	if err := r.renew(ctx); err != nil {
		return err
	}
	sl, err := h.Store.AcquireLease(ctx, t.ID, "send-"+b.ID, r.owner, h.grace())
	if domain.ErrorCode(err) == domain.ECONFLICT {
		log.InfoContext(ctx, "dispatch: last attempt is recent and unconfirmed; waiting for its receipt")
		sum.Waiting++
		return nil
	}
	if err != nil {
		return err
	}
	if recovering {
		if err := r.note(ctx, b, "sending again the stored message, same Message-ID "+b.MessageID+
			": no receipt found for the previous attempt"); err != nil {
			return err
		}
	}
	if err := h.Sender.Send(ctx, t, from, []string{t.Procura}, raw); err != nil {
		var ns interface{ NotSent() bool }
		if errors.As(err, &ns) && ns.NotSent() {
			_ = h.Store.ReleaseLease(ctx, sl)
			log.WarnContext(ctx, "dispatch: sending failed, nothing sent; retried next run", "err", err)
			sum.Retried++
			return r.note(ctx, b, "sending failed, nothing sent; retried next run: "+err.Error())
		}
		log.WarnContext(ctx, "dispatch: sending interrupted, outcome unknown; checked against the receipts next run", "err", err)
		sum.Retried++
		return r.note(ctx, b, "sending interrupted, outcome unknown; the next run looks for the acceptance receipt: "+err.Error())
	}
	nb, err := h.Store.AdvanceBatch(ctx, domain.BatchChange{Tenant: t.ID, ID: b.ID, From: domain.BatchProtocolled, To: domain.BatchSent,
		Cause: r.cause})
	if err != nil {
		return err
	}
	_ = h.Store.ReleaseLease(ctx, sl)
	sum.Sent++
	if recovering {
		sum.Resent++
	}
	log.InfoContext(ctx, "dispatch: request sent", "protocol", nb.Protocol.Number, "message_id", nb.MessageID, "people", len(nb.People))
	r.notify(ctx, nb, log)
	return nil
}

func (r *run) notify(ctx context.Context, b domain.Batch, log *slog.Logger) {
	n := r.h.Notify
	if n == nil {
		n = NopNotifier{}
	}
	if err := n.RequestSent(ctx, b); err != nil {
		log.WarnContext(ctx, "dispatch: notifying the office", "err", err)
	}
}

// compose writes the batch's documents and returns the raw message and its Message-ID.
func (r *run) compose(ctx context.Context, t tenants.Tenant, o *tenants.Office, b domain.Batch) ([]byte, string, error) {
	h := r.h
	subs, err := h.Store.SubjectsOfBatch(ctx, t.ID, b.ID)
	if err != nil {
		return nil, "", err
	}
	people := make([]domain.Person, len(subs))
	for i, s := range subs {
		people[i] = s.Person
	}
	f := h.format()
	var list bytes.Buffer
	if err := f.Write(&list, people); err != nil {
		// The people's data cannot be written (the format refuses it): this
		// needs a person, and retrying would block the office's later batches.
		return nil, "", &domain.Error{Code: domain.EINVALID, Message: "subjects file refused the batch's people", Err: err}
	}
	req := letter.Request{
		Comune: t.Name, IPA: t.ID, Office: o.Name, Procura: ProcuraName, ProcuraPEC: t.Procura,
		CertificateType: t.Certificate.Type, Purpose: t.Purpose(o), Protocol: b.Protocol, Subjects: len(people),
		SubjectsFile: f.FileName(), German: t.Certificate.German,
	}
	pdf, err := letter.Bytes(req)
	if err != nil {
		return nil, "", domain.Errorf(domain.EINTERNAL, "batch %s: %v", b.ID, err)
	}
	subject := letter.Subject(req)
	seg := segnatura.Segnatura{
		Intestazione: segnatura.Intestazione{
			Identificatore: segnatura.Identificatore{CodiceAmministrazione: t.ID, CodiceAOO: t.AOO, CodiceRegistro: t.Protocol.Registry,
				NumeroRegistrazione: b.Protocol.Number, DataRegistrazione: b.Protocol.Date.String()},
			Oggetto: subject,
		},
		Descrizione: segnatura.Descrizione{
			Mittente:          segnatura.Ente{Denominazione: t.Name, CodiceAmministrazione: t.ID, CodiceAOO: t.AOO, IndirizzoTelematico: t.PEC.Address},
			Destinatario:      []segnatura.Ente{{Denominazione: ProcuraName, IndirizzoTelematico: t.Procura}},
			DocumentoPrimario: segnatura.NewDocumento(letterName, pdf),
			Allegato:          []segnatura.Documento{segnatura.NewDocumento(f.FileName(), list.Bytes())},
		},
	}
	segXML, err := seg.Marshal()
	if err != nil {
		return nil, "", domain.Errorf(domain.EINTERNAL, "batch %s: %v", b.ID, err)
	}
	for _, d := range []struct {
		name, ct string
		data     []byte
	}{{docs.RequestPDF, "application/pdf", pdf}, {docs.SubjectsFile, f.ContentType(), list.Bytes()}, {docs.Segnatura, "application/xml", segXML}} {
		if _, err := h.Docs.Put(ctx, h.Docs.Document(docs.BatchKey(t.ID, b.ID, d.name)), d.ct, bytes.NewReader(d.data)); err != nil {
			return nil, "", err
		}
	}
	from := t.PEC.Address
	if _, err := mail.ParseAddress(from); err != nil {
		return nil, "", domain.Errorf(domain.EINVALID, "tenant %s: PEC address %q", t.ID, from)
	}
	mid := MessageID(b.ID, from)
	var raw bytes.Buffer
	_, err = compose.Write(&raw, compose.Mail{
		From: from, To: []string{t.Procura}, Subject: subject, MessageID: mid, Date: h.now(),
		Text: fmt.Sprintf("%s - %s\r\n\r\n%s.\r\nSi trasmette in allegato la richiesta (%s), l'elenco dei soggetti (%s, %d nominativi) "+
			"e la segnatura di protocollo (%s).\r\n", t.Name, o.Name, subject, letterName, f.FileName(), len(people), segnatura.FileName),
		Attachments: []compose.Attachment{
			{Name: segnatura.FileName, ContentType: "application/xml", Data: segXML},
			{Name: letterName, ContentType: "application/pdf", Data: pdf, Primary: true},
			{Name: f.FileName(), ContentType: f.ContentType(), Data: list.Bytes()},
		},
	})
	if err != nil {
		return nil, "", domain.Errorf(domain.EINTERNAL, "batch %s: %v", b.ID, err)
	}
	return raw.Bytes(), mid, nil
}

// letterName is the attachment name of the request letter.
const letterName = "richiesta.pdf"

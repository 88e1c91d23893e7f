// Package poll reads the tenants' PEC mailboxes (the poll function, on an
// EventBridge schedule): receipts move batches through accepted, delivered or
// failed; the Procura's replies bring certificates that are stored and linked
// to people; what cannot be handled alone goes to the protocol office's triage
// queue. See Handler.
//
// Per mailbox and run: a lease (so that overlapping runs never work one
// mailbox at once); SELECT INBOX; the stored cursor (UIDVALIDITY and last
// UID) decides what is new: nothing new costs one SELECT (UIDNEXT) whatever
// the mailbox holds, else one UID SEARCH over last+1:*; then, per message in
// UID order: UID FETCH BODY.PEEK[], the raw bytes stored unaltered in S3
// (content-addressed), handled (unless the same content or Message-ID was
// handled before), flagged \Flagged when triaged, moved to Folder, and the
// cursor advanced. A changed UIDVALIDITY re-scans the INBOX from UID 1; the
// log of handled messages keeps anything from being handled twice. A run
// stops cleanly at Deadline; the next one resumes from the cursor.
package poll

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/casellario-pec/casellario/shared/docs"
	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// Defaults.
const (
	DefaultDeadline     = 4 * time.Minute // for a Lambda timeout of 5 minutes
	DefaultFolder       = "Archivio"
	DefaultOverdueAfter = 10 * 24 * time.Hour
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
	Docs    *docs.Docs
	Tenants *tenants.Config
	Mail    Dialer
	Trust   *x509.CertPool // PEC providers' trust store: receipts and replies must verify against it
	Notify  Notifier       // nil: no notices
	Log     *slog.Logger   // nil: discard
	Now     func() time.Time
	// Deadline: a run stops taking new messages this long after it started
	// (keep it shorter than the Lambda timeout); DefaultDeadline when 0.
	Deadline time.Duration
	// Folder receives handled messages (created if missing); DefaultFolder when "".
	Folder string
	// OverdueAfter: a delivered batch without a reply this long after delivery
	// is overdue; DefaultOverdueAfter when 0.
	OverdueAfter time.Duration
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
	Fetched      int    `json:"fetched"`
	Duplicates   int    `json:"duplicates"` // handled before: only moved
	Receipts     int    `json:"receipts"`
	Replies      int    `json:"replies"`
	Certificates int    `json:"certificates"`
	Triaged      int    `json:"triaged"`
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
		t.Fetched += m.Fetched
		t.Duplicates += m.Duplicates
		t.Receipts += m.Receipts
		t.Replies += m.Replies
		t.Certificates += m.Certificates
		t.Triaged += m.Triaged
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

func (h *Handler) folder() string {
	if h.Folder == "" {
		return DefaultFolder
	}
	return h.Folder
}

func (h *Handler) overdueAfter() time.Duration {
	if h.OverdueAfter <= 0 {
		return DefaultOverdueAfter
	}
	return h.OverdueAfter
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
	h.log().Info("poll run", "mailboxes", len(sum.Mailboxes), "fetched", t.Fetched, "receipts", t.Receipts,
		"replies", t.Replies, "certificates", t.Certificates, "triaged", t.Triaged, "duplicates", t.Duplicates, "err", err)
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
			h.log().Error("mailbox poll failed", "tenant", t.ID, "mailbox", t.PEC.Address, "err", err)
		}
		n, overdue, err := h.checkOverdue(ctx, t, cause)
		ms.Overdue = n
		if err != nil {
			errs = append(errs, fmt.Errorf("poll: overdue batches of %s: %w", t.ID, err))
		} else {
			h.emitOverdue(t.ID, overdue)
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

func (h *Handler) pollMailbox(ctx context.Context, t *tenants.Tenant) (ms MailboxSummary, err error) {
	addr := strings.ToLower(t.PEC.Address)
	ms = MailboxSummary{Tenant: t.ID, Mailbox: addr}
	log := h.log().With("tenant", t.ID, "mailbox", addr)
	lease, err := h.Store.AcquireLease(ctx, t.ID, "poll:"+addr, newOwner(), h.deadline()+time.Minute)
	if domain.ErrorCode(err) == domain.ECONFLICT {
		ms.Busy = true
		log.Info("mailbox busy: another poll holds its lease")
		return ms, nil
	}
	if err != nil {
		return ms, err
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if rerr := h.Store.ReleaseLease(rctx, lease); rerr != nil {
			log.Warn("releasing the poll lease", "err", rerr)
		}
	}()
	c, err := h.Mail.Dial(ctx, t)
	if err != nil {
		return ms, err
	}
	defer func() {
		_ = c.Logout().Wait()
		_ = c.Close()
	}()
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		return ms, fmt.Errorf("SELECT INBOX: %w", err)
	}
	cur, err := h.Store.Cursor(ctx, t.ID, addr)
	if err != nil {
		return ms, err
	}
	cur.Tenant, cur.Mailbox = t.ID, addr
	last := cur.LastUID
	if cur.UIDValidity != sel.UIDValidity {
		if cur.Version > 0 {
			ms.Rescanned = true
			log.Warn("UIDVALIDITY changed: re-scanning the INBOX", "old", cur.UIDValidity, "new", sel.UIDValidity)
		}
		last = 0
		cur.UIDValidity, cur.LastUID = sel.UIDValidity, 0
		if cur, err = h.Store.SaveCursor(ctx, cur); err != nil {
			return ms, err
		}
	}
	// Nothing new: SELECT said so (UIDNEXT, or an empty INBOX).
	if sel.NumMessages == 0 || (sel.UIDNext != 0 && uint32(sel.UIDNext) <= last+1) {
		return ms, nil
	}
	s := &session{c: c, folder: h.folder()}
	uids, err := s.newUIDs(last)
	if err != nil {
		return ms, err
	}
	for _, uid := range uids {
		if ctx.Err() != nil {
			ms.Stopped = true
			log.Info("deadline reached: the next run resumes", "left", len(uids)-ms.Fetched)
			return ms, nil
		}
		raw, err := s.fetch(uid)
		if err != nil {
			return ms, err
		}
		if raw != nil {
			ms.Fetched++
			r, err := h.handleRaw(ctx, t, raw, &ms)
			if err != nil {
				return ms, fmt.Errorf("message UID %d: %w", uid, err)
			}
			if r.triaged {
				if err := s.flag(uid); err != nil && !serverRefused(err) {
					return ms, err
				}
			}
			if err := s.move(uid); err != nil {
				if !serverRefused(err) {
					return ms, err
				}
				// Handled and logged as seen: it stays in the INBOX, and the
				// cursor moves past it all the same.
				log.Warn("moving a handled message failed", "uid", uid, "folder", s.folder, "err", err)
			}
		}
		cur.LastUID = uint32(uid)
		if cur, err = h.Store.SaveCursor(ctx, cur); err != nil {
			return ms, err
		}
	}
	return ms, nil
}

// handled is what became of one message.
type handled struct {
	triaged   bool
	duplicate bool
}

// handleRaw stores a raw message, handles it unless it was handled before,
// and logs it as handled.
func (h *Handler) handleRaw(ctx context.Context, t *tenants.Tenant, raw []byte, ms *MailboxSummary) (handled, error) {
	sum := sha256.Sum256(raw)
	sha := hex.EncodeToString(sum[:])
	key := docs.MessageKey(t.ID, sha)
	if _, err := h.Docs.Put(ctx, h.Docs.Document(key), "message/rfc822", bytes.NewReader(raw)); err != nil {
		return handled{}, fmt.Errorf("storing the raw message: %w", err)
	}
	m, perr := h.parse(raw)
	msgID := ""
	if perr == nil {
		msgID = m.MessageID
	}
	seen, err := h.Triage.MessageSeen(ctx, t.ID, sha, msgID)
	if err != nil {
		return handled{}, err
	}
	if seen {
		ms.Duplicates++
		h.log().Info("message handled before: only moved", "tenant", t.ID, "key", key)
		return handled{duplicate: true}, nil
	}
	res, err := h.process(ctx, t, key, m, perr, nil, causeOf(msgID, sha))
	if err != nil {
		return handled{}, err
	}
	ms.Receipts += res.receipts
	ms.Replies += res.replies
	ms.Certificates += res.certificates
	out := handled{}
	if res.triage != "" {
		kind := "unreadable"
		if m != nil {
			kind = string(m.Kind)
		}
		it, created, err := h.Triage.CreateTriage(ctx, domain.TriageItem{Tenant: t.ID, Mailbox: t.PEC.Address, MessageKey: key,
			MessageID: msgID, Kind: kind, Reason: res.triage, CreatedAt: h.now(), Cause: causeOf(msgID, sha)})
		if err != nil {
			return handled{}, err
		}
		ms.Triaged++
		out.triaged = true
		h.log().Warn("message put in triage", "tenant", t.ID, "triage", it.ID, "kind", kind, "reason", res.triage)
		if created {
			h.notify(ctx, Notice{Kind: NoticeTriage, Tenant: t.ID, Batch: res.batch, TriageID: it.ID, Detail: res.triage})
		}
	}
	if err := h.Triage.MarkMessageSeen(ctx, t.ID, sha, msgID, key, h.now()); err != nil {
		return handled{}, err
	}
	return out, nil
}

func causeOf(msgID, sha string) domain.Cause {
	if msgID != "" {
		return domain.CausePEC(msgID)
	}
	return domain.CausePEC("sha256:" + sha)
}

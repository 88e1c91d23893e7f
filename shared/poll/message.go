package poll

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/notice"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/s3docs"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// result is what handling one message did; triage, when set, is why it needs a person.
type result struct {
	triage                          domain.Reason
	batch                           string
	receipts, replies, certificates int
	candidates                      []domain.CandidateFact // second certificates kept
}

// handled is what became of one message.
type handled struct {
	triaged   bool
	duplicate bool
}

// handleSafely is handleRaw with a panic turned into an error: a message
// that makes a reader panic fails its attempt (and is set aside after a few)
// instead of ending the run for every message behind it.
func (h *Handler) handleSafely(ctx context.Context, t *tenants.Tenant, raw []byte, ms *MailboxSummary) (r handled, err error) {
	defer func() {
		if p := recover(); p != nil {
			// The panic value may quote the message: only its type is kept.
			what := fmt.Sprintf("%T", p)
			if re, ok := p.(runtime.Error); ok {
				what = re.Error()
			}
			h.log().ErrorContext(ctx, "handling a message panicked", "tenant", t.ID, "panic", what)
			r, err = handled{}, fmt.Errorf("handling the message panicked (%s)", what)
		}
	}()
	return h.handleRaw(ctx, t, raw, ms)
}

// handleRaw stores a raw message, handles it unless it was handled before,
// and logs it as handled.
func (h *Handler) handleRaw(ctx context.Context, t *tenants.Tenant, raw []byte, ms *MailboxSummary) (handled, error) {
	sum := sha256.Sum256(raw)
	sha := hex.EncodeToString(sum[:])
	key := s3docs.MessageKey(t.ID, sha)
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
		h.log().InfoContext(ctx, "message handled before: not handled again", "tenant", t.ID, "key", key)
		return handled{duplicate: true}, nil
	}
	res, err := h.process(ctx, t, m, perr, nil, causeOf(msgID, sha))
	if err != nil {
		return handled{}, err
	}
	ms.Receipts += res.receipts
	ms.Replies += res.replies
	ms.Certificates += res.certificates
	out := handled{}
	if !res.triage.IsZero() {
		kind := "unreadable"
		if m != nil {
			kind = string(m.Kind)
		}
		facts := factsOf(t, m)
		facts.Candidates = res.candidates
		it, created, err := h.Triage.CreateTriage(ctx, domain.TriageItem{Tenant: t.ID, Mailbox: t.PEC.Address, MessageKey: key,
			MessageID: msgID, Kind: kind, Reason: res.triage, Facts: facts, CreatedAt: h.now(), Cause: causeOf(msgID, sha)})
		if err != nil {
			return handled{}, err
		}
		ms.Triaged++
		out.triaged = true
		h.log().WarnContext(ctx, "message put in triage", "tenant", t.ID, "triage", it.ID, "kind", kind, "reason", res.triage.String())
		if created {
			h.notify(ctx, notice.Event{Kind: notice.Triage, Tenant: t.ID, Batch: res.batch, Triage: it.ID, Reason: res.triage.Code})
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

func (h *Handler) parse(raw []byte) (*pec.Message, error) {
	return pec.Parse(raw, pec.ReadOptions{TrustStore: h.Trust, Now: h.Now})
}

// process handles a parsed message; forced is the batch a person assigned it
// to (Reprocess), which also stands for the person's confirmation of a
// signature that did not verify.
func (h *Handler) process(ctx context.Context, t *tenants.Tenant, m *pec.Message, perr error, forced *domain.Batch, cause domain.Cause) (result, error) {
	switch {
	case perr != nil:
		return result{triage: domain.Because(domain.ReasonUnreadableMessage, "unreadable message: "+perr.Error())}, nil
	case m.Kind == pec.KindNonPEC:
		return result{triage: domain.Because(domain.ReasonNotPEC, "not a PEC message (ordinary mail or a delivery status notification)")}, nil
	case m.Kind == pec.KindAnomalia:
		return result{triage: domain.Because(domain.ReasonAnomaly, "anomaly envelope: an ordinary message reached the PEC mailbox")}, nil
	case m.Kind.IsReceipt():
		return h.receipt(ctx, t, m, forced, cause)
	case m.Kind == pec.KindPostaCertificata:
		return h.reply(ctx, t, m, forced, cause)
	}
	return result{triage: domain.Because(domain.ReasonUnknownKind, fmt.Sprintf("unknown message kind %q", m.Kind))}, nil
}

func (h *Handler) eventAt(m *pec.Message) time.Time {
	if !m.Time.IsZero() {
		return m.Time
	}
	return h.now()
}

// advance moves b to `to` when it may go there; otherwise (a receipt read
// late, out of order) it files an event and changes nothing.
func (h *Handler) advance(ctx context.Context, b domain.Batch, to domain.BatchState, reason domain.Reason, detail string, at time.Time, cause domain.Cause) (domain.Batch, bool, error) {
	for attempt := 0; ; attempt++ {
		if b.State == to {
			return b, false, nil
		}
		if !b.State.CanAdvance(to) {
			err := h.Store.AppendEvent(ctx, domain.Event{Tenant: b.Tenant, Subject: b.ID, At: at, State: string(b.State),
				Note: domain.NoteLateReceipt, Detail: fmt.Sprintf("%s read while %s: no change", firstNonEmpty(detail, reason.String()), b.State), Cause: cause})
			return b, false, err
		}
		nb, err := h.Store.AdvanceBatch(ctx, domain.BatchChange{Tenant: b.Tenant, ID: b.ID, From: b.State, To: to, Reason: reason,
			Detail: detail, Cause: cause})
		if err == nil {
			return nb, true, nil
		}
		if domain.ErrorCode(err) != domain.ECONFLICT || attempt >= 3 {
			return b, false, err
		}
		if b, err = h.Store.GetBatch(ctx, b.Tenant, b.ID); err != nil {
			return b, false, err
		}
	}
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "")
	}
	return s
}

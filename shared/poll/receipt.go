package poll

import (
	"context"
	"fmt"
	"strings"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/notice"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// failureReasons map the provider's failure notices to reasons.
var failureReasons = map[pec.Kind]domain.ReasonCode{
	pec.KindNonAccettazione:  domain.ReasonProviderRefused,
	pec.KindErroreConsegna:   domain.ReasonNotDelivered,
	pec.KindRilevazioneVirus: domain.ReasonVirus,
}

func (h *Handler) receipt(ctx context.Context, t *tenants.Tenant, m *pec.Message, forced *domain.Batch, cause domain.Cause) (result, error) {
	res := result{receipts: 1}
	if forced == nil && m.Signature.Status != pec.SignatureValid {
		res.triage = domain.Because(domain.ReasonBadSignature, fmt.Sprintf("%s receipt with a signature that is %s (%s): kept, no state change until confirmed",
			m.Kind, m.Signature.Status, m.Signature.Reason))
		return res, nil
	}
	var b domain.Batch
	if forced != nil {
		b = *forced
	} else {
		if m.RefMessageID == "" {
			res.triage = domain.Because(domain.ReasonReceiptNoReference, fmt.Sprintf("%s receipt without the original Message-ID", m.Kind))
			return res, nil
		}
		var err error
		b, err = h.Store.BatchByMessageID(ctx, t.ID, m.RefMessageID)
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			res.triage = domain.Because(domain.ReasonReceiptUnknown, fmt.Sprintf("%s receipt for a Message-ID we did not send (%s)", m.Kind, m.RefMessageID))
			return res, nil
		}
		if err != nil {
			return res, err
		}
	}
	res.batch = b.ID
	at := h.eventAt(m)
	log := h.log().With("tenant", t.ID, "batch", b.ID, "kind", m.Kind)
	switch m.Kind {
	case pec.KindAccettazione:
		_, _, err := h.advance(ctx, b, domain.BatchAccepted, domain.Reason{}, "acceptance receipt (accettazione)", at, cause)
		return res, err
	case pec.KindAvvenutaConsegna:
		nb, moved, err := h.advance(ctx, b, domain.BatchDelivered, domain.Reason{}, "delivery receipt (avvenuta-consegna) from "+m.DeliveredTo, at, cause)
		if err == nil && moved {
			h.notify(ctx, notice.Event{Kind: notice.Delivered, Tenant: t.ID, Office: nb.Office, Batch: nb.ID})
		}
		return res, err
	case pec.KindPresaInCarico:
		return res, h.Store.AppendEvent(ctx, domain.Event{Tenant: t.ID, Subject: b.ID, At: at, State: string(b.State),
			Note: domain.NoteTakenInCharge, Detail: "taken in charge by the recipient's provider (presa-in-carico)", Cause: cause})
	case pec.KindPreavvisoErroreConsegna:
		log.WarnContext(ctx, "delivery warning (preavviso di mancata consegna)")
		err := h.Store.AppendEvent(ctx, domain.Event{Tenant: t.ID, Subject: b.ID, At: at, State: string(b.State),
			Note: domain.NoteDeliveryWarning, Detail: "warning: no delivery receipt within 12 hours (preavviso-errore-consegna)", Cause: cause})
		if err == nil {
			h.notify(ctx, notice.Event{Kind: notice.NotDelivered, Tenant: t.ID, Office: b.Office, Batch: b.ID})
		}
		return res, err
	case pec.KindNonAccettazione, pec.KindErroreConsegna, pec.KindRilevazioneVirus:
		detail := string(m.Kind)
		if m.Error != "" {
			detail += " (errore " + m.Error + ")"
		}
		if d := strings.TrimSpace(m.ErrorDetail); d != "" {
			detail += ": " + oneLine(d, 300)
		}
		reason := domain.Because(failureReasons[m.Kind], detail)
		nb, moved, err := h.advance(ctx, b, domain.BatchFailed, reason, "", at, cause)
		if err != nil || !moved {
			return res, err
		}
		log.WarnContext(ctx, "batch failed: the request did not reach the Procura")
		// The request never reached the Procura: its people are offered
		// again, a bounded number of times.
		if err := h.releaseSubjects(ctx, t, nb, reason, cause); err != nil {
			return res, err
		}
		h.notify(ctx, notice.Event{Kind: notice.RequestFailed, Tenant: t.ID, Office: nb.Office, Batch: nb.ID, Reason: reason.Code})
		return res, nil
	}
	res.triage = domain.Because(domain.ReasonUnexpectedReceipt, fmt.Sprintf("receipt of unexpected kind %s", m.Kind))
	return res, nil
}

// releaseSubjects moves the batched people of a batch that failed in
// transport back to pending, except those whose requests failed
// MaxTransportAttempts times: they fail, and the office is told.
func (h *Handler) releaseSubjects(ctx context.Context, t *tenants.Tenant, b domain.Batch, why domain.Reason, cause domain.Cause) error {
	subs, err := h.Store.SubjectsOfBatch(ctx, b.Tenant, b.ID)
	if err != nil {
		return err
	}
	max := t.MaxTransportAttempts()
	failed := false
	for _, s := range subs {
		if s.State != domain.PersonBatched || s.Batch != b.ID {
			continue
		}
		c := domain.SubjectChange{Tenant: b.Tenant, ID: s.ID, To: domain.PersonPending, Batch: b.ID, Cause: cause}
		if s.Attempts+1 >= max {
			c.To = domain.PersonFailed
			c.Reason = domain.Because(domain.ReasonTransportAttempts, fmt.Sprintf("%d requests failed in transport; the last: %s", s.Attempts+1, why))
			failed = true
		}
		if _, err := h.Store.AdvanceSubject(ctx, c); err != nil && domain.ErrorCode(err) != domain.ECONFLICT {
			return err
		}
	}
	if failed {
		return domain.FinishUploads(ctx, h.Store, b.Tenant, domain.UploadsOf(b.People), cause)
	}
	return nil
}

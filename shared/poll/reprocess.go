package poll

import (
	"context"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/pec"
)

// ReprocessResult is what Reprocess did.
type ReprocessResult struct {
	Item         domain.TriageItem
	Certificates int
	// Remaining says what still could not be handled (zero when all was).
	Remaining domain.Reason
}

// Reprocess handles the message of a triage item again against batch, as a
// person decided (this also confirms a receipt whose signature did not
// verify), then marks the item assigned. Safe to repeat.
func (h *Handler) Reprocess(ctx context.Context, tenant, triageID, batch string, cause domain.Cause) (ReprocessResult, error) {
	var out ReprocessResult
	t, err := h.Tenants.Tenant(tenant)
	if err != nil {
		return out, err
	}
	it, err := h.Triage.GetTriage(ctx, tenant, triageID)
	if err != nil {
		return out, err
	}
	if it.State == domain.TriageDismissed {
		return out, domain.Errorf(domain.ECONFLICT, "triage item %s is dismissed", triageID)
	}
	b, err := h.Store.GetBatch(ctx, tenant, batch)
	if err != nil {
		return out, err
	}
	raw, _, err := h.Docs.GetBytes(ctx, h.Docs.Document(it.MessageKey))
	if err != nil {
		return out, err
	}
	m, err := h.parse(raw)
	if err != nil {
		return out, domain.Errorf(domain.EINVALID, "triage item %s: the message is unreadable and cannot be assigned to a batch", triageID)
	}
	if !m.Kind.IsReceipt() && m.Kind != pec.KindPostaCertificata {
		return out, domain.Errorf(domain.EINVALID, "triage item %s: a message of kind %s cannot be assigned to a batch", triageID, m.Kind)
	}
	res, err := h.process(ctx, t, m, nil, &b, cause)
	if err != nil {
		return out, err
	}
	out.Certificates, out.Remaining = res.certificates, res.triage
	note := "re-processed against batch " + batch
	if !res.triage.IsZero() {
		note += "; still: " + res.triage.String()
	}
	out.Item, err = h.Triage.AssignTriage(ctx, tenant, triageID, batch, note, cause)
	return out, err
}

package poll

import (
	"context"
	"fmt"
	"strings"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/pec"
)

var _ domain.TriageAssigner = (*Handler)(nil)

// Assign handles the message of a triage item again against the batch a
// person chose, then marks the item assigned. A message that fails a check
// for that batch (its signature, its certified sender, the Message-ID a
// receipt is about) is attributed only with an explicit Override: a
// confirmation and a reason, recorded on the batch and on the item.
// Otherwise it returns *domain.ChecksFailed and changes nothing. Safe to
// repeat.
func (h *Handler) Assign(ctx context.Context, tenant, triageID, batch string, o domain.Override, cause domain.Cause) (domain.AssignResult, error) {
	var out domain.AssignResult
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
	checks := checksFor(t, m, b)
	o.Reason = strings.TrimSpace(o.Reason)
	if len(checks) > 0 && (!o.Confirm || o.Reason == "") {
		return out, &domain.ChecksFailed{Checks: checks}
	}
	note := "assigned to request " + b.ID
	if b.Protocol.Number != "" {
		note += " (prot. " + b.Protocol.Reference() + " of " + b.Protocol.Date.Italian() + ")"
	}
	if len(checks) > 0 {
		var s []string
		for _, c := range checks {
			s = append(s, string(c))
		}
		note += fmt.Sprintf("; overriding the failed checks %s: %s", strings.Join(s, ", "), oneLine(o.Reason, 500))
		out.Overridden = checks
	}
	// Recorded before handling: the audit trail says who attributed it, and why.
	if err := h.Store.AppendEvent(ctx, domain.Event{Tenant: tenant, Subject: b.ID, At: h.now().UTC(), State: string(b.State),
		Note: domain.NoteFromTriage, Detail: "message " + it.MessageID + " from triage " + note, Cause: cause}); err != nil {
		return out, err
	}
	res, err := h.process(ctx, t, m, nil, &b, cause)
	if err != nil {
		return out, err
	}
	out.Certificates, out.Remaining = res.certificates, res.triage
	if !res.triage.IsZero() {
		note += "; still: " + res.triage.String()
	}
	out.Item, err = h.Triage.AssignTriage(ctx, tenant, triageID, batch, note, cause)
	return out, err
}

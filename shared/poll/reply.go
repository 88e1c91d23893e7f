package poll

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/notice"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/reply"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// protocolLookup is the store's BatchByProtocol (shared/store).
type protocolLookup interface {
	BatchByProtocol(ctx context.Context, tenant, aoo, registry string, year int, number string) (domain.Batch, error)
}

// batchesByProtocol finds the batches a protocol reference names: the
// built-in register first, then the tenant's open batches (external registers).
func (h *Handler) batchesByProtocol(ctx context.Context, t *tenants.Tenant, ref reply.ProtocolRef) ([]domain.Batch, error) {
	years := []int{ref.Year}
	if ref.Year == 0 {
		y := h.now().Year()
		years = []int{y, y - 1}
	}
	if pl, ok := h.Store.(protocolLookup); ok && t.Protocol.Registry != "" {
		for _, y := range years {
			b, err := pl.BatchByProtocol(ctx, t.ID, t.AOO, t.Protocol.Registry, y, ref.Number)
			if err == nil {
				return []domain.Batch{b}, nil
			}
			if c := domain.ErrorCode(err); c != domain.ENOTFOUND && c != domain.EINVALID {
				return nil, err
			}
		}
	}
	open, err := h.Store.ListBatches(ctx, t.ID, "", []domain.BatchState{domain.BatchSent, domain.BatchAccepted, domain.BatchDelivered, domain.BatchReplied}, 0)
	if err != nil {
		return nil, err
	}
	var out []domain.Batch
	for _, b := range open {
		if b.Protocol.Number == "" || strings.TrimLeft(b.Protocol.Number, "0") != strings.TrimLeft(ref.Number, "0") {
			continue
		}
		if (ref.Year != 0 && b.Protocol.Date.Year != ref.Year) || (!ref.Date.IsZero() && b.Protocol.Date != ref.Date) {
			continue
		}
		out = append(out, b)
	}
	return out, nil
}

// msgIDs splits In-Reply-To and References into Message-IDs.
func msgIDs(values ...string) []string {
	var out []string
	for _, v := range values {
		for _, f := range strings.Fields(strings.NewReplacer("<", " <", ">", "> ").Replace(v)) {
			if strings.HasPrefix(f, "<") && strings.HasSuffix(f, ">") && strings.Contains(f, "@") {
				out = append(out, f)
			}
		}
	}
	return out
}

// certifiedSender is the sender the provider certified (daticert.xml
// mittente, inside the provider's signature); "" without a daticert. The
// original's From header is not evidence: nothing authenticates it.
func certifiedSender(m *pec.Message) string {
	if m.Daticert == nil {
		return ""
	}
	return strings.TrimSpace(m.Daticert.Mittente)
}

func (h *Handler) reply(ctx context.Context, t *tenants.Tenant, m *pec.Message, forced *domain.Batch, cause domain.Cause) (result, error) {
	res := result{replies: 1}
	if forced == nil && m.Signature.Status != pec.SignatureValid {
		res.triage = domain.Because(domain.ReasonBadSignature, fmt.Sprintf("posta-certificata with a signature that is %s (%s)", m.Signature.Status, m.Signature.Reason))
		return res, nil
	}
	if m.Original == nil {
		res.triage = domain.Because(domain.ReasonNoOriginal, "posta-certificata without the original message")
		return res, nil
	}
	if forced == nil && !t.IsProcura(certifiedSender(m)) {
		res.triage = domain.Because(domain.ReasonNotProcura, "posta-certificata whose certified sender is not the Procura")
		return res, nil
	}
	subject := m.Original.Subject
	body, _ := m.Original.Text()
	var b domain.Batch
	if forced != nil {
		b = *forced
	} else {
		cands := map[string]domain.Batch{}
		for _, id := range msgIDs(append(m.Original.Header.Values("In-Reply-To"), m.Original.Header.Values("References")...)...) {
			if err := h.addByMessageID(ctx, t, id, cands); err != nil {
				return res, err
			}
		}
		matcher, err := reply.NewMatcher(t.Replies.ProtocolPatterns)
		if err != nil {
			return res, err
		}
		refs := matcher.Find(subject, body)
		var quoted []string
		for _, r := range refs {
			quoted = append(quoted, r.Number)
			bs, err := h.batchesByProtocol(ctx, t, r)
			if err != nil {
				return res, err
			}
			for _, x := range bs {
				cands[x.ID] = x
			}
		}
		switch {
		case len(cands) == 0 && len(refs) == 0:
			res.triage = domain.Because(domain.ReasonNoReference, "reply from the Procura quoting no protocol number and no Message-ID of ours")
			return res, nil
		case len(cands) == 0:
			res.triage = domain.Because(domain.ReasonNoMatch, "reply from the Procura quoting protocol number(s) "+strings.Join(quoted, ", ")+" that match no batch")
			return res, nil
		case len(cands) > 1:
			var ids []string
			for id := range cands {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			res.triage = domain.Because(domain.ReasonSeveralMatches, "reply from the Procura matching several batches: "+strings.Join(ids, ", "))
			return res, nil
		}
		for _, x := range cands {
			b = x
		}
	}
	res.batch = b.ID
	return h.certificates(ctx, t, m, b, subject, body, res, cause)
}

func (h *Handler) addByMessageID(ctx context.Context, t *tenants.Tenant, id string, into map[string]domain.Batch) error {
	b, err := h.Store.BatchByMessageID(ctx, t.ID, id)
	switch {
	case err == nil:
		into[b.ID] = b
	case domain.ErrorCode(err) != domain.ENOTFOUND:
		return err // a store failure: retry the message next run, not triage
	}
	return nil
}

// refused fails a batch the Procura refused, and its people.
func (h *Handler) refused(ctx context.Context, t *tenants.Tenant, m *pec.Message, b domain.Batch, words string, res result, cause domain.Cause) (result, error) {
	reason := domain.Because(domain.ReasonProcuraRefused, "refused by the Procura: "+words)
	nb, moved, err := h.advance(ctx, b, domain.BatchFailed, reason, "", h.eventAt(m), cause)
	if err != nil {
		return res, err
	}
	subs, err := h.Store.SubjectsOfBatch(ctx, t.ID, b.ID)
	if err != nil {
		return res, err
	}
	for _, s := range subs {
		if s.State == domain.PersonBatched && s.Batch == b.ID {
			if _, err := h.Store.AdvanceSubject(ctx, domain.SubjectChange{Tenant: t.ID, ID: s.ID, To: domain.PersonFailed, Batch: b.ID,
				Reason: reason, Cause: cause}); err != nil && domain.ErrorCode(err) != domain.ECONFLICT {
				return res, err
			}
		}
	}
	if err := domain.FinishUploads(ctx, h.Store, t.ID, domain.UploadsOf(b.People), cause); err != nil {
		return res, err
	}
	if moved {
		h.log().WarnContext(ctx, "batch refused by the Procura", "tenant", t.ID, "batch", b.ID)
		h.notify(ctx, notice.Event{Kind: notice.RequestFailed, Tenant: t.ID, Office: nb.Office, Batch: nb.ID, Reason: reason.Code})
	}
	return res, nil
}

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

// Attribution: a reply is attributed to one of our requests only when its
// certified sender is the tenant's Procura with a trusted signature, and
// either it refers to the request's Message-ID (In-Reply-To, References), or
// it quotes the request's protocol number with its date (the built-in
// register's numbers with their register code, "CPEC-0000012"; a quoted date
// must be the request's). A number quoted without a date is weaker: it
// attributes a reply only when each certificate it carries names a person
// of that request, and never a refusal. Anything else goes to triage.

// evidence ties a reply to one batch.
type evidence struct {
	batch  domain.Batch
	strong bool
	why    []string // English, for the batch's event
}

// attribution is what the references of a reply point at.
type attribution struct {
	cands      map[string]*evidence
	quoted     []string // references quoted, as quoted
	mismatched []string // references whose quoted date is not the request's
}

func (a *attribution) add(b domain.Batch, strong bool, why string) {
	if a.cands == nil {
		a.cands = map[string]*evidence{}
	}
	e := a.cands[b.ID]
	if e == nil {
		e = &evidence{batch: b}
		a.cands[b.ID] = e
	}
	e.strong = e.strong || strong
	e.why = append(e.why, why)
}

// repliable are the states of a batch a reply may be about.
var repliable = []domain.BatchState{domain.BatchSent, domain.BatchAccepted, domain.BatchDelivered, domain.BatchReplied, domain.BatchCompleted}

// attribute collects the evidence a reply carries.
func (h *Handler) attribute(ctx context.Context, t *tenants.Tenant, m *pec.Message, subject, body string) (attribution, error) {
	var a attribution
	for _, id := range msgIDs(append(m.Original.Header.Values("In-Reply-To"), m.Original.Header.Values("References")...)...) {
		b, err := h.Store.BatchByMessageID(ctx, t.ID, id)
		switch {
		case err == nil:
			a.add(b, true, "refers to our Message-ID "+id)
		case domain.ErrorCode(err) != domain.ENOTFOUND:
			return a, err // a store failure: retry the message next run, not triage
		}
	}
	builtin := ""
	if t.Protocol.Kind == tenants.ProtocolBuiltin {
		builtin = t.Protocol.Registry
	}
	matcher, err := reply.NewMatcher(t.Replies.ProtocolPatterns, builtin)
	if err != nil {
		return a, err
	}
	var general []domain.Batch // loaded once, when a general register's number is quoted
	loaded := false
	for _, r := range matcher.Find(subject, body) {
		ref := (domain.Protocol{Number: r.Number, Register: r.Register}).Reference()
		if !r.Date.IsZero() {
			ref += " del " + r.Date.Italian()
		}
		a.quoted = append(a.quoted, ref)
		var found []domain.Batch
		if r.Register != "" {
			for _, y := range yearsOf(r, h.now().Year()) {
				b, err := h.Store.BatchByProtocol(ctx, t.ID, t.AOO, r.Register, y, r.Number)
				if err == nil {
					found = append(found, b)
				} else if c := domain.ErrorCode(err); c != domain.ENOTFOUND && c != domain.EINVALID {
					return a, err
				}
			}
		} else {
			if !loaded {
				bs, err := h.Store.ListBatches(ctx, t.ID, "", repliable, 0)
				if err != nil {
					return a, err
				}
				for _, b := range bs {
					if b.Protocol.Register == "" && b.Protocol.Number != "" {
						general = append(general, b)
					}
				}
				loaded = true
			}
			for _, b := range general {
				if r.Value() == (reply.ProtocolRef{Number: b.Protocol.Number}).Value() && (r.Year == 0 || r.Year == b.Protocol.Date.Year) {
					found = append(found, b)
				}
			}
		}
		for _, b := range found {
			switch {
			case !isRepliable(b.State):
				continue
			case r.Date.IsZero():
				a.add(b, false, "quotes "+ref+" without its date")
			case r.Date == b.Protocol.Date:
				a.add(b, true, "quotes "+ref)
			default:
				a.mismatched = append(a.mismatched, ref)
			}
		}
	}
	return a, nil
}

func isRepliable(s domain.BatchState) bool {
	for _, x := range repliable {
		if s == x {
			return true
		}
	}
	return false
}

// yearsOf are the registers' years a reference may be in: its own, else this
// year and the last (a request sent in December, answered in January).
func yearsOf(r reply.ProtocolRef, now int) []int {
	if r.Year != 0 {
		return []int{r.Year}
	}
	return []int{now, now - 1}
}

// decide picks the one batch the evidence points at, or says why not.
func (a attribution) decide() (*evidence, domain.Reason) {
	var strong, weak []*evidence
	for _, e := range a.cands {
		if e.strong {
			strong = append(strong, e)
		} else {
			weak = append(weak, e)
		}
	}
	switch {
	case len(strong) == 1 && len(weak) == 0:
		return strong[0], domain.Reason{}
	case len(strong)+len(weak) > 1:
		var ids []string
		for id := range a.cands {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		return nil, domain.Because(domain.ReasonSeveralMatches, "reply from the Procura pointing at several requests: "+strings.Join(ids, ", "))
	case len(weak) == 1:
		return weak[0], domain.Reason{}
	case len(a.mismatched) > 0:
		return nil, domain.Because(domain.ReasonDateMismatch, "reply from the Procura quoting "+strings.Join(a.mismatched, ", ")+
			": the number of a request, with another date")
	case len(a.quoted) > 0:
		return nil, domain.Because(domain.ReasonNoMatch, "reply from the Procura quoting "+strings.Join(a.quoted, ", ")+", which match no request of ours")
	}
	return nil, domain.Because(domain.ReasonNoReference, "reply from the Procura quoting no protocol number and no Message-ID of ours")
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
	ev := &evidence{strong: true, why: []string{"assigned by a person"}}
	if forced != nil {
		ev.batch = *forced
	} else {
		a, err := h.attribute(ctx, t, m, subject, body)
		if err != nil {
			return res, err
		}
		var why domain.Reason
		if ev, why = a.decide(); ev == nil {
			res.triage = why
			return res, nil
		}
	}
	res.batch = ev.batch.ID
	return h.certificates(ctx, t, m, ev, subject, body, res, cause)
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

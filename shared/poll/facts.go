package poll

import (
	"strings"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/reply"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// maxFacts bounds the lists of facts kept on a triage item.
const maxFacts = 50

// factsOf reads from a message what the protocol office needs to decide
// about it.
func factsOf(t *tenants.Tenant, m *pec.Message) domain.TriageFacts {
	var f domain.TriageFacts
	if m == nil {
		return f
	}
	f.Sender = m.Sender
	if m.Daticert != nil && strings.TrimSpace(m.Daticert.Mittente) != "" {
		f.Sender, f.SenderCertified = strings.TrimSpace(m.Daticert.Mittente), true
	}
	f.SenderIsProcura = f.SenderCertified && t.IsProcura(f.Sender)
	f.Subject, f.Date = m.Subject, m.Time
	f.Signature, f.Signer = string(m.Signature.Status), m.Signature.Signer
	if m.Kind.IsReceipt() {
		f.RefersTo = m.RefMessageID
	}
	if m.Original != nil {
		if f.RefersTo == "" {
			if ids := msgIDs(m.Original.Header.Values("In-Reply-To")...); len(ids) > 0 {
				f.RefersTo = ids[0]
			}
		}
		builtin := ""
		if t.Protocol.Kind == tenants.ProtocolBuiltin {
			builtin = t.Protocol.Registry
		}
		if matcher, err := reply.NewMatcher(t.Replies.ProtocolPatterns, builtin); err == nil {
			body, _ := m.Original.Text()
			for _, r := range matcher.Find(m.Original.Subject, body) {
				if len(f.References) == maxFacts {
					break
				}
				f.References = append(f.References, domain.QuotedRef{Reference: (domain.Protocol{Number: r.Number, Register: r.Register}).Reference(), Date: r.Date})
			}
		}
	}
	for _, a := range m.Attachments() {
		if len(f.Files) == maxFacts {
			break
		}
		f.Files = append(f.Files, domain.AttachedFile{Name: a.Name, ContentType: a.ContentType, Size: a.Size})
	}
	return f
}

// checksFor lists the checks a message fails for batch b: those a person
// must explicitly override to attribute it.
func checksFor(t *tenants.Tenant, m *pec.Message, b domain.Batch) []domain.Check {
	var out []domain.Check
	if m.Signature.Status != pec.SignatureValid {
		out = append(out, domain.CheckSignature)
	}
	switch {
	case m.Kind.IsReceipt():
		if m.RefMessageID == "" || !strings.EqualFold(m.RefMessageID, b.MessageID) {
			out = append(out, domain.CheckMessageID)
		}
	case m.Kind == pec.KindPostaCertificata:
		if !t.IsProcura(certifiedSender(m)) {
			out = append(out, domain.CheckSender)
		}
	}
	return out
}

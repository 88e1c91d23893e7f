package poll

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/casellario-pec/casellario/shared/docs"
	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/notice"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/reply"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// maxPDF bounds one certificate file.
const maxPDF = 32 << 20

// pdfAttachments are the original's attachments that are PDF files.
func pdfAttachments(m *pec.Message) []pec.Attachment {
	var pdfs []pec.Attachment
	for _, a := range m.Attachments() {
		name := strings.ToLower(a.Name)
		if a.ContentType == "application/pdf" || (strings.HasSuffix(name, ".pdf") && !strings.HasSuffix(name, ".p7m")) {
			pdfs = append(pdfs, a)
		}
	}
	return pdfs
}

// certificates handles the reply attributed to batch b: a refusal without
// certificates, or certificates stored and linked to the people they name.
func (h *Handler) certificates(ctx context.Context, t *tenants.Tenant, m *pec.Message, b domain.Batch, subject, body string, res result, cause domain.Cause) (result, error) {
	at := h.eventAt(m)
	pdfs := pdfAttachments(m)
	if len(pdfs) == 0 {
		words, refused := reply.Refusal(subject, body)
		if !refused {
			res.triage = domain.Because(domain.ReasonUnrecognisedReply, "reply from the Procura without certificates, not recognised as a refusal")
			return res, nil
		}
		return h.refused(ctx, t, m, b, words, res, cause)
	}
	subs, err := h.Store.SubjectsOfBatch(ctx, t.ID, b.ID)
	if err != nil {
		return res, err
	}
	people := make([]domain.Person, len(subs))
	for i, s := range subs {
		people[i] = s.Person
	}
	who := reply.NewWho(people)
	var problems []string
	unreadable := false
	certify := func(i int, data []byte, outcome domain.Outcome) error {
		s := &subs[i]
		if s.State == domain.PersonCertified {
			return nil // a certificate arrived before: the first one is kept
		}
		if s.State != domain.PersonBatched || s.Batch != b.ID {
			problems = append(problems, fmt.Sprintf("a certificate for subject %s, who is %s", s.ID, s.State))
			return nil
		}
		k := docs.CertificateKey(t.ID, b.ID, s.ID)
		obj, err := h.Docs.Put(ctx, h.Docs.Document(k), "application/pdf", bytes.NewReader(data))
		if err != nil {
			return err
		}
		ns, err := h.Store.AdvanceSubject(ctx, domain.SubjectChange{Tenant: t.ID, ID: s.ID, To: domain.PersonCertified, Batch: b.ID, Cause: cause,
			Certificate: &domain.Certificate{Outcome: outcome, Key: k, SHA256: obj.SHA256, ReceivedAt: at.UTC()}})
		if err != nil {
			return err
		}
		*s = ns
		res.certificates++
		return nil
	}
	for n, a := range pdfs {
		r, err := a.Open()
		if err != nil {
			problems = append(problems, fmt.Sprintf("attachment #%d cannot be decoded", n+1))
			continue
		}
		data, err := io.ReadAll(io.LimitReader(r, maxPDF+1))
		if err != nil || len(data) > maxPDF || !reply.IsPDF(data) {
			problems = append(problems, fmt.Sprintf("attachment #%d is not a PDF", n+1))
			continue
		}
		pages, err := reply.PDFPages(ctx, data)
		if err != nil {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			// Damaged, hostile or scanned: only the file name can tell.
			unreadable = true
			problems = append(problems, fmt.Sprintf("attachment #%d: its text cannot be read safely (%s)", n+1, oneLine(err.Error(), 120)))
			pages = nil
		}
		text := strings.Join(pages, "\n")
		inText, inName := who.InText(text), who.InName(a.Name)
		switch {
		case len(inText) == 1 && (len(inName) == 0 || (len(inName) == 1 && inName[0] == inText[0])):
			err = certify(inText[0], data, reply.Outcome(text))
		case len(inText) == 0 && len(inName) == 1:
			err = certify(inName[0], data, reply.Outcome(text))
		case len(inText) == 1:
			problems = append(problems, fmt.Sprintf("attachment #%d: its name and its text name different people", n+1))
		case len(inText) > 1:
			err = h.merged(ctx, data, pages, inText, who, certify, func(p string) { problems = append(problems, fmt.Sprintf("attachment #%d: %s", n+1, p)) })
		default:
			problems = append(problems, fmt.Sprintf("attachment #%d names no person of batch %s", n+1, b.ID))
		}
		if err != nil {
			return res, err
		}
	}
	if res.certificates > 0 {
		h.notify(ctx, notice.Event{Kind: notice.Certificates, Tenant: t.ID, Office: b.Office, Batch: b.ID, Count: res.certificates})
	}
	done := true
	for _, s := range subs {
		if !s.State.Terminal() {
			done = false
		}
	}
	nb, _, err := h.advance(ctx, b, domain.BatchReplied, domain.Reason{}, fmt.Sprintf("reply from the Procura: %d certificate(s) stored", res.certificates), at, cause)
	if err != nil {
		return res, err
	}
	if done {
		if _, _, err := h.advance(ctx, nb, domain.BatchCompleted, domain.Reason{}, "every person certified or failed", at, cause); err != nil {
			return res, err
		}
	}
	if err := domain.FinishUploads(ctx, h.Store, t.ID, domain.UploadsOf(b.People), cause); err != nil {
		return res, err
	}
	if len(problems) > 0 {
		code := domain.ReasonCertificateProblem
		if unreadable {
			code = domain.ReasonUnreadablePDF
		}
		res.triage = domain.Because(code, strings.Join(problems, "; "))
	}
	h.log().InfoContext(ctx, "reply handled", "tenant", t.ID, "batch", b.ID, "certificates", res.certificates, "problems", len(problems), "completed", done)
	return res, nil
}

// merged handles a PDF naming several people: split per person when its
// pages can be told apart, else kept whole and linked to each person named.
func (h *Handler) merged(ctx context.Context, data []byte, pages []string, named []int, who *reply.Who, certify func(int, []byte, domain.Outcome) error, problem func(string)) error {
	if parts, ok := who.Assign(pages); ok {
		pieces := make([][]byte, len(parts))
		split := true
		for i, p := range parts {
			piece, err := reply.Extract(ctx, data, p.Pages)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				h.log().WarnContext(ctx, "splitting a merged certificate failed: kept whole", "err", err)
				split = false
				break
			}
			pieces[i] = piece
		}
		if split {
			for i, p := range parts {
				if err := certify(p.Person, pieces[i], reply.Outcome(p.Text)); err != nil {
					return err
				}
			}
			return nil
		}
		for _, p := range parts {
			if err := certify(p.Person, data, reply.Outcome(p.Text)); err != nil {
				return err
			}
		}
		return nil
	}
	// Pages cannot be told apart: whole, to each person named; the outcome
	// cannot be attributed.
	problem("a merged certificate whose pages cannot be told apart: linked whole to each person it names, outcome unknown")
	for _, i := range named {
		if err := certify(i, data, domain.OutcomeUnknown); err != nil {
			return err
		}
	}
	return nil
}

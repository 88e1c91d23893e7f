package poll

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/notice"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/reply"
	"github.com/casellario-pec/casellario/shared/s3docs"
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

// pdfFile is one PDF attachment of a reply, read.
type pdfFile struct {
	n     int // 1-based position among the attachments
	name  string
	data  []byte
	pages []string // nil when its text could not be read
	// unsafe: the reader refused it (damaged, hostile, over a limit); it
	// certifies nobody, not even by its name
	unsafe bool
}

// readPDFs decodes the reply's PDF attachments and reads their text (bounded:
// a hostile PDF is a problem recorded, never a crash).
func (h *Handler) readPDFs(ctx context.Context, m *pec.Message, problems *[]string, unreadable *bool) ([]pdfFile, error) {
	var out []pdfFile
	for n, a := range pdfAttachments(m) {
		r, err := a.Open()
		if err != nil {
			*problems = append(*problems, fmt.Sprintf("attachment #%d cannot be decoded", n+1))
			continue
		}
		data, err := io.ReadAll(io.LimitReader(r, maxPDF+1))
		if err != nil || len(data) > maxPDF || !reply.IsPDF(data) {
			*problems = append(*problems, fmt.Sprintf("attachment #%d is not a PDF", n+1))
			continue
		}
		pages, err := reply.PDFPages(ctx, data)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			// Damaged, hostile or scanned: only the file name can tell.
			*unreadable = true
			*problems = append(*problems, fmt.Sprintf("attachment #%d: its text cannot be read safely (%s): kept, attributed to nobody", n+1, oneLine(err.Error(), 120)))
			out = append(out, pdfFile{n: n + 1, name: a.Name, data: data, unsafe: true})
			continue
		}
		out = append(out, pdfFile{n: n + 1, name: a.Name, data: data, pages: pages})
	}
	return out, nil
}

// certificates handles the reply attributed to a batch: a refusal without
// certificates, or certificates stored and linked to the people they name.
func (h *Handler) certificates(ctx context.Context, t *tenants.Tenant, m *pec.Message, ev *evidence, subject, body string, res result, cause domain.Cause) (result, error) {
	b := ev.batch
	at := h.eventAt(m)
	if len(pdfAttachments(m)) == 0 {
		refusals, err := reply.NewRefusals(t.Replies.RefusalPatterns)
		if err != nil {
			return res, err
		}
		words, refused := refusals.Refusal(subject, body)
		switch {
		case !refused:
			res.triage = domain.Because(domain.ReasonUnrecognisedReply, "reply from the Procura without certificates, not recognised as a refusal")
			return res, nil
		case !ev.strong:
			res.triage = domain.Because(domain.ReasonUnsettledRefusal, "a refusal that "+strings.Join(ev.why, ", ")+
				": only a reply that refers to the request or quotes its number with its date can fail it")
			return res, nil
		}
		return h.refused(ctx, t, m, b, words, res, cause)
	}
	var problems []string
	unreadable, second := false, false
	files, err := h.readPDFs(ctx, m, &problems, &unreadable)
	if err != nil {
		return res, err
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
	if !ev.strong {
		// A number without its date: the certificates must confirm it, each
		// naming a person of the request.
		for _, f := range files {
			if f.unsafe || (len(who.InText(strings.Join(f.pages, "\n"))) == 0 && len(who.InName(f.name)) == 0) {
				res.triage = domain.Because(domain.ReasonWeakMatch, fmt.Sprintf("a reply that %s: attachment #%d names nobody of request %s",
					strings.Join(ev.why, ", "), f.n, b.ID))
				return res, nil
			}
		}
		if len(files) == 0 {
			res.triage = domain.Because(domain.ReasonWeakMatch, "a reply that "+strings.Join(ev.why, ", ")+", with no readable certificate to confirm it")
			return res, nil
		}
		ev.why = append(ev.why, "every certificate names a person of the request")
	}
	if err := h.Store.AppendEvent(ctx, domain.Event{Tenant: t.ID, Subject: b.ID, At: at, State: string(b.State),
		Note: domain.NoteReplyAttributed, Detail: "reply from the Procura attributed: " + strings.Join(ev.why, "; "), Cause: cause}); err != nil {
		return res, err
	}
	certify := func(i int, data []byte, outcome domain.Outcome) error {
		s := &subs[i]
		sum := sha256.Sum256(data)
		sha := hex.EncodeToString(sum[:])
		if s.State == domain.PersonCertified && s.Certificate != nil {
			if s.Certificate.SHA256 == sha || slices.ContainsFunc(s.Candidates, func(c domain.Certificate) bool { return c.SHA256 == sha }) {
				return nil // the same certificate again: nothing to do
			}
			// Another certificate for a certified person: kept beside the
			// first, and the protocol office decides which stands.
			k := s3docs.CandidateKey(t.ID, b.ID, s.ID, sha)
			if _, err := h.Docs.Put(ctx, h.Docs.Document(k), "application/pdf", bytes.NewReader(data)); err != nil {
				return err
			}
			ns, err := h.Store.AddCandidate(ctx, t.ID, s.ID, domain.Certificate{Outcome: outcome, Key: k, SHA256: sha, ReceivedAt: at.UTC()}, cause)
			if err != nil {
				return err
			}
			res.candidates = append(res.candidates, domain.CandidateFact{Subject: s.ID, Standing: s.Certificate.SHA256, Candidate: sha})
			*s = ns
			second = true
			problems = append(problems, fmt.Sprintf("subject %s is certified already: a different certificate (SHA-256 %.12s) is kept as a candidate", s.ID, sha))
			return nil
		}
		if s.State != domain.PersonBatched || s.Batch != b.ID {
			problems = append(problems, fmt.Sprintf("a certificate for subject %s, who is %s", s.ID, s.State))
			return nil
		}
		k := s3docs.CertificateKey(t.ID, b.ID, s.ID)
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
	for _, f := range files {
		if f.unsafe {
			continue // in problems already
		}
		text := strings.Join(f.pages, "\n")
		inText, inName := who.InText(text), who.InName(f.name)
		switch {
		case len(inText) == 1 && (len(inName) == 0 || (len(inName) == 1 && inName[0] == inText[0])):
			err = certify(inText[0], f.data, reply.Outcome(text))
		case len(inText) == 0 && len(inName) == 1:
			err = certify(inName[0], f.data, reply.Outcome(text))
		case len(inText) == 1:
			problems = append(problems, fmt.Sprintf("attachment #%d: its name and its text name different people", f.n))
		case len(inText) > 1:
			err = h.merged(ctx, f.data, f.pages, inText, who, certify, func(p string) { problems = append(problems, fmt.Sprintf("attachment #%d: %s", f.n, p)) })
		default:
			problems = append(problems, fmt.Sprintf("attachment #%d names no person of batch %s", f.n, b.ID))
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
		switch {
		case second:
			code = domain.ReasonSecondCertificate
		case unreadable:
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

package poll

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/casellario-pec/casellario/shared/docs"
	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/reply"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// result is what handling one message did; triage, when set, is why it needs a person.
type result struct {
	triage                          string
	batch                           string
	receipts, replies, certificates int
}

func (h *Handler) parse(raw []byte) (*pec.Message, error) {
	return pec.Parse(raw, pec.ReadOptions{TrustStore: h.Trust, Now: h.Now})
}

// process handles a parsed message; forced is the batch a person assigned it
// to (Reprocess), which also stands for the person's confirmation of a
// signature that did not verify.
func (h *Handler) process(ctx context.Context, t *tenants.Tenant, key string, m *pec.Message, perr error, forced *domain.Batch, cause domain.Cause) (result, error) {
	switch {
	case perr != nil:
		return result{triage: "unreadable message: " + perr.Error()}, nil
	case m.Kind == pec.KindNonPEC:
		return result{triage: "not a PEC message (ordinary mail or a delivery status notification)"}, nil
	case m.Kind == pec.KindAnomalia:
		return result{triage: "anomaly envelope: an ordinary message reached the PEC mailbox"}, nil
	case m.Kind.IsReceipt():
		return h.receipt(ctx, t, m, forced, cause)
	case m.Kind == pec.KindPostaCertificata:
		return h.reply(ctx, t, m, forced, cause)
	}
	return result{triage: fmt.Sprintf("unknown message kind %q", m.Kind)}, nil
}

func (h *Handler) eventAt(m *pec.Message) time.Time {
	if !m.Time.IsZero() {
		return m.Time
	}
	return h.now()
}

// advance moves b to `to` when it may go there; otherwise (a receipt read
// late, out of order) it files an event and changes nothing.
func (h *Handler) advance(ctx context.Context, b domain.Batch, to domain.BatchState, reason, detail string, at time.Time, cause domain.Cause) (domain.Batch, bool, error) {
	for attempt := 0; ; attempt++ {
		if b.State == to {
			return b, false, nil
		}
		if !b.State.CanAdvance(to) {
			err := h.Store.AppendEvent(ctx, domain.Event{Tenant: b.Tenant, Subject: b.ID, At: at, State: string(b.State),
				Detail: fmt.Sprintf("%s read while %s: no change", detail, b.State), Cause: cause})
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

func (h *Handler) receipt(ctx context.Context, t *tenants.Tenant, m *pec.Message, forced *domain.Batch, cause domain.Cause) (result, error) {
	res := result{receipts: 1}
	if forced == nil && m.Signature.Status != pec.SignatureValid {
		res.triage = fmt.Sprintf("%s receipt with a signature that is %s (%s): kept, no state change until confirmed", m.Kind, m.Signature.Status, m.Signature.Reason)
		return res, nil
	}
	var b domain.Batch
	if forced != nil {
		b = *forced
	} else {
		if m.RefMessageID == "" {
			res.triage = fmt.Sprintf("%s receipt without the original Message-ID", m.Kind)
			return res, nil
		}
		var err error
		b, err = h.Store.BatchByMessageID(ctx, t.ID, m.RefMessageID)
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			res.triage = fmt.Sprintf("%s receipt for a Message-ID we did not send (%s)", m.Kind, m.RefMessageID)
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
		_, _, err := h.advance(ctx, b, domain.BatchAccepted, "", "acceptance receipt (accettazione)", at, cause)
		return res, err
	case pec.KindAvvenutaConsegna:
		nb, moved, err := h.advance(ctx, b, domain.BatchDelivered, "", "delivery receipt (avvenuta-consegna) from "+m.DeliveredTo, at, cause)
		if err == nil && moved {
			h.notify(ctx, Notice{Kind: NoticeDelivered, Tenant: t.ID, Office: nb.Office, Batch: nb.ID})
		}
		return res, err
	case pec.KindPresaInCarico:
		return res, h.Store.AppendEvent(ctx, domain.Event{Tenant: t.ID, Subject: b.ID, At: at, State: string(b.State),
			Detail: "taken in charge by the recipient's provider (presa-in-carico)", Cause: cause})
	case pec.KindPreavvisoErroreConsegna:
		log.Warn("delivery warning (preavviso di mancata consegna)")
		err := h.Store.AppendEvent(ctx, domain.Event{Tenant: t.ID, Subject: b.ID, At: at, State: string(b.State),
			Detail: "warning: no delivery receipt within 12 hours (preavviso-errore-consegna)", Cause: cause})
		if err == nil {
			h.notify(ctx, Notice{Kind: NoticeWarning, Tenant: t.ID, Office: b.Office, Batch: b.ID, Detail: "no delivery receipt within 12 hours"})
		}
		return res, err
	case pec.KindNonAccettazione, pec.KindErroreConsegna, pec.KindRilevazioneVirus:
		reason := string(m.Kind)
		if m.Error != "" {
			reason += " (errore " + m.Error + ")"
		}
		if d := strings.TrimSpace(m.ErrorDetail); d != "" {
			reason += ": " + oneLine(d, 300)
		}
		nb, moved, err := h.advance(ctx, b, domain.BatchFailed, reason, "", at, cause)
		if err != nil || !moved {
			return res, err
		}
		log.Warn("batch failed: the request did not reach the Procura")
		// The request never reached the Procura: its people are offered again.
		if err := h.releaseSubjects(ctx, nb, cause); err != nil {
			return res, err
		}
		h.notify(ctx, Notice{Kind: NoticeFailed, Tenant: t.ID, Office: nb.Office, Batch: nb.ID, Detail: reason})
		return res, nil
	}
	res.triage = fmt.Sprintf("receipt of unexpected kind %s", m.Kind)
	return res, nil
}

// releaseSubjects moves the batched people of a batch that failed in
// transport back to pending.
func (h *Handler) releaseSubjects(ctx context.Context, b domain.Batch, cause domain.Cause) error {
	subs, err := h.Store.SubjectsOfBatch(ctx, b.Tenant, b.ID)
	if err != nil {
		return err
	}
	for _, s := range subs {
		if s.State != domain.PersonBatched || s.Batch != b.ID {
			continue
		}
		if _, err := h.Store.AdvanceSubject(ctx, domain.SubjectChange{Tenant: b.Tenant, ID: s.ID, To: domain.PersonPending, Batch: b.ID, Cause: cause}); err != nil &&
			domain.ErrorCode(err) != domain.ECONFLICT {
			return err
		}
	}
	return nil
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "")
	}
	return s
}

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

// maxPDF bounds one certificate file.
const maxPDF = 32 << 20

func (h *Handler) reply(ctx context.Context, t *tenants.Tenant, m *pec.Message, forced *domain.Batch, cause domain.Cause) (result, error) {
	res := result{replies: 1}
	if forced == nil && m.Signature.Status != pec.SignatureValid {
		res.triage = fmt.Sprintf("posta-certificata with a signature that is %s (%s)", m.Signature.Status, m.Signature.Reason)
		return res, nil
	}
	if m.Original == nil {
		res.triage = "posta-certificata without the original message"
		return res, nil
	}
	from := m.Original.From
	if forced == nil && !strings.EqualFold(from, t.Procura) && !strings.EqualFold(m.Sender, t.Procura) {
		res.triage = "posta-certificata from a sender other than the Procura"
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
			res.triage = "reply from the Procura quoting no protocol number and no Message-ID of ours"
			return res, nil
		case len(cands) == 0:
			res.triage = "reply from the Procura quoting protocol number(s) " + strings.Join(quoted, ", ") + " that match no batch"
			return res, nil
		case len(cands) > 1:
			var ids []string
			for id := range cands {
				ids = append(ids, id)
			}
			res.triage = "reply from the Procura matching several batches: " + strings.Join(ids, ", ")
			return res, nil
		}
		for _, x := range cands {
			b = x
		}
	}
	res.batch = b.ID
	at := h.eventAt(m)
	log := h.log().With("tenant", t.ID, "batch", b.ID)
	var pdfs []pec.Attachment
	for _, a := range m.Attachments() {
		name := strings.ToLower(a.Name)
		if a.ContentType == "application/pdf" || (strings.HasSuffix(name, ".pdf") && !strings.HasSuffix(name, ".p7m")) {
			pdfs = append(pdfs, a)
		}
	}
	if len(pdfs) == 0 {
		words, refused := reply.Refusal(subject, body)
		if !refused {
			res.triage = "reply from the Procura without certificates, not recognised as a refusal"
			return res, nil
		}
		reason := "refused by the Procura: " + words
		nb, moved, err := h.advance(ctx, b, domain.BatchFailed, reason, "", at, cause)
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
		if moved {
			log.Warn("batch refused by the Procura")
			h.notify(ctx, Notice{Kind: NoticeFailed, Tenant: t.ID, Office: nb.Office, Batch: nb.ID, Detail: reason})
		}
		return res, nil
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
		pages, err := reply.PDFPages(data)
		if err != nil {
			pages = nil // scanned or damaged: only the file name can tell
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
			err = h.merged(data, pages, inText, who, certify, func(p string) { problems = append(problems, fmt.Sprintf("attachment #%d: %s", n+1, p)) })
		default:
			problems = append(problems, fmt.Sprintf("attachment #%d names no person of batch %s", n+1, b.ID))
		}
		if err != nil {
			return res, err
		}
	}
	if res.certificates > 0 {
		h.notify(ctx, Notice{Kind: NoticeCertificates, Tenant: t.ID, Office: b.Office, Batch: b.ID, Count: res.certificates})
	}
	done := true
	for _, s := range subs {
		if !s.State.Terminal() {
			done = false
		}
	}
	nb, _, err := h.advance(ctx, b, domain.BatchReplied, "", fmt.Sprintf("reply from the Procura: %d certificate(s) stored", res.certificates), at, cause)
	if err != nil {
		return res, err
	}
	if done {
		if _, _, err := h.advance(ctx, nb, domain.BatchCompleted, "", "every person certified or failed", at, cause); err != nil {
			return res, err
		}
	}
	if len(problems) > 0 {
		res.triage = strings.Join(problems, "; ")
	}
	log.Info("reply handled", "certificates", res.certificates, "problems", len(problems), "completed", done)
	return res, nil
}

// merged handles a PDF naming several people: split per person when its
// pages can be told apart, else kept whole and linked to each person named.
func (h *Handler) merged(data []byte, pages []string, named []int, who *reply.Who, certify func(int, []byte, domain.Outcome) error, problem func(string)) error {
	if parts, ok := who.Assign(pages); ok {
		pieces := make([][]byte, len(parts))
		split := true
		for i, p := range parts {
			piece, err := reply.Extract(data, p.Pages)
			if err != nil {
				h.log().Warn("splitting a merged certificate failed: kept whole", "err", err)
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

// checkOverdue alerts once about each delivered batch without a reply after
// OverdueAfter, and files an event so that the alert is not repeated. It returns
// the batches alerted now and all those overdue (alerted before or not), the
// figure of the OverdueBatches metric.
func (h *Handler) checkOverdue(ctx context.Context, t *tenants.Tenant, cause domain.Cause) (n, overdue int, err error) {
	bs, err := h.Store.ListBatches(ctx, t.ID, "", []domain.BatchState{domain.BatchDelivered}, 0)
	if err != nil {
		return 0, 0, err
	}
	after := h.overdueAfter()
	now := h.now()
	for _, b := range bs {
		if now.Sub(b.UpdatedAt) < after {
			continue
		}
		overdue++
		evs, err := h.Store.Events(ctx, t.ID, b.ID)
		if err != nil {
			return n, overdue, err
		}
		told := false
		for _, e := range evs {
			if strings.HasPrefix(e.Detail, "overdue:") {
				told = true
			}
		}
		if told {
			continue
		}
		days := int(after.Hours() / 24)
		detail := fmt.Sprintf("overdue: no reply from the Procura %d days after delivery", days)
		if h.Notify != nil {
			if err := h.Notify.Notify(ctx, Notice{Kind: NoticeOverdue, Tenant: t.ID, Office: b.Office, Batch: b.ID, Days: days, Detail: detail}); err != nil {
				h.log().Warn("overdue notice not delivered: retried next run", "tenant", t.ID, "batch", b.ID, "err", err)
				continue
			}
		}
		if err := h.Store.AppendEvent(ctx, domain.Event{Tenant: t.ID, Subject: b.ID, At: b.UpdatedAt.Add(after), State: string(b.State),
			Detail: detail, Cause: cause}); err != nil {
			return n, overdue, err
		}
		h.log().Warn("batch overdue", "tenant", t.ID, "batch", b.ID)
		n++
	}
	return n, overdue, nil
}

// emitOverdue writes the OverdueBatches metric of one tenant in CloudWatch
// Embedded Metric Format (one JSON line; Lambda ships stdout to CloudWatch Logs,
// which extracts the metric): the empty dimension set feeds the alarm, Tenant
// the per-Comune graph.
func (h *Handler) emitOverdue(tenant string, overdue int) {
	if h.Metrics == nil {
		return
	}
	line := map[string]any{
		"_aws": map[string]any{
			"Timestamp": h.now().UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  MetricNamespace,
				"Dimensions": [][]string{{}, {"Tenant"}},
				"Metrics":    []any{map[string]string{"Name": MetricOverdueBatches, "Unit": "Count"}},
			}},
		},
		"Tenant":             tenant,
		MetricOverdueBatches: overdue,
	}
	b, err := json.Marshal(line)
	if err == nil {
		_, err = fmt.Fprintf(h.Metrics, "%s\n", b)
	}
	if err != nil {
		h.log().Warn("overdue metric not written", "tenant", tenant, "err", err)
	}
}

// ReprocessResult is what Reprocess did.
type ReprocessResult struct {
	Item         domain.TriageItem
	Certificates int
	// Remaining says what still could not be handled ("" when all was).
	Remaining string
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
	res, err := h.process(ctx, t, it.MessageKey, m, nil, &b, cause)
	if err != nil {
		return out, err
	}
	out.Certificates, out.Remaining = res.certificates, res.triage
	note := "re-processed against batch " + batch
	if res.triage != "" {
		note += "; still: " + res.triage
	}
	out.Item, err = h.Triage.AssignTriage(ctx, tenant, triageID, batch, note, cause)
	return out, err
}

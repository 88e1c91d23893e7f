package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// Triage (protocol office only). Every decision is recorded in the audit
// trail with who made it; reading a message's text is recorded too.

func (h *Handler) listTriage(w http.ResponseWriter, r *http.Request, u User) {
	state := domain.TriageState(r.URL.Query().Get("state"))
	switch {
	case state == "":
		state = domain.TriageOpen
	case state == "all":
		state = ""
	case !state.Valid():
		writeError(w, http.StatusBadRequest, "invalid", "Stato non valido: open, assigned, dismissed o all.")
		return
	}
	items, err := h.cfg.Triage.ListTriage(r.Context(), u.Tenant, state, 200)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	views := make([]triageView, 0, len(items))
	for _, it := range items {
		views = append(views, viewTriage(it))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": views})
}

func (h *Handler) getTriage(w http.ResponseWriter, r *http.Request, u User) {
	it, err := h.cfg.Triage.GetTriage(r.Context(), u.Tenant, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewTriage(it))
}

// maxText bounds the text of a message shown in triage.
const maxText = 64 << 10

// getTriageMessage shows the text of the message and its attachments. The
// message may concern people: reading it is recorded.
func (h *Handler) getTriageMessage(w http.ResponseWriter, r *http.Request, u User) {
	ctx := r.Context()
	it, err := h.cfg.Triage.GetTriage(ctx, u.Tenant, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.cfg.Store.AppendEvent(ctx, domain.Event{Tenant: u.Tenant, Subject: it.ID, At: h.now().UTC(), State: string(it.State),
		Note: domain.NoteMessageRead, Detail: "message of triage item " + it.ID + " read", Cause: domain.CauseUser(u.Name)}); err != nil {
		h.fail(w, r, err)
		return
	}
	raw, _, err := h.cfg.Docs.GetBytes(ctx, h.cfg.Docs.Document(it.MessageKey))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := map[string]any{"text": "", "attachments": []domain.AttachedFile{}, "truncated": false}
	m, err := pec.Parse(raw, pec.ReadOptions{})
	if err != nil {
		out["text"] = "" // unreadable: the facts are all there is
		writeJSON(w, http.StatusOK, out)
		return
	}
	part := m.Original
	if part != nil {
		text, _ := part.Text()
		if len(text) > maxText {
			text, out["truncated"] = strings.ToValidUTF8(text[:maxText], ""), true
		}
		out["text"] = text
		out["subject"] = part.Subject
	}
	files := []domain.AttachedFile{}
	for _, a := range m.Attachments() {
		files = append(files, domain.AttachedFile{Name: a.Name, ContentType: a.ContentType, Size: a.Size})
	}
	out["attachments"] = files
	writeJSON(w, http.StatusOK, out)
}

// requestView is an open request as the protocol office picks one.
type requestView struct {
	ID         string            `json:"id"`
	Reference  string            `json:"reference"` // protocol number as quoted ("CPEC-0000012")
	Date       domain.Date       `json:"date"`
	Office     string            `json:"office"`
	OfficeName string            `json:"office_name"`
	People     int               `json:"people"`
	State      domain.BatchState `json:"state"`
	Quoted     bool              `json:"quoted"` // the message quotes it or refers to its Message-ID
}

// triageRequests lists the requests a triage item's message may belong to:
// those sent and not completed, the ones it quotes first.
func (h *Handler) triageRequests(w http.ResponseWriter, r *http.Request, u User) {
	ctx := r.Context()
	it, err := h.cfg.Triage.GetTriage(ctx, u.Tenant, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	bs, err := h.cfg.Store.ListBatches(ctx, u.Tenant, "", []domain.BatchState{domain.BatchSent, domain.BatchAccepted, domain.BatchDelivered,
		domain.BatchReplied, domain.BatchCompleted}, 500)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	t, _ := h.cfg.Tenants.Tenant(u.Tenant)
	var quoted, rest []requestView
	for _, b := range bs {
		v := requestView{ID: b.ID, Reference: b.Protocol.Reference(), Date: b.Protocol.Date, Office: b.Office, People: len(b.People), State: b.State}
		if t != nil {
			if o, err := t.Office(b.Office); err == nil {
				v.OfficeName = o.Name
			}
		}
		v.Quoted = it.Facts.RefersTo != "" && strings.EqualFold(it.Facts.RefersTo, b.MessageID)
		for _, q := range it.Facts.References {
			v.Quoted = v.Quoted || (strings.EqualFold(q.Reference, v.Reference) && (q.Date.IsZero() || q.Date == b.Protocol.Date))
		}
		if v.Quoted {
			quoted = append(quoted, v)
		} else {
			rest = append(rest, v)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"requests": append(append([]requestView{}, quoted...), rest...)})
}

// registerOf is where a tenant's request numbers come from.
func registerOf(t *tenants.Tenant) domain.Register {
	r := domain.Register{Tenant: t.ID, AOO: t.AOO}
	if t.Protocol.Kind == tenants.ProtocolBuiltin {
		r.Builtin = t.Protocol.Registry
	}
	return r
}

func (h *Handler) assignTriage(w http.ResponseWriter, r *http.Request, u User) {
	var in struct {
		Batch    string          `json:"batch"`
		Protocol string          `json:"protocol"` // or the request's protocol number...
		Date     domain.Date     `json:"date"`     // ...and date
		Note     string          `json:"note"`
		Override domain.Override `json:"override"`
	}
	if !readBody(w, r, &in) {
		return
	}
	if h.cfg.Assign == nil {
		h.fail(w, r, domain.Errorf(domain.EINTERNAL, "api: no triage assigner configured"))
		return
	}
	ctx := r.Context()
	id := r.PathValue("id")
	if _, err := h.cfg.Triage.GetTriage(ctx, u.Tenant, id); err != nil {
		h.fail(w, r, err)
		return
	}
	t, err := h.cfg.Tenants.Tenant(u.Tenant)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	in.Batch = strings.TrimSpace(in.Batch)
	switch {
	case in.Batch != "":
		if _, err := h.cfg.Store.GetBatch(ctx, u.Tenant, in.Batch); err != nil {
			if domain.ErrorCode(err) == domain.ENOTFOUND {
				writeError(w, http.StatusBadRequest, "invalid", "Nessuna richiesta con questo identificativo.")
				return
			}
			h.fail(w, r, err)
			return
		}
	case strings.TrimSpace(in.Protocol) != "":
		b, err := domain.RequestByReference(ctx, h.cfg.Store, registerOf(t), in.Protocol, in.Date)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		in.Batch = b.ID
	default:
		writeError(w, http.StatusBadRequest, "invalid", "Indicare la richiesta: il suo numero di protocollo con la data, o sceglierla dall'elenco.")
		return
	}
	who := domain.CauseUser(u.Name)
	// Handle the message first: an item whose message cannot be handled stays open.
	res, err := h.cfg.Assign.Assign(ctx, u.Tenant, id, in.Batch, in.Override, who)
	var cf *domain.ChecksFailed
	switch {
	case errors.As(err, &cf):
		checks := make([]map[string]string, 0, len(cf.Checks))
		var texts []string
		for _, c := range cf.Checks {
			checks = append(checks, map[string]string{"code": string(c), "text": c.Italian()})
			texts = append(texts, c.Italian())
		}
		writeJSON(w, http.StatusConflict, map[string]any{"error": map[string]any{"code": "override_required",
			"message": "Il messaggio non supera questi controlli: " + strings.Join(texts, "; ") +
				". Per attribuirlo comunque confermare e indicare il motivo: la decisione resta nel registro.", "checks": checks}})
		return
	case domain.ErrorCode(err) == domain.EINVALID:
		h.log.InfoContext(ctx, "triage item not assignable", "tenant", u.Tenant, "item", id, "err", err)
		writeError(w, http.StatusBadRequest, "invalid", "Il messaggio non può essere attribuito a una richiesta: non è una ricevuta né una risposta PEC leggibile. Archiviarlo con un motivo.")
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	if note := strings.TrimSpace(in.Note); note != "" {
		// Assign marked the item assigned; this adds the protocol office's note to it.
		if res.Item, err = h.cfg.Triage.AssignTriage(ctx, u.Tenant, id, in.Batch, note, who); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	overridden := []string{}
	for _, c := range res.Overridden {
		overridden = append(overridden, c.Italian())
	}
	writeJSON(w, http.StatusOK, map[string]any{"item": viewTriage(res.Item), "certificates": res.Certificates,
		"remaining": res.Remaining.Italian(), "overridden": overridden})
}

func (h *Handler) dismissTriage(w http.ResponseWriter, r *http.Request, u User) {
	var in struct {
		Reason  string `json:"reason"`
		Confirm bool   `json:"confirm"`
	}
	if !readBody(w, r, &in) {
		return
	}
	if strings.TrimSpace(in.Reason) == "" || !in.Confirm {
		writeError(w, http.StatusBadRequest, "invalid", "Per archiviare il messaggio indicare il motivo e confermare.")
		return
	}
	it, err := h.cfg.Triage.DismissTriage(r.Context(), u.Tenant, r.PathValue("id"), strings.TrimSpace(in.Reason), domain.CauseUser(u.Name))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewTriage(it))
}

// chooseCertificate settles a second certificate: the protocol office says
// which of the two stands, with a reason; the other is kept.
func (h *Handler) chooseCertificate(w http.ResponseWriter, r *http.Request, u User) {
	var in struct {
		Subject string `json:"subject"`
		SHA256  string `json:"sha256"`
		Reason  string `json:"reason"`
	}
	if !readBody(w, r, &in) {
		return
	}
	ctx := r.Context()
	it, err := h.cfg.Triage.GetTriage(ctx, u.Tenant, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	known := false
	for _, c := range it.Facts.Candidates {
		known = known || (c.Subject == in.Subject && (c.Standing == in.SHA256 || c.Candidate == in.SHA256))
	}
	if !known || strings.TrimSpace(in.Reason) == "" {
		writeError(w, http.StatusBadRequest, "invalid", "Indicare quale dei certificati di questo messaggio vale, e il motivo.")
		return
	}
	who := domain.CauseUser(u.Name)
	s, err := h.cfg.Store.ChooseCertificate(ctx, u.Tenant, in.Subject, in.SHA256, strings.TrimSpace(in.Reason), who)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	left := 0
	for _, c := range it.Facts.Candidates {
		if c.Subject != in.Subject {
			left++
		}
	}
	if left == 0 && it.State == domain.TriageOpen {
		if it, err = h.cfg.Triage.AssignTriage(ctx, u.Tenant, it.ID, s.Batch, "certificate chosen: "+strings.TrimSpace(in.Reason), who); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"item": viewTriage(it), "standing": s.Certificate.SHA256,
		"received_at": s.Certificate.ReceivedAt.Format(time.RFC3339)})
}

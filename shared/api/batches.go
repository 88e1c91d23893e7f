package api

import (
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/trace"
)

// Step is one step of a batch's timeline, as the web page shows it.
type Step struct {
	State string     `json:"state"` // uploaded, protocolled, sent, accepted, delivered, replied, completed, failed
	Label string     `json:"label"` // Italian
	At    *time.Time `json:"at"`    // when reached; null while not
}

var steps = []struct{ state, label string }{
	{"uploaded", "caricata"},
	{string(domain.BatchProtocolled), "protocollata"},
	{string(domain.BatchSent), "inviata"},
	{string(domain.BatchAccepted), "accettata"},
	{string(domain.BatchDelivered), "consegnata"},
	{string(domain.BatchReplied), "risposta ricevuta"},
	{string(domain.BatchCompleted), "completata"},
}

// timeline lists the steps with the time each was first reached; a failed
// batch ends with an "errore" step instead of "completata".
func timeline(b domain.Batch, uploaded time.Time, evs []domain.Event) []Step {
	first := map[string]time.Time{}
	for _, e := range evs {
		if e.About != "" {
			continue
		}
		if t, ok := first[e.State]; !ok || e.At.Before(t) {
			first[e.State] = e.At
		}
	}
	if !uploaded.IsZero() {
		first["uploaded"] = uploaded
	} else if t, ok := first[string(domain.BatchQueued)]; ok {
		first["uploaded"] = t
	}
	out := make([]Step, 0, len(steps))
	for _, s := range steps {
		if s.state == string(domain.BatchCompleted) && b.State == domain.BatchFailed {
			at := first[string(domain.BatchFailed)]
			out = append(out, Step{State: string(domain.BatchFailed), Label: "errore", At: timePtr(at, b.UpdatedAt)})
			break
		}
		st := Step{State: s.state, Label: s.label}
		if t, ok := first[s.state]; ok {
			st.At = &t
		}
		out = append(out, st)
	}
	return out
}

func timePtr(t, fallback time.Time) *time.Time {
	if t.IsZero() {
		t = fallback
	}
	return &t
}

func (h *Handler) listBatches(w http.ResponseWriter, r *http.Request, u User) {
	cursor, limit, ok := pageOf(w, r)
	if !ok {
		return
	}
	office := r.URL.Query().Get("office")
	if !u.Protocol() || office != "" {
		offices, err := h.offices(r, u)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		office = offices[0]
	} // else: the protocol office, the whole Comune in one listing
	var batches []domain.Batch
	var err error
	if cursor == "" {
		batches, err = h.cfg.Store.ListBatches(r.Context(), u.Tenant, office, nil, limit+1)
	} else {
		batches, err = h.cfg.Store.BatchesBefore(r.Context(), u.Tenant, office, cursor, limit+1)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	next := ""
	if len(batches) > limit {
		batches, next = batches[:limit], batches[limit-1].Cursor()
	}
	out := make([]batchView, 0, len(batches))
	for _, b := range batches {
		out = append(out, h.viewBatch(b))
	}
	writeJSON(w, http.StatusOK, map[string]any{"batches": out, "next": next})
}

func (h *Handler) getBatch(w http.ResponseWriter, r *http.Request, u User) {
	id := r.PathValue("id")
	if !domain.ValidID(id) {
		writeError(w, http.StatusNotFound, "not_found", msgNotFound)
		return
	}
	tr, err := trace.OfBatch(r.Context(), h.cfg.Store, u.Tenant, id)
	if err == nil && !visible(u, tr.Batch.Office) {
		err = domain.Errorf(domain.ENOTFOUND, "no such batch")
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// "caricata": when the earliest list of its people was uploaded.
	var uploaded time.Time
	lists := make([]listView, 0, len(tr.Lists))
	for _, l := range tr.Lists {
		if uploaded.IsZero() || l.CreatedAt.Before(uploaded) {
			uploaded = l.CreatedAt
		}
		lists = append(lists, listView{l.ID, l.FileName, l.CreatedAt})
	}
	evs := make([]domain.Event, 0, len(tr.Events))
	for _, e := range tr.Events {
		evs = append(evs, e.Event)
	}
	writeJSON(w, http.StatusOK, map[string]any{"batch": h.viewBatch(tr.Batch), "lists": lists, "timeline": timeline(tr.Batch, uploaded, evs),
		"people": viewPeople(tr.People), "events": viewEvents(tr.Events)})
}

// getCertificate answers a short-lived URL of a person's certificate and
// files one audit event per download under the person's upload.
func (h *Handler) getCertificate(w http.ResponseWriter, r *http.Request, u User) {
	id := r.PathValue("subject")
	upload, _, err := domain.ParseSubjectID(id)
	if err != nil {
		writeError(w, http.StatusNotFound, "not_found", msgNotFound)
		return
	}
	ctx := r.Context()
	s, err := h.cfg.Store.GetSubject(ctx, u.Tenant, id)
	if err == nil && !visible(u, s.Office) {
		err = domain.Errorf(domain.ENOTFOUND, "no such subject")
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if s.Certificate == nil || s.Certificate.Key == "" {
		writeError(w, http.StatusNotFound, "not_found", "Il certificato non è ancora arrivato.")
		return
	}
	ttl := h.cfg.PresignTTL
	if ttl <= 0 {
		ttl = 5 * time.Minute
	}
	// The audit entry first: no URL leaves without its trace.
	now := h.now().UTC()
	if err := h.cfg.Store.AppendEvent(ctx, domain.Event{Tenant: u.Tenant, Subject: upload, About: id, At: now,
		State: string(s.State), Note: domain.NoteDownloaded, Detail: "certificate of subject " + id + " downloaded", Cause: domain.CauseUser(u.Name)}); err != nil {
		h.fail(w, r, err)
		return
	}
	url, err := h.cfg.Docs.PresignGet(ctx, h.cfg.Docs.Document(s.Certificate.Key), ttl)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.InfoContext(ctx, "certificate downloaded", "tenant", u.Tenant, "office", s.Office, "subject", id)
	writeJSON(w, http.StatusOK, map[string]any{"url": url, "expires_at": now.Add(ttl), "outcome": s.Certificate.Outcome,
		"sha256": s.Certificate.SHA256})
}

// readBody decodes a small JSON body into v.
func readBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "invalid", "Richiesta non valida: atteso un oggetto JSON.")
		return false
	}
	return true
}

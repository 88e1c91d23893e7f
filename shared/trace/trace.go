// Package trace follows a list to the requests its people went in and to
// their certificates, and a request back to its lists: what the page, the
// CLI and the e-mails show, with the words a clerk reads (states, outcomes
// and events in Italian). It only reads the store.
package trace

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/casellario-pec/casellario/shared/domain"
)

// Reader is what trace reads of the store.
type Reader interface {
	GetUpload(ctx context.Context, tenant, id string) (domain.Upload, error)
	SubjectsOfUpload(ctx context.Context, tenant, upload string) ([]domain.Subject, error)
	GetBatch(ctx context.Context, tenant, id string) (domain.Batch, error)
	SubjectsOfBatch(ctx context.Context, tenant, batch string) ([]domain.Subject, error)
	Events(ctx context.Context, tenant, subject string) ([]domain.Event, error)
}

// Event is a stored event and its text for a clerk.
type Event struct {
	domain.Event
	Text string // Italian
}

// Request is a request some people of a list went in.
type Request struct {
	Batch  domain.Batch
	People int // of the list in question
}

// List is an upload with its people, the requests they went in (oldest
// first) and its events told in Italian.
type List struct {
	Upload   domain.Upload
	People   []domain.Subject
	Requests []Request
	Events   []Event
}

// OfUpload reads the trace of an upload.
func OfUpload(ctx context.Context, r Reader, tenant, id string) (List, error) {
	up, err := r.GetUpload(ctx, tenant, id)
	if err != nil {
		return List{}, err
	}
	people, err := r.SubjectsOfUpload(ctx, tenant, id)
	if err != nil {
		return List{}, err
	}
	evs, err := r.Events(ctx, tenant, id)
	if err != nil {
		return List{}, err
	}
	l := List{Upload: up, People: people}
	count := map[string]int{}
	for _, s := range people {
		if s.Batch != "" {
			count[s.Batch]++
		}
	}
	batches := map[string]domain.Batch{}
	for id, n := range count {
		b, err := r.GetBatch(ctx, tenant, id)
		if err != nil {
			return List{}, fmt.Errorf("request %s of upload %s: %w", id, up.ID, err)
		}
		batches[id] = b
		l.Requests = append(l.Requests, Request{Batch: b, People: n})
	}
	sort.Slice(l.Requests, func(i, j int) bool {
		a, b := l.Requests[i].Batch, l.Requests[j].Batch
		return a.CreatedAt.Before(b.CreatedAt) || a.CreatedAt.Equal(b.CreatedAt) && a.ID < b.ID
	})
	byID := map[string]domain.Subject{}
	for _, s := range people {
		byID[s.ID] = s
	}
	for _, e := range evs {
		l.Events = append(l.Events, Event{Event: e, Text: listEventText(e, up, byID, batches)})
	}
	return l, nil
}

// Sent is a request with its lists, people and events told in Italian.
type Sent struct {
	Batch  domain.Batch
	Lists  []domain.Upload // the lists its people came from, oldest first
	People []domain.Subject
	Events []Event
}

// OfBatch reads the trace of a request.
func OfBatch(ctx context.Context, r Reader, tenant, id string) (Sent, error) {
	b, err := r.GetBatch(ctx, tenant, id)
	if err != nil {
		return Sent{}, err
	}
	people, err := r.SubjectsOfBatch(ctx, tenant, id)
	if err != nil {
		return Sent{}, err
	}
	evs, err := r.Events(ctx, tenant, id)
	if err != nil {
		return Sent{}, err
	}
	s := Sent{Batch: b, People: people}
	var ids []string
	for _, p := range people {
		if !slices.Contains(ids, p.Upload) {
			ids = append(ids, p.Upload)
		}
	}
	for _, uid := range ids {
		up, err := r.GetUpload(ctx, tenant, uid)
		if err != nil {
			return Sent{}, fmt.Errorf("list %s of request %s: %w", uid, b.ID, err)
		}
		s.Lists = append(s.Lists, up)
	}
	sort.Slice(s.Lists, func(i, j int) bool { return s.Lists[i].CreatedAt.Before(s.Lists[j].CreatedAt) })
	for _, e := range evs {
		s.Events = append(s.Events, Event{Event: e, Text: requestEventText(e, b)})
	}
	return s, nil
}

// ProtocolText names a request by its protocol number as the letter, the
// PEC and the e-mails quote it, with the built-in register's code:
// «prot. n. CPEC-0000012 del 02/12/2026» ("" before registration).
func ProtocolText(p domain.Protocol) string {
	if p.Number == "" {
		return ""
	}
	s := "prot. n. " + p.Reference()
	if !p.Date.IsZero() {
		s += " del " + p.Date.Italian()
	}
	return s
}

func listEventText(e domain.Event, up domain.Upload, people map[string]domain.Subject, batches map[string]domain.Batch) string {
	if e.About == "" {
		if e.Note != "" {
			return e.Note.Italian()
		}
		switch domain.UploadState(e.State) {
		case domain.UploadReceived:
			return "Elenco ricevuto"
		case domain.UploadQueued:
			return "Elenco controllato: " + Count(up.Counts.Valid, "persona accettata", "persone accettate") + ", " +
				Count(up.Counts.Invalid, "riga scartata", "righe scartate") + "; in attesa di invio alla Procura"
		case domain.UploadRejected:
			return "Elenco scartato: " + up.Reason.Italian()
		case domain.UploadCompleted:
			return "Elenco completato: ogni persona ha il suo esito"
		}
		return "Aggiornamento dell'elenco"
	}
	s, ok := people[e.About]
	who := "Una persona"
	if ok {
		who = fmt.Sprintf("Riga %d", s.Row)
	}
	var text string
	switch {
	case e.Note != "":
		text = who + ": " + lowerFirst(e.Note.Italian())
	case e.State == string(domain.PersonCertified):
		text = who + ": certificato arrivato"
		if ok && s.Certificate != nil {
			text += " (" + OutcomeText(s.Certificate.Outcome) + ")"
		}
	case e.State == string(domain.PersonFailed):
		text = who + ": richiesta non riuscita"
		if ok && s.Reason.Code != "" {
			text += ". " + s.Reason.Italian()
		}
	case e.State == string(domain.PersonPending):
		text = who + ": di nuovo in attesa di invio con la prossima richiesta"
	default:
		text = who + ": " + PersonStateText(domain.PersonState(e.State))
	}
	if ok && s.Batch != "" {
		if p := ProtocolText(batches[s.Batch].Protocol); p != "" {
			text += " — richiesta " + p
		}
	}
	return text
}

func requestEventText(e domain.Event, b domain.Batch) string {
	if e.Note != "" {
		return e.Note.Italian()
	}
	switch domain.BatchState(e.State) {
	case domain.BatchQueued:
		return "Richiesta preparata"
	case domain.BatchProtocolled:
		if p := ProtocolText(b.Protocol); p != "" {
			return "Protocollata: " + p
		}
		return "Protocollata"
	case domain.BatchSent:
		return "Inviata alla Procura per PEC"
	case domain.BatchAccepted:
		return "Accettata dal gestore PEC (ricevuta di accettazione)"
	case domain.BatchDelivered:
		return "Consegnata nella casella PEC della Procura (ricevuta di consegna)"
	case domain.BatchReplied:
		return "Risposta della Procura ricevuta"
	case domain.BatchCompleted:
		return "Completata: ogni persona ha il suo esito"
	case domain.BatchFailed:
		if b.State == domain.BatchFailed && b.Reason.Code != "" {
			return "Non riuscita: " + b.Reason.Italian()
		}
		return "Non riuscita"
	}
	return "Aggiornamento della richiesta"
}

// Count writes n with the singular or the plural: «1 riga scartata», «3 righe scartate».
func Count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func lowerFirst(s string) string {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return s
	}
	return string(s[0]+'a'-'A') + s[1:]
}

package notify

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// Event is what a handler says happened, with ids only: the notify function (or,
// locally, the Direct publisher) resolves it into a Notice with names, addresses and
// the protocol number. It is the body of the notify queue's messages: a contract
// between the functions.
type Event struct {
	Kind   Kind          `json:"kind"`
	Tenant string        `json:"tenant"`
	Office string        `json:"office,omitempty"`
	Upload string        `json:"upload,omitempty"`
	Batch  string        `json:"batch,omitempty"`
	Triage string        `json:"triage,omitempty"`
	Count  int           `json:"count,omitempty"`  // people, certificates
	Counts domain.Counts `json:"counts,omitempty"` // a list's rows
	Days   int           `json:"days,omitempty"`   // overdue
}

// Publisher hands events on: to the queue of the notify function in AWS, straight
// to the mailer locally.
type Publisher interface {
	Publish(ctx context.Context, ev Event) error
}

// BatchReader is what resolving needs of the store.
type BatchReader interface {
	GetBatch(ctx context.Context, tenant, id string) (domain.Batch, error)
}

// Resolver turns events into notices.
type Resolver struct {
	Tenants *tenants.Config
	Batches BatchReader
}

// Notice resolves an event: the office's name and addresses, the protocol office
// for triage, failures and overdue replies, the batch's protocol number. A notice
// with no recipient (To empty) is nobody's business and is not sent.
func (r Resolver) Notice(ctx context.Context, ev Event) (Notice, error) {
	t, err := r.Tenants.Tenant(ev.Tenant)
	if err != nil {
		return Notice{}, err
	}
	n := Notice{Kind: ev.Kind, Comune: t.Name, Upload: ev.Upload, Batch: ev.Batch, Triage: ev.Triage,
		Counts: ev.Counts, People: ev.Count, Days: ev.Days}
	office := ev.Office
	if ev.Batch != "" {
		b, err := r.Batches.GetBatch(ctx, ev.Tenant, ev.Batch)
		if err != nil {
			return Notice{}, err
		}
		n.Protocol = b.Protocol
		if office == "" {
			office = b.Office
		}
		if n.People == 0 && (ev.Kind == RequestSent) {
			n.People = len(b.People)
		}
	}
	if office != "" {
		if _, o, err := r.Tenants.Office(ev.Tenant, office); err == nil {
			n.Office, n.To = o.Name, append([]string(nil), o.Notify...)
		}
	}
	switch ev.Kind {
	case ListReceived, ListRejected, RequestSent, Delivered, Certificates, NotDelivered:
	case RequestFailed:
		// Handlers' reasons are English and for operators: the office reads the page.
		n.Reason = "la Procura o il gestore PEC hanno segnalato un errore; i dettagli sono nella pagina della richiesta."
		n.To = append(n.To, t.ProtocolOffice...)
	case Overdue:
		n.To = append(n.To, t.ProtocolOffice...)
	case Triage:
		n.Office, n.To = "Ufficio protocollo", append([]string(nil), t.ProtocolOffice...)
	default:
		return Notice{}, fmt.Errorf("notify: unknown event kind %q", ev.Kind)
	}
	if ev.Kind == ListRejected {
		n.Reason = "il file non è un elenco leggibile o non contiene nominativi validi: il resoconto ne indica il motivo."
	}
	return n, nil
}

// Direct resolves and sends at once: the local run's publisher.
type Direct struct {
	Resolver Resolver
	Mailer   *Mailer
}

// Publish resolves ev and mails it.
func (d Direct) Publish(ctx context.Context, ev Event) error {
	n, err := d.Resolver.Notice(ctx, ev)
	if err != nil || len(n.To) == 0 {
		return err
	}
	return d.Mailer.Send(ctx, n)
}

// Marshal and Unmarshal are the queue's wire format.
func (ev Event) Marshal() (string, error) {
	b, err := json.Marshal(ev)
	return string(b), err
}

// UnmarshalEvent reads a queue message body.
func UnmarshalEvent(body string) (Event, error) {
	var ev Event
	if err := json.Unmarshal([]byte(body), &ev); err != nil {
		return ev, fmt.Errorf("notify: event: %w", err)
	}
	if ev.Kind == "" || ev.Tenant == "" {
		return ev, fmt.Errorf("notify: event without kind or tenant")
	}
	return ev, nil
}

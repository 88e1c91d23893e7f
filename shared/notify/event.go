package notify

import (
	"context"
	"fmt"
	"strings"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/notice"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// Reader is what resolving needs of the store.
type Reader interface {
	GetBatch(ctx context.Context, tenant, id string) (domain.Batch, error)
	GetUpload(ctx context.Context, tenant, id string) (domain.Upload, error)
}

// Resolver turns events into notices.
type Resolver struct {
	Tenants *tenants.Config
	Store   Reader
	// PageURL is the offices' page (CASELLARIO_PUBLIC_URL): notices link to
	// the list, request or triage item on it; empty: no link.
	PageURL string
}

// Page links: the page opens the item its fragment names.
const (
	LinkList    = "#/elenchi/"
	LinkRequest = "#/richieste/"
	LinkTriage  = "#/smistamento/"
)

func (r Resolver) link(kind, id string) string {
	if r.PageURL == "" || id == "" {
		return ""
	}
	return strings.TrimRight(r.PageURL, "/") + "/" + kind + id
}

// Notice resolves an event: the office's name and addresses, the protocol office
// for triage, failures and overdue replies, the batch's protocol number. A notice
// with no recipient (To empty) is nobody's business and is not sent.
func (r Resolver) Notice(ctx context.Context, ev notice.Event) (Notice, error) {
	t, err := r.Tenants.Tenant(ev.Tenant)
	if err != nil {
		return Notice{}, err
	}
	n := Notice{Kind: ev.Kind, Comune: t.Name, Counts: ev.Counts, People: ev.Count, Days: ev.Days}
	office := ev.Office
	var failed, refused domain.Reason
	switch {
	case ev.Batch != "":
		b, err := r.Store.GetBatch(ctx, ev.Tenant, ev.Batch)
		if err != nil {
			return Notice{}, err
		}
		n.Protocol, failed, n.Link = b.Protocol, b.Reason, r.link(LinkRequest, b.ID)
		if office == "" {
			office = b.Office
		}
		if n.People == 0 && (ev.Kind == notice.RequestSent) {
			n.People = len(b.People)
		}
	case ev.Upload != "":
		u, err := r.Store.GetUpload(ctx, ev.Tenant, ev.Upload)
		if err != nil {
			return Notice{}, err
		}
		n.FileName, n.Uploaded, n.Link, refused = u.FileName, u.CreatedAt, r.link(LinkList, u.ID), u.Reason
		if office == "" {
			office = u.Office
		}
	case ev.Triage != "":
		n.Link = r.link(LinkTriage, ev.Triage)
	}
	if office != "" {
		if _, o, err := r.Tenants.Office(ev.Tenant, office); err == nil {
			n.Office, n.To = o.Name, append([]string(nil), o.Notify...)
		}
	}
	switch ev.Kind {
	case notice.ListReceived, notice.ListRejected, notice.RequestSent, notice.Delivered, notice.Certificates, notice.NotDelivered:
	case notice.RequestFailed:
		n.Reason = "la Procura o il gestore PEC hanno segnalato un errore; i dettagli sono nella pagina della richiesta."
		if failed.Code != "" {
			n.Reason = failed.Italian()
		}
		n.To = append(n.To, t.ProtocolOffice...)
	case notice.Overdue:
		n.To = append(n.To, t.ProtocolOffice...)
	case notice.Triage:
		n.Office, n.To = "Ufficio protocollo", append([]string(nil), t.ProtocolOffice...)
	default:
		return Notice{}, fmt.Errorf("notify: unknown event kind %q", ev.Kind)
	}
	switch {
	case ev.Reason != "":
		n.Reason = ev.Reason.Italian()
	case ev.Kind == notice.ListRejected && refused.Code != "":
		n.Reason = refused.Italian()
	case ev.Kind == notice.ListRejected:
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
func (d Direct) Publish(ctx context.Context, ev notice.Event) error {
	n, err := d.Resolver.Notice(ctx, ev)
	if err != nil || len(n.To) == 0 {
		return err
	}
	return d.Mailer.Send(ctx, n)
}

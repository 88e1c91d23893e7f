package localrun

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/casellario-pec/casellario/shared/dispatch"
	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/intake"
	"github.com/casellario-pec/casellario/shared/mailsink"
	"github.com/casellario-pec/casellario/shared/notify"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/pecmail"
	"github.com/casellario-pec/casellario/shared/poll"
)

// pipeline holds the functions' handlers as the Lambdas would hold them.
type pipeline struct {
	in   *intake.Handler
	out  *dispatch.Handler
	poll *poll.Handler
}

func newPipeline(r *Run) (*pipeline, error) {
	tlsCfg, err := pecmail.TLSWithRoots(r.World.CAFile)
	if err != nil {
		return nil, err
	}
	trust, err := pec.ParseTrustStore(r.World.CAPEM)
	if err != nil {
		return nil, err
	}
	secrets := pecmail.LocalSecrets()
	notices := &notifier{run: r}
	return &pipeline{
		in: &intake.Handler{Store: r.Store, Docs: r.Docs, Tenants: r.Tenants, Notify: notices, Log: r.log.With("function", "intake")},
		out: &dispatch.Handler{Store: r.Store, Docs: r.Docs, Tenants: r.Tenants, Secrets: secrets, Notify: notices,
			Sender:  &pecmail.SMTP{Secrets: secrets, TLS: tlsCfg, Timeout: 30 * time.Second},
			Mailbox: &pecmail.IMAP{Secrets: secrets, TLS: tlsCfg, TrustStore: trust, Timeout: 30 * time.Second},
			Log:     r.log.With("function", "dispatch")},
		poll: &poll.Handler{Store: r.Store, Triage: r.Store, Docs: r.Docs, Tenants: r.Tenants, Trust: trust,
			Mail:   &poll.IMAPDialer{RootCAs: tlsCfg.RootCAs, Secrets: secrets},
			Notify: notices, Log: r.log.With("function", "poll"), Deadline: 2 * time.Minute},
	}, nil
}

func (p *pipeline) pollNow(ctx context.Context, cause domain.Cause) (poll.Summary, error) {
	return p.poll.Run(ctx, cause)
}

func (p *pipeline) intake(ctx context.Context, key, version string) error {
	_, err := p.in.Process(ctx, key, version, domain.CauseS3(key, version))
	return err
}

func (p *pipeline) dispatch(ctx context.Context, cause domain.Cause) (dispatch.Summary, error) {
	return p.out.Run(ctx, cause)
}

// notifier e-mails the offices through the local mail sink, as the notify function
// does in AWS.
type notifier struct{ run *Run }

func (n *notifier) mailer() *notify.Mailer {
	host, port, _ := net.SplitHostPort(n.run.sink.SMTPAddr)
	p, _ := strconv.Atoi(port)
	return &notify.Mailer{From: "casellario@comune.test", Host: host, Port: p, TLS: "none"}
}

// office returns the names and addresses a notice needs.
func (n *notifier) office(tenant, office string) (comune, name string, to []string, err error) {
	t, o, err := n.run.Tenants.Office(tenant, office)
	if err != nil {
		return "", "", nil, err
	}
	return t.Name, o.Name, o.Notify, nil
}

// UploadProcessed tells the office its list arrived, or why it was refused.
func (n *notifier) UploadProcessed(ctx context.Context, u domain.Upload) error {
	comune, name, to, err := n.office(u.Tenant, u.Office)
	if err != nil {
		return err
	}
	notice := notify.Notice{Kind: notify.ListReceived, Comune: comune, Office: name, To: to, Upload: u.ID, Counts: u.Counts}
	if u.State == domain.UploadRejected {
		notice.Kind, notice.Reason = notify.ListRejected, "il file non è un elenco leggibile o non contiene nominativi validi: il resoconto ne indica il motivo."
	}
	return n.mailer().Send(ctx, notice)
}

// RequestSent tells the office its request left, with the protocol number.
func (n *notifier) RequestSent(ctx context.Context, b domain.Batch) error {
	comune, name, to, err := n.office(b.Tenant, b.Office)
	if err != nil {
		return err
	}
	return n.mailer().Send(ctx, notify.Notice{Kind: notify.RequestSent, Comune: comune, Office: name, To: to,
		Batch: b.ID, Protocol: b.Protocol, People: len(b.People)})
}

// Notify turns the poll's notices into e-mails: to the office for its batches, to
// the protocol office for triage, failures and overdue replies.
func (n *notifier) Notify(ctx context.Context, pn poll.Notice) error {
	t, err := n.run.Tenants.Tenant(pn.Tenant)
	if err != nil {
		return err
	}
	notice := notify.Notice{Comune: t.Name, Batch: pn.Batch, Triage: pn.TriageID, People: pn.Count}
	if pn.Batch != "" {
		b, err := n.run.Store.GetBatch(ctx, pn.Tenant, pn.Batch)
		if err != nil {
			return err
		}
		notice.Protocol = b.Protocol
		if pn.Office == "" {
			pn.Office = b.Office
		}
	}
	if pn.Office != "" {
		if _, o, err := n.run.Tenants.Office(pn.Tenant, pn.Office); err == nil {
			notice.Office, notice.To = o.Name, append([]string(nil), o.Notify...)
		}
	}
	switch pn.Kind {
	case poll.NoticeDelivered:
		notice.Kind = notify.Delivered
	case poll.NoticeCertificates:
		notice.Kind = notify.Certificates
	case poll.NoticeWarning:
		notice.Kind = notify.NotDelivered
	case poll.NoticeFailed:
		// The poll's detail is English, for operators; the office reads the page.
		notice.Kind, notice.Reason = notify.RequestFailed, "la Procura o il gestore PEC hanno segnalato un errore; i dettagli sono nella pagina della richiesta."
		notice.To = append(notice.To, t.ProtocolOffice...)
	case poll.NoticeOverdue:
		notice.Kind = notify.Overdue
		after := n.run.pipeline.poll.OverdueAfter
		if after == 0 {
			after = poll.DefaultOverdueAfter
		}
		notice.Days = int(after.Hours() / 24)
		notice.To = append(notice.To, t.ProtocolOffice...)
	case poll.NoticeTriage:
		notice.Kind, notice.Office, notice.To = notify.Triage, "Ufficio protocollo", t.ProtocolOffice
	default:
		return fmt.Errorf("unknown notice kind %q", pn.Kind)
	}
	if len(notice.To) == 0 {
		return nil // nobody configured to hear about it
	}
	return n.mailer().Send(ctx, notice)
}

var _ intake.Notifier = (*notifier)(nil)
var _ dispatch.Notifier = (*notifier)(nil)
var _ poll.Notifier = (*notifier)(nil)

// startSink starts the offices' mail stand-in.
func (r *Run) startSink() error {
	s, err := mailsink.Start(0, 0)
	if err != nil {
		return fmt.Errorf("mail sink: %w", err)
	}
	r.sink = s
	r.closers = append(r.closers, func() { _ = s.Close() })
	return nil
}

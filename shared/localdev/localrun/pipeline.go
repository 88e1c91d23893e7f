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
	"github.com/casellario-pec/casellario/shared/localdev/mailsink"
	"github.com/casellario-pec/casellario/shared/notice"
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
	// meter counts the invocations and time of each function (the run's usage).
	meter *meter
}

func newPipeline(r *Run) (*pipeline, error) {
	tlsCfg, err := pecmail.TLSWithRoots(r.Peers.CAFile)
	if err != nil {
		return nil, err
	}
	trust, err := pec.ParseTrustStore(r.Peers.CAPEM)
	if err != nil {
		return nil, err
	}
	secrets := pecmail.LocalSecrets()
	notices := r.notices()
	imap := &pecmail.IMAP{Secrets: secrets, TLS: tlsCfg, TrustStore: trust, Timeout: 30 * time.Second}
	return &pipeline{meter: r.meter,
		in: &intake.Handler{Store: r.Store, Docs: r.Docs, Tenants: r.Tenants, Notify: notices, Log: r.log.With("function", "intake")},
		out: &dispatch.Handler{Store: r.Store, Docs: r.Docs, Tenants: r.Tenants, Secrets: secrets, Notify: notices,
			Sender:  &pecmail.SMTP{Secrets: secrets, TLS: tlsCfg, Timeout: 30 * time.Second},
			Mailbox: imap, Grace: r.opts.Grace, Log: r.log.With("function", "dispatch")},
		poll: &poll.Handler{Store: r.Store, Triage: r.Store, Docs: r.Docs, Tenants: r.Tenants, Trust: trust, Mail: imap,
			Notify: notices, Log: r.log.With("function", "poll"), Deadline: 2 * time.Minute},
	}, nil
}

func (p *pipeline) pollNow(ctx context.Context, cause domain.Cause) (poll.Summary, error) {
	defer p.meter.time("poll", time.Now())
	return p.poll.Run(ctx, cause)
}

func (p *pipeline) intake(ctx context.Context, key, version string) error {
	defer p.meter.time("intake", time.Now())
	_, err := p.in.Process(ctx, key, version, domain.CauseS3(key, version))
	return err
}

// dispatch runs, as in AWS, the intake sweep (uploads a crash left
// received) and then dispatch.
func (p *pipeline) dispatch(ctx context.Context, cause domain.Cause) (dispatch.Summary, error) {
	defer p.meter.time("dispatch", time.Now())
	if _, err := p.in.Sweep(ctx, cause); err != nil {
		return dispatch.Summary{}, err
	}
	return p.out.Run(ctx, cause)
}

// notices mails the offices through the local mail sink, resolving events as the
// notify function does in AWS.
func (r *Run) notices() notice.Publisher {
	host, port, _ := net.SplitHostPort(r.sink.SMTPAddr)
	p, _ := strconv.Atoi(port)
	return countedNotices{m: r.meter, next: notify.Direct{
		Resolver: notify.Resolver{Tenants: r.Tenants, Store: r.Store, PageURL: "http://" + r.apiListener.Addr().String() + "/"},
		Mailer:   &notify.Mailer{From: "casellario@comune.test", Host: host, Port: p, TLS: "none"},
	}}
}

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

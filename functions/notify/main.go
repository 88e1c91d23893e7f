// Command notify is the Lambda that e-mails offices: it consumes the notify queue
// (SQS), whose messages are notice.Event JSON written by intake, dispatch and poll,
// resolves each into an Italian message and sends it by SMTP. Wiring only.
//
// Configuration (shared/config): the table, the tenants file, and the SMTP
// relay: host and sender (required), port (default 587), user and the
// Secrets Manager secret holding the password (both optional), TLS
// (starttls, the default, or implicit).
package main

import (
	"context"
	"log/slog"
	"os"
	_ "time/tzdata"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/casellario-pec/casellario/shared/config"
	"github.com/casellario-pec/casellario/shared/lambdaenv"
	"github.com/casellario-pec/casellario/shared/notice"
	"github.com/casellario-pec/casellario/shared/notify"
	"github.com/casellario-pec/casellario/shared/pecmail"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// sender is what handle needs: resolve and send one event.
type sender interface {
	Publish(ctx context.Context, ev notice.Event) error
}

// handle sends each queued event; the ones that fail are reported back so that
// SQS retries only those (ReportBatchItemFailures) and, after the queue's
// maxReceiveCount, moves them to the dead-letter queue. A malformed message
// is reported as failed too: it ends in the dead-letter queue, kept for a
// person, rather than dropped.
func handle(ctx context.Context, s sender, log *slog.Logger, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, m := range ev.Records {
		e, err := notice.Unmarshal(m.Body)
		if err != nil {
			log.ErrorContext(ctx, "malformed notify message: left for the dead-letter queue", "message_id", m.MessageId, "err", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			continue
		}
		if err := s.Publish(ctx, e); err != nil {
			log.ErrorContext(ctx, "notice not sent", "kind", e.Kind, "tenant", e.Tenant, "batch", e.Batch, "upload", e.Upload, "err", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
	}
	return resp, nil
}

// setup builds the sender and the logger from the configuration.
func setup(ctx context.Context, c config.Config) (notify.Direct, *slog.Logger, error) {
	env, err := lambdaenv.Load(ctx, c)
	if err != nil {
		return notify.Direct{}, nil, err
	}
	s := c.SMTP
	if err := config.Require("CASELLARIO_SMTP_HOST", s.Host, "CASELLARIO_SMTP_FROM", s.From); err != nil {
		return notify.Direct{}, nil, err
	}
	m := &notify.Mailer{Host: s.Host, Port: s.Port, From: s.From, Username: s.User, TLS: s.TLS}
	if s.Secret != "" {
		// Read once at cold start: a rotated password takes effect with the next instance.
		if m.Password, err = pecmail.AWSSecrets(env.AWS).Resolve(ctx, tenants.Secret{Secret: s.Secret}); err != nil {
			return notify.Direct{}, nil, err
		}
	}
	return notify.Direct{
		Resolver: notify.Resolver{Tenants: env.Tenants, Store: env.Store, PageURL: c.Web.PublicURL},
		Mailer:   m,
	}, env.Log, nil
}

func main() {
	c, err := config.Load(os.Environ())
	var (
		d   notify.Direct
		log *slog.Logger
	)
	if err == nil {
		d, log, err = setup(context.Background(), c)
	}
	if err != nil {
		slog.Error("notify: configuration", "err", err)
		os.Exit(1)
	}
	lambda.Start(func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		return handle(ctx, d, log, ev)
	})
}

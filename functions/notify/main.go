// Command notify is the Lambda that e-mails offices: it consumes the notify queue
// (SQS), whose messages are notice.Event JSON written by intake, dispatch and poll,
// resolves each into an Italian message and sends it by SMTP. Wiring only.
//
// Environment: CASELLARIO_TABLE (shared/store), CASELLARIO_TENANTS
// (shared/tenants), CASELLARIO_SMTP_HOST, CASELLARIO_SMTP_PORT (default 587),
// CASELLARIO_SMTP_FROM, CASELLARIO_SMTP_USER and CASELLARIO_SMTP_SECRET (a
// Secrets Manager secret holding the password; both optional),
// CASELLARIO_SMTP_TLS (starttls, the default, or implicit).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	_ "time/tzdata"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

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
			log.Error("malformed notify message: left for the dead-letter queue", "message_id", m.MessageId, "err", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			continue
		}
		if err := s.Publish(ctx, e); err != nil {
			log.Error("notice not sent", "kind", e.Kind, "tenant", e.Tenant, "batch", e.Batch, "upload", e.Upload, "err", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
	}
	return resp, nil
}

func setup(ctx context.Context) (notify.Direct, error) {
	env, err := lambdaenv.Load(ctx, false)
	if err != nil {
		return notify.Direct{}, err
	}
	m := &notify.Mailer{Host: os.Getenv("CASELLARIO_SMTP_HOST"), From: os.Getenv("CASELLARIO_SMTP_FROM"),
		Username: os.Getenv("CASELLARIO_SMTP_USER"), TLS: os.Getenv("CASELLARIO_SMTP_TLS"), Port: 587}
	if m.Host == "" || m.From == "" {
		return notify.Direct{}, errors.New("CASELLARIO_SMTP_HOST and CASELLARIO_SMTP_FROM are required")
	}
	if p := os.Getenv("CASELLARIO_SMTP_PORT"); p != "" {
		if m.Port, err = strconv.Atoi(p); err != nil {
			return notify.Direct{}, fmt.Errorf("CASELLARIO_SMTP_PORT=%q: %w", p, err)
		}
	}
	if name := os.Getenv("CASELLARIO_SMTP_SECRET"); name != "" {
		// Read once at cold start: a rotated password takes effect with the next instance.
		if m.Password, err = pecmail.AWSSecrets(env.AWS).Resolve(ctx, tenants.Secret{Secret: name}); err != nil {
			return notify.Direct{}, err
		}
	}
	return notify.Direct{
		Resolver: notify.Resolver{Tenants: env.Tenants, Batches: env.Store},
		Mailer:   m,
	}, nil
}

func main() {
	d, err := setup(context.Background())
	if err != nil {
		slog.Error("notify: configuration", "err", err)
		os.Exit(1)
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	lambda.Start(func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		return handle(ctx, d, log, ev)
	})
}

// Command dispatch is the Lambda run by the EventBridge schedule (and on
// demand) that batches, registers and sends the requests (shared/dispatch).
// Wiring only.
//
// Environment: as functions/intake, plus CASELLARIO_TLS_ROOTS (optional: a
// PEM file of the roots the PEC providers' TLS certificates chain to; the
// system roots by default) and CASELLARIO_GRACE (optional duration: how long
// a send of unknown outcome waits for its receipt, default 10m). Mailbox
// passwords and register tokens are Secrets Manager secrets, read on first
// use and cached for the life of the execution environment.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"
	_ "time/tzdata" // Europe/Rome without the system's zoneinfo

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/casellario-pec/casellario/shared/awsconf"
	"github.com/casellario-pec/casellario/shared/dispatch"
	"github.com/casellario-pec/casellario/shared/docs"
	"github.com/casellario-pec/casellario/shared/notify/ports"
	"github.com/casellario-pec/casellario/shared/pecmail"
	"github.com/casellario-pec/casellario/shared/store"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// setup builds the handler from the environment: the tenants file is parsed,
// SDK clients are created (no network call); secrets are read lazily.
func setup(ctx context.Context) (*dispatch.Handler, error) {
	sopt, err := store.OptionsFromEnv()
	if err != nil {
		return nil, err
	}
	dopt, err := docs.OptionsFromEnv()
	if err != nil {
		return nil, err
	}
	tc, err := tenants.FromEnv()
	if err != nil {
		return nil, err
	}
	cfg, err := awsconf.Load(ctx)
	if err != nil {
		return nil, err
	}
	tlsCfg, err := pecmail.TLSWithRoots(os.Getenv("CASELLARIO_TLS_ROOTS"))
	if err != nil {
		return nil, err
	}
	var grace time.Duration
	if v := os.Getenv("CASELLARIO_GRACE"); v != "" {
		if grace, err = time.ParseDuration(v); err != nil || grace <= 0 {
			return nil, fmt.Errorf("CASELLARIO_GRACE=%q: want a positive duration such as 10m", v)
		}
	}
	secrets := pecmail.AWSSecrets(cfg)
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	return &dispatch.Handler{
		Store:   store.New(dynamodb.NewFromConfig(cfg), sopt),
		Docs:    docs.New(awsconf.NewS3(cfg), dopt),
		Tenants: tc,
		Secrets: secrets,
		Sender:  &pecmail.SMTP{Secrets: secrets, TLS: tlsCfg},
		Mailbox: &pecmail.IMAP{Secrets: secrets, TLS: tlsCfg},
		Notify:  notifier(cfg, dispatch.SlogNotifier{Log: log}),
		Log:     log,
		Grace:   grace,
	}, nil
}

// notifier queues e-mails to offices for the notify function when
// CASELLARIO_NOTIFY_QUEUE_URL is set, and only logs otherwise.
func notifier(cfg aws.Config, fallback dispatch.Notifier) dispatch.Notifier {
	if n, ok := ports.FromEnv(cfg); ok {
		return n
	}
	return fallback
}

func main() {
	h, err := setup(context.Background())
	if err != nil {
		slog.Error("dispatch: configuration", "err", err)
		os.Exit(1)
	}
	lambda.Start(h.HandleSchedule)
}

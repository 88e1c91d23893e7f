// Command intake is the Lambda handling S3 ObjectCreated events of the
// uploads bucket (shared/intake). Wiring only.
//
// Environment: CASELLARIO_TABLE (shared/store), CASELLARIO_UPLOADS_BUCKET,
// CASELLARIO_DOCUMENTS_BUCKET, CASELLARIO_SSE, CASELLARIO_KMS_KEY_ID
// (shared/docs), CASELLARIO_TENANTS (shared/tenants), AWS_* (shared/awsconf),
// CASELLARIO_NOTIFY_QUEUE_URL (optional: the notify function's queue).
package main

import (
	"context"
	"log/slog"
	"os"
	_ "time/tzdata" // Europe/Rome without the system's zoneinfo

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/casellario-pec/casellario/shared/awsconf"
	"github.com/casellario-pec/casellario/shared/docs"
	"github.com/casellario-pec/casellario/shared/intake"
	"github.com/casellario-pec/casellario/shared/notify/ports"
	"github.com/casellario-pec/casellario/shared/store"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// setup builds the handler from the environment. It parses the tenants file
// and creates the SDK clients (no network call); the places index is built
// lazily by the first validation.
func setup(ctx context.Context) (*intake.Handler, error) {
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
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	return &intake.Handler{
		Store:   store.New(dynamodb.NewFromConfig(cfg), sopt),
		Docs:    docs.New(awsconf.NewS3(cfg), dopt),
		Tenants: tc,
		Notify:  notifier(cfg, intake.SlogNotifier{Log: log}),
		Log:     log,
	}, nil
}

// notifier queues e-mails to offices for the notify function when
// CASELLARIO_NOTIFY_QUEUE_URL is set, and only logs otherwise.
func notifier(cfg aws.Config, fallback intake.Notifier) intake.Notifier {
	if n, ok := ports.FromEnv(cfg); ok {
		return n
	}
	return fallback
}

func main() {
	h, err := setup(context.Background())
	if err != nil {
		slog.Error("intake: configuration", "err", err)
		os.Exit(1)
	}
	lambda.Start(h.HandleS3)
}

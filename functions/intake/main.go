// Command intake is the Lambda handling S3 ObjectCreated events of the
// uploads bucket, and the scheduled sweep of uploads a crashed intake left
// half-way (shared/intake). Wiring only.
//
// Environment: CASELLARIO_TABLE (shared/store), CASELLARIO_UPLOADS_BUCKET,
// CASELLARIO_DOCUMENTS_BUCKET, CASELLARIO_SSE, CASELLARIO_KMS_KEY_ID
// (shared/s3docs), CASELLARIO_TENANTS (shared/tenants), AWS_* (shared/awsconf),
// CASELLARIO_NOTIFY_QUEUE_URL (optional: the notify function's queue).
package main

import (
	"context"
	"log/slog"
	"os"
	_ "time/tzdata" // Europe/Rome without the system's zoneinfo

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/casellario-pec/casellario/shared/intake"
	"github.com/casellario-pec/casellario/shared/lambdaenv"
)

// setup builds the handler from the environment. It parses the tenants file
// and creates the SDK clients (no network call); the places index is built
// lazily by the first validation.
func setup(ctx context.Context) (*intake.Handler, error) {
	env, err := lambdaenv.Load(ctx, true)
	if err != nil {
		return nil, err
	}
	return &intake.Handler{
		Store:   env.Store,
		Docs:    env.Docs,
		Tenants: env.Tenants,
		Notify:  env.Notices(),
		Log:     env.Log,
	}, nil
}

func main() {
	h, err := setup(context.Background())
	if err != nil {
		slog.Error("intake: configuration", "err", err)
		os.Exit(1)
	}
	lambda.Start(h.HandleEvent)
}

// Command intake is the Lambda handling S3 ObjectCreated events of the
// uploads bucket, and the scheduled sweep of uploads a crashed intake left
// half-way (shared/intake). Wiring only.
//
// Configuration (shared/config): the table, the two buckets, the tenants
// file and, optionally, the notify function's queue.
package main

import (
	"context"
	"log/slog"
	"os"
	_ "time/tzdata" // Europe/Rome without the system's zoneinfo

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/casellario-pec/casellario/shared/config"
	"github.com/casellario-pec/casellario/shared/intake"
	"github.com/casellario-pec/casellario/shared/lambdaenv"
)

// setup builds the handler from the configuration. It parses the tenants
// file and creates the SDK clients (no network call); the places index is
// built lazily by the first validation.
func setup(ctx context.Context, c config.Config) (*intake.Handler, error) {
	env, err := lambdaenv.Load(ctx, c)
	if err != nil {
		return nil, err
	}
	docs, err := env.Documents()
	if err != nil {
		return nil, err
	}
	return &intake.Handler{
		Store:   env.Store,
		Docs:    docs,
		Tenants: env.Tenants,
		Notify:  env.Notices(),
		Log:     env.Log,
	}, nil
}

func main() {
	c, err := config.Load(os.Environ())
	var h *intake.Handler
	if err == nil {
		h, err = setup(context.Background(), c)
	}
	if err != nil {
		slog.Error("intake: configuration", "err", err)
		os.Exit(1)
	}
	lambda.Start(h.HandleEvent)
}

// Command dispatch is the Lambda run by the EventBridge schedule (and on
// demand) that batches, registers and sends the requests (shared/dispatch).
// Wiring only.
//
// Environment: as functions/intake, plus CASELLARIO_PEC_TRUST (receipts
// count only when signed by a trusted provider), CASELLARIO_TLS_ROOTS
// (optional: a PEM file of the roots the PEC providers' TLS certificates
// chain to; the system roots by default) and CASELLARIO_GRACE (optional
// duration: how long a send of unknown outcome waits for its receipt,
// default 5m). Receipts are looked for in the INBOX and, for a dedicated
// mailbox, its archive folder (tenants pec.folder). Mailbox
// passwords and register tokens are Secrets Manager secrets, read on first
// use and cached for the life of the execution environment.
package main

import (
	"context"
	"log/slog"
	"os"
	_ "time/tzdata" // Europe/Rome without the system's zoneinfo

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/casellario-pec/casellario/shared/dispatch"
	"github.com/casellario-pec/casellario/shared/lambdaenv"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/pecmail"
)

// setup builds the handler from the environment: the tenants file is parsed,
// SDK clients are created (no network call); secrets are read lazily.
func setup(ctx context.Context) (*dispatch.Handler, error) {
	env, err := lambdaenv.Load(ctx, true)
	if err != nil {
		return nil, err
	}
	tlsCfg, err := pecmail.TLSWithRoots(os.Getenv("CASELLARIO_TLS_ROOTS"))
	if err != nil {
		return nil, err
	}
	grace, err := lambdaenv.Duration("CASELLARIO_GRACE")
	if err != nil {
		return nil, err
	}
	secrets := pecmail.AWSSecrets(env.AWS)
	mailbox := &pecmail.IMAP{Secrets: secrets, TLS: tlsCfg}
	if f := os.Getenv("CASELLARIO_PEC_TRUST"); f != "" { // receipts counted only when signed by a trusted provider
		if mailbox.TrustStore, err = pec.LoadTrustStore(f); err != nil {
			return nil, err
		}
	}
	return &dispatch.Handler{
		Store:   env.Store,
		Docs:    env.Docs,
		Tenants: env.Tenants,
		Secrets: secrets,
		Sender:  &pecmail.SMTP{Secrets: secrets, TLS: tlsCfg},
		Mailbox: mailbox,
		Notify:  env.Notices(),
		Log:     env.Log,
		Grace:   grace,
	}, nil
}

func main() {
	h, err := setup(context.Background())
	if err != nil {
		slog.Error("dispatch: configuration", "err", err)
		os.Exit(1)
	}
	lambda.Start(h.HandleSchedule)
}

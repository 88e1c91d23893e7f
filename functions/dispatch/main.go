// Command dispatch is the Lambda run by the EventBridge schedule (and on
// demand) that batches, registers and sends the requests (shared/dispatch).
// Wiring only.
//
// Configuration (shared/config): as functions/intake, plus the PEC trust
// store (receipts count only when signed by a trusted provider), the TLS
// roots of the PEC providers' servers (the system's by default) and the
// grace a send of unknown outcome waits for its receipt (default 5m). Receipts are looked for in the INBOX and, for a dedicated
// mailbox, its archive folder (tenants pec.folder). Mailbox
// passwords and register tokens are Secrets Manager secrets, read on first
// use and cached for the life of the execution environment.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	_ "time/tzdata" // Europe/Rome without the system's zoneinfo

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/casellario-pec/casellario/shared/config"
	"github.com/casellario-pec/casellario/shared/dispatch"
	"github.com/casellario-pec/casellario/shared/lambdaenv"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/pecmail"
)

// setup builds the handler from the configuration: the tenants file is
// parsed, SDK clients are created (no network call); secrets are read lazily.
func setup(ctx context.Context, c config.Config) (*dispatch.Handler, error) {
	env, err := lambdaenv.Load(ctx, c)
	if err != nil {
		return nil, err
	}
	docs, err := env.Documents()
	if err != nil {
		return nil, err
	}
	tlsCfg, err := pecmail.TLSWithRoots(c.TLSRoots)
	if err != nil {
		return nil, fmt.Errorf("CASELLARIO_TLS_ROOTS: %w", err)
	}
	secrets := pecmail.AWSSecrets(env.AWS)
	mailbox := &pecmail.IMAP{Secrets: secrets, TLS: tlsCfg}
	if c.PECTrust != "" { // receipts counted only when signed by a trusted provider
		if mailbox.TrustStore, err = pec.LoadTrustStore(c.PECTrust); err != nil {
			return nil, err
		}
	}
	return &dispatch.Handler{
		Store:   env.Store,
		Docs:    docs,
		Tenants: env.Tenants,
		Secrets: secrets,
		Sender:  &pecmail.SMTP{Secrets: secrets, TLS: tlsCfg},
		Mailbox: mailbox,
		Notify:  env.Notices(),
		Log:     env.Log,
		Grace:   c.Dispatch.Grace,
	}, nil
}

func main() {
	c, err := config.Load(os.Environ())
	var h *dispatch.Handler
	if err == nil {
		h, err = setup(context.Background(), c)
	}
	if err != nil {
		slog.Error("dispatch: configuration", "err", err)
		os.Exit(1)
	}
	lambda.Start(h.HandleSchedule)
}

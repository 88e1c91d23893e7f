// Command poll is the Lambda run by the EventBridge schedule (every few
// minutes) that reads every tenant's PEC mailbox: receipts, the Procura's
// replies and certificates, triage (shared/poll). Wiring only.
//
// Configuration (shared/config): the table, the two buckets, the tenants file
// (each mailbox's mode and folder), the notify queue, and: the PEC trust store
// (the providers' certificates, AgID list: required), the IMAP servers' TLS
// roots (the system's by default), the poll deadline (default 4m; keep it
// under the Lambda timeout) and when a delivered request without reply is
// overdue (default 240h).
//
// Mailbox passwords are Secrets Manager secrets (tenants pec.auth.secret).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	_ "time/tzdata"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/casellario-pec/casellario/shared/config"
	"github.com/casellario-pec/casellario/shared/lambdaenv"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/pecmail"
	"github.com/casellario-pec/casellario/shared/poll"
)

func setup(ctx context.Context, c config.Config) (*poll.Handler, error) {
	env, err := lambdaenv.Load(ctx, c)
	if err != nil {
		return nil, err
	}
	docs, err := env.Documents()
	if err != nil {
		return nil, err
	}
	if err := config.Require("CASELLARIO_PEC_TRUST", c.PECTrust); err != nil {
		return nil, fmt.Errorf("the PEC providers' certificates: %w", err)
	}
	trust, err := pec.LoadTrustStore(c.PECTrust)
	if err != nil {
		return nil, err
	}
	tlsCfg, err := pecmail.TLSWithRoots(c.TLSRoots)
	if err != nil {
		return nil, fmt.Errorf("CASELLARIO_TLS_ROOTS: %w", err)
	}
	return &poll.Handler{
		Store:        env.Store,
		Triage:       env.Store,
		Docs:         docs,
		Tenants:      env.Tenants,
		Mail:         &pecmail.IMAP{Secrets: pecmail.AWSSecrets(env.AWS), TLS: tlsCfg},
		Trust:        trust,
		Notify:       env.Notices(),
		Log:          env.Log,
		Metrics:      os.Stdout,
		Deadline:     c.Poll.Deadline,
		OverdueAfter: c.Poll.OverdueAfter,
	}, nil
}

func main() {
	c, err := config.Load(os.Environ())
	var h *poll.Handler
	if err == nil {
		h, err = setup(context.Background(), c)
	}
	if err != nil {
		slog.Error("poll: configuration", "err", err)
		os.Exit(1)
	}
	lambda.Start(h.HandleSchedule)
}

// Command poll is the Lambda run by the EventBridge schedule (every few
// minutes) that reads every tenant's PEC mailbox: receipts, the Procura's
// replies and certificates, triage (shared/poll). Wiring only.
//
// Environment: CASELLARIO_TABLE, CASELLARIO_RETENTION (store),
// CASELLARIO_DOCUMENTS_BUCKET, CASELLARIO_UPLOADS_BUCKET, CASELLARIO_SSE,
// CASELLARIO_KMS_KEY_ID (docs), CASELLARIO_TENANTS (tenants file: each
// mailbox's mode and folder), CASELLARIO_NOTIFY_QUEUE_URL, and:
//
//	CASELLARIO_PEC_TRUST      PEM file of the PEC providers' certificates (AgID list): required
//	CASELLARIO_TLS_ROOTS      PEM file of the IMAP servers' TLS roots; the system roots when unset
//	CASELLARIO_POLL_DEADLINE  how long a run takes new messages (default 4m; keep it under the Lambda timeout)
//	CASELLARIO_OVERDUE_AFTER  a delivered batch without reply is overdue after this (default 240h)
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

	"github.com/casellario-pec/casellario/shared/lambdaenv"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/pecmail"
	"github.com/casellario-pec/casellario/shared/poll"
)

func setup(ctx context.Context) (*poll.Handler, error) {
	env, err := lambdaenv.Load(ctx, true)
	if err != nil {
		return nil, err
	}
	trustFile := os.Getenv("CASELLARIO_PEC_TRUST")
	if trustFile == "" {
		return nil, fmt.Errorf("CASELLARIO_PEC_TRUST is not set: the PEC providers' certificates")
	}
	trust, err := pec.LoadTrustStore(trustFile)
	if err != nil {
		return nil, err
	}
	tlsCfg, err := pecmail.TLSWithRoots(os.Getenv("CASELLARIO_TLS_ROOTS"))
	if err != nil {
		return nil, fmt.Errorf("CASELLARIO_TLS_ROOTS: %w", err)
	}
	h := &poll.Handler{
		Store:   env.Store,
		Triage:  env.Store,
		Docs:    env.Docs,
		Tenants: env.Tenants,
		Mail:    &pecmail.IMAP{Secrets: pecmail.AWSSecrets(env.AWS), TLS: tlsCfg},
		Trust:   trust,
		Notify:  env.Notices(),
		Log:     env.Log,
		Metrics: os.Stdout,
	}
	if h.Deadline, err = lambdaenv.Duration("CASELLARIO_POLL_DEADLINE"); err != nil {
		return nil, err
	}
	if h.OverdueAfter, err = lambdaenv.Duration("CASELLARIO_OVERDUE_AFTER"); err != nil {
		return nil, err
	}
	return h, nil
}

func main() {
	h, err := setup(context.Background())
	if err != nil {
		slog.Error("poll: configuration", "err", err)
		os.Exit(1)
	}
	lambda.Start(h.HandleSchedule)
}

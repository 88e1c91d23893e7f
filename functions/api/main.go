// Command api is the Lambda behind the API Gateway HTTP API: the offices' JSON
// API under /api/v1/ and the web page at / (shared/api). Wiring only: the
// API Gateway event (payload format 2.0) is adapted to the net/http handler by
// api.LambdaHandler.
//
// Environment: CASELLARIO_TABLE (store), CASELLARIO_UPLOADS_BUCKET,
// CASELLARIO_DOCUMENTS_BUCKET, CASELLARIO_SSE, CASELLARIO_KMS_KEY_ID (docs),
// CASELLARIO_TENANTS (tenants file), and:
//
//	CASELLARIO_OIDC_ISSUER     token issuer (Cognito: https://cognito-idp.<region>.amazonaws.com/<pool-id>): required
//	CASELLARIO_OIDC_AUDIENCE   token audience (Cognito: the app client id): required
//	CASELLARIO_OIDC_JWKS       JWKS URL (default: from the issuer's OIDC discovery document)
//	CASELLARIO_PROTOCOL_GROUP  Cognito group of the protocol office (default protocollo)
//	CASELLARIO_LOGIN_URL       sign-in page the web page links to (Cognito hosted UI, response_type=token)
//	CASELLARIO_PEC_TRUST       PEM of the PEC providers' certificates: triage assign handles messages again
//
// The uploads bucket's ObjectCreated notification runs the intake function as
// for any upload.
package main

import (
	"context"
	"log/slog"
	"os"
	_ "time/tzdata"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/casellario-pec/casellario/shared/api"
	"github.com/casellario-pec/casellario/shared/lambdaenv"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/poll"
)

func setup(ctx context.Context) (*api.Handler, error) {
	env, err := lambdaenv.Load(ctx, true)
	if err != nil {
		return nil, err
	}
	auth, err := api.AuthFromEnv()
	if err != nil {
		return nil, err
	}
	c := api.Config{Store: env.Store, Triage: env.Store, Docs: env.Docs, Tenants: env.Tenants, Auth: auth,
		LoginURL: os.Getenv("CASELLARIO_LOGIN_URL"), Log: env.Log}
	if f := os.Getenv("CASELLARIO_PEC_TRUST"); f != "" {
		trust, err := pec.LoadTrustStore(f)
		if err != nil {
			return nil, err
		}
		c.Assign = &poll.Handler{Store: env.Store, Triage: env.Store, Docs: env.Docs, Tenants: env.Tenants, Trust: trust, Log: env.Log}
	} else {
		env.Log.Warn("api: CASELLARIO_PEC_TRUST not set: triage assign is unavailable")
	}
	return api.New(c), nil
}

func main() {
	h, err := setup(context.Background())
	if err != nil {
		slog.Error("api: configuration", "err", err)
		os.Exit(1)
	}
	lambda.Start(api.LambdaHandler(h))
}

// Command api is the Lambda behind the API Gateway HTTP API: the offices' JSON
// API under /api/v1/ and the web page at / (shared/api). Wiring only: the
// API Gateway event (payload format 2.0) is adapted to the net/http handler by
// api.LambdaHandler.
//
// Configuration (shared/config): the table, the two buckets, the tenants
// file, the token issuer and audience (required), the JWKS URL (discovered
// by default), the protocol office's group, the page's sign-in (the OAuth2
// client, its authorize and token endpoints: the page may fetch from the
// token endpoint's origin), the footer's links, and the PEC trust store
// (with it, triage assign handles a message again).
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
	"github.com/casellario-pec/casellario/shared/config"
	"github.com/casellario-pec/casellario/shared/lambdaenv"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/poll"
)

func setup(ctx context.Context, cfg config.Config) (*api.Handler, error) {
	env, err := lambdaenv.Load(ctx, cfg)
	if err != nil {
		return nil, err
	}
	docs, err := env.Documents()
	if err != nil {
		return nil, err
	}
	auth, err := api.NewJWTAuth(cfg.Auth)
	if err != nil {
		return nil, err
	}
	c := api.Config{Store: env.Store, Triage: env.Store, Docs: docs, Tenants: env.Tenants, Auth: auth,
		SignIn: api.SignIn{ClientID: cfg.Auth.ClientID, AuthorizeURL: cfg.Auth.AuthorizeURL, TokenURL: cfg.Auth.TokenURL,
			LogoutURL: cfg.Auth.LogoutURL},
		Links:        api.Links{Accessibility: cfg.Web.AccessibilityURL, Privacy: cfg.Web.PrivacyURL, Legal: cfg.Web.LegalURL},
		OverdueAfter: cfg.Poll.OverdueAfter, Log: env.Log}
	if o := api.Origin(cfg.Auth.TokenURL); o != "" {
		c.ConnectOrigins = []string{o}
	}
	if cfg.PECTrust != "" {
		trust, err := pec.LoadTrustStore(cfg.PECTrust)
		if err != nil {
			return nil, err
		}
		c.Assign = &poll.Handler{Store: env.Store, Triage: env.Store, Docs: docs, Tenants: env.Tenants, Trust: trust, Log: env.Log}
	} else {
		env.Log.WarnContext(ctx, "CASELLARIO_PEC_TRUST not set: triage assign is unavailable")
	}
	return api.New(c), nil
}

func main() {
	c, err := config.Load(os.Environ())
	var h *api.Handler
	if err == nil {
		h, err = setup(context.Background(), c)
	}
	if err != nil {
		slog.Error("api: configuration", "err", err)
		os.Exit(1)
	}
	lambda.Start(api.LambdaHandler(h))
}

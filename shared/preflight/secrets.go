package preflight

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/smithy-go"

	"github.com/casellario-pec/casellario/shared/tenants"
)

// pecSecret: the mailbox's password resolves, and is not the placeholder the
// stack created (pecmail.Secrets refuses it).
func (c *checker) pecSecret(ctx context.Context) Result {
	r := c.secret(ctx, "pec-secret", "pec.auth", c.cfg.Tenant.PEC.Auth, "the PEC mailbox's password")
	c.secretOK = r.Status == OK
	return r
}

// protocolSecret: the external protocol register's credentials resolve.
func (c *checker) protocolSecret(ctx context.Context) Result {
	return c.secret(ctx, "protocol-secret", "protocol.auth", c.cfg.Tenant.Protocol.Auth, "the protocol register's credentials")
}

func (c *checker) secret(ctx context.Context, check, field string, ref tenants.Secret, what string) Result {
	if c.cfg.Secrets == nil {
		return fail(check, "no credentials resolver configured", "this is a bug of the caller: give preflight.Config.Secrets")
	}
	_, err := c.cfg.Secrets.Resolve(ctx, ref)
	if err == nil {
		if ref.Secret == "" {
			return ok(check, fmt.Sprintf("%s: an inline password (accepted in the local run only)", field))
		}
		return ok(check, fmt.Sprintf("secret %s holds %s (not the placeholder)", ref.Secret, what))
	}
	put := fmt.Sprintf(`put %s in it: aws secretsmanager put-secret-value --secret-id %s --secret-string '{"password":"…"}'`, what, ref.Secret)
	var api smithy.APIError
	switch {
	case ref.Secret == "" && ref.Password != "":
		return fail(check, err.Error(), fmt.Sprintf("name a Secrets Manager secret in %s.secret instead of a password (the stack creates it; then %s)", field, "put the password in it"))
	case ref.Secret == "":
		return fail(check, err.Error(), fmt.Sprintf("set %s.secret in the tenants file", field))
	case errors.As(err, &api) && api.ErrorCode() == "ResourceNotFoundException":
		return fail(check, fmt.Sprintf("secret %s does not exist", ref.Secret),
			fmt.Sprintf("deploy the stack with this Comune in its tenants file (it creates the secret), or correct %s.secret; then %s", field, put))
	case errors.As(err, &api) && (api.ErrorCode() == "AccessDeniedException" || api.ErrorCode() == "DecryptionFailure"):
		return fail(check, fmt.Sprintf("secret %s cannot be read with these credentials (%s)", ref.Secret, api.ErrorCode()),
			"run doctor with credentials allowed secretsmanager:GetSecretValue on the secret and kms:Decrypt with the stack's key (an administrator's)")
	case errors.As(err, &api) || errors.Unwrap(err) != nil:
		// Resolve wraps what the Secrets Manager call returned; what it found
		// wrong with the value itself it does not.
		return fail(check, err.Error(), "check the AWS credentials and Region (AWS_PROFILE, AWS_REGION), then run doctor again")
	}
	// Placeholder, empty, or an object without "password": Resolve says which.
	return fail(check, err.Error(), put)
}

// Package pecmail talks to a Comune's PEC mailbox: an SMTP sender over
// implicit TLS with AUTH (go-mail) that submits stored raw messages; the one
// IMAP adapter (go-imap v2) behind the mailbox port (shared/mailbox) that
// poll reads with and dispatch looks up the provider's receipts with; and the
// resolution of the mailbox credentials named by the tenants configuration
// (an inline password locally, a Secrets Manager secret in AWS).
//
// Errors never carry message contents: only addresses, hosts and SMTP/IMAP
// status lines.
package pecmail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/casellario-pec/casellario/shared/tenants"
)

// SecretResolver turns a credentials reference of the tenants configuration
// into the secret itself.
type SecretResolver interface {
	Resolve(ctx context.Context, s tenants.Secret) (string, error)
}

// SecretsAPI is the part of the Secrets Manager client that Secrets uses.
type SecretsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Secrets resolves tenants.Secret references: inline passwords (when
// AllowInline) and Secrets Manager secrets, fetched on first use and cached
// for the life of the process (a Lambda execution environment) until a login
// with it fails (Forget). The secret's value is either the password itself or
// a JSON object with a "password" field; an object with "placeholder": true
// (as the stack creates it) is refused. Safe for concurrent use.
type Secrets struct {
	// AllowInline accepts inline passwords (the local run); in AWS they are
	// refused, so that a password never sits in a configuration file.
	AllowInline bool
	// API returns the Secrets Manager client; called once, on the first
	// secret reference. Nil: secret references are an error.
	API func() (SecretsAPI, error)

	mu    sync.Mutex
	api   SecretsAPI
	cache map[string]string
}

// LocalSecrets accepts inline passwords only.
func LocalSecrets() *Secrets { return &Secrets{AllowInline: true} }

// AWSSecrets resolves secret names through Secrets Manager with cfg; the
// client is created lazily. Inline passwords are refused.
func AWSSecrets(cfg aws.Config) *Secrets {
	return &Secrets{API: func() (SecretsAPI, error) { return secretsmanager.NewFromConfig(cfg), nil }}
}

// Resolve returns the password s refers to.
func (s *Secrets) Resolve(ctx context.Context, ref tenants.Secret) (string, error) {
	switch {
	case ref.Password != "" && ref.Secret != "":
		return "", errors.New("credentials: both an inline password and a secret name are set")
	case ref.Password != "":
		if !s.AllowInline {
			return "", errors.New("credentials: inline passwords are accepted only in the local run; name a Secrets Manager secret")
		}
		return ref.Password, nil
	case ref.Secret == "":
		return "", errors.New("credentials: neither a password nor a secret name is set")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.cache[ref.Secret]; ok {
		return v, nil
	}
	if s.api == nil {
		if s.API == nil {
			return "", fmt.Errorf("credentials: secret %q: no Secrets Manager configured", ref.Secret)
		}
		api, err := s.API()
		if err != nil {
			return "", fmt.Errorf("credentials: Secrets Manager client: %w", err)
		}
		s.api = api
	}
	out, err := s.api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(ref.Secret)})
	if err != nil {
		return "", fmt.Errorf("credentials: reading secret %q: %w", ref.Secret, err)
	}
	v := aws.ToString(out.SecretString)
	if strings.HasPrefix(strings.TrimSpace(v), "{") {
		var obj struct {
			Password    string `json:"password"`
			Placeholder bool   `json:"placeholder"`
		}
		if err := json.Unmarshal([]byte(v), &obj); err != nil || obj.Password == "" {
			return "", fmt.Errorf("credentials: secret %q is a JSON object without a \"password\" field", ref.Secret)
		}
		if obj.Placeholder {
			// The stack creates secrets with a random placeholder: logging in
			// with it would get the real mailbox locked by its provider.
			return "", fmt.Errorf("credentials: secret %q still holds the placeholder the deployment created: put the real password in it", ref.Secret)
		}
		v = obj.Password
	}
	if v == "" {
		return "", fmt.Errorf("credentials: secret %q is empty", ref.Secret)
	}
	if s.cache == nil {
		s.cache = map[string]string{}
	}
	s.cache[ref.Secret] = v
	return v, nil
}

// Forget drops the cached value of a secret, so that the next Resolve reads
// it again: after a login failure, the secret may have been changed.
func (s *Secrets) Forget(ref tenants.Secret) {
	if ref.Secret == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.cache, ref.Secret)
}

package pecmail_test

// The functions must never log in with a placeholder secret, and must read a
// secret again after the server refused it (it may have been rotated since it
// was cached). These tests prove both for IMAP and SMTP, against the local
// PEC provider, which refuses a wrong password.

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/casellario-pec/casellario/shared/localdev/sim"
	"github.com/casellario-pec/casellario/shared/pecmail"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// rotatingSM is a Secrets Manager whose one secret can be changed, as an
// operator's put-secret-value would.
type rotatingSM struct {
	mu    sync.Mutex
	value string
	calls atomic.Int32
}

func (f *rotatingSM) set(v string) { f.mu.Lock(); f.value = v; f.mu.Unlock() }

func (f *rotatingSM) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if aws.ToString(in.SecretId) != "casellario/pec/c_g999" {
		return nil, errors.New("ResourceNotFoundException")
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(f.value)}, nil
}

// login is one way the functions log into the PEC mailbox.
type login struct {
	name string
	do   func(ctx context.Context, smtp *pecmail.SMTP, im *pecmail.IMAP, tn tenants.Tenant) error
}

func logins(t *testing.T) []login {
	return []login{
		{"imap dial", func(ctx context.Context, _ *pecmail.SMTP, im *pecmail.IMAP, tn tenants.Tenant) error {
			mb, err := im.Dial(ctx, &tn)
			if err == nil {
				mb.Close()
			}
			return err
		}},
		{"smtp send", func(ctx context.Context, smtp *pecmail.SMTP, _ *pecmail.IMAP, tn tenants.Tenant) error {
			raw, _ := message(t, tn.PEC.Address)
			return smtp.Send(ctx, tn, tn.PEC.Address, []string{sim.Procura}, raw)
		}},
		{"smtp check login", func(ctx context.Context, smtp *pecmail.SMTP, _ *pecmail.IMAP, tn tenants.Tenant) error {
			_, err := smtp.CheckLogin(ctx, tn)
			return err
		}},
	}
}

// withSecrets returns the world's clients resolving the tenant's password
// through api, and the tenant naming the secret.
func withSecrets(t *testing.T, api pecmail.SecretsAPI) (*sim.World, tenants.Tenant, *pecmail.SMTP, *pecmail.IMAP) {
	w, tn, smtp, im := world(t)
	sec := &pecmail.Secrets{API: func() (pecmail.SecretsAPI, error) { return api, nil }}
	smtp.Secrets, im.Secrets = sec, sec
	tn.PEC.Auth = tenants.Secret{Secret: "casellario/pec/c_g999"}
	return w, tn, smtp, im
}

func TestNeverLogsInWithAPlaceholder(t *testing.T) {
	// A listener standing for the provider: any connection at all is counted.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			c.Close()
		}
	}()
	defer ln.Close()
	placeholders := []struct {
		name, value string
	}{
		{"as the stack creates it", `{"placeholder":true,"note":"replace with {\"password\":\"...\"}","password":"Xy12generated"}`},
		{"placeholder without a password", `{"placeholder":true}`},
		{"empty", ""},
	}
	for _, l := range logins(t) {
		for _, p := range placeholders {
			t.Run(l.name+"/"+p.name, func(t *testing.T) {
				api := &rotatingSM{value: p.value}
				_, tn, smtp, im := withSecrets(t, api)
				tn.PEC.IMAP, tn.PEC.SMTP = ln.Addr().String(), ln.Addr().String()
				before := conns.Load()
				err := l.do(context.Background(), smtp, im, tn)
				if err == nil || !strings.Contains(err.Error(), "casellario/pec/c_g999") {
					t.Fatalf("err %v, want a refusal of the secret", err)
				}
				if strings.Contains(err.Error(), "Xy12generated") {
					t.Errorf("the error shows the placeholder's password: %v", err)
				}
				if n := conns.Load() - before; n != 0 {
					t.Errorf("%d connections to the provider with an unusable secret", n)
				}
				if pecmail.LoginRefused(err) {
					t.Errorf("a refused secret taken for a refused login: %v", err)
				}
			})
		}
	}
}

func TestForgetsTheSecretAfterARefusedLogin(t *testing.T) {
	for _, l := range logins(t) {
		t.Run(l.name, func(t *testing.T) {
			api := &rotatingSM{value: `{"password":"old-password"}`}
			w, tn, smtp, im := withSecrets(t, api)
			ctx := context.Background()
			good := w.Password(tn.PEC.Address)

			err := l.do(ctx, smtp, im, tn)
			if !pecmail.LoginRefused(err) {
				t.Fatalf("old password: %v, want a refused login", err)
			}
			if strings.Contains(err.Error(), "old-password") {
				t.Errorf("the error shows the password: %v", err)
			}
			api.set(`{"password":"` + good + `"}`) // the operator rotates the secret
			if err := l.do(ctx, smtp, im, tn); err != nil {
				t.Fatalf("after the rotation: %v (the refused password stayed cached)", err)
			}
			if n := api.calls.Load(); n != 2 {
				t.Errorf("%d reads of the secret, want 2 (first, and again after the refusal)", n)
			}
			// A login that works keeps the secret cached.
			if err := l.do(ctx, smtp, im, tn); err != nil {
				t.Fatal(err)
			}
			if n := api.calls.Load(); n != 2 {
				t.Errorf("%d reads of the secret after a good login, want it cached", n)
			}
		})
	}
}

func TestKeepsTheSecretWhenTheServerIsUnreachable(t *testing.T) {
	closed := closedAddr(t)
	for _, l := range logins(t) {
		t.Run(l.name, func(t *testing.T) {
			api := &rotatingSM{value: `{"password":"pw"}`}
			_, tn, smtp, im := withSecrets(t, api)
			tn.PEC.IMAP, tn.PEC.SMTP = closed, closed
			for range 2 {
				err := l.do(context.Background(), smtp, im, tn)
				if err == nil || pecmail.LoginRefused(err) {
					t.Fatalf("err %v, want a connection failure", err)
				}
			}
			if n := api.calls.Load(); n != 1 {
				t.Errorf("%d reads of the secret: a network failure says nothing about the password", n)
			}
		})
	}
}

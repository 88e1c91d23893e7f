package pecmail_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/casellario-pec/casellario/shared/localdev/sim"
	"github.com/casellario-pec/casellario/shared/localdev/sim/provider"
	"github.com/casellario-pec/casellario/shared/localdev/sim/simtest"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/pec/compose"
	"github.com/casellario-pec/casellario/shared/pecmail"
	"github.com/casellario-pec/casellario/shared/tenants"
)

type fakeSM struct {
	calls atomic.Int32
	vals  map[string]string
}

func (f *fakeSM) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.calls.Add(1)
	v, ok := f.vals[aws.ToString(in.SecretId)]
	if !ok {
		return nil, errors.New("ResourceNotFoundException")
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(v)}, nil
}

func TestSecrets(t *testing.T) {
	ctx := context.Background()
	api := &fakeSM{vals: map[string]string{"plain": "pw1", "json": `{"password":"pw2"}`, "nojson": `{"user":"x"}`, "empty": ""}}
	var made int
	s := &pecmail.Secrets{API: func() (pecmail.SecretsAPI, error) { made++; return api, nil }}
	for _, tc := range []struct {
		ref  tenants.Secret
		want string
		err  string
	}{
		{tenants.Secret{Secret: "plain"}, "pw1", ""},
		{tenants.Secret{Secret: "plain"}, "pw1", ""},
		{tenants.Secret{Secret: "json"}, "pw2", ""},
		{tenants.Secret{Secret: "nojson"}, "", "password"},
		{tenants.Secret{Secret: "empty"}, "", "empty"},
		{tenants.Secret{Secret: "missing"}, "", "ResourceNotFound"},
		{tenants.Secret{Password: "inline"}, "", "inline"},
		{tenants.Secret{}, "", "neither"},
		{tenants.Secret{Password: "a", Secret: "b"}, "", "both"},
	} {
		got, err := s.Resolve(ctx, tc.ref)
		if got != tc.want || (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%+v: %q %v", tc.ref, got, err)
		}
	}
	if made != 1 || api.calls.Load() != 5 { // plain read once, cached
		t.Errorf("client made %d times, %d calls", made, api.calls.Load())
	}
	if got, err := pecmail.LocalSecrets().Resolve(ctx, tenants.Secret{Password: "x"}); got != "x" || err != nil {
		t.Errorf("local: %q %v", got, err)
	}
	if _, err := pecmail.LocalSecrets().Resolve(ctx, tenants.Secret{Secret: "x"}); err == nil {
		t.Error("local resolved a secret name")
	}
	if _, err := (&pecmail.Secrets{API: func() (pecmail.SecretsAPI, error) { return nil, errors.New("no") }}).Resolve(ctx, tenants.Secret{Secret: "x"}); err == nil {
		t.Error("client error ignored")
	}
}

func world(t *testing.T) (*sim.World, tenants.Tenant, *pecmail.SMTP, *pecmail.IMAP) {
	cfg := sim.Default()
	cfg.Dir = t.TempDir()
	cfg.Procura.Disabled = true
	w := simtest.Start(t, cfg)
	tn := tenants.Demo().Tenants[0]
	tn.PEC.SMTP, tn.PEC.IMAP = w.SMTPAddr, w.IMAPAddr
	tn.PEC.Auth = tenants.Secret{Password: w.Password(tn.PEC.Address)}
	tlsCfg, err := pecmail.TLSWithRoots(w.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	trust, _ := pec.ParseTrustStore(w.CAPEM)
	sec := pecmail.LocalSecrets()
	return w, tn, &pecmail.SMTP{Secrets: sec, TLS: tlsCfg, Timeout: 5 * time.Second},
		&pecmail.IMAP{Secrets: sec, TLS: tlsCfg, TrustStore: trust, Folders: []string{"Archivio", "INBOX"}, Timeout: 5 * time.Second}
}

func message(t *testing.T, from string) ([]byte, string) {
	var b bytes.Buffer
	id, err := compose.Write(&b, compose.Mail{From: from, To: []string{sim.Procura}, Subject: "prova", Text: "prova\r\n"})
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), id
}

func TestSendAndReceipt(t *testing.T) {
	w, tn, smtp, im := world(t)
	ctx := context.Background()
	raw, id := message(t, tn.PEC.Address)
	if k, err := im.Receipt(ctx, tn, id); k != "" || err != nil {
		t.Fatalf("before sending: %q %v", k, err)
	}
	if err := smtp.Send(ctx, tn, tn.PEC.Address, []string{sim.Procura}, raw); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		k, err := im.Receipt(ctx, tn, id)
		if err != nil {
			t.Fatal(err)
		}
		if k == pec.KindAccettazione {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no acceptance found")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A From that is not the mailbox: the provider refuses it (non-accettazione).
	raw2, id2 := message(t, "altro@pec.comune.prato.test")
	if err := smtp.Send(ctx, tn, tn.PEC.Address, []string{sim.Procura}, raw2); err != nil {
		t.Fatal(err)
	}
	for {
		k, _ := im.Receipt(ctx, tn, id2)
		if k == pec.KindNonAccettazione {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no non-acceptance found")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = w
}

func TestSendNotSent(t *testing.T) {
	w, tn, smtp, im := world(t)
	ctx := context.Background()
	raw, _ := message(t, tn.PEC.Address)
	notSent := func(name string, err error) {
		t.Helper()
		var se *pecmail.SendError
		if !errors.As(err, &se) || !se.NotSent() {
			t.Errorf("%s: %v, want a NotSent error", name, err)
		}
	}
	bad := tn
	bad.PEC.Auth = tenants.Secret{Password: "wrong"}
	notSent("wrong password", smtp.Send(ctx, bad, tn.PEC.Address, []string{sim.Procura}, raw))
	noAuth := tn
	noAuth.PEC.Auth = tenants.Secret{Secret: "x"}
	notSent("unresolvable secret", smtp.Send(ctx, noAuth, tn.PEC.Address, []string{sim.Procura}, raw))
	notSent("no recipient", smtp.Send(ctx, tn, tn.PEC.Address, nil, raw))
	badAddr := tn
	badAddr.PEC.SMTP = "nowhere"
	notSent("bad address", smtp.Send(ctx, badAddr, tn.PEC.Address, []string{sim.Procura}, raw))
	w.Provider.SetFaults(provider.Faults{RefuseSMTP: true})
	notSent("refused", smtp.Send(ctx, tn, tn.PEC.Address, []string{sim.Procura}, raw))
	untrusted := *smtp
	untrusted.TLS = nil
	w.Provider.SetFaults(provider.Faults{})
	notSent("untrusted certificate", untrusted.Send(ctx, tn, tn.PEC.Address, []string{sim.Procura}, raw))

	if _, err := im.Receipt(ctx, bad, "<x@y>"); err == nil {
		t.Error("imap: wrong password accepted")
	}
	if _, err := im.Receipt(ctx, tn, ""); err == nil {
		t.Error("imap: empty id accepted")
	}
	if _, err := pecmail.TLSWithRoots("/nonexistent"); err == nil {
		t.Error("missing roots file accepted")
	}
}

package preflight_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/casellario-pec/casellario/shared/localdev/sim"
	"github.com/casellario-pec/casellario/shared/pec/compose"
	"github.com/casellario-pec/casellario/shared/pec/pki"
	"github.com/casellario-pec/casellario/shared/pecmail"
	"github.com/casellario-pec/casellario/shared/preflight"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// fakeSM is a Secrets Manager holding a few secrets; errs answer for others.
type fakeSM struct {
	vals map[string]string
	errs map[string]error
}

func (f *fakeSM) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	id := aws.ToString(in.SecretId)
	if err, ok := f.errs[id]; ok {
		return nil, err
	}
	v, ok := f.vals[id]
	if !ok {
		return nil, &smtypes.ResourceNotFoundException{Message: aws.String("Secrets Manager can't find the specified secret.")}
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(v)}, nil
}

// fakeScheduler holds schedules by name; errs answer for some names.
type fakeScheduler struct {
	schedules map[string]*scheduler.GetScheduleOutput
	errs      map[string]error
	updates   []*scheduler.UpdateScheduleInput
	updateErr error
}

func (f *fakeScheduler) GetSchedule(_ context.Context, in *scheduler.GetScheduleInput, _ ...func(*scheduler.Options)) (*scheduler.GetScheduleOutput, error) {
	name := aws.ToString(in.Name)
	if err, ok := f.errs[name]; ok {
		return nil, err
	}
	s, ok := f.schedules[name]
	if !ok || aws.ToString(in.GroupName) != preflight.ScheduleGroup {
		return nil, &schedtypes.ResourceNotFoundException{Message: aws.String("Schedule " + name + " does not exist.")}
	}
	out := *s
	return &out, nil
}

func (f *fakeScheduler) UpdateSchedule(_ context.Context, in *scheduler.UpdateScheduleInput, _ ...func(*scheduler.Options)) (*scheduler.UpdateScheduleOutput, error) {
	if f.updateErr != nil {
		return nil, f.updateErr
	}
	f.updates = append(f.updates, in)
	s := f.schedules[aws.ToString(in.Name)]
	s.State = in.State
	return &scheduler.UpdateScheduleOutput{ScheduleArn: s.Arn}, nil
}

// deployed returns the schedules a deploy creates for tenants, in state.
func deployed(state schedtypes.ScheduleState, tenantIDs ...string) *fakeScheduler {
	f := &fakeScheduler{schedules: map[string]*scheduler.GetScheduleOutput{}, errs: map[string]error{}}
	names := []string{preflight.SweepSchedule}
	for _, id := range tenantIDs {
		names = append(names, preflight.TenantSchedules(id)...)
	}
	created, modified := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC), time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)
	start, end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2036, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, n := range names {
		f.schedules[n] = &scheduler.GetScheduleOutput{
			Name: aws.String(n), GroupName: aws.String(preflight.ScheduleGroup), State: state,
			Arn:                        aws.String("arn:aws:scheduler:eu-south-1:123456789012:schedule/default/" + n),
			ScheduleExpression:         aws.String("cron(0/2 * * * ? *)"),
			ScheduleExpressionTimezone: aws.String("Europe/Rome"),
			FlexibleTimeWindow:         &schedtypes.FlexibleTimeWindow{Mode: schedtypes.FlexibleTimeWindowModeOff},
			Target: &schedtypes.Target{Arn: aws.String("arn:aws:lambda:eu-south-1:123456789012:function:casellario-poll"),
				RoleArn: aws.String("arn:aws:iam::123456789012:role/sched"), Input: aws.String(`{"detail":{}}`),
				RetryPolicy:      &schedtypes.RetryPolicy{MaximumRetryAttempts: aws.Int32(2), MaximumEventAgeInSeconds: aws.Int32(600)},
				DeadLetterConfig: &schedtypes.DeadLetterConfig{Arn: aws.String("arn:aws:sqs:eu-south-1:123456789012:casellario-poll-dlq")}},
			ActionAfterCompletion: schedtypes.ActionAfterCompletionNone,
			Description:           aws.String("poll for a tenant"),
			KmsKeyArn:             aws.String("arn:aws:kms:eu-south-1:123456789012:key/k"),
			StartDate:             &start, EndDate: &end, CreationDate: &created, LastModificationDate: &modified,
		}
	}
	return f
}

func apiErr(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: code + " for the test"}
}

func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// certServer is a TLS server on a loopback address whose certificate,
// issued by ca, names name only and expires at notAfter; it says nothing
// after the handshake.
func certServer(t *testing.T, ca *pki.CA, name string, notAfter time.Time) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: name},
		DNSNames: []string{name}, NotBefore: notAfter.Add(-48 * time.Hour), NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	if ip := net.ParseIP(name); ip != nil {
		tmpl.DNSNames, tmpl.IPAddresses = nil, []net.IP{ip}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Certificate, &key.PublicKey, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	if err != nil {
		t.Fatal(err)
	}
	serve(t, ln, func(c net.Conn) { _ = c.(*tls.Conn).Handshake() })
	return ln.Addr().String()
}

// serve runs fn on each connection of ln, then closes it.
func serve(t *testing.T, ln net.Listener, fn func(net.Conn)) {
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { fn(c); c.Close() }()
		}
	}()
}

// plainServer greets in clear, as an IMAP server on the non-TLS port would.
func plainServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serve(t, ln, func(c net.Conn) { _, _ = io.WriteString(c, "* OK IMAP4rev1 ready, no TLS here\r\n") })
	return ln.Addr().String()
}

// silentServer accepts connections and never answers (a firewall that drops).
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serve(t, ln, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	return ln.Addr().String()
}

// faults make an IMAP session refuse some commands.
type faults struct{ selectNO, listNO, fetchNO bool }

type faultySession struct {
	imapserver.Session
	f faults
}

func (s *faultySession) Select(name string, o *imap.SelectOptions) (*imap.SelectData, error) {
	if s.f.selectNO {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "mailbox busy"}
	}
	return s.Session.Select(name, o)
}

func (s *faultySession) List(w *imapserver.ListWriter, ref string, patterns []string, o *imap.ListOptions) error {
	if s.f.listNO {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Text: "list refused"}
	}
	return s.Session.List(w, ref, patterns, o)
}

func (s *faultySession) Fetch(w *imapserver.FetchWriter, set imap.NumSet, o *imap.FetchOptions) error {
	if s.f.fetchNO && len(o.BodySection) > 0 && o.BodySection[0].Specifier == imap.PartSpecifierNone {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Text: "fetch refused"}
	}
	return s.Session.Fetch(w, set, o)
}

// rev1Server is an IMAP server over TLS announcing IMAP4rev1 only (no MOVE,
// no UIDPLUS, no NAMESPACE), with one user whose INBOX holds msgs, refusing
// what f says.
func rev1Server(t *testing.T, ca *pki.CA, user, password string, f faults, msgs ...[]byte) string {
	t.Helper()
	cert, err := ca.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	mem := imapmemserver.New()
	u := imapmemserver.NewUser(user, password)
	if err := u.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if _, err := u.Append("INBOX", bytes.NewReader(m), &imap.AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mem.AddUser(u)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &faultySession{Session: mem.NewSession(), f: f}, nil, nil
		},
		Caps: imap.CapSet{imap.CapIMAP4rev1: {}},
	})
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// expiredPEM is a self-signed certificate that expired in 2020.
func expiredPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "Old provider"},
		NotBefore: time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// tamper flips one base64 character near the end of the smime.p7s part: the
// signature value changes, the structure stays readable.
func tamper(t *testing.T, raw []byte) []byte {
	t.Helper()
	i := bytes.Index(raw, []byte("smime.p7s"))
	if i < 0 {
		t.Fatal("no smime.p7s part in the receipt")
	}
	body := i + bytes.Index(raw[i:], []byte("\r\n\r\n")) + 4
	end := body + bytes.Index(raw[body:], []byte("\r\n--"))
	block := bytes.TrimRight(raw[body:end], "=\r\n")
	pos := body + len(block) - 8
	out := bytes.Clone(raw)
	if out[pos] == 'A' {
		out[pos] = 'B'
	} else {
		out[pos] = 'A'
	}
	return out
}

type fixture struct {
	w           *sim.World
	ca          *pki.CA
	all         *tenants.Config
	prato       tenants.Tenant // has receipts in its INBOX
	vaiano      tenants.Tenant // an empty mailbox
	sm          *fakeSM
	roots       *tls.Config
	trustFile   string
	notices     *preflight.Notices
	dir         string
	passwords   []string
	receiptRaw  []byte
	rev1Tenant  tenants.Tenant
	bothRoots   *tls.Config
	closed      string
	inboundHost string
	inboundPort int
}

func setup(t *testing.T) *fixture {
	t.Helper()
	cfg := sim.Default()
	cfg.Dir = t.TempDir()
	cfg.Procura.Disabled = true
	cfg.Inbound = "127.0.0.1:0"
	w, err := sim.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	f := &fixture{w: w, dir: t.TempDir(), closed: closedAddr(t), trustFile: w.CAFile}
	f.roots, err = pecmail.TLSWithRoots(w.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	f.all = tenants.Demo()
	f.sm = &fakeSM{vals: map[string]string{}, errs: map[string]error{}}
	for i := range f.all.Tenants {
		tn := &f.all.Tenants[i]
		tn.PEC.IMAP, tn.PEC.SMTP = w.IMAPAddr, w.SMTPAddr
		tn.PEC.Auth = tenants.Secret{Secret: "casellario/pec/" + tn.ID}
		f.sm.vals[tn.PEC.Auth.Secret] = `{"password":"` + w.Password(tn.PEC.Address) + `"}`
		f.passwords = append(f.passwords, w.Password(tn.PEC.Address))
	}
	f.prato, f.vaiano = f.all.Tenants[0], f.all.Tenants[1]
	// The notices' relay: the simulator's submission port, logging in as Vaiano.
	host, port, _ := net.SplitHostPort(w.SMTPAddr)
	p, _ := strconv.Atoi(port)
	f.sm.vals["casellario/smtp"] = `{"password":"` + w.Password(sim.ComuneVaiano) + `"}`
	f.notices = &preflight.Notices{Host: host, Port: p, TLS: pecmail.SMTPImplicitTLS, User: sim.ComuneVaiano,
		From: "casellario@comune.prato.test", Secret: "casellario/smtp", TLSConfig: f.roots}
	ih, ip, _ := net.SplitHostPort(w.InboundAddr)
	f.inboundHost = ih
	f.inboundPort, _ = strconv.Atoi(ip)

	// One PEC sent by Prato: its acceptance and delivery receipts are in its INBOX at once.
	var msg bytes.Buffer
	if _, err := compose.Write(&msg, compose.Mail{From: sim.ComunePrato, To: []string{sim.Procura}, Subject: "prova", Text: "prova\r\n"}); err != nil {
		t.Fatal(err)
	}
	sender := &pecmail.SMTP{Secrets: pecmail.LocalSecrets(), TLS: f.roots, Timeout: 5 * time.Second}
	local := f.prato
	local.PEC.Auth = tenants.Secret{Password: w.Password(sim.ComunePrato)}
	if err := sender.Send(context.Background(), local, sim.ComunePrato, []string{sim.Procura}, msg.Bytes()); err != nil {
		t.Fatal(err)
	}
	// A copy of one receipt, for the tampered-signature case.
	im := &pecmail.IMAP{Secrets: pecmail.LocalSecrets(), TLS: f.roots, Timeout: 5 * time.Second}
	mb, err := im.Dial(context.Background(), &local)
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	if _, err := mb.Open(context.Background(), "INBOX", true); err != nil {
		t.Fatal(err)
	}
	uids, err := mb.SearchHeader(context.Background(), "X-Ricevuta", "")
	if err != nil || len(uids) == 0 {
		t.Fatalf("no receipt after sending: %v %v", uids, err)
	}
	if err := mb.Fetch(context.Background(), uids[0], func(r io.Reader) error {
		f.receiptRaw, err = io.ReadAll(r)
		return err
	}); err != nil {
		t.Fatal(err)
	}

	// A server announcing IMAP4rev1 only, trusted by a pool holding both CAs.
	f.ca, err = pki.New("Rev1 provider CA", false)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(w.CAPEM)
	pool.AppendCertsFromPEM(f.ca.PEM())
	f.bothRoots = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	f.rev1Tenant = f.prato
	f.rev1Tenant.PEC.IMAP = rev1Server(t, f.ca, sim.ComunePrato, w.Password(sim.ComunePrato), faults{})
	f.rev1Tenant.PEC.Mode = tenants.MailboxDedicated
	return f
}

// config is the AWS-like configuration of a good Comune: secrets in Secrets
// Manager, schedules deployed and disabled.
func (f *fixture) config(tn tenants.Tenant) preflight.Config {
	return preflight.Config{
		Tenant:    tn,
		All:       f.all,
		Secrets:   &pecmail.Secrets{API: func() (pecmail.SecretsAPI, error) { return f.sm, nil }},
		TLS:       f.roots,
		TrustFile: f.trustFile,
		Notices:   f.notices,
		Schedules: deployed(schedtypes.ScheduleStateDisabled, "c_g999", "c_l537"),
		Timeout:   5 * time.Second,
	}
}

// want is what one check must say: its status and words of its detail or fix.
type want struct {
	status preflight.Status
	words  string
}

func TestRun(t *testing.T) {
	f := setup(t)
	otherCA, err := pki.New("Another provider CA", false)
	if err != nil {
		t.Fatal(err)
	}
	empty := writeFile(t, f.dir, "empty.pem", []byte("no certificates here\n"))
	other := writeFile(t, f.dir, "other.pem", otherCA.PEM())
	expired := writeFile(t, f.dir, "expired.pem", expiredPEM(t))
	garbage := writeFile(t, f.dir, "garbage.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")}))
	mixed := writeFile(t, f.dir, "mixed.pem", append(expiredPEM(t), f.w.CAPEM...))
	if err := f.w.Provider.Append(sim.ComuneVaiano, "INBOX", tamper(t, f.receiptRaw)); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		tenant tenants.Tenant
		edit   func(c *preflight.Config)
		want   map[string]want
	}{
		{"a good Comune passes every check", f.prato, nil, map[string]want{
			"pec-secret":        {preflight.OK, "casellario/pec/c_g999"},
			"imap-connect":      {preflight.OK, "TLS 1.3"},
			"imap-login":        {preflight.OK, "accepted"},
			"imap-capabilities": {preflight.OK, "IMAP4rev2"},
			"imap-inbox":        {preflight.OK, "UIDVALIDITY"},
			"imap-archive":      {preflight.Skip, "shared mailbox"},
			"trust-store":       {preflight.OK, "1 certificate, 0 expired"},
			"trust-provider":    {preflight.OK, "valid against the trust store"},
			"smtp-connect":      {preflight.OK, "localhost"},
			"smtp-login":        {preflight.OK, "nothing sent"},
			"procura":           {preflight.OK, "casellario@pec.procura.prato.test"},
			"notices-smtp":      {preflight.OK, "login as protocollo@pec.comune.vaiano.test accepted"},
			"schedules":         {preflight.OK, "casellario-poll-c-g999 DISABLED"},
		}},
		{"a wrong password", f.prato, func(c *preflight.Config) {
			f.sm.vals["casellario/pec/wrong"] = `{"password":"not-the-password"}`
			c.Tenant.PEC.Auth = tenants.Secret{Secret: "casellario/pec/wrong"}
		}, map[string]want{
			"pec-secret":     {preflight.OK, "not the placeholder"},
			"imap-connect":   {preflight.OK, ""},
			"imap-login":     {preflight.Fail, "put-secret-value --secret-id casellario/pec/wrong"},
			"smtp-login":     {preflight.Fail, "refused"},
			"trust-provider": {preflight.Skip, "no IMAP session"},
		}},
		{"a placeholder secret", f.prato, func(c *preflight.Config) {
			f.sm.vals["casellario/pec/new"] = `{"placeholder":true,"note":"replace","password":"GeneratedXyz"}`
			c.Tenant.PEC.Auth = tenants.Secret{Secret: "casellario/pec/new"}
		}, map[string]want{
			"pec-secret":   {preflight.Fail, "placeholder"},
			"imap-connect": {preflight.OK, ""},
			"imap-login":   {preflight.Skip, "lockout"},
			"smtp-login":   {preflight.Skip, "not usable"},
		}},
		{"a secret that does not exist", f.prato, func(c *preflight.Config) {
			c.Tenant.PEC.Auth = tenants.Secret{Secret: "casellario/pec/none"}
		}, map[string]want{"pec-secret": {preflight.Fail, "does not exist"}, "imap-login": {preflight.Skip, ""}}},
		{"a secret these credentials cannot read", f.prato, func(c *preflight.Config) {
			f.sm.errs["casellario/pec/denied"] = apiErr("AccessDeniedException")
			c.Tenant.PEC.Auth = tenants.Secret{Secret: "casellario/pec/denied"}
		}, map[string]want{"pec-secret": {preflight.Fail, "kms:Decrypt"}}},
		{"Secrets Manager unreachable", f.prato, func(c *preflight.Config) {
			f.sm.errs["casellario/pec/net"] = errors.New("dial tcp: lookup secretsmanager: no such host")
			c.Tenant.PEC.Auth = tenants.Secret{Secret: "casellario/pec/net"}
		}, map[string]want{"pec-secret": {preflight.Fail, "AWS_PROFILE"}}},
		{"another Secrets Manager error", f.prato, func(c *preflight.Config) {
			f.sm.errs["casellario/pec/throttled"] = apiErr("ThrottlingException")
			c.Tenant.PEC.Auth = tenants.Secret{Secret: "casellario/pec/throttled"}
		}, map[string]want{"pec-secret": {preflight.Fail, "ThrottlingException"}}},
		{"an inline password in AWS", f.prato, func(c *preflight.Config) {
			c.Tenant.PEC.Auth = tenants.Secret{Password: "inline"}
		}, map[string]want{"pec-secret": {preflight.Fail, "name a Secrets Manager secret"}}},
		{"no credentials at all", f.prato, func(c *preflight.Config) {
			c.Tenant.PEC.Auth = tenants.Secret{}
		}, map[string]want{"pec-secret": {preflight.Fail, "pec.auth.secret"}}},
		{"no resolver", f.prato, func(c *preflight.Config) { c.Secrets = nil; c.Notices.Secret = "casellario/smtp" }, map[string]want{
			"pec-secret": {preflight.Fail, "no credentials resolver"}, "notices-smtp": {preflight.Fail, "no credentials resolver"},
		}},
		{"the local run's inline password", f.prato, func(c *preflight.Config) {
			c.Local = true
			c.Secrets = pecmail.LocalSecrets()
			c.Tenant.PEC.Auth = tenants.Secret{Password: f.w.Password(sim.ComunePrato)}
			c.Notices = &preflight.Notices{Host: f.inboundHost, Port: f.inboundPort, TLS: pecmail.SMTPNoTLS}
			c.Schedules = nil
		}, map[string]want{
			"pec-secret":   {preflight.OK, "inline password"},
			"imap-login":   {preflight.OK, ""},
			"notices-smtp": {preflight.OK, "no login"},
			"schedules":    {preflight.Skip, "--dispatch-every"},
		}},
		{"a wrong inline password in the local run", f.prato, func(c *preflight.Config) {
			c.Local = true
			c.Secrets = pecmail.LocalSecrets()
			c.Tenant.PEC.Auth = tenants.Secret{Password: "wrong"}
		}, map[string]want{"imap-login": {preflight.Fail, "endpoints.json"}, "smtp-login": {preflight.Fail, "pec.auth.password"}}},
		{"an unreachable IMAP host", f.prato, func(c *preflight.Config) { c.Tenant.PEC.IMAP = f.closed }, map[string]want{
			"imap-connect":      {preflight.Fail, "connection refused"},
			"imap-login":        {preflight.Skip, "cannot be reached"},
			"imap-capabilities": {preflight.Skip, ""},
			"imap-inbox":        {preflight.Skip, ""},
			"trust-provider":    {preflight.Skip, ""},
			"smtp-login":        {preflight.OK, ""},
		}},
		{"an unreachable SMTP host", f.prato, func(c *preflight.Config) { c.Tenant.PEC.SMTP = f.closed }, map[string]want{
			"smtp-connect": {preflight.Fail, "pec.smtp"},
			"smtp-login":   {preflight.Skip, "cannot be reached"},
			"imap-login":   {preflight.OK, ""},
		}},
		{"an unknown host", f.prato, func(c *preflight.Config) { c.Tenant.PEC.IMAP = "imap.invalid:993" }, map[string]want{
			"imap-connect": {preflight.Fail, "host not found"},
		}},
		{"servers whose CA is not among the TLS roots", f.prato, func(c *preflight.Config) {
			c.TLS = &tls.Config{RootCAs: otherCA.Pool()}
		}, map[string]want{
			"imap-connect": {preflight.Fail, "tlsRootsFile"},
			"smtp-connect": {preflight.Fail, "not signed by a trusted CA"},
		}},
		{"the local run's servers with other roots", f.prato, func(c *preflight.Config) {
			c.Local = true
			c.TLS = &tls.Config{RootCAs: otherCA.Pool()}
		}, map[string]want{"imap-connect": {preflight.Fail, "endpoints.json"}}},
		{"a server certificate for other names", f.prato, func(c *preflight.Config) {
			c.Tenant.PEC.IMAP = certServer(t, f.w.CA, "imap.other.test", time.Now().Add(24*time.Hour))
		}, map[string]want{"imap-connect": {preflight.Fail, "other names"}}},
		{"a server certificate about to expire", f.prato, func(c *preflight.Config) {
			info, _, err := pecmail.ProbeIMAP(context.Background(), f.w.IMAPAddr, f.roots, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			c.Now = func() time.Time { return info.NotAfter.Add(-72 * time.Hour) }
		}, map[string]want{"imap-connect": {preflight.Warn, "renews"}, "smtp-connect": {preflight.Warn, "days"}}},
		{"an empty trust store", f.prato, func(c *preflight.Config) { c.TrustFile = empty }, map[string]want{
			"trust-store":    {preflight.Fail, "holds no certificate"},
			"trust-provider": {preflight.Skip, "no usable trust store"},
		}},
		{"a trust store of another CA", f.prato, func(c *preflight.Config) { c.TrustFile = other }, map[string]want{
			"trust-store":    {preflight.OK, "1 certificate,"},
			"trust-provider": {preflight.Fail, "which the trust store does not hold"},
		}},
		{"another CA's trust store in the local run", f.prato, func(c *preflight.Config) { c.TrustFile = other; c.Local = true }, map[string]want{
			"trust-provider": {preflight.Fail, "endpoints.json's ca"},
		}},
		{"no trust store configured", f.prato, func(c *preflight.Config) { c.TrustFile = "" }, map[string]want{
			"trust-store": {preflight.Fail, "casellario trust build"},
		}},
		{"a trust store file that is missing", f.prato, func(c *preflight.Config) { c.TrustFile = filepath.Join(f.dir, "none.pem") }, map[string]want{
			"trust-store": {preflight.Fail, "no such file"},
		}},
		{"a trust store with a broken certificate", f.prato, func(c *preflight.Config) { c.TrustFile = garbage }, map[string]want{
			"trust-store": {preflight.Fail, "certificate 1"},
		}},
		{"a trust store of expired certificates only", f.prato, func(c *preflight.Config) { c.TrustFile = expired }, map[string]want{
			"trust-store": {preflight.Fail, "its only certificate is expired"},
		}},
		{"a trust store keeping an expired certificate", f.prato, func(c *preflight.Config) { c.TrustFile = mixed }, map[string]want{
			"trust-store":    {preflight.OK, "2 certificates, 1 expired (kept"},
			"trust-provider": {preflight.OK, "valid"},
		}},
		{"a trust store not valid yet", f.prato, func(c *preflight.Config) {
			c.Now = func() time.Time { return time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC) }
		}, map[string]want{"trust-store": {preflight.OK, "1 not valid yet"}}},
		{"a receipt whose signature was altered", f.vaiano, func(c *preflight.Config) {
			c.Tenant.PEC.Auth = tenants.Secret{Secret: "casellario/pec/c_l537"}
		}, map[string]want{"trust-provider": {preflight.Fail, "the signature is invalid"}}},
		{"a dedicated mailbox whose archive exists", f.prato, func(c *preflight.Config) { c.Tenant.PEC.Mode = tenants.MailboxDedicated }, map[string]want{
			"imap-capabilities": {preflight.OK, "MOVE: handled messages are moved"},
			"imap-archive":      {preflight.OK, "folder Archivio exists"},
			"trust-provider":    {preflight.OK, "INBOX UID"},
		}},
		{"a dedicated mailbox whose archive does not exist yet", f.prato, func(c *preflight.Config) {
			c.Tenant.PEC.Mode, c.Tenant.PEC.Folder = tenants.MailboxDedicated, "Elaborati"
		}, map[string]want{
			"imap-archive":   {preflight.OK, "does not exist yet: poll creates it"},
			"trust-provider": {preflight.OK, "valid"},
		}},
		{"a dedicated mailbox on a server without MOVE nor UIDPLUS", f.rev1Tenant, func(c *preflight.Config) {
			c.TLS = f.bothRoots
			c.Tenant.PEC.Auth = tenants.Secret{Secret: "casellario/pec/c_g999"}
		}, map[string]want{
			"imap-capabilities": {preflight.Warn, "never expunges"},
			"imap-archive":      {preflight.OK, "does not exist yet"},
			"trust-provider":    {preflight.Warn, "send one PEC"},
		}},
		{"a shared mailbox on a server without MOVE", f.rev1Tenant, func(c *preflight.Config) {
			c.TLS = f.bothRoots
			c.Tenant.PEC.Mode = tenants.MailboxShared
		}, map[string]want{"imap-capabilities": {preflight.OK, "not needed"}}},
		{"the Procura is the Comune's own mailbox", f.prato, func(c *preflight.Config) { c.Tenant.Procura = sim.ComunePrato }, map[string]want{
			"procura": {preflight.Fail, "this Comune's own PEC mailbox"},
		}},
		{"a Procura sender is another Comune's mailbox", f.prato, func(c *preflight.Config) {
			c.Tenant.ProcuraSenders = []string{"segreteria@pec.procura.prato.test", sim.ComuneVaiano}
		}, map[string]want{"procura": {preflight.Fail, "procura_senders[1] protocollo@pec.comune.vaiano.test is the PEC mailbox of Comune di Vaiano"}}},
		{"a Procura address that is not PEC", f.prato, func(c *preflight.Config) { c.Tenant.Procura = "procura.prato@giustizia.it" }, map[string]want{
			"procura": {preflight.Warn, "does not look like a PEC address"},
		}},
		{"a Procura address at giustiziacert", f.prato, func(c *preflight.Config) { c.Tenant.Procura = "prot.procura.prato@giustiziacert.it" }, map[string]want{
			"procura": {preflight.OK, "giustiziacert.it"},
		}},
		{"a Procura sender that is not an address", f.prato, func(c *preflight.Config) { c.Tenant.ProcuraSenders = []string{"Procura <x@pec.y.it>", "nope"} }, map[string]want{
			"procura": {preflight.Fail, `procura_senders[1] "nope" is not an e-mail address`},
		}},
		{"notices not configured", f.prato, func(c *preflight.Config) { c.Notices = nil }, map[string]want{
			"notices-smtp": {preflight.Skip, "CASELLARIO_SMTP_HOST"},
		}},
		{"notices not configured in the local run", f.prato, func(c *preflight.Config) { c.Notices = nil; c.Local = true }, map[string]want{
			"notices-smtp": {preflight.Skip, "not configured"},
		}},
		{"notices with a wrong password", f.prato, func(c *preflight.Config) {
			f.sm.vals["casellario/smtp-wrong"] = "wrong-smtp-password"
			n := *f.notices
			n.Secret = "casellario/smtp-wrong"
			c.Notices = &n
		}, map[string]want{"notices-smtp": {preflight.Fail, "smtp.user"}}},
		{"notices with a placeholder secret", f.prato, func(c *preflight.Config) {
			f.sm.vals["casellario/smtp-new"] = `{"placeholder":true,"password":"GeneratedXyz"}`
			n := *f.notices
			n.Secret = "casellario/smtp-new"
			c.Notices = &n
		}, map[string]want{"notices-smtp": {preflight.Fail, "login not tried"}}},
		{"notices through an unreachable relay", f.prato, func(c *preflight.Config) {
			n := *f.notices
			n.Host, n.Port = "127.0.0.1", func() int { _, p, _ := net.SplitHostPort(f.closed); v, _ := strconv.Atoi(p); return v }()
			c.Notices = &n
		}, map[string]want{"notices-smtp": {preflight.Fail, "smtp.host"}}},
		{"notices from a bad sender", f.prato, func(c *preflight.Config) {
			n := *f.notices
			n.From = "casellario"
			c.Notices = &n
		}, map[string]want{"notices-smtp": {preflight.Fail, "smtp.from"}}},
		{"notices in clear in AWS", f.prato, func(c *preflight.Config) {
			c.Notices = &preflight.Notices{Host: f.inboundHost, Port: f.inboundPort, TLS: pecmail.SMTPNoTLS}
		}, map[string]want{"notices-smtp": {preflight.Warn, "in clear"}}},
		{"notices with STARTTLS by default", f.prato, func(c *preflight.Config) {
			c.Notices = &preflight.Notices{Host: f.inboundHost, Port: f.inboundPort}
		}, map[string]want{"notices-smtp": {preflight.Fail, "STARTTLS"}}},
		{"schedules not deployed", f.prato, func(c *preflight.Config) { c.Schedules = deployed(schedtypes.ScheduleStateDisabled, "c_l537") }, map[string]want{
			"schedules": {preflight.Fail, "missing: casellario-poll-c-g999, casellario-dispatch-resume-c-g999, casellario-dispatch-c-g999"},
		}},
		{"schedules live", f.prato, func(c *preflight.Config) { c.Schedules = deployed(schedtypes.ScheduleStateEnabled, "c_g999") }, map[string]want{
			"schedules": {preflight.OK, "(live)"},
		}},
		{"schedules live without the sweep", f.prato, func(c *preflight.Config) {
			s := deployed(schedtypes.ScheduleStateEnabled, "c_g999")
			s.schedules[preflight.SweepSchedule].State = schedtypes.ScheduleStateDisabled
			c.Schedules = s
		}, map[string]want{"schedules": {preflight.Warn, "intake sweep"}}},
		{"schedules half enabled", f.prato, func(c *preflight.Config) {
			s := deployed(schedtypes.ScheduleStateDisabled, "c_g999")
			s.schedules["casellario-poll-c-g999"].State = schedtypes.ScheduleStateEnabled
			c.Schedules = s
		}, map[string]want{"schedules": {preflight.Warn, "some enabled"}}},
		{"schedules these credentials cannot read", f.prato, func(c *preflight.Config) {
			s := deployed(schedtypes.ScheduleStateDisabled, "c_g999")
			s.errs["casellario-poll-c-g999"] = apiErr("AccessDeniedException")
			c.Schedules = s
		}, map[string]want{"schedules": {preflight.Fail, "scheduler:GetSchedule"}}},
		{"the Scheduler failing", f.prato, func(c *preflight.Config) {
			s := deployed(schedtypes.ScheduleStateDisabled, "c_g999")
			s.errs["casellario-poll-c-g999"] = errors.New("connection reset")
			c.Schedules = s
		}, map[string]want{"schedules": {preflight.Fail, "connection reset"}}},
		{"an expired server certificate", f.prato, func(c *preflight.Config) {
			c.Tenant.PEC.IMAP = certServer(t, f.w.CA, "127.0.0.1", time.Now().Add(-time.Hour))
		}, map[string]want{"imap-connect": {preflight.Fail, "not valid"}}},
		{"a server without TLS on the IMAPS port", f.prato, func(c *preflight.Config) { c.Tenant.PEC.IMAP = plainServer(t) }, map[string]want{
			"imap-connect": {preflight.Fail, "implicit TLS"},
		}},
		{"a server that never answers", f.prato, func(c *preflight.Config) {
			c.Tenant.PEC.IMAP = silentServer(t)
			c.Timeout = 200 * time.Millisecond // the server never answers: any timeout ends the same way
		}, map[string]want{"imap-connect": {preflight.Fail, "firewall"}}},
		{"a user name other than the address", f.rev1Tenant, func(c *preflight.Config) {
			c.TLS = f.bothRoots
			c.Tenant.PEC.Username = "PROTOCOLLO@pec.comune.prato.test"
			c.Tenant.PEC.IMAP = rev1Server(t, f.ca, "PROTOCOLLO@pec.comune.prato.test", f.w.Password(sim.ComunePrato), faults{})
		}, map[string]want{"imap-login": {preflight.OK, "login as PROTOCOLLO@pec.comune.prato.test accepted"}}},
		{"an INBOX that cannot be opened", f.rev1Tenant, func(c *preflight.Config) {
			c.TLS = f.bothRoots
			c.Tenant.PEC.IMAP = rev1Server(t, f.ca, sim.ComunePrato, f.w.Password(sim.ComunePrato), faults{selectNO: true})
		}, map[string]want{"imap-inbox": {preflight.Fail, "mailbox busy"}, "trust-provider": {preflight.Fail, "mailbox busy"}}},
		{"folders that cannot be listed", f.rev1Tenant, func(c *preflight.Config) {
			c.TLS = f.bothRoots
			c.Tenant.PEC.IMAP = rev1Server(t, f.ca, sim.ComunePrato, f.w.Password(sim.ComunePrato), faults{listNO: true})
		}, map[string]want{"imap-archive": {preflight.Fail, "list refused"}}},
		{"a receipt that cannot be fetched", f.rev1Tenant, func(c *preflight.Config) {
			c.TLS = f.bothRoots
			c.Tenant.PEC.IMAP = rev1Server(t, f.ca, sim.ComunePrato, f.w.Password(sim.ComunePrato), faults{fetchNO: true}, f.receiptRaw)
		}, map[string]want{"trust-provider": {preflight.Fail, "fetch refused"}}},
		{"a receipt on another server, valid", f.rev1Tenant, func(c *preflight.Config) {
			c.TLS = f.bothRoots
			c.Tenant.PEC.IMAP = rev1Server(t, f.ca, sim.ComunePrato, f.w.Password(sim.ComunePrato), faults{}, []byte("Subject: not PEC\r\nX-Trasporto: errore\r\n\r\nhello\r\n"), f.receiptRaw)
		}, map[string]want{"trust-provider": {preflight.OK, "INBOX UID 2"}}},
		{"an envelope that is not a PEC message", f.rev1Tenant, func(c *preflight.Config) {
			c.TLS = f.bothRoots
			c.Tenant.PEC.IMAP = rev1Server(t, f.ca, sim.ComunePrato, f.w.Password(sim.ComunePrato), faults{}, []byte("Subject: not PEC\r\nX-Trasporto: posta-certificata\r\n\r\nhello\r\n"))
		}, map[string]want{"trust-provider": {preflight.Warn, "no signed PEC receipt or envelope"}}},
		{"an external protocol register", f.prato, func(c *preflight.Config) {
			c.Tenant.Protocol = tenants.Protocol{Kind: tenants.ProtocolHTTP, Registry: "PG", URL: "https://protocollo.example.test", Auth: tenants.Secret{Secret: "casellario/protocol/c_g999"}}
			f.sm.vals["casellario/protocol/c_g999"] = `{"placeholder":true,"password":"x"}`
		}, map[string]want{"protocol-secret": {preflight.Fail, "placeholder"}, "pec-secret": {preflight.OK, ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := f.config(tt.tenant)
			if tt.edit != nil {
				tt.edit(&cfg)
			}
			rs := preflight.Run(context.Background(), cfg)
			got := map[string]preflight.Result{}
			for _, r := range rs {
				if _, dup := got[r.Check]; dup {
					t.Errorf("check %s twice", r.Check)
				}
				got[r.Check] = r
				for _, pw := range append(f.passwords, "GeneratedXyz", "not-the-password", "wrong-smtp-password") {
					if strings.Contains(r.Detail+r.Fix, pw) {
						t.Errorf("%s shows a password: %+v", r.Check, r)
					}
				}
				if (r.Status == preflight.Fail || r.Status == preflight.Warn) && r.Fix == "" {
					t.Errorf("%s: %s without a fix: %+v", r.Check, r.Status, r)
				}
			}
			for check, w := range tt.want {
				r, ok := got[check]
				if !ok {
					t.Errorf("no %s check in %+v", check, rs)
					continue
				}
				if r.Status != w.status || !strings.Contains(r.Detail+" | "+r.Fix, w.words) {
					t.Errorf("%s: %s %q (fix %q); want %s with %q", check, r.Status, r.Detail, r.Fix, w.status, w.words)
				}
			}
			if tt.edit == nil {
				if preflight.Failed(rs) || preflight.Count(rs)[preflight.Warn] != 0 || len(rs) != 13 {
					t.Errorf("a good Comune: %+v", rs)
				}
			}
		})
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if rs := preflight.Run(ctx, preflight.Config{Tenant: tenants.Demo().Tenants[0]}); len(rs) != 0 {
		t.Errorf("%d results after cancellation", len(rs))
	}
}

func TestFailedAndCount(t *testing.T) {
	for _, tt := range []struct {
		name   string
		rs     []preflight.Result
		failed bool
		warns  int
	}{
		{"none", nil, false, 0},
		{"ok and skip", []preflight.Result{{Status: preflight.OK}, {Status: preflight.Skip}}, false, 0},
		{"a warning", []preflight.Result{{Status: preflight.OK}, {Status: preflight.Warn}}, false, 1},
		{"a failure", []preflight.Result{{Status: preflight.Warn}, {Status: preflight.Fail}}, true, 1},
	} {
		if preflight.Failed(tt.rs) != tt.failed || preflight.Count(tt.rs)[preflight.Warn] != tt.warns {
			t.Errorf("%s: failed %v, count %v", tt.name, preflight.Failed(tt.rs), preflight.Count(tt.rs))
		}
	}
}

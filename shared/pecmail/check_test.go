package pecmail_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/casellario-pec/casellario/shared/localdev/sim"
	"github.com/casellario-pec/casellario/shared/mailbox"
	"github.com/casellario-pec/casellario/shared/mailbox/mailboxtest"
	"github.com/casellario-pec/casellario/shared/pec/pki"
	"github.com/casellario-pec/casellario/shared/pecmail"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// closedAddr is a loopback address nothing listens on: connecting is refused at once.
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

// rev1Server is an IMAP server over TLS that announces IMAP4rev1 only (no MOVE,
// no UIDPLUS), with one user whose INBOX exists.
func rev1Server(t *testing.T, user, password string) (addr string, roots *tls.Config) {
	t.Helper()
	ca, err := pki.New("Rev1 test CA", false)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	mem := imapmemserver.New()
	u := imapmemserver.NewUser(user, password)
	if err := u.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(u)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps: imap.CapSet{imap.CapIMAP4rev1: {}},
	})
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String(), &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}
}

// memMailbox is a mailbox.Mailbox that is not an IMAP session of pecmail.
func memMailbox(t *testing.T) mailbox.Mailbox {
	t.Helper()
	mb, err := mailboxtest.New().Dial(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return mb
}

func TestProbe(t *testing.T) {
	w, _, smtp, _ := world(t)
	ctx := context.Background()
	closed := closedAddr(t)
	tests := []struct {
		name    string
		imap    bool
		addr    string
		tls     *tls.Config
		err     string
		subject string
	}{
		{"imap", true, w.IMAPAddr, smtp.TLS, "", "localhost"},
		{"smtp", false, w.SMTPAddr, smtp.TLS, "", "localhost"},
		{"imap refused", true, closed, smtp.TLS, "connection refused", ""},
		{"smtp refused", false, closed, smtp.TLS, "connection refused", ""},
		{"imap untrusted certificate", true, w.IMAPAddr, nil, "certificate", ""},
		{"smtp untrusted certificate", false, w.SMTPAddr, nil, "certificate", ""},
		{"imap not host:port", true, "nowhere", smtp.TLS, "not host:port", ""},
		{"smtp not host:port", false, "nowhere", smtp.TLS, "not host:port", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var info pecmail.TLSInfo
			var caps []string
			var err error
			if tt.imap {
				info, caps, err = pecmail.ProbeIMAP(ctx, tt.addr, tt.tls, 5*time.Second)
			} else {
				info, err = pecmail.ProbeSMTP(ctx, tt.addr, tt.tls, 5*time.Second)
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				if pecmail.LoginRefused(err) {
					t.Errorf("%v taken for a refused login", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if info.Subject != tt.subject || info.Issuer == "" || !strings.HasPrefix(info.Version, "TLS 1.") || info.NotAfter.Before(time.Now()) {
				t.Errorf("TLS info %+v", info)
			}
			if tt.imap && !slices.Contains(caps, "IMAP4rev1") {
				t.Errorf("capabilities before login %v", caps)
			}
		})
	}
}

func TestCheckSMTP(t *testing.T) {
	cfg := sim.Default()
	cfg.Dir = t.TempDir()
	cfg.Procura.Disabled = true
	cfg.Inbound = "127.0.0.1:0" // a plain SMTP port without STARTTLS nor AUTH
	w, err := sim.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	roots, err := pecmail.TLSWithRoots(w.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	hostPort := func(addr string) (string, int) {
		h, p, _ := net.SplitHostPort(addr)
		n, _ := strconv.Atoi(p)
		return h, n
	}
	sh, sp := hostPort(w.SMTPAddr)
	ih, ip := hostPort(w.InboundAddr)
	ch, cp := hostPort(closedAddr(t))
	good := w.Password(sim.ComunePrato)
	tests := []struct {
		name     string
		srv      pecmail.SMTPServer
		err      string
		refused  bool
		loggedIn bool
		tls      bool
	}{
		{"implicit TLS and login", pecmail.SMTPServer{Host: sh, Port: sp, TLS: pecmail.SMTPImplicitTLS, Username: sim.ComunePrato, Password: good, TLSConfig: roots}, "", false, true, true},
		{"implicit TLS without login", pecmail.SMTPServer{Host: sh, Port: sp, TLS: pecmail.SMTPImplicitTLS, TLSConfig: roots}, "", false, false, true},
		{"LOGIN mechanism", pecmail.SMTPServer{Host: sh, Port: sp, TLS: pecmail.SMTPImplicitTLS, Username: sim.ComunePrato, Password: good, Auth: "LOGIN", TLSConfig: roots}, "", false, true, true},
		{"wrong password", pecmail.SMTPServer{Host: sh, Port: sp, TLS: pecmail.SMTPImplicitTLS, Username: sim.ComunePrato, Password: "wrong", TLSConfig: roots}, "refused", true, false, false},
		{"plain, no login (a local sink)", pecmail.SMTPServer{Host: ih, Port: ip, TLS: pecmail.SMTPNoTLS}, "", false, false, false},
		{"STARTTLS required but not offered", pecmail.SMTPServer{Host: ih, Port: ip, TLS: pecmail.SMTPStartTLS, TLSConfig: roots}, "STARTTLS", false, false, false},
		{"untrusted certificate", pecmail.SMTPServer{Host: sh, Port: sp, TLS: pecmail.SMTPImplicitTLS, Username: sim.ComunePrato, Password: good}, "certificate", false, false, false},
		{"refused connection", pecmail.SMTPServer{Host: ch, Port: cp, TLS: pecmail.SMTPImplicitTLS, TLSConfig: roots}, "refused", false, false, false},
		{"no port", pecmail.SMTPServer{Host: sh, TLS: pecmail.SMTPImplicitTLS}, "not a server address", false, false, false},
		{"unknown TLS mode", pecmail.SMTPServer{Host: sh, Port: sp, TLS: "ssl"}, "TLS mode", false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.srv.Timeout = 5 * time.Second
			info, err := pecmail.CheckSMTP(context.Background(), tt.srv)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				if pecmail.LoginRefused(err) != tt.refused {
					t.Errorf("LoginRefused(%v) = %v", err, !tt.refused)
				}
				if tt.refused && strings.Contains(err.Error(), "wrong") {
					t.Errorf("the error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if info.LoggedIn != tt.loggedIn || (info.TLS.Version != "") != tt.tls {
				t.Errorf("info %+v", info)
			}
			if tt.tls && info.MaxSize <= 0 {
				t.Errorf("no SIZE announced: %+v", info)
			}
		})
	}
}

func TestSMTPCheckLoginSendsNothing(t *testing.T) {
	w, tn, smtp, im := world(t)
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		tenant func(tenants.Tenant) tenants.Tenant
		err    string
	}{
		{"good", func(t tenants.Tenant) tenants.Tenant { return t }, ""},
		{"user name given", func(t tenants.Tenant) tenants.Tenant { t.PEC.Username = t.PEC.Address; return t }, ""},
		{"wrong password", func(t tenants.Tenant) tenants.Tenant { t.PEC.Auth = tenants.Secret{Password: "wrong"}; return t }, "refused"},
		{"unresolvable secret", func(t tenants.Tenant) tenants.Tenant { t.PEC.Auth = tenants.Secret{Secret: "x"}; return t }, "Secrets Manager"},
		{"bad address", func(t tenants.Tenant) tenants.Tenant { t.PEC.SMTP = "nowhere"; return t }, "not host:port"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := smtp.CheckLogin(ctx, tt.tenant(tn))
			if (tt.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("err %v, want %q", err, tt.err)
			}
		})
	}
	if _, err := (&pecmail.SMTP{}).CheckLogin(ctx, tn); err == nil || !strings.Contains(err.Error(), "no credentials resolver") {
		t.Errorf("no resolver: %v", err)
	}
	// Nothing was submitted: a submission would have an acceptance receipt in the INBOX.
	mb, err := im.Dial(ctx, &tn)
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	st, err := mb.Open(ctx, "INBOX", true)
	if err != nil || st.Messages != 0 {
		t.Errorf("INBOX after the login checks: %+v %v", st, err)
	}
	_ = w
}

func TestListCapabilities(t *testing.T) {
	_, tn, _, im := world(t)
	ctx := context.Background()
	rev1, rev1TLS := rev1Server(t, "rev1@pec.example.test", "pw")
	rev1Tenant := tn
	rev1Tenant.PEC.IMAP = rev1
	rev1Tenant.PEC.Username = "rev1@pec.example.test"
	rev1Tenant.PEC.Auth = tenants.Secret{Password: "pw"}
	rev1IMAP := &pecmail.IMAP{Secrets: pecmail.LocalSecrets(), TLS: rev1TLS, Timeout: 5 * time.Second}
	tests := []struct {
		name          string
		im            *pecmail.IMAP
		tenant        tenants.Tenant
		has           string
		move, uidplus bool
		namespace     bool
	}{
		{"IMAP4rev2 folds MOVE, UIDPLUS and NAMESPACE in", im, tn, "IMAP4rev2", true, true, true},
		{"IMAP4rev1 alone", rev1IMAP, rev1Tenant, "IMAP4rev1", false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mb, err := tt.im.Dial(ctx, &tt.tenant)
			if err != nil {
				t.Fatal(err)
			}
			defer mb.Close()
			caps, err := pecmail.ListCapabilities(ctx, mb)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(caps.Names, tt.has) || caps.Move != tt.move || caps.UIDPlus != tt.uidplus || !slices.IsSorted(caps.Names) {
				t.Errorf("%+v", caps)
			}
			if _, ok, err := pecmail.PersonalNamespace(ctx, mb); ok != tt.namespace || err != nil {
				t.Errorf("namespace announced %v, %v", ok, err)
			}
		})
	}
	if _, err := pecmail.ListCapabilities(ctx, memMailbox(t)); err == nil {
		t.Error("capabilities of a mailbox that is not an IMAP session")
	}
}

func TestFolderExists(t *testing.T) {
	_, tn, _, im := world(t)
	ctx := context.Background()
	mb, err := im.Dial(ctx, &tn)
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	for _, tt := range []struct {
		folder string
		want   bool
	}{
		{"INBOX", true},
		{"inbox", true},
		{"Archivio", true},
		{"archivio", false}, // names other than INBOX are case-sensitive
		{"Elaborati", false},
	} {
		got, err := pecmail.FolderExists(ctx, mb, tt.folder)
		if err != nil || got != tt.want {
			t.Errorf("%s: %v %v, want %v", tt.folder, got, err, tt.want)
		}
	}
	if prefix, ok, err := pecmail.PersonalNamespace(ctx, mb); prefix != "" || !ok || err != nil {
		t.Errorf("personal namespace %q %v %v, want \"\" announced", prefix, ok, err)
	}
	if _, _, err := pecmail.PersonalNamespace(ctx, memMailbox(t)); err == nil {
		t.Error("namespace of a mailbox that is not an IMAP session")
	}
	if _, err := pecmail.FolderExists(ctx, memMailbox(t), "INBOX"); err == nil {
		t.Error("folder lookup on a mailbox that is not an IMAP session")
	}
	// A closed session: LIST fails and says so.
	mb2, err := im.Dial(ctx, &tn)
	if err != nil {
		t.Fatal(err)
	}
	mb2.Close()
	if _, err := pecmail.FolderExists(ctx, mb2, "INBOX"); err == nil {
		t.Error("LIST on a closed session succeeded")
	}
	if _, err := pecmail.ListCapabilities(ctx, mb2); err == nil {
		t.Error("CAPABILITY on a closed session succeeded")
	}
	if _, _, err := pecmail.PersonalNamespace(ctx, mb2); err == nil {
		t.Error("NAMESPACE on a closed session succeeded")
	}
}

func TestLoginRefused(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"login error", &pecmail.LoginError{Protocol: "smtp", User: "u", Err: errors.New("535")}, true},
		{"imap NO", &imap.Error{Type: imap.StatusResponseTypeNo, Text: "bad"}, true},
		{"other", errors.New("connection refused"), false},
		{"nil", nil, false},
	} {
		if got := pecmail.LoginRefused(tt.err); got != tt.want {
			t.Errorf("%s: %v", tt.name, got)
		}
	}
	e := &pecmail.LoginError{Protocol: "imap", User: "u@x", Err: errors.New("NO")}
	if !strings.Contains(e.Error(), "login as u@x refused") || !errors.Is(e, e.Err) {
		t.Errorf("%v", e)
	}
}

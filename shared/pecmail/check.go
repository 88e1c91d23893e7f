package pecmail

// Checks for the preflight (shared/preflight, `casellario doctor`): reach a
// server, log in and out without sending or changing anything, and list what
// an IMAP server can do.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	gomail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"

	"github.com/casellario-pec/casellario/shared/mailbox"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// LoginError is a login the server refused: a wrong user name or password, or
// an account locked or not enabled for this access. The cached secret, if
// any, has been forgotten.
type LoginError struct {
	Protocol string // "imap" or "smtp"
	User     string
	Err      error
}

func (e *LoginError) Error() string {
	return e.Protocol + ": login as " + e.User + " refused: " + e.Err.Error()
}
func (e *LoginError) Unwrap() error { return e.Err }

// LoginRefused reports whether err, from IMAP.Dial, SMTP.Send or
// SMTP.CheckLogin, is the server refusing the credentials (IMAP NO to LOGIN,
// SMTP 530–535) rather than a network, TLS or configuration failure. For
// IMAP.Dial a refused greeting (BYE) counts too: ProbeIMAP tells them apart.
func LoginRefused(err error) bool {
	var le *LoginError
	if errors.As(err, &le) {
		return true
	}
	var ie *imap.Error
	if errors.As(err, &ie) {
		return true
	}
	return authRefused(err)
}

func authRefused(err error) bool {
	var te *textproto.Error
	return errors.As(err, &te) && te.Code >= 530 && te.Code <= 535
}

// TLSInfo is what the TLS handshake with a server showed.
type TLSInfo struct {
	Version  string    // "TLS 1.3"
	Subject  string    // the server certificate's common name (or first DNS name)
	Issuer   string    // its issuer's common name
	NotAfter time.Time // when the server certificate expires
}

func tlsInfo(cs tls.ConnectionState) TLSInfo {
	info := TLSInfo{Version: tls.VersionName(cs.Version)}
	if len(cs.PeerCertificates) > 0 {
		c := cs.PeerCertificates[0]
		info.Subject = c.Subject.CommonName
		if info.Subject == "" && len(c.DNSNames) > 0 {
			info.Subject = c.DNSNames[0]
		}
		info.Issuer = c.Issuer.CommonName
		if info.Issuer == "" {
			info.Issuer = c.Issuer.String()
		}
		info.NotAfter = c.NotAfter
	}
	return info
}

func dialTLS(ctx context.Context, addr string, base *tls.Config, timeout time.Duration) (*tls.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("%q is not host:port", addr)
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: tlsFor(base, host)}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	tc := c.(*tls.Conn)
	_ = tc.SetDeadline(time.Now().Add(timeout))
	return tc, nil
}

// ProbeIMAP connects to an IMAP server with implicit TLS (the certificate
// verified against base's roots for addr's host), waits for its greeting and
// logs out without logging in. The capabilities are those announced before
// login.
func ProbeIMAP(ctx context.Context, addr string, base *tls.Config, timeout time.Duration) (TLSInfo, []string, error) {
	conn, err := dialTLS(ctx, addr, base, timeout)
	if err != nil {
		return TLSInfo{}, nil, fmt.Errorf("imap: connect %s: %w", addr, err)
	}
	info := tlsInfo(conn.ConnectionState())
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	c := imapclient.New(conn, nil)
	defer c.Close()
	if err := c.WaitGreeting(); err != nil {
		return info, nil, fmt.Errorf("imap: greeting of %s: %w", addr, err)
	}
	caps := capNames(c.Caps())
	_ = c.Logout().Wait()
	return info, caps, nil
}

// ProbeSMTP connects to an SMTP server with implicit TLS (SMTPS), reads its
// greeting and says QUIT: no EHLO, no login, nothing sent.
func ProbeSMTP(ctx context.Context, addr string, base *tls.Config, timeout time.Duration) (TLSInfo, error) {
	conn, err := dialTLS(ctx, addr, base, timeout)
	if err != nil {
		return TLSInfo{}, fmt.Errorf("smtp: connect %s: %w", addr, err)
	}
	info := tlsInfo(conn.ConnectionState())
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	host, _, _ := net.SplitHostPort(addr)
	c, err := gosmtp.NewClient(conn, host)
	if err != nil {
		_ = conn.Close()
		return info, fmt.Errorf("smtp: greeting of %s: %w", addr, err)
	}
	_ = c.Quit()
	_ = c.Close()
	return info, nil
}

// Capabilities is what an IMAP server announced after login.
type Capabilities struct {
	Names []string // as announced, sorted
	// Move and UIDPlus are MOVE (RFC 6851) and UIDPLUS (RFC 4315), announced
	// or part of IMAP4rev2: without them a dedicated mailbox's Move falls back
	// (see session.Move).
	Move    bool
	UIDPlus bool
}

func capNames(set imap.CapSet) []string {
	names := make([]string, 0, len(set))
	for c := range set {
		names = append(names, string(c))
	}
	slices.Sort(names)
	return names
}

// ListCapabilities asks the server of mb, a session IMAP.Dial opened, for its
// capabilities (CAPABILITY: after login they often differ from the
// greeting's).
func ListCapabilities(ctx context.Context, mb mailbox.Mailbox) (Capabilities, error) {
	s, ok := mb.(*session)
	if !ok {
		return Capabilities{}, fmt.Errorf("imap: capabilities: %T is not a session of this package", mb)
	}
	defer s.guard(ctx)()
	set, err := s.c.Capability().Wait()
	if err != nil {
		return Capabilities{}, wrap("capability", err)
	}
	return Capabilities{Names: capNames(set), Move: set.Has(imap.CapMove), UIDPlus: set.Has(imap.CapUIDPlus)}, nil
}

// FolderExists reports whether folder exists and can be selected, with LIST
// only: nothing is created or changed.
func FolderExists(ctx context.Context, mb mailbox.Mailbox, folder string) (bool, error) {
	s, ok := mb.(*session)
	if !ok {
		return false, fmt.Errorf("imap: list: %T is not a session of this package", mb)
	}
	defer s.guard(ctx)()
	list, err := s.c.List("", folder, nil).Collect()
	if err != nil {
		return false, wrap("list "+folder, err)
	}
	for _, d := range list {
		// Names are case-sensitive, except INBOX.
		if d.Mailbox != folder && !(strings.EqualFold(folder, "INBOX") && strings.EqualFold(d.Mailbox, "INBOX")) {
			continue
		}
		if slices.Contains(d.Attrs, imap.MailboxAttrNoSelect) || slices.Contains(d.Attrs, imap.MailboxAttrNonExistent) {
			return false, nil
		}
		return true, nil
	}
	return false, nil
}

// PersonalNamespace returns the prefix of the user's own folders (NAMESPACE,
// RFC 2342): "" on most servers, "INBOX." on those that keep every folder
// under the INBOX, where a top-level CREATE is refused. ok is false when the
// server does not announce NAMESPACE.
func PersonalNamespace(ctx context.Context, mb mailbox.Mailbox) (prefix string, ok bool, err error) {
	s, isSession := mb.(*session)
	if !isSession {
		return "", false, fmt.Errorf("imap: namespace: %T is not a session of this package", mb)
	}
	defer s.guard(ctx)()
	caps, err := s.c.Capability().Wait()
	if err != nil {
		return "", false, wrap("capability", err)
	}
	if !caps.Has(imap.CapNamespace) {
		return "", false, nil
	}
	ns, err := s.c.Namespace().Wait()
	if err != nil {
		return "", false, wrap("namespace", err)
	}
	if len(ns.Personal) == 0 {
		return "", false, nil
	}
	return ns.Personal[0].Prefix, true, nil
}

// SMTP TLS modes of SMTPServer.
const (
	SMTPImplicitTLS = "implicit" // TLS from the first byte (SMTPS, port 465)
	SMTPStartTLS    = "starttls" // STARTTLS, required: a server without it fails
	SMTPNoTLS       = "none"     // plain: the local mail sink only
)

// SMTPServer is one SMTP login to check.
type SMTPServer struct {
	Host string
	Port int
	TLS  string // SMTPImplicitTLS, SMTPStartTLS or SMTPNoTLS
	// Username, when set, logs in with Password (AUTH); otherwise no AUTH.
	Username, Password string
	Auth               gomail.SMTPAuthType // default PLAIN
	TLSConfig          *tls.Config         // the roots; ServerName is set to Host
	Timeout            time.Duration       // default DefaultTimeout
}

// SMTPInfo is what a login check learnt of the server.
type SMTPInfo struct {
	TLS      TLSInfo // zero without TLS
	LoggedIn bool    // AUTH succeeded (false when no Username was given)
	// MaxSize is the SIZE the server announced (bytes), 0 when it did not.
	MaxSize int64
}

// CheckSMTP connects, says EHLO, starts TLS as srv says, logs in when a
// user name is given, and says QUIT: no MAIL FROM, nothing is sent. A refused
// login is a *LoginError.
func CheckSMTP(ctx context.Context, srv SMTPServer) (SMTPInfo, error) {
	var info SMTPInfo
	if srv.Host == "" || srv.Port < 1 || srv.Port > 65535 {
		return info, fmt.Errorf("smtp: %q port %d is not a server address", srv.Host, srv.Port)
	}
	timeout := srv.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	tlsConf := tlsFor(srv.TLSConfig, srv.Host)
	opts := []gomail.Option{gomail.WithPort(srv.Port), gomail.WithTimeout(timeout)}
	switch srv.TLS {
	case SMTPImplicitTLS:
		opts = append(opts, gomail.WithSSL(), gomail.WithTLSConfig(tlsConf))
	case SMTPStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory), gomail.WithTLSConfig(tlsConf))
	case SMTPNoTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		return info, fmt.Errorf("smtp: TLS mode %q: want implicit, starttls or none", srv.TLS)
	}
	if srv.Username != "" {
		auth := srv.Auth
		if auth == "" {
			auth = gomail.SMTPAuthPlain
		}
		opts = append(opts, gomail.WithSMTPAuth(auth), gomail.WithUsername(srv.Username), gomail.WithPassword(srv.Password))
	}
	c, err := gomail.NewClient(srv.Host, opts...)
	if err != nil {
		return info, fmt.Errorf("smtp: %w", err)
	}
	addr := net.JoinHostPort(srv.Host, strconv.Itoa(srv.Port))
	sc, err := c.DialToSMTPClientWithContext(ctx)
	if err != nil {
		if srv.Username != "" && authRefused(err) {
			return info, &LoginError{Protocol: "smtp", User: srv.Username, Err: err}
		}
		return info, fmt.Errorf("smtp %s: %w", addr, err)
	}
	defer sc.Close()
	if cs, err := sc.GetTLSConnectionState(); err == nil {
		info.TLS = tlsInfo(*cs)
	}
	info.LoggedIn = srv.Username != ""
	if ok, v := sc.Extension("SIZE"); ok {
		info.MaxSize, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	}
	if err := sc.Quit(); err != nil {
		return info, fmt.Errorf("smtp %s: quit: %w", addr, err)
	}
	return info, nil
}

// CheckLogin logs into the tenant's SMTP submission server as Send does
// (implicit TLS, AUTH with the mailbox's credentials) and says QUIT without
// sending anything. A refused login forgets the cached secret, as Send does,
// and is a *LoginError.
func (s *SMTP) CheckLogin(ctx context.Context, t tenants.Tenant) (SMTPInfo, error) {
	host, portS, err := net.SplitHostPort(t.PEC.SMTP)
	port, perr := strconv.Atoi(portS)
	if err != nil || perr != nil {
		return SMTPInfo{}, fmt.Errorf("smtp: tenant %s: smtp address %q is not host:port", t.ID, t.PEC.SMTP)
	}
	if s.Secrets == nil {
		return SMTPInfo{}, errors.New("smtp: no credentials resolver")
	}
	pass, err := s.Secrets.Resolve(ctx, t.PEC.Auth)
	if err != nil {
		return SMTPInfo{}, fmt.Errorf("smtp: tenant %s: %w", t.ID, err)
	}
	user := t.PEC.Username
	if user == "" {
		user = t.PEC.Address
	}
	info, err := CheckSMTP(ctx, SMTPServer{Host: host, Port: port, TLS: SMTPImplicitTLS, Username: user, Password: pass,
		Auth: s.Auth, TLSConfig: s.TLS, Timeout: s.timeout()})
	var le *LoginError
	if errors.As(err, &le) {
		if f, ok := s.Secrets.(interface{ Forget(tenants.Secret) }); ok {
			f.Forget(t.PEC.Auth)
		}
	}
	return info, err
}

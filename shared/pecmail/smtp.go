package pecmail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/casellario-pec/casellario/shared/tenants"
)

// DefaultTimeout bounds one SMTP or IMAP session.
const DefaultTimeout = 60 * time.Second

// SendError is a failed submission. NotSent reports that the message
// certainly did not leave: the connection, TLS, authentication, MAIL FROM,
// RCPT TO or the DATA command failed, or the server answered the end of the
// data with an error status. Otherwise (the connection broke while or after
// the data was written) the outcome is unknown: the provider may have
// accepted the message.
type SendError struct {
	Stage   string // dial, mail, rcpt, data, write, end
	notSent bool
	Err     error
}

func (e *SendError) Error() string { return "smtp " + e.Stage + ": " + e.Err.Error() }
func (e *SendError) Unwrap() error { return e.Err }

// NotSent reports whether the message certainly did not leave.
func (e *SendError) NotSent() bool { return e.notSent }

// SMTP submits raw messages to a tenant's PEC provider: implicit TLS (SMTPS,
// usually port 465) with AUTH PLAIN, user name tenants.Mailbox.Username (the
// address when empty) and the password from Secrets. It sends the bytes as
// given, so a message stored before sending is sent byte for byte, again if
// needed, with the same Message-ID.
type SMTP struct {
	Secrets SecretResolver
	// TLS is the base TLS configuration (RootCAs: the trusted roots; nil
	// means the system's). ServerName is set to the host of each tenant's
	// smtp address.
	TLS     *tls.Config
	Auth    gomail.SMTPAuthType // default PLAIN
	Timeout time.Duration       // default DefaultTimeout
}

// TLSWithRoots returns a TLS configuration trusting the PEM certificates in
// caFile (e.g. the local simulator's sim.World.CAFile); "" gives the system roots.
func TLSWithRoots(caFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("reading TLS roots: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("TLS roots %s: no PEM certificate", caFile)
	}
	cfg.RootCAs = pool
	return cfg, nil
}

func tlsFor(base *tls.Config, host string) *tls.Config {
	var c *tls.Config
	if base == nil {
		c = &tls.Config{MinVersion: tls.VersionTLS12}
	} else {
		c = base.Clone()
	}
	c.ServerName = host
	return c
}

func (s *SMTP) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return DefaultTimeout
}

func notSent(stage string, err error) error { return &SendError{Stage: stage, notSent: true, Err: err} }

// Send submits raw from the tenant's mailbox to the recipients.
func (s *SMTP) Send(ctx context.Context, t tenants.Tenant, from string, to []string, raw []byte) error {
	if len(to) == 0 || from == "" {
		return notSent("dial", errors.New("a sender and at least one recipient are required"))
	}
	host, portS, err := net.SplitHostPort(t.PEC.SMTP)
	port, perr := strconv.Atoi(portS)
	if err != nil || perr != nil {
		return notSent("dial", fmt.Errorf("tenant %s: smtp address %q is not host:port", t.ID, t.PEC.SMTP))
	}
	if s.Secrets == nil {
		return notSent("dial", errors.New("no credentials resolver"))
	}
	pass, err := s.Secrets.Resolve(ctx, t.PEC.Auth)
	if err != nil {
		return notSent("dial", fmt.Errorf("tenant %s: %w", t.ID, err))
	}
	user := t.PEC.Username
	if user == "" {
		user = t.PEC.Address
	}
	auth := s.Auth
	if auth == "" {
		auth = gomail.SMTPAuthPlain
	}
	c, err := gomail.NewClient(host, gomail.WithPort(port), gomail.WithSSL(), gomail.WithTLSConfig(tlsFor(s.TLS, host)),
		gomail.WithSMTPAuth(auth), gomail.WithUsername(user), gomail.WithPassword(pass), gomail.WithTimeout(s.timeout()))
	if err != nil {
		return notSent("dial", err)
	}
	sc, err := c.DialToSMTPClientWithContext(ctx)
	if err != nil {
		var te *textproto.Error
		if errors.As(err, &te) && te.Code >= 530 && te.Code <= 535 {
			// Authentication refused: read the secret again next time.
			if f, ok := s.Secrets.(interface{ Forget(tenants.Secret) }); ok {
				f.Forget(t.PEC.Auth)
			}
		}
		return notSent("dial", err)
	}
	defer sc.Close()
	if err := sc.Mail(from); err != nil {
		return notSent("mail", err)
	}
	for _, r := range to {
		if err := sc.Rcpt(r); err != nil {
			return notSent("rcpt", err)
		}
	}
	w, err := sc.Data()
	if err != nil {
		return notSent("data", err)
	}
	if _, err := w.Write(raw); err != nil {
		return &SendError{Stage: "write", Err: err}
	}
	if err := w.Close(); err != nil {
		var te *textproto.Error
		if errors.As(err, &te) {
			return notSent("end", err) // the server answered: not accepted
		}
		return &SendError{Stage: "end", Err: err}
	}
	_ = sc.Quit() // accepted; a failed QUIT changes nothing
	return nil
}

// Package preflight checks one Comune before it goes live (`casellario doctor`):
// its PEC secret, the IMAP and SMTP logins to its PEC mailbox (nothing is sent
// and nothing in the mailbox changes), the PEC trust store against a real
// receipt of its provider, the Procura's address, the notices' SMTP relay and,
// in AWS, its EventBridge schedules.
//
// Each check is a small function returning a Result: OK, WARN, FAIL or SKIP
// (not applicable, or not tried because an earlier check failed), what it
// found, and for WARN and FAIL the fix in plain English. Checks that need a
// usable secret are not tried without one: a login with a wrong password
// counts against the mailbox's lockout. Results never carry a password or
// anything of a message but its UID, kind and signer.
package preflight

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	"github.com/casellario-pec/casellario/shared/mailbox"
	"github.com/casellario-pec/casellario/shared/pecmail"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// Status is the outcome of one check.
type Status string

// Statuses, from best to worst; SKIP is neither good nor bad.
const (
	OK   Status = "OK"
	Warn Status = "WARN"
	Fail Status = "FAIL"
	Skip Status = "SKIP"
)

// Result is the outcome of one check.
type Result struct {
	Check  string `json:"check"`  // a stable name: pec-secret, imap-login, ...
	Status Status `json:"status"` // OK, WARN, FAIL or SKIP
	Detail string `json:"detail"` // what was found
	Fix    string `json:"fix,omitempty"`
}

// Failed reports whether any check failed.
func Failed(rs []Result) bool {
	for _, r := range rs {
		if r.Status == Fail {
			return true
		}
	}
	return false
}

// Count returns how many results have each status.
func Count(rs []Result) map[Status]int {
	n := map[Status]int{}
	for _, r := range rs {
		n[r.Status]++
	}
	return n
}

// Notices is the SMTP relay of the notices to offices (the notify function's
// CASELLARIO_SMTP_* settings).
type Notices struct {
	Host string
	Port int
	TLS  string // pecmail.SMTPStartTLS (the default), SMTPImplicitTLS, or SMTPNoTLS (the local mail sink)
	User string // "": no login
	From string
	// Secret names the Secrets Manager secret of the password ("": none).
	Secret    string
	TLSConfig *tls.Config // the roots; nil: the system's
}

// Config is what the checks need to know of one Comune and its system.
type Config struct {
	Tenant tenants.Tenant
	// All is the whole tenants configuration: the Procura must be none of the
	// Comuni's mailboxes. Nil: Tenant alone.
	All *tenants.Config
	// Secrets resolves the tenant's credentials: pecmail.LocalSecrets() for a
	// local run, pecmail.AWSSecrets in AWS (placeholders are refused there).
	Secrets pecmail.SecretResolver
	// TLS holds the roots the PEC provider's IMAP and SMTP servers chain to
	// (nil: the system's).
	TLS *tls.Config
	// TrustFile is the PEM of the PEC providers' certificates; "": not configured.
	TrustFile string
	// Notices is the notices' relay; nil: not configured.
	Notices *Notices
	// Schedules reads the EventBridge schedules; nil for a local run.
	Schedules SchedulerAPI
	// Local says the target is the local run (`casellario dev`): the fixes
	// name its files instead of the deployment's.
	Local bool
	// Timeout bounds each connection and command; default 20 seconds.
	Timeout time.Duration
	// Now is the clock (certificate expiry); default time.Now.
	Now func() time.Time
}

// checker runs the checks of one Config in order; later checks use what
// earlier ones found (a usable secret, a reachable server, an open session).
type checker struct {
	cfg      Config
	now      time.Time
	secretOK bool
	imapUp   bool
	smtpUp   bool
	mb       mailbox.Mailbox
	trust    *x509.CertPool
	imap     *pecmail.IMAP
	smtp     *pecmail.SMTP
}

// Run runs every check and returns their results in order.
func Run(ctx context.Context, cfg Config) []Result {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 20 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &checker{cfg: cfg, now: cfg.Now(),
		imap: &pecmail.IMAP{Secrets: cfg.Secrets, TLS: cfg.TLS, Timeout: cfg.Timeout},
		smtp: &pecmail.SMTP{Secrets: cfg.Secrets, TLS: cfg.TLS, Timeout: cfg.Timeout}}
	defer func() {
		if c.mb != nil {
			_ = c.mb.Close()
		}
	}()
	steps := []func(context.Context) Result{c.pecSecret}
	if cfg.Tenant.Protocol.Kind == tenants.ProtocolHTTP {
		steps = append(steps, c.protocolSecret)
	}
	steps = append(steps,
		c.imapConnect, c.imapLogin, c.imapCapabilities, c.imapInbox, c.imapArchive,
		c.trustStore, c.trustProvider,
		c.smtpConnect, c.smtpLogin,
		c.procura, c.notices, c.schedules)
	out := make([]Result, 0, len(steps))
	for _, step := range steps {
		if ctx.Err() != nil {
			break
		}
		out = append(out, step(ctx))
	}
	return out
}

func ok(check, detail string) Result { return Result{Check: check, Status: OK, Detail: detail} }
func skip(check, detail string) Result {
	return Result{Check: check, Status: Skip, Detail: detail}
}
func warn(check, detail, fix string) Result {
	return Result{Check: check, Status: Warn, Detail: detail, Fix: fix}
}
func fail(check, detail, fix string) Result {
	return Result{Check: check, Status: Fail, Detail: detail, Fix: fix}
}

// user is the login name of the tenant's mailbox.
func (c *checker) user() string {
	if c.cfg.Tenant.PEC.Username != "" {
		return c.cfg.Tenant.PEC.Username
	}
	return c.cfg.Tenant.PEC.Address
}

// passwordFix says where the mailbox's password goes.
func (c *checker) passwordFix() string {
	ref := c.cfg.Tenant.PEC.Auth
	if ref.Secret == "" {
		return "put the mailbox's current password in the tenants file's pec.auth.password (the local run's passwords are in endpoints.json's mailboxes)"
	}
	return fmt.Sprintf(`put the mailbox's current password in the secret: aws secretsmanager put-secret-value --secret-id %s --secret-string '{"password":"…"}'`, ref.Secret)
}

// tlsRootsFix says where the TLS roots of the provider's servers are set.
func (c *checker) tlsRootsFix() string {
	if c.cfg.Local {
		return "the local run's servers chain to its CA (endpoints.json's ca): restart `casellario dev` if the file changed"
	}
	return "set the deployment file's tlsRootsFile (here: CASELLARIO_TLS_ROOTS) to the PEM of the CA the provider's servers chain to, or leave both unset for the system's roots"
}

// connectFailure explains why addr (the tenants file's field) could not be reached.
func (c *checker) connectFailure(check, field, addr string, err error) Result {
	var (
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		dns       *net.DNSError
		netErr    net.Error
	)
	switch {
	case errors.As(err, &unknownCA):
		return fail(check, fmt.Sprintf("%s: the server's certificate is not signed by a trusted CA (%v)", addr, err), c.tlsRootsFix())
	case errors.As(err, &hostname):
		return fail(check, fmt.Sprintf("%s: the server's certificate is for other names (%v)", addr, err),
			fmt.Sprintf("write in %s the host name the certificate names (the provider's documented name, not an IP or an alias)", field))
	case errors.As(err, &invalid):
		return fail(check, fmt.Sprintf("%s: the server's certificate is not valid (%v)", addr, err),
			"tell the PEC provider: its server certificate is expired or unusable; the functions cannot connect either")
	case errors.As(err, &dns):
		return fail(check, fmt.Sprintf("%s: host not found (%v)", addr, err), fmt.Sprintf("check the host name in %s", field))
	case errors.Is(err, syscall.ECONNREFUSED):
		return fail(check, fmt.Sprintf("%s: connection refused", addr),
			fmt.Sprintf("check %s: the provider's host and port (IMAPS is usually 993, SMTPS 465)", field))
	case errors.As(err, &netErr) && netErr.Timeout():
		return fail(check, fmt.Sprintf("%s: no answer in %s", addr, c.cfg.Timeout),
			fmt.Sprintf("check %s and that this machine may connect to it (firewall, proxy)", field))
	}
	return fail(check, fmt.Sprintf("%s: %v", addr, err), fmt.Sprintf("check %s and that the server speaks implicit TLS on that port", field))
}

func tlsDetail(addr string, info pecmail.TLSInfo) string {
	return fmt.Sprintf("%s: %s, certificate %q issued by %q, valid until %s", addr, info.Version, info.Subject, info.Issuer, info.NotAfter.Format(time.DateOnly))
}

// tlsResult is OK, or WARN when the server's certificate expires within two weeks.
func (c *checker) tlsResult(check, addr string, info pecmail.TLSInfo) Result {
	if left := info.NotAfter.Sub(c.now); left < 14*24*time.Hour {
		return warn(check, tlsDetail(addr, info)+fmt.Sprintf(" (in %d days)", int(left.Hours()/24)),
			"ask the PEC provider when it renews the server certificate: once expired, the functions cannot connect")
	}
	return ok(check, tlsDetail(addr, info))
}

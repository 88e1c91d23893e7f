package preflight

import (
	"context"
	"fmt"
	"net"
	"net/mail"
	"strconv"

	"github.com/casellario-pec/casellario/shared/pecmail"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// smtpConnect: a TLS connection to the SMTP submission server and its greeting.
func (c *checker) smtpConnect(ctx context.Context) Result {
	addr := c.cfg.Tenant.PEC.SMTP
	info, err := pecmail.ProbeSMTP(ctx, addr, c.cfg.TLS, c.cfg.Timeout)
	if err != nil {
		return c.connectFailure("smtp-connect", "pec.smtp", addr, err)
	}
	c.smtpUp = true
	return c.tlsResult("smtp-connect", addr, info)
}

// smtpLogin: AUTH with the mailbox's credentials, as dispatch does, then
// QUIT: no MAIL FROM, nothing sent.
func (c *checker) smtpLogin(ctx context.Context) Result {
	if why := c.notTried(c.smtpUp); why != "" {
		return skip("smtp-login", why)
	}
	info, err := c.smtp.CheckLogin(ctx, c.cfg.Tenant)
	if err != nil {
		if pecmail.LoginRefused(err) {
			return fail("smtp-login", err.Error(), c.passwordFix()+
				"; if it is right, check pec.username (default: the address) and that the provider allows SMTP submission for this mailbox")
		}
		return fail("smtp-login", err.Error(), "run doctor again; if it persists, ask the PEC provider")
	}
	return ok("smtp-login", "login as "+c.user()+" accepted, then QUIT: nothing sent"+sizeNote(info.MaxSize))
}

func sizeNote(n int64) string {
	if n <= 0 {
		return ""
	}
	return fmt.Sprintf(" (the server takes messages up to %.0f MB)", float64(n)/(1<<20))
}

// notices: the relay of the notices to offices accepts the login (no
// message is sent).
func (c *checker) notices(ctx context.Context) Result {
	n := c.cfg.Notices
	if n == nil {
		fix := "set CASELLARIO_SMTP_HOST, CASELLARIO_SMTP_PORT, CASELLARIO_SMTP_TLS, CASELLARIO_SMTP_USER, CASELLARIO_SMTP_FROM and CASELLARIO_SMTP_SECRET as in the deployment file's smtp section to check it"
		if c.cfg.Local {
			fix = ""
		}
		return Result{Check: "notices-smtp", Status: Skip, Detail: "not configured: the relay of the notices to offices was not checked", Fix: fix}
	}
	addr := net.JoinHostPort(n.Host, strconv.Itoa(n.Port))
	if n.From != "" {
		if a, err := mail.ParseAddress(n.From); err != nil || a.Address != n.From {
			return fail("notices-smtp", fmt.Sprintf("sender %q is not an e-mail address", n.From), "set smtp.from in the deployment file (CASELLARIO_SMTP_FROM) to an address of the Comune's domain")
		}
	}
	srv := pecmail.SMTPServer{Host: n.Host, Port: n.Port, TLS: n.TLS, Username: n.User, TLSConfig: n.TLSConfig, Timeout: c.cfg.Timeout}
	if srv.TLS == "" {
		srv.TLS = pecmail.SMTPStartTLS
	}
	if n.Secret != "" {
		if c.cfg.Secrets == nil {
			return fail("notices-smtp", "no credentials resolver configured", "this is a bug of the caller: give preflight.Config.Secrets")
		}
		pass, err := c.cfg.Secrets.Resolve(ctx, tenants.Secret{Secret: n.Secret})
		if err != nil {
			r := c.secret(ctx, "notices-smtp", "smtp", tenants.Secret{Secret: n.Secret}, "the SMTP password")
			r.Detail = "login not tried: " + r.Detail
			return r
		}
		srv.Password = pass
	}
	info, err := pecmail.CheckSMTP(ctx, srv)
	if err != nil {
		if pecmail.LoginRefused(err) {
			return fail("notices-smtp", err.Error(), fmt.Sprintf(`check smtp.user in the deployment file and put the relay's password in the secret: aws secretsmanager put-secret-value --secret-id %s --secret-string '{"password":"…"}'`, n.Secret))
		}
		return fail("notices-smtp", fmt.Sprintf("%s (%s): %v", addr, srv.TLS, err), "check smtp.host, smtp.port and smtp.tls in the deployment file (587 with starttls, 465 with implicit)")
	}
	detail := addr + " (" + srv.TLS
	switch {
	case srv.TLS == pecmail.SMTPNoTLS:
		detail = addr + " (no TLS"
	case info.TLS.Version != "":
		detail += ", " + info.TLS.Version
	}
	detail += ")"
	if info.LoggedIn {
		detail += ", login as " + n.User + " accepted"
	} else {
		detail += ", no login"
	}
	detail += ", then QUIT: nothing sent"
	if srv.TLS == pecmail.SMTPNoTLS && !c.cfg.Local {
		return warn("notices-smtp", detail, "use starttls or implicit TLS: notices would cross the network in clear")
	}
	return ok("notices-smtp", detail)
}

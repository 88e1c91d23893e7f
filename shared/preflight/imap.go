package preflight

import (
	"context"
	"fmt"
	"strings"

	"github.com/casellario-pec/casellario/shared/pecmail"
)

// notTried is why a login is not attempted, "" when it may be.
func (c *checker) notTried(up bool) string {
	switch {
	case !c.secretOK:
		return "not tried: the password is not usable (see pec-secret); a wrong one counts against the mailbox's lockout"
	case !up:
		return "not tried: the server cannot be reached"
	}
	return ""
}

// imapConnect: a TLS connection to the IMAP server and its greeting.
func (c *checker) imapConnect(ctx context.Context) Result {
	addr := c.cfg.Tenant.PEC.IMAP
	info, _, err := pecmail.ProbeIMAP(ctx, addr, c.cfg.TLS, c.cfg.Timeout)
	if err != nil {
		return c.connectFailure("imap-connect", "pec.imap", addr, err)
	}
	c.imapUp = true
	return c.tlsResult("imap-connect", addr, info)
}

// imapLogin: LOGIN with the mailbox's credentials, as poll and dispatch do
// (pecmail.IMAP.Dial: a refused login drops the cached secret).
func (c *checker) imapLogin(ctx context.Context) Result {
	if why := c.notTried(c.imapUp); why != "" {
		return skip("imap-login", why)
	}
	mb, err := c.imap.Dial(ctx, &c.cfg.Tenant)
	if err != nil {
		if pecmail.LoginRefused(err) {
			return fail("imap-login", err.Error(), c.passwordFix()+
				"; if it is right, check pec.username (default: the address) and that the provider allows IMAP for this mailbox")
		}
		return fail("imap-login", err.Error(), "run doctor again; if it persists, ask the PEC provider")
	}
	c.mb = mb
	return ok("imap-login", "login as "+c.user()+" accepted")
}

// imapCapabilities lists what the server can do after login. A dedicated
// mailbox moves what poll handled: without MOVE it falls back (see
// pecmail's session.Move), which this says.
func (c *checker) imapCapabilities(ctx context.Context) Result {
	if c.mb == nil {
		return skip("imap-capabilities", "not checked: no IMAP session")
	}
	caps, err := pecmail.ListCapabilities(ctx, c.mb)
	if err != nil {
		return fail("imap-capabilities", err.Error(), "run doctor again; if it persists, ask the PEC provider")
	}
	list := strings.Join(caps.Names, " ")
	pec := c.cfg.Tenant.PEC
	switch {
	case !pec.Dedicated():
		return ok("imap-capabilities", list+" (a shared mailbox is only read: MOVE and UIDPLUS are not needed)")
	case caps.Move:
		return ok("imap-capabilities", list+" (MOVE: handled messages are moved to "+pec.ArchiveFolder()+" in one command)")
	case caps.UIDPlus:
		return warn("imap-capabilities", list+": no MOVE",
			"nothing to do: poll moves each handled message with COPY to "+pec.ArchiveFolder()+", \\Deleted and UID EXPUNGE of that message alone (UIDPLUS), two commands more per message")
	}
	return warn("imap-capabilities", list+": neither MOVE nor UIDPLUS",
		"poll copies each handled message to "+pec.ArchiveFolder()+" and flags it \\Deleted in the INBOX, but never expunges "+
			"(a plain EXPUNGE would also remove what other clients flagged): the INBOX keeps the copies; "+
			"expunge it from the webmail now and then, or ask the provider for MOVE or UIDPLUS")
}

// imapInbox opens the INBOX read-only (EXAMINE): nothing in it changes.
func (c *checker) imapInbox(ctx context.Context) Result {
	if c.mb == nil {
		return skip("imap-inbox", "not checked: no IMAP session")
	}
	st, err := c.mb.Open(ctx, "INBOX", true)
	if err != nil {
		return fail("imap-inbox", err.Error(), "ask the PEC provider: the mailbox's INBOX cannot be opened")
	}
	return ok("imap-inbox", fmt.Sprintf("INBOX opened read-only (EXAMINE): %d messages, UIDVALIDITY %d, UIDNEXT %d", st.Messages, st.UIDValidity, st.UIDNext))
}

// imapArchive: a dedicated mailbox's archive folder exists, or poll can
// create it at its first move. Doctor creates nothing.
func (c *checker) imapArchive(ctx context.Context) Result {
	pec := c.cfg.Tenant.PEC
	if !pec.Dedicated() {
		return skip("imap-archive", "a shared mailbox: nothing is ever moved or flagged, no archive folder is used")
	}
	if c.mb == nil {
		return skip("imap-archive", "not checked: no IMAP session")
	}
	folder := pec.ArchiveFolder()
	exists, err := pecmail.FolderExists(ctx, c.mb, folder)
	if err != nil {
		return fail("imap-archive", err.Error(), "run doctor again; if it persists, ask the PEC provider")
	}
	if exists {
		return ok("imap-archive", "folder "+folder+" exists")
	}
	prefix, announced, err := pecmail.PersonalNamespace(ctx, c.mb)
	if err != nil {
		return fail("imap-archive", err.Error(), "run doctor again; if it persists, ask the PEC provider")
	}
	if announced && prefix != "" && !strings.HasPrefix(folder, prefix) {
		return warn("imap-archive", fmt.Sprintf("folder %s does not exist, and the server keeps personal folders under %q: creating %s may be refused (doctor created nothing)", folder, prefix, folder),
			fmt.Sprintf("set pec.folder to %s%s in the tenants file, or create the folder in the webmail", prefix, folder))
	}
	return ok("imap-archive", "folder "+folder+" does not exist yet: poll creates it at the first handled message (doctor created nothing)")
}

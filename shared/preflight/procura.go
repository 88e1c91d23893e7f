package preflight

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
)

// looksPEC reports whether an address's domain looks like a certified one:
// PEC domains carry "pec" or "cert" in a label (pec.comune.prato.it,
// giustiziacert.it, postacert.it, legalmail.it is the usual exception).
func looksPEC(addr string) bool {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return false
	}
	for _, label := range strings.Split(strings.ToLower(addr[at+1:]), ".") {
		if strings.Contains(label, "pec") || strings.Contains(label, "cert") || label == "legalmail" {
			return true
		}
	}
	return false
}

// procura: the Procura's address and the other addresses it answers from
// look like PEC addresses and are none of the Comuni's own mailboxes.
func (c *checker) procura(context.Context) Result {
	t := c.cfg.Tenant
	addrs := append([]string{t.Procura}, t.ProcuraSenders...)
	fields := []string{"procura"}
	for i := range t.ProcuraSenders {
		fields = append(fields, fmt.Sprintf("procura_senders[%d]", i))
	}
	mailboxes := map[string]string{strings.ToLower(t.PEC.Address): "this Comune's own PEC mailbox"}
	if c.cfg.All != nil {
		for _, o := range c.cfg.All.Tenants {
			if o.ID != t.ID {
				mailboxes[strings.ToLower(o.PEC.Address)] = "the PEC mailbox of " + o.Name + " (" + o.ID + ")"
			}
		}
	}
	var fails, warns []string
	for i, a := range addrs {
		p, err := mail.ParseAddress(a)
		switch {
		case err != nil || p.Address != a:
			fails = append(fails, fmt.Sprintf("%s %q is not an e-mail address", fields[i], a))
		case mailboxes[strings.ToLower(a)] != "":
			fails = append(fails, fmt.Sprintf("%s %s is %s", fields[i], a, mailboxes[strings.ToLower(a)]))
		case !looksPEC(a):
			warns = append(warns, fmt.Sprintf("%s %s does not look like a PEC address (no \"pec\" or \"cert\" in its domain)", fields[i], a))
		}
	}
	const where = "copy the Procura's certified address from the IPA index (indicepa.gov.it) or its letter into the tenants file"
	switch {
	case len(fails) > 0:
		return fail("procura", strings.Join(append(fails, warns...), "; "), where+": requests must never go to a Comune's own mailbox")
	case len(warns) > 0:
		return warn("procura", strings.Join(warns, "; "),
			where+" if it is wrong: a PEC sent to an ordinary address gets no delivery receipt, and replies from it are not certified")
	}
	if len(addrs) == 1 {
		return ok("procura", addrs[0]+": looks like a PEC address, not a Comune's mailbox")
	}
	return ok("procura", strings.Join(addrs, ", ")+": look like PEC addresses, none of them a Comune's mailbox")
}

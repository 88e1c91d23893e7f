package pecmail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// IMAP looks in a tenant's PEC mailbox for the provider's receipts of an
// outgoing message, without changing anything (folders are opened
// read-only, bodies fetched with PEEK).
type IMAP struct {
	Secrets SecretResolver
	TLS     *tls.Config // as SMTP.TLS
	// Folders searched, in order; default INBOX.
	Folders []string
	// TrustStore, when set, makes only receipts validly signed by a trusted
	// provider count.
	TrustStore *x509.CertPool
	Timeout    time.Duration // default DefaultTimeout
}

// Receipt returns what the provider answered to the submission of
// messageID: pec.KindAccettazione when it accepted it (an acceptance, or any
// later receipt that implies one: delivery, delivery error, timeout notice),
// pec.KindNonAccettazione when it refused it, "" when no receipt quoting
// messageID (X-Riferimento-Message-ID and daticert msgid) is found.
func (m *IMAP) Receipt(ctx context.Context, t tenants.Tenant, messageID string) (pec.Kind, error) {
	id := strings.Trim(strings.TrimSpace(messageID), "<>")
	if id == "" {
		return "", errors.New("imap: empty Message-ID")
	}
	if m.Secrets == nil {
		return "", errors.New("imap: no credentials resolver")
	}
	pass, err := m.Secrets.Resolve(ctx, t.PEC.Auth)
	if err != nil {
		return "", fmt.Errorf("imap: tenant %s: %w", t.ID, err)
	}
	user := t.PEC.Username
	if user == "" {
		user = t.PEC.Address
	}
	host, _, err := net.SplitHostPort(t.PEC.IMAP)
	if err != nil {
		return "", fmt.Errorf("imap: tenant %s: imap address %q is not host:port", t.ID, t.PEC.IMAP)
	}
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: tlsFor(m.TLS, host)}
	conn, err := d.DialContext(ctx, "tcp", t.PEC.IMAP)
	if err != nil {
		return "", fmt.Errorf("imap: dial %s: %w", t.PEC.IMAP, err)
	}
	deadline := time.Now().Add(timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = conn.SetDeadline(deadline)
	c := imapclient.New(conn, nil)
	defer c.Close()
	if err := c.Login(user, pass).Wait(); err != nil {
		return "", fmt.Errorf("imap: login as %s: %w", user, err)
	}
	folders := m.Folders
	if len(folders) == 0 {
		folders = []string{"INBOX"}
	}
	var found pec.Kind
	for _, f := range folders {
		k, err := m.search(c, f, "<"+id+">")
		if err != nil {
			return "", err
		}
		if k == pec.KindAccettazione {
			found = k
			break
		}
		if k != "" {
			found = k
		}
	}
	_ = c.Logout().Wait()
	return found, nil
}

func (m *IMAP) search(c *imapclient.Client, folder, msgID string) (pec.Kind, error) {
	if _, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		return "", fmt.Errorf("imap: select %s: %w", folder, err)
	}
	sd, err := c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{
		{Key: "X-Riferimento-Message-ID", Value: strings.Trim(msgID, "<>")},
	}}, nil).Wait()
	if err != nil {
		return "", fmt.Errorf("imap: search %s: %w", folder, err)
	}
	uids := sd.AllUIDs()
	if len(uids) == 0 {
		return "", nil
	}
	section := &imap.FetchItemBodySection{Peek: true}
	bufs, err := c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		return "", fmt.Errorf("imap: fetch %s: %w", folder, err)
	}
	var found pec.Kind
	for _, b := range bufs {
		msg, err := pec.Parse(b.FindBodySection(section), pec.ReadOptions{TrustStore: m.TrustStore})
		if err != nil || !msg.Kind.IsReceipt() || !strings.EqualFold(msg.RefMessageID, msgID) {
			continue
		}
		if m.TrustStore != nil && msg.Signature.Status != pec.SignatureValid {
			continue
		}
		if msg.Kind == pec.KindNonAccettazione {
			found = pec.KindNonAccettazione
			continue
		}
		return pec.KindAccettazione, nil
	}
	return found, nil
}

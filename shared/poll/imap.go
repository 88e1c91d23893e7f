package poll

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/casellario-pec/casellario/shared/tenants"
)

// Dialer opens an authenticated IMAP session to a tenant's PEC mailbox.
type Dialer interface {
	Dial(ctx context.Context, t *tenants.Tenant) (*imapclient.Client, error)
}

// Secrets resolves a credential reference of the tenants configuration
// (pecmail.Secrets satisfies it: Secrets Manager in AWS, inline locally).
type Secrets interface {
	Resolve(ctx context.Context, s tenants.Secret) (string, error)
}

// IMAPDialer is the default Dialer: implicit TLS (IMAPS) to the tenant's
// pec.imap address, LOGIN with pec.username (default: the address) and the
// inline password or the secret named by pec.auth.secret.
type IMAPDialer struct {
	RootCAs    *x509.CertPool // nil: the system roots (locally: the simulator's CA, sim.World.CAFile)
	ServerName string         // TLS server name; default the host of pec.imap
	Secrets    Secrets        // nil: inline passwords only
	Timeout    time.Duration  // connection and login; default 20 s
}

// Dial connects and logs in. When ctx has a deadline the connection gets it
// too (plus a second), so that no IMAP command outlives the run.
func (d *IMAPDialer) Dial(ctx context.Context, t *tenants.Tenant) (*imapclient.Client, error) {
	pass := t.PEC.Auth.Password
	if d.Secrets != nil {
		var err error
		if pass, err = d.Secrets.Resolve(ctx, t.PEC.Auth); err != nil {
			return nil, fmt.Errorf("poll: tenant %s: PEC credentials: %w", t.ID, err)
		}
	} else if pass == "" {
		return nil, fmt.Errorf("poll: tenant %s: the PEC password is a secret but no secret source is configured", t.ID)
	}
	user := t.PEC.Username
	if user == "" {
		user = t.PEC.Address
	}
	host, _, err := net.SplitHostPort(t.PEC.IMAP)
	if err != nil {
		return nil, fmt.Errorf("poll: tenant %s: pec.imap %q: %w", t.ID, t.PEC.IMAP, err)
	}
	name := d.ServerName
	if name == "" {
		name = host
	}
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	nd := &tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout},
		Config: &tls.Config{RootCAs: d.RootCAs, ServerName: name, MinVersion: tls.VersionTLS12}}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := nd.DialContext(dctx, "tcp", t.PEC.IMAP)
	if err != nil {
		return nil, fmt.Errorf("poll: tenant %s: connecting to IMAP: %w", t.ID, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl.Add(time.Second))
	} else {
		_ = conn.SetDeadline(time.Now().Add(15 * time.Minute))
	}
	c := imapclient.New(conn, &imapclient.Options{})
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return nil, fmt.Errorf("poll: tenant %s: IMAP greeting: %w", t.ID, err)
	}
	if err := c.Login(user, pass).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("poll: tenant %s: IMAP login: %w", t.ID, err)
	}
	return c, nil
}

// session is one mailbox's IMAP work.
type session struct {
	c        *imapclient.Client
	folder   string
	haveDest bool
}

// newUIDs returns the UIDs above last, ascending, with one UID SEARCH over
// last+1:* only.
func (s *session) newUIDs(last uint32) ([]imap.UID, error) {
	var set imap.UIDSet
	set.AddRange(imap.UID(last+1), 0) // 0 is "*"
	sd, err := s.c.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{set}}, nil).Wait()
	if err != nil {
		return nil, fmt.Errorf("UID SEARCH: %w", err)
	}
	var out []imap.UID
	for _, u := range sd.AllUIDs() {
		if uint32(u) > last { // "n:*" also matches the highest UID when it is below n
			out = append(out, u)
		}
	}
	return out, nil
}

// fetch returns the whole message (BODY.PEEK[], so \Seen is not set); nil
// when it was expunged meanwhile.
func (s *session) fetch(uid imap.UID) ([]byte, error) {
	section := &imap.FetchItemBodySection{Peek: true}
	msgs, err := s.c.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		return nil, fmt.Errorf("UID FETCH %d: %w", uid, err)
	}
	for _, m := range msgs {
		if m.UID == uid {
			if raw := m.FindBodySection(section); raw != nil {
				return raw, nil
			}
			// No body in the answer: retry next run rather than store an empty message.
			return nil, fmt.Errorf("UID FETCH %d: the server sent no message body", uid)
		}
	}
	return nil, nil
}

func (s *session) flag(uid imap.UID) error {
	return s.c.Store(imap.UIDSetNum(uid), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close()
}

// ensureFolder creates the destination folder when missing.
func (s *session) ensureFolder() error {
	if s.haveDest {
		return nil
	}
	list, err := s.c.List("", s.folder, nil).Collect()
	if err != nil {
		return fmt.Errorf("LIST: %w", err)
	}
	if len(list) == 0 {
		if err := s.c.Create(s.folder, nil).Wait(); err != nil {
			return fmt.Errorf("CREATE %s: %w", s.folder, err)
		}
	}
	s.haveDest = true
	return nil
}

// move moves one message to the folder: MOVE when the server has it, else
// COPY, \Deleted and UID EXPUNGE of that UID only (UIDPLUS); without UIDPLUS
// the message stays flagged \Deleted: never an unscoped EXPUNGE, which would
// also remove messages other clients flagged.
func (s *session) move(uid imap.UID) error {
	if err := s.ensureFolder(); err != nil {
		return err
	}
	set := imap.UIDSetNum(uid)
	caps := s.c.Caps()
	if caps.Has(imap.CapMove) {
		_, err := s.c.Move(set, s.folder).Wait()
		return err
	}
	if _, err := s.c.Copy(set, s.folder).Wait(); err != nil {
		return err
	}
	if err := s.c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		return err
	}
	if caps.Has(imap.CapUIDPlus) {
		return s.c.UIDExpunge(set).Close()
	}
	return nil
}

// serverRefused reports whether err is a NO/BAD answer (the connection is fine).
func serverRefused(err error) bool {
	var ie *imap.Error
	return errors.As(err, &ie)
}

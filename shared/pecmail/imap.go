package pecmail

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/casellario-pec/casellario/shared/mailbox"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// MaxHeader bounds the header read of one message in Summaries: a real PEC
// header is a few KB; a larger one is cut (the rest is read and dropped).
const MaxHeader = 256 << 10

// IMAP is the IMAP adapter of a tenant's PEC mailbox (mailbox.Dialer):
// implicit TLS (IMAPS), LOGIN with pec.username (default: the address) and
// the password from Secrets. Every command is bounded by Timeout and by the
// caller's context, whichever ends first.
type IMAP struct {
	Secrets SecretResolver
	TLS     *tls.Config   // as SMTP.TLS
	Timeout time.Duration // per command and for connecting; default DefaultTimeout
	// Folders searched by Receipt, in order; default INBOX, and the archive
	// folder of a dedicated mailbox (where poll moves what it handled).
	Folders []string
	// TrustStore, when set, makes only receipts validly signed by a trusted
	// provider count in Receipt.
	TrustStore *x509.CertPool
}

var _ mailbox.Dialer = (*IMAP)(nil)

func (m *IMAP) timeout() time.Duration {
	if m.Timeout > 0 {
		return m.Timeout
	}
	return DefaultTimeout
}

// Dial connects and logs in. A refused login drops the cached password (the
// secret may have been changed since it was read).
func (m *IMAP) Dial(ctx context.Context, t *tenants.Tenant) (mailbox.Mailbox, error) {
	if m.Secrets == nil {
		return nil, errors.New("imap: no credentials resolver")
	}
	pass, err := m.Secrets.Resolve(ctx, t.PEC.Auth)
	if err != nil {
		return nil, fmt.Errorf("imap: tenant %s: %w", t.ID, err)
	}
	user := t.PEC.Username
	if user == "" {
		user = t.PEC.Address
	}
	host, _, err := net.SplitHostPort(t.PEC.IMAP)
	if err != nil {
		return nil, fmt.Errorf("imap: tenant %s: imap address %q is not host:port", t.ID, t.PEC.IMAP)
	}
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: m.timeout()}, Config: tlsFor(m.TLS, host)}
	conn, err := d.DialContext(ctx, "tcp", t.PEC.IMAP)
	if err != nil {
		return nil, fmt.Errorf("imap: dial %s: %w", t.PEC.IMAP, err)
	}
	s := &session{conn: conn, timeout: m.timeout(), created: map[string]bool{}}
	s.c = imapclient.New(conn, nil)
	done := s.guard(ctx)
	defer done()
	if err := s.c.WaitGreeting(); err != nil {
		s.c.Close()
		return nil, fmt.Errorf("imap: greeting of %s: %w", t.PEC.IMAP, err)
	}
	if err := s.c.Login(user, pass).Wait(); err != nil {
		s.c.Close()
		var ie *imap.Error
		if errors.As(err, &ie) {
			if f, ok := m.Secrets.(interface{ Forget(tenants.Secret) }); ok {
				f.Forget(t.PEC.Auth)
			}
		}
		return nil, fmt.Errorf("imap: login as %s: %w", user, err)
	}
	return s, nil
}

// session is one IMAP connection (mailbox.Mailbox).
type session struct {
	c        *imapclient.Client
	conn     net.Conn
	timeout  time.Duration
	readOnly bool
	created  map[string]bool // folders known to exist
}

// refused marks a NO or BAD answer: that command failed, the session is fine.
type refused struct{ err error }

func (r refused) Error() string { return r.err.Error() }
func (r refused) Unwrap() error { return r.err }
func (r refused) Refused() bool { return true }

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	var ie *imap.Error
	if errors.As(err, &ie) {
		return refused{fmt.Errorf("imap: %s: %w", what, err)}
	}
	return fmt.Errorf("imap: %s: %w", what, err)
}

// guard bounds the next command by the timeout and by ctx: when ctx ends the
// connection's deadline passes at once, so that a blocked read returns.
func (s *session) guard(ctx context.Context) func() bool {
	dl := time.Now().Add(s.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	_ = s.conn.SetDeadline(dl)
	return context.AfterFunc(ctx, func() { _ = s.conn.SetDeadline(time.Now()) })
}

func (s *session) Open(ctx context.Context, folder string, readOnly bool) (mailbox.Status, error) {
	defer s.guard(ctx)()
	sd, err := s.c.Select(folder, &imap.SelectOptions{ReadOnly: readOnly}).Wait()
	if err != nil {
		return mailbox.Status{}, wrap("select "+folder, err)
	}
	s.readOnly = readOnly
	return mailbox.Status{UIDValidity: sd.UIDValidity, UIDNext: uint32(sd.UIDNext), Messages: sd.NumMessages}, nil
}

func (s *session) UIDsAfter(ctx context.Context, after uint32) ([]uint32, error) {
	defer s.guard(ctx)()
	var set imap.UIDSet
	set.AddRange(imap.UID(after+1), 0) // 0 is "*"
	sd, err := s.c.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{set}}, nil).Wait()
	if err != nil {
		return nil, wrap("uid search", err)
	}
	var out []uint32
	for _, u := range sd.AllUIDs() {
		if uint32(u) > after { // "n:*" also matches the highest UID when it is below n
			out = append(out, uint32(u))
		}
	}
	sortUIDs(out)
	return out, nil
}

func (s *session) SearchHeader(ctx context.Context, field, value string) ([]uint32, error) {
	defer s.guard(ctx)()
	sd, err := s.c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: field, Value: value}}}, nil).Wait()
	if err != nil {
		return nil, wrap("uid search header", err)
	}
	out := make([]uint32, 0, len(sd.AllUIDs()))
	for _, u := range sd.AllUIDs() {
		out = append(out, uint32(u))
	}
	sortUIDs(out)
	return out, nil
}

func uidSet(uids []uint32) imap.UIDSet {
	var set imap.UIDSet
	for _, u := range uids {
		set.AddNum(imap.UID(u))
	}
	return set
}

func (s *session) Summaries(ctx context.Context, uids []uint32) ([]mailbox.Summary, error) {
	if len(uids) == 0 {
		return nil, nil
	}
	defer s.guard(ctx)()
	section := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}
	cmd := s.c.Fetch(uidSet(uids), &imap.FetchOptions{UID: true, RFC822Size: true, BodySection: []*imap.FetchItemBodySection{section}})
	var out []mailbox.Summary
	var noHeader []uint32
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		var sum mailbox.Summary
		got := false
		for item := msg.Next(); item != nil; item = msg.Next() {
			switch it := item.(type) {
			case imapclient.FetchItemDataUID:
				sum.UID = uint32(it.UID)
			case imapclient.FetchItemDataRFC822Size:
				sum.Size = it.Size
			case imapclient.FetchItemDataBodySection:
				if it.Literal != nil {
					b, err := io.ReadAll(io.LimitReader(it.Literal, MaxHeader))
					if err != nil {
						_ = cmd.Close()
						return nil, wrap("fetch header", err)
					}
					_, _ = io.Copy(io.Discard, it.Literal)
					sum.Header, got = b, true
				}
			}
		}
		if sum.UID != 0 {
			out = append(out, sum)
			if !got {
				noHeader = append(noHeader, sum.UID)
			}
		}
	}
	if err := cmd.Close(); err != nil {
		return nil, wrap("fetch headers", err)
	}
	if len(noHeader) > 0 {
		// A message another client expunged while this session still listed
		// it comes back with a NIL header (Dovecot: "BODY[HEADER] NIL",
		// then EXPUNGE): those gone are left out, as ones already gone are.
		there, err := s.existing(noHeader)
		if err != nil {
			return nil, err
		}
		out = slices.DeleteFunc(out, func(m mailbox.Summary) bool {
			return slices.Contains(noHeader, m.UID) && !slices.Contains(there, m.UID)
		})
	}
	sortSummaries(out)
	return out, nil
}

// existing returns those of uids still in the folder.
func (s *session) existing(uids []uint32) ([]uint32, error) {
	sd, err := s.c.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{uidSet(uids)}}, nil).Wait()
	if err != nil {
		return nil, wrap("uid search", err)
	}
	var out []uint32
	for _, u := range sd.AllUIDs() {
		out = append(out, uint32(u))
	}
	return out, nil
}

func (s *session) Fetch(ctx context.Context, uid uint32, fn func(r io.Reader) error) error {
	defer s.guard(ctx)()
	section := &imap.FetchItemBodySection{Peek: true}
	cmd := s.c.Fetch(imap.UIDSetNum(imap.UID(uid)), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}})
	found, body := false, false
	var ferr error
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		for item := msg.Next(); item != nil; item = msg.Next() {
			switch it := item.(type) {
			case imapclient.FetchItemDataUID:
				found = found || uint32(it.UID) == uid
			case imapclient.FetchItemDataBodySection:
				// NIL or empty: no message is empty; see below.
				if it.Literal != nil && it.Literal.Size() > 0 && !body && ferr == nil {
					body = true
					ferr = fn(it.Literal)
				}
				if it.Literal != nil {
					_, _ = io.Copy(io.Discard, it.Literal)
				}
			}
		}
	}
	if err := cmd.Close(); err != nil {
		return wrap(fmt.Sprintf("uid fetch %d", uid), err)
	}
	switch {
	case ferr != nil:
		return ferr
	case !found && !body:
		return mailbox.ErrGone
	case !body:
		// A message another client expunged while this session still
		// listed it comes back without its body (Dovecot: "BODY[] NIL",
		// then EXPUNGE and OK [EXPUNGEISSUED]): gone, when the folder no
		// longer has it.
		there, err := s.existing([]uint32{uid})
		if err != nil {
			return err
		}
		if len(there) == 0 {
			return mailbox.ErrGone
		}
		// An answer without the body: retried later, never stored as empty.
		return fmt.Errorf("imap: uid fetch %d: the server sent no message body", uid)
	}
	return nil
}

func (s *session) Flag(ctx context.Context, uid uint32, flag string) error {
	if s.readOnly {
		return errors.New("imap: flag: the folder is open read-only")
	}
	defer s.guard(ctx)()
	err := s.c.Store(imap.UIDSetNum(imap.UID(uid)), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.Flag(flag)}}, nil).Close()
	return wrap("store flags", err)
}

// Move moves one message: MOVE when the server has it, else COPY, \Deleted
// and UID EXPUNGE of that UID only (UIDPLUS); without UIDPLUS the message
// stays flagged \Deleted: never an unscoped EXPUNGE, which would also remove
// messages other clients flagged.
func (s *session) Move(ctx context.Context, uid uint32, folder string) error {
	if s.readOnly {
		return errors.New("imap: move: the folder is open read-only")
	}
	defer s.guard(ctx)()
	if !s.created[folder] {
		list, err := s.c.List("", folder, nil).Collect()
		if err != nil {
			return wrap("list", err)
		}
		if len(list) == 0 {
			if err := s.c.Create(folder, nil).Wait(); err != nil {
				return wrap("create "+folder, err)
			}
		}
		s.created[folder] = true
	}
	set := imap.UIDSetNum(imap.UID(uid))
	caps := s.c.Caps()
	if caps.Has(imap.CapMove) {
		_, err := s.c.Move(set, folder).Wait()
		return wrap("move", err)
	}
	if _, err := s.c.Copy(set, folder).Wait(); err != nil {
		return wrap("copy", err)
	}
	if err := s.c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		return wrap("store \\Deleted", err)
	}
	if caps.Has(imap.CapUIDPlus) {
		return wrap("uid expunge", s.c.UIDExpunge(set).Close())
	}
	return nil
}

func (s *session) Close() error {
	_ = s.conn.SetDeadline(time.Now().Add(5 * time.Second))
	_ = s.c.Logout().Wait()
	return s.c.Close()
}

// Receipt returns what the provider answered to the submission of
// messageID: pec.KindAccettazione when it accepted it (an acceptance, or any
// later receipt that implies one: delivery, delivery error, timeout notice),
// pec.KindNonAccettazione when it refused it, "" when no receipt quoting
// messageID (X-Riferimento-Message-ID and daticert msgid) is found. Folders
// are opened read-only and bodies fetched without \Seen: nothing changes.
func (m *IMAP) Receipt(ctx context.Context, t tenants.Tenant, messageID string) (pec.Kind, error) {
	id := strings.Trim(strings.TrimSpace(messageID), "<>")
	if id == "" {
		return "", errors.New("imap: empty Message-ID")
	}
	mb, err := m.Dial(ctx, &t)
	if err != nil {
		return "", err
	}
	defer mb.Close()
	folders := m.Folders
	if len(folders) == 0 {
		folders = []string{"INBOX"}
		if t.PEC.Dedicated() { // poll moves what it handled
			folders = append(folders, t.PEC.ArchiveFolder())
		}
	}
	var found pec.Kind
	for _, f := range folders {
		if _, err := mb.Open(ctx, f, true); err != nil {
			if mailbox.Refused(err) && f != "INBOX" {
				continue // a folder that does not exist (yet) holds nothing
			}
			return "", err
		}
		k, err := m.search(ctx, mb, "<"+id+">")
		if err != nil {
			return "", err
		}
		if k == pec.KindAccettazione {
			return k, nil
		}
		if k != "" {
			found = k
		}
	}
	return found, nil
}

// maxReceipt bounds a receipt read by Receipt.
const maxReceipt = 8 << 20

func (m *IMAP) search(ctx context.Context, mb mailbox.Mailbox, msgID string) (pec.Kind, error) {
	uids, err := mb.SearchHeader(ctx, "X-Riferimento-Message-ID", strings.Trim(msgID, "<>"))
	if err != nil {
		return "", err
	}
	var found pec.Kind
	for _, uid := range uids {
		var raw []byte
		err := mb.Fetch(ctx, uid, func(r io.Reader) error {
			var b bytes.Buffer
			if _, err := io.Copy(&b, io.LimitReader(r, maxReceipt+1)); err != nil {
				return err
			}
			raw = b.Bytes()
			return nil
		})
		if errors.Is(err, mailbox.ErrGone) || len(raw) > maxReceipt {
			continue
		}
		if err != nil {
			return "", err
		}
		msg, err := pec.Parse(raw, pec.ReadOptions{TrustStore: m.TrustStore})
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

func sortUIDs(u []uint32) { slices.Sort(u) }

func sortSummaries(s []mailbox.Summary) {
	slices.SortFunc(s, func(a, b mailbox.Summary) int { return cmp.Compare(a.UID, b.UID) })
}

//go:build unix

package dovecot

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// AddUser adds a mailbox user (passwd-file: Dovecot reads it again at the
// next login) with an empty Maildir.
func (s *Server) AddUser(name, password string) error {
	if name == "" || password == "" || strings.ContainsAny(name+password, ":\r\n\t /") || strings.HasPrefix(name, ".") {
		return fmt.Errorf("dovecot: user %q: name and password must be non-empty, without ':', '/', spaces or line breaks", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[name]; ok {
		return fmt.Errorf("dovecot: user %q exists", name)
	}
	home := s.home(name)
	for _, d := range []string{home, filepath.Join(home, "rawlog")} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return fmt.Errorf("dovecot: %w", err)
		}
		if err := os.Lchown(d, s.id.mailUID, s.id.mailGID); err != nil {
			return fmt.Errorf("dovecot: %w", err)
		}
	}
	// Read by the auth process (not root, as root): throw-away passwords.
	line := fmt.Sprintf("%s:{PLAIN}%s:%d:%d::%s::\n", name, password, s.id.mailUID, s.id.mailGID, home)
	if err := os.WriteFile(filepath.Join(s.usersDir(), name), []byte(line), 0o644); err != nil {
		return fmt.Errorf("dovecot: %w", err)
	}
	s.users[name] = password
	return nil
}

func (s *Server) home(name string) string { return filepath.Join(s.Dir, "home", name) }

func (s *Server) password(name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.users[name]
	if !ok {
		return "", fmt.Errorf("dovecot: no user %q", name)
	}
	return p, nil
}

// Deliver delivers raw into a user's folder (created when missing) through
// dovecot-lda, as a mail server would, and returns its UID.
func (s *Server) Deliver(ctx context.Context, name, folder string, raw []byte) (uint32, error) {
	if _, err := s.password(name); err != nil {
		return 0, err
	}
	// The mail_log plugin makes the LDA tell the UID it saved, on stderr.
	out, err := s.command(ctx, bytes.NewReader(raw), s.opts.LDA, "-c", s.conf, "-d", name, "-m", folder,
		"-o", "log_path=/dev/stderr", "-o", "mail_plugins=mail_log notify", "-o", "plugin/mail_log_events=save", "-o", "plugin/mail_log_fields=uid")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(out, "\n") {
		if _, v, ok := strings.Cut(line, "save: uid="); ok {
			v, _, _ = strings.Cut(strings.TrimSpace(v), ",")
			if n, err := strconv.ParseUint(v, 10, 32); err == nil && n > 0 {
				return uint32(n), nil
			}
		}
	}
	return 0, fmt.Errorf("dovecot: delivered to %s, but the LDA did not tell the UID: %q", folder, out)
}

// Recreate deletes a user's folder and creates it anew, empty: a new
// UIDVALIDITY, UIDs from 1 again, as after a provider restored or migrated
// the mailbox. Dovecot never deletes an INBOX, so the INBOX is emptied on
// disk with its UID list and indexes (the Maildir's dovecot-uidvalidity,
// kept, makes the next UIDVALIDITY a new one), once no IMAP session is left
// to write them: call it with no session of the server open.
func (s *Server) Recreate(ctx context.Context, name, folder string) error {
	if _, err := s.password(name); err != nil {
		return err
	}
	if !strings.EqualFold(folder, "INBOX") {
		if _, err := s.command(ctx, nil, s.opts.Doveadm, "-c", s.conf, "mailbox", "delete", "-u", name, folder); err != nil {
			return err
		}
		_, err := s.command(ctx, nil, s.opts.Doveadm, "-c", s.conf, "mailbox", "create", "-u", name, folder)
		return err
	}
	if err := s.idle(ctx); err != nil {
		return err
	}
	root := filepath.Join(s.home(name), "Maildir")
	entries, err := os.ReadDir(root)
	if err != nil {
		return fmt.Errorf("dovecot: %w", err)
	}
	for _, e := range entries {
		n := e.Name()
		switch {
		case n == "cur" || n == "new" || n == "tmp":
			files, err := os.ReadDir(filepath.Join(root, n))
			if err != nil {
				return fmt.Errorf("dovecot: %w", err)
			}
			for _, f := range files {
				if err := os.Remove(filepath.Join(root, n, f.Name())); err != nil {
					return fmt.Errorf("dovecot: %w", err)
				}
			}
		case n == "dovecot-uidlist" || n == "dovecot-keywords" || strings.HasPrefix(n, "dovecot.index") || strings.HasPrefix(n, "dovecot.list.index"):
			if err := os.Remove(filepath.Join(root, n)); err != nil {
				return fmt.Errorf("dovecot: %w", err)
			}
		}
	}
	return nil
}

// Client is a second IMAP client of a user's mailbox (the protocol office's
// software, say), logged in. Close it with Logout and Close.
func (s *Server) Client(ctx context.Context, name string) (*imapclient.Client, error) {
	c, _, err := s.client(ctx, name)
	return c, err
}

func (s *Server) client(ctx context.Context, name string) (*imapclient.Client, net.Conn, error) {
	pass, err := s.password(name)
	if err != nil {
		return nil, nil, err
	}
	conn, err := s.dialTLS(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("dovecot: dial: %w", err)
	}
	// Every command of a harness client is bounded: a test never hangs.
	_ = conn.SetDeadline(time.Now().Add(s.opts.Timeout))
	c := imapclient.New(conn, nil)
	if err := c.Login(name, pass).Wait(); err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("dovecot: login as %s: %w", name, err)
	}
	// Named, so that Commands leaves the harness's own sessions out.
	if _, err := c.ID(&imap.IDData{Name: harnessID}).Wait(); err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("dovecot: ID: %w", err)
	}
	return c, conn, nil
}

func (s *Server) dialTLS(ctx context.Context) (net.Conn, error) {
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: s.opts.Timeout}, Config: s.CA.ClientTLS()}
	return d.DialContext(ctx, "tcp", s.Addr)
}

// with runs fn on a second client with folder selected (EXAMINE when
// readOnly), then logs out.
func (s *Server) with(ctx context.Context, name, folder string, readOnly bool, fn func(c *imapclient.Client, sd *imap.SelectData) error) error {
	c, conn, err := s.client(ctx, name)
	if err != nil {
		return err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok && dl.Before(time.Now().Add(s.opts.Timeout)) {
		_ = conn.SetDeadline(dl)
	}
	sd, err := c.Select(folder, &imap.SelectOptions{ReadOnly: readOnly}).Wait()
	if err != nil {
		return fmt.Errorf("dovecot: select %s: %w", folder, err)
	}
	if err := fn(c, sd); err != nil {
		return err
	}
	return c.Logout().Wait()
}

// Message is what a second client sees of a message.
type Message struct {
	UID       uint32
	Flags     []string // sorted
	Size      int64
	MessageID string
}

// Folder is what a second client sees of a folder, opened read-only.
type Folder struct {
	UIDValidity uint32
	UIDNext     uint32
	Messages    []Message // by UID
}

// Has reports whether the folder holds uid.
func (f Folder) Has(uid uint32) bool {
	return slices.ContainsFunc(f.Messages, func(m Message) bool { return m.UID == uid })
}

// Flags returns the flags of uid (nil when absent).
func (f Folder) Flags(uid uint32) []string {
	for _, m := range f.Messages {
		if m.UID == uid {
			return m.Flags
		}
	}
	return nil
}

// Look opens a folder read-only (EXAMINE: nothing changes, not even \Recent)
// from a second client and lists its messages with their flags.
func (s *Server) Look(ctx context.Context, name, folder string) (Folder, error) {
	var out Folder
	err := s.with(ctx, name, folder, true, func(c *imapclient.Client, sd *imap.SelectData) error {
		out.UIDValidity, out.UIDNext = sd.UIDValidity, uint32(sd.UIDNext)
		if sd.NumMessages == 0 {
			return nil
		}
		hdr := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Message-ID"}, Peek: true}
		cmd := c.Fetch(allSeq(), &imap.FetchOptions{UID: true, Flags: true, RFC822Size: true, BodySection: []*imap.FetchItemBodySection{hdr}})
		bufs, err := cmd.Collect()
		if err != nil {
			return fmt.Errorf("dovecot: fetch: %w", err)
		}
		for _, b := range bufs {
			m := Message{UID: uint32(b.UID), Size: b.RFC822Size}
			for _, f := range b.Flags {
				m.Flags = append(m.Flags, string(f))
			}
			slices.Sort(m.Flags)
			if v := b.FindBodySection(hdr); v != nil {
				m.MessageID = headerValue(v, "Message-ID")
			}
			out.Messages = append(out.Messages, m)
		}
		slices.SortFunc(out.Messages, func(a, b Message) int { return int(a.UID) - int(b.UID) })
		return nil
	})
	return out, err
}

func allSeq() imap.SeqSet {
	var s imap.SeqSet
	s.AddRange(1, 0)
	return s
}

func headerValue(hdr []byte, field string) string {
	for _, line := range strings.Split(string(hdr), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), field) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// Body returns a message as a second client reads it (BODY.PEEK[]).
func (s *Server) Body(ctx context.Context, name, folder string, uid uint32) ([]byte, error) {
	var out []byte
	err := s.with(ctx, name, folder, true, func(c *imapclient.Client, _ *imap.SelectData) error {
		sec := &imap.FetchItemBodySection{Peek: true}
		bufs, err := c.Fetch(imap.UIDSetNum(imap.UID(uid)), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{sec}}).Collect()
		if err != nil {
			return fmt.Errorf("dovecot: fetch: %w", err)
		}
		if len(bufs) != 1 || bufs[0].FindBodySection(sec) == nil {
			return fmt.Errorf("dovecot: no message UID %d in %s", uid, folder)
		}
		out = bufs[0].FindBodySection(sec)
		return nil
	})
	return out, err
}

// Bodies returns every message of a folder by UID, as a second client reads
// them (BODY.PEEK[]).
func (s *Server) Bodies(ctx context.Context, name, folder string) (map[uint32][]byte, error) {
	out := map[uint32][]byte{}
	err := s.with(ctx, name, folder, true, func(c *imapclient.Client, sd *imap.SelectData) error {
		if sd.NumMessages == 0 {
			return nil
		}
		sec := &imap.FetchItemBodySection{Peek: true}
		bufs, err := c.Fetch(allSeq(), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{sec}}).Collect()
		if err != nil {
			return fmt.Errorf("dovecot: fetch: %w", err)
		}
		for _, b := range bufs {
			out[uint32(b.UID)] = b.FindBodySection(sec)
		}
		return nil
	})
	return out, err
}

// Flag adds a flag to a message, as another client would.
func (s *Server) Flag(ctx context.Context, name, folder string, uid uint32, flag string) error {
	return s.with(ctx, name, folder, false, func(c *imapclient.Client, _ *imap.SelectData) error {
		return s.store(c, uid, imap.Flag(flag))
	})
}

func (s *Server) store(c *imapclient.Client, uid uint32, flag imap.Flag) error {
	bufs, err := c.Store(imap.UIDSetNum(imap.UID(uid)), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{flag}}, nil).Collect()
	if err != nil {
		return fmt.Errorf("dovecot: store: %w", err)
	}
	if len(bufs) == 0 {
		return fmt.Errorf("dovecot: no message UID %d", uid)
	}
	return nil
}

// Expunge removes a message as another client would: \Deleted, then UID
// EXPUNGE of that message.
func (s *Server) Expunge(ctx context.Context, name, folder string, uid uint32) error {
	return s.with(ctx, name, folder, false, func(c *imapclient.Client, _ *imap.SelectData) error {
		if err := s.store(c, uid, imap.FlagDeleted); err != nil {
			return err
		}
		if err := c.UIDExpunge(imap.UIDSetNum(imap.UID(uid))).Close(); err != nil {
			return fmt.Errorf("dovecot: uid expunge: %w", err)
		}
		return nil
	})
}

// Caps returns the capabilities the server announces after login.
func (s *Server) Caps(ctx context.Context, name string) ([]string, error) {
	c, err := s.Client(ctx, name)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var out []string
	for cp := range c.Caps() {
		out = append(out, string(cp))
	}
	slices.Sort(out)
	return out, c.Logout().Wait()
}

// harnessID names the harness's own clients (IMAP ID).
const harnessID = "casellario-dovecot-harness"

// Commands returns the commands every session of a user sent after login,
// in order, without their tags (from Dovecot's rawlog), say "UID FETCH 3
// (UID BODY.PEEK[])", except the sessions of the harness's own clients. A
// literal's lines are left out.
func (s *Server) Commands(name string) ([]string, error) {
	if _, err := s.password(name); err != nil {
		return nil, err
	}
	dir := filepath.Join(s.home(name), "rawlog")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("dovecot: %w", err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".in") {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names) // a timestamp first
	var out []string
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return nil, fmt.Errorf("dovecot: %w", err)
		}
		cmds := commands(b)
		if len(cmds) > 0 && strings.HasPrefix(cmds[0], "ID ") && strings.Contains(cmds[0], harnessID) {
			continue
		}
		out = append(out, cmds...)
	}
	return out, nil
}

// commands splits a rawlog of a client's input ("TIMESTAMP TAG COMMAND"
// lines) into commands; the lines of a literal are left out.
func commands(b []byte) []string {
	var out []string
	skip := 0
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.SplitN(strings.TrimRight(line, "\r"), " ", 3)
		if len(f) < 2 {
			continue
		}
		if skip > 0 { // inside a literal
			skip -= min(skip, len(strings.Join(f[1:], " "))+2)
			continue
		}
		if len(f) < 3 {
			continue
		}
		cmd := f[2]
		out = append(out, cmd)
		if i := strings.LastIndexByte(cmd, '{'); i >= 0 && strings.HasSuffix(cmd, "}") {
			if n, err := strconv.Atoi(strings.TrimSuffix(cmd[i+1:len(cmd)-1], "+")); err == nil {
				skip = n
			}
		}
	}
	return out
}

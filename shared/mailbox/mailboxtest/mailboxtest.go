// Package mailboxtest is an in-memory PEC mailbox (mailbox.Dialer and
// mailbox.Mailbox) for tests that need no IMAP server: messages, folders,
// UIDs and flags, faults on demand, and the log of what a session did.
package mailboxtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/casellario-pec/casellario/shared/mailbox"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// Message is one stored message.
type Message struct {
	UID   uint32
	Raw   []byte
	Flags []string
	// Size overrides the RFC822.SIZE reported (0: len(Raw)), to test limits.
	Size int64
}

// Server holds the folders of one mailbox. Safe for concurrent use.
type Server struct {
	mu          sync.Mutex
	uidValidity uint32
	next        map[string]uint32
	folders     map[string][]*Message
	failFetch   map[uint32]int // failures left per UID
	ops         []string
	DialErr     error // returned by Dial when set
	// BeforeFetch, when set, runs before each fetch (outside the lock): a
	// test expunges a message there, as another client would between the
	// search and the fetch.
	BeforeFetch func(uid uint32)
}

// New returns a mailbox with an empty INBOX.
func New() *Server {
	return &Server{uidValidity: 1, next: map[string]uint32{"INBOX": 1}, folders: map[string][]*Message{"INBOX": nil}, failFetch: map[uint32]int{}}
}

// Append adds a message to folder (created when missing) and returns its UID.
func (s *Server) Append(folder string, raw []byte) uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appendLocked(folder, &Message{Raw: raw})
}

// AppendSized adds a message whose reported size is size.
func (s *Server) AppendSized(folder string, raw []byte, size int64) uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appendLocked(folder, &Message{Raw: raw, Size: size})
}

func (s *Server) appendLocked(folder string, m *Message) uint32 {
	if s.next[folder] == 0 {
		s.next[folder] = 1
	}
	m.UID = s.next[folder]
	s.next[folder]++
	s.folders[folder] = append(s.folders[folder], m)
	return m.UID
}

// FailFetch makes the next n fetches of uid fail with a broken connection.
func (s *Server) FailFetch(uid uint32, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failFetch[uid] = n
}

// Expunge removes a message, as another client would.
func (s *Server) Expunge(folder string, uid uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.folders[folder] = slices.DeleteFunc(s.folders[folder], func(m *Message) bool { return m.UID == uid })
}

// Folder returns a copy of a folder's messages.
func (s *Server) Folder(name string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.folders[name] {
		c := *m
		c.Flags = slices.Clone(m.Flags)
		out = append(out, c)
	}
	return out
}

// Ops returns what sessions did that a shared mailbox's owner would notice or
// that costs a download: "fetch <uid>", "flag <uid> <flag>", "move <uid> <folder>".
func (s *Server) Ops() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ops)
}

// Dial opens a session.
func (s *Server) Dial(context.Context, *tenants.Tenant) (mailbox.Mailbox, error) {
	if s.DialErr != nil {
		return nil, s.DialErr
	}
	return &session{s: s}, nil
}

var _ mailbox.Dialer = (*Server)(nil)

type session struct {
	s        *Server
	folder   string
	readOnly bool
	closed   bool
}

type refused struct{ error }

func (refused) Refused() bool { return true }

func (c *session) check() error {
	if c.closed {
		return errors.New("mailboxtest: session closed")
	}
	if c.folder == "" {
		return refused{errors.New("mailboxtest: no folder open")}
	}
	return nil
}

func (c *session) Open(_ context.Context, folder string, readOnly bool) (mailbox.Status, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	msgs, ok := c.s.folders[folder]
	if !ok {
		return mailbox.Status{}, refused{fmt.Errorf("mailboxtest: no folder %q", folder)}
	}
	c.folder, c.readOnly = folder, readOnly
	return mailbox.Status{UIDValidity: c.s.uidValidity, UIDNext: c.s.next[folder], Messages: uint32(len(msgs))}, nil
}

func (c *session) UIDsAfter(_ context.Context, after uint32) ([]uint32, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	var out []uint32
	for _, m := range c.s.folders[c.folder] {
		if m.UID > after {
			out = append(out, m.UID)
		}
	}
	return out, nil
}

func (c *session) find(uid uint32) *Message {
	for _, m := range c.s.folders[c.folder] {
		if m.UID == uid {
			return m
		}
	}
	return nil
}

func (c *session) Summaries(_ context.Context, uids []uint32) ([]mailbox.Summary, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	var out []mailbox.Summary
	for _, uid := range uids {
		m := c.find(uid)
		if m == nil {
			continue
		}
		size := m.Size
		if size == 0 {
			size = int64(len(m.Raw))
		}
		hdr := m.Raw
		if i := bytes.Index(hdr, []byte("\r\n\r\n")); i >= 0 {
			hdr = hdr[:i+4]
		} else if i := bytes.Index(hdr, []byte("\n\n")); i >= 0 {
			hdr = hdr[:i+2]
		}
		out = append(out, mailbox.Summary{UID: uid, Size: size, Header: slices.Clone(hdr)})
	}
	return out, nil
}

func (c *session) Fetch(_ context.Context, uid uint32, fn func(r io.Reader) error) error {
	if err := c.check(); err != nil {
		return err
	}
	if c.s.BeforeFetch != nil {
		c.s.BeforeFetch(uid)
	}
	c.s.mu.Lock()
	c.s.ops = append(c.s.ops, fmt.Sprintf("fetch %d", uid))
	if c.s.failFetch[uid] > 0 {
		c.s.failFetch[uid]--
		c.s.mu.Unlock()
		return errors.New("mailboxtest: connection reset during FETCH")
	}
	m := c.find(uid)
	var raw []byte
	if m != nil {
		raw = m.Raw
	}
	c.s.mu.Unlock()
	if m == nil {
		return mailbox.ErrGone
	}
	return fn(bytes.NewReader(raw))
}

func (c *session) SearchHeader(_ context.Context, field, value string) ([]uint32, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	var out []uint32
	needle := strings.ToLower(field + ": ")
	for _, m := range c.s.folders[c.folder] {
		for _, line := range strings.Split(strings.ToLower(string(m.Raw)), "\n") {
			if strings.HasPrefix(line, needle) && strings.Contains(line, strings.ToLower(value)) {
				out = append(out, m.UID)
				break
			}
		}
	}
	return out, nil
}

func (c *session) Flag(_ context.Context, uid uint32, flag string) error {
	if err := c.check(); err != nil {
		return err
	}
	if c.readOnly {
		return errors.New("mailboxtest: flag in a folder open read-only")
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.s.ops = append(c.s.ops, fmt.Sprintf("flag %d %s", uid, flag))
	if m := c.find(uid); m != nil && !slices.Contains(m.Flags, flag) {
		m.Flags = append(m.Flags, flag)
	}
	return nil
}

func (c *session) Move(_ context.Context, uid uint32, folder string) error {
	if err := c.check(); err != nil {
		return err
	}
	if c.readOnly {
		return errors.New("mailboxtest: move from a folder open read-only")
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.s.ops = append(c.s.ops, fmt.Sprintf("move %d %s", uid, folder))
	m := c.find(uid)
	if m == nil {
		return refused{fmt.Errorf("mailboxtest: no message %d", uid)}
	}
	c.s.folders[c.folder] = slices.DeleteFunc(c.s.folders[c.folder], func(x *Message) bool { return x == m })
	c.s.appendLocked(folder, &Message{Raw: m.Raw, Flags: m.Flags, Size: m.Size})
	return nil
}

func (c *session) Close() error {
	c.closed = true
	return nil
}

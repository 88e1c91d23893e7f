package provider

import (
	"bytes"
	"crypto/subtle"
	"crypto/tls"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// imapSession is imapmemserver's session with our own login (the provider's
// accounts) and the CutFetch fault.
type imapSession struct {
	*imapmemserver.UserSession // nil until login
	p                          *Provider
	conn                       *cutConn
	acct                       *account
}

var _ imapserver.SessionIMAP4rev2 = (*imapSession)(nil)

func (p *Provider) newIMAPSession(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
	s := &imapSession{p: p}
	if tc, ok := c.NetConn().(*tls.Conn); ok {
		s.conn, _ = tc.NetConn().(*cutConn)
	}
	return s, &imapserver.GreetingData{}, nil
}

func (s *imapSession) Login(username, password string) error {
	a := s.p.accounts[strings.ToLower(username)]
	if a == nil || subtle.ConstantTimeCompare([]byte(password), []byte(a.password)) != 1 {
		return imapserver.ErrAuthFailed
	}
	// imapmemserver's user checks the name as given at creation: lower case.
	if err := a.user.Login(a.address, password); err != nil {
		return err
	}
	s.acct = a
	s.UserSession = imapmemserver.NewUserSession(a.user)
	s.p.mu.Lock()
	a.sessions[s] = struct{}{}
	s.p.mu.Unlock()
	return nil
}

func (s *imapSession) Close() error {
	if s.acct != nil {
		s.p.mu.Lock()
		delete(s.acct.sessions, s)
		s.p.mu.Unlock()
	}
	if s.UserSession == nil {
		return nil
	}
	return s.UserSession.Close()
}

// Fetch arms the connection cut when the CutFetch fault matches: the FETCH
// response then stops after a few hundred bytes and the connection closes.
func (s *imapSession) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	if s.conn != nil && len(options.BodySection)+len(options.BinarySection) > 0 && s.cutMatches(numSet) {
		s.p.log.Info("IMAP session cut mid-FETCH (fault)", "mailbox", s.acct.address)
		s.conn.arm(300)
	}
	err := s.UserSession.Fetch(w, numSet, options)
	for _, bs := range options.BodySection {
		if !bs.Peek {
			s.p.touch() // \Seen set
			break
		}
	}
	return err
}

// The commands that change the mailboxes run under Provider.stateMu (a save
// sees all of a MOVE or nothing of it) and mark the state to save.

func (s *imapSession) changing() func() {
	s.p.stateMu.RLock()
	return func() {
		s.p.stateMu.RUnlock()
		s.p.touch()
	}
}

func (s *imapSession) Create(mailbox string, options *imap.CreateOptions) error {
	defer s.changing()()
	return s.UserSession.Create(mailbox, options)
}

func (s *imapSession) Delete(mailbox string) error {
	defer s.changing()()
	return s.UserSession.Delete(mailbox)
}

func (s *imapSession) Rename(mailbox, newName string, options *imap.RenameOptions) error {
	defer s.changing()()
	return s.UserSession.Rename(mailbox, newName, options)
}

func (s *imapSession) Append(mailbox string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	// The literal is read from the network before the lock is taken.
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, err
	}
	defer s.changing()()
	return s.UserSession.Append(mailbox, bytes.NewReader(buf.Bytes()), options)
}

func (s *imapSession) Store(w *imapserver.FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags, options *imap.StoreOptions) error {
	defer s.changing()()
	return s.UserSession.Store(w, numSet, flags, options)
}

func (s *imapSession) Copy(numSet imap.NumSet, dest string) (*imap.CopyData, error) {
	defer s.changing()()
	return s.UserSession.Copy(numSet, dest)
}

func (s *imapSession) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	defer s.changing()()
	return s.UserSession.Move(w, numSet, dest)
}

func (s *imapSession) Expunge(w *imapserver.ExpungeWriter, uids *imap.UIDSet) error {
	defer s.changing()()
	return s.UserSession.Expunge(w, uids)
}

func (s *imapSession) cutMatches(numSet imap.NumSet) bool {
	s.p.mu.Lock()
	cf := s.p.faults.CutFetch
	s.p.mu.Unlock()
	if cf == nil || !strings.EqualFold(cf.Mailbox, s.acct.address) {
		return false
	}
	crit := &imap.SearchCriteria{}
	kind := imapserver.NumKindSeq
	switch set := numSet.(type) {
	case imap.UIDSet:
		crit.UID = []imap.UIDSet{set}
		kind = imapserver.NumKindUID
	case imap.SeqSet:
		crit.SeqNum = []imap.SeqSet{set}
	}
	if cf.MessageID != "" {
		crit.Header = []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: cf.MessageID}}
	}
	d, err := s.UserSession.Search(kind, crit, &imap.SearchOptions{})
	if err != nil || d == nil || d.All == nil {
		return false
	}
	if kind == imapserver.NumKindUID && len(d.AllUIDs()) == 0 || kind == imapserver.NumKindSeq && len(d.AllSeqNums()) == 0 {
		return false
	}
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	if s.p.faults.CutFetch != cf {
		return false // fired in another session meanwhile
	}
	s.p.faults.CutFetch = nil
	return true
}

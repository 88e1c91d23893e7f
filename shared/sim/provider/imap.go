package provider

import (
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
	return s.UserSession.Fetch(w, numSet, options)
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

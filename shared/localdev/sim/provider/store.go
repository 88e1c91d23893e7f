package provider

// Persistence of the mailboxes (Config.StateDir).
//
// Layout, one directory per mailbox (its address, path-escaped):
//
//	StateDir/mail/<address>/index.json          folders, UIDVALIDITY, UIDNEXT, and per message
//	                                            its UID, internal date, flags, size and SHA-256
//	StateDir/mail/<address>/<uidvalidity>-<uid>.eml   the raw message, written once
//
// A message's bytes never change while its UIDVALIDITY and UID stay, so each
// .eml file is written once; index.json is rewritten (temporary file and
// rename) after every change that matters: delivery, APPEND, STORE, COPY,
// MOVE, EXPUNGE, CREATE, DELETE, RENAME, a FETCH that sets \Seen,
// ChangeUIDValidity. Changes are gathered for flushDelay, then the state is
// read through an in-process IMAP connection (imapmemserver keeps its
// messages private) while mutating commands wait, so that a saved state is
// never half a MOVE. Files no index refers to are removed after the index is
// written. Close saves a last time.
//
// Restore recreates the folders in the order of their UIDVALIDITY, keeping
// each folder's UIDVALIDITY, every UID and UIDNEXT: imapmemserver numbers
// folders and messages from counters, so the counters are advanced with
// placeholder folders and messages that are removed at once. Clients (the
// poller) therefore see the same mailbox as before the restart.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/casellario-pec/casellario/shared/localdev/sim/internal/atomicfile"
)

const (
	indexFile    = "index.json"
	indexVersion = 1
	// flushDelay gathers the changes of a burst into one save.
	flushDelay = 100 * time.Millisecond
	// Bounds of what a state file may ask the restore to recreate.
	maxUIDValidity = 1 << 20
	maxUID         = 1 << 22
	// restoreFolder is the placeholder folder that advances the UIDVALIDITY counter.
	restoreFolder = ".casellario-restore"
)

type stateIndex struct {
	Version        int           `json:"version"`
	Address        string        `json:"address"`
	UIDValidityMax uint32        `json:"uid_validity_max"` // highest UIDVALIDITY ever given
	Folders        []stateFolder `json:"folders"`
}

type stateFolder struct {
	Name        string         `json:"name"`
	UIDValidity uint32         `json:"uid_validity"`
	UIDNext     uint32         `json:"uid_next"`
	Messages    []stateMessage `json:"messages"`
}

type stateMessage struct {
	UID    uint32    `json:"uid"`
	Date   time.Time `json:"date"` // internal date
	Flags  []string  `json:"flags"`
	Size   int64     `json:"size"`
	SHA256 string    `json:"sha256"`
}

func msgFile(uidValidity, uid uint32) string { return fmt.Sprintf("%d-%d.eml", uidValidity, uid) }

type savedMsg struct {
	size int64
	sum  string
}

// store saves the mailboxes to dir.
type store struct {
	dir   string
	dirty chan struct{}
	stop  chan struct{}
	done  chan struct{}

	ln      *pipeListener
	srv     *imapserver.Server
	srvDone chan struct{}

	flushMu   sync.Mutex                     // one save at a time; guards what follows
	saved     map[string]map[string]savedMsg // by address: message files on disk
	uvMax     map[string]uint32              // by address
	lastIndex map[string][]byte              // by address: index.json as last written
}

func (p *Provider) accountDir(address string) string {
	return filepath.Join(p.store.dir, "mail", url.PathEscape(address))
}

// touch records that the mailboxes changed: they are saved within flushDelay.
func (p *Provider) touch() {
	if p.store == nil {
		return
	}
	select {
	case p.store.dirty <- struct{}{}:
	default:
	}
}

func corrupt(path string, err error) error {
	return fmt.Errorf("provider: saved state %s is corrupt: %v (move it aside to start without it)", path, err)
}

// restore recreates the saved folders and messages of a; it does nothing when
// nothing was saved.
func (p *Provider) restore(a *account) error {
	dir := p.accountDir(a.address)
	path := filepath.Join(dir, indexFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("provider: saved state: %w", err)
	}
	var idx stateIndex
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&idx); err != nil {
		return corrupt(path, err)
	}
	if err := idx.check(a.address); err != nil {
		return corrupt(path, err)
	}
	slices.SortFunc(idx.Folders, func(x, y stateFolder) int { return int(x.UIDValidity) - int(y.UIDValidity) })
	u := a.user
	var counter uint32 // imapmemserver's UIDVALIDITY counter of a new user
	advance := func(to uint32) error {
		for ; counter < to; counter++ {
			if err := u.Create(restoreFolder, nil); err != nil {
				return err
			}
			if err := u.Delete(restoreFolder); err != nil {
				return err
			}
		}
		return nil
	}
	saved := map[string]savedMsg{}
	for _, f := range idx.Folders {
		if err := advance(f.UIDValidity - 1); err != nil {
			return fmt.Errorf("provider: restoring %s: %w", f.Name, err)
		}
		if err := u.Create(f.Name, nil); err != nil {
			return fmt.Errorf("provider: restoring %s: %w", f.Name, err)
		}
		counter++
		if sd, err := u.Status(f.Name, &imap.StatusOptions{UIDValidity: true}); err != nil || sd.UIDValidity != f.UIDValidity {
			return fmt.Errorf("provider: restoring %s: UIDVALIDITY not kept", f.Name)
		}
		var gaps imap.UIDSet
		next := uint32(1)
		pad := func(to uint32) error {
			for ; next < to; next++ {
				ad, err := u.Append(f.Name, bytes.NewReader(nil), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagDeleted}})
				if err != nil {
					return err
				}
				gaps.AddNum(ad.UID)
			}
			return nil
		}
		for _, m := range f.Messages {
			if err := pad(m.UID); err != nil {
				return fmt.Errorf("provider: restoring %s: %w", f.Name, err)
			}
			name := msgFile(f.UIDValidity, m.UID)
			file := filepath.Join(dir, name)
			raw, err := os.ReadFile(file)
			if err != nil {
				return fmt.Errorf("provider: saved state %s: message missing: %w", path, err)
			}
			sum := sha256.Sum256(raw)
			if int64(len(raw)) != m.Size || hex.EncodeToString(sum[:]) != m.SHA256 {
				return corrupt(file, errors.New("size or SHA-256 differs from the index"))
			}
			flags := make([]imap.Flag, len(m.Flags))
			for i, fl := range m.Flags {
				flags[i] = imap.Flag(fl)
			}
			ad, err := u.Append(f.Name, bytes.NewReader(raw), &imap.AppendOptions{Time: m.Date, Flags: flags})
			if err != nil {
				return fmt.Errorf("provider: restoring %s: %w", f.Name, err)
			}
			if uint32(ad.UID) != m.UID {
				return fmt.Errorf("provider: restoring %s: UID %d became %d", f.Name, m.UID, ad.UID)
			}
			next++
			saved[name] = savedMsg{size: m.Size, sum: m.SHA256}
		}
		if err := pad(f.UIDNext); err != nil {
			return fmt.Errorf("provider: restoring %s: %w", f.Name, err)
		}
		if len(gaps) > 0 {
			sess := imapmemserver.NewUserSession(u)
			_, err := sess.Select(f.Name, nil)
			if err == nil {
				err = sess.Expunge(&imapserver.ExpungeWriter{}, &gaps)
			}
			sess.Close()
			if err != nil {
				return fmt.Errorf("provider: restoring %s: %w", f.Name, err)
			}
		}
	}
	if err := advance(idx.UIDValidityMax); err != nil {
		return fmt.Errorf("provider: restoring: %w", err)
	}
	p.store.saved[a.address] = saved
	p.store.uvMax[a.address] = idx.UIDValidityMax
	p.store.lastIndex[a.address] = data
	n := 0
	for _, f := range idx.Folders {
		n += len(f.Messages)
	}
	p.log.Info("mailbox restored", "folders", len(idx.Folders), "messages", n)
	return nil
}

// check validates what restore relies on.
func (idx *stateIndex) check(address string) error {
	if idx.Version != indexVersion {
		return fmt.Errorf("version %d, want %d", idx.Version, indexVersion)
	}
	if idx.Address != address {
		return errors.New("it belongs to another mailbox")
	}
	if idx.UIDValidityMax > maxUIDValidity {
		return errors.New("uid_validity_max out of range")
	}
	names := map[string]bool{}
	uvs := map[uint32]bool{}
	for _, f := range idx.Folders {
		switch {
		case f.Name == "" || f.Name == restoreFolder || names[f.Name]:
			return fmt.Errorf("folder name %q empty, reserved or repeated", f.Name)
		case f.UIDValidity == 0 || f.UIDValidity > idx.UIDValidityMax || uvs[f.UIDValidity]:
			return fmt.Errorf("folder %q: uid_validity %d out of range or repeated", f.Name, f.UIDValidity)
		case f.UIDNext == 0 || f.UIDNext > maxUID:
			return fmt.Errorf("folder %q: uid_next %d out of range", f.Name, f.UIDNext)
		}
		names[f.Name], uvs[f.UIDValidity] = true, true
		prev := uint32(0)
		for _, m := range f.Messages {
			if m.UID <= prev || m.UID >= f.UIDNext {
				return fmt.Errorf("folder %q: UID %d out of order or range", f.Name, m.UID)
			}
			if m.Size < 0 || len(m.SHA256) != 64 {
				return fmt.Errorf("folder %q: UID %d: bad size or SHA-256", f.Name, m.UID)
			}
			prev = m.UID
		}
	}
	return nil
}

// startStore starts the in-process IMAP server the saves read through and
// the background saver.
func (p *Provider) startStore() {
	s := p.store
	s.ln = newPipeListener()
	s.srv = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &snapSession{p: p}, &imapserver.GreetingData{}, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		InsecureAuth: true, // in-process pipe
		Logger:       slogPrintf{p.log.With("server", "imap-store")},
	})
	s.srvDone = make(chan struct{})
	go func() {
		defer close(s.srvDone)
		_ = s.srv.Serve(s.ln)
	}()
	go func() {
		defer close(s.done)
		for {
			select {
			case <-s.stop:
				return
			case <-s.dirty:
			}
			t := time.NewTimer(flushDelay)
			select {
			case <-s.stop:
				t.Stop()
				return
			case <-t.C:
			}
			if err := p.flush(); err != nil {
				p.log.Error("saving the mailboxes failed", "err", err)
			}
		}
	}()
}

// closeStore stops the saver, saves a last time and stops the IMAP server.
func (p *Provider) closeStore() error {
	s := p.store
	if s == nil || s.srv == nil {
		return nil
	}
	close(s.stop)
	<-s.done
	err := p.flush()
	_ = s.srv.Close()
	_ = s.ln.Close()
	<-s.srvDone
	return err
}

// Flush saves the mailboxes now (Config.StateDir); a no-op without it.
func (p *Provider) Flush() error {
	if p.store == nil || p.store.srv == nil {
		return nil
	}
	return p.flush()
}

type accountSnap struct {
	idx    *stateIndex
	bodies map[string][]byte // new message files
}

func (p *Provider) flush() error {
	s := p.store
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	addrs := make([]string, 0, len(p.accounts))
	for addr := range p.accounts {
		addrs = append(addrs, addr)
	}
	slices.Sort(addrs)
	snaps := make([]accountSnap, 0, len(addrs))
	p.stateMu.Lock()
	for _, addr := range addrs {
		sn, err := p.snapshot(p.accounts[addr])
		if err != nil {
			p.stateMu.Unlock()
			return fmt.Errorf("provider: reading the mailboxes: %w", err)
		}
		snaps = append(snaps, sn)
	}
	p.stateMu.Unlock()
	var errs []error
	for _, sn := range snaps {
		errs = append(errs, p.write(sn))
	}
	return errors.Join(errs...)
}

// snapshot reads a mailbox: its folders, their messages' UIDs, flags and dates,
// and the bytes of messages not yet on disk.
func (p *Provider) snapshot(a *account) (accountSnap, error) {
	s := p.store
	conn, err := s.ln.dial()
	if err != nil {
		return accountSnap{}, err
	}
	c := imapclient.New(conn, nil)
	defer c.Close()
	if err := c.Login(a.address, a.password).Wait(); err != nil {
		return accountSnap{}, err
	}
	boxes, err := c.List("", "*", nil).Collect()
	if err != nil {
		return accountSnap{}, err
	}
	slices.SortFunc(boxes, func(x, y *imap.ListData) int { return strings.Compare(x.Mailbox, y.Mailbox) })
	sn := accountSnap{idx: &stateIndex{Version: indexVersion, Address: a.address, UIDValidityMax: s.uvMax[a.address]}, bodies: map[string][]byte{}}
	saved := s.saved[a.address]
	for _, b := range boxes {
		sd, err := c.Select(b.Mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			return accountSnap{}, err
		}
		f := stateFolder{Name: b.Mailbox, UIDValidity: sd.UIDValidity, UIDNext: uint32(sd.UIDNext), Messages: []stateMessage{}}
		sn.idx.UIDValidityMax = max(sn.idx.UIDValidityMax, f.UIDValidity)
		if sd.NumMessages > 0 {
			var all imap.SeqSet
			all.AddRange(1, sd.NumMessages)
			msgs, err := c.Fetch(all, &imap.FetchOptions{UID: true, Flags: true, InternalDate: true}).Collect()
			if err != nil {
				return accountSnap{}, err
			}
			slices.SortFunc(msgs, func(x, y *imapclient.FetchMessageBuffer) int { return int(x.UID) - int(y.UID) })
			var need imap.UIDSet
			for _, m := range msgs {
				if _, ok := saved[msgFile(f.UIDValidity, uint32(m.UID))]; !ok {
					need.AddNum(m.UID)
				}
			}
			if len(need) > 0 {
				section := &imap.FetchItemBodySection{Peek: true}
				bufs, err := c.Fetch(need, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
				if err != nil {
					return accountSnap{}, err
				}
				for _, m := range bufs {
					sn.bodies[msgFile(f.UIDValidity, uint32(m.UID))] = m.FindBodySection(section)
				}
			}
			for _, m := range msgs {
				name := msgFile(f.UIDValidity, uint32(m.UID))
				sm := stateMessage{UID: uint32(m.UID), Date: m.InternalDate.UTC(), Flags: []string{}}
				for _, fl := range m.Flags {
					sm.Flags = append(sm.Flags, string(fl))
				}
				slices.Sort(sm.Flags)
				if raw, ok := sn.bodies[name]; ok {
					sum := sha256.Sum256(raw)
					sm.Size, sm.SHA256 = int64(len(raw)), hex.EncodeToString(sum[:])
				} else if sv, ok := saved[name]; ok {
					sm.Size, sm.SHA256 = sv.size, sv.sum
				} else {
					continue // expunged between the two FETCHes: cannot happen under stateMu
				}
				f.Messages = append(f.Messages, sm)
			}
		}
		sn.idx.Folders = append(sn.idx.Folders, f)
	}
	if err := c.Logout().Wait(); err != nil {
		return accountSnap{}, err
	}
	return sn, nil
}

// write writes the new message files, then the index, then removes the
// message files the index no longer refers to.
func (p *Provider) write(sn accountSnap) error {
	s := p.store
	addr := sn.idx.Address
	data, err := json.MarshalIndent(sn.idx, "", "\t")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if bytes.Equal(data, s.lastIndex[addr]) {
		return nil
	}
	dir := p.accountDir(addr)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("provider: saving: %w", err)
	}
	for name, raw := range sn.bodies {
		if err := atomicfile.Write(filepath.Join(dir, name), raw, 0o600); err != nil {
			return fmt.Errorf("provider: saving: %w", err)
		}
	}
	if err := atomicfile.Write(filepath.Join(dir, indexFile), data, 0o600); err != nil {
		return fmt.Errorf("provider: saving: %w", err)
	}
	s.lastIndex[addr] = data
	s.uvMax[addr] = sn.idx.UIDValidityMax
	saved := map[string]savedMsg{}
	for _, f := range sn.idx.Folders {
		for _, m := range f.Messages {
			saved[msgFile(f.UIDValidity, m.UID)] = savedMsg{size: m.Size, sum: m.SHA256}
		}
	}
	s.saved[addr] = saved
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("provider: saving: %w", err)
	}
	for _, e := range entries {
		_, ref := saved[e.Name()]
		if !ref && (strings.HasSuffix(e.Name(), ".eml") || atomicfile.IsTemp(e.Name())) {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	return nil
}

// snapSession is the session of the saves' in-process IMAP server.
type snapSession struct {
	*imapmemserver.UserSession // nil until login
	p                          *Provider
}

func (s *snapSession) Login(username, password string) error {
	a := s.p.accounts[username]
	if a == nil || password != a.password {
		return imapserver.ErrAuthFailed
	}
	s.UserSession = imapmemserver.NewUserSession(a.user)
	return nil
}

func (s *snapSession) Close() error {
	if s.UserSession == nil {
		return nil
	}
	return s.UserSession.Close()
}

// pipeListener is a net.Listener of in-memory connections (net.Pipe).
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

func (l *pipeListener) dial() (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		client.Close()
		server.Close()
		return nil, net.ErrClosed
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "store" }

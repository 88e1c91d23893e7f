// Package provider is a local PEC provider on real protocols: mailboxes with
// passwords, SMTP submission over implicit TLS with AUTH PLAIN and LOGIN, IMAP
// over TLS with folders, UIDVALIDITY, UIDs, flags and MOVE, and on each
// submission what DM 2 novembre 2005 prescribes:
//
//   - an acceptance receipt (accettazione) to the sender, or a non-acceptance
//     notice (non-accettazione) when the message's From is not the sender's
//     mailbox, when it is over the size limit (errore altro) or when it carries
//     a virus marker, the EICAR test string (errore virus);
//   - for each recipient in the provider's domains, the message inside a signed
//     transport envelope (posta-certificata) in their INBOX and a delivery
//     receipt (avvenuta-consegna) to the sender: completa by default, breve or
//     sintetica as the message's X-TipoRicevuta asks; an unknown mailbox gets an
//     errore-consegna (errore no-dest) instead;
//   - a recipient outside the provider's domains is treated as unreachable: an
//     errore-consegna with errore no-dominio (a real provider would hand the
//     message to the Internet and issue nothing; a notice makes a mistyped
//     address visible at once);
//   - ordinary (non-PEC) mail reaching a mailbox, through the optional plain
//     inbound SMTP port or InjectOrdinary, is delivered as an anomaly envelope
//     (X-Trasporto: errore).
//
// Everything is signed by a signer issued by the simulator's CA (package pki).
// A submission without a Message-ID is refused at the SMTP level (receipts
// quote it). Mailboxes live in memory (imapmemserver): a restart empties them,
// unless Config.StateDir is set: then every mailbox, folder, message (bytes,
// flags, internal date), UIDVALIDITY and UID is saved there on every change and
// restored at start (see store.go). Receipts still waiting for their delay or
// timeout when the provider stops are not saved.
//
// Faults (Faults, SetFaults, ChangeUIDValidity) make the provider misbehave in
// the ways a pipeline must survive.
package provider

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-smtp"

	"github.com/casellario-pec/casellario/shared/localdev/sim/clock"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/pec/pki"
)

// Defaults.
const (
	DefaultMaxSize = 30 << 20 // RFC 6109 example; common among Italian providers
	DefaultIssuer  = "Gestore PEC simulato"
	DefaultDomain  = "gestore.sim.test"
	// PreavvisoAfter and ErroreAfter are the DM 2/11/2005 timeouts: without a
	// delivery receipt, a preavviso after 12 hours and the final notice after 24.
	PreavvisoAfter = 12 * time.Hour
	ErroreAfter    = 24 * time.Hour
)

// EICAR is the standard antivirus test string: a message carrying it (in any
// part, decoded) is refused as infected.
const EICAR = `X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`

// Mailbox is a PEC mailbox and its password.
type Mailbox struct {
	Address  string `json:"address"`
	Password string `json:"password"`
}

// CutFetch closes an IMAP connection in the middle of a FETCH: the next FETCH
// in Mailbox's session whose set includes the message with MessageID (any
// message when empty) that asks for a body section. It fires once.
type CutFetch struct {
	Mailbox   string `json:"mailbox"`
	MessageID string `json:"message_id,omitempty"`
}

// Faults are the misbehaviours of the provider; the zero value is none.
type Faults struct {
	// ReceiptDelay delays every receipt and notice (on the provider's clock).
	ReceiptDelay clock.Duration `json:"receipt_delay,omitempty"`
	// DropDeliveryReceipt loses the delivery receipts: the sender gets a
	// preavviso-errore-consegna after 12 hours and an errore-consegna after 24
	// (on the provider's clock). The envelope is still delivered unless
	// HoldEnvelope is set too.
	DropDeliveryReceipt bool `json:"drop_delivery_receipt,omitempty"`
	// HoldEnvelope does not deliver envelopes (nor their receipts): combined
	// with DropDeliveryReceipt it is a message that never arrives.
	HoldEnvelope bool `json:"hold_envelope,omitempty"`
	// RefuseSMTP closes every SMTP connection as soon as it is accepted.
	RefuseSMTP bool `json:"refuse_smtp,omitempty"`
	// CutFetch, when set, cuts one IMAP session mid-FETCH and is then cleared.
	CutFetch *CutFetch `json:"cut_fetch,omitempty"`
	// DeliverTwice puts every envelope twice in the recipient's INBOX.
	DeliverTwice bool `json:"deliver_twice,omitempty"`
}

// Config configures a provider. CA is required.
type Config struct {
	Mailboxes []Mailbox
	// Domains are the PEC domains the provider serves; by default, those of
	// the mailboxes.
	Domains []string
	// Folders are made in every mailbox besides INBOX.
	Folders []string
	MaxSize int64 // bytes; DefaultMaxSize when 0
	// Addresses to listen on; "127.0.0.1:0" (an ephemeral port) when empty.
	SMTPAddr, IMAPAddr string
	// InboundAddr is a plain SMTP port (no TLS, no AUTH) for ordinary mail from
	// the Internet to the mailboxes, delivered as anomalies; "" means none.
	InboundAddr string
	Issuer      string // gestore-emittente and signer name
	Domain      string // the provider's domain: receipts' From and message ids
	CA          *pki.CA
	Clock       clock.Clock // clock.Real() when nil
	Faults      Faults
	Logger      *slog.Logger // discards when nil
	// Journal keeps a copy of every message the provider writes (Written).
	Journal bool
	// StateDir, when set, is where the mailboxes are saved on every change
	// and restored from at start; "" keeps them in memory only.
	StateDir string
}

// Written is a message the provider wrote and delivered.
type Written struct {
	To   string   // mailbox
	Kind pec.Kind // expected kind
	Raw  []byte
}

// Provider is a running simulated PEC provider.
type Provider struct {
	cfg    Config
	clock  clock.Clock
	log    *slog.Logger
	signer *pec.Signer
	mem    *imapmemserver.Server

	accounts map[string]*account // by lower-case address
	domains  map[string]bool

	smtpSrv, inSrv *smtp.Server
	imapSrv        *imapserver.Server
	smtpLn, imapLn net.Listener
	inLn           net.Listener
	wg             sync.WaitGroup

	mu      sync.Mutex // faults, journal, sessions, closed
	faults  Faults
	journal []Written
	closed  bool
	timers  map[clock.Timer]struct{}

	deliverMu sync.Mutex // serialises appends with UIDVALIDITY changes

	// stateMu is held for reading by every change to the mailboxes and for
	// writing while a save reads them (Config.StateDir).
	stateMu sync.RWMutex
	store   *store // nil without Config.StateDir
}

type account struct {
	address, password string
	user              *imapmemserver.User
	sessions          map[*imapSession]struct{} // guarded by Provider.mu
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.ToLower(addr[i+1:])
	}
	return ""
}

// Start starts the provider's servers.
func Start(cfg Config) (*Provider, error) {
	if cfg.CA == nil {
		return nil, errors.New("provider: no CA")
	}
	if len(cfg.Mailboxes) == 0 {
		return nil, errors.New("provider: no mailboxes")
	}
	if cfg.MaxSize <= 0 {
		cfg.MaxSize = DefaultMaxSize
	}
	if cfg.Issuer == "" {
		cfg.Issuer = DefaultIssuer
	}
	if cfg.Domain == "" {
		cfg.Domain = DefaultDomain
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Provider{
		cfg: cfg, clock: cfg.Clock, log: cfg.Logger, faults: cfg.Faults,
		mem: imapmemserver.New(), accounts: map[string]*account{}, domains: map[string]bool{},
		timers: map[clock.Timer]struct{}{},
	}
	for _, d := range cfg.Domains {
		p.domains[strings.ToLower(d)] = true
	}
	if cfg.StateDir != "" {
		p.store = &store{
			dir: cfg.StateDir, dirty: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
			saved: map[string]map[string]savedMsg{}, uvMax: map[string]uint32{}, lastIndex: map[string][]byte{},
		}
	}
	for _, m := range cfg.Mailboxes {
		addr := strings.ToLower(strings.TrimSpace(m.Address))
		if domainOf(addr) == "" || strings.Count(addr, "@") != 1 {
			return nil, fmt.Errorf("provider: mailbox %q is not an address", m.Address)
		}
		if m.Password == "" {
			return nil, fmt.Errorf("provider: mailbox %s without password", addr)
		}
		if p.accounts[addr] != nil {
			return nil, fmt.Errorf("provider: mailbox %s given twice", addr)
		}
		if len(cfg.Domains) == 0 {
			p.domains[domainOf(addr)] = true
		}
		u := imapmemserver.NewUser(addr, m.Password)
		a := &account{address: addr, password: m.Password, user: u, sessions: map[*imapSession]struct{}{}}
		if p.store != nil {
			if err := p.restore(a); err != nil {
				return nil, err
			}
		}
		for _, f := range append([]string{"INBOX"}, cfg.Folders...) {
			if _, err := u.Status(f, &imap.StatusOptions{}); err == nil {
				continue // restored
			}
			if err := u.Create(f, nil); err != nil {
				return nil, fmt.Errorf("provider: folder %q: %w", f, err)
			}
		}
		p.mem.AddUser(u)
		p.accounts[addr] = a
	}
	if p.store != nil {
		p.startStore()
		p.touch() // saves the folders made now, and the mailboxes' first state
	}
	var err error
	if p.signer, err = cfg.CA.Signer(cfg.Issuer, "posta-certificata@"+cfg.Domain); err != nil {
		return nil, err
	}
	cert, err := cfg.CA.TLSCertificate()
	if err != nil {
		return nil, err
	}
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if err := p.listen(tlsCfg); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func listen(addr string) (net.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	return net.Listen("tcp", addr)
}

func (p *Provider) listen(tlsCfg *tls.Config) error {
	var err error
	if p.smtpLn, err = listen(p.cfg.SMTPAddr); err != nil {
		return fmt.Errorf("provider: SMTP: %w", err)
	}
	if p.imapLn, err = listen(p.cfg.IMAPAddr); err != nil {
		return fmt.Errorf("provider: IMAP: %w", err)
	}
	if p.cfg.InboundAddr != "" {
		if p.inLn, err = listen(p.cfg.InboundAddr); err != nil {
			return fmt.Errorf("provider: inbound SMTP: %w", err)
		}
	}
	errLog := slogPrintf{p.log.With("server", "smtp")}
	hardMax := max(2*p.cfg.MaxSize, p.cfg.MaxSize+(1<<20)) // over MaxSize: non-accettazione; over this: SMTP error
	p.smtpSrv = smtp.NewServer(&smtpBackend{p: p})
	p.smtpSrv.Domain = "localhost"
	p.smtpSrv.MaxMessageBytes = hardMax
	p.smtpSrv.MaxRecipients = 100
	p.smtpSrv.ReadTimeout, p.smtpSrv.WriteTimeout = time.Minute, time.Minute
	p.smtpSrv.ErrorLog = errLog
	smtpLn := tls.NewListener(&refusingListener{Listener: p.smtpLn, p: p}, tlsCfg)
	p.serve(func() error { return p.smtpSrv.Serve(smtpLn) })

	if p.inLn != nil {
		p.inSrv = smtp.NewServer(&smtpBackend{p: p, inbound: true})
		p.inSrv.Domain = "localhost"
		p.inSrv.MaxMessageBytes = hardMax
		p.inSrv.ReadTimeout, p.inSrv.WriteTimeout = time.Minute, time.Minute
		p.inSrv.ErrorLog = errLog
		p.serve(func() error { return p.inSrv.Serve(p.inLn) })
	}

	p.imapSrv = imapserver.New(&imapserver.Options{
		NewSession: p.newIMAPSession,
		Caps:       imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		Logger:     slogPrintf{p.log.With("server", "imap")},
	})
	imapLn := tls.NewListener(&cutListener{p.imapLn}, tlsCfg)
	p.serve(func() error { return p.imapSrv.Serve(imapLn) })
	return nil
}

func (p *Provider) serve(f func() error) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		if err := f(); err != nil && !p.isClosed() {
			p.log.Error("server stopped", "err", err)
		}
	}()
}

// SMTPAddr is the host:port of SMTP submission (implicit TLS).
func (p *Provider) SMTPAddr() string { return p.smtpLn.Addr().String() }

// IMAPAddr is the host:port of IMAP (implicit TLS).
func (p *Provider) IMAPAddr() string { return p.imapLn.Addr().String() }

// InboundAddr is the host:port of the plain inbound SMTP port, "" when off.
func (p *Provider) InboundAddr() string {
	if p.inLn == nil {
		return ""
	}
	return p.inLn.Addr().String()
}

// Mailboxes returns the mailboxes and their passwords.
func (p *Provider) Mailboxes() []Mailbox {
	out := make([]Mailbox, 0, len(p.cfg.Mailboxes))
	for _, m := range p.cfg.Mailboxes {
		out = append(out, Mailbox{Address: strings.ToLower(strings.TrimSpace(m.Address)), Password: m.Password})
	}
	return out
}

// Signer returns the provider's signer (its certificate chains to the CA).
func (p *Provider) Signer() *pec.Signer { return p.signer }

// Clock returns the provider's clock.
func (p *Provider) Clock() clock.Clock { return p.clock }

// Faults returns the current faults.
func (p *Provider) Faults() Faults {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.faults
}

// SetFaults replaces the faults; it takes effect for the next connection,
// submission or FETCH.
func (p *Provider) SetFaults(f Faults) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = f
}

// Written returns the messages written so far (Config.Journal).
func (p *Provider) Written() []Written {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Written(nil), p.journal...)
}

func (p *Provider) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// Close stops the servers and the pending timers.
func (p *Provider) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	for t := range p.timers {
		t.Stop()
	}
	p.mu.Unlock()
	var errs []error
	// The listeners are closed directly too: a server closed before its Serve
	// has registered them would otherwise serve forever.
	for _, ln := range []net.Listener{p.smtpLn, p.imapLn, p.inLn} {
		if ln != nil {
			errs = append(errs, ln.Close())
		}
	}
	if p.smtpSrv != nil {
		errs = append(errs, p.smtpSrv.Close())
	}
	if p.inSrv != nil {
		errs = append(errs, p.inSrv.Close())
	}
	if p.imapSrv != nil {
		errs = append(errs, p.imapSrv.Close())
	}
	p.wg.Wait()
	errs = append(errs, p.closeStore())
	var out []error
	for _, e := range errs {
		if e != nil && !errors.Is(e, net.ErrClosed) && !errors.Is(e, smtp.ErrServerClosed) {
			out = append(out, e)
		}
	}
	return errors.Join(out...)
}

// later runs f after d on the provider's clock (now when d is 0), unless the
// provider is closed by then.
func (p *Provider) later(d time.Duration, f func()) {
	if d <= 0 {
		f()
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	var t clock.Timer
	t = p.clock.AfterFunc(d, func() {
		p.mu.Lock()
		delete(p.timers, t)
		closed := p.closed
		p.mu.Unlock()
		if !closed {
			f()
		}
	})
	p.timers[t] = struct{}{}
}

// Append puts raw in a mailbox's folder, as a delivery would. Tests use it to
// place arbitrary messages.
func (p *Provider) Append(address, folder string, raw []byte) error {
	a := p.accounts[strings.ToLower(address)]
	if a == nil {
		return fmt.Errorf("provider: no mailbox %s", address)
	}
	p.stateMu.RLock()
	defer p.stateMu.RUnlock()
	p.deliverMu.Lock()
	defer p.deliverMu.Unlock()
	_, err := a.user.Append(folder, bytes.NewReader(raw), &imap.AppendOptions{Time: p.clock.Now()})
	p.touch()
	return err
}

// deliver appends a message the provider wrote to the INBOX of to.
func (p *Provider) deliver(to string, kind pec.Kind, raw []byte) {
	if err := p.Append(to, "INBOX", raw); err != nil {
		p.log.Error("delivery failed", "kind", kind, "err", err)
		return
	}
	p.mu.Lock()
	if p.cfg.Journal {
		p.journal = append(p.journal, Written{To: strings.ToLower(to), Kind: kind, Raw: raw})
	}
	p.mu.Unlock()
}

// ChangeUIDValidity gives folder of mailbox address a new UIDVALIDITY and
// renumbers its messages from UID 1, keeping flags and dates, as a server does
// when it rebuilds its index. Open IMAP sessions of the mailbox are closed so
// that clients reconnect and see the change.
func (p *Provider) ChangeUIDValidity(address, folder string) error {
	a := p.accounts[strings.ToLower(address)]
	if a == nil {
		return fmt.Errorf("provider: no mailbox %s", address)
	}
	p.stateMu.RLock()
	defer p.stateMu.RUnlock()
	p.deliverMu.Lock()
	defer p.deliverMu.Unlock()
	defer p.touch()
	tmp := folder + ".rebuild"
	if err := a.user.Rename(folder, tmp, nil); err != nil {
		return fmt.Errorf("provider: %s: %w", folder, err)
	}
	if err := a.user.Create(folder, nil); err != nil {
		return fmt.Errorf("provider: %s: %w", folder, err)
	}
	sess := imapmemserver.NewUserSession(a.user)
	defer sess.Close()
	sd, err := sess.Select(tmp, nil)
	if err != nil {
		return err
	}
	if sd.NumMessages > 0 {
		var all imap.SeqSet
		all.AddRange(1, sd.NumMessages)
		if _, err := sess.Copy(all, folder); err != nil {
			return err
		}
	}
	if err := a.user.Delete(tmp); err != nil {
		return err
	}
	p.mu.Lock()
	var open []*imapSession
	for s := range a.sessions {
		open = append(open, s)
	}
	p.mu.Unlock()
	for _, s := range open {
		s.conn.Close()
	}
	p.log.Info("UIDVALIDITY changed", "mailbox", a.address, "folder", folder)
	return nil
}

// UIDValidity returns the UIDVALIDITY of a folder.
func (p *Provider) UIDValidity(address, folder string) (uint32, error) {
	a := p.accounts[strings.ToLower(address)]
	if a == nil {
		return 0, fmt.Errorf("provider: no mailbox %s", address)
	}
	sd, err := a.user.Status(folder, &imap.StatusOptions{UIDValidity: true})
	if err != nil {
		return 0, err
	}
	return sd.UIDValidity, nil
}

// slogPrintf adapts slog to the Printf loggers of go-smtp and go-imap.
type slogPrintf struct{ l *slog.Logger }

func (s slogPrintf) Printf(format string, v ...any) { s.l.Warn(fmt.Sprintf(format, v...)) }
func (s slogPrintf) Println(v ...any)               { s.l.Warn(fmt.Sprint(v...)) }

// refusingListener closes connections while Faults.RefuseSMTP is set.
type refusingListener struct {
	net.Listener
	p *Provider
}

func (l *refusingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.p.Faults().RefuseSMTP {
			l.p.log.Info("SMTP connection refused (fault)")
			c.Close()
			continue
		}
		return c, nil
	}
}

// cutListener wraps IMAP connections so that a FETCH can be cut.
type cutListener struct{ net.Listener }

func (l *cutListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &cutConn{Conn: c, budget: -1}, nil
}

// cutConn closes itself once budget bytes have been written after arming.
type cutConn struct {
	net.Conn
	mu     sync.Mutex
	budget int // -1: disarmed
}

func (c *cutConn) arm(n int) {
	c.mu.Lock()
	c.budget = n
	c.mu.Unlock()
}

func (c *cutConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	budget := c.budget
	if budget >= 0 && len(b) > budget {
		c.budget = 0
		c.mu.Unlock()
		n, _ := c.Conn.Write(b[:budget])
		c.Conn.Close()
		return n, net.ErrClosed
	}
	if budget >= 0 {
		c.budget -= len(b)
	}
	c.mu.Unlock()
	return c.Conn.Write(b)
}

var _ io.Writer = (*cutConn)(nil)

// Package procura simulates the Procura della Repubblica's side of the
// certificate requests: it reads its PEC mailbox over IMAP (TLS), and for each
// transport envelope (posta-certificata) it takes the request's protocol number
// and date (from segnatura.xml when present, else from the subject), reads the
// subjects file with a pluggable subjects.Format and, after a configurable
// delay on its clock (the "evening batch"), replies by PEC through SMTP
// submission to the sender: subject and body quote the protocol ("Rif. Vs.
// prot. n. 0012345 del 25/11/2026" by default), In-Reply-To and References
// carry the request's Message-ID, and one PDF certificate per person is
// attached (or one merged PDF). Each person's outcome is decided by Outcome.
//
// A request without a valid protocol number, without a subjects file or with
// an unreadable one is refused with a reply stating the reason (so is every
// request in ModeRefuse). Handled messages are flagged in the mailbox
// (\Answered for requests, \Seen for anything else) and never handled again,
// even by a new Procura after a restart.
package procura

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/casellario-pec/casellario/shared/localdev/sim/clock"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/subjects"
)

// Mode is how the Procura answers.
type Mode string

// Modes.
const (
	ModePerPerson Mode = "per-person" // one PDF per person (default)
	ModeMerged    Mode = "merged"     // one PDF, one page per person
	ModeRefuse    Mode = "refuse"     // refuse every request
)

// Defaults.
const (
	DefaultQuote         = "Rif. Vs. prot. n. {numero} del {data}"
	DefaultFileName      = "{codice_fiscale}.pdf"
	DefaultMergedName    = "certificati.pdf"
	DefaultOffice        = "PROCURA DELLA REPUBBLICA PRESSO IL TRIBUNALE DI PRATO (SIMULATA)"
	DefaultPoll          = 2 * time.Second
	DefaultSubjectRegexp = `(?i)prot(?:ocollo|\.)?\s*(?:n\.?|num\.?|nr\.?)?\s*(?P<numero>(?:[A-Za-z0-9_.]+-)?\d+)\s+del\s+(?P<data>\d{1,2}/\d{1,2}/\d{4})`
)

// Config configures the Procura. Address, Password, IMAPAddr, SMTPAddr and TLS
// are required.
type Config struct {
	Address, Password  string
	IMAPAddr, SMTPAddr string
	TLS                *tls.Config // trusts the provider's CA
	// TrustStore, when set, makes the Procura ignore envelopes whose signature
	// is not valid against it.
	TrustStore *x509.CertPool
	Poll       time.Duration // real-time poll interval; DefaultPoll when 0
	Delay      time.Duration // reply delay on Clock (the evening batch)
	Clock      clock.Clock   // clock.Real() when nil
	Mode       Mode
	// Quote is how the protocol is quoted; {numero} (the reference as the
	// request's subject gives it, register code included) and {data} are
	// replaced.
	Quote string
	// FileName names each PDF; {codice_fiscale}, {cognome}, {nome} and {n}
	// (1-based position in the list) are replaced. A person without fiscal
	// code gets "SOGGETTO-{n}" in its place.
	FileName   string
	MergedName string
	Office     string // the issuing office printed on certificates
	// SubjectRegexp finds the protocol reference in the request's subject (a
	// clerk copies it from there); segnatura.xml is read when the subject has
	// none. It needs the named groups numero and data.
	SubjectRegexp string
	Format        subjects.Format // subjects.Default() when nil
	Logger        *slog.Logger
}

// Reply is what the Procura did with one request.
type Reply struct {
	RequestMessageID string // the original request's Message-ID
	ReplyMessageID   string
	To               string
	Protocol         string // number, "" when refused for its lack
	ProtocolDate     string // GG/MM/AAAA
	Refused          bool
	Reason           string // why it was refused
	Files            []string
	People           int
	SentAt           time.Time // on the Procura's clock
}

// Procura is a running simulated Procura.
type Procura struct {
	cfg     Config
	clock   clock.Clock
	log     *slog.Logger
	subject *regexp.Regexp
	format  subjects.Format

	wake   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	pending  map[string]bool // envelope Message-IDs scheduled, not yet answered
	due      []*job          // replies whose delay has passed
	answered map[string]bool // request Message-IDs answered by this process
	toFlag   []string        // envelope Message-IDs to flag \Answered
	replies  []Reply
	timers   []clock.Timer
	errs     int
}

type job struct {
	envelopeID string
	req        *request
}

// Start starts polling. Close stops it.
func Start(cfg Config) (*Procura, error) {
	if cfg.Address == "" || cfg.Password == "" || cfg.IMAPAddr == "" || cfg.SMTPAddr == "" || cfg.TLS == nil {
		return nil, errors.New("procura: Address, Password, IMAPAddr, SMTPAddr and TLS are required")
	}
	switch cfg.Mode {
	case "":
		cfg.Mode = ModePerPerson
	case ModePerPerson, ModeMerged, ModeRefuse:
	default:
		return nil, fmt.Errorf("procura: unknown mode %q (per-person, merged, refuse)", cfg.Mode)
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.Quote == "" {
		cfg.Quote = DefaultQuote
	}
	if cfg.FileName == "" {
		cfg.FileName = DefaultFileName
	}
	if cfg.MergedName == "" {
		cfg.MergedName = DefaultMergedName
	}
	if cfg.Office == "" {
		cfg.Office = DefaultOffice
	}
	if cfg.SubjectRegexp == "" {
		cfg.SubjectRegexp = DefaultSubjectRegexp
	}
	re, err := regexp.Compile(cfg.SubjectRegexp)
	if err != nil {
		return nil, fmt.Errorf("procura: subject regexp: %w", err)
	}
	if re.SubexpIndex("numero") < 0 || re.SubexpIndex("data") < 0 {
		return nil, errors.New("procura: subject regexp needs the groups (?P<numero>) and (?P<data>)")
	}
	if cfg.Format == nil {
		cfg.Format = subjects.Default()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Procura{
		cfg: cfg, clock: cfg.Clock, log: cfg.Logger, subject: re, format: cfg.Format,
		wake: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{}),
		pending: map[string]bool{}, answered: map[string]bool{},
	}
	go p.loop(ctx)
	return p, nil
}

// Close stops the Procura; replies not yet sent are forgotten (their requests
// stay unflagged, so a new Procura answers them).
func (p *Procura) Close() error {
	p.cancel()
	<-p.done
	p.mu.Lock()
	for _, t := range p.timers {
		t.Stop()
	}
	p.mu.Unlock()
	return nil
}

// PollNow makes the Procura poll at once.
func (p *Procura) PollNow() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Replies returns what the Procura has answered so far.
func (p *Procura) Replies() []Reply {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Reply(nil), p.replies...)
}

// Pending returns how many requests wait for their delay to pass or to be sent.
func (p *Procura) Pending() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pending)
}

// Errors returns how many poll rounds failed (connection refused or cut...).
func (p *Procura) Errors() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.errs
}

func (p *Procura) loop(ctx context.Context) {
	defer close(p.done)
	t := time.NewTicker(p.cfg.Poll)
	defer t.Stop()
	for {
		if err := p.round(ctx); err != nil && ctx.Err() == nil {
			p.mu.Lock()
			p.errs++
			p.mu.Unlock()
			p.log.Warn("procura poll failed; retrying", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-p.wake:
		}
	}
}

// round is one poll: read new messages, send due replies, flag what was
// answered. Every step is safe to repeat after a failure.
func (p *Procura) round(ctx context.Context) error {
	c, err := p.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		return fmt.Errorf("select: %w", err)
	}
	if err := p.read(c); err != nil {
		return err
	}
	if err := p.send(ctx); err != nil {
		return err
	}
	if err := p.flag(c); err != nil {
		return err
	}
	return c.Logout().Wait()
}

func (p *Procura) dial(ctx context.Context) (*imapclient.Client, error) {
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: p.cfg.TLS}
	conn, err := d.DialContext(ctx, "tcp", p.cfg.IMAPAddr)
	if err != nil {
		return nil, fmt.Errorf("imap dial: %w", err)
	}
	c := imapclient.New(conn, nil)
	if err := c.Login(p.cfg.Address, p.cfg.Password).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("imap login: %w", err)
	}
	return c, nil
}

// read fetches the unhandled messages one by one and schedules the replies.
func (p *Procura) read(c *imapclient.Client) error {
	sd, err := c.UIDSearch(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagAnswered, imap.FlagSeen}}, nil).Wait()
	if err != nil {
		return fmt.Errorf("search: %w", err)
	}
	for _, uid := range sd.AllUIDs() {
		section := &imap.FetchItemBodySection{Peek: true}
		msgs, err := c.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
		if err != nil {
			return fmt.Errorf("fetch: %w", err)
		}
		if len(msgs) != 1 {
			continue // expunged meanwhile
		}
		raw := msgs[0].FindBodySection(section)
		if err := p.handle(c, uid, raw); err != nil {
			return err
		}
	}
	return nil
}

func (p *Procura) handle(c *imapclient.Client, uid imap.UID, raw []byte) error {
	m, err := pec.Parse(raw, pec.ReadOptions{TrustStore: p.cfg.TrustStore})
	ignore := func(why string) error {
		p.log.Info("procura ignores a message", "why", why)
		return c.Store(imap.UIDSetNum(uid), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close()
	}
	switch {
	case err != nil:
		return ignore("unreadable")
	case m.Kind != pec.KindPostaCertificata:
		return ignore(string(m.Kind))
	case p.cfg.TrustStore != nil && m.Signature.Status != pec.SignatureValid:
		return ignore("signature " + string(m.Signature.Status))
	case m.Original == nil:
		return ignore("envelope without original")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pending[m.MessageID] {
		return nil
	}
	if p.answered[m.RefMessageID] {
		// The same request delivered again: answered once is enough.
		p.toFlag = append(p.toFlag, m.MessageID)
		return nil
	}
	req := p.parseRequest(m)
	p.pending[m.MessageID] = true
	j := &job{envelopeID: m.MessageID, req: req}
	p.log.Info("request received", "refused", req.refusal != "", "people", len(req.people), "delay", p.cfg.Delay)
	if p.cfg.Delay <= 0 {
		p.due = append(p.due, j)
		return nil
	}
	p.timers = append(p.timers, p.clock.AfterFunc(p.cfg.Delay, func() {
		p.mu.Lock()
		p.due = append(p.due, j)
		p.mu.Unlock()
		p.PollNow()
	}))
	return nil
}

// send sends the due replies; a failed one stays due.
func (p *Procura) send(ctx context.Context) error {
	p.mu.Lock()
	due := p.due
	p.due = nil
	p.mu.Unlock()
	for i, j := range due {
		r, err := p.reply(ctx, j.req)
		if err != nil {
			p.mu.Lock()
			p.due = append(due[i:], p.due...)
			p.mu.Unlock()
			return fmt.Errorf("reply: %w", err)
		}
		p.mu.Lock()
		p.answered[j.req.messageID] = true
		p.toFlag = append(p.toFlag, j.envelopeID)
		p.replies = append(p.replies, r)
		p.mu.Unlock()
		p.log.Info("reply sent", "refused", r.Refused, "files", len(r.Files))
	}
	return nil
}

// flag marks answered envelopes \Answered, found by Message-ID so that a
// UIDVALIDITY change meanwhile does no harm.
func (p *Procura) flag(c *imapclient.Client) error {
	p.mu.Lock()
	ids := p.toFlag
	p.mu.Unlock()
	for _, id := range ids {
		sd, err := c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: id}}}, nil).Wait()
		if err != nil {
			return fmt.Errorf("search: %w", err)
		}
		if uids := sd.AllUIDs(); len(uids) > 0 {
			err := c.Store(imap.UIDSetNum(uids...), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagAnswered}}, nil).Close()
			if err != nil {
				return fmt.Errorf("store: %w", err)
			}
		}
		p.mu.Lock()
		p.toFlag = p.toFlag[1:]
		delete(p.pending, id)
		p.mu.Unlock()
	}
	return nil
}

package provider

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/casellario-pec/casellario/shared/pec"
)

type smtpBackend struct {
	p       *Provider
	inbound bool // the plain port for ordinary mail
}

func (b *smtpBackend) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &smtpSession{p: b.p, inbound: b.inbound}, nil
}

type smtpSession struct {
	p       *Provider
	inbound bool
	user    string // authenticated mailbox
	from    string
	rcpts   []string
}

var _ smtp.AuthSession = (*smtpSession)(nil)

func (s *smtpSession) AuthMechanisms() []string {
	if s.inbound {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

func (s *smtpSession) login(username, password string) error {
	a := s.p.accounts[strings.ToLower(username)]
	if a == nil || subtle.ConstantTimeCompare([]byte(password), []byte(a.password)) != 1 {
		return smtp.ErrAuthFailed
	}
	s.user = a.address
	return nil
}

func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	if s.inbound {
		return nil, smtp.ErrAuthUnsupported
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, username, password string) error {
			if identity != "" && !strings.EqualFold(identity, username) {
				return smtp.ErrAuthFailed
			}
			return s.login(username, password)
		}), nil
	case sasl.Login:
		return &loginServer{check: s.login}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

// loginServer is the server side of AUTH LOGIN (go-sasl only has the client).
type loginServer struct {
	step     int
	username string
	check    func(username, password string) error
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 1
		if len(resp) == 0 {
			return []byte("Username:"), false, nil
		}
		fallthrough
	case 1:
		l.username, l.step = string(resp), 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		return nil, true, l.check(l.username, string(resp))
	}
	return nil, true, errors.New("unexpected response")
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.inbound {
		s.from = from
		return nil
	}
	if s.user == "" {
		return smtp.ErrAuthRequired
	}
	if !strings.EqualFold(from, s.user) {
		return &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Sender address is not the authenticated mailbox"}
	}
	s.from = s.user
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	to = strings.ToLower(strings.TrimSpace(to))
	if _, err := mail.ParseAddress(to); err != nil {
		return &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 1, 3}, Message: "Bad recipient address"}
	}
	if s.inbound && s.p.accounts[to] == nil {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such mailbox"}
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.inbound {
		s.p.ordinary(s.from, s.rcpts, raw)
		return nil
	}
	return s.p.submit(s.user, s.rcpts, raw)
}

func (s *smtpSession) Reset()        { s.from, s.rcpts = "", nil }
func (s *smtpSession) Logout() error { return nil }

// InjectOrdinary delivers raw, an ordinary (non-PEC) message from the
// Internet, to the mailboxes rcpts as an anomaly envelope.
func (p *Provider) InjectOrdinary(raw []byte, rcpts ...string) error {
	for _, r := range rcpts {
		if p.accounts[strings.ToLower(r)] == nil {
			return fmt.Errorf("provider: no mailbox %s", r)
		}
	}
	return p.ordinary("", rcpts, raw)
}

func (p *Provider) ordinary(envFrom string, rcpts []string, raw []byte) error {
	m, err := pec.Parse(raw, pec.ReadOptions{MaxSize: 1 << 62})
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Not an e-mail message"}
	}
	sender := envFrom
	if f := m.Header.Addresses("From"); len(f) > 0 {
		sender = f[0]
	}
	var recipients []pec.Recipient
	for _, r := range rcpts {
		recipients = append(recipients, pec.Recipient{Address: strings.ToLower(r), Type: pec.RecipientCertificato})
	}
	var b bytes.Buffer
	if _, err := pec.WriteEnvelope(&b, raw, pec.EnvelopeSpec{
		Kind: pec.KindAnomalia, Issuer: p.cfg.Issuer, Domain: p.cfg.Domain, Sender: sender,
		Recipients: recipients, Time: p.clock.Now(),
	}, p.signer); err != nil {
		p.log.Error("anomaly envelope", "err", err)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Local error"}
	}
	env := b.Bytes()
	for _, r := range rcpts {
		p.deliver(r, pec.KindAnomalia, env)
	}
	p.log.Info("ordinary mail delivered as anomaly", "recipients", len(rcpts))
	return nil
}

// submission is one message accepted on the submission port.
type submission struct {
	id, refID, sender, subject, replyTo string
	rtype                               pec.ReceiptType
	recipients                          []pec.Recipient
	raw                                 []byte
	at                                  time.Time
}

func (p *Provider) served(addr string) bool { return p.domains[domainOf(addr)] }

// submit does what the sender's provider does with a submitted message.
func (p *Provider) submit(user string, rcpts []string, raw []byte) error {
	m, err := pec.Parse(raw, pec.ReadOptions{MaxSize: 1 << 62})
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Not an e-mail message"}
	}
	s := &submission{
		id: pec.NewID(p.cfg.Domain), refID: m.Header.MessageID("Message-ID"), sender: user,
		subject: m.Header.Text("Subject"), raw: raw, at: p.clock.Now(),
		rtype: pec.ReceiptType(strings.ToLower(strings.TrimSpace(m.Header.Get("X-TipoRicevuta")))),
	}
	if s.refID == "" {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Message without Message-ID"}
	}
	if !s.rtype.Valid() {
		s.rtype = pec.ReceiptCompleta
	}
	if r := m.Header.Addresses("Reply-To"); len(r) > 0 {
		s.replyTo = r[0]
	}
	for _, r := range rcpts {
		t := pec.RecipientEsterno
		if p.served(r) {
			t = pec.RecipientCertificato
		}
		s.recipients = append(s.recipients, pec.Recipient{Address: r, Type: t})
	}
	from := m.Header.Addresses("From")
	switch {
	case len(from) != 1 || !strings.EqualFold(from[0], user):
		p.receipt(s, pec.KindNonAccettazione, "", pec.ErrorAltro, "mittente non corrispondente alla casella di posta certificata")
		p.log.Info("submission refused", "reason", "sender", "id", s.id)
		return nil
	case int64(len(raw)) > p.cfg.MaxSize:
		p.receipt(s, pec.KindNonAccettazione, "", pec.ErrorAltro, fmt.Sprintf("dimensione del messaggio superiore al limite di %d byte", p.cfg.MaxSize))
		p.log.Info("submission refused", "reason", "size", "id", s.id, "bytes", len(raw))
		return nil
	case infected(m):
		p.receipt(s, pec.KindNonAccettazione, "", pec.ErrorVirus, "virus rilevato nel messaggio")
		p.log.Info("submission refused", "reason", "virus", "id", s.id)
		return nil
	}
	p.receipt(s, pec.KindAccettazione, "", pec.ErrorNone, "")
	p.log.Info("submission accepted", "id", s.id, "recipients", len(rcpts))

	var env bytes.Buffer
	if _, err := pec.WriteEnvelope(&env, raw, pec.EnvelopeSpec{
		Identificativo: s.id, Issuer: p.cfg.Issuer, Domain: p.cfg.Domain, Sender: user,
		Recipients: s.recipients, ReplyTo: s.replyTo, Subject: s.subject, RefMessageID: s.refID,
		ReceiptType: s.rtype, Time: s.at,
	}, p.signer); err != nil {
		p.log.Error("transport envelope", "err", err)
		return nil
	}
	f := p.Faults()
	for _, r := range rcpts {
		switch {
		case !p.served(r):
			p.receipt(s, pec.KindErroreConsegna, r, pec.ErrorNoDominio, "dominio non appartenente al circuito di posta certificata")
		case p.accounts[r] == nil:
			p.receipt(s, pec.KindErroreConsegna, r, pec.ErrorNoDest, "casella di posta certificata inesistente")
		default:
			if !f.HoldEnvelope {
				p.deliver(r, pec.KindPostaCertificata, env.Bytes())
				if f.DeliverTwice {
					p.deliver(r, pec.KindPostaCertificata, env.Bytes())
				}
			}
			if f.DropDeliveryReceipt {
				p.timeout(s, r)
			} else if !f.HoldEnvelope {
				p.receipt(s, pec.KindAvvenutaConsegna, r, pec.ErrorNone, "")
			}
		}
	}
	return nil
}

// timeout issues the 12 h preavviso and the 24 h errore-consegna of a
// recipient whose delivery receipt was lost.
func (p *Provider) timeout(s *submission, rcpt string) {
	p.later(PreavvisoAfter, func() {
		p.receipt(s, pec.KindPreavvisoErroreConsegna, rcpt, pec.ErrorAltro, "mancata ricezione della ricevuta di consegna entro 12 ore")
	})
	p.later(ErroreAfter, func() {
		p.receipt(s, pec.KindErroreConsegna, rcpt, pec.ErrorAltro, "mancata ricezione della ricevuta di consegna entro 24 ore")
	})
}

// receipt writes a receipt of s and delivers it to the sender, after the
// ReceiptDelay fault if any.
func (p *Provider) receipt(s *submission, kind pec.Kind, delivery, errCode, detail string) {
	p.later(time.Duration(p.Faults().ReceiptDelay), func() {
		spec := pec.ReceiptSpec{
			Kind: kind, Identificativo: s.id, Domain: p.cfg.Domain, To: s.sender, Issuer: p.cfg.Issuer,
			RefMessageID: s.refID, Sender: s.sender, Recipients: s.recipients, ReplyTo: s.replyTo,
			Subject: s.subject, Delivery: delivery, Time: p.clock.Now(), Error: errCode, ErrorDetail: detail,
		}
		if kind == pec.KindAvvenutaConsegna {
			spec.Type = s.rtype
			if s.rtype != pec.ReceiptSintetica {
				spec.Original = s.raw
			}
		}
		var b bytes.Buffer
		if _, err := pec.WriteReceipt(&b, spec, p.signer); err != nil {
			p.log.Error("receipt", "kind", kind, "err", err)
			return
		}
		p.deliver(s.sender, kind, b.Bytes())
	})
}

// infected reports whether the message or any attachment carries EICAR.
func infected(m *pec.Message) bool {
	if bytes.Contains(m.Raw(), []byte(EICAR)) {
		return true
	}
	for _, a := range m.Attachments() {
		r, err := a.Open()
		if err != nil {
			continue
		}
		data, _ := io.ReadAll(io.LimitReader(r, 64<<20))
		if bytes.Contains(data, []byte(EICAR)) {
			return true
		}
	}
	return false
}

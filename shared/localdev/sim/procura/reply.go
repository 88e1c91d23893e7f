package procura

import (
	"context"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/pec/compose"
	"github.com/casellario-pec/casellario/shared/pec/segnatura"
)

// request is what the Procura understood of a transport envelope.
type request struct {
	messageID string // the original's
	replyTo   string
	subject   string
	number    string // protocol number
	date      string // GG/MM/AAAA
	people    []domain.Person
	refusal   string // why it is refused, in Italian; "" when it is not
}

var reNumber = regexp.MustCompile(`^(?:[A-Za-z0-9_.]+-)?[0-9]{7,}$`)

// protocol finds the request's protocol reference and date: the subject
// first (as a clerk would copy it, register code included), else
// segnatura.xml. It returns a refusal reason when neither is usable.
func (p *Procura) protocol(m *pec.Message) (number, date, refusal string) {
	if sm := p.subject.FindStringSubmatch(m.Original.Subject); sm != nil {
		number = sm[p.subject.SubexpIndex("numero")]
		t, err := time.Parse("2/1/2006", sm[p.subject.SubexpIndex("data")])
		if !reNumber.MatchString(number) || err != nil {
			return "", "", "numero o data di protocollo della richiesta non validi"
		}
		return number, t.Format("02/01/2006"), ""
	}
	for _, a := range m.Attachments() {
		if !strings.EqualFold(a.Name, segnatura.FileName) {
			continue
		}
		r, err := a.Open()
		if err != nil {
			break
		}
		data, _ := io.ReadAll(io.LimitReader(r, 1<<20))
		s, err := segnatura.Parse(data)
		if err != nil {
			return "", "", "segnatura di protocollo (segnatura.xml) illeggibile"
		}
		id := s.Intestazione.Identificatore
		t, err := time.Parse("2006-01-02", id.DataRegistrazione)
		if !reNumber.MatchString(id.NumeroRegistrazione) || err != nil {
			return "", "", "numero o data di protocollo non validi nella segnatura"
		}
		return id.NumeroRegistrazione, t.Format("02/01/2006"), ""
	}
	return "", "", "numero di protocollo della richiesta mancante"
}

func (p *Procura) parseRequest(m *pec.Message) *request {
	req := &request{messageID: m.RefMessageID, replyTo: m.ReplyTo, subject: m.Original.Subject}
	if req.messageID == "" {
		req.messageID = m.Original.MessageID
	}
	if req.replyTo == "" {
		req.replyTo = m.Sender
	}
	req.number, req.date, req.refusal = p.protocol(m)
	if req.refusal != "" {
		return req
	}
	var list *pec.Attachment
	atts := m.Attachments()
	base := strings.SplitN(p.format.ContentType(), ";", 2)[0]
	for i := range atts {
		if strings.EqualFold(atts[i].Name, p.format.FileName()) {
			list = &atts[i]
			break
		}
	}
	for i := range atts {
		if list == nil && atts[i].ContentType == base {
			list = &atts[i]
		}
	}
	if list == nil {
		req.refusal = "elenco dei soggetti (" + p.format.FileName() + ") mancante"
		return req
	}
	r, err := list.Open()
	if err == nil {
		req.people, err = p.format.Read(r)
	}
	if err != nil {
		// The reader's errors name rows and columns, never values.
		req.refusal = "elenco dei soggetti illeggibile (" + err.Error() + ")"
		return req
	}
	if p.cfg.Mode == ModeRefuse {
		req.refusal = "richiesta non evasa (rifiuto simulato)"
	}
	return req
}

// quote is the configured reference to the request's protocol.
func (p *Procura) quote(r *request) string {
	return strings.NewReplacer("{numero}", r.number, "{data}", r.date).Replace(p.cfg.Quote)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func (p *Procura) fileName(person domain.Person, n int) string {
	cf := person.FiscalCode
	if cf == "" {
		cf = "SOGGETTO-" + strconv.Itoa(n)
	}
	name := strings.NewReplacer("{codice_fiscale}", cf, "{cognome}", person.Surname, "{nome}", person.Name,
		"{n}", strconv.Itoa(n)).Replace(p.cfg.FileName)
	return unsafeName.ReplaceAllString(name, "_")
}

// reply writes and sends the answer to req.
func (p *Procura) reply(ctx context.Context, req *request) (Reply, error) {
	now := p.clock.Now()
	r := Reply{RequestMessageID: req.messageID, To: req.replyTo, Protocol: req.number, ProtocolDate: req.date,
		People: len(req.people), SentAt: now}
	mail := compose.Mail{From: p.cfg.Address, To: []string{req.replyTo}, Date: now}
	if req.refusal != "" {
		r.Refused, r.Reason = true, req.refusal
		ref := "Vs. richiesta \"" + req.subject + "\""
		if req.number != "" {
			ref = p.quote(req)
		}
		mail.Subject = "Richiesta di certificati non evasa - " + ref
		mail.Text = "In riferimento alla " + ref + ",\r\nla richiesta non può essere evasa per il seguente motivo:\r\n" +
			req.refusal + ".\r\n\r\nSi prega di inviare una nuova richiesta.\r\n\r\n" + p.cfg.Office + "\r\n"
	} else {
		q := p.quote(req)
		mail.Subject = "Certificati del casellario giudiziario - " + q
		mail.Text = fmt.Sprintf("%s.\r\nSi trasmettono in allegato i certificati del casellario giudiziario richiesti (%d soggetti).\r\n\r\n%s\r\n",
			q, len(req.people), p.cfg.Office)
		certs := make([]certificate, len(req.people))
		for i, person := range req.people {
			certs[i] = certificate{Person: person, Quote: q, Office: p.cfg.Office, IssuedAt: now}
		}
		if p.cfg.Mode == ModeMerged {
			data, err := certificatePDF(certs)
			if err != nil {
				return r, err
			}
			mail.Attachments = append(mail.Attachments, compose.Attachment{Name: p.cfg.MergedName, ContentType: "application/pdf", Data: data})
		} else {
			seen := map[string]int{}
			for i, c := range certs {
				data, err := certificatePDF([]certificate{c})
				if err != nil {
					return r, err
				}
				name := p.fileName(c.Person, i+1)
				if seen[name]++; seen[name] > 1 { // the same person twice in a list
					name = strings.TrimSuffix(name, ".pdf") + "-" + strconv.Itoa(seen[name]) + ".pdf"
				}
				mail.Attachments = append(mail.Attachments, compose.Attachment{Name: name, ContentType: "application/pdf", Data: data})
			}
		}
	}
	for _, a := range mail.Attachments {
		r.Files = append(r.Files, a.Name)
	}
	c, err := compose.New(mail)
	if err != nil {
		return r, err
	}
	c.Msg.SetGenHeader(gomail.HeaderInReplyTo, req.messageID)
	c.Msg.SetGenHeader(gomail.HeaderReferences, req.messageID)
	r.ReplyMessageID = c.MessageID
	if err := p.submit(ctx, c.Msg); err != nil {
		return r, err
	}
	return r, nil
}

func (p *Procura) submit(ctx context.Context, msg *gomail.Msg) error {
	host, port, err := net.SplitHostPort(p.cfg.SMTPAddr)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return err
	}
	cl, err := gomail.NewClient(host, gomail.WithPort(n), gomail.WithSSL(), gomail.WithTLSConfig(p.cfg.TLS),
		gomail.WithSMTPAuth(gomail.SMTPAuthPlain), gomail.WithUsername(p.cfg.Address), gomail.WithPassword(p.cfg.Password),
		gomail.WithTimeout(15*time.Second), gomail.WithHELO("procura.sim.test"))
	if err != nil {
		return err
	}
	return cl.DialAndSendWithContext(ctx, msg)
}

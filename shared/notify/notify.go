// Package notify tells offices, by ordinary e-mail in Italian, how their requests
// stand: list received (with the refused rows), request sent (protocol number),
// delivered, certificates available, failures, overdue replies. Messages carry no
// certificate and no more personal data than a count: a clerk reads the details
// in the web page or the report.
package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strings"
	"text/template"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/notice"
)

// Notice is one notification to an office.
type Notice struct {
	Kind     notice.Kind
	Comune   string          // "Comune di Prato"
	Office   string          // the office's name
	To       []string        // the office's addresses (and the protocol office's, for failures and overdue)
	Upload   string          // upload id, when about a list
	Batch    string          // batch id, when about a request
	Triage   string          // triage item id
	Counts   domain.Counts   // rows, valid, invalid (list received)
	Protocol domain.Protocol // request sent and later
	People   int             // people in the request, or certificates available
	Reason   string          // failure: in Italian when it is the Procura's or the validator's words
	Days     int             // overdue: days since delivery
	Link     string          // where to see the details (web page); may be empty
}

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"date": func(d domain.Date) string { return d.Italian() },
}).Parse(`
{{define "list-received.subject"}}Elenco ricevuto: {{.Counts.Valid}} nominativi accettati{{if .Counts.Invalid}}, {{.Counts.Invalid}} da correggere{{end}}{{end}}
{{define "list-received.body"}}Gentile {{.Office}},

l'elenco caricato (codice {{.Upload}}) è stato ricevuto.
Righe lette: {{.Counts.Rows}}. Nominativi accettati: {{.Counts.Valid}}.{{if .Counts.Invalid}} Righe da correggere: {{.Counts.Invalid}}{{if .Counts.Duplicates}} (di cui {{.Counts.Duplicates}} duplicate){{end}}.

Le righe da correggere non sono state inviate: il resoconto indica per ciascuna il motivo. Correggerle e caricarle di nuovo in un nuovo elenco.{{end}}
{{if .Counts.Valid}}
I nominativi accettati saranno inviati alla Procura con la prossima richiesta protocollata.{{end}}
{{end}}
{{define "list-rejected.subject"}}Elenco non leggibile: nessuna richiesta inviata{{end}}
{{define "list-rejected.body"}}Gentile {{.Office}},

l'elenco caricato (codice {{.Upload}}) non è stato accettato: {{.Reason}}

Nessun nominativo è stato inviato. Correggere il file e caricarlo di nuovo.
{{end}}
{{define "request-sent.subject"}}Richiesta inviata alla Procura: prot. n. {{.Protocol.Reference}} del {{date .Protocol.Date}}{{end}}
{{define "request-sent.body"}}Gentile {{.Office}},

la richiesta di {{.People}} certificati del casellario giudiziario è stata protocollata con il n. {{.Protocol.Reference}} del {{date .Protocol.Date}} e inviata via PEC alla Procura (richiesta {{.Batch}}).
Riceverete un altro messaggio quando la Procura avrà risposto.
{{end}}
{{define "delivered.subject"}}Richiesta prot. n. {{.Protocol.Reference}} consegnata alla Procura{{end}}
{{define "delivered.body"}}Gentile {{.Office}},

la PEC della richiesta prot. n. {{.Protocol.Reference}} del {{date .Protocol.Date}} è stata consegnata alla casella della Procura (ricevuta di avvenuta consegna).
{{end}}
{{define "certificates.subject"}}Certificati disponibili: richiesta prot. n. {{.Protocol.Reference}}{{end}}
{{define "certificates.body"}}Gentile {{.Office}},

la Procura ha risposto alla richiesta prot. n. {{.Protocol.Reference}} del {{date .Protocol.Date}}: {{.People}} certificati sono disponibili.
Per scaricarli, accedere al servizio Casellario PEC con le proprie credenziali e aprire la richiesta {{.Batch}}.
I certificati non sono allegati a questo messaggio perché contengono dati giudiziari.
{{end}}
{{define "request-failed.subject"}}Richiesta non riuscita{{if .Protocol.Number}}: prot. n. {{.Protocol.Reference}}{{end}}{{end}}
{{define "request-failed.body"}}Gentile {{.Office}},

la richiesta {{.Batch}}{{if .Protocol.Number}} (prot. n. {{.Protocol.Reference}} del {{date .Protocol.Date}}){{end}} non è andata a buon fine: {{.Reason}}

L'ufficio protocollo è stato informato. I nominativi coinvolti sono indicati nella pagina della richiesta.
{{end}}
{{define "not-delivered.subject"}}Consegna non ancora confermata: richiesta prot. n. {{.Protocol.Reference}}{{end}}
{{define "not-delivered.body"}}Gentile {{.Office}},

il gestore PEC non ha ancora ricevuto la conferma di consegna della richiesta prot. n. {{.Protocol.Reference}} del {{date .Protocol.Date}} alla Procura (preavviso di mancata consegna).
Non occorre fare nulla per ora: se la consegna non avverrà entro 24 ore, riceverete un avviso di errore.
{{end}}
{{define "triage.subject"}}Messaggio PEC da smistare{{if .Reason}}: {{.Reason}}{{end}}{{end}}
{{define "triage.body"}}Gentile {{.Office}},

nella casella PEC del {{.Comune}} è arrivato un messaggio che il sistema non ha potuto collegare con certezza a una richiesta (scheda di smistamento {{.Triage}}).
Aprire la sezione "Da smistare" del servizio Casellario PEC per assegnarlo alla richiesta giusta o archiviarlo.
{{end}}
{{define "overdue.subject"}}Nessuna risposta da {{.Days}} giorni: richiesta prot. n. {{.Protocol.Reference}}{{end}}
{{define "overdue.body"}}Gentile {{.Office}},

la richiesta prot. n. {{.Protocol.Reference}} del {{date .Protocol.Date}} è stata consegnata alla Procura {{.Days}} giorni fa e non ha ancora ricevuto risposta.
Si suggerisce di sollecitare la Procura citando il numero di protocollo.
{{end}}
`))

// Render returns the subject and text of a notice.
func Render(n Notice) (subject, body string, err error) {
	var s, b bytes.Buffer
	if templates.Lookup(string(n.Kind)+".subject") == nil {
		return "", "", fmt.Errorf("notify: unknown kind %q", n.Kind)
	}
	if err := templates.ExecuteTemplate(&s, string(n.Kind)+".subject", n); err != nil {
		return "", "", fmt.Errorf("notify: %w", err)
	}
	if err := templates.ExecuteTemplate(&b, string(n.Kind)+".body", n); err != nil {
		return "", "", fmt.Errorf("notify: %w", err)
	}
	body = strings.TrimLeft(b.String(), "\n")
	if n.Link != "" {
		body += "\nDettagli: " + n.Link + "\n"
	}
	body += "\n--\nCasellario PEC, " + n.Comune + ". Messaggio automatico: non rispondere.\n"
	return strings.TrimSpace(s.String()), body, nil
}

// Mailer sends notices by ordinary SMTP (STARTTLS when offered, or implicit TLS).
type Mailer struct {
	From     string // e.g. casellario@comune.prato.it
	Host     string
	Port     int
	Username string
	Password string
	TLS      string         // "starttls" (default: when offered), "implicit", "none" (local sink only)
	RootCAs  *x509.CertPool // nil: the system's
	Timeout  time.Duration  // default 20 s
}

// Send renders and sends one notice.
func (m *Mailer) Send(ctx context.Context, n Notice) error {
	if len(n.To) == 0 {
		return fmt.Errorf("notify: %s notice with no recipient", n.Kind)
	}
	subject, body, err := Render(n)
	if err != nil {
		return err
	}
	msg := mail.NewMsg()
	if err := msg.From(m.From); err != nil {
		return fmt.Errorf("notify: sender %q: %w", m.From, err)
	}
	if err := msg.To(n.To...); err != nil {
		return fmt.Errorf("notify: recipients: %w", err)
	}
	msg.Subject(subject)
	msg.SetBodyString(mail.TypeTextPlain, body)
	msg.SetGenHeader("X-Casellario-Notice", string(n.Kind))
	opts := []mail.Option{mail.WithPort(m.Port), mail.WithTimeout(m.timeout())}
	tlsConf := &tls.Config{ServerName: m.Host, RootCAs: m.RootCAs, MinVersion: tls.VersionTLS12}
	switch m.TLS {
	case "implicit":
		opts = append(opts, mail.WithSSL(), mail.WithTLSConfig(tlsConf))
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic), mail.WithTLSConfig(tlsConf))
	}
	if m.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthPlain), mail.WithUsername(m.Username), mail.WithPassword(m.Password))
	}
	c, err := mail.NewClient(m.Host, opts...)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("notify: sending %s notice: %w", n.Kind, err)
	}
	return nil
}

func (m *Mailer) timeout() time.Duration {
	if m.Timeout > 0 {
		return m.Timeout
	}
	return 20 * time.Second
}

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
	"sync"
	"text/template"
	"time"
	_ "time/tzdata" // Europe/Rome on any machine

	"github.com/wneessen/go-mail"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/notice"
)

// Notice is one notification to an office. It names a list by its file
// name and date and a request by its protocol number, as the page shows
// them: never by internal ids; the link opens the page on it.
type Notice struct {
	Kind     notice.Kind
	Comune   string          // "Comune di Prato"
	Office   string          // the office's name
	To       []string        // the office's addresses (and the protocol office's, for failures and overdue)
	FileName string          // the list's file name, when about a list
	Uploaded time.Time       // when the list was uploaded
	Counts   domain.Counts   // rows, valid, invalid (list received)
	Protocol domain.Protocol // request sent and later
	People   int             // people in the request, or certificates available
	Reason   string          // why: in Italian
	Days     int             // overdue: days since delivery
	Link     string          // the page, opened on the list, request or triage item; empty without a page address
}

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"date": func(d domain.Date) string { return d.Italian() },
	"when": func(t time.Time) string { return t.In(rome()).Format("02/01/2006 alle 15:04") },
	"count": func(n int, one, many string) string {
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %s", n, many)
	},
}).Parse(`
{{define "list"}}l'elenco{{if .FileName}} «{{.FileName}}»{{end}}{{if not .Uploaded.IsZero}} caricato il {{when .Uploaded}}{{end}}{{end}}
{{define "request"}}la richiesta prot. n. {{.Protocol.Reference}} del {{date .Protocol.Date}}{{end}}
{{define "list-received.subject"}}Elenco ricevuto{{if .FileName}} «{{.FileName}}»{{end}}: {{count .Counts.Valid "nominativo accettato" "nominativi accettati"}}{{if .Counts.Invalid}}, {{count .Counts.Invalid "riga da correggere" "righe da correggere"}}{{end}}{{end}}
{{define "list-received.body"}}Gentile {{.Office}},

{{template "list" .}} è stato ricevuto.
Righe lette: {{.Counts.Rows}}. Nominativi accettati: {{.Counts.Valid}}.{{if .Counts.Invalid}} Righe da correggere: {{.Counts.Invalid}}{{if .Counts.Duplicates}} (di cui {{.Counts.Duplicates}} duplicate){{end}}.

Le righe da correggere non sono state inviate. Nella pagina dell'elenco ciascuna è indicata con il suo motivo, e il file Excel «righe da correggere» le contiene già: correggerle lì e caricare di nuovo quel file.{{end}}
{{if .Counts.Valid}}
I nominativi accettati saranno inviati alla Procura con la prossima richiesta protocollata.{{end}}
{{end}}
{{define "list-rejected.subject"}}Elenco non accettato{{if .FileName}} «{{.FileName}}»{{end}}: nessuna richiesta inviata{{end}}
{{define "list-rejected.body"}}Gentile {{.Office}},

{{template "list" .}} non è stato accettato.
Motivo: {{.Reason}}

Nessun nominativo è stato inviato. Correggere il file e caricarlo di nuovo.
{{end}}
{{define "request-sent.subject"}}Richiesta inviata alla Procura: prot. n. {{.Protocol.Reference}} del {{date .Protocol.Date}}{{end}}
{{define "request-sent.body"}}Gentile {{.Office}},

la richiesta di {{count .People "certificato" "certificati"}} del casellario giudiziario è stata protocollata con il n. {{.Protocol.Reference}} del {{date .Protocol.Date}} e inviata via PEC alla Procura.
Riceverete un altro messaggio quando la Procura avrà risposto.
{{end}}
{{define "delivered.subject"}}Richiesta prot. n. {{.Protocol.Reference}} consegnata alla Procura{{end}}
{{define "delivered.body"}}Gentile {{.Office}},

la PEC del{{template "request" .}} è stata consegnata alla casella della Procura (ricevuta di avvenuta consegna).
{{end}}
{{define "certificates.subject"}}Certificati disponibili: richiesta prot. n. {{.Protocol.Reference}}{{end}}
{{define "certificates.body"}}Gentile {{.Office}},

la Procura ha risposto al{{template "request" .}}: {{count .People "certificato è disponibile" "certificati sono disponibili"}}.
Per scaricarli, accedere al servizio Casellario PEC con le proprie credenziali e aprire la richiesta{{if not .Link}} prot. n. {{.Protocol.Reference}}{{end}}: si scaricano uno alla volta o tutti insieme.
I certificati non sono allegati a questo messaggio perché contengono dati giudiziari.
{{end}}
{{define "request-failed.subject"}}Richiesta non riuscita{{if .Protocol.Number}}: prot. n. {{.Protocol.Reference}}{{end}}{{end}}
{{define "request-failed.body"}}Gentile {{.Office}},

{{if .Protocol.Number}}{{template "request" .}}{{else}}una richiesta in preparazione{{end}} non è andata a buon fine.
Motivo: {{.Reason}}

L'ufficio protocollo è stato informato. I nominativi coinvolti sono indicati nella pagina della richiesta.
{{end}}
{{define "not-delivered.subject"}}Consegna non ancora confermata: richiesta prot. n. {{.Protocol.Reference}}{{end}}
{{define "not-delivered.body"}}Gentile {{.Office}},

il gestore PEC non ha ancora ricevuto la conferma di consegna del{{template "request" .}} alla Procura (preavviso di mancata consegna).
Non occorre fare nulla per ora: se la consegna non avverrà entro 24 ore, riceverete un avviso di errore.
{{end}}
{{define "triage.subject"}}Messaggio PEC da smistare{{if .Reason}}: {{.Reason}}{{end}}{{end}}
{{define "triage.body"}}Gentile {{.Office}},

nella casella PEC del {{.Comune}} è arrivato un messaggio che il sistema non ha potuto collegare con certezza a una richiesta.
Aprire la sezione «Da smistare» del servizio Casellario PEC per assegnarlo alla richiesta giusta o archiviarlo.
{{end}}
{{define "overdue.subject"}}Nessuna risposta da {{.Days}} giorni: richiesta prot. n. {{.Protocol.Reference}}{{end}}
{{define "overdue.body"}}Gentile {{.Office}},

{{template "request" .}} è stata consegnata alla Procura {{.Days}} giorni fa e non ha ancora ricevuto risposta.
Si suggerisce di sollecitare la Procura citando il numero di protocollo.
{{end}}
`))

var rome = sync.OnceValue(func() *time.Location {
	if l, err := time.LoadLocation("Europe/Rome"); err == nil {
		return l
	}
	return time.FixedZone("CET", 3600)
})

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
		body += "\nApri nel servizio: " + n.Link + "\n"
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

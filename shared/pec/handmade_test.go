package pec_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

// handMessage is a provider message written by hand, for the quirks of real
// providers that the package's own writer never produces.
type handMessage struct {
	headers string // header fields, each ending in CRLF; MIME fields are added
	dati    string // daticert.xml, as bytes; "" for none
	post    string // postacert.eml; "" for none
	text    string // the human text, "" for a default
	// sig: "" signs with the provider; "none" writes an unsigned multipart/mixed;
	// "cut" writes the truncated base64 of the public samples; "missing" ends the
	// message before the signature part.
	sig string
}

func wrap76(s string) string {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	b.WriteString(s)
	return b.String()
}

func (h handMessage) build(t testing.TB, p *testPKI) []byte {
	t.Helper()
	text := h.text
	if text == "" {
		text = "Content-Type: text/plain; charset=utf-8\r\n\r\nMessaggio del gestore\r\n"
	}
	var c strings.Builder
	c.WriteString("Content-Type: multipart/mixed; boundary=\"inner\"\r\n\r\n--inner\r\n" + text)
	if h.dati != "" {
		c.WriteString("\r\n--inner\r\nContent-Type: application/xml; name=\"daticert.xml\"\r\nContent-Disposition: inline; filename=\"daticert.xml\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
		c.WriteString(wrap76(base64.StdEncoding.EncodeToString([]byte(h.dati))))
	}
	if h.post != "" {
		c.WriteString("\r\n--inner\r\nContent-Type: message/rfc822; name=\"postacert.eml\"\r\nContent-Disposition: inline; filename=\"postacert.eml\"\r\n\r\n")
		c.WriteString(h.post)
	}
	c.WriteString("\r\n--inner--\r\n")
	content := c.String()
	if h.sig == "none" {
		return []byte(h.headers + "MIME-Version: 1.0\r\n" + content)
	}
	var sig string
	switch h.sig {
	case "":
		der, err := p.provider.SignDetached([]byte(content))
		if err != nil {
			t.Fatal(err)
		}
		sig = wrap76(base64.StdEncoding.EncodeToString(der))
	case "cut":
		sig = "MII...njA=="
	}
	var b strings.Builder
	b.WriteString(h.headers + "MIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=\"sha-256\"; boundary=\"outer\"\r\n\r\n")
	b.WriteString("This is an S/MIME signed message\r\n\r\n--outer\r\n" + content)
	if h.sig == "missing" {
		return []byte(b.String())
	}
	b.WriteString("\r\n--outer\r\nContent-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"smime.p7s\"\r\n\r\n")
	b.WriteString(sig + "\r\n\r\n--outer--\r\n")
	return []byte(b.String())
}

// datiXML is a daticert.xml; fields left empty are left out.
type datiXML struct {
	decl, tipo, errore, oggetto, msgid, consegna, extra string
	ricezione                                           []string
	noErrore                                            bool
	destTipo                                            string // "" writes tipo="certificato"; "-" leaves it out
}

func (d datiXML) String() string {
	decl := d.decl
	if decl == "" {
		decl = `<?xml version="1.0" encoding="UTF-8"?>`
	}
	attrs := fmt.Sprintf(` tipo="%s"`, d.tipo)
	if !d.noErrore {
		e := d.errore
		if e == "" {
			e = "nessuno"
		}
		attrs += fmt.Sprintf(` errore="%s"`, e)
	}
	dest := ` tipo="certificato"`
	switch d.destTipo {
	case "-":
		dest = ""
	case "":
	default:
		dest = fmt.Sprintf(` tipo="%s"`, d.destTipo)
	}
	oggetto := d.oggetto
	if oggetto == "" {
		oggetto = "Richiesta certificati"
	}
	var b strings.Builder
	b.WriteString(decl + "\n<postacert" + attrs + ">\n<intestazione><mittente>protocollo@pec.comune.example</mittente>")
	b.WriteString("<destinatari" + dest + ">procura@pec.giustizia.example</destinatari>")
	b.WriteString("<risposte>protocollo@pec.comune.example</risposte><oggetto>" + oggetto + "</oggetto></intestazione>\n")
	b.WriteString(`<dati><gestore-emittente>Gestore di prova</gestore-emittente><data zona="+0100"><giorno>04/03/2025</giorno><ora>10:11:12</ora></data>`)
	b.WriteString("<identificativo>opec-hand-1@pec.prova.example</identificativo>")
	if d.msgid != "-" {
		m := d.msgid
		if m == "" {
			m = "&lt;orig-1@pec.comune.example&gt;"
		}
		b.WriteString("<msgid>" + m + "</msgid>")
	}
	if d.consegna != "" {
		b.WriteString("<consegna>" + d.consegna + "</consegna>")
	}
	for _, r := range d.ricezione {
		b.WriteString("<ricezione>" + r + "</ricezione>")
	}
	b.WriteString(d.extra + "</dati>\n</postacert>\n")
	return b.String()
}

// provHeaders are a receipt's usual header fields plus extra.
func provHeaders(subject, extra string) string {
	return "From: posta-certificata@pec.prova.example\r\nTo: protocollo@pec.comune.example\r\n" +
		"Subject: " + subject + "\r\nMessage-ID: <r-hand-1@pec.prova.example>\r\nDate: Tue, 04 Mar 2025 10:11:13 +0100\r\n" +
		"X-Riferimento-Message-ID: <orig-1@pec.comune.example>\r\n" + extra
}

const plainOriginal = "From: protocollo@pec.comune.example\r\nTo: procura@pec.giustizia.example\r\n" +
	"Subject: Richiesta certificati\r\nMessage-ID: <orig-1@pec.comune.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nTesto\r\n"

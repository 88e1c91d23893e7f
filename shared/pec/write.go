package pec

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"io"
	"mime"
	"strings"
	"time"

	"github.com/emersion/go-message"
)

// EnvelopeSpec describes a transport envelope (busta di trasporto) or an anomaly
// envelope (busta di anomalia). Empty fields are taken from the original message.
type EnvelopeSpec struct {
	Kind           Kind   // KindPostaCertificata (default) or KindAnomalia
	Identificativo string // the provider's id; generated when empty
	MessageID      string // the envelope's Message-ID; "<"+Identificativo+">" when empty
	Issuer         string // gestore-emittente
	Domain         string // provider's domain for generated ids; "pec.invalid" when empty
	Sender         string // mittente; the original's From when empty
	Recipients     []Recipient
	ReplyTo        string
	Subject        string // the original subject
	RefMessageID   string // the original's Message-ID
	ReceiptType    ReceiptType
	Time           time.Time // now when zero
}

// ReceiptSpec describes a receipt or notice. Empty fields are taken from Original
// when it is given.
type ReceiptSpec struct {
	Kind           Kind        // one of the seven receipt kinds
	Type           ReceiptType // for avvenuta-consegna: completa (default), breve, sintetica
	Identificativo string      // the provider's id of the original's transport
	MessageID      string      // the receipt's own Message-ID; generated when empty
	Domain         string      // provider's domain for generated ids; "pec.invalid" when empty
	From           string      // the provider's address; "posta-certificata@"+Domain when empty
	To             string      // who receives the receipt; Sender when empty
	Issuer         string      // gestore-emittente
	// Original is the original message; attached as postacert.eml to completa
	// (whole) and breve (attachments replaced by their hashes) delivery receipts.
	Original     []byte
	RefMessageID string
	Sender       string
	Recipients   []Recipient
	ReplyTo      string
	Subject      string
	Delivery     string // consegna: the mailbox the receipt is about
	// Ricezione lists the recipients a presa-in-carico is about.
	Ricezione   []string
	Time        time.Time
	Error       string // errore: nessuno (default), no-dest, no-dominio, virus, altro
	ErrorDetail string // errore-esteso
}

// fromOriginal fills empty fields from the original's headers.
func fromOriginal(original []byte, sender, subject, ref, replyTo *string, rcpts *[]Recipient, rtype *ReceiptType) error {
	if len(original) == 0 {
		return nil
	}
	m, err := Parse(original, ReadOptions{})
	if err != nil {
		return fmt.Errorf("pec: original message: %w", err)
	}
	h := m.Header
	if *sender == "" {
		if f := h.Addresses("From"); len(f) > 0 {
			*sender = f[0]
		}
	}
	if *subject == "" {
		*subject = h.Text("Subject")
	}
	if *ref == "" {
		*ref = h.MessageID("Message-ID")
	}
	if *replyTo == "" {
		if r := h.Addresses("Reply-To"); len(r) > 0 {
			*replyTo = r[0]
		}
	}
	if len(*rcpts) == 0 {
		for _, k := range []string{"To", "Cc"} {
			for _, a := range h.Addresses(k) {
				*rcpts = append(*rcpts, Recipient{Address: a, Type: RecipientCertificato})
			}
		}
	}
	if rtype != nil && *rtype == "" {
		*rtype = ReceiptType(strings.ToLower(h.Get("X-TipoRicevuta")))
	}
	return nil
}

// NewID returns a fresh provider identificativo at domain.
func NewID(domain string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	if domain == "" {
		domain = "pec.invalid"
	}
	return "opec" + time.Now().UTC().Format("20060102150405") + "." + hex.EncodeToString(b[:]) + "@" + domain
}

// WriteEnvelope writes the signed transport (or anomaly) envelope of original
// and returns the envelope's Message-ID.
func WriteEnvelope(w io.Writer, original []byte, spec EnvelopeSpec, s *Signer) (string, error) {
	if spec.Kind == "" {
		spec.Kind = KindPostaCertificata
	}
	if !spec.Kind.IsEnvelope() {
		return "", fmt.Errorf("pec: %q is not an envelope kind", spec.Kind)
	}
	if len(original) == 0 {
		return "", errors.New("pec: envelope without original message")
	}
	if err := fromOriginal(original, &spec.Sender, &spec.Subject, &spec.RefMessageID, &spec.ReplyTo, &spec.Recipients, &spec.ReceiptType); err != nil {
		return "", err
	}
	if !spec.ReceiptType.Valid() {
		spec.ReceiptType = ReceiptCompleta
	}
	if spec.Time.IsZero() {
		spec.Time = time.Now()
	}
	if spec.Identificativo == "" {
		spec.Identificativo = NewID(spec.Domain)
	}
	if spec.MessageID == "" {
		spec.MessageID = "<" + spec.Identificativo + ">"
	}
	var to []string
	for _, r := range spec.Recipients {
		to = append(to, r.Address)
	}
	var hdr Header
	hdr.Add("Date", spec.Time.Format(time.RFC1123Z))
	if spec.Kind == KindPostaCertificata {
		hdr.Add("X-Trasporto", "posta-certificata")
		hdr.Add("Subject", "POSTA CERTIFICATA: "+spec.Subject)
	} else {
		hdr.Add("X-Trasporto", "errore")
		hdr.Add("Subject", "ANOMALIA MESSAGGIO: "+spec.Subject)
	}
	hdr.Add("X-Riferimento-Message-ID", spec.RefMessageID)
	hdr.Add("X-TipoRicevuta", string(spec.ReceiptType))
	hdr.Add("From", fmt.Sprintf("%q <%s>", "Per conto di: "+spec.Sender, spec.Sender))
	if spec.ReplyTo == "" {
		spec.ReplyTo = spec.Sender
	}
	hdr.Add("Reply-To", spec.ReplyTo)
	hdr.Add("To", strings.Join(to, ", "))
	hdr.Add("Message-ID", spec.MessageID)

	var text string
	var dati []byte
	if spec.Kind == KindPostaCertificata {
		text = fmt.Sprintf("Messaggio di posta certificata\r\n\r\nIl giorno %s alle ore %s (%s) il messaggio\r\n%q è stato inviato da %q\r\nindirizzato a:\r\n%s\r\nIl messaggio originale è incluso in allegato.\r\nIdentificativo messaggio: %s\r\n",
			spec.Time.Format("02/01/2006"), spec.Time.Format("15:04:05"), spec.Time.Format("-0700"),
			spec.Subject, spec.Sender, strings.Join(to, "\r\n"), spec.Identificativo)
		d := &Daticert{
			Tipo: KindPostaCertificata, Errore: ErrorNone, Mittente: spec.Sender, Destinatari: spec.Recipients,
			Risposte: spec.ReplyTo, Oggetto: spec.Subject, GestoreEmittente: spec.Issuer, Time: spec.Time,
			Identificativo: spec.Identificativo, MsgID: spec.RefMessageID, Ricevuta: spec.ReceiptType,
		}
		var err error
		if dati, err = d.Marshal(); err != nil {
			return "", err
		}
	} else {
		text = fmt.Sprintf("Anomalia nel messaggio\r\n\r\nIl giorno %s alle ore %s (%s) è stato ricevuto\r\nil messaggio %q proveniente da %q\r\nche ha generato un'anomalia: il messaggio originale è incluso in allegato.\r\n",
			spec.Time.Format("02/01/2006"), spec.Time.Format("15:04:05"), spec.Time.Format("-0700"), spec.Subject, spec.Sender)
	}
	return spec.MessageID, writeSigned(w, hdr, text, dati, canonicalCRLF(original), s)
}

var receiptSubject = map[Kind]string{
	KindAccettazione:            "ACCETTAZIONE: ",
	KindNonAccettazione:         "AVVISO DI NON ACCETTAZIONE: ",
	KindPresaInCarico:           "PRESA IN CARICO: ",
	KindAvvenutaConsegna:        "CONSEGNA: ",
	KindErroreConsegna:          "AVVISO DI MANCATA CONSEGNA: ",
	KindPreavvisoErroreConsegna: "AVVISO DI MANCATA CONSEGNA PER SUP. TEMPO MASSIMO: ",
	KindRilevazioneVirus:        "PROBLEMA DI SICUREZZA: ",
}

var receiptText = map[Kind]string{
	KindAccettazione:            "Ricevuta di accettazione: il messaggio è stato accettato dal sistema ed inoltrato.",
	KindNonAccettazione:         "Avviso di non accettazione: il messaggio non è stato accettato.",
	KindPresaInCarico:           "Ricevuta di presa in carico: il messaggio è stato preso in carico.",
	KindAvvenutaConsegna:        "Ricevuta di avvenuta consegna: il messaggio è stato correttamente consegnato al destinatario.",
	KindErroreConsegna:          "Avviso di mancata consegna: il messaggio non è stato consegnato.",
	KindPreavvisoErroreConsegna: "Avviso di mancata consegna: il messaggio non è stato consegnato entro le prime 12 ore.",
	KindRilevazioneVirus:        "Problema di sicurezza: è stato rilevato un virus nel messaggio.",
}

// WriteReceipt writes a signed receipt or notice and returns its Message-ID.
func WriteReceipt(w io.Writer, spec ReceiptSpec, s *Signer) (string, error) {
	if !spec.Kind.IsReceipt() {
		return "", fmt.Errorf("pec: %q is not a receipt kind", spec.Kind)
	}
	if err := fromOriginal(spec.Original, &spec.Sender, &spec.Subject, &spec.RefMessageID, &spec.ReplyTo, &spec.Recipients, nil); err != nil {
		return "", err
	}
	if spec.RefMessageID == "" {
		return "", errors.New("pec: receipt without the original's Message-ID")
	}
	if spec.Kind == KindAvvenutaConsegna && spec.Type == "" {
		spec.Type = ReceiptCompleta
	}
	if spec.Type != "" && !spec.Type.Valid() {
		return "", fmt.Errorf("pec: unknown receipt type %q", spec.Type)
	}
	if spec.Domain == "" {
		spec.Domain = "pec.invalid"
	}
	if spec.From == "" {
		spec.From = "posta-certificata@" + spec.Domain
	}
	if spec.To == "" {
		spec.To = spec.Sender
	}
	if spec.Time.IsZero() {
		spec.Time = time.Now()
	}
	if spec.Identificativo == "" {
		spec.Identificativo = NewID(spec.Domain)
	}
	if spec.MessageID == "" {
		spec.MessageID = "<" + NewID(spec.Domain) + ">"
	}
	if spec.Error == "" {
		spec.Error = ErrorNone
	}
	if spec.ReplyTo == "" {
		spec.ReplyTo = spec.Sender
	}
	virus := spec.Error == ErrorVirus || spec.Kind == KindRilevazioneVirus
	prefix := receiptSubject[spec.Kind]
	if virus && spec.Kind == KindErroreConsegna {
		prefix = "AVVISO DI MANCATA CONSEGNA PER VIRUS: "
	}
	if virus && spec.Kind == KindNonAccettazione {
		prefix = "AVVISO DI NON ACCETTAZIONE PER VIRUS: "
	}
	var hdr Header
	hdr.Add("Date", spec.Time.Format(time.RFC1123Z))
	hdr.Add("Subject", prefix+spec.Subject)
	hdr.Add("X-Ricevuta", string(spec.Kind))
	hdr.Add("X-Riferimento-Message-ID", spec.RefMessageID)
	if spec.Type != "" {
		hdr.Add("X-TipoRicevuta", string(spec.Type))
	}
	if virus {
		hdr.Add("X-VerificaSicurezza", "errore")
	}
	hdr.Add("From", spec.From)
	hdr.Add("To", spec.To)
	hdr.Add("Message-ID", spec.MessageID)

	d := &Daticert{
		Tipo: spec.Kind, Errore: spec.Error, Mittente: spec.Sender, Destinatari: spec.Recipients,
		Risposte: spec.ReplyTo, Oggetto: spec.Subject, GestoreEmittente: spec.Issuer, Time: spec.Time,
		Identificativo: spec.Identificativo, MsgID: spec.RefMessageID, Ricevuta: spec.Type,
		Consegna: spec.Delivery, Ricezione: spec.Ricezione, ErroreEsteso: spec.ErrorDetail,
	}
	dati, err := d.Marshal()
	if err != nil {
		return "", err
	}
	var to []string
	for _, r := range spec.Recipients {
		to = append(to, r.Address)
	}
	text := fmt.Sprintf("%s\r\n\r\nIl giorno %s alle ore %s (%s) il messaggio\r\n%q proveniente da %q\r\ned indirizzato a:\r\n%s\r\n",
		receiptText[spec.Kind], spec.Time.Format("02/01/2006"), spec.Time.Format("15:04:05"), spec.Time.Format("-0700"),
		spec.Subject, spec.Sender, strings.Join(to, "\r\n"))
	if spec.ErrorDetail != "" {
		text += "Errore: " + spec.ErrorDetail + "\r\n"
	}
	text += "Identificativo messaggio: " + spec.Identificativo + "\r\n"

	var post []byte
	if spec.Kind == KindAvvenutaConsegna && len(spec.Original) > 0 {
		switch spec.Type {
		case ReceiptCompleta:
			post = canonicalCRLF(spec.Original)
		case ReceiptBreve:
			if post, err = briefOriginal(spec.Original); err != nil {
				return "", err
			}
		}
	}
	return spec.MessageID, writeSigned(w, hdr, text, dati, post, s)
}

// briefOriginal rewrites the original for a breve receipt: its header and text,
// with every attachment replaced by a text part holding its SHA-256.
func briefOriginal(original []byte) ([]byte, error) {
	m, err := Parse(original, ReadOptions{})
	if err != nil {
		return nil, fmt.Errorf("pec: original message: %w", err)
	}
	var h message.Header
	for _, f := range m.Header.Fields() {
		switch strings.ToLower(f.Key) {
		case "content-type", "content-transfer-encoding", "mime-version":
			continue
		}
		h.Add(f.Key, f.Value)
	}
	h.SetContentType("multipart/mixed", nil)
	var b bytes.Buffer
	mw, err := message.CreateWriter(&b, h)
	if err != nil {
		return nil, err
	}
	text := ""
	if m.Original != nil {
		text, _ = m.Original.Text()
	}
	if err := writeTextPart(mw, "text/plain", text, ""); err != nil {
		return nil, err
	}
	for _, a := range m.Attachments() {
		if err := writeTextPart(mw, "text/plain", "SHA-256 "+a.SHA256+"\r\n", a.Name+".hash"); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func writeTextPart(mw *message.Writer, ct, text, filename string) error {
	var ph message.Header
	ph.SetContentType(ct, map[string]string{"charset": "utf-8"})
	ph.Set("Content-Transfer-Encoding", "quoted-printable")
	if filename != "" {
		ph.SetContentDisposition("attachment", map[string]string{"filename": filename})
	}
	pw, err := mw.CreatePart(ph)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(pw, text); err != nil {
		return err
	}
	return pw.Close()
}

// writeSigned writes hdr and a multipart/signed body whose signed part is a
// multipart/mixed of the human text, daticert.xml (when given) and postacert.eml
// (when given).
func writeSigned(w io.Writer, hdr Header, text string, dati, post []byte, s *Signer) error {
	var inner bytes.Buffer
	inner.Grow(len(post) + len(dati)*2 + 4096)
	var ih message.Header
	ih.SetContentType("multipart/mixed", nil)
	mw, err := message.CreateWriter(&inner, ih)
	if err != nil {
		return err
	}
	var alt message.Header
	alt.SetContentType("multipart/alternative", nil)
	aw, err := mw.CreatePart(alt)
	if err != nil {
		return err
	}
	if err := writeTextPart(aw, "text/plain", text, ""); err != nil {
		return err
	}
	htm := "<html><body><pre>" + html.EscapeString(text) + "</pre></body></html>\r\n"
	if err := writeTextPart(aw, "text/html", htm, ""); err != nil {
		return err
	}
	if err := aw.Close(); err != nil {
		return err
	}
	if dati != nil {
		var dh message.Header
		dh.SetContentType("application/xml", map[string]string{"name": "daticert.xml"})
		dh.SetContentDisposition("inline", map[string]string{"filename": "daticert.xml"})
		dh.Set("Content-Transfer-Encoding", "base64")
		pw, err := mw.CreatePart(dh)
		if err != nil {
			return err
		}
		if _, err := pw.Write(dati); err != nil {
			return err
		}
		if err := pw.Close(); err != nil {
			return err
		}
	}
	if post != nil {
		var ph message.Header
		ph.SetContentType("message/rfc822", map[string]string{"name": "postacert.eml"})
		ph.SetContentDisposition("inline", map[string]string{"filename": "postacert.eml"})
		pw, err := mw.CreatePart(ph)
		if err != nil {
			return err
		}
		if _, err := pw.Write(post); err != nil {
			return err
		}
		if err := pw.Close(); err != nil {
			return err
		}
	}
	if err := mw.Close(); err != nil {
		return err
	}
	signed := inner.Bytes()
	sig, err := s.SignDetached(signed)
	if err != nil {
		return err
	}
	boundary := "----" + strings.ToUpper(randomHex(16))
	var out bytes.Buffer
	for _, f := range hdr.fields {
		v := f.Value
		if !isASCII(v) {
			v = mime.QEncoding.Encode("utf-8", v)
		}
		out.WriteString(f.Key + ": " + v + "\r\n")
	}
	out.WriteString("MIME-Version: 1.0\r\n")
	out.WriteString(`Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg="sha-256"; boundary="` + boundary + "\"\r\n\r\n")
	out.WriteString("This is an S/MIME signed message\r\n\r\n--" + boundary + "\r\n")
	if _, err := out.WriteTo(w); err != nil {
		return err
	}
	if _, err := w.Write(signed); err != nil {
		return err
	}
	out.WriteString("\r\n--" + boundary + "\r\n")
	out.WriteString("Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"smime.p7s\"\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString(sig)
	for len(enc) > 76 {
		out.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	out.WriteString(enc + "\r\n\r\n--" + boundary + "--\r\n")
	_, err = out.WriteTo(w)
	return err
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

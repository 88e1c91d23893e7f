package pec

import (
	"crypto/x509"
	"time"
)

// Kind is what a message is, from the point of view of a PEC mailbox.
type Kind string

// The kinds of message that can reach a PEC mailbox. The values are the ones of the
// X-Ricevuta header and of the daticert.xml tipo attribute, plus anomalia and non-pec.
const (
	KindAccettazione            Kind = "accettazione"
	KindNonAccettazione         Kind = "non-accettazione"
	KindPresaInCarico           Kind = "presa-in-carico"
	KindAvvenutaConsegna        Kind = "avvenuta-consegna"
	KindErroreConsegna          Kind = "errore-consegna"
	KindPreavvisoErroreConsegna Kind = "preavviso-errore-consegna"
	KindRilevazioneVirus        Kind = "rilevazione-virus"
	KindPostaCertificata        Kind = "posta-certificata" // transport envelope
	KindAnomalia                Kind = "anomalia"          // anomaly envelope (X-Trasporto: errore)
	// KindUnknownPEC is a message with a PEC structure (provider signature and
	// daticert.xml) whose kind neither its headers, its daticert.xml nor its
	// subject tell: one for people to look at.
	KindUnknownPEC Kind = "pec-unknown"
	KindNonPEC     Kind = "non-pec" // ordinary mail, SMTP delivery status notifications
)

// Kinds lists every kind, receipts first.
var Kinds = []Kind{
	KindAccettazione, KindNonAccettazione, KindPresaInCarico, KindAvvenutaConsegna,
	KindErroreConsegna, KindPreavvisoErroreConsegna, KindRilevazioneVirus,
	KindPostaCertificata, KindAnomalia, KindUnknownPEC, KindNonPEC,
}

// IsReceipt reports whether k is a receipt or notice issued by a provider (X-Ricevuta).
func (k Kind) IsReceipt() bool {
	switch k {
	case KindAccettazione, KindNonAccettazione, KindPresaInCarico, KindAvvenutaConsegna,
		KindErroreConsegna, KindPreavvisoErroreConsegna, KindRilevazioneVirus:
		return true
	}
	return false
}

// IsEnvelope reports whether k is a transport or anomaly envelope (X-Trasporto).
func (k Kind) IsEnvelope() bool { return k == KindPostaCertificata || k == KindAnomalia }

// IsPEC reports whether k is any PEC message (not KindNonPEC nor empty).
func (k Kind) IsPEC() bool { return k.IsReceipt() || k.IsEnvelope() || k == KindUnknownPEC }

// Valid reports whether k is one of the known kinds.
func (k Kind) Valid() bool { return k.IsPEC() || k == KindNonPEC }

// daticertKind reports whether k may appear as the tipo of a daticert.xml.
func (k Kind) daticertKind() bool { return k.IsReceipt() || k == KindPostaCertificata }

// ReceiptType is the delivery-receipt type the sender asked for (X-TipoRicevuta).
type ReceiptType string

// Receipt types.
const (
	ReceiptCompleta  ReceiptType = "completa"  // the original is attached whole
	ReceiptBreve     ReceiptType = "breve"     // the original is attached with its attachments replaced by their hashes
	ReceiptSintetica ReceiptType = "sintetica" // the original is not attached
)

// Valid reports whether t is one of the three receipt types.
func (t ReceiptType) Valid() bool {
	return t == ReceiptCompleta || t == ReceiptBreve || t == ReceiptSintetica
}

// Error codes of the daticert.xml errore attribute.
const (
	ErrorNone      = "nessuno"
	ErrorNoDest    = "no-dest"
	ErrorNoDominio = "no-dominio"
	ErrorVirus     = "virus"
	ErrorAltro     = "altro"
)

// RecipientType is the tipo of a daticert.xml destinatari element.
type RecipientType string

// Recipient types.
const (
	RecipientCertificato RecipientType = "certificato" // a PEC mailbox
	RecipientEsterno     RecipientType = "esterno"     // an ordinary mailbox
)

// Recipient is one addressee of the original message.
type Recipient struct {
	Address string        `json:"address"`
	Type    RecipientType `json:"type"` // empty when not known (no daticert.xml)
}

// SignatureStatus is the outcome of signature verification.
type SignatureStatus string

// Signature statuses.
const (
	SignatureValid     SignatureStatus = "valid"     // right, chains to the trust store, certificate valid at signing time
	SignatureUntrusted SignatureStatus = "untrusted" // mathematically right, signer not chained to the trust store
	SignatureInvalid   SignatureStatus = "invalid"   // digest or signature mismatch, malformed signature
	SignatureAbsent    SignatureStatus = "absent"    // no signature part
)

// Signature is what verification found out about an S/MIME or CAdES signature.
type Signature struct {
	Status SignatureStatus
	// Signer is the subject of the signer's certificate (for providers, their name),
	// empty when unknown.
	Signer string
	// Certificate is the signer's certificate, nil when unknown. It is shared
	// by every message the same certificate signed: do not modify it.
	Certificate *x509.Certificate
	// SigningTime is the signingTime attribute, zero when absent.
	SigningTime time.Time
	// CheckedAt is the time at which the certificate chain was checked.
	CheckedAt time.Time
	// Reason explains a status other than valid, in English, for operators.
	Reason string
}

// Problem is a defect found while reading a message that did not stop reading it.
type Problem struct {
	Code   ProblemCode
	Detail string // English, for operators; never carries personal data
}

func (p Problem) String() string {
	if p.Detail == "" {
		return string(p.Code)
	}
	return string(p.Code) + ": " + p.Detail
}

// ProblemCode classifies a Problem so that callers can test for it.
type ProblemCode string

// Problem codes.
const (
	ProblemHeader          ProblemCode = "header"           // malformed, huge or too many header fields
	ProblemTruncated       ProblemCode = "truncated"        // multipart without its closing delimiter, header without end
	ProblemMIME            ProblemCode = "mime"             // bad Content-Type, missing boundary, unknown encoding
	ProblemEncoding        ProblemCode = "encoding"         // invalid base64 or quoted-printable data
	ProblemLimit           ProblemCode = "limit"            // nesting depth or number of parts exceeded
	ProblemNoDaticert      ProblemCode = "no-daticert"      // a PEC message without daticert.xml
	ProblemDaticert        ProblemCode = "daticert"         // daticert.xml unreadable or incomplete
	ProblemConflict        ProblemCode = "conflict"         // daticert.xml contradicts the headers
	ProblemNoOriginal      ProblemCode = "no-original"      // an envelope without postacert.eml
	ProblemSignature       ProblemCode = "signature"        // signature structure problems
	ProblemAttachment      ProblemCode = "attachment"       // an attachment could not be unwrapped
	ProblemUnknownKind     ProblemCode = "unknown-kind"     // unknown X-Ricevuta or X-Trasporto value
	ProblemCharset         ProblemCode = "charset"          // unknown charset
	ProblemSecurityWarning ProblemCode = "security-warning" // X-VerificaSicurezza: errore
	ProblemRewrapped       ProblemCode = "rewrapped"        // the PEC message was found inside another message
	ProblemEncrypted       ProblemCode = "encrypted"        // an encrypted part could not be opened
)

// Daticert is the content of daticert.xml, the provider's certified data.
type Daticert struct {
	Tipo             Kind
	Errore           string // nessuno, no-dest, no-dominio, virus, altro
	Mittente         string
	Destinatari      []Recipient
	Risposte         string
	Oggetto          string
	GestoreEmittente string
	// Time is the data element (giorno, ora) in its zona; zero when missing or unreadable.
	Time           time.Time
	Identificativo string
	MsgID          string // with angle brackets, as written
	Ricevuta       ReceiptType
	Consegna       string
	Ricezione      []string
	ErroreEsteso   string
}

// Message is a message read from a PEC mailbox.
type Message struct {
	Kind        Kind
	ReceiptType ReceiptType
	// MessageID is the message's own Message-ID, with angle brackets.
	MessageID string
	// RefMessageID is the Message-ID of the original message: daticert msgid (inside the
	// signature) or, without one, the X-Riferimento-Message-ID header. A conflict between
	// the two is listed in Problems; both stay available (Daticert.MsgID, Header).
	RefMessageID string
	// PECID is the provider's identificativo, shared by all receipts of one message.
	PECID       string
	Error       string // daticert errore (nessuno, no-dest, ...), empty without daticert
	ErrorDetail string // daticert errore-esteso
	Sender      string // daticert mittente, else the address of the From header
	Recipients  []Recipient
	ReplyTo     string // daticert risposte, else the Reply-To header
	// Subject is the original subject: daticert oggetto, else the Subject header
	// without the provider's prefix.
	Subject string
	Issuer  string // daticert gestore-emittente
	// Time is the daticert time with its zone, else the Date header; zero if neither.
	Time time.Time
	// DeliveredTo is the daticert consegna: the mailbox a delivery receipt or a
	// failure notice is about.
	DeliveredTo string
	// Ricezione lists the daticert ricezione elements (the recipients a
	// presa-in-carico is about).
	Ricezione []string
	// DeliveryStatus reports an SMTP delivery status notification (multipart/report).
	DeliveryStatus bool
	// SecurityWarning reports the X-VerificaSicurezza: errore header.
	SecurityWarning bool

	// Format is the family of certified mail the message was read as: "pec",
	// or "mail" for any other message.
	Format    string
	Header    Header    // the PEC message's header (for a re-wrapped one, the inner message's)
	Daticert  *Daticert // nil when there is none
	Signature Signature
	// Original is the transported original (postacert.eml); for non-PEC mail, the
	// message itself; nil when absent.
	Original *Part
	// Rewrapped describes the message that carried this PEC message as a
	// message/rfc822 part (a list manager re-sending it), nil otherwise; the
	// fields above are those of the PEC message inside.
	Rewrapped *Wrapper
	// REM holds the X-REM-* header fields providers already add for the move to
	// ETSI REM (EN 319 532).
	REM      REMHeaders
	Problems []Problem

	raw  []byte
	root *entity
}

// Raw returns the message's bytes, unaltered. The caller must not modify them.
func (m *Message) Raw() []byte { return m.raw }

// Attachments returns the attachments of the original (nil without one).
func (m *Message) Attachments() []Attachment {
	if m.Original == nil {
		return nil
	}
	return m.Original.Attachments
}

// HasProblem reports whether a problem with the code was found.
func (m *Message) HasProblem(c ProblemCode) bool {
	for _, p := range m.Problems {
		if p.Code == c {
			return true
		}
	}
	return false
}

// Wrapper is the outer message that carried a re-wrapped PEC message.
type Wrapper struct {
	Header    Header
	MessageID string
	From      string
	// Signature is the outer message's own S/MIME signature, usually absent.
	Signature Signature
}

// REMHeaders are the X-REM-* header fields of a message, in their order.
type REMHeaders struct {
	Subject string // X-REM-Subject, decoded
	Fields  []HeaderField
}

package pec

import "time"

// View is the JSON contract of `casellario pec inspect --json`. Message-IDs keep
// their angle brackets; fields that do not apply are empty strings, false, empty
// lists or objects of empty fields, never null. Fields are only ever added.
type View struct {
	Kind         Kind          `json:"kind"`
	ReceiptType  ReceiptType   `json:"receipt_type"`
	MessageID    string        `json:"message_id"`
	RefMessageID string        `json:"ref_message_id"`
	PECID        string        `json:"pec_id"`
	Error        string        `json:"error"`
	ErrorDetail  string        `json:"error_detail"`
	Sender       string        `json:"sender"`
	Recipients   []Recipient   `json:"recipients"`
	Subject      string        `json:"subject"`
	Issuer       string        `json:"issuer"`
	Timestamp    string        `json:"timestamp"`
	Signature    SignatureView `json:"signature"`
	Original     OriginalView  `json:"original"`
	Attachments  []AttachView  `json:"attachments"`
	Problems     []string      `json:"problems"`

	// Format is "pec", or "mail" for any other message.
	Format string `json:"format"`
	// Consegna is the recipient a delivery receipt or a failure notice is about.
	Consegna string `json:"consegna"`
	// Ricezione lists the recipients a presa-in-carico is about.
	Ricezione []string `json:"ricezione"`
	// SecurityWarning reports X-VerificaSicurezza: errore.
	SecurityWarning bool `json:"security_warning"`
	// DSN reports an SMTP delivery status notification (multipart/report).
	DSN bool `json:"dsn"`
	// Rewrapped reports a PEC message found inside another message; Wrapper
	// describes that outer message.
	Rewrapped bool        `json:"rewrapped"`
	Wrapper   WrapperView `json:"wrapper"`
	// REM holds the X-REM-* header fields.
	REM REMView `json:"rem"`
}

// SignatureView is a signature in View.
type SignatureView struct {
	Status SignatureStatus `json:"status"`
	Signer string          `json:"signer"`
	Reason string          `json:"reason"`
}

// OriginalView is the transported original in View.
type OriginalView struct {
	MessageID string   `json:"message_id"`
	Subject   string   `json:"subject"`
	From      string   `json:"from"`
	To        []string `json:"to"`
}

// AttachView is an attachment in View.
type AttachView struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	// Container is the .eml or .p7m this attachment was found in, "" for the
	// message's own.
	Container string `json:"container"`
	// Signature is the CAdES signature of a .p7m and of its content; empty
	// fields for other attachments.
	Signature SignatureView `json:"signature"`
	// Encrypted marks CMS enveloped-data; Decrypted tells whether it was opened.
	Encrypted bool `json:"encrypted"`
	Decrypted bool `json:"decrypted"`
}

// WrapperView is the outer message of a re-wrapped PEC message in View.
type WrapperView struct {
	MessageID string        `json:"message_id"`
	From      string        `json:"from"`
	Signature SignatureView `json:"signature"`
}

// REMView holds the X-REM-* header fields in View.
type REMView struct {
	Subject string       `json:"subject"`
	Headers []HeaderView `json:"headers"`
}

// HeaderView is one header field in View.
type HeaderView struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func sigView(s *Signature) SignatureView {
	if s == nil {
		return SignatureView{}
	}
	return SignatureView{Status: s.Status, Signer: s.Signer, Reason: s.Reason}
}

// View returns the JSON view of m.
func (m *Message) View() View {
	v := View{
		Kind: m.Kind, ReceiptType: m.ReceiptType, MessageID: m.MessageID,
		RefMessageID: m.RefMessageID, PECID: m.PECID, Error: m.Error, ErrorDetail: m.ErrorDetail,
		Sender: m.Sender, Recipients: []Recipient{}, Subject: m.Subject, Issuer: m.Issuer,
		Signature:   sigView(&m.Signature),
		Original:    OriginalView{To: []string{}},
		Attachments: []AttachView{},
		Problems:    []string{},
		Format:      m.Format, Consegna: m.DeliveredTo, Ricezione: []string{},
		SecurityWarning: m.SecurityWarning, DSN: m.DeliveryStatus,
		REM: REMView{Subject: m.REM.Subject, Headers: []HeaderView{}},
	}
	v.Recipients = append(v.Recipients, m.Recipients...)
	v.Ricezione = append(v.Ricezione, m.Ricezione...)
	if !m.Time.IsZero() {
		v.Timestamp = m.Time.Format(time.RFC3339)
	}
	if o := m.Original; o != nil {
		v.Original.MessageID, v.Original.Subject, v.Original.From = o.MessageID, o.Subject, o.From
		v.Original.To = append(v.Original.To, o.To...)
		for _, a := range o.Attachments {
			v.Attachments = append(v.Attachments, AttachView{
				Name: a.Name, ContentType: a.ContentType, Size: a.Size, SHA256: a.SHA256, Container: a.Container,
				Signature: sigView(a.Signature), Encrypted: a.Encrypted, Decrypted: a.Decrypted,
			})
		}
	}
	if w := m.Rewrapped; w != nil {
		v.Rewrapped = true
		v.Wrapper = WrapperView{MessageID: w.MessageID, From: w.From, Signature: sigView(&w.Signature)}
	}
	for _, f := range m.REM.Fields {
		v.REM.Headers = append(v.REM.Headers, HeaderView{Name: f.Key, Value: f.Value})
	}
	for _, p := range m.Problems {
		v.Problems = append(v.Problems, p.String())
	}
	return v
}

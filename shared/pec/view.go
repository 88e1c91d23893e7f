package pec

import "time"

// View is the JSON contract of `casellario pec inspect --json`. Message-IDs keep
// their angle brackets; fields that do not apply are empty strings or empty lists,
// never null.
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
}

// SignatureView is the signature in View.
type SignatureView struct {
	Status SignatureStatus `json:"status"`
	Signer string          `json:"signer"`
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
}

// View returns the JSON view of m.
func (m *Message) View() View {
	v := View{
		Kind: m.Kind, ReceiptType: m.ReceiptType, MessageID: m.MessageID,
		RefMessageID: m.RefMessageID, PECID: m.PECID, Error: m.Error, ErrorDetail: m.ErrorDetail,
		Sender: m.Sender, Recipients: []Recipient{}, Subject: m.Subject, Issuer: m.Issuer,
		Signature:   SignatureView{Status: m.Signature.Status, Signer: m.Signature.Signer},
		Original:    OriginalView{To: []string{}},
		Attachments: []AttachView{},
		Problems:    []string{},
	}
	v.Recipients = append(v.Recipients, m.Recipients...)
	if !m.Time.IsZero() {
		v.Timestamp = m.Time.Format(time.RFC3339)
	}
	if o := m.Original; o != nil {
		v.Original.MessageID, v.Original.Subject, v.Original.From = o.MessageID, o.Subject, o.From
		v.Original.To = append(v.Original.To, o.To...)
		for _, a := range o.Attachments {
			v.Attachments = append(v.Attachments, AttachView{a.Name, a.ContentType, a.Size, a.SHA256})
		}
	}
	for _, p := range m.Problems {
		v.Problems = append(v.Problems, p.String())
	}
	return v
}

// Package compose writes the outgoing messages of a Comune's PEC mailbox with
// go-mail: a generated Message-ID that is returned (receipts are matched on it),
// text body, attachments, optional segnatura.xml and optional CAdES (.p7m)
// signing of attachments.
package compose

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/pec/segnatura"
)

// Attachment is a file to send.
type Attachment struct {
	Name        string
	ContentType string // application/octet-stream when empty
	Data        []byte
	// Sign wraps the file in a CAdES signature with Mail.Signer: it is sent as
	// Name+".p7m" (application/pkcs7-mime).
	Sign bool
	// Primary marks the DocumentoPrimario of the segnatura (the first
	// attachment when none is marked).
	Primary bool
}

// Mail is an outgoing message.
type Mail struct {
	From    string
	To      []string
	Cc      []string
	Subject string
	Text    string
	// Attachments are sent in order; segnatura.xml, when asked for, comes first.
	Attachments []Attachment
	// Segnatura, when set, is completed with the documents' fingerprints and
	// attached as segnatura.xml.
	Segnatura *segnatura.Segnatura
	// Signer signs the attachments marked Sign.
	Signer *pec.Signer
	// MessageID is used when set (with or without angle brackets); otherwise one
	// is generated at the From domain.
	MessageID string
	Date      time.Time // now when zero
}

// Composed is a message ready to send.
type Composed struct {
	Msg       *gomail.Msg
	MessageID string // with angle brackets, as in the header
}

// New builds the go-mail message. Send it with a go-mail Client, or write it
// with WriteTo.
func New(m Mail) (*Composed, error) {
	if m.From == "" || len(m.To) == 0 {
		return nil, errors.New("compose: From and To are required")
	}
	from, err := mail.ParseAddress(m.From)
	if err != nil {
		return nil, fmt.Errorf("compose: From: %w", err)
	}
	msg := gomail.NewMsg()
	if err := msg.From(m.From); err != nil {
		return nil, fmt.Errorf("compose: From: %w", err)
	}
	if err := msg.To(m.To...); err != nil {
		return nil, fmt.Errorf("compose: To: %w", err)
	}
	if len(m.Cc) > 0 {
		if err := msg.Cc(m.Cc...); err != nil {
			return nil, fmt.Errorf("compose: Cc: %w", err)
		}
	}
	msg.Subject(m.Subject)
	id := strings.Trim(m.MessageID, "<> ")
	if id == "" {
		domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]
		var b [16]byte
		_, _ = rand.Read(b[:])
		id = time.Now().UTC().Format("20060102150405") + "." + hex.EncodeToString(b[:]) + "@" + domain
	}
	msg.SetMessageIDWithValue(id)
	if m.Date.IsZero() {
		msg.SetDate()
	} else {
		msg.SetDateWithValue(m.Date)
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)

	type file struct {
		name, ct string
		data     []byte
		primary  bool
	}
	var files []file
	for _, a := range m.Attachments {
		if a.Name == "" {
			return nil, errors.New("compose: attachment without name")
		}
		f := file{name: a.Name, ct: a.ContentType, data: a.Data, primary: a.Primary}
		if f.ct == "" {
			f.ct = "application/octet-stream"
		}
		if a.Sign {
			if m.Signer == nil {
				return nil, errors.New("compose: attachment to sign but no Signer")
			}
			p7m, err := m.Signer.SignCAdES(a.Data)
			if err != nil {
				return nil, fmt.Errorf("compose: signing an attachment: %w", err)
			}
			f.name, f.ct, f.data = a.Name+".p7m", "application/pkcs7-mime", p7m
		}
		files = append(files, f)
	}
	if m.Segnatura != nil {
		if len(files) == 0 {
			return nil, errors.New("compose: segnatura without documents")
		}
		s := *m.Segnatura
		s.Descrizione.Allegato = nil
		primary := 0
		for i, f := range files {
			if f.primary {
				primary = i
				break
			}
		}
		for i, f := range files {
			if i == primary {
				s.Descrizione.DocumentoPrimario = segnatura.NewDocumento(f.name, f.data)
			} else {
				s.Descrizione.Allegato = append(s.Descrizione.Allegato, segnatura.NewDocumento(f.name, f.data))
			}
		}
		x, err := s.Marshal()
		if err != nil {
			return nil, fmt.Errorf("compose: %w", err)
		}
		files = append([]file{{name: segnatura.FileName, ct: "application/xml", data: x}}, files...)
	}
	for _, f := range files {
		if err := msg.AttachReader(f.name, bytes.NewReader(f.data), gomail.WithFileContentType(gomail.ContentType(f.ct))); err != nil {
			return nil, fmt.Errorf("compose: attaching: %w", err)
		}
	}
	return &Composed{Msg: msg, MessageID: "<" + id + ">"}, nil
}

// Write builds the message, writes it to w and returns its Message-ID.
func Write(w io.Writer, m Mail) (string, error) {
	c, err := New(m)
	if err != nil {
		return "", err
	}
	if _, err := c.Msg.WriteTo(w); err != nil {
		return "", fmt.Errorf("compose: writing: %w", err)
	}
	return c.MessageID, nil
}

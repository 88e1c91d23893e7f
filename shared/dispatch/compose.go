package dispatch

import (
	"bytes"
	"context"
	"fmt"
	"net/mail"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/letter"
	"github.com/casellario-pec/casellario/shared/pec/compose"
	"github.com/casellario-pec/casellario/shared/pec/segnatura"
	"github.com/casellario-pec/casellario/shared/s3docs"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// compose writes the batch's documents and returns the raw message and its Message-ID.
func (r *run) compose(ctx context.Context, t tenants.Tenant, o *tenants.Office, b domain.Batch) ([]byte, string, error) {
	h := r.h
	subs, err := h.Store.SubjectsOfBatch(ctx, t.ID, b.ID)
	if err != nil {
		return nil, "", err
	}
	people := make([]domain.Person, len(subs))
	for i, s := range subs {
		people[i] = s.Person
	}
	f := h.format()
	var list bytes.Buffer
	if err := f.Write(&list, people); err != nil {
		// The people's data cannot be written (the format refuses it): this
		// needs a person, and retrying would block the office's later batches.
		return nil, "", &domain.Error{Code: domain.EINVALID, Message: "subjects file refused the batch's people", Err: err}
	}
	req := letter.Request{
		Comune: t.Name, IPA: t.ID, Office: o.Name, Procura: ProcuraName, ProcuraPEC: t.Procura,
		CertificateType: t.Certificate.Type, Purpose: t.Purpose(o), Protocol: b.Protocol, Subjects: len(people),
		SubjectsFile: f.FileName(), German: t.Certificate.German,
	}
	pdf, err := letter.Bytes(req)
	if err != nil {
		return nil, "", domain.Errorf(domain.EINTERNAL, "batch %s: %v", b.ID, err)
	}
	subject := letter.Subject(req)
	seg := segnatura.Segnatura{
		Intestazione: segnatura.Intestazione{
			Identificatore: segnatura.Identificatore{CodiceAmministrazione: t.ID, CodiceAOO: t.AOO, CodiceRegistro: registryOf(t, b.Protocol),
				NumeroRegistrazione: b.Protocol.Number, DataRegistrazione: b.Protocol.Date.String()},
			Oggetto: subject,
		},
		Descrizione: segnatura.Descrizione{
			Mittente:          segnatura.Ente{Denominazione: t.Name, CodiceAmministrazione: t.ID, CodiceAOO: t.AOO, IndirizzoTelematico: t.PEC.Address},
			Destinatario:      []segnatura.Ente{{Denominazione: ProcuraName, IndirizzoTelematico: t.Procura}},
			DocumentoPrimario: segnatura.NewDocumento(letterName, pdf),
			Allegato:          []segnatura.Documento{segnatura.NewDocumento(f.FileName(), list.Bytes())},
		},
	}
	segXML, err := seg.Marshal()
	if err != nil {
		return nil, "", domain.Errorf(domain.EINTERNAL, "batch %s: %v", b.ID, err)
	}
	for _, d := range []struct {
		name, ct string
		data     []byte
	}{{s3docs.RequestPDF, "application/pdf", pdf}, {s3docs.SubjectsFile, f.ContentType(), list.Bytes()}, {s3docs.Segnatura, "application/xml", segXML}} {
		if _, err := h.Docs.Put(ctx, h.Docs.Document(s3docs.BatchKey(t.ID, b.ID, d.name)), d.ct, bytes.NewReader(d.data)); err != nil {
			return nil, "", err
		}
	}
	from := t.PEC.Address
	if _, err := mail.ParseAddress(from); err != nil {
		return nil, "", domain.Errorf(domain.EINVALID, "tenant %s: PEC address %q", t.ID, from)
	}
	mid := MessageID(b.ID, from)
	var raw bytes.Buffer
	_, err = compose.Write(&raw, compose.Mail{
		From: from, To: []string{t.Procura}, Subject: subject, MessageID: mid, Date: h.now(),
		Text: fmt.Sprintf("%s - %s\r\n\r\n%s.\r\nSi trasmette in allegato la richiesta (%s), l'elenco dei soggetti (%s, %d nominativi) "+
			"e la segnatura di protocollo (%s).\r\n", t.Name, o.Name, subject, letterName, f.FileName(), len(people), segnatura.FileName),
		Attachments: []compose.Attachment{
			{Name: segnatura.FileName, ContentType: "application/xml", Data: segXML},
			{Name: letterName, ContentType: "application/pdf", Data: pdf, Primary: true},
			{Name: f.FileName(), ContentType: f.ContentType(), Data: list.Bytes()},
		},
	})
	if err != nil {
		return nil, "", domain.Errorf(domain.EINTERNAL, "batch %s: %v", b.ID, err)
	}
	return raw.Bytes(), mid, nil
}

// letterName is the attachment name of the request letter.
const letterName = "richiesta.pdf"

// registryOf is the CodiceRegistro of a batch's number: the built-in
// register's, or the general register's for a number it did not give.
func registryOf(t tenants.Tenant, p domain.Protocol) string {
	if p.Register != "" {
		return p.Register
	}
	return t.Protocol.GeneralRegistry()
}

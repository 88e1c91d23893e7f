// Package letter writes the request letter that travels with every batch: the
// protocolled PDF, in Italian, by which a Comune asks the Procura for the certificates
// of the people listed in the subjects file. The letter names no person: it carries
// only the count, so that the people's data stays in one attachment.
package letter

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/go-pdf/fpdf"

	"github.com/casellario-pec/casellario/shared/domain"
)

// Request is what the letter says.
type Request struct {
	Comune          string          // "Comune di Prato"
	IPA             string          // c_g999
	Office          string          // the requesting office, e.g. "Servizio attività economiche SUAP"
	Procura         string          // "Procura della Repubblica presso il Tribunale di Prato"
	ProcuraPEC      string          // the Procura's PEC address
	CertificateType string          // e.g. "Certificato generale del casellario giudiziario (art. 28 DPR 313/2002)"
	Purpose         string          // finalità, e.g. "verifica dei requisiti per il rilascio di licenze"
	Protocol        domain.Protocol // number and date of registration
	Subjects        int             // number of people in the subjects file
	SubjectsFile    string          // file name of the subjects file
	German          bool            // certificates wanted in German too (Alto Adige)
	Signatory       string          // who signs, e.g. "Il Responsabile del Servizio"
}

func (r Request) check() error {
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"Comune", r.Comune}, {"Procura", r.Procura}, {"CertificateType", r.CertificateType},
		{"Purpose", r.Purpose}, {"Protocol.Number", r.Protocol.Number}, {"SubjectsFile", r.SubjectsFile},
	} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}
	if r.Protocol.Date.IsZero() {
		missing = append(missing, "Protocol.Date")
	}
	if len(missing) > 0 {
		return fmt.Errorf("letter: missing %s", strings.Join(missing, ", "))
	}
	if r.Subjects <= 0 {
		return errors.New("letter: a request needs at least one subject")
	}
	return nil
}

// Subject is the e-mail subject and the letter's "Oggetto" line; the Procura quotes
// the protocol number back from it.
func Subject(r Request) string {
	return fmt.Sprintf("Richiesta certificati del casellario giudiziario - Prot. n. %s del %s",
		r.Protocol.Reference(), r.Protocol.Date.Italian())
}

// Write renders the letter as PDF. The same request always gives the same bytes
// (fixed dates inside the PDF), so a retried batch stores the same document.
func Write(w io.Writer, r Request) error {
	if err := r.check(); err != nil {
		return err
	}
	pdf := fpdf.New("P", "mm", "A4", "")
	at := r.Protocol.Date.Time()
	pdf.SetCreationDate(at)
	pdf.SetModificationDate(at)
	pdf.SetCatalogSort(true)
	pdf.SetProducer("Casellario PEC", true)
	pdf.SetTitle(Subject(r), true)
	pdf.SetMargins(25, 25, 25)
	pdf.AddPage()
	tr := pdf.UnicodeTranslatorFromDescriptor("") // UTF-8 to the core fonts' cp1252

	pdf.SetFont("Helvetica", "B", 14)
	pdf.CellFormat(0, 8, tr(r.Comune), "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 11)
	if r.Office != "" {
		pdf.CellFormat(0, 6, tr(r.Office), "", 1, "L", false, 0, "")
	}
	if r.IPA != "" {
		pdf.CellFormat(0, 6, tr("Codice IPA: "+r.IPA), "", 1, "L", false, 0, "")
	}
	pdf.Ln(8)
	pdf.CellFormat(0, 6, tr(fmt.Sprintf("Prot. n. %s del %s", r.Protocol.Reference(), r.Protocol.Date.Italian())), "", 1, "L", false, 0, "")
	pdf.Ln(6)
	pdf.SetX(105)
	pdf.MultiCell(0, 6, tr("Spett.le "+r.Procura+"\nUfficio del Casellario giudiziario"), "", "L", false)
	if r.ProcuraPEC != "" {
		pdf.SetX(105)
		pdf.MultiCell(0, 6, tr("PEC: "+r.ProcuraPEC), "", "L", false)
	}
	pdf.Ln(8)
	pdf.SetFont("Helvetica", "B", 11)
	pdf.MultiCell(0, 6, tr("Oggetto: richiesta massiva di certificati del casellario giudiziario (art. 9 del Decreto dirigenziale 5 dicembre 2012)"), "", "L", false)
	pdf.Ln(4)
	pdf.SetFont("Helvetica", "", 11)
	people := "della persona indicata"
	if r.Subjects > 1 {
		people = fmt.Sprintf("delle %d persone indicate", r.Subjects)
	}
	body := fmt.Sprintf("Con la presente si chiede il rilascio del certificato sotto indicato %s nel file allegato «%s», "+
		"ai fini dei controlli di competenza di questa Amministrazione.", people, r.SubjectsFile)
	pdf.MultiCell(0, 6, tr(body), "", "J", false)
	pdf.Ln(4)
	german := "No"
	if r.German {
		german = "Sì"
	}
	rows := [][2]string{
		{"Amministrazione richiedente", r.Comune},
		{"Tipo di certificato", r.CertificateType},
		{"Finalità", r.Purpose},
		{"Numero di protocollo", r.Protocol.Reference()},
		{"Data di protocollo", r.Protocol.Date.Italian()},
		{"Numero di soggetti", fmt.Sprint(r.Subjects)},
		{"Certificato anche in lingua tedesca", german},
	}
	for _, row := range rows {
		pdf.SetFont("Helvetica", "B", 10)
		pdf.CellFormat(65, 7, tr(row[0]), "1", 0, "L", false, 0, "")
		pdf.SetFont("Helvetica", "", 10)
		pdf.MultiCell(0, 7, tr(row[1]), "1", "L", false)
	}
	pdf.Ln(6)
	pdf.SetFont("Helvetica", "", 11)
	pdf.MultiCell(0, 6, tr("Si chiede di indicare nella risposta il numero di protocollo della presente richiesta. "+
		"I certificati potranno essere trasmessi a questo indirizzo di posta elettronica certificata."), "", "J", false)
	pdf.Ln(10)
	signatory := r.Signatory
	if signatory == "" {
		signatory = "Il Responsabile del procedimento"
	}
	pdf.SetX(105)
	pdf.MultiCell(0, 6, tr(signatory), "", "L", false)
	if err := pdf.Error(); err != nil {
		return fmt.Errorf("letter: %w", err)
	}
	return pdf.Output(w)
}

// Bytes renders the letter into memory.
func Bytes(r Request) ([]byte, error) {
	var b bytes.Buffer
	if err := Write(&b, r); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

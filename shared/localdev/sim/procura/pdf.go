package procura

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/casellario-pec/casellario/shared/domain"
)

// personKey is what the outcome is decided from: the fiscal code, or the
// personal data when there is none (people born abroad).
func personKey(p domain.Person) []byte {
	k := strings.ToUpper(p.FiscalCode)
	if k == "" {
		k = strings.ToUpper(p.Surname + "|" + p.Name + "|" + p.BirthDate.String() + "|" + p.BirthPlaceCode)
	}
	sum := sha256.Sum256([]byte("casellario-sim|" + k))
	return sum[:]
}

// Outcome is the simulated Procura's decision for p: about one person in five
// is positivo, the others nullo. It depends only on the person, so tests can
// predict every certificate.
func Outcome(p domain.Person) domain.Outcome {
	if personKey(p)[0]%5 == 0 {
		return domain.OutcomePositivo
	}
	return domain.OutcomeNullo
}

var offences = []string{
	"art. 624 c.p. (furto)",
	"art. 640 c.p. (truffa)",
	"art. 186 D.Lgs. 285/1992 (guida in stato di ebbrezza)",
	"art. 483 c.p. (falsità ideologica commessa dal privato in atto pubblico)",
	"art. 635 c.p. (danneggiamento)",
}

// Record is the made-up record of a positivo person ("" for nullo).
func Record(p domain.Person) string {
	if Outcome(p) != domain.OutcomePositivo {
		return ""
	}
	k := personKey(p)
	n := binary.BigEndian.Uint16(k[1:3])%900 + 100
	year := 2000 + int(k[3])%24
	return fmt.Sprintf("SENTENZA DEL TRIBUNALE DI PRATO N. %d/%d, IRREVOCABILE, PER IL REATO DI CUI ALL'%s: PENA DI MESI %d DI RECLUSIONE, SOSPESA.",
		n, year, strings.ToUpper(offences[int(k[4])%len(offences)]), int(k[5])%11+1)
}

// certificate is what one certificate page says.
type certificate struct {
	Person   domain.Person
	Quote    string
	Office   string
	IssuedAt time.Time
}

// NullaText is the text of a certificate with nothing on record.
const NullaText = "NULLA"

func newPDF(at time.Time) *fpdf.Fpdf {
	pdf := fpdf.New("P", "mm", "A4", "")
	// Uncompressed content streams keep the text readable by the simplest
	// extractor; the names are in real text objects either way.
	pdf.SetCompression(false)
	pdf.SetCreationDate(at)
	pdf.SetModificationDate(at)
	pdf.SetProducer("Casellario PEC - Procura simulata", true)
	pdf.SetTitle("Certificato del casellario giudiziario", true)
	return pdf
}

func addPage(pdf *fpdf.Fpdf, c certificate) {
	tr := pdf.UnicodeTranslatorFromDescriptor("") // cp1252: accented names
	p := c.Person
	pdf.AddPage()
	pdf.SetFont("Helvetica", "B", 13)
	pdf.CellFormat(0, 8, tr(c.Office), "", 1, "C", false, 0, "")
	pdf.CellFormat(0, 8, "UFFICIO DEL CASELLARIO GIUDIZIARIO", "", 1, "C", false, 0, "")
	pdf.Ln(4)
	pdf.SetFont("Helvetica", "B", 15)
	pdf.CellFormat(0, 10, "CERTIFICATO DEL CASELLARIO GIUDIZIARIO", "", 1, "C", false, 0, "")
	pdf.SetFont("Helvetica", "", 10)
	pdf.CellFormat(0, 6, "(art. 28 e 39 D.P.R. 14 novembre 2002, n. 313) - certificato generale", "", 1, "C", false, 0, "")
	pdf.CellFormat(0, 6, tr(c.Quote), "", 1, "C", false, 0, "")
	pdf.Ln(6)
	pdf.SetFont("Helvetica", "", 11)
	row := func(label, value string) {
		pdf.SetFont("Helvetica", "", 11)
		pdf.CellFormat(60, 7, tr(label), "", 0, "L", false, 0, "")
		pdf.SetFont("Helvetica", "B", 11)
		pdf.CellFormat(0, 7, tr(value), "", 1, "L", false, 0, "")
	}
	row("Cognome", p.Surname)
	row("Nome", p.Name)
	row("Sesso", string(p.Sex))
	row("Data di nascita", p.BirthDate.Italian())
	if p.BornAbroad() {
		row("Stato di nascita (codice)", p.BirthPlaceCode)
	} else {
		row("Comune di nascita (codice)", p.BirthPlaceCode)
	}
	row("Codice fiscale", p.FiscalCode)
	if p.FatherName != "" {
		row("Paternità", p.FatherName)
	}
	pdf.Ln(8)
	pdf.SetFont("Helvetica", "", 11)
	pdf.CellFormat(0, 7, "Nel casellario giudiziario risulta:", "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "B", 12)
	if r := Record(p); r != "" {
		pdf.MultiCell(0, 7, tr(r), "", "L", false)
	} else {
		pdf.CellFormat(0, 9, NullaText, "", 1, "L", false, 0, "")
	}
	pdf.Ln(10)
	pdf.SetFont("Helvetica", "", 9)
	glifo := sha256.Sum256(append(personKey(p), c.IssuedAt.Format(time.RFC3339)...))
	pdf.CellFormat(0, 6, "Prato, "+c.IssuedAt.Format("02/01/2006"), "", 1, "L", false, 0, "")
	pdf.CellFormat(0, 6, "Contrassegno a stampa (glifo, simulato): "+strings.ToUpper(hex.EncodeToString(glifo[:10])), "", 1, "L", false, 0, "")
	pdf.CellFormat(0, 6, tr("Documento prodotto da un simulatore: non ha alcun valore legale."), "", 1, "L", false, 0, "")
}

// certificatePDF returns one PDF with one page per certificate.
func certificatePDF(cs []certificate) ([]byte, error) {
	pdf := newPDF(cs[0].IssuedAt)
	for _, c := range cs {
		addPage(pdf, c)
	}
	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		return nil, fmt.Errorf("procura: PDF: %w", err)
	}
	return b.Bytes(), nil
}

// CertificatePDF is the certificate the simulated Procura writes for p,
// quoting quote and issued at at: for tests that build replies by hand.
func CertificatePDF(p domain.Person, quote string, at time.Time) ([]byte, error) {
	return certificatePDF([]certificate{{Person: p, Quote: quote, Office: DefaultOffice, IssuedAt: at}})
}

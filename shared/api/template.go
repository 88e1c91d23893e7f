package api

import (
	"bytes"
	"net/http"
	"sync"

	"github.com/xuri/excelize/v2"
)

// TemplateHeader is the header row of the Excel template: the names
// shared/namelist recognises.
var TemplateHeader = []string{"Cognome", "Nome", "Sesso", "Data di nascita", "Comune o Stato di nascita",
	"Provincia di nascita", "Codice fiscale", "Paternità"}

// Template sheet names: the list must be the first sheet (intake reads it).
const (
	TemplateSheet      = "Elenco"
	TemplateHelpSheet  = "Istruzioni"
	templateRows       = 1000 // rows with data validation below the header
	templateLastRowRef = "1001"
)

var templateInstructions = []string{
	"Modello per l'elenco dei nominativi per la richiesta dei certificati del casellario giudiziario",
	"",
	"1. Compilare il foglio «Elenco»: una persona per riga, a partire dalla riga 2. Non modificare la riga di intestazione.",
	"2. Cognome e Nome: come nel documento d'identità (accenti e apostrofi ammessi).",
	"3. Sesso: M oppure F (scegliere dall'elenco a discesa).",
	"4. Data di nascita: una data valida, nel formato GG/MM/AAAA (per esempio 01/02/1980).",
	"5. Comune o Stato di nascita: il nome del comune italiano oppure, per chi è nato all'estero, dello Stato (per esempio Germania).",
	"6. Provincia di nascita: la sigla (per esempio PO); facoltativa, serve a distinguere comuni con lo stesso nome.",
	"7. Codice fiscale: facoltativo; se indicato viene verificato, altrimenti viene calcolato.",
	"8. Paternità: facoltativa (nome del padre).",
	"",
	"Salvare il file in formato Excel (.xlsx) oppure CSV e caricarlo dalla pagina del servizio.",
	"Le righe con errori vengono scartate e segnalate subito, con il motivo; le altre vengono inviate alla Procura.",
	"Al massimo 300 persone per richiesta: gli elenchi più lunghi vengono suddivisi automaticamente.",
	"Il file contiene dati personali (art. 10 GDPR): conservarlo e trasmetterlo solo tramite il servizio.",
}

// Template builds the Excel template: the list sheet with its headers, a
// drop-down for the sex (M/F), date validation for the birth date, and an
// instructions sheet in Italian.
func Template() ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", TemplateSheet); err != nil {
		return nil, err
	}
	hdr := make([]any, len(TemplateHeader))
	for i, v := range TemplateHeader {
		hdr[i] = v
	}
	if err := f.SetSheetRow(TemplateSheet, "A1", &hdr); err != nil {
		return nil, err
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Color: "FFFFFF"},
		Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"0066CC"}}})
	if err != nil {
		return nil, err
	}
	if err := f.SetCellStyle(TemplateSheet, "A1", "H1", bold); err != nil {
		return nil, err
	}
	dateStyle, err := f.NewStyle(&excelize.Style{CustomNumFmt: ptr("dd/mm/yyyy")})
	if err != nil {
		return nil, err
	}
	if err := f.SetColStyle(TemplateSheet, "D", dateStyle); err != nil {
		return nil, err
	}
	textStyle, err := f.NewStyle(&excelize.Style{NumFmt: 49}) // "@": codes stay text
	if err != nil {
		return nil, err
	}
	for _, col := range []string{"F", "G"} {
		if err := f.SetColStyle(TemplateSheet, col, textStyle); err != nil {
			return nil, err
		}
	}
	for col, w := range map[string]float64{"A": 22, "B": 22, "C": 8, "D": 16, "E": 30, "F": 12, "G": 20, "H": 18} {
		if err := f.SetColWidth(TemplateSheet, col, col, w); err != nil {
			return nil, err
		}
	}
	if err := f.SetPanes(TemplateSheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return nil, err
	}

	sex := excelize.NewDataValidation(true)
	sex.Sqref = "C2:C" + templateLastRowRef
	if err := sex.SetDropList([]string{"M", "F"}); err != nil {
		return nil, err
	}
	sex.SetError(excelize.DataValidationErrorStyleStop, "Sesso non valido", "Indicare M oppure F.")
	sex.SetInput("Sesso", "M oppure F")
	if err := f.AddDataValidation(TemplateSheet, sex); err != nil {
		return nil, err
	}
	born := excelize.NewDataValidation(true)
	born.Sqref = "D2:D" + templateLastRowRef
	// 1/1/1900 .. 31/12/2099 as Excel serial dates; intake refuses dates after today.
	if err := born.SetRange(1, 73415, excelize.DataValidationTypeDate, excelize.DataValidationOperatorBetween); err != nil {
		return nil, err
	}
	born.SetError(excelize.DataValidationErrorStyleStop, "Data non valida", "Indicare una data nel formato GG/MM/AAAA.")
	born.SetInput("Data di nascita", "GG/MM/AAAA")
	if err := f.AddDataValidation(TemplateSheet, born); err != nil {
		return nil, err
	}

	if _, err := f.NewSheet(TemplateHelpSheet); err != nil {
		return nil, err
	}
	for i, line := range templateInstructions {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetCellStr(TemplateHelpSheet, cell, line); err != nil {
			return nil, err
		}
	}
	if err := f.SetCellStyle(TemplateHelpSheet, "A1", "A1", bold); err != nil {
		return nil, err
	}
	if err := f.SetColWidth(TemplateHelpSheet, "A", "A", 120); err != nil {
		return nil, err
	}
	f.SetActiveSheet(0)
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func ptr[T any](v T) *T { return &v }

var templateOnce = sync.OnceValues(Template)

func (h *Handler) getTemplate(w http.ResponseWriter, r *http.Request) {
	b, err := templateOnce()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", contentTypes["xlsx"])
	w.Header().Set("Content-Disposition", `attachment; filename="modello-elenco-casellario.xlsx"`)
	_, _ = w.Write(b)
}

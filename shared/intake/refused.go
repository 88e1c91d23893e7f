package intake

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/casellario-pec/casellario/shared/cells"
	"github.com/casellario-pec/casellario/shared/namelist"
	"github.com/casellario-pec/casellario/shared/validate"
)

// RefusedHeader is the header row of refused.csv.
var RefusedHeader = []string{"Riga", "Cognome", "Nome", "Sesso", "Data di nascita", "Comune o Stato di nascita", "Stato di nascita",
	"Provincia di nascita", "Codice fiscale", "Paternità", "Motivo"}

// RefusedSheet is the sheet of refused.xlsx: the columns of the list, which
// the reader recognises, then the reason and the row, which it ignores, so
// that the clerk corrects the cells and uploads the file again as it is.
const RefusedSheet = "Righe da correggere"

var refusedFields = []namelist.Field{namelist.Surname, namelist.Name, namelist.Sex, namelist.BirthDate, namelist.BirthPlace,
	namelist.BirthCountry, namelist.Province, namelist.FiscalCode, namelist.FatherName}

// refused is the refused rows of a list as the clerk wrote them, each with
// its reasons in Italian.
type refused []refusedRow

type refusedRow struct {
	row    int
	values []string // refusedFields, as written
	reason string
}

// refusedRows reads the list's data again for the values of the rows the
// report refused.
func refusedRows(name string, data []byte, rep *validate.Report, opts namelist.Options) (refused, error) {
	want := make(map[int]bool, rep.Summary.Invalid)
	for _, r := range rep.Rows {
		if !r.Valid {
			want[r.Row] = true
		}
	}
	raw := make(map[int][namelist.NumFields]string, len(want))
	_, err := namelist.Read(name, bytes.NewReader(data), opts, func(r namelist.Row) error {
		if want[r.Number] {
			raw[r.Number] = r.Values
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out refused
	for _, r := range rep.Rows {
		if r.Valid {
			continue
		}
		vals := raw[r.Row]
		row := refusedRow{row: r.Row}
		for _, f := range refusedFields {
			row.values = append(row.values, vals[f.Index()])
		}
		msgs := make([]string, 0, len(r.Errors))
		for _, p := range r.Errors {
			msgs = append(msgs, p.Message)
		}
		row.reason = strings.Join(msgs, " | ")
		out = append(out, row)
	}
	return out, nil
}

// csv writes refused.csv: UTF-8 with BOM, ';' separated, CRLF line ends,
// cells a spreadsheet would read as formulas defused (shared/cells).
func (rs refused) csv() []byte {
	var b bytes.Buffer
	b.WriteString("\uFEFF")
	w := csv.NewWriter(&b)
	w.Comma = ';'
	w.UseCRLF = true
	_ = w.Write(RefusedHeader)
	for _, r := range rs {
		rec := []string{fmt.Sprint(r.row)}
		for _, v := range r.values {
			rec = append(rec, cells.Defuse(v))
		}
		_ = w.Write(append(rec, cells.Defuse(r.reason)))
	}
	w.Flush() // into a bytes.Buffer: cannot fail
	return b.Bytes()
}

// xlsx writes refused.xlsx. Every cell is a string cell, which a
// spreadsheet never evaluates: values stay exactly as the clerk wrote them,
// so no apostrophe is added (it would end up in the corrected list).
func (rs refused) xlsx() ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", RefusedSheet); err != nil {
		return nil, err
	}
	header := append(append([]string{}, RefusedHeader[1:len(RefusedHeader)-1]...), "Motivo dello scarto", "Riga dell'elenco")
	put := func(row int, vals []string) error {
		for i, v := range vals {
			cell, err := excelize.CoordinatesToCellName(i+1, row)
			if err != nil {
				return err
			}
			if err := f.SetCellStr(RefusedSheet, cell, v); err != nil {
				return err
			}
		}
		return nil
	}
	if err := put(1, header); err != nil {
		return nil, err
	}
	for i, r := range rs {
		if err := put(i+2, append(append([]string{}, r.values...), r.reason, fmt.Sprint(r.row))); err != nil {
			return nil, err
		}
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err == nil {
		last, _ := excelize.CoordinatesToCellName(len(header), 1)
		err = f.SetCellStyle(RefusedSheet, "A1", last, bold)
	}
	if err == nil {
		err = f.SetColWidth(RefusedSheet, "A", "I", 18)
	}
	if err == nil {
		err = f.SetColWidth(RefusedSheet, "J", "J", 60)
	}
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// RefusedCSV writes the refused rows of rep as the list gave them (the file
// data, read again), each with its reasons in Italian (see refused.csv).
func RefusedCSV(name string, data []byte, rep *validate.Report, opts namelist.Options) ([]byte, error) {
	rs, err := refusedRows(name, data, rep, opts)
	if err != nil {
		return nil, err
	}
	return rs.csv(), nil
}

// RefusedXLSX writes the refused rows of rep as an Excel file the clerk
// corrects and uploads again (see RefusedSheet).
func RefusedXLSX(name string, data []byte, rep *validate.Report, opts namelist.Options) ([]byte, error) {
	rs, err := refusedRows(name, data, rep, opts)
	if err != nil {
		return nil, err
	}
	return rs.xlsx()
}

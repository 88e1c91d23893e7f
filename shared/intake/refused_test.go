package intake_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/casellario-pec/casellario/shared/intake"
	"github.com/casellario-pec/casellario/shared/namelist"
	"github.com/casellario-pec/casellario/shared/validate"
)

// TestRefusedXLSXRoundTrip: the refused rows come back as an Excel file
// whose cells are the list's as written (formula-like text stays text), the
// reason beside them; corrected and uploaded again, the same file validates.
func TestRefusedXLSXRoundTrip(t *testing.T) {
	body := header +
		"Rossi;Mario;X;01/01/1980;Roma;RM;\r\n" + // bad sex
		"=HYPERLINK(\"x\");Anna;F;31/02/1990;Roma;RM;\r\n" // formula-like surname, impossible date
	rep := mustValidate(t, body)
	if rep.Summary.Invalid != 2 {
		t.Fatalf("summary %+v", rep.Summary)
	}
	out, err := intake.RefusedXLSX("list.csv", []byte(body), rep, namelist.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if sheets := f.GetSheetList(); len(sheets) != 1 || sheets[0] != intake.RefusedSheet {
		t.Fatalf("sheets %v", sheets)
	}
	rows, err := f.GetRows(intake.RefusedSheet)
	if err != nil || len(rows) != 3 {
		t.Fatalf("%d rows %v", len(rows), err)
	}
	if rows[0][0] != "Cognome" || rows[0][9] != "Motivo dello scarto" || rows[0][10] != "Riga dell'elenco" {
		t.Errorf("header %q", rows[0])
	}
	if rows[1][0] != "Rossi" || rows[1][2] != "X" || !strings.Contains(rows[1][9], "Sesso") || rows[1][10] != "2" {
		t.Errorf("row 2 %q", rows[1])
	}
	if rows[2][0] != `=HYPERLINK("x")` || rows[2][10] != "3" {
		t.Errorf("row 3 %q", rows[2])
	}
	if formula, _ := f.GetCellFormula(intake.RefusedSheet, "A3"); formula != "" {
		t.Errorf("a clerk's text became a formula: %q", formula)
	}

	// The clerk corrects the cells and uploads the file again.
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.SetCellStr(intake.RefusedSheet, "C2", "M"))
	must(f.SetCellStr(intake.RefusedSheet, "A3", "Bianchi"))
	must(f.SetCellStr(intake.RefusedSheet, "D3", "28/02/1990"))
	var fixed bytes.Buffer
	must(f.Write(&fixed))
	again, err := validate.File("corretto.xlsx", &fixed, validate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Summary.Valid != 2 || again.Summary.Invalid != 0 {
		t.Fatalf("the corrected file: %+v %+v", again.Summary, again.Rows)
	}
}

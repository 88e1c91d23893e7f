package namelist

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// withParts returns the xlsx base with some parts replaced or added.
func withParts(t testing.TB, base []byte, parts map[string]string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(base), int64(len(base)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		if _, ok := parts[f.Name]; !ok {
			zw.Copy(f)
		}
	}
	for name, body := range parts {
		w, _ := zw.Create(name)
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type readResult struct {
	h    Header
	rows []Row
	err  string
}

func readWith(t testing.TB, data []byte, opts Options, excelizePath bool) readResult {
	t.Helper()
	forceExcelize = excelizePath
	defer func() { forceExcelize = false }()
	h, rows, err := readAll(t, "x.xlsx", data, opts)
	r := readResult{h: h, rows: rows}
	if err != nil {
		r.err = err.Error()
	}
	return r
}

// sameAsExcelize checks the fast scanner against the excelize path.
func sameAsExcelize(t *testing.T, data []byte, opts Options) readResult {
	t.Helper()
	fast, ref := readWith(t, data, opts, false), readWith(t, data, opts, true)
	if !reflect.DeepEqual(fast, ref) {
		t.Errorf("scanner and excelize differ:\n fast %+v\n ref  %+v", fast, ref)
	}
	return fast
}

const trickySheet = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:dimension ref="A1:H5"/><x:sheetData>
<x:row r="1" spans="1:8"><x:c r="A1" t="inlineStr"><x:is><x:t>Cognome</x:t></x:is></x:c><x:c r="B1" t="s"><x:v>0</x:v></x:c><x:c r="C1" t="inlineStr"><x:is><x:t><![CDATA[Sesso]]></x:t></x:is></x:c><x:c r="D1" t="inlineStr"><x:is><x:r><x:t xml:space="preserve">Data di </x:t></x:r><x:r><x:rPr><x:b/></x:rPr><x:t>nascita</x:t></x:r></x:is></x:c><x:c r="E1" t="s"><x:v>1</x:v></x:c></x:row>
<x:row r="3"><x:c t="inlineStr"><x:is><x:t>D&apos;Angelo &amp; C.</x:t></x:is></x:c><x:c t="inlineStr"><x:is><x:t xml:space="preserve"> Anna_x000D_Maria </x:t></x:is></x:c><x:c t="str"><x:f>"M"&amp;""</x:f><x:v>M</x:v></x:c><x:c s="3"><x:v>29221</x:v></x:c><x:c t="s"><x:v>2</x:v></x:c></x:row>
<!-- a comment <row> -->
<x:row r="4"/>
<x:row r="5"><x:c r="A5" t="s"><x:v>3</x:v></x:c><x:c r="B5" t="inlineStr"><x:is><x:t>Lia</x:t></x:is></x:c><x:c r="D5"><x:v>1.5E+3</x:v></x:c><x:c r="E5" t="inlineStr"><x:is><x:t>Forl&#236;</x:t></x:is></x:c><x:c r="F5" s="2"/><x:c r="G5" t="b"><x:v>1</x:v></x:c><x:c r="H5" t="e"><x:v>#N/A</x:v></x:c><x:c r="I5" t="d"><x:v>1980-01-01T00:00:00</x:v></x:c><x:c r="J5" t="inlineStr"><x:is><x:t>extra</x:t></x:is></x:c></x:row>
</x:sheetData></x:worksheet>`

const trickySST = `<?xml version="1.0" encoding="UTF-8"?>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="4" uniqueCount="4"><si><t>Nome</t></si><si><r><t>Comune di </t></r><r><t>nascita</t></r></si><si><t>東京</t><rPh sb="0" eb="2"><t>トウキョウ</t></rPh></si><si><t>Nicol&#xF2;</t></si></sst>`

func trickyWorkbook(t testing.TB) []byte {
	base := xlsxFile(t, []string{"x"}, nil)
	ct := `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>`
	rels := `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>`
	return withParts(t, base, map[string]string{
		"[Content_Types].xml":        ct,
		"xl/_rels/workbook.xml.rels": rels,
		"xl/worksheets/sheet1.xml":   trickySheet,
		"xl/sharedStrings.xml":       trickySST,
	})
}

func TestScannerTricky(t *testing.T) {
	data := trickyWorkbook(t)
	r := sameAsExcelize(t, data, Options{})
	if r.err != "" {
		t.Fatal(r.err)
	}
	if r.h.HeaderRow != 1 || r.h.Columns[BirthDate] != "Data di nascita" || r.h.Columns[BirthPlace] != "Comune di nascita" || r.h.Columns[Sex] != "Sesso" {
		t.Errorf("header %+v", r.h)
	}
	want := []struct {
		num   int
		vals  [NumFields]string
		notes int
	}{
		{3, vals("surname", "D'Angelo & C.", "name", "Anna\rMaria", "sex", "M", "birth_date", "29221", "birth_place", "東京"), 0},
		{5, vals("surname", "Nicolò", "name", "Lia", "birth_date", "1.5E+3", "birth_place", "Forlì"), 1},
	}
	if len(r.rows) != len(want) {
		t.Fatalf("rows %+v", r.rows)
	}
	for i, w := range want {
		if got := r.rows[i]; got.Number != w.num || got.Values != w.vals || len(got.Notes) != w.notes {
			t.Errorf("row %d: got %d %q %v, want %d %q", i, got.Number, got.Values, got.Notes, w.num, w.vals)
		}
	}
}

func TestScannerParity(t *testing.T) {
	cases := map[string][]byte{
		"generated": xlsxFile(t, append(stdHeader, "Note"), [][]any{
			{"Rossi", "Mario", "M", 29221, "Roma", "RSSMRA80A01H501U", "ok"},
			nil, {" Verdi ", "Anna\nMaria", "F", 29221.5, "Milano", 12345678901, nil, "x"},
			{nil, nil, nil, nil, nil, nil, "solo nota"}, {"<&>\"'", "_x0041_", true, -1.5e-7, "Forlì"},
		}),
		"excel-like": excelFile(t),
		"tricky":     trickyWorkbook(t),
	}
	for name, data := range cases {
		for _, sheet := range []string{"", "Elenco", "elenco", "Vuoto", "Nessuno"} {
			t.Run(name+"/"+sheet, func(t *testing.T) {
				sameAsExcelize(t, data, Options{Sheet: sheet})
			})
		}
	}
	// The standard files must not fall back to excelize.
	for name, data := range cases {
		h := Header{}
		if err := scanXLSX(data, Options{}.withDefaults(), &sheetSink{h: &h, opts: Options{}.withDefaults(), fn: func(Row) error { return nil }}); err == errFallback {
			t.Errorf("%s: fell back to excelize", name)
		}
	}
}

func TestScannerBigSheetStreams(t *testing.T) {
	rows := make([][]any, 3000)
	for i := range rows {
		rows[i] = []any{"Rossi", strings.Repeat("n", i%7), "M", 29221 + i, "Roma"}
	}
	data := xlsxFile(t, stdHeader, rows)
	r := sameAsExcelize(t, data, Options{})
	if r.err != "" || len(r.rows) != 3000 || r.rows[2999].Number != 3001 {
		t.Fatalf("err %q, %d rows", r.err, len(r.rows))
	}
}

// scanAll collects what scanSheet delivers.
func scanAll(t *testing.T, rd io.Reader, sst []string) ([]string, error) {
	var out []string
	err := scanSheet(rd, sst, -1, func(num int, cells []string) (int, error) {
		out = append(out, fmt.Sprintf("%d:%q", num, cells))
		return -1, nil
	})
	return out, err
}

func TestScannerRefill(t *testing.T) {
	sst := []string{"Nome", "Comune di nascita", "東京", "Nicolò"}
	want, err := scanAll(t, strings.NewReader(trickySheet), sst)
	if err != nil || len(want) != 3 {
		t.Fatal(err, want)
	}
	// One byte at a time exercises every refill point.
	got, err := scanAll(t, iotest.OneByteReader(strings.NewReader(trickySheet)), sst)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("one-byte reads: %v %v", err, got)
	}
	// A text run and a tag bigger than the initial buffer.
	big := strings.Repeat("Maria ", 100_000)
	sheet := `<worksheet><sheetData><row r="2" ` + strings.Repeat(`x="1" `, 60_000) + `><c t="inlineStr"><is><t>` + big + `</t></is></c></row></sheetData></worksheet>`
	got, err = scanAll(t, strings.NewReader(sheet), nil)
	if err != nil || len(got) != 1 || !strings.Contains(got[0], big) {
		t.Fatalf("big: %v, %d rows", err, len(got))
	}
}

func TestScannerMalformed(t *testing.T) {
	base := xlsxFile(t, stdHeader, nil)
	head := `<worksheet><sheetData><row r="1"><c t="inlineStr"><is><t>Cognome</t></is></c><c t="inlineStr"><is><t>Nome</t></is></c><c t="inlineStr"><is><t>Sesso</t></is></c><c t="inlineStr"><is><t>Nato il</t></is></c><c t="inlineStr"><is><t>Comune</t></is></c></row>`
	for name, sheet := range map[string]string{
		"bad sst index":      head + `<row r="2"><c t="s"><v>99</v></c></row></sheetData></worksheet>`,
		"unterminated":       head + `<row r="2"><c t="inlineStr"><is><t>Rossi`,
		"bad column":         head + `<row r="2"><c r="ZZZZ2"><v>1</v></c></row></sheetData></worksheet>`,
		"huge row number":    head + `<row r="99999999"><c><v>1</v></c></row></sheetData></worksheet>`,
		"rows out of order":  head + `<row r="5"><c><v>1</v></c></row><row r="3"><c><v>2</v></c></row></sheetData></worksheet>`,
		"unterminated cdata": head + `<row r="2"><c t="inlineStr"><is><t><![CDATA[x`,
	} {
		t.Run(name, func(t *testing.T) {
			data := withParts(t, base, map[string]string{"xl/worksheets/sheet1.xml": sheet})
			checkInvariants(t, "x.xlsx", data)
		})
	}
}

func FuzzScanSheet(f *testing.F) {
	f.Add([]byte(trickySheet))
	f.Add([]byte(`<worksheet><sheetData><row><c r="B1"><v>1</v></c></row><row r="9"><c t="s"><v>0</v></c></row></sheetData></worksheet>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		last := 0
		_ = scanSheet(bytes.NewReader(data), []string{"a", ""}, -1, func(num int, cells []string) (int, error) {
			if num <= last || len(cells) > maxXLSXCols {
				t.Fatalf("row %d after %d, %d cells", num, last, len(cells))
			}
			last = num
			return 5, nil
		})
	})
}

package namelist

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

func readAll(t testing.TB, name string, data []byte, opts Options) (Header, []Row, error) {
	t.Helper()
	var rows []Row
	h, err := Read(name, bytes.NewReader(data), opts, func(r Row) error {
		rows = append(rows, r)
		return nil
	})
	return h, rows, err
}

func mustRead(t *testing.T, name string, data []byte) (Header, []Row) {
	t.Helper()
	h, rows, err := readAll(t, name, data, Options{})
	if err != nil {
		t.Fatalf("Read(%s): %v", name, err)
	}
	return h, rows
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wantCode(t *testing.T, err error, code string) *ReadError {
	t.Helper()
	var re *ReadError
	if !errors.As(err, &re) {
		t.Fatalf("want ReadError %q, got %v", code, err)
	}
	if re.Code != code {
		t.Fatalf("want code %q, got %q (%s)", code, re.Code, re.Message)
	}
	if re.Message == "" {
		t.Fatal("empty message")
	}
	return re
}

// vals builds a Values array from field/value pairs.
func vals(kv ...string) (v [NumFields]string) {
	for i := 0; i < len(kv); i += 2 {
		v[Field(kv[i]).Index()] = kv[i+1]
	}
	return v
}

func noteFields(r Row) []Field {
	var f []Field
	for _, n := range r.Notes {
		f = append(f, n.Field)
	}
	return f
}

func TestFields(t *testing.T) {
	if len(Fields) != NumFields {
		t.Fatal("NumFields")
	}
	for i, f := range Fields {
		if f.Index() != i {
			t.Errorf("%s.Index() = %d, want %d", f, f.Index(), i)
		}
	}
	if Field("nope").Index() != -1 {
		t.Error("unknown field index")
	}
}

func TestMatchHeader(t *testing.T) {
	tests := []struct {
		cell string
		want int // field index, class, or -100 for unknown
	}{
		{"Cognome", 0}, {"COGNOMI", 0}, {"surname", 0}, {" cognome ", 0}, {"Cognome *", 0},
		{"Nome", 1}, {"Nomi", 1}, {"name", 1},
		{"Nome del padre", 8}, {"Paternità", 8}, {"PATERNITA'", 8}, {"Padre", 8}, {"father_name", 8},
		{"Sesso", 2}, {"Genere", 2}, {"Sex", 2}, {"Sesso (M/F)", 2},
		{"Data di nascita", 3}, {"data_nascita", 3}, {"Nato il", 3}, {"Nata il", 3}, {"Nato/a il", 3},
		{"Birth date", 3}, {"birth_date", 3}, {"Data di nascita (gg/mm/aaaa)", 3}, {"DataDiNascita", 3},
		{"Comune o Stato di nascita", 4}, {"Luogo di nascita", 4}, {"Comune di nascita", 4}, {"Comune", 4},
		{"Birth place", 4}, {"Comune (o Stato estero) di nascita", 4}, {"Nato a", 4},
		{"Stato di nascita", classCountry}, {"Stato (estero) di nascita", classCountry},
		{"Stato estero di nascita", classCountry}, {"Nazione di nascita", classCountry},
		{"Provincia di nascita", 6}, {"Provincia", 6}, {"Prov", 6}, {"Prov.", 6}, {"Prov. di nascita", 6}, {"Sigla provincia", 6},
		{"Codice fiscale", 7}, {"CF", 7}, {"C.F.", 7}, {"Cod. fiscale", 7}, {"Fiscal code", 7}, {"fiscal_code", 7},
		{"Cognome e nome", classCombined}, {"Nome e Cognome", classCombined}, {"Nominativo", classCombined},
		{"Telefono", -100}, {"N.", -100}, {"", -100}, {strings.Repeat("cognome", 100), -100},
	}
	for _, tt := range tests {
		got, ok := matchHeader(tt.cell)
		if !ok {
			got = -100
		}
		if got != tt.want {
			t.Errorf("matchHeader(%q) = %d, want %d", tt.cell, got, tt.want)
		}
	}
}

func TestCSVWindows1252(t *testing.T) {
	h, rows := mustRead(t, "elenco.csv", fixture(t, "cp1252.csv"))
	if h.Format != FormatCSV || h.Encoding != "windows-1252" || h.Delimiter != ';' || h.HeaderRow != 1 {
		t.Fatalf("header %+v", h)
	}
	if h.Columns[BirthPlace] != "Comune di nascita" || h.Columns[FiscalCode] != "Codice fiscale" || len(h.Columns) != 7 {
		t.Errorf("columns %v", h.Columns)
	}
	if !reflect.DeepEqual(h.Warnings, []string{"Colonna «Telefono» ignorata: non è tra quelle previste."}) {
		t.Errorf("warnings %q", h.Warnings)
	}
	want := []struct {
		num   int
		vals  [NumFields]string
		notes []Field
	}{
		{2, vals("surname", "COLOMBO", "name", "Nicolò", "sex", "M", "birth_date", "01/02/1980", "birth_place", "Forlì", "province", "FC", "fiscal_code", "CLMNCL80B01D704X"), nil},
		{4, vals("surname", "D'Angelo", "name", "Maria Cristina", "sex", "F", "birth_date", "15/12/1975", "birth_place", "Città di Castello", "province", "PG"), nil},
		{6, vals("surname", "Pérez; García", "name", "José", "sex", "M", "birth_date", "3/4/1990", "birth_place", "Spagna", "province", "EE"), []Field{""}},
		{7, vals("surname", "Bianchi", "name", "Anna\nMaria", "sex", "F", "birth_date", "1/1/2000", "birth_place", "Cantù", "province", "CO"), []Field{Name}},
		{8, vals("surname", "Rossi", "name", "Luca", "sex", "M", "birth_date", "2/2/1982", "birth_place", "Forlì", "province", "FC"), nil},
	}
	if len(rows) != len(want) {
		t.Fatalf("got %d rows: %+v", len(rows), rows)
	}
	for i, w := range want {
		r := rows[i]
		if r.Number != w.num || r.Values != w.vals || !reflect.DeepEqual(noteFields(r), w.notes) {
			t.Errorf("row %d:\n got %d %q %v\nwant %d %q %v", i, r.Number, r.Values, r.Notes, w.num, w.vals, w.notes)
		}
	}
	if !strings.Contains(rows[2].Notes[0].Message, "«extra»") {
		t.Errorf("extra note %q", rows[2].Notes[0].Message)
	}
}

func TestCSVUTF8BOM(t *testing.T) {
	h, rows := mustRead(t, "elenco.csv", fixture(t, "utf8bom.csv"))
	if h.Encoding != "utf-8-bom" || h.Delimiter != ',' || len(h.Warnings) != 0 {
		t.Fatalf("header %+v", h)
	}
	wantCols := map[Field]string{Surname: "Cognome", Name: "Nome", Sex: "Sesso (M/F)", BirthDate: "Nato/a il",
		BirthPlace: "Comune o Stato estero di nascita", Province: "Prov.", FiscalCode: "C.F.", FatherName: "Paternità"}
	if !reflect.DeepEqual(h.Columns, wantCols) {
		t.Errorf("columns %v", h.Columns)
	}
	if len(rows) != 2 || rows[0].Values[FatherName.Index()] != "Carlo" || rows[1].Values[Name.Index()] != "Thị Lan" || rows[1].Number != 3 {
		t.Errorf("rows %+v", rows)
	}
}

func TestCSVUTF16(t *testing.T) {
	h, rows := mustRead(t, "elenco.txt", fixture(t, "utf16le.txt"))
	if h.Encoding != "utf-16le" || h.Delimiter != '\t' {
		t.Fatalf("header %+v", h)
	}
	if h.Columns[BirthPlace] != "Luogo di nascita" || h.Columns[BirthCountry] != "Stato estero di nascita" {
		t.Errorf("columns %v", h.Columns)
	}
	if len(rows) != 3 {
		t.Fatalf("rows %+v", rows)
	}
	if rows[0].Values != vals("surname", "Müller", "name", "Jürgen", "sex", "M", "birth_date", "07/08/1970", "birth_country", "Germania") {
		t.Errorf("row 0 %q", rows[0].Values)
	}
	if rows[2].Values[Surname.Index()] != "王" || rows[2].Values[BirthCountry.Index()] != "Cina 🇨🇳" || rows[2].Number != 4 {
		t.Errorf("row 2 %+v", rows[2])
	}
	// The same text big-endian.
	le := fixture(t, "utf16le.txt")[2:]
	be := []byte{0xFE, 0xFF}
	for i := 0; i+1 < len(le); i += 2 {
		be = append(be, le[i+1], le[i])
	}
	h2, rows2 := mustRead(t, "x.txt", be)
	if h2.Encoding != "utf-16be" || !reflect.DeepEqual(rows, rows2) {
		t.Errorf("utf-16be: %+v %+v", h2, rows2)
	}
}

const hdr = "Cognome;Nome;Sesso;Data di nascita;Comune di nascita\n"

func TestCSVRules(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		delim     rune
		headerRow int
		nums      []int
		first     [NumFields]string
		warnings  int
		cols      map[Field]string
	}{
		{name: "comma", in: "Cognome,Nome,Sesso,Data di nascita,Luogo di nascita\r\nRossi,Mario,M,1/1/1980,Roma\r\n",
			delim: ',', headerRow: 1, nums: []int{2}, first: vals("surname", "Rossi", "name", "Mario", "sex", "M", "birth_date", "1/1/1980", "birth_place", "Roma")},
		{name: "semicolon wins over commas in quotes", in: "\"Cognome, (e altri)\";Nome;Sesso;Data di nascita;Comune\nRossi;Mario;M;1/1/1980;Roma\n",
			delim: ';', headerRow: 1, nums: []int{2}, first: vals("surname", "Rossi", "name", "Mario", "sex", "M", "birth_date", "1/1/1980", "birth_place", "Roma")},
		{name: "tab", in: "Cognome\tNome\tSesso\tData di nascita\tComune\nRossi\t\tM\t1/1/1980\tRoma\n",
			delim: '\t', headerRow: 1, nums: []int{2}, first: vals("surname", "Rossi", "sex", "M", "birth_date", "1/1/1980", "birth_place", "Roma")},
		{name: "blank lines and separator-only lines before header", in: "\n;;;;\n" + hdr + "Rossi;Mario;M;1/1/1980;Roma\n",
			delim: ';', headerRow: 3, nums: []int{4}, first: vals("surname", "Rossi", "name", "Mario", "sex", "M", "birth_date", "1/1/1980", "birth_place", "Roma")},
		{name: "blank and empty rows count", in: hdr + "\n;;; ;\n  \nRossi;Mario\n",
			delim: ';', headerRow: 1, nums: []int{5}, first: vals("surname", "Rossi", "name", "Mario")},
		{name: "fewer cells, trimming keeps inner spaces", in: hdr + "  Rossi ;  Maria  Cristina \t\n",
			delim: ';', headerRow: 1, nums: []int{2}, first: vals("surname", "Rossi", "name", "Maria  Cristina")},
		{name: "quoted multi-line cell is one row", in: hdr + "\"Ros\nsi\";A\nVerdi;B\n",
			delim: ';', headerRow: 1, nums: []int{2, 3}, first: vals("surname", "Ros\nsi", "name", "A")},
		{name: "quoted CRLF multi-line then blank", in: strings.ReplaceAll(hdr, "\n", "\r\n") + "\"a\r\nb\r\nc\";A\r\n\r\nVerdi;B\r\n",
			delim: ';', headerRow: 1, nums: []int{2, 4}, first: vals("surname", "a\nb\nc", "name", "A")},
		{name: "lazy quotes", in: hdr + "Ros\"si;\"Ma\"ria\";M\n",
			delim: ';', headerRow: 1, nums: []int{2}, first: vals("surname", "Ros\"si", "name", "Ma\"ria", "sex", "M")},
		{name: "quote after leading space", in: hdr + "Rossi; \"Maria; Anna\";F\n",
			delim: ';', headerRow: 1, nums: []int{2}, first: vals("surname", "Rossi", "name", "Maria; Anna", "sex", "F")},
		{name: "sep line", in: "sep=,\n" + strings.ReplaceAll(hdr, ";", ",") + "Rossi;x,Mario\n",
			delim: ',', headerRow: 1, nums: []int{2}, first: vals("surname", "Rossi;x", "name", "Mario")},
		{name: "CR line endings", in: strings.ReplaceAll(hdr+"Rossi;Mario\n\nVerdi;Anna\n", "\n", "\r"),
			delim: ';', headerRow: 1, nums: []int{2, 4}, first: vals("surname", "Rossi", "name", "Mario")},
		{name: "any order, duplicate kept first, template numbers skipped", in: "N.;Nome;Cognome;Sesso;Nata il;Comune;Cognomi\n1;Mario;Rossi;M;1/1/1980;Roma;Bianchi\n2;;;;;;\n3\n",
			delim: ';', headerRow: 1, nums: []int{2}, warnings: 2, first: vals("surname", "Rossi", "name", "Mario", "sex", "M", "birth_date", "1/1/1980", "birth_place", "Roma")},
		{name: "stato di nascita alone is the place", in: "Cognome;Nome;Sesso;Data di nascita;Stato di nascita\nRossi;Mario;M;1/1/1980;Francia\n",
			delim: ';', headerRow: 1, nums: []int{2}, first: vals("surname", "Rossi", "name", "Mario", "sex", "M", "birth_date", "1/1/1980", "birth_place", "Francia"),
			cols: map[Field]string{Surname: "Cognome", Name: "Nome", Sex: "Sesso", BirthDate: "Data di nascita", BirthPlace: "Stato di nascita"}},
		{name: "stato beside comune is the country", in: "Cognome;Nome;Sesso;Data di nascita;Stato estero di nascita;Comune di nascita\nRossi;Mario;M;1/1/1980;Francia;\n",
			delim: ';', headerRow: 1, nums: []int{2}, first: vals("surname", "Rossi", "name", "Mario", "sex", "M", "birth_date", "1/1/1980", "birth_country", "Francia")},
		{name: "combined name with separate columns", in: "Cognome e nome;Cognome;Nome;Sesso;Data di nascita;Comune\nRossi Mario;Rossi;Mario\n",
			delim: ';', headerRow: 1, nums: []int{2}, warnings: 1, first: vals("surname", "Rossi", "name", "Mario")},
		{name: "nome del padre is not the name", in: "Cognome;Nome del padre;Nome;Sesso;Data di nascita;Comune\nRossi;Giuseppe;Mario\n",
			delim: ';', headerRow: 1, nums: []int{2}, first: vals("surname", "Rossi", "father_name", "Giuseppe", "name", "Mario")},
		{name: "no trailing newline", in: strings.TrimSuffix(hdr, "\n") + "\nRossi",
			delim: ';', headerRow: 1, nums: []int{2}, first: vals("surname", "Rossi")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, rows := mustRead(t, "x.csv", []byte(tt.in))
			if h.Delimiter != tt.delim || h.HeaderRow != tt.headerRow || len(h.Warnings) != tt.warnings {
				t.Errorf("header %+v", h)
			}
			var nums []int
			for _, r := range rows {
				nums = append(nums, r.Number)
			}
			if !reflect.DeepEqual(nums, tt.nums) {
				t.Fatalf("row numbers %v, want %v", nums, tt.nums)
			}
			if rows[0].Values != tt.first {
				t.Errorf("first row %q, want %q", rows[0].Values, tt.first)
			}
			if tt.cols != nil && !reflect.DeepEqual(h.Columns, tt.cols) {
				t.Errorf("columns %v", h.Columns)
			}
		})
	}
}

func TestCSVNotes(t *testing.T) {
	_, rows := mustRead(t, "x.csv", []byte(hdr+"Rossi;Mario;M;1/1/1980;Roma;;  ;X;Y;Z;W\n"+"Verdi;Anna;F;1/1/1980;Roma;;\n"))
	if len(rows) != 2 || len(rows[0].Notes) != 1 || rows[0].Notes[0].Field != "" || rows[1].Notes != nil {
		t.Fatalf("rows %+v", rows)
	}
	if m := rows[0].Notes[0].Message; !strings.Contains(m, "«X», «Y», «Z», …") {
		t.Errorf("note %q", m)
	}
	// A header-less column inside the header width is the same as an extra cell.
	_, rows = mustRead(t, "x.csv", []byte("Cognome;;Nome;Sesso;Data di nascita;Comune\nRossi;boh;Mario\n"))
	if len(rows) != 1 || len(rows[0].Notes) != 1 || rows[0].Values[Name.Index()] != "Mario" {
		t.Fatalf("rows %+v", rows)
	}
}

func TestHeaderErrors(t *testing.T) {
	tests := []struct {
		name, in, code string
		msg            []string
	}{
		{"empty", "", CodeNoHeader, []string{"vuoto"}},
		{"blank", " \r\n\n\t\n", CodeNoHeader, []string{"vuoto"}},
		{"only separators", ";;;\n;;\n", CodeNoHeader, []string{"vuoto"}},
		{"data first", "ROSSI;MARIO;M;01/01/1980;ROMA\n", CodeNoHeader, []string{"riga 1", "«ROSSI»", "Cognome, Nome, Sesso"}},
		{"missing", "Cognome;Nome;Comune;Telefono\nRossi;Mario;Roma\n", CodeMissingColumns, []string{"Mancano le colonne obbligatorie: Sesso, Data di nascita."}},
		{"combined", "Cognome e nome;Sesso;Data di nascita;Comune\nRossi Mario;M;1/1/1980;Roma\n", CodeMissingColumns,
			[]string{"Mancano le colonne obbligatorie: Cognome, Nome.", "«Cognome e nome»", "due colonne separate"}},
		{"combined with surname only", "Nominativo;Cognome;Sesso;Data di nascita;Comune\n", CodeMissingColumns, []string{"Nome.", "«Nominativo»"}},
		{"nul byte", "Cognome;Nome\x00;Sesso\n", CodeUnsupported, []string{"binari"}},
		{"utf-16 without BOM", "C\x00o\x00g\x00n\x00o\x00m\x00e\x00;\x00N\x00o\x00m\x00e\x00\r\x00\n\x00", CodeEncoding, []string{"UTF-16"}},
		{"pdf", "%PDF-1.4\n...", CodeUnsupported, []string{"PDF"}},
		{"png", "\x89PNG\r\n\x1a\n\x00\x00", CodeUnsupported, []string{"immagine"}},
		{"html", "  <html><table><tr><td>Cognome</td></tr></table></html>", CodeUnsupported, []string{"HTML"}},
		{"gzip", "\x1f\x8b\x08\x00", CodeUnsupported, []string{"compresso"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, rows, err := readAll(t, "x.csv", []byte(tt.in), Options{})
			re := wantCode(t, err, tt.code)
			for _, m := range tt.msg {
				if !strings.Contains(re.Message, m) {
					t.Errorf("message %q lacks %q", re.Message, m)
				}
			}
			if len(rows) != 0 {
				t.Errorf("rows delivered before a file error: %v", rows)
			}
		})
	}
}

func TestOLE2Refused(t *testing.T) {
	_, _, err := readAll(t, "vecchio.xls", fixture(t, "old.xls"), Options{})
	re := wantCode(t, err, CodeUnsupported)
	if !strings.Contains(re.Message, ".xls") {
		t.Errorf("message %q", re.Message)
	}
}

func TestCSVMixedBOM(t *testing.T) {
	// UTF-8 BOM but a stray Windows-1252 byte: keep both readable.
	in := append([]byte("\xEF\xBB\xBF"+hdr+"Nicolò;"), []byte("Forl\xEC\n")...)
	h, rows := mustRead(t, "x.csv", in)
	if h.Encoding != "utf-8-bom" || len(h.Warnings) != 1 || rows[0].Values[Surname.Index()] != "Nicolò" || rows[0].Values[Name.Index()] != "Forlì" {
		t.Fatalf("%+v %+v", h, rows)
	}
}

func TestLimits(t *testing.T) {
	// Default MaxBytes: 10 MiB + 1 byte is refused with the documented message.
	big := io.MultiReader(strings.NewReader(hdr), strings.NewReader(strings.Repeat("x", DefaultMaxBytes)))
	_, err := Read("x.csv", big, Options{}, func(Row) error { return nil })
	re := wantCode(t, err, CodeTooLarge)
	if re.Message != "Il file supera la dimensione massima consentita (10 MB)." {
		t.Errorf("message %q", re.Message)
	}
	// Exactly MaxBytes is fine.
	in := []byte(hdr + "Rossi;Mario\n")
	if _, _, err := readAll(t, "x.csv", in, Options{MaxBytes: int64(len(in))}); err != nil {
		t.Fatal(err)
	}
	// MaxRows.
	in = []byte(hdr + "A\nB\n\nC\n")
	if _, rows, err := readAll(t, "x.csv", in, Options{MaxRows: 3}); err != nil || len(rows) != 3 {
		t.Fatal(err, rows)
	}
	_, _, err = readAll(t, "x.csv", in, Options{MaxRows: 2})
	wantCode(t, err, CodeTooLarge)
}

func TestFnErrorStops(t *testing.T) {
	stop := errors.New("basta")
	for _, tc := range []struct{ name, data string }{
		{"x.csv", hdr + "A\nB\nC\n"},
		{"x.json", `[{"cognome":"A","nome":"x","sesso":"M","data di nascita":"1","comune":"R"},{"cognome":"B"},{"cognome":"C"}]`},
	} {
		n := 0
		_, err := Read(tc.name, strings.NewReader(tc.data), Options{}, func(Row) error {
			n++
			if n == 2 {
				return stop
			}
			return nil
		})
		if err != stop || n != 2 {
			t.Errorf("%s: err %v after %d rows", tc.name, err, n)
		}
	}
	x := xlsxFile(t, []string{"Cognome", "Nome", "Sesso", "Data di nascita", "Comune"}, [][]any{{"A"}, {"B"}, {"C"}})
	n := 0
	_, err := Read("x.xlsx", bytes.NewReader(x), Options{}, func(Row) error { n++; return stop })
	if err != stop || n != 1 {
		t.Errorf("xlsx: err %v after %d rows", err, n)
	}
}

func TestReadErrorUnwrap(t *testing.T) {
	cause := errors.New("cause")
	e := &ReadError{Code: CodeCorrupt, Message: "m", Err: cause}
	if !errors.Is(e, cause) || !strings.Contains(e.Error(), "corrupt") {
		t.Error(e)
	}
}

// --- XLSX ---

var stdHeader = []string{"Cognome", "Nome", "Sesso", "Data di nascita", "Comune di nascita", "Codice fiscale"}

func xlsxFile(t testing.TB, header []string, rows [][]any) []byte {
	t.Helper()
	b, err := GenerateXLSX(header, rows)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestXLSX(t *testing.T) {
	data := xlsxFile(t, append(stdHeader, "Note"), [][]any{
		{"Rossi", "Mario", "M", 29221, "Roma", "RSSMRA80A01H501U", "ok"},
		{" Verdi ", "Anna", "F", 29221.5, "Milano"},
		nil, // blank row: still numbered
		{"Bianchi", "Luca", "M", "01/02/1980", "Torino", 12345678901, nil, "extra"},
		{nil, nil, nil, nil, nil, nil, "solo una nota"},
		{"Neri", "Lia", "F", 1.5e3, "Bari"},
	})
	h, rows := mustRead(t, "elenco.xlsx", data)
	if h.Format != FormatXLSX || h.Encoding != "" || h.Delimiter != 0 || h.HeaderRow != 1 || len(h.Warnings) != 1 {
		t.Fatalf("header %+v", h)
	}
	want := []struct {
		num   int
		vals  [NumFields]string
		notes int
	}{
		{2, vals("surname", "Rossi", "name", "Mario", "sex", "M", "birth_date", "29221", "birth_place", "Roma", "fiscal_code", "RSSMRA80A01H501U"), 0},
		{3, vals("surname", "Verdi", "name", "Anna", "sex", "F", "birth_date", "29221.5", "birth_place", "Milano"), 0},
		{5, vals("surname", "Bianchi", "name", "Luca", "sex", "M", "birth_date", "01/02/1980", "birth_place", "Torino", "fiscal_code", "12345678901"), 1},
		{7, vals("surname", "Neri", "name", "Lia", "sex", "F", "birth_date", "1500", "birth_place", "Bari"), 0},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows %+v", rows)
	}
	for i, w := range want {
		if rows[i].Number != w.num || rows[i].Values != w.vals || len(rows[i].Notes) != w.notes {
			t.Errorf("row %d: got %d %q %v, want %d %q", i, rows[i].Number, rows[i].Values, rows[i].Notes, w.num, w.vals)
		}
	}
}

// excelFile builds a workbook the way Excel stores it (shared strings,
// styled date cells, several sheets, rows with gaps).
func excelFile(t testing.TB) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.SetSheetName("Sheet1", "Istruzioni"))
	must(f.SetCellValue("Istruzioni", "A1", "Compilare il foglio Elenco"))
	_, err := f.NewSheet("Elenco")
	must(err)
	_, err = f.NewSheet("Vuoto")
	must(err)
	for i, v := range stdHeader {
		cell, _ := excelize.CoordinatesToCellName(i+1, 3)
		must(f.SetCellValue("Elenco", cell, v))
	}
	must(f.SetSheetRow("Elenco", "A4", &[]any{"Rossi", "Mario", "M", time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC), "Roma"}))
	must(f.SetSheetRow("Elenco", "A10", &[]any{"Verdi", "Anna", "F", "1/1/1980", "Forlì"}))
	var buf bytes.Buffer
	must(f.Write(&buf))
	return buf.Bytes()
}

func TestXLSXSheets(t *testing.T) {
	data := excelFile(t)
	h, rows, err := readAll(t, "x.xlsx", data, Options{Sheet: "elenco"})
	if err != nil {
		t.Fatal(err)
	}
	if h.HeaderRow != 3 || len(rows) != 2 {
		t.Fatalf("%+v %+v", h, rows)
	}
	if rows[0].Number != 4 || rows[0].Values[BirthDate.Index()] != "29221" || rows[1].Number != 10 || rows[1].Values[BirthPlace.Index()] != "Forlì" {
		t.Errorf("rows %+v", rows)
	}
	// First sheet by default: instructions, not a header.
	_, _, err = readAll(t, "x.xlsx", data, Options{})
	wantCode(t, err, CodeNoHeader)
	_, _, err = readAll(t, "x.xlsx", data, Options{Sheet: "Vuoto"})
	re := wantCode(t, err, CodeNoHeader)
	if !strings.Contains(re.Message, "«Vuoto» è vuoto") {
		t.Error(re.Message)
	}
	_, _, err = readAll(t, "x.xlsx", data, Options{Sheet: "Foglio1"})
	re = wantCode(t, err, CodeNoHeader)
	if !strings.Contains(re.Message, "«Foglio1»") || !strings.Contains(re.Message, "«Istruzioni», «Elenco», «Vuoto»") {
		t.Error(re.Message)
	}
}

func zipOf(t testing.TB, files map[string][]byte, level int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, level) })
	for _, name := range []string{"[Content_Types].xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml", "content.xml", "mimetype", "other.txt"} {
		b, ok := files[name]
		if !ok {
			continue
		}
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// bombZip replaces the sheet of the xlsx workbook with one that inflates to n zero bytes without ever
// holding them: a sync-flushed deflate chunk of zeros repeats validly after
// more zeros. declare, when not 0, is the uncompressed size written in the
// headers (a lying archive).
func bombZip(t testing.TB, workbook []byte, n int, declare uint64) []byte {
	t.Helper()
	const chunk = 1 << 20
	zeros := make([]byte, chunk)
	var c bytes.Buffer
	fw, _ := flate.NewWriter(&c, flate.BestCompression)
	fw.Write(zeros)
	fw.Flush()
	one := bytes.Clone(c.Bytes())
	var body bytes.Buffer
	crc := crc32.NewIEEE()
	for i := 0; i < n/chunk; i++ {
		body.Write(one)
		crc.Write(zeros)
	}
	body.Write([]byte{0x03, 0x00}) // final empty fixed-Huffman block
	if declare == 0 {
		declare = uint64(n)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	base, err := zip.NewReader(bytes.NewReader(workbook), int64(len(workbook)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range base.File {
		if f.Name != "xl/worksheets/sheet1.xml" {
			zw.Copy(f)
		}
	}
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "xl/worksheets/sheet1.xml", Method: zip.Deflate,
		CRC32: crc.Sum32(), CompressedSize64: uint64(body.Len()), UncompressedSize64: declare})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(body.Bytes())
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestBombZipInflates(t *testing.T) {
	b := bombZip(t, xlsxFile(t, stdHeader, nil), 3<<20, 0)
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := zr.File[len(zr.File)-1].Open()
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, rc)
	if err != nil || n != 3<<20 {
		t.Fatalf("inflated %d bytes: %v", n, err)
	}
}

func TestXLSXErrors(t *testing.T) {
	good := xlsxFile(t, stdHeader, [][]any{{"Rossi"}})
	wb := good
	bomb := bombZip(t, wb, 110<<20, 0)     // honest sizes, over MaxUncompressed
	ratioBomb := bombZip(t, wb, 20<<20, 0) // within the size bound, but ~1000:1
	liar := bombZip(t, wb, 20<<20, 1000)   // declares 1000 bytes, inflates to 20 MiB
	if len(bomb) > 200<<10 {
		t.Fatalf("bomb is %d bytes", len(bomb))
	}
	tests := []struct {
		name string
		data []byte
		opts Options
		code string
		msg  string
	}{
		{"zip bomb", bomb, Options{}, CodeTooLarge, "100 MB"},
		{"ratio bomb", ratioBomb, Options{}, CodeTooLarge, "decompresso"},
		// archive/zip stops inflating at the declared size; excelize then sees
		// a cut sheet. What matters is that nothing big is ever inflated.
		{"lying sizes", liar, Options{}, "any", ""},
		{"small MaxUncompressed", good, Options{MaxUncompressed: 1000}, CodeTooLarge, "1000 byte"},
		{"truncated", good[:len(good)/2], Options{}, CodeCorrupt, "danneggiato"},
		{"garbage after magic", append([]byte("PK\x03\x04"), bytes.Repeat([]byte("x"), 100)...), Options{}, CodeCorrupt, "danneggiato"},
		{"zip not xlsx", zipOf(t, map[string][]byte{"other.txt": []byte("hi")}, 6), Options{}, CodeCorrupt, "non un foglio Excel"},
		{"ods", zipOf(t, map[string][]byte{"mimetype": []byte("application/vnd.oasis.opendocument.spreadsheet"), "content.xml": []byte("<x/>")}, 6), Options{}, CodeCorrupt, ".ods"},
		{"broken workbook", zipOf(t, map[string][]byte{"[Content_Types].xml": []byte("<Types/>"), "xl/workbook.xml": []byte("<workbook><sheets><sheet")}, 6), Options{}, CodeCorrupt, ""},
		{"header only", xlsxFile(t, stdHeader, nil), Options{}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, rows, err := readAll(t, "x.xlsx", tt.data, tt.opts)
			if tt.code == "" {
				if err != nil || len(rows) != 0 {
					t.Fatal(err, rows)
				}
				return
			}
			if tt.code == "any" {
				var re *ReadError
				if !errors.As(err, &re) || len(rows) != 0 {
					t.Fatal(err, rows)
				}
				return
			}
			re := wantCode(t, err, tt.code)
			if !strings.Contains(re.Message, tt.msg) {
				t.Errorf("message %q lacks %q", re.Message, tt.msg)
			}
		})
	}
}

// --- JSON ---

func TestJSONFixture(t *testing.T) {
	h, rows := mustRead(t, "elenco.json", fixture(t, "list.json"))
	if h.Format != FormatJSON || h.Encoding != "" || h.HeaderRow != 0 || len(h.Columns) != 8 {
		t.Fatalf("header %+v", h)
	}
	if !reflect.DeepEqual(h.Warnings, []string{"Colonna «extra» ignorata: non è tra quelle previste.", "Colonna «telefono» ignorata: non è tra quelle previste."}) {
		t.Errorf("warnings %q", h.Warnings)
	}
	want := []struct {
		num   int
		vals  [NumFields]string
		notes []Field
	}{
		{1, vals("surname", "Rossi", "name", "Mario", "sex", "M", "birth_date", "1980-01-02", "birth_place", "Roma", "province", "RM", "fiscal_code", "RSSMRA80A02H501U"), nil},
		{2, vals("surname", "Bianchi", "name", "Anna", "sex", "F", "birth_date", "29221", "birth_place", "Milano"), nil},
		{3, vals("surname", "Neri", "birth_date", "29221", "birth_place", "Torino"), []Field{Name, Sex}},
		{5, vals("surname", "Gialli", "name", "Lia", "sex", "F", "birth_date", "29221.5", "birth_place", "Bari"), nil},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows %+v", rows)
	}
	for i, w := range want {
		r := rows[i]
		if r.Number != w.num || r.Values != w.vals || !reflect.DeepEqual(noteFields(r), w.notes) {
			t.Errorf("row %d: got %d %q %v, want %d %q %v", i, r.Number, r.Values, r.Notes, w.num, w.vals, w.notes)
		}
	}
}

func TestJSONErrors(t *testing.T) {
	full := `{"cognome":"A","nome":"B","sesso":"M","data_nascita":"1","luogo_nascita":"R"}`
	tests := []struct{ name, in, code string }{
		{"object", `{"cognome":"Rossi"}`, CodeCorrupt},
		{"array of strings", `["Rossi","Verdi"]`, CodeCorrupt},
		{"second element not object", `[` + full + `, 3]`, CodeCorrupt},
		{"syntax", `[` + full + `,{"cognome":}]`, CodeCorrupt},
		{"truncated", `[` + full + `,{"cognome":"x"`, CodeCorrupt},
		{"trailing data", `[` + full + `] x`, CodeCorrupt},
		{"deep", `[{"cognome":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}]`, CodeCorrupt},
		{"empty array", ` [ ] `, CodeNoHeader},
		{"unknown keys", `[{"a":1,"b":2}]`, CodeNoHeader},
		{"missing", `[{"cognome":"Rossi","nome":"Mario"}]`, CodeMissingColumns},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, rows, err := readAll(t, "x.json", []byte(tt.in), Options{})
			wantCode(t, err, tt.code)
			if len(rows) != 0 {
				t.Errorf("rows before error: %v", rows)
			}
		})
	}
	// Keys missing from some objects are fine when another object has them.
	_, rows := mustRead(t, "x.json", []byte(`[{"cognome":"A","nome":"B"},{"sesso":"M","data_nascita":1e2,"luogo_nascita":"R","extra_key":null}]`))
	if len(rows) != 2 || rows[1].Values[BirthDate.Index()] != "100" {
		t.Errorf("rows %+v", rows)
	}
}

// --- Fuzz ---

func checkInvariants(t *testing.T, name string, data []byte) {
	last := 0
	h, err := Read(name, bytes.NewReader(data), Options{MaxRows: 1000}, func(r Row) error {
		if r.Number <= last {
			t.Fatalf("row number %d after %d", r.Number, last)
		}
		last = r.Number
		for _, v := range r.Values {
			if v != strings.TrimSpace(v) {
				t.Fatalf("untrimmed value %q", v)
			}
		}
		return nil
	})
	if err != nil {
		var re *ReadError
		if !errors.As(err, &re) || re.Message == "" {
			t.Fatalf("error not a ReadError: %v", err)
		}
		return
	}
	if h.Format == FormatCSV && h.HeaderRow == 0 {
		t.Fatal("csv without header row")
	}
}

func FuzzReadCSV(f *testing.F) {
	for _, n := range []string{"cp1252.csv", "utf8bom.csv", "utf16le.txt"} {
		f.Add(fixture(f, n))
	}
	f.Add([]byte(hdr + "\"a\nb\";x;;;;;;\n\n;;\n"))
	f.Add([]byte("sep=,\r" + hdr))
	f.Fuzz(func(t *testing.T, data []byte) { checkInvariants(t, "x.csv", data) })
}

func FuzzReadXLSX(f *testing.F) {
	f.Add(xlsxFile(f, stdHeader, [][]any{{"Rossi", "Mario", "M", 29221, "Roma"}, nil, {"a", "b", "c", "d", "e", "f", "g"}}))
	f.Add(excelFile(f))
	f.Add(trickyWorkbook(f))
	f.Add(fixture(f, "old.xls"))
	f.Fuzz(func(t *testing.T, data []byte) { checkInvariants(t, "x.xlsx", data) })
}

func FuzzReadJSON(f *testing.F) {
	f.Add(fixture(f, "list.json"))
	f.Add([]byte(`[{"cognome":"A","nome":"B","sesso":"M","data_nascita":1e400,"luogo_nascita":{"a":[1]}}]`))
	f.Fuzz(func(t *testing.T, data []byte) { checkInvariants(t, "x.json", data) })
}

package validate

import (
	"hash/maphash"
	"strings"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/namelist"
)

var today = domain.Date{Year: 2026, Month: time.November, Day: 25}

// row builds a namelist.Row from field=value pairs.
func row(n int, kv ...string) namelist.Row {
	r := namelist.Row{Number: n}
	for i := 0; i+1 < len(kv); i += 2 {
		r.Values[namelist.Field(kv[i]).Index()] = kv[i+1]
	}
	return r
}

// mario is a valid row: Mario Rossi, born in Rome on 1/1/1980.
func mario(extra ...string) []string {
	base := []string{"surname", "Rossi", "name", "Mario", "sex", "M", "birth_date", "01/01/1980", "birth_place", "Roma"}
	return append(base, extra...)
}

// with replaces or adds fields in a key/value list.
func with(kv []string, more ...string) []string {
	out := append([]string(nil), kv...)
	for i := 0; i+1 < len(more); i += 2 {
		found := false
		for j := 0; j+1 < len(out); j += 2 {
			if out[j] == more[i] {
				out[j+1], found = more[i+1], true
			}
		}
		if !found {
			out = append(out, more[i], more[i+1])
		}
	}
	return out
}

func TestRowValid(t *testing.T) {
	tests := []struct {
		name string
		kv   []string
		want domain.Person
	}{
		{"plain", mario(), domain.Person{Surname: "ROSSI", Name: "MARIO", Sex: "M",
			BirthDate: domain.Date{Year: 1980, Month: 1, Day: 1}, BirthPlace: "Roma", BirthPlaceCode: "H501", Province: "RM", FiscalCode: "RSSMRA80A01H501U"}},
		{"spaces and case", with(mario(), "surname", "  rossi ", "name", "mario   luigi", "sex", "m"),
			domain.Person{Surname: "ROSSI", Name: "MARIO LUIGI", Sex: "M", BirthDate: domain.Date{Year: 1980, Month: 1, Day: 1},
				BirthPlace: "Roma", BirthPlaceCode: "H501", Province: "RM", FiscalCode: "RSSMLG80A01H501W"}},
		{"fiscal code given, lower case", with(mario(), "fiscal_code", "rssmra80a01h501u"),
			domain.Person{Surname: "ROSSI", Name: "MARIO", Sex: "M", BirthDate: domain.Date{Year: 1980, Month: 1, Day: 1},
				BirthPlace: "Roma", BirthPlaceCode: "H501", Province: "RM", FiscalCode: "RSSMRA80A01H501U"}},
		{"omocodia accepted", with(mario(), "fiscal_code", "RSSMRA80A01H50MM"),
			domain.Person{Surname: "ROSSI", Name: "MARIO", Sex: "M", BirthDate: domain.Date{Year: 1980, Month: 1, Day: 1},
				BirthPlace: "Roma", BirthPlaceCode: "H501", Province: "RM", FiscalCode: "RSSMRA80A01H50MM"}},
		{"woman born abroad, words for sex", []string{"surname", "Müller", "name", "Anna", "sex", "femmina",
			"birth_date", "1985-03-12", "birth_place", "Germania"},
			domain.Person{Surname: "MÜLLER", Name: "ANNA", Sex: "F", BirthDate: domain.Date{Year: 1985, Month: 3, Day: 12},
				BirthPlace: "Germania", BirthPlaceCode: "Z112", FiscalCode: "MLLNNA85C52Z112G"}},
		{"apostrophe and accent", []string{"surname", "D’Angelo", "name", "Nicolò", "sex", "M",
			"birth_date", "5.6.1990", "birth_place", "PRATO (PO)"},
			domain.Person{Surname: "D'ANGELO", Name: "NICOLÒ", Sex: "M", BirthDate: domain.Date{Year: 1990, Month: 6, Day: 5},
				BirthPlace: "Prato", BirthPlaceCode: "G999", Province: "PO", FiscalCode: "DNGNCL90H05G999Q"}},
		{"excel serial date, comune and country columns", with(mario(), "birth_date", "29221", "birth_country", "Italia"),
			domain.Person{Surname: "ROSSI", Name: "MARIO", Sex: "M", BirthDate: domain.Date{Year: 1980, Month: 1, Day: 1},
				BirthPlace: "Roma", BirthPlaceCode: "H501", Province: "RM", FiscalCode: "RSSMRA80A01H501U"}},
		{"foreign state in its own column", with(mario(), "birth_place", "", "birth_country", "Francia"),
			domain.Person{Surname: "ROSSI", Name: "MARIO", Sex: "M", BirthDate: domain.Date{Year: 1980, Month: 1, Day: 1},
				BirthPlace: "Francia", BirthPlaceCode: "Z110", FiscalCode: "RSSMRA80A01Z110B"}},
		{"comune merged after the birth keeps its code", with(mario(), "birth_date", "12/05/1950", "birth_place", "Abetone"),
			domain.Person{Surname: "ROSSI", Name: "MARIO", Sex: "M", BirthDate: domain.Date{Year: 1950, Month: 5, Day: 12},
				BirthPlace: "Abetone", BirthPlaceCode: "A012", Province: "PT", FiscalCode: "RSSMRA50E12A012P"}},
		{"father's name", with(mario(), "father_name", "giuseppe"),
			domain.Person{Surname: "ROSSI", Name: "MARIO", Sex: "M", BirthDate: domain.Date{Year: 1980, Month: 1, Day: 1},
				BirthPlace: "Roma", BirthPlaceCode: "H501", Province: "RM", FiscalCode: "RSSMRA80A01H501U", FatherName: "GIUSEPPE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := New(Options{Today: today}).Row(row(2, tt.kv...))
			if !got.Valid || len(got.Errors) > 0 {
				t.Fatalf("row invalid: %+v", got.Errors)
			}
			if got.Person != tt.want {
				t.Errorf("person\n got %+v\nwant %+v", got.Person, tt.want)
			}
			if got.Row != 2 {
				t.Errorf("row number %d, want 2", got.Row)
			}
		})
	}
}

func TestRowErrors(t *testing.T) {
	tests := []struct {
		name   string
		kv     []string
		fields []string // every field expected in error, in order
		word   string   // a word the first message must contain
	}{
		{"everything missing", []string{"surname", " "}, []string{"surname", "name", "sex", "birth_date", "birth_place"}, "mancante"},
		{"digits in surname", with(mario(), "surname", "Ross1"), []string{"surname"}, "cifre"},
		{"formula in name", with(mario(), "name", "=HYPERLINK(\"x\")"), []string{"name"}, "iniziare"},
		{"leading at sign", with(mario(), "surname", "@Rossi"), []string{"surname"}, "iniziare"},
		{"leading typographic dash", with(mario(), "surname", "‐Rossi"), []string{"surname"}, "trattino"},
		{"leading en dash after spaces", with(mario(), "name", "  – Mario"), []string{"name"}, "trattino"},
		{"apostrophe only", with(mario(), "name", "'"), []string{"name"}, "mancante"},
		{"symbols", with(mario(), "name", "Mario!"), []string{"name"}, "«!»"},
		{"sex unknown", with(mario(), "sex", "X"), []string{"sex"}, "M o F"},
		{"31 February", with(mario(), "birth_date", "31/02/1980"), []string{"birth_date"}, "non esiste"},
		{"month 13", with(mario(), "birth_date", "01/13/1980"), []string{"birth_date"}, "mese"},
		{"two-digit year", with(mario(), "birth_date", "01/01/80"), []string{"birth_date"}, "quattro cifre"},
		{"bare year", with(mario(), "birth_date", "1980"), []string{"birth_date"}, "incompleta"},
		{"words", with(mario(), "birth_date", "primo gennaio"), []string{"birth_date"}, "non riconosciuta"},
		{"future", with(mario(), "birth_date", "01/01/2027"), []string{"birth_date"}, "futuro"},
		{"before 1900", with(mario(), "birth_date", "31/12/1899"), []string{"birth_date"}, "1900"},
		{"excel 29/02/1900", with(mario(), "birth_date", "60"), []string{"birth_date"}, "1900"},
		{"unknown place", with(mario(), "birth_place", "Xyzzyville"), []string{"birth_place"}, ""},
		{"Italia as place", with(mario(), "birth_place", "Italia"), []string{"birth_place"}, "comune"},
		{"comune and foreign state", with(mario(), "birth_country", "Francia"), []string{"birth_place"}, "solo"},
		{"comune merged before the birth", with(mario(), "birth_date", "01/06/2020", "birth_place", "Abetone"), []string{"birth_place"}, "Abetone Cutigliano"},
		{"bad province", with(mario(), "province", "ZZ"), []string{"province"}, ""},
		{"fiscal code check character", with(mario(), "fiscal_code", "RSSMRA80A01H501X"), []string{"fiscal_code"}, "controllo"},
		{"fiscal code of another surname", with(mario(), "fiscal_code", "BNCMRA80A01H501A"), []string{"fiscal_code"}, "cognome"},
		{"fiscal code of a woman", with(mario(), "fiscal_code", "RSSMRA80A41H501Y"), []string{"fiscal_code"}, "sesso"},
		{"fiscal code, short, other fields wrong", with(mario(), "sex", "", "fiscal_code", "RSSMRA80"), []string{"sex", "fiscal_code"}, "Sesso"},
		{"bad father's name", with(mario(), "father_name", "G1useppe"), []string{"row"}, "Paternità"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := New(Options{Today: today}).Row(row(7, tt.kv...))
			if got.Valid {
				t.Fatalf("row valid, want errors on %v", tt.fields)
			}
			var fields []string
			for _, p := range got.Errors {
				fields = append(fields, p.Field)
				if p.Message == "" {
					t.Errorf("empty message for %s", p.Field)
				}
			}
			if strings.Join(fields, ",") != strings.Join(tt.fields, ",") {
				t.Fatalf("error fields %v, want %v (%+v)", fields, tt.fields, got.Errors)
			}
			if !strings.Contains(got.Errors[0].Message, tt.word) {
				t.Errorf("message %q does not contain %q", got.Errors[0].Message, tt.word)
			}
		})
	}
}

func TestDuplicates(t *testing.T) {
	v := New(Options{Today: today})
	first := v.Row(row(2, mario()...))
	other := v.Row(row(3, with(mario(), "name", "Luigi")...))
	again := v.Row(row(4, with(mario(), "surname", "ROSSI ", "birth_date", "1980-01-01")...))
	if !first.Valid || !other.Valid {
		t.Fatalf("first rows should be valid: %+v %+v", first.Errors, other.Errors)
	}
	if again.Valid || again.DuplicateOf != 2 || len(again.Errors) != 1 || again.Errors[0].Field != FieldRow {
		t.Fatalf("duplicate not reported: %+v", again)
	}
	if !strings.Contains(again.Errors[0].Message, "riga 2") {
		t.Errorf("message does not name the first row: %q", again.Errors[0].Message)
	}
}

func TestReaderNotesBecomeWarnings(t *testing.T) {
	r := row(5, mario()...)
	r.Notes = []namelist.Note{{Field: "", Message: "Celle oltre l'ultima colonna ignorate"}}
	got := New(Options{Today: today}).Row(r)
	if !got.Valid || len(got.Warnings) != 1 || got.Warnings[0] != r.Notes[0].Message {
		t.Fatalf("note not carried as warning: %+v", got)
	}
}

func TestFile(t *testing.T) {
	csv := "Cognome;Nome;Sesso;Data di nascita;Comune o Stato di nascita;Telefono\n" +
		"Rossi;Mario;M;01/01/1980;Roma;555\n" +
		"\n" +
		"Bianchi;Anna;X;31/02/1990;Roma;\n" +
		"Rossi;Mario;M;1/1/1980;ROMA;\n"
	rep, err := File("elenco.csv", strings.NewReader(csv), Options{Today: today})
	if err != nil {
		t.Fatal(err)
	}
	want := Summary{Rows: 3, Valid: 1, Invalid: 2, Duplicates: 1}
	if rep.Summary != want {
		t.Errorf("summary %+v, want %+v", rep.Summary, want)
	}
	if len(rep.Rows) != 3 || rep.Rows[0].Row != 2 || rep.Rows[1].Row != 4 || rep.Rows[2].Row != 5 {
		t.Errorf("row numbers wrong: %+v", rep.Rows)
	}
	if len(rep.Rows[1].Errors) != 2 {
		t.Errorf("row 4 should have two errors (sex, date): %+v", rep.Rows[1].Errors)
	}
	if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "Telefono") {
		t.Errorf("ignored column not warned: %v", rep.Warnings)
	}
}

func TestFileUnreadable(t *testing.T) {
	_, err := File("x.xls", strings.NewReader("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest"), Options{Today: today})
	var re *namelist.ReadError
	if err == nil || !asReadError(err, &re) || re.Message == "" {
		t.Fatalf("want a ReadError, got %v", err)
	}
}

func asReadError(err error, target **namelist.ReadError) bool {
	re, ok := err.(*namelist.ReadError)
	if ok {
		*target = re
	}
	return ok
}

func TestParseDateForms(t *testing.T) {
	want := domain.Date{Year: 1980, Month: time.March, Day: 5}
	for _, s := range []string{"05/03/1980", "5/3/1980", "05.03.1980", "05-03-1980", "1980-03-05", "1980-03-05 00:00:00",
		"1980-03-05T00:00:00Z", "05/03/1980 00:00", "29285", "29285.75", "1980/03/05"} {
		got, msg := parseBirthDate(s, today)
		if msg != "" || got != want {
			t.Errorf("%q: got %v %q, want %v", s, got, msg, want)
		}
	}
	if d, _ := parseBirthDate("59", today); d.Year != 1900 { // before Excel's phantom leap day
		t.Errorf("serial 59 gave %v", d)
	}
	if d, _ := parseBirthDate("61", today); d != (domain.Date{Year: 1900, Month: time.March, Day: 1}) {
		t.Errorf("serial 61 gave %v, want 1900-03-01", d)
	}
}

// TestDuplicateHashCollision checks that two different people whose hashes collide
// are not taken for one another.
func TestDuplicateHashCollision(t *testing.T) {
	v := New(Options{Today: today})
	a := personKey{"ROSSI", "MARIO", domain.Date{Year: 1980, Month: 1, Day: 1}, "H501"}
	b := personKey{"ROSSO", "MARIO", domain.Date{Year: 1980, Month: 1, Day: 1}, "H501"}
	if v.firstRow(b, 2) != 0 {
		t.Fatal("first person reported as duplicate")
	}
	// Make a's hash point at b, as a collision would.
	v.seen[maphash.Comparable(v.seed, a)] = v.seen[maphash.Comparable(v.seed, b)]
	if got := v.firstRow(a, 3); got != 0 {
		t.Fatalf("colliding person reported as duplicate of row %d", got)
	}
	if got := v.firstRow(a, 4); got != 3 {
		t.Fatalf("real duplicate after a collision: got row %d, want 3", got)
	}
	if got := v.firstRow(b, 5); got != 2 {
		t.Fatalf("first person's duplicate: got row %d, want 2", got)
	}
}

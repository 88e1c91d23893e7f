package fiscalcode

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
)

func date(y, m, d int) domain.Date { return domain.Date{Year: y, Month: time.Month(m), Day: d} }

type person struct {
	surname, name string
	sex           domain.Sex
	born          domain.Date
	place         string
}

// Expected codes were worked out by hand (the first three, the Agenzia's own example
// among them) and cross-checked with an independent implementation.
var known = []struct {
	why  string
	p    person
	code string
}{
	{"plain", person{"Rossi", "Mario", domain.Male, date(1980, 1, 1), "H501"}, "RSSMRA80A01H501U"},
	{"Agenzia example", person{"Rossi", "Mario", domain.Male, date(1985, 12, 10), "A562"}, "RSSMRA85T10A562S"},
	{"woman: day+40", person{"Bianchi", "Laura", domain.Female, date(1990, 3, 12), "F205"}, "BNCLRA90C52F205S"},
	{"short surname padded with X", person{"Fo", "Ada", domain.Female, date(1926, 3, 24), "L682"}, "FOXDAA26C64L682W"},
	{"name with 4+ consonants", person{"Verdi", "Gianfranco", domain.Male, date(1957, 6, 30), "G702"}, "VRDGFR57H30G702J"},
	{"apostrophe and accent", person{"D'Angelo", "Nicolò", domain.Male, date(1973, 11, 5), "F839"}, "DNGNCL73S05F839B"},
	{"two-word name, 2001", person{"Esposito", "Maria Grazia", domain.Female, date(2001, 2, 28), "F839"}, "SPSMGR01B68F839C"},
	{"two-word surname, 29 Feb 2000", person{"De Luca", "Anna Maria", domain.Female, date(2000, 2, 29), "D969"}, "DLCNMR00B69D969U"},
	{"umlauts, Germany", person{"Müller", "Jürgen", domain.Male, date(1968, 7, 15), "Z112"}, "MLLJGN68L15Z112M"},
	{"Romanian comma-below", person{"Ștefănescu", "Ioana", domain.Female, date(1995, 9, 9), "Z129"}, "STFNIO95P49Z129K"},
	{"elided article, day 30+40", person{"Dell'Acqua", "Lucia", domain.Female, date(1949, 4, 30), "L219"}, "DLLLCU49D70L219Z"},
	{"vowels and X padding", person{"Ai", "Al", domain.Male, date(2005, 10, 31), "A944"}, "AIXLAX05R31A944Q"},
	{"Y is a consonant", person{"Xu", "Yi", domain.Female, date(1999, 8, 1), "Z210"}, "XUXYIX99M41Z210M"},
	{"tilde, Spanish double name", person{"Nuñez", "José Luis", domain.Male, date(1982, 5, 17), "Z131"}, "NNZJLS82E17Z131H"},
	{"apostrophe in surname, 1910", person{"Sant'Elia", "Pierpaolo", domain.Male, date(1910, 12, 31), "C351"}, "SNTPPL10T31C351V"},
	{"accented vowels only", person{"Papà", "Zoë", domain.Female, date(2024, 1, 9), "H501"}, "PPAZOE24A49H501K"},
}

func TestCompute(t *testing.T) {
	for _, k := range known {
		got := Compute(k.p.surname, k.p.name, k.p.sex, k.p.born, k.p.place)
		if got != k.code {
			t.Errorf("%s: Compute(%q, %q, %s, %v, %s) = %s, want %s", k.why, k.p.surname, k.p.name, k.p.sex, k.p.born, k.p.place, got, k.code)
		}
	}
}

func TestLetters(t *testing.T) {
	for _, c := range []struct {
		in            string
		surname, name string
	}{
		{"Rossi", "RSS", "RSS"},
		{"Fo", "FOX", "FOX"},
		{"Gianfranco", "GNF", "GFR"}, // surname keeps the first three; name skips the 2nd
		{"Anna Maria", "NNM", "NMR"},
		{"Maria Grazia", "MRG", "MGR"}, // all words count
		{"D'Angelo", "DNG", "DGL"},     // as a name: D N G L, four consonants
		{"D’Angelo", "DNG", "DGL"},     // typographic apostrophe
		{"d angelo", "DNG", "DGL"},     // lowercase, space
		{"Nicolò", "NCL", "NCL"},
		{"Nicolo\u0300", "NCL", "NCL"}, // decomposed accent
		{"Nicolo'", "NCL", "NCL"},      // accent typed as apostrophe
		{"Lo Russo-Bianchi", "LRS", "LSS"},
		{"Ugo", "GUO", "GUO"},
		{"Eva", "VEA", "VEA"},
		{"Åsa", "SAA", "SAA"},
		{"Łukasz", "LKS", "LSZ"},
		{"Strauß", "STR", "SRS"}, // ß counts as SS: S T R S S
		{"Œdipe", "DPO", "DPO"},  // Œ counts as OE
		{"", "XXX", "XXX"},
		{"'- .", "XXX", "XXX"},
		{"Иван", "XXX", "XXX"}, // no Latin letters: the clerk must transliterate
		{"O", "OXX", "OXX"},
	} {
		if g := letters(c.in, false); string(g[:]) != c.surname {
			t.Errorf("surname letters of %q = %s, want %s", c.in, g[:], c.surname)
		}
		if g := letters(c.in, true); string(g[:]) != c.name {
			t.Errorf("name letters of %q = %s, want %s", c.in, g[:], c.name)
		}
	}
}

func TestComputeInvalidInput(t *testing.T) {
	for _, c := range []struct {
		why  string
		p    person
		want string
	}{
		{"month 13", person{"Rossi", "Mario", domain.Male, date(1980, 13, 1), "H501"}, "RSSMRA*****H501*"},
		{"30 February", person{"Rossi", "Mario", domain.Male, date(1980, 2, 30), "H501"}, "RSSMRA*****H501*"},
		{"29 February 1900", person{"Rossi", "Mario", domain.Male, date(1900, 2, 29), "H501"}, "RSSMRA*****H501*"},
		{"zero date", person{"Rossi", "Mario", domain.Male, domain.Date{}, "H501"}, "RSSMRA*****H501*"},
		{"no sex", person{"Rossi", "Mario", "", date(1980, 1, 1), "H501"}, "RSSMRA80A**H501*"},
		{"lowercase sex", person{"Rossi", "Mario", "m", date(1980, 1, 1), "H501"}, "RSSMRA80A**H501*"},
		{"short place", person{"Rossi", "Mario", domain.Male, date(1980, 1, 1), "H50"}, "RSSMRA80A01*****"},
		{"place name, not code", person{"Rossi", "Mario", domain.Male, date(1980, 1, 1), "Roma"}, "RSSMRA80A01*****"},
		{"empty place", person{"Rossi", "Mario", domain.Male, date(1980, 1, 1), ""}, "RSSMRA80A01*****"},
	} {
		got := Compute(c.p.surname, c.p.name, c.p.sex, c.p.born, c.p.place)
		if got != c.want {
			t.Errorf("%s: Compute = %s, want %s", c.why, got, c.want)
		}
		if _, err := Parse(got); err == nil {
			t.Errorf("%s: Parse(%s) accepted a code computed from invalid data", c.why, got)
		}
	}
	// Lowercase and padded place codes are fine: they come from lookups and forms.
	if got := Compute("Rossi", "Mario", domain.Male, date(1980, 1, 1), " h501 "); got != "RSSMRA80A01H501U" {
		t.Errorf("Compute with place %q = %s", " h501 ", got)
	}
	// Years before 1900 and after 2099 still code their last two digits.
	if got := Compute("Rossi", "Mario", domain.Male, date(1880, 1, 1), "H501"); got != "RSSMRA80A01H501U" {
		t.Errorf("Compute for 1880 = %s", got)
	}
}

func TestParse(t *testing.T) {
	for _, k := range known {
		p, err := Parse(k.code)
		if err != nil {
			t.Errorf("%s: Parse(%s): %v", k.why, k.code, err)
			continue
		}
		want := Parts{
			Surname: k.code[0:3], Name: k.code[3:6],
			Year2: k.p.born.Year % 100, Month: k.p.born.Month, Day: k.p.born.Day,
			Sex: k.p.sex, PlaceCode: k.p.place,
		}
		if p != want {
			t.Errorf("%s: Parse(%s) = %+v, want %+v", k.why, k.code, p, want)
		}
	}
	// Lowercase and spaces, as clerks type and paste.
	p, err := Parse(" rssmra 80a01 h501u\t")
	if err != nil || p.Surname != "RSS" || p.PlaceCode != "H501" {
		t.Errorf("Parse of lowercase spaced code = %+v, %v", p, err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		code string
		want string // substring of the message
	}{
		{"", "Codice fiscale non indicato"},
		{"   ", "Codice fiscale non indicato"},
		{"RSSMRA80A01H501", "Codice fiscale di lunghezza errata: 15 caratteri invece di 16"},
		{"RSSMRA80A01H501UX", "Codice fiscale di lunghezza errata: 17 caratteri invece di 16"},
		{"R", "lunghezza errata: 1 carattere invece di 16"},
		{"RSSMRÀ80A01H501U", "carattere non ammesso «À» in posizione 6"},
		{"RSSMRA80A01H501K", "carattere di controllo errato: atteso U, trovato K"},
		{"RSSMRA80A01H502U", "carattere di controllo errato: atteso Z"}, // typo elsewhere
		{"RSSMRA81A01H501U", "carattere di controllo errato"},
		{"RSS#RA80A01H501U", "carattere non ammesso «#» in posizione 4"},
		{"RSS-RA80A01H501U", "carattere non ammesso «-» in posizione 4"},
		{"RSSMRA80A01H501\x00", "carattere non ammesso U+0000 in posizione 16"},
		{"RSSMR480A01H501U", "in posizione 6 (lettere di cognome e nome) è attesa una lettera, trovato «4»"},
		{"RSSMRA8AA01H501U", "in posizione 8 (anno di nascita) è attesa una cifra, trovato «A»"},
		{"RSSMRA80A0WH501U", "in posizione 11 (giorno di nascita e sesso) è attesa una cifra, trovato «W»"},
		{"RSSMRA80A015501U", "in posizione 12 (codice del luogo di nascita) è attesa una lettera, trovato «5»"},
		{"RSSMRA80A01H5Z1U", "in posizione 14 (codice del luogo di nascita) è attesa una cifra, trovato «Z»"},
		{"RSSMRA80A01H5017", "in posizione 16 (carattere di controllo) è attesa una lettera, trovato «7»"},
		{"RSSMRA80F01H501U", "la lettera del mese è «F»"},
		{"12345678901", "numerico di 11 cifre"},
		{withCheck("RSSMRA80A32H501"), "il giorno di nascita in posizione 10-11 vale 32"},
		{withCheck("RSSMRA80A00H501"), "vale 00"},
		{withCheck("RSSMRA80A40H501"), "vale 40"},
		{withCheck("RSSMRA80A72H501"), "vale 72"},
		{withCheck("RSSMRA80D31H501"), "indica il giorno 31 del mese di aprile, che non esiste"},
		{withCheck("RSSMRA81B29H501"), "indica il giorno 29 del mese di febbraio"},
		{withCheck("RSSMRA80B70H501"), "indica il giorno 30 del mese di febbraio"},
	} {
		_, err := Parse(c.code)
		var fe *Error
		if !errors.As(err, &fe) {
			t.Errorf("Parse(%q) error = %v (%T), want *Error", c.code, err, err)
			continue
		}
		if !strings.Contains(fe.Message, c.want) || fe.Error() != fe.Message {
			t.Errorf("Parse(%q) = %q, want it to contain %q", c.code, fe.Message, c.want)
		}
		if n := Normalize(c.code); len(n) >= 8 && strings.Contains(fe.Message, n) {
			t.Errorf("Parse(%q) message repeats the code: %q", c.code, fe.Message)
		}
	}
	// 29 February is accepted whenever the two-digit year allows a leap year.
	for _, code := range []string{withCheck("RSSMRA00B29H501"), withCheck("RSSMRA84B69H501")} {
		if _, err := Parse(code); err != nil {
			t.Errorf("Parse(%s): %v", code, err)
		}
	}
}

// withCheck appends the right check character, for codes made to fail later checks.
func withCheck(s string) string { return s + string(checkChar(s)) }

// omocode applies the omocodia substitution to the positions selected by mask (bit i
// for omoPositions[i]) and recomputes the check character, as the Agenzia does.
func omocode(code string, mask int) string {
	b := []byte(code[:15])
	for i, pos := range omoPositions {
		if mask&(1<<i) != 0 {
			b[pos] = omoLetters[b[pos]-'0']
		}
	}
	return string(b) + string(checkChar(b))
}

func TestOmocodia(t *testing.T) {
	// Literal omocodic codes, check characters worked out by hand.
	for _, c := range []struct{ omo, base string }{
		{"RSSMRA85T10A56NH", "RSSMRA85T10A562S"}, // last digit substituted
		{"RSSMRAULALMHRLMD", "RSSMRA80A01H501U"}, // all seven substituted
		{"BNCLRA90C52F2LRY", "BNCLRA90C52F205S"},
		{"RSSMRA8LA01H501F", "RSSMRA80A01H501U"}, // not from the right, still decoded
	} {
		po, err := Parse(c.omo)
		if err != nil {
			t.Errorf("Parse(%s): %v", c.omo, err)
			continue
		}
		pb, _ := Parse(c.base)
		pb.Omocode = true
		if po != pb {
			t.Errorf("Parse(%s) = %+v, want %+v", c.omo, po, pb)
		}
	}
	for _, k := range known {
		base, _ := Parse(k.code)
		for mask := range 1 << len(omoPositions) {
			code := omocode(k.code, mask)
			p, err := Parse(code)
			if err != nil {
				t.Fatalf("Parse(%s) (mask %07b of %s): %v", code, mask, k.code, err)
			}
			want := base
			want.Omocode = mask != 0
			if p != want {
				t.Fatalf("Parse(%s) = %+v, want %+v", code, p, want)
			}
			if m := Verify(code, k.p.surname, k.p.name, k.p.sex, k.p.born, k.p.place); len(m) != 0 {
				t.Fatalf("Verify(%s) rejected an omocodic code: %+v", code, m)
			}
			// The check character is computed on the substituted string: the one of the
			// plain code is wrong for any substitution.
			if mask != 0 {
				if _, err := Parse(code[:15] + k.code[15:]); err == nil && code[15] != k.code[15] {
					t.Fatalf("Parse accepted %s with the check character of the plain code", code[:15]+k.code[15:])
				}
			}
		}
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"RSSMRA80A01H501U":       "RSSMRA80A01H501U",
		"rssmra80a01h501u":       "RSSMRA80A01H501U",
		" RSS MRA 80A01 H501U ":  "RSSMRA80A01H501U",
		"RSSMRA80A01\u00a0H501U": "RSSMRA80A01H501U", // no-break space from a PDF
		"rss\tmra\n80a01h501u\r": "RSSMRA80A01H501U",
		"rssmra80a01h501":        "RSSMRA80A01H501", // no validation
		"rss-mra":                "RSS-MRA",
		"":                       "",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestVerify(t *testing.T) {
	rossi := person{"Rossi", "Mario", domain.Male, date(1980, 1, 1), "H501"}
	laura := person{"Bianchi", "Laura", domain.Female, date(1990, 3, 12), "F205"}
	for _, c := range []struct {
		why    string
		code   string
		p      person
		fields []string
		want   []string // substrings, one per mismatch, in order
	}{
		{"match", "RSSMRA80A01H501U", rossi, nil, nil},
		{"match, typed loosely", " rssmra80a01 h501u ", rossi, nil, nil},
		{"match, omocodic", "RSSMRAULALMHRLMD", rossi, nil, nil},
		{"match, accents and apostrophes", "DNGNCL73S05F839B", person{"D’ANGELO", "NICOLO'", domain.Male, date(1973, 11, 5), "f839"}, nil, nil},
		{"year compared on two digits", "RSSMRA80A01H501U", person{"Rossi", "Mario", domain.Male, date(1880, 1, 1), "H501"}, nil, nil},
		{"surname", "RSSMRA80A01H501U", person{"Bianchi", "Mario", domain.Male, date(1980, 1, 1), "H501"},
			[]string{FieldSurname}, []string{"Il codice fiscale indica per il cognome le lettere RSS, ma dal cognome indicato risultano BNC"}},
		{"name", "RSSMRA80A01H501U", person{"Rossi", "Marco", domain.Male, date(1980, 1, 1), "H501"},
			[]string{FieldName}, []string{"Il codice fiscale indica per il nome le lettere MRA, ma dal nome indicato risultano MRC"}},
		{"sex", "BNCLRA90C52F205S", person{"Bianchi", "Laura", domain.Male, date(1990, 3, 12), "F205"},
			[]string{FieldSex}, []string{"Il codice fiscale è di una persona di sesso femminile, ma il sesso indicato è M"}},
		{"sex missing", "RSSMRA80A01H501U", person{"Rossi", "Mario", "", date(1980, 1, 1), "H501"},
			[]string{FieldSex}, []string{"di sesso maschile, ma il sesso indicato non è valido"}},
		{"day", "BNCLRA90C52F205S", person{"Bianchi", "Laura", domain.Female, date(1990, 3, 13), "F205"},
			[]string{FieldBirthDate}, []string{"Il codice fiscale indica come data di nascita il 12/03 di un anno che termina con 90, ma la data indicata è 13/03/1990 (non coincide il giorno)"}},
		{"month", "BNCLRA90C52F205S", person{"Bianchi", "Laura", domain.Female, date(1990, 4, 12), "F205"},
			[]string{FieldBirthDate}, []string{"(non coincide il mese)"}},
		{"year", "BNCLRA90C52F205S", person{"Bianchi", "Laura", domain.Female, date(1991, 3, 12), "F205"},
			[]string{FieldBirthDate}, []string{"ma la data indicata è 12/03/1991 (non coincide l'anno)"}},
		{"day and month swapped", "BNCLRA90C52F205S", person{"Bianchi", "Laura", domain.Female, date(1990, 12, 3), "F205"},
			[]string{FieldBirthDate}, []string{"(non coincidono il giorno e il mese)"}},
		{"whole date", "BNCLRA90C52F205S", person{"Bianchi", "Laura", domain.Female, date(1989, 2, 11), "F205"},
			[]string{FieldBirthDate}, []string{"(non coincidono il giorno, il mese e l'anno)"}},
		{"date missing", "BNCLRA90C52F205S", person{"Bianchi", "Laura", domain.Female, domain.Date{}, "F205"},
			[]string{FieldBirthDate}, []string{"ma la data di nascita non è indicata"}},
		{"place", "RSSMRA80A01H501U", person{"Rossi", "Mario", domain.Male, date(1980, 1, 1), "f205"},
			[]string{FieldBirthPlace}, []string{"Il codice fiscale indica il luogo di nascita con codice catastale H501, ma il codice del luogo indicato è F205"}},
		{"place of an omocodic code", "RSSMRAULALMHRLMD", person{"Rossi", "Mario", domain.Male, date(1980, 1, 1), "H502"},
			[]string{FieldBirthPlace}, []string{"con codice catastale H501, ma il codice del luogo indicato è H502"}},
		{"place missing", "RSSMRA80A01H501U", person{"Rossi", "Mario", domain.Male, date(1980, 1, 1), ""},
			[]string{FieldBirthPlace}, []string{"ma il luogo indicato non ha codice catastale"}},
		{"everything at once", "BNCLRA90C52F205S", person{"Rossi", "Mario", domain.Male, date(1980, 1, 1), "H501"},
			[]string{FieldSurname, FieldName, FieldSex, FieldBirthDate, FieldBirthPlace},
			[]string{"lettere BNC, ma dal cognome indicato risultano RSS", "lettere LRA, ma dal nome indicato risultano MRA", "sesso femminile, ma il sesso indicato è M", "il 12/03 di un anno che termina con 90, ma la data indicata è 01/01/1980", "codice catastale F205, ma il codice del luogo indicato è H501"}},
		{"wrong check character", "RSSMRA80A01H501K", rossi,
			[]string{FieldFiscalCode}, []string{"carattere di controllo errato: atteso U"}},
		{"wrong length", "RSSMRA80A01H501", laura,
			[]string{FieldFiscalCode}, []string{"Codice fiscale di lunghezza errata: 15 caratteri invece di 16"}},
		{"empty code", "", rossi, []string{FieldFiscalCode}, []string{"non indicato"}},
	} {
		got := Verify(c.code, c.p.surname, c.p.name, c.p.sex, c.p.born, c.p.place)
		if got == nil {
			t.Errorf("%s: Verify returned nil, want a non-nil slice", c.why)
		}
		if len(got) != len(c.fields) {
			t.Errorf("%s: Verify = %+v, want fields %v", c.why, got, c.fields)
			continue
		}
		for i, m := range got {
			if m.Field != c.fields[i] || !strings.Contains(m.Message, c.want[i]) {
				t.Errorf("%s: mismatch %d = %+v, want field %s with %q", c.why, i, m, c.fields[i], c.want[i])
			}
			// Messages end up in logs: no whole code, no whole name.
			if n := Normalize(c.code); len(n) == Length && strings.Contains(m.Message, n) {
				t.Errorf("%s: message repeats the code: %q", c.why, m.Message)
			}
			for _, s := range []string{c.p.surname, c.p.name} {
				if len(s) > 3 && strings.Contains(strings.ToUpper(m.Message), strings.ToUpper(s)) {
					t.Errorf("%s: message names %q: %q", c.why, s, m.Message)
				}
			}
		}
	}
}

// The examples are what the other packages rely on; they double as documentation.
func ExampleCompute() {
	fmt.Println(Compute("D'Angelo", "Nicolò", domain.Female, domain.Date{Year: 1973, Month: time.November, Day: 5}, "F839"))
	// Output: DNGNCL73S45F839F
}

func ExampleVerify() {
	for _, m := range Verify("rssmra80a01h501u", "Rossi", "Maria", domain.Female, domain.Date{Year: 1980, Month: time.January, Day: 1}, "H501") {
		fmt.Println(m.Field+":", m.Message)
	}
	// Maria and Mario share the letters MRA: only the sex disagrees.
	// Output:
	// sex: Il codice fiscale è di una persona di sesso maschile, ma il sesso indicato è F
}

func BenchmarkCompute(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Compute("Dell'Acqua", "Gianfranco Maria", domain.Male, domain.Date{Year: 1957, Month: time.June, Day: 30}, "G702")
	}
}

func BenchmarkVerify(b *testing.B) {
	born := domain.Date{Year: 1957, Month: time.June, Day: 30}
	code := Compute("Dell'Acqua", "Gianfranco Maria", domain.Male, born, "G702")
	b.Run("match", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if m := Verify(code, "Dell'Acqua", "Gianfranco Maria", domain.Male, born, "G702"); len(m) != 0 {
				b.Fatal(m)
			}
		}
	})
	b.Run("typed_loosely", func(b *testing.B) {
		loose := strings.ToLower(code[:8]) + " " + code[8:]
		b.ReportAllocs()
		for b.Loop() {
			Verify(loose, "Dell'Acqua", "Gianfranco Maria", domain.Male, born, "G702")
		}
	})
	b.Run("mismatch", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Verify(code, "Dell'Acqua", "Gianfranco", domain.Female, born, "G702")
		}
	})
}

package subjects_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/subjects"
)

var (
	rossi = domain.Person{Surname: "ROSSI", Name: "MARIO", Sex: domain.Male, BirthDate: domain.Date{Year: 1980, Month: 1, Day: 1},
		BirthPlaceCode: "H501", FiscalCode: "RSSMRA80A01H501U"}
	muller = domain.Person{Surname: "MÜLLER", Name: "ANNA; MARIA", Sex: domain.Female, BirthDate: domain.Date{Year: 1975, Month: 12, Day: 31},
		BirthPlaceCode: "Z112", FatherName: "HANS \"JR\""}
	dAmico = domain.Person{Surname: "D'AMICO", Name: "LUCIA", Sex: domain.Female, BirthDate: domain.Date{Year: 2001, Month: 2, Day: 28},
		BirthPlaceCode: "G999", FiscalCode: "DMCLCU01B68G999X", FatherName: "GIUSEPPE"}
)

const header = "COGNOME;NOME;SESSO;DATA_NASCITA;COMUNE_NASCITA;STATO_NASCITA;CODICE_FISCALE;PATERNITA\r\n"

func TestRoundTrip(t *testing.T) {
	f := subjects.Default()
	if f.Name() != "csv-dd2012" || f.FileName() != "soggetti.csv" || f.ContentType() != "text/csv; charset=utf-8" {
		t.Fatalf("default format: %s %s %s", f.Name(), f.FileName(), f.ContentType())
	}
	tests := []struct {
		name   string
		people []domain.Person
		want   string // exact output when not empty
	}{
		{"one born in Italy", []domain.Person{rossi}, header + "ROSSI;MARIO;M;01/01/1980;H501;;RSSMRA80A01H501U;\r\n"},
		{"born abroad, quoting", []domain.Person{muller}, header + "MÜLLER;\"ANNA; MARIA\";F;31/12/1975;;Z112;;\"HANS \"\"JR\"\"\"\r\n"},
		{"several", []domain.Person{rossi, muller, dAmico}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := f.Write(&b, tc.people); err != nil {
				t.Fatal(err)
			}
			if tc.want != "" && b.String() != tc.want {
				t.Fatalf("written:\n%q\nwant\n%q", b.String(), tc.want)
			}
			got, err := f.Read(&b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.people) {
				t.Fatalf("read back %+v, want %+v", got, tc.people)
			}
		})
	}
}

func TestByName(t *testing.T) {
	for _, n := range []string{"", "csv-dd2012"} {
		if f, err := subjects.ByName(n); err != nil || f.Name() != "csv-dd2012" {
			t.Fatalf("ByName(%q) = %v, %v", n, f, err)
		}
	}
	if _, err := subjects.ByName("nsc-massive"); err == nil || !strings.Contains(err.Error(), "unknown format") {
		t.Fatalf("unknown format: %v", err)
	}
}

func TestWriteErrors(t *testing.T) {
	mod := func(f func(p *domain.Person)) []domain.Person { p := rossi; f(&p); return []domain.Person{p} }
	tests := []struct {
		name   string
		people []domain.Person
		want   string
	}{
		{"none", nil, "no people"},
		{"no surname", mod(func(p *domain.Person) { p.Surname = "" }), "row 2, COGNOME/NOME: empty"},
		{"bad sex", mod(func(p *domain.Person) { p.Sex = "X" }), "SESSO"},
		{"no date", mod(func(p *domain.Person) { p.BirthDate = domain.Date{} }), "DATA_NASCITA"},
		{"bad place", mod(func(p *domain.Person) { p.BirthPlaceCode = "Roma" }), "COMUNE_NASCITA"},
		{"no fiscal code", mod(func(p *domain.Person) { p.FiscalCode = "" }), "mandatory"},
		{"formula =", mod(func(p *domain.Person) { p.Surname = "=HYPERLINK(1)" }), "row 2, COGNOME: starts with"},
		{"formula +", mod(func(p *domain.Person) { p.Name = "+1" }), "NOME: starts with"},
		{"formula -", mod(func(p *domain.Person) { p.FatherName = "-2" }), "PATERNITA: starts with"},
		{"formula @", mod(func(p *domain.Person) { p.FatherName = "@SUM" }), "PATERNITA: starts with"},
		{"line break", mod(func(p *domain.Person) { p.FatherName = "A\nB" }), "line break"},
		{"second row", []domain.Person{rossi, {Surname: "X", Name: "Y", Sex: "F"}}, "row 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := subjects.Default().Write(&bytes.Buffer{}, tc.people)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "HYPERLINK") || strings.Contains(err.Error(), "RSSMRA") {
				t.Fatalf("error quotes personal data: %v", err)
			}
		})
	}
}

type failReader struct{}

func (failReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestReadErrors(t *testing.T) {
	row := "ROSSI;MARIO;M;01/01/1980;H501;;RSSMRA80A01H501U;\r\n"
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "empty file"},
		{"not utf-8", header + "ROSS\xff;MARIO;M;01/01/1980;H501;;RSSMRA80A01H501U;\r\n", "not UTF-8"},
		{"header only", header, "no people"},
		{"short header", "COGNOME;NOME\r\n" + row, "header has 2 columns"},
		{"wrong header", strings.Replace(header, "SESSO", "GENERE", 1) + row, "header column 3 is not SESSO"},
		{"bad quotes", header + "\"ROSSI;MARIO\r\n", "row 2: malformed CSV"},
		{"few columns", header + "ROSSI;MARIO;M\r\n", "row 2 has 3 columns"},
		{"no surname", header + ";MARIO;M;01/01/1980;H501;;RSSMRA80A01H501U;\r\n", "row 2, COGNOME: empty"},
		{"no name", header + "ROSSI;;M;01/01/1980;H501;;RSSMRA80A01H501U;\r\n", "NOME: empty"},
		{"bad sex", header + "ROSSI;MARIO;X;01/01/1980;H501;;RSSMRA80A01H501U;\r\n", "SESSO"},
		{"bad date", header + "ROSSI;MARIO;M;1980-01-01;H501;;RSSMRA80A01H501U;\r\n", "DATA_NASCITA"},
		{"impossible date", header + "ROSSI;MARIO;M;31/02/1980;H501;;RSSMRA80A01H501U;\r\n", "DATA_NASCITA"},
		{"both places", header + "ROSSI;MARIO;M;01/01/1980;H501;Z112;RSSMRA80A01H501U;\r\n", "both given"},
		{"no place", header + "ROSSI;MARIO;M;01/01/1980;;;RSSMRA80A01H501U;\r\n", "both empty"},
		{"bad comune", header + "ROSSI;MARIO;M;01/01/1980;Z112;;RSSMRA80A01H501U;\r\n", "COMUNE_NASCITA: not a cadastral code"},
		{"bad stato", header + "ROSSI;MARIO;M;01/01/1980;;H501;;\r\n", "STATO_NASCITA"},
		{"bad fiscal code", header + "ROSSI;MARIO;M;01/01/1980;H501;;RSS-1;\r\n", "CODICE_FISCALE: not 16"},
		{"no fiscal code", header + "ROSSI;MARIO;M;01/01/1980;H501;;;\r\n", "CODICE_FISCALE: mandatory"},
		{"formula", header + "=cmd;MARIO;M;01/01/1980;H501;;RSSMRA80A01H501U;\r\n", "COGNOME: starts with"},
		{"third row", header + row + "ROSSI;MARIO;M;01/01/1980;H501;;;\r\n", "row 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := subjects.Default().Read(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "ROSSI") || strings.Contains(err.Error(), "RSSMRA") {
				t.Fatalf("error quotes personal data: %v", err)
			}
		})
	}
	if _, err := subjects.Default().Read(failReader{}); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("reader error: %v", err)
	}
	big := strings.NewReader(header + strings.Repeat("x", subjects.MaxBytes))
	if _, err := subjects.Default().Read(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("big file: %v", err)
	}
}

func TestReadLenient(t *testing.T) {
	in := "\uFEFFcognome ; Nome;sesso;data_nascita;comune_nascita;stato_nascita;codice_fiscale;paternita\n" +
		"ROSSI;MARIO;m;01/01/1980;h501;;rssmra80a01h501u;\n\n"
	got, err := subjects.Default().Read(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !reflect.DeepEqual(got[0], rossi) {
		t.Fatalf("got %+v", got)
	}
}

func TestTooManyPeople(t *testing.T) {
	var b strings.Builder
	b.WriteString(header)
	for range subjects.MaxPeople + 1 {
		b.WriteString("ROSSI;MARIO;M;01/01/1980;H501;;RSSMRA80A01H501U;\r\n")
	}
	if _, err := subjects.Default().Read(strings.NewReader(b.String())); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("error %v", err)
	}
}

func FuzzRead(f *testing.F) {
	var b bytes.Buffer
	_ = subjects.Default().Write(&b, []domain.Person{rossi, muller, dAmico})
	f.Add(b.Bytes())
	f.Add([]byte(header))
	f.Add([]byte(header + "\"a;b\";c\r\n"))
	f.Add([]byte(header + "=1;+2;-3;@4;;;;\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		format := subjects.Default()
		people, err := format.Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		// What was read is written and read back unchanged.
		var out bytes.Buffer
		if err := format.Write(&out, people); err != nil {
			return // e.g. a cell with a line break inside quotes: Read accepts it, Write refuses it
		}
		again, err := format.Read(&out)
		if err != nil {
			t.Fatalf("re-reading what was written: %v", err)
		}
		if !reflect.DeepEqual(again, people) {
			t.Fatalf("round trip changed the people")
		}
	})
}

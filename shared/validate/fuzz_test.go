package validate

import (
	"testing"
	"unicode/utf8"
)

// FuzzRow feeds arbitrary cell text to the validator: it must not panic, a valid row
// must have a complete person, and an invalid one must say why.
func FuzzRow(f *testing.F) {
	f.Add("Rossi", "Mario", "M", "01/01/1980", "Roma", "", "")
	f.Add("=1+1", "@x", "maschio", "29221.5", "PRATO (PO)", "FI", "rssmra80a01h501u")
	f.Add("D'Angelo", "Nicolò", "f", "1980-02-30", "Germania", "RM", "XXXXXXXXXXXXXXXX")
	f.Add("", "", "", "99999999999", "Z112", "", "RSSMRA80A01H50MM")
	v := New(Options{Today: today})
	f.Fuzz(func(t *testing.T, surname, name, sex, date, place, prov, cf string) {
		r := row(2, "surname", surname, "name", name, "sex", sex, "birth_date", date, "birth_place", place, "province", prov, "fiscal_code", cf)
		got := v.Row(r)
		if got.Valid != (len(got.Errors) == 0) {
			t.Fatalf("valid=%v with errors %v", got.Valid, got.Errors)
		}
		for _, p := range got.Errors {
			if p.Message == "" || !utf8.ValidString(p.Message) {
				t.Fatalf("bad message %q for %s", p.Message, p.Field)
			}
		}
		if got.Valid {
			p := got.Person
			if p.Surname == "" || p.Name == "" || p.Sex == "" || p.BirthDate.IsZero() || p.BirthPlaceCode == "" || len(p.FiscalCode) != 16 {
				t.Fatalf("valid row with incomplete person %+v", p)
			}
		}
	})
}

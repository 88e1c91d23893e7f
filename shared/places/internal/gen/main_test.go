package main

import (
	"testing"
	"time"
)

func TestUnmojibake(t *testing.T) {
	for in, want := range map[string]string{
		"CittÃ\u00a0 della Pieve": "Città della Pieve", // Latin-1, no-break space kept
		"ContÃ":                   "Contà",             // Latin-1, no-break space trimmed away
		"Santa Maria la CaritĂ":   "Santa Maria la Carità",
		"ChÃ¢tillon":              "Châtillon",
		"Desértes":                "Desértes", // genuine Latin-1 letters stay
		"Roma":                    "Roma",
	} {
		got, changed := unmojibake(in)
		if got != want || changed != (in != want) {
			t.Errorf("unmojibake(%q) = %q, %v; want %q", in, got, changed, want)
		}
	}
}

func TestDecode(t *testing.T) {
	// H501 = 7*1000+501 = 7501 = "7ad" in base 32; Z112 = 25112 = "ogo".
	// dataSource "1" is binary 1, padded to 2 bits an entry: 00 01.
	ts := `const CITIES_COUNTRIES = {"data": [{"belfioreCode": "7adogo", "name": "Roma|Germania",
		"creationDate": "000a", "expirationDate": "0001", "provinceOrCountry": "RMDE", "dataSource": "1"}],
		"licenses": [{"name": "A"}, {"name": "B"}], "sources": []};
export default CITIES_COUNTRIES;`
	ds, err := parseTS([]byte(ts))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := decode(ds)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("%d rows", len(rows))
	}
	r := rows[0]
	epoch := time.Date(1861, 1, 1, 0, 0, 0, 0, time.UTC)
	if r.code != "H501" || r.name != "Roma" || r.prov != "RM" || r.source != 0 ||
		!r.from.Equal(epoch.AddDate(0, 0, 10)) || !r.to.Equal(epoch.AddDate(0, 0, 1)) {
		t.Errorf("row 0 = %+v", r)
	}
	r = rows[1]
	// Dates missing for an entry: from the epoch, still valid.
	if r.code != "Z112" || r.name != "Germania" || r.prov != "DE" || r.source != 1 || !r.from.Equal(epoch) || !r.to.IsZero() {
		t.Errorf("row 1 = %+v", r)
	}
}

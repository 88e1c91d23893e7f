package places

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/casellario-pec/casellario/shared/domain"
)

// TestData checks every place of the generated table.
func TestData(t *testing.T) {
	ix := Default()
	if len(ix.places) != 10063 {
		t.Errorf("%d places, want the 10063 of %s", len(ix.places), dataVersion)
	}
	var comuni, states, current int
	for i, p := range ix.places {
		if !isCode(p.Code) || p.Code != strings.ToUpper(p.Code) {
			t.Errorf("%d: bad code %q", i, p.Code)
		}
		if i > 0 && ix.places[i-1].Code >= p.Code {
			t.Errorf("%s: not sorted by code", p.Code)
		}
		if !utf8.ValidString(p.Name) || p.Name != strings.TrimSpace(p.Name) || p.Name == "" {
			t.Errorf("%s: bad name %q", p.Code, p.Name)
		}
		// Mojibake: UTF-8 read as Latin-1/Latin-2 leaves these behind.
		if strings.ContainsAny(p.Name, "ÃÂĂ\u00a0\ufffd") {
			t.Errorf("%s: mojibake in %q", p.Code, p.Name)
		}
		if p.From.IsZero() || !p.To.IsZero() && p.To.Before(p.From) {
			t.Errorf("%s: From %v To %v", p.Code, p.From, p.To)
		}
		if p.From.Before(date(1861, 1, 1)) {
			t.Errorf("%s: From %v before the data's epoch", p.Code, p.From)
		}
		if p.Foreign() {
			states++
			if p.Province != "" || p.Country != "" && !upper2(p.Country) {
				t.Errorf("%s: state with Province %q Country %q", p.Code, p.Province, p.Country)
			}
		} else {
			comuni++
			if !upper2(p.Province) || p.Country != "" {
				t.Errorf("%s: comune with Province %q Country %q", p.Code, p.Province, p.Country)
			}
		}
		if p.To.IsZero() {
			current++
		}
		if q, ok := ix.ByCode(p.Code); !ok || q != p {
			t.Errorf("ByCode(%s) = %+v, %v", p.Code, q, ok)
		}
		if q, ok := ix.ByCode(strings.ToLower(p.Code)); !ok || q != p {
			t.Errorf("ByCode(lower %s) = %+v, %v", p.Code, q, ok)
		}
		if !slices.Contains(ix.names[ix.name[i]].places, int32(i)) || ix.names[ix.name[i]].key != string(fold(nil, p.Name)) {
			t.Errorf("%s: own name entry %q", p.Code, ix.names[ix.name[i]].key)
		}
	}
	t.Logf("%d comuni, %d states, %d currently valid", comuni, states, current)
	if states != 222 || current < 8000 {
		t.Errorf("%d states, %d current", states, current)
	}
	for _, code := range []string{"", "H50", "H5011", "1501", "ZZZZ", "A000"} {
		if p, ok := ix.ByCode(code); ok {
			t.Errorf("ByCode(%q) = %+v", code, p)
		}
	}
	for _, a := range stateAliases {
		key, code := a.key, a.code
		e, ok := ix.byName[key]
		if !ok || key != string(fold(nil, key)) {
			t.Errorf("alias %q not indexed or not folded", key)
			continue
		}
		for _, p := range ix.names[e].places {
			if !ix.places[p].Foreign() {
				t.Errorf("alias %q (%s) also names comune %s", key, code, ix.places[p].Code)
			}
		}
	}
}

func upper2(s string) bool {
	return len(s) == 2 && 'A' <= s[0] && s[0] <= 'Z' && 'A' <= s[1] && s[1] <= 'Z'
}

// TestEveryPlaceResolves resolves each place by code and by name on its first day.
func TestEveryPlaceResolves(t *testing.T) {
	ix := Default()
	for _, p := range ix.places {
		r, err := ix.Resolve(p.Code, p.Province, p.From)
		if err != nil || r.Place != p || len(r.Warnings) > 0 {
			t.Errorf("Resolve(%s) = %+v %q, %v", p.Code, r.Place, r.Warnings, err)
		}
		r, err = ix.Resolve(p.Name, p.Province, p.From)
		if err != nil {
			t.Errorf("Resolve(%q, %q, %v): %v", p.Name, p.Province, p.From, err)
			continue
		}
		// A homonym of the same province may win (the newer of two on a changeover day).
		if r.Place != p && (r.Place.Province != p.Province || string(fold(nil, r.Place.Name)) != string(fold(nil, p.Name)) || !r.Place.ValidOn(p.From)) {
			t.Errorf("Resolve(%q, %q, %v) = %+v", p.Name, p.Province, p.From, r.Place)
		}
	}
}

func TestValidOn(t *testing.T) {
	p := Place{Code: "A012", From: date(1936, 7, 26), To: date(2017, 1, 1)}
	for _, c := range []struct {
		d    domain.Date
		want bool
	}{
		{date(1936, 7, 25), false}, {date(1936, 7, 26), true}, {date(2000, 2, 29), true},
		{date(2017, 1, 1), true}, {date(2017, 1, 2), false}, {domain.Date{}, true},
	} {
		if got := p.ValidOn(c.d); got != c.want {
			t.Errorf("ValidOn(%v) = %v", c.d, got)
		}
	}
	open := Place{Code: "H501", From: date(1884, 9, 11)}
	if !open.ValidOn(date(2999, 1, 1)) || open.ValidOn(date(1884, 9, 10)) {
		t.Error("open-ended place")
	}
	if open.Foreign() || !(Place{Code: "Z112"}).Foreign() {
		t.Error("Foreign")
	}
}

func TestDefaultIsShared(t *testing.T) {
	first, second := Default(), Default()
	if first != second {
		t.Error("Default() built twice")
	}
}

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"Roma":                   "roma",
		"  SANT' ANGELO  ":       "sant angelo",
		"Sant’Angelo":            "sant angelo",
		"Forlì":                  "forli",
		"FORLI'":                 "forli",
		"Forli\u0300":            "forli",
		"Reggio nell'Emilia":     "reggio nell emilia",
		"Antey-Saint-André":      "antey saint andre",
		"Isole Fær Øer":          "isole faer oer",
		"Città\u00a0della Pieve": "citta della pieve",
		"Myanmar/Birmania":       "myanmar birmania",
		"Isole Cook (NZ)":        "isole cook nz",
		"ŁÓDŹ":                   "lodz",
		"Straße":                 "strasse",
		"Œuvre×2":                "oeuvre 2",
		"Ștefănești":             "stefanesti", // comma below: Latin Extended-B, via NFD
		"Ελλάδα":                 "ελλαδα",
		"s.giovanni":             "s giovanni",
		"'-.":                    "",
		"\xff\xfeRoma":           "roma",
		"San  Giovanni\tRotondo": "san giovanni rotondo",
	} {
		if got := string(fold(nil, in)); got != want {
			t.Errorf("fold(%q) = %q, want %q", in, got, want)
		}
	}
	if len(latinBase) != 0x180-0xC0 {
		t.Fatalf("latinBase has %d entries", len(latinBase))
	}
	// fold appends: the prefix is kept and no space is added at the join.
	if got := string(fold([]byte("x|"), " Roma")); got != "x|roma" {
		t.Errorf("fold append = %q", got)
	}
}

func TestOSA(t *testing.T) {
	for _, c := range []struct {
		a, b string
		max  int
		want int
	}{
		{"prato", "prato", 2, 0}, {"parto", "prato", 2, 1}, {"prat", "prato", 2, 1},
		{"firense", "firenze", 2, 1}, {"frenze", "firenze", 2, 1}, {"abc", "xyz", 2, 3},
		{"roma", "milano", 2, 3}, {"", "ab", 2, 2},
	} {
		if got := osa(c.a, c.b, c.max); got != c.want {
			t.Errorf("osa(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestBuildRejects(t *testing.T) {
	for name, raw := range map[string]string{
		"short line":     "A001\tX\tAA\n",
		"bad code":       "AA01\tX\tAA\t18610101\n",
		"lower code":     "a001\tX\tAA\t18610101\n",
		"empty name":     "A001\t\tAA\t18610101\n",
		"bad province":   "A001\tX\tA\t18610101\n",
		"lower province": "A001\tX\taa\t18610101\n",
		"bad date":       "A001\tX\tAA\t18611301\n",
		"to before from": "A001\tX\tAA\t18610102\t18610101\n",
		"too many":       "A001\tX\tAA\t18610101\t18620101\tx\n",
		"duplicate":      "A001\tX\tAA\t18610101\nA001\tY\tAA\t18610101\n",
	} {
		if _, err := build(raw, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := build("A001\tX\tAA\t18610101\n", []alias{{"y", "Z999"}}); err == nil {
		t.Error("alias to a missing code accepted")
	}
}

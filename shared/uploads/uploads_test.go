package uploads

import (
	"strings"
	"testing"

	"github.com/casellario-pec/casellario/shared/domain"
)

func TestParseManual(t *testing.T) {
	for _, tt := range []struct {
		number, date string
		want         *domain.Protocol
		err          string
	}{
		{"", "", nil, ""},
		{"55", "2026-11-24", &domain.Protocol{Number: "0000055", Date: domain.Date{Year: 2026, Month: 11, Day: 24}}, ""},
		{" 0012345 ", "2026-01-02", &domain.Protocol{Number: "0012345", Date: domain.Date{Year: 2026, Month: 1, Day: 2}}, ""},
		{"12a", "2026-11-25", nil, "Numero di protocollo"},
		{"0", "2026-11-25", nil, "Numero di protocollo"},
		{"12", "25/11/2026", nil, "Data di protocollo"},
		{"12", "", nil, "Data di protocollo"},
	} {
		got, err := ParseManual(tt.number, tt.date)
		switch {
		case tt.err != "":
			if err == nil || !strings.Contains(domain.ErrorMessage(err), tt.err) || domain.ErrorCode(err) != domain.EINVALID {
				t.Errorf("%q %q: %v", tt.number, tt.date, err)
			}
		case err != nil || (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want):
			t.Errorf("%q %q: %+v %v", tt.number, tt.date, got, err)
		}
	}
}

func TestCleanName(t *testing.T) {
	for in, want := range map[string]string{
		"elenco marzo.csv":          "elenco marzo.csv",
		`C:\Users\anna\elenco.xlsx`: "elenco.xlsx",
		"../../etc/passwd":          "passwd",
		"a\x00b\nc.csv":             "abc.csv",
		"  spazi.csv  ":             "spazi.csv",
		strings.Repeat("à", 200):    strings.Repeat("à", 127),
	} {
		if got := cleanName(in); got != want {
			t.Errorf("cleanName(%q) = %q, want %q", in, got, want)
		}
	}
}

// A clerk's name travels in an S3 metadata header: ASCII only, and read back
// as it was.
func TestMetaValue(t *testing.T) {
	for _, name := range []string{"suap@c_g999", "Niccolò Rossi", "d'Annunzio Gabriele", "100%", "", "ŁÓDŹ 東京"} {
		v := MetaValue(name)
		for _, r := range v {
			if r <= ' ' || r > '~' {
				t.Errorf("MetaValue(%q) = %q: %q is not a header's character", name, v, r)
			}
		}
		if got := ReadMetaValue(v); got != name {
			t.Errorf("ReadMetaValue(MetaValue(%q)) = %q", name, got)
		}
	}
	// A value an office's own tool wrote, not escaped by us, is kept.
	if got := ReadMetaValue("a%zz"); got != "a%zz" {
		t.Errorf("ReadMetaValue(a%%zz) = %q", got)
	}
}

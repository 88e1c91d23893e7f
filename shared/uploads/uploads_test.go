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

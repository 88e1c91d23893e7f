// Package reply reads the Procura's replies: it finds the protocol number of
// our request quoted in a reply (configurable regular expressions), extracts
// the text of PDF certificates page by page, tells which person of a batch a
// certificate (or a page of a merged certificate) is about, what its outcome
// is, whether a reply without certificates is a refusal, and splits merged
// PDFs into one PDF per person.
//
// Nothing here logs, and errors never quote the texts they read: the texts
// name people.
package reply

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
)

// DefaultProtocolPatterns find the quoted protocol number in the forms seen
// in replies: "prot. n. 0012345/2026", "protocollo n. 12345 del 25/11/2026",
// "Rif. Vs. prot. 12345 del 25.11.2026", "Rif. Vs. prot. n. 0012345 del
// 25/11/2026". Named groups: numero (required), and optionally anno (year) or
// data (GG/MM/AAAA, also with '.' or '-').
var DefaultProtocolPatterns = []string{
	`(?i)\bprot(?:ocollo|\.)?\s*(?:(?:n|nr|num|numero)\.?\s*|n°\s*)?(?P<numero>[0-9]{1,12})(?:\s*/\s*(?P<anno>[0-9]{4})\b|\s+del(?:l[a'’])?\s+(?P<data>[0-9]{1,2}[./-][0-9]{1,2}[./-][0-9]{4}))?`,
}

// ProtocolRef is a protocol number found in a reply.
type ProtocolRef struct {
	Number   string      // digits as quoted (leading zeros kept)
	Year     int         // 0 when neither a year nor a date is quoted
	Date     domain.Date // zero when not quoted
	Register string      // the built-in register's code when quoted with it ("CPEC-0000012"); "" otherwise
}

// Value is the number without leading zeros (0 when unreadable).
func (r ProtocolRef) Value() int64 {
	n, _ := strconv.ParseInt(r.Number, 10, 64)
	return n
}

// Matcher finds protocol references with a tenant's patterns and the defaults.
type Matcher struct {
	res      []*regexp.Regexp
	register int // res[:register] find the built-in register's references
	code     string
}

// NewMatcher compiles, for a tenant with a built-in register of code
// builtin (none when ""), the pattern of its references ("CPEC-0000012",
// "CPEC/0000012 del 02/12/2026"), then the tenant's patterns (tenants
// replies.protocol_patterns) and DefaultProtocolPatterns, which find the
// general register's numbers. A pattern either names its groups (numero,
// and optionally anno or data) or has the number in its first group.
func NewMatcher(patterns []string, builtin string) (*Matcher, error) {
	m := &Matcher{code: builtin}
	var all []string
	if builtin != "" {
		all = append(all, `(?i)(?:^|[^A-Za-z0-9_.])`+regexp.QuoteMeta(builtin)+`\s*[-/]\s*(?P<numero>[0-9]{1,12})`+
			`(?:\s*/\s*(?P<anno>[0-9]{4})\b|\s+del(?:l[a'’])?\s+(?P<data>[0-9]{1,2}[./-][0-9]{1,2}[./-][0-9]{4}))?`)
		m.register = 1
	}
	all = append(append(all, patterns...), DefaultProtocolPatterns...)
	for i, p := range all {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("reply: protocol pattern %d: %w", i, err)
		}
		if re.NumSubexp() < 1 {
			return nil, fmt.Errorf("reply: protocol pattern %d has no group for the number", i)
		}
		m.res = append(m.res, re)
	}
	return m, nil
}

// Find returns the distinct protocol references in texts, in order of
// appearance (the tenant's patterns first).
func (m *Matcher) Find(texts ...string) []ProtocolRef {
	var out []ProtocolRef
	seen := map[string]bool{}
	for i, re := range m.res {
		num, anno, data := re.SubexpIndex("numero"), re.SubexpIndex("anno"), re.SubexpIndex("data")
		if num < 0 {
			num = 1
		}
		for _, text := range texts {
			for _, sm := range re.FindAllStringSubmatch(text, -1) {
				r := ProtocolRef{Number: sm[num]}
				if i < m.register {
					r.Register = m.code
				}
				if r.Value() <= 0 {
					continue
				}
				if anno > 0 && sm[anno] != "" {
					r.Year, _ = strconv.Atoi(sm[anno])
				}
				if data > 0 && sm[data] != "" {
					if d, ok := parseDate(sm[data]); ok {
						r.Date, r.Year = d, d.Year
					}
				}
				k := fmt.Sprintf("%s/%d/%d", r.Register, r.Value(), r.Year)
				if seen[k] {
					continue
				}
				seen[k] = true
				out = append(out, r)
			}
		}
	}
	// A reference without a year adds nothing when the same number was also
	// found with one.
	var kept []ProtocolRef
	for _, r := range out {
		if r.Year == 0 {
			dup := false
			for _, o := range out {
				if o.Year != 0 && o.Value() == r.Value() && o.Register == r.Register {
					dup = true
				}
			}
			if dup {
				continue
			}
		}
		kept = append(kept, r)
	}
	return kept
}

func parseDate(s string) (domain.Date, bool) {
	s = strings.NewReplacer(".", "/", "-", "/").Replace(s)
	t, err := time.Parse("2/1/2006", s)
	if err != nil {
		return domain.Date{}, false
	}
	return domain.DateOf(t), true
}

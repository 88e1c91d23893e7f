package validate

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/casellario-pec/casellario/shared/cells"
	"github.com/casellario-pec/casellario/shared/domain"
)

// normalizeName checks a surname, name or father's name and returns it as the Procura
// and the codice fiscale want it: upper case, single spaces, typographic apostrophes
// made plain. It refuses digits and anything else that is not part of a name, and a
// start a spreadsheet reads as a formula (shared/cells), so that none reaches a file
// we write later.
// label is the Italian name of the field, for the message.
func normalizeName(s, label string) (string, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", label + " mancante"
	}
	if cells.Unsafe(s) {
		return "", label + ": non può iniziare con " + s[:1]
	}
	// Fast path: plain ASCII letters and single spaces, the common case.
	simple, hasLetter := true, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		isLetter := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
		hasLetter = hasLetter || isLetter
		if !isLetter && !(c == ' ' && s[i-1] != ' ') && c != '\'' {
			simple = false
			break
		}
	}
	if simple && hasLetter {
		return strings.ToUpper(s), ""
	}
	var b strings.Builder
	b.Grow(len(s))
	space, letters := false, 0
	var bad []rune
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			bad = appendUnique(bad, '?')
		case unicode.IsLetter(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			letters++
			b.WriteRune(unicode.ToUpper(r))
		case unicode.IsSpace(r):
			space = true
		case r == '\'' || r == '’' || r == '‘' || r == '`' || r == '´':
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteByte('\'')
		case r == '-' || r == '‐' || r == '–':
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteByte('-')
		case unicode.Is(unicode.Mn, r): // a combining accent typed after its letter
			b.WriteRune(r)
		default:
			bad = appendUnique(bad, r)
		}
	}
	if len(bad) > 0 {
		return "", label + ": contiene caratteri non ammessi (" + quoteRunes(bad) + "); sono ammessi lettere, spazi, apostrofi e trattini"
	}
	if letters == 0 {
		return "", label + " mancante"
	}
	if out := b.String(); out[0] == '-' {
		// A typographic dash becomes '-' above: refuse it here too, so that no
		// name a spreadsheet would read as a formula reaches the subjects file.
		return "", label + ": non può iniziare con un trattino"
	}
	return b.String(), ""
}

func appendUnique(rs []rune, r rune) []rune {
	for _, x := range rs {
		if x == r {
			return rs
		}
	}
	return append(rs, r)
}

func quoteRunes(rs []rune) string {
	parts := make([]string, 0, len(rs))
	for _, r := range rs {
		switch {
		case unicode.IsDigit(r):
			parts = append(parts, "cifre")
		case unicode.IsPrint(r):
			parts = append(parts, "«"+string(r)+"»")
		default:
			parts = append(parts, "caratteri non stampabili")
		}
	}
	// "cifre" may repeat for several digits; keep the first of each.
	seen := map[string]bool{}
	out := parts[:0]
	for _, p := range parts {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return strings.Join(out, ", ")
}

// parseSex accepts M/F in any case and the Italian words.
func parseSex(s string) (domain.Sex, string) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "M", "MASCHIO", "MASCHILE", "UOMO":
		return domain.Male, ""
	case "F", "FEMMINA", "FEMMINILE", "DONNA":
		return domain.Female, ""
	case "":
		return "", "Sesso mancante"
	}
	return "", "Sesso non valido: indicare M o F"
}

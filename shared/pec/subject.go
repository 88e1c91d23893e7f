package pec

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// listPrefixes are reply and forward markers that mailing lists and mail
// programs put before a subject (Italian and English).
var listPrefixes = []string{"R:", "RE:", "I:", "FW:", "FWD:", "TR:", "RIF:", "AW:", "WG:"}

// subjectsMatch reports whether a Subject header and daticert oggetto are the
// same text once both are normalised: RFC 2047 decoded, Unicode NFC, white
// space folded, provider and list prefixes removed; and where a provider
// transcoded the header to a charset that lacks a character, the '?' (or
// U+FFFD) it wrote for it matches that character.
func subjectsMatch(header, oggetto string) bool {
	a, b := normSubject(header), normSubject(oggetto)
	if a == b {
		return true
	}
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 1000 || len(rb) > 1000 {
		return false
	}
	return wildMatch(ra, rb) || wildMatch(rb, ra)
}

func normSubject(s string) string {
	s = decodeText(s)
	s = norm.NFC.String(s)
	s = strings.Join(strings.Fields(s), " ")
	for {
		t := stripOneSubjectPrefix(s)
		if t == s {
			return s
		}
		s = t
	}
}

func stripOneSubjectPrefix(s string) string {
	for _, p := range providerPrefixes {
		p = strings.TrimSpace(p)
		if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
			return strings.TrimSpace(s[len(p):])
		}
	}
	for _, p := range listPrefixes {
		if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
			return strings.TrimSpace(s[len(p):])
		}
	}
	if strings.HasPrefix(s, "[") {
		if j := strings.IndexByte(s, ']'); j > 0 && j < 80 {
			return strings.TrimSpace(s[j+1:])
		}
	}
	return s
}

func isPlaceholder(r rune) bool { return r == '?' || r == utf8.RuneError }

// wildMatch reports whether a matches b when each run of placeholders in a
// may stand for one non-ASCII character of b (one placeholder per byte of its
// UTF-8 form at most, as some transcoders write one per byte).
func wildMatch(a, b []rune) bool {
	n, m := len(a), len(b)
	// reach[i][j]: a[:i] matches b[:j].
	reach := make([][]bool, n+1)
	for i := range reach {
		reach[i] = make([]bool, m+1)
	}
	reach[0][0] = true
	for i := 0; i <= n; i++ {
		for j := 0; j <= m; j++ {
			if !reach[i][j] || i == n || j == m {
				continue
			}
			if a[i] == b[j] {
				reach[i+1][j+1] = true
			}
			if isPlaceholder(a[i]) && b[j] >= utf8.RuneSelf {
				for k := 1; k <= utf8.RuneLen(b[j]) && i+k <= n && isPlaceholder(a[i+k-1]); k++ {
					reach[i+k][j+1] = true
				}
			}
		}
	}
	return reach[n][m]
}

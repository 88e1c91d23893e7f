package pdf

import (
	"strings"
	"unicode/utf8"
)

// nameText maps a glyph name to its text, following the Adobe Glyph List
// rules: a known name, uniXXXX (several groups allowed), uXXXX to uXXXXXX,
// a suffix after a period ignored ("a.sc"), components joined by
// underscores ("f_f_i"). Unknown names give "".
func nameText(n string) string {
	if i := strings.IndexByte(n, '.'); i >= 0 {
		n = n[:i]
	}
	if strings.IndexByte(n, '_') >= 0 {
		var b strings.Builder
		for part := range strings.SplitSeq(n, "_") {
			if b.Len() > maxCMapDest {
				break
			}
			b.WriteString(componentText(part))
		}
		return b.String()
	}
	return componentText(n)
}

func componentText(n string) string {
	if r, ok := glyphRunes[n]; ok {
		return string(r)
	}
	if len(n) >= 7 && (len(n)-3)%4 == 0 && strings.HasPrefix(n, "uni") {
		var b strings.Builder
		for i := 3; i < len(n) && i < 3+4*8; i += 4 {
			r, ok := hexRune(n[i : i+4])
			if !ok || r >= 0xd800 && r <= 0xdfff {
				return ""
			}
			b.WriteRune(r)
		}
		return b.String()
	}
	if len(n) >= 5 && len(n) <= 7 && n[0] == 'u' {
		if r, ok := hexRune(n[1:]); ok && utf8.ValidRune(r) {
			return string(r)
		}
	}
	return ""
}

// hexRune reads upper-case hexadecimal digits, as glyph names have them.
func hexRune(s string) (rune, bool) {
	var r rune
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

package places

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Fold returns the form names are matched in (see fold): other packages
// compare people's names the same way.
func Fold(s string) string { return string(fold(nil, s)) }

// fold appends to dst the form names are matched in: lower case, accents dropped,
// every run of other characters (apostrophes, hyphens, spaces, dots, slashes) made
// one space, none at the ends. "SANT' ANGELO", "Sant'Angelo" and "sant angelo" fold
// alike, and so do "Forli'" and "Forlì". ASCII input takes a branch-only path, so a
// caller passing a stack buffer allocates nothing.
func fold(dst []byte, s string) []byte {
	start := len(dst)
	sep := false
	emit := func(b []byte, c byte) []byte {
		if sep && len(b) > start {
			b = append(b, ' ')
		}
		sep = false
		return append(b, c)
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			case 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
			default:
				sep = true
				continue
			}
			dst = emit(dst, c)
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if 0xC0 <= r && r < 0x180 {
			i += size
			switch base := latinBase[r-0xC0]; base {
			case '_':
				sep = true
			case '*':
				for _, c := range []byte(latinPair(r)) {
					dst = emit(dst, c)
				}
			default:
				dst = emit(dst, base)
			}
			continue
		}
		switch {
		case unicode.Is(unicode.Mn, r): // combining accent of decomposed input
			i += size
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			// Other letters: drop the accent (the base letter comes first in NFD).
			if d := norm.NFD.PropertiesString(s[i:]).Decomposition(); len(d) > 0 {
				r, _ = utf8.DecodeRune(d)
			}
			if sep && len(dst) > start {
				dst = append(dst, ' ')
			}
			sep = false
			dst = utf8.AppendRune(dst, unicode.ToLower(r))
			i += size
		default: // punctuation, symbols, spaces of any kind, invalid UTF-8
			sep = true
			i += size
		}
	}
	return dst
}

// latinBase maps U+00C0..U+017F to the ASCII letter it is written with; '_' marks
// a separator (× ÷), '*' a letter written with two (see latinPair).
const latinBase = "" +
	"aaaaaa*ceeeeiiiidnooooo_ouuuuy**" + // U+00C0..U+00DF
	"aaaaaa*ceeeeiiiidnooooo_ouuuuy*y" + // U+00E0..U+00FF
	"aaaaaacccccccc" + "dddd" + "eeeeeeeeee" + "gggggggg" + "hhhh" + "iiiiiiiiii" + "**" + "jj" + "kkk" +
	"llllllllll" + "nnnnnnnnn" + "oooooo" + "**" + "rrrrrr" + "ssssssss" + "tttttt" + "uuuuuuuuuuuu" +
	"ww" + "yyy" + "zzzzzz" + "s" // U+0100..U+017F

func latinPair(r rune) string {
	switch r {
	case 'Æ', 'æ':
		return "ae"
	case 'Þ', 'þ':
		return "th"
	case 'ß':
		return "ss"
	case 'Ĳ', 'ĳ':
		return "ij"
	default: // Œ œ
		return "oe"
	}
}

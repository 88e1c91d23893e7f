package namelist

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// cp1252 maps bytes 0x80–0xFF to runes (Excel "CSV (separato da virgole)"
// in Italy writes Windows-1252).
var cp1252 = func() (t [128]rune) {
	for i := range t {
		t[i] = charmap.Windows1252.DecodeByte(byte(0x80 + i))
	}
	return
}()

// decodeText returns the text as UTF-8 with the encoding detected, and an
// optional warning for the header.
func decodeText(data []byte) (text []byte, enc, warn string, err *ReadError) {
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		data = data[3:]
		if bytes.IndexByte(data, 0) >= 0 {
			return nil, "", "", binaryErr()
		}
		if utf8.Valid(data) {
			return data, "utf-8-bom", "", nil
		}
		// A UTF-8 file with stray single bytes: often rows pasted from a
		// Windows-1252 file. Keep the UTF-8 and read the stray bytes as 1252.
		return mixedToUTF8(data), "utf-8-bom", "Alcuni caratteri del file non erano in UTF-8 e sono stati letti come Windows-1252: controllare le lettere accentate.", nil
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		return utf16ToUTF8(data[2:], false), "utf-16le", "", nil
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		return utf16ToUTF8(data[2:], true), "utf-16be", "", nil
	}
	if bytes.IndexByte(data, 0) >= 0 {
		if looksUTF16(data) {
			return nil, "", "", readErr(CodeEncoding, nil, "Il file è in formato Unicode (UTF-16) senza indicazione della codifica: salvarlo da Excel come «CSV UTF-8 (delimitato da virgole)».")
		}
		return nil, "", "", binaryErr()
	}
	if utf8.Valid(data) {
		return data, "utf-8", "", nil
	}
	return cp1252ToUTF8(data), "windows-1252", "", nil
}

func binaryErr() *ReadError {
	return readErr(CodeUnsupported, nil, "Il file non è un testo (contiene caratteri binari): caricare un foglio Excel (.xlsx) o un file CSV.")
}

// looksUTF16 reports text written as UTF-16 without a byte-order mark:
// mostly ASCII, so every other byte is zero.
func looksUTF16(b []byte) bool {
	if len(b) > 512 {
		b = b[:512]
	}
	zeroEven, zeroOdd := 0, 0
	for i, c := range b {
		if c == 0 {
			if i%2 == 0 {
				zeroEven++
			} else {
				zeroOdd++
			}
		}
	}
	half := len(b) / 2
	return half > 0 && (zeroEven*10 >= half*8 || zeroOdd*10 >= half*8)
}

func cp1252ToUTF8(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/8)
	for len(b) > 0 {
		// Copy ASCII runs at once: most of a list is ASCII.
		i := 0
		for i < len(b) && b[i] < 0x80 {
			i++
		}
		out = append(out, b[:i]...)
		if i == len(b) {
			break
		}
		out = utf8.AppendRune(out, cp1252[b[i]-0x80])
		b = b[i+1:]
	}
	return out
}

func mixedToUTF8(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/8)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			out = utf8.AppendRune(out, cp1252[b[0]-0x80])
			b = b[1:]
			continue
		}
		out = append(out, b[:n]...)
		b = b[n:]
	}
	return out
}

func utf16ToUTF8(b []byte, bigEndian bool) []byte {
	out := make([]byte, 0, len(b)/2+len(b)/8)
	units := len(b) / 2 // an odd trailing byte is dropped
	for i := 0; i < units; i++ {
		u := rune(b[2*i]) | rune(b[2*i+1])<<8
		if bigEndian {
			u = rune(b[2*i])<<8 | rune(b[2*i+1])
		}
		if utf16.IsSurrogate(u) {
			r := utf8.RuneError
			if u < 0xDC00 && i+1 < units {
				v := rune(b[2*i+2]) | rune(b[2*i+3])<<8
				if bigEndian {
					v = rune(b[2*i+2])<<8 | rune(b[2*i+3])
				}
				if r = utf16.DecodeRune(u, v); r != utf8.RuneError {
					i++
				}
			}
			out = utf8.AppendRune(out, r)
			continue
		}
		if u == 0 {
			u = ' ' // a NUL inside UTF-16 text is noise; never let it reach values
		}
		out = utf8.AppendRune(out, u)
	}
	return out
}

// sniffDelimiter counts ';' ',' '\t' outside quotes on the first line with
// content (lines of bare separators, as Excel writes for blank rows, are
// skipped); the most frequent wins, ';' (the Italian Excel default) on ties.
func sniffDelimiter(text []byte) rune {
	var semi, comma, tab int
	inQuotes, content := false, false
	for _, c := range text {
		if c == '"' {
			inQuotes = !inQuotes
			content = true
			continue
		}
		if inQuotes {
			continue
		}
		switch c {
		case ';':
			semi++
		case ',':
			comma++
		case '\t':
			tab++
		case ' ', '\r':
		case '\n':
			if content {
				return pickDelimiter(semi, comma, tab)
			}
			semi, comma, tab = 0, 0, 0
		default:
			content = true
		}
	}
	return pickDelimiter(semi, comma, tab)
}

func pickDelimiter(semi, comma, tab int) rune {
	switch {
	case tab > semi && tab >= comma:
		return '\t'
	case comma > semi && comma > tab:
		return ','
	}
	return ';'
}

// readCSV reads decoded UTF-8 text.
func readCSV(text []byte, enc string, opts Options, fn func(Row) error) (Header, error) {
	h := Header{Format: FormatCSV, Encoding: enc}
	// Excel may write a first line "sep=;" naming the delimiter; Excel hides
	// it, so the rows the clerk sees are numbered without it.
	var delim rune
	if len(text) >= 5 && (bytes.HasPrefix(text, []byte("sep=")) || bytes.HasPrefix(text, []byte("SEP="))) {
		line := text[4:]
		if i := bytes.IndexAny(line, "\r\n"); i >= 0 {
			line = line[:i]
		}
		if r, n := utf8.DecodeRune(line); n == len(line) && validDelim(r) {
			delim = r
			text = text[4+len(line):]
			text = bytes.TrimPrefix(text, []byte("\r"))
			text = bytes.TrimPrefix(text, []byte("\n"))
		}
	}
	// Old Mac Excel ends lines with a bare CR, which encoding/csv does not
	// treat as a line end.
	if bytes.IndexByte(text, '\n') < 0 && bytes.IndexByte(text, '\r') >= 0 {
		text = bytes.ReplaceAll(text, []byte("\r"), []byte("\n"))
	}
	if delim == 0 {
		delim = sniffDelimiter(text)
	}
	h.Delimiter = delim

	cr := csv.NewReader(bytes.NewReader(text))
	cr.Comma = delim
	cr.LazyQuotes = true
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	// Leading spaces before an opening quote would otherwise make the quote
	// literal; with a tab delimiter trimming would swallow empty cells. Only
	// when needed: it costs ~10% of the parse.
	cr.TrimLeadingSpace = delim != '\t' && (bytes.Contains(text, []byte(" \"")) || bytes.Contains(text, []byte("\t\"")))

	var m *mapper
	rowNum := 0   // spreadsheet row of the last record
	lineEnd := 0  // lines consumed before the next record
	var off int64 // input offset after the last record
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return h, readErr(CodeCorrupt, err, "Il file CSV non è leggibile alla riga %d.", pe.StartLine)
			}
			return h, readErr(CodeCorrupt, err, "Il file CSV non è leggibile.")
		}
		// Row number as Excel shows it: blank lines count, a quoted
		// multi-line cell does not add rows.
		start, _ := cr.FieldPos(0)
		rowNum += start - lineEnd
		newOff := cr.InputOffset()
		lineEnd += bytes.Count(text[off:newOff], nl)
		off = newOff
		if m == nil {
			if allBlank(rec) {
				continue
			}
			h.HeaderRow = rowNum
			if m, err = buildHeader(&h, rec, rowNum); err != nil {
				return h, err
			}
			m.csv = true
			m.maxRows = opts.MaxRows
			continue
		}
		r, ok := m.row(rowNum, rec)
		if !ok {
			continue
		}
		if err := m.emit(r, fn); err != nil {
			return h, err
		}
	}
	if m == nil {
		return h, noHeaderEmpty()
	}
	return h, nil
}

var nl = []byte{'\n'}

func validDelim(r rune) bool {
	return r != '"' && r != '\r' && r != '\n' && r != utf8.RuneError && r != 0
}

func allBlank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

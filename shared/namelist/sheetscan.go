package namelist

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A dedicated SpreadsheetML scanner. excelize's Rows iterator decodes every
// cell through encoding/xml and reflection (~200 allocations and ~45 µs per
// 9-cell row), far from the 100k rows/s goal; this scanner reads the same
// parts with byte searches and one allocation per row. It only handles what
// it understands: anything unexpected before the first row is delivered
// sends the file to the excelize path (readXLSX), which stays the reference.

// errFallback asks readXLSX to use excelize instead.
var errFallback = errors.New("namelist: fall back to excelize")

const (
	maxXLSXCols  = 16384    // Excel's last column, XFD
	maxTokenSize = 32 << 20 // no tag or text run in a sheet is this long
)

// xmlScan tokenizes an XML stream in a sliding buffer; token bytes are valid
// until the next call.
type xmlScan struct {
	r        io.Reader
	buf      []byte
	pos, end int
	eof      bool
	err      error
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokStart
	tokEnd
	tokSelf // <x/>
	tokText
)

func newXMLScan(r io.Reader) *xmlScan {
	return &xmlScan{r: r, buf: make([]byte, 256<<10)}
}

// fill reads more input, keeping buf[pos:end]; false when nothing more.
func (s *xmlScan) fill() bool {
	if s.eof {
		return false
	}
	if s.pos > 0 {
		s.end = copy(s.buf, s.buf[s.pos:s.end])
		s.pos = 0
	}
	if s.end == len(s.buf) {
		if len(s.buf) >= maxTokenSize {
			s.err = errors.New("xml token too long")
			s.eof = true
			return false
		}
		s.buf = append(s.buf, make([]byte, len(s.buf))...)
	}
	n, err := s.r.Read(s.buf[s.end:])
	s.end += n
	if err != nil {
		s.eof = true
		if err != io.EOF {
			s.err = err
		}
	}
	return n > 0 || !s.eof
}

// next returns the next token: for tags the local name (prefix dropped) and
// the raw attributes; for text the raw text (entities not decoded).
func (s *xmlScan) next() (kind tokKind, name, attrs, text []byte) {
	for {
		if s.pos >= s.end && !s.fill() {
			return tokEOF, nil, nil, nil
		}
		if s.buf[s.pos] != '<' {
			i := bytes.IndexByte(s.buf[s.pos:s.end], '<')
			for i < 0 && !s.eof {
				off := s.end - s.pos
				if !s.fill() {
					break
				}
				if j := bytes.IndexByte(s.buf[s.pos+off:s.end], '<'); j >= 0 {
					i = off + j
				}
			}
			if i < 0 {
				i = s.end - s.pos
			}
			text = s.buf[s.pos : s.pos+i]
			s.pos += i
			return tokText, nil, nil, text
		}
		// A tag: find its end, honouring quotes ('>' may appear in attributes).
		i, quote := s.pos+1, byte(0)
		special := false
		for {
			if i >= s.end {
				off := i - s.pos
				if !s.fill() {
					s.err = errors.New("unterminated tag")
					return tokEOF, nil, nil, nil
				}
				i = s.pos + off
				continue
			}
			if i == s.pos+1 && (s.buf[i] == '!' || s.buf[i] == '?') {
				special = true
				break
			}
			c := s.buf[i]
			if quote != 0 {
				if c == quote {
					quote = 0
				}
			} else if c == '"' || c == '\'' {
				quote = c
			} else if c == '>' {
				break
			}
			i++
		}
		if special {
			if t, ok := s.special(); ok {
				return tokText, nil, nil, t
			}
			if s.err != nil {
				return tokEOF, nil, nil, nil
			}
			continue
		}
		tag := s.buf[s.pos+1 : i]
		s.pos = i + 1
		kind = tokStart
		if len(tag) > 0 && tag[0] == '/' {
			kind, tag = tokEnd, tag[1:]
		} else if len(tag) > 0 && tag[len(tag)-1] == '/' {
			kind, tag = tokSelf, tag[:len(tag)-1]
		}
		n := 0
		for n < len(tag) && !isXMLSpace(tag[n]) {
			n++
		}
		name, attrs = tag[:n], tag[n:]
		if c := bytes.LastIndexByte(name, ':'); c >= 0 {
			name = name[c+1:]
		}
		return kind, name, attrs, nil
	}
}

// special consumes <!-- -->, <?...?>, <!DOCTYPE...> (skipped) and CDATA
// (returned as text). s.pos is at '<'.
func (s *xmlScan) special() ([]byte, bool) {
	var open, closer string
	for _, p := range [][2]string{{"<![CDATA[", "]]>"}, {"<!--", "-->"}, {"<?", "?>"}, {"<!", ">"}} {
		for s.end-s.pos < len(p[0]) && s.fill() {
		}
		if bytes.HasPrefix(s.buf[s.pos:s.end], []byte(p[0])) {
			open, closer = p[0], p[1]
			break
		}
	}
	if open == "" {
		s.err = errors.New("bad markup")
		return nil, false
	}
	from := len(open)
	for {
		if j := bytes.Index(s.buf[s.pos+from:s.end], []byte(closer)); j >= 0 {
			body := s.buf[s.pos+len(open) : s.pos+from+j]
			s.pos += from + j + len(closer)
			return body, open == "<![CDATA["
		}
		from = max(len(open), s.end-s.pos-len(closer))
		if !s.fill() {
			s.err = errors.New("unterminated markup")
			return nil, false
		}
	}
}

// attr returns the value of the unprefixed attribute name in raw attributes.
func attr(attrs []byte, name string) ([]byte, bool) {
	for len(attrs) > 0 {
		eq := bytes.IndexByte(attrs, '=')
		if eq < 0 {
			return nil, false
		}
		key := trimXMLSpace(attrs[:eq])
		rest := trimXMLSpace(attrs[eq+1:])
		if len(rest) == 0 || (rest[0] != '"' && rest[0] != '\'') {
			return nil, false
		}
		end := bytes.IndexByte(rest[1:], rest[0])
		if end < 0 {
			return nil, false
		}
		if string(key) == name {
			return rest[1 : 1+end], true
		}
		attrs = rest[2+end:]
	}
	return nil, false
}

func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func trimXMLSpace(b []byte) []byte {
	for len(b) > 0 && isXMLSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isXMLSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// appendText appends XML text with entities decoded; ooxml additionally
// decodes Excel's _xHHHH_ escapes (e.g. _x000D_), as excelize does for strings.
func appendText(dst, src []byte, ooxml bool) []byte {
	if bytes.IndexByte(src, '&') < 0 && (!ooxml || !bytes.Contains(src, []byte("_x"))) {
		return append(dst, src...)
	}
	for len(src) > 0 {
		c := src[0]
		if c == '&' {
			if semi := bytes.IndexByte(src[:min(len(src), 12)], ';'); semi > 0 {
				if r, ok := entity(src[1:semi]); ok {
					dst = utf8.AppendRune(dst, r)
					src = src[semi+1:]
					continue
				}
			}
		}
		if ooxml && c == '_' && len(src) >= 7 && src[1] == 'x' && src[6] == '_' {
			if v, err := strconv.ParseUint(string(src[2:6]), 16, 16); err == nil {
				dst = utf8.AppendRune(dst, rune(v))
				src = src[7:]
				continue
			}
		}
		dst = append(dst, c)
		src = src[1:]
	}
	return dst
}

func entity(e []byte) (rune, bool) {
	switch string(e) {
	case "amp":
		return '&', true
	case "lt":
		return '<', true
	case "gt":
		return '>', true
	case "quot":
		return '"', true
	case "apos":
		return '\'', true
	}
	if len(e) > 1 && e[0] == '#' {
		var v uint64
		var err error
		if e[1] == 'x' || e[1] == 'X' {
			v, err = strconv.ParseUint(string(e[2:]), 16, 32)
		} else {
			v, err = strconv.ParseUint(string(e[1:]), 10, 32)
		}
		if err == nil && utf8.ValidRune(rune(v)) {
			return rune(v), true
		}
	}
	return 0, false
}

// workbook parts, resolved from xl/workbook.xml and its relationships.
type wbInfo struct {
	sheets     []string          // names in workbook order
	sheetPaths map[string]string // name → part path
	sst        string            // shared strings part, "" if none
}

func zipFile(zr *zip.Reader, name string) *zip.File {
	for _, f := range zr.File {
		if strings.EqualFold(strings.ReplaceAll(f.Name, "\\", "/"), name) {
			return f
		}
	}
	return nil
}

func readPart(zr *zip.Reader, name string) ([]byte, error) {
	f := zipFile(zr, name)
	if f == nil {
		return nil, errFallback
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func readWorkbook(zr *zip.Reader) (*wbInfo, error) {
	wbXML, err := readPart(zr, "xl/workbook.xml")
	if err != nil {
		return nil, errFallback
	}
	relsXML, err := readPart(zr, "xl/_rels/workbook.xml.rels")
	if err != nil {
		return nil, errFallback
	}
	var wb struct {
		Sheets []struct {
			Name  string     `xml:"name,attr"`
			Attrs []xml.Attr `xml:",any,attr"`
		} `xml:"sheets>sheet"`
	}
	var rels struct {
		Rel []struct {
			ID     string `xml:"Id,attr"`
			Type   string `xml:"Type,attr"`
			Target string `xml:"Target,attr"`
		} `xml:"Relationship"`
	}
	if xml.Unmarshal(wbXML, &wb) != nil || xml.Unmarshal(relsXML, &rels) != nil || len(wb.Sheets) == 0 {
		return nil, errFallback
	}
	target := func(t string) string {
		if strings.HasPrefix(t, "/") {
			return strings.TrimPrefix(t, "/")
		}
		return path.Clean("xl/" + t)
	}
	info := &wbInfo{sheetPaths: map[string]string{}}
	byID := map[string]string{}
	for _, r := range rels.Rel {
		byID[r.ID] = target(r.Target)
		if strings.HasSuffix(r.Type, "/sharedStrings") {
			info.sst = target(r.Target)
		}
	}
	for _, s := range wb.Sheets {
		var p string
		for _, a := range s.Attrs {
			if a.Name.Local == "id" && a.Name.Space != "" {
				p = byID[a.Value]
			}
		}
		if p == "" || zipFile(zr, p) == nil {
			return nil, errFallback // e.g. a chart sheet or a broken link: let excelize judge
		}
		info.sheets = append(info.sheets, s.Name)
		info.sheetPaths[s.Name] = p
	}
	return info, nil
}

// readSST loads the shared-string table: the text of each <si>, phonetic
// runs (<rPh>) excluded.
func readSST(zr *zip.Reader, name string) ([]string, error) {
	f := zipFile(zr, name)
	if f == nil {
		return nil, nil
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	s := newXMLScan(rc)
	var out []string
	var cur []byte
	inSI, inT, rph := false, false, 0
	for {
		kind, name, _, text := s.next()
		switch kind {
		case tokEOF:
			if s.err != nil {
				return nil, s.err
			}
			return out, nil
		case tokStart, tokSelf:
			switch string(name) {
			case "si":
				if kind == tokSelf {
					out = append(out, "")
					continue
				}
				inSI, cur = true, cur[:0]
			case "t":
				inT = kind == tokStart
			case "rPh":
				if kind == tokStart {
					rph++
				}
			}
		case tokEnd:
			switch string(name) {
			case "si":
				if inSI {
					out = append(out, string(cur))
				}
				inSI = false
			case "t":
				inT = false
			case "rPh":
				rph = max(rph-1, 0)
			}
		case tokText:
			if inSI && inT && rph == 0 {
				cur = appendText(cur, text, true)
			}
		}
	}
}

// colIndex parses the letters of a cell reference ("AB12" → 27, 0-based).
func colIndex(ref []byte) (int, bool) {
	col := 0
	i := 0
	for ; i < len(ref); i++ {
		c := ref[i] | 0x20
		if c < 'a' || c > 'z' {
			break
		}
		col = col*26 + int(c-'a'+1)
		if col > maxXLSXCols {
			return 0, false
		}
	}
	if i == 0 {
		return 0, false
	}
	return col - 1, true
}

// scanSheet streams a worksheet part, calling row with the real row number
// and the cells (dense up to width columns, further non-empty cells appended
// after; width < 0 means fully dense). row returns the width to use next.
func scanSheet(r io.Reader, sst []string, width int, row func(num int, cells []string) (int, error)) error {
	s := newXMLScan(r)
	var (
		rowNum, col, nextCol int
		cellType             []byte
		typ                  string
		inV, inIS, inT       bool
		rph                  int
		text                 []byte // current row's decoded cell text
		spans                []cellSpan
		cells                []string
		hasText              bool
		start                int
		inRow                bool
	)
	endCell := func() error {
		if !hasText {
			return nil
		}
		sp := cellSpan{col: col, sst: -1, start: start, end: len(text)}
		if typ == "s" {
			idx, err := strconv.Atoi(strings.TrimSpace(string(text[start:])))
			if err != nil || idx < 0 || idx >= len(sst) {
				return errors.New("invalid shared string index")
			}
			sp.sst, text = idx, text[:start]
			sp.end = start
			if sst[idx] == "" {
				return nil
			}
		} else if sp.end == sp.start {
			// An empty value is no cell: never pad a row for it (a sheet of
			// "<c r=\"XFD1\"><v></v></c>" rows must stay cheap).
			return nil
		}
		spans = append(spans, sp)
		return nil
	}
	endRow := func() error {
		all := string(text) // one allocation per row; cells slice it
		cells = cells[:0]
		var extra []string
		for _, sp := range spans {
			v := all[sp.start:sp.end]
			if sp.sst >= 0 {
				v = sst[sp.sst]
			}
			if width >= 0 && sp.col >= width {
				extra = append(extra, v)
				continue
			}
			for len(cells) <= sp.col {
				cells = append(cells, "")
			}
			cells[sp.col] = v
		}
		if len(extra) > 0 {
			for len(cells) < width {
				cells = append(cells, "")
			}
			cells = append(cells, extra...)
		}
		var err error
		width, err = row(rowNum, cells)
		text, spans = text[:0], spans[:0]
		return err
	}
	for {
		kind, name, attrs, tx := s.next()
		switch kind {
		case tokEOF:
			if s.err != nil {
				return s.err
			}
			if inRow {
				return errors.New("unterminated row")
			}
			return nil
		case tokStart, tokSelf:
			switch string(name) {
			case "row":
				n := rowNum + 1
				if v, ok := attr(attrs, "r"); ok {
					if x, err := strconv.Atoi(string(v)); err == nil && x > rowNum && x <= 1<<20 {
						n = x
					} else if err != nil || x > 1<<20 {
						return errors.New("bad row number")
					}
				}
				rowNum, nextCol = n, 0
				inRow = kind == tokStart
				if kind == tokSelf {
					continue
				}
			case "c":
				col = nextCol
				if v, ok := attr(attrs, "r"); ok {
					c, ok := colIndex(v)
					if !ok {
						return errors.New("bad cell reference")
					}
					col = c
				}
				if col >= maxXLSXCols {
					return errors.New("too many columns")
				}
				nextCol = col + 1
				cellType, _ = attr(attrs, "t")
				switch string(cellType) { // constants: no allocation per cell
				case "s":
					typ = "s"
				case "inlineStr":
					typ = "inlineStr"
				default: // numbers, "str", "b", "e", "d": the raw <v> text
					typ = "n"
				}
				hasText, start = false, len(text)
				inV, inIS, inT, rph = false, false, false, 0
				if kind == tokSelf {
					continue
				}
			case "v":
				inV = kind == tokStart && !inIS
				if inV && typ != "inlineStr" {
					hasText, start = true, len(text)
				}
			case "is":
				inIS = kind == tokStart
				if typ == "inlineStr" {
					hasText, start = true, len(text)
				}
			case "t":
				inT = kind == tokStart && inIS
			case "rPh":
				if kind == tokStart {
					rph++
				}
			}
		case tokEnd:
			switch string(name) {
			case "row":
				if inRow {
					if err := endRow(); err != nil {
						return err
					}
				}
				inRow = false
			case "c":
				if err := endCell(); err != nil {
					return err
				}
				hasText = false
			case "v":
				inV = false
			case "is":
				inIS = false
			case "t":
				inT = false
			case "rPh":
				rph = max(rph-1, 0)
			}
		case tokText:
			switch {
			case inV && typ != "inlineStr":
				text = appendText(text, tx, false)
			case inIS && inT && rph == 0 && typ == "inlineStr":
				text = appendText(text, tx, true)
			}
		}
	}
}

type cellSpan struct {
	col, sst   int
	start, end int
}

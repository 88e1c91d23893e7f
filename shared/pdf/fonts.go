package pdf

import (
	"math"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

// Fonts: how the bytes of a shown string split into character codes, what
// text each code is, and how far each code moves the pen (needed to tell
// where words and lines end).

type font struct {
	composite bool
	enc       *[256]string // simple fonts: code -> text by encoding and /Differences
	toUni     *cmap        // /ToUnicode, which wins over the encoding
	codes     *cmap        // composite fonts: codespace and CIDs; nil for Identity
	// Widths, in text space units for a font size of 1.
	first   int
	widths  []float64
	missing float64
	dw      float64
	cidW    []cidWidth // sorted by lo
}

type cidWidth struct {
	lo, hi uint32
	w      float64   // width of every CID in lo..hi
	ws     []float64 // or one width each from lo
}

// encodingText is the text of every code of the base encodings, made once.
var encodingText = func() map[*[256]rune]*[256]string {
	m := map[*[256]rune]*[256]string{}
	for _, enc := range []*[256]rune{&standardEncoding, &winAnsiEncoding, &macRomanEncoding} {
		var t [256]string
		for c, r := range enc {
			if r != 0 {
				t[c] = string(r)
			}
		}
		m[enc] = &t
	}
	return m
}()

var winAnsiCode = func() map[rune]byte {
	m := map[rune]byte{}
	for c := 255; c >= 32; c-- {
		if r := winAnsiEncoding[c]; r != 0 {
			m[r] = byte(c)
		}
	}
	return m
}()

// loadFont reads a font dictionary. A font that cannot be read entirely
// still gives what it can: a missing ToUnicode or width array only loses
// text or spacing.
func (d *doc) loadFont(fo object) (*font, error) {
	fd, err := d.dictOf(fo)
	if err != nil || fd == nil {
		return nil, err
	}
	f := &font{}
	if tu := fd["ToUnicode"]; tu != nil {
		if f.toUni, err = d.loadCMap(tu); err != nil {
			return nil, err
		}
	}
	if err := d.b.value(4); err != nil { // the font itself
		return nil, err
	}
	if fd["Subtype"] == name("Type0") {
		return f, d.loadComposite(f, fd)
	}
	return f, d.loadSimple(f, fd)
}

// loadCMap decodes and parses a CMap stream; a broken one is no CMap.
func (d *doc) loadCMap(o object) (*cmap, error) {
	v, err := d.resolveOK(o)
	if err != nil {
		return nil, err
	}
	s, ok := v.(*stream)
	if !ok {
		return nil, nil
	}
	data, err := d.decode(s)
	if err != nil {
		if fatal(err) {
			return nil, err
		}
		return nil, nil
	}
	return d.parseCMap(data)
}

func (d *doc) loadComposite(f *font, fd dict) error {
	f.composite = true
	f.dw = 1
	switch e := fd["Encoding"].(type) {
	case name:
		// Identity-H/V have two-byte codes. The other predefined CMaps are
		// not known here: the ToUnicode codespace is the best guess.
		if e != "Identity-H" && e != "Identity-V" && f.toUni != nil && len(f.toUni.spaces) > 0 {
			f.codes = &cmap{spaces: f.toUni.spaces}
		}
	default:
		cm, err := d.loadCMap(e)
		if err != nil {
			return err
		}
		if cm != nil && len(cm.spaces) > 0 {
			f.codes = cm
		}
	}
	dfs, err := d.resolveOK(fd["DescendantFonts"])
	if err != nil {
		return err
	}
	da, _ := dfs.(array)
	if len(da) == 0 {
		return nil
	}
	cf, err := d.dictOf(da[0])
	if err != nil || cf == nil {
		return err
	}
	if v, err := d.resolveOK(cf["DW"]); err != nil {
		return err
	} else if w, ok := num(v); ok {
		f.dw = w / 1000
	}
	wv, err := d.resolveOK(cf["W"])
	if err != nil {
		return err
	}
	wa, _ := wv.(array)
	for i := 0; i+1 < len(wa); {
		lo, ok := integer(wa[i])
		if !ok || lo < 0 || lo > math.MaxUint32 {
			break
		}
		if ws, ok := wa[i+1].(array); ok {
			cw := cidWidth{lo: uint32(lo), hi: uint32(lo) + uint32(len(ws)) - 1}
			for _, x := range ws {
				w, _ := num(x)
				cw.ws = append(cw.ws, w/1000)
			}
			if len(ws) > 0 {
				f.cidW = append(f.cidW, cw)
			}
			i += 2
			continue
		}
		if i+2 >= len(wa) {
			break
		}
		hi, ok1 := integer(wa[i+1])
		w, ok2 := num(wa[i+2])
		if !ok1 || !ok2 || hi < lo {
			break
		}
		hi = min(hi, math.MaxUint32)
		f.cidW = append(f.cidW, cidWidth{lo: uint32(lo), hi: uint32(hi), w: w / 1000})
		i += 3
	}
	sort.SliceStable(f.cidW, func(i, j int) bool { return f.cidW[i].lo < f.cidW[j].lo })
	return nil
}

func (d *doc) loadSimple(f *font, fd dict) error {
	base := string(subsetless(fd["BaseFont"]))
	enc := &standardEncoding
	if fd["Subtype"] == name("TrueType") {
		enc = &winAnsiEncoding
	}
	ev, err := d.resolveOK(fd["Encoding"])
	if err != nil {
		return err
	}
	var diffs array
	switch e := ev.(type) {
	case name:
		enc = baseEncoding(e, enc)
	case dict:
		if b, ok := e["BaseEncoding"].(name); ok {
			enc = baseEncoding(b, enc)
		}
		dv, err := d.resolveOK(e["Differences"])
		if err != nil {
			return err
		}
		diffs, _ = dv.(array)
	}
	// The base encodings' tables are shared; a font with /Differences has
	// its own copy, charged to MaxValues like its widths (one value for 64
	// bytes), so that many fonts cannot take much memory.
	f.enc = encodingText[enc]
	if len(diffs) > 0 {
		if err := d.b.value(64); err != nil {
			return err
		}
		own := *f.enc
		f.enc = &own
	}
	code := -1
	for _, x := range diffs {
		switch v := x.(type) {
		case int64:
			code = int(min(max(v, -1), 256))
		case name:
			if code >= 0 && code < 256 {
				f.enc[code] = nameText(string(v))
				code++
			}
		}
	}
	scale := 0.001
	if fd["Subtype"] == name("Type3") {
		if m, ok := toMatrix(fd["FontMatrix"]); ok {
			scale = m[0]
		}
	}
	wv, err := d.resolveOK(fd["Widths"])
	if err != nil {
		return err
	}
	if wa, ok := wv.(array); ok {
		f.first, _ = integer(fd["FirstChar"])
		f.first = max(0, min(f.first, 255))
		for _, x := range wa[:min(len(wa), 256)] {
			w, _ := num(x)
			f.widths = append(f.widths, w*scale)
		}
		if desc, err := d.dictOf(fd["FontDescriptor"]); err != nil {
			return err
		} else if desc != nil {
			if w, ok := num(desc["MissingWidth"]); ok {
				f.missing = w * scale
			}
		}
		return nil
	}
	// No /Widths: the metrics of a standard 14 font, else an average glyph.
	std, courier := standardWidths(base)
	switch {
	case courier:
		f.missing = 0.6
	case std == nil:
		f.missing = 0.5
	case len(diffs) == 0:
		f.widths = sharedWidths(std, enc)
	default:
		if err := d.b.value(32); err != nil {
			return err
		}
		f.widths = make([]float64, 256)
		for c := range f.widths {
			f.widths[c] = stdWidth(std, f.enc[c])
		}
	}
	return nil
}

// stdWidth is the width of the glyph for text t in a standard 14 font.
func stdWidth(std *[256]uint16, t string) float64 {
	if r, n := utf8.DecodeRuneInString(t); n > 0 && n == len(t) {
		if wc, ok := winAnsiCode[r]; ok {
			return float64(std[wc]) / 1000
		}
	}
	return 0.5
}

// sharedWidths are the widths of a standard 14 font in a base encoding,
// made once for each pair.
func sharedWidths(std *[256]uint16, enc *[256]rune) []float64 {
	key := [2]any{std, enc}
	widthsMu.Lock()
	defer widthsMu.Unlock()
	if w, ok := widthTables[key]; ok {
		return w
	}
	w := make([]float64, 256)
	for c := range w {
		w[c] = stdWidth(std, encodingText[enc][c])
	}
	widthTables[key] = w
	return w
}

var (
	widthsMu    sync.Mutex
	widthTables = map[[2]any][]float64{}
)

func baseEncoding(n name, def *[256]rune) *[256]rune {
	switch n {
	case "WinAnsiEncoding":
		return &winAnsiEncoding
	case "MacRomanEncoding":
		return &macRomanEncoding
	case "StandardEncoding":
		return &standardEncoding
	}
	return def
}

// subsetless drops the "ABCDEF+" prefix of a subset font's name.
func subsetless(o object) name {
	n, _ := o.(name)
	if len(n) > 7 && n[6] == '+' {
		return n[7:]
	}
	return n
}

var nameNoise = strings.NewReplacer(" ", "", "-", "", ",", "")

// standardWidths finds the metrics of a standard 14 font, also under the
// names Windows writers give them.
func standardWidths(base string) (*[256]uint16, bool) {
	b := strings.ToLower(nameNoise.Replace(base))
	bold := strings.Contains(b, "bold")
	italic := strings.Contains(b, "italic") || strings.Contains(b, "oblique")
	switch {
	case strings.HasPrefix(b, "courier"):
		return nil, true
	case strings.HasPrefix(b, "helvetica") || strings.HasPrefix(b, "arial"):
		if bold {
			return &helveticaBoldWidths, false
		}
		return &helveticaWidths, false
	case strings.HasPrefix(b, "times"):
		switch {
		case bold && italic:
			return &timesBoldItalicWidths, false
		case bold:
			return &timesBoldWidths, false
		case italic:
			return &timesItalicWidths, false
		}
		return &timesWidths, false
	}
	return nil, false
}

// next splits the next code off s.
func (f *font) next(s string) (code uint32, n int) {
	if !f.composite {
		return uint32(s[0]), 1
	}
	return f.codes.nextCode(s)
}

// text is what a code says.
func (f *font) text(code uint32, n int) string {
	if f.toUni != nil {
		if t, ok := f.toUni.lookupText(n, code); ok {
			return t
		}
	}
	if !f.composite && code < 256 {
		return f.enc[code]
	}
	return ""
}

// width is how far a code moves the pen, for a font size of 1.
func (f *font) width(code uint32, n int) float64 {
	if !f.composite {
		c := int(code)
		if i := c - f.first; f.widths != nil && i >= 0 && i < len(f.widths) {
			return f.widths[i]
		}
		return f.missing
	}
	cid := code
	if f.codes != nil {
		if c, ok := f.codes.lookupCID(n, code); ok {
			cid = c
		}
	}
	ws := f.cidW
	i := sort.Search(len(ws), func(i int) bool { return ws[i].lo > cid }) - 1
	if i >= 0 && cid <= ws[i].hi {
		if ws[i].ws != nil {
			return ws[i].ws[cid-ws[i].lo]
		}
		return ws[i].w
	}
	return f.dw
}

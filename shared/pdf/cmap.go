package pdf

import (
	"sort"
	"unicode/utf16"
	"unicode/utf8"
)

// CMaps: the codespace ranges that split a string into character codes, the
// ToUnicode mappings (bfchar, bfrange) and the code-to-CID mappings of
// embedded encoding CMaps (cidchar, cidrange). Ranges are kept as ranges:
// <0000> <FFFF> costs one entry, not 65536.

type codespace struct {
	n      int // bytes
	lo, hi uint32
}

type cmapRange struct {
	n      int
	lo, hi uint32
	dst    []byte   // UTF-16BE of lo (bfrange), incremented for the next codes
	dsts   []string // or one text per code (bfrange with an array)
	cid    uint32   // CID of lo (cidrange)
	hasCID bool
}

type cmap struct {
	spaces []codespace
	text   map[uint64]string // bfchar: n<<32|code -> text
	cids   map[uint64]uint32 // cidchar
	ranges []cmapRange       // sorted by n, lo
}

func codeKey(n int, code uint32) uint64 { return uint64(n)<<32 | uint64(code) }

func bytesCode(s str) (uint32, int) {
	var v uint32
	n := min(len(s), 4)
	for i := 0; i < n; i++ {
		v = v<<8 | uint32(s[i])
	}
	return v, n
}

// parseCMap reads a CMap program. Unknown operators are skipped; a syntax
// error ends the reading with what was read so far.
func (d *doc) parseCMap(data []byte) (*cmap, error) {
	cm := &cmap{text: map[uint64]string{}, cids: map[uint64]uint32{}}
	p := newParser(d.b, data, 0, false)
	var ops []object // operands since the last operator
	for {
		p.nvals = 0
		v, err := p.value(0)
		if err != nil {
			if fatal(err) {
				return nil, err
			}
			break
		}
		kw, ok := v.(keyword)
		if !ok {
			if len(ops) < 4 {
				ops = append(ops, v)
			}
			continue
		}
		ops = ops[:0]
		var end keyword
		var arity int
		switch kw {
		case "begincodespacerange":
			end, arity = "endcodespacerange", 2
		case "beginbfchar":
			end, arity = "endbfchar", 2
		case "beginbfrange":
			end, arity = "endbfrange", 3
		case "begincidchar":
			end, arity = "endcidchar", 2
		case "begincidrange":
			end, arity = "endcidrange", 3
		default:
			continue
		}
		if err := d.cmapSection(p, cm, kw, end, arity); err != nil {
			if fatal(err) {
				return nil, err
			}
			break
		}
	}
	sort.SliceStable(cm.ranges, func(i, j int) bool {
		a, b := cm.ranges[i], cm.ranges[j]
		return a.n < b.n || a.n == b.n && a.lo < b.lo
	})
	return cm, nil
}

// cmapSection reads entries of arity values up to the end keyword.
func (d *doc) cmapSection(p *parser, cm *cmap, kw, end keyword, arity int) error {
	entry := make([]object, 0, 3)
	for {
		p.nvals = 0
		v, err := p.value(1)
		if err != nil {
			return err
		}
		if k, ok := v.(keyword); ok {
			if k == end {
				return nil
			}
			return errSyntax
		}
		if err := d.b.value(1); err != nil {
			return err
		}
		entry = append(entry, v)
		if len(entry) < arity {
			continue
		}
		cm.add(kw, entry)
		entry = entry[:0]
	}
}

func (cm *cmap) add(kw keyword, e []object) {
	lo, ok := e[0].(str)
	if !ok || len(lo) == 0 {
		return
	}
	lv, n := bytesCode(lo)
	hv := lv
	if len(e) == 3 || kw == "begincodespacerange" {
		hi, ok := e[1].(str)
		if !ok || len(hi) == 0 {
			return
		}
		hv, _ = bytesCode(hi)
		if hv < lv {
			return
		}
	}
	switch kw {
	case "begincodespacerange":
		cm.spaces = append(cm.spaces, codespace{n, lv, hv})
	case "beginbfchar":
		if t, ok := cmapText(e[1]); ok {
			cm.text[codeKey(n, lv)] = t
		}
	case "begincidchar":
		if c, ok := e[1].(int64); ok && c >= 0 && c <= 0xffffffff {
			cm.cids[codeKey(n, lv)] = uint32(c)
		}
	case "beginbfrange":
		r := cmapRange{n: n, lo: lv, hi: hv}
		switch dst := e[2].(type) {
		case str:
			r.dst = []byte(dst[:min(len(dst), maxCMapDest)])
		case array:
			for _, x := range dst[:min(len(dst), int(hv-lv)+1)] {
				t, _ := cmapText(x)
				r.dsts = append(r.dsts, t)
			}
		default:
			return
		}
		cm.ranges = append(cm.ranges, r)
	case "begincidrange":
		if c, ok := e[2].(int64); ok && c >= 0 && c <= 0xffffffff {
			cm.ranges = append(cm.ranges, cmapRange{n: n, lo: lv, hi: hv, cid: uint32(c), hasCID: true})
		}
	}
}

// cmapText reads a ToUnicode destination: UTF-16BE, or a glyph name.
func cmapText(o object) (string, bool) {
	switch v := o.(type) {
	case str:
		return utf16Text([]byte(v[:min(len(v), maxCMapDest)])), true
	case name:
		return nameText(string(v)), true
	}
	return "", false
}

// utf16Text decodes UTF-16BE; a single byte, which some writers put there,
// is taken as Latin-1.
func utf16Text(b []byte) string {
	if len(b) == 1 {
		return string(rune(b[0]))
	}
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
	}
	return string(utf16.Decode(u))
}

// lookupRange returns the range of n-byte codes holding code, if any.
func (cm *cmap) lookupRange(n int, code uint32) *cmapRange {
	rs := cm.ranges
	i := sort.Search(len(rs), func(i int) bool {
		return rs[i].n > n || rs[i].n == n && rs[i].lo > code
	})
	// Ranges may overlap; look back a little for one that holds code.
	for k := i - 1; k >= 0 && k >= i-8 && rs[k].n == n; k-- {
		if code >= rs[k].lo && code <= rs[k].hi {
			return &rs[k]
		}
	}
	return nil
}

// lookupText maps a code to text.
func (cm *cmap) lookupText(n int, code uint32) (string, bool) {
	if t, ok := cm.text[codeKey(n, code)]; ok {
		return t, true
	}
	r := cm.lookupRange(n, code)
	if r == nil || r.hasCID {
		return "", false
	}
	off := code - r.lo
	if r.dsts != nil {
		if int(off) < len(r.dsts) {
			return r.dsts[off], true
		}
		return "", false
	}
	if len(r.dst) == 0 {
		return "", false
	}
	b := make([]byte, len(r.dst))
	copy(b, r.dst)
	if len(b) == 1 {
		b[0] += byte(off)
	} else {
		last := uint16(b[len(b)-2])<<8 | uint16(b[len(b)-1])
		last += uint16(off)
		b[len(b)-2], b[len(b)-1] = byte(last>>8), byte(last)
	}
	return utf16Text(b), true
}

// lookupCID maps a code to a CID.
func (cm *cmap) lookupCID(n int, code uint32) (uint32, bool) {
	if c, ok := cm.cids[codeKey(n, code)]; ok {
		return c, true
	}
	r := cm.lookupRange(n, code)
	if r == nil || !r.hasCID {
		return 0, false
	}
	return r.cid + (code - r.lo), true
}

// nextCode splits the next character code off s by the codespace ranges
// (ISO 32000-1, 9.7.6.2). Without ranges codes are two bytes.
func (cm *cmap) nextCode(s string) (code uint32, n int) {
	if cm == nil || len(cm.spaces) == 0 {
		if len(s) >= 2 {
			return uint32(s[0])<<8 | uint32(s[1]), 2
		}
		return uint32(s[0]), 1
	}
	var v uint32
	for k := 1; k <= 4 && k <= len(s); k++ {
		v = v<<8 | uint32(s[k-1])
		for _, sp := range cm.spaces {
			if sp.n == k && within4(v, sp, k) {
				return v, k
			}
		}
	}
	// No range matches: take as many bytes as the shortest range.
	short := 4
	for _, sp := range cm.spaces {
		short = min(short, sp.n)
	}
	short = min(short, len(s))
	v = 0
	for k := 0; k < short; k++ {
		v = v<<8 | uint32(s[k])
	}
	return v, short
}

// within4 compares byte by byte, as codespace ranges are defined.
func within4(v uint32, sp codespace, n int) bool {
	for k := n - 1; k >= 0; k-- {
		b := byte(v >> (8 * k))
		lo, hi := byte(sp.lo>>(8*k)), byte(sp.hi>>(8*k))
		if b < lo || b > hi {
			return false
		}
	}
	return true
}

// appendText appends text to buf keeping it printable: controls become
// spaces or go, invalid UTF-8 goes.
func appendText(buf, text []byte) []byte {
	for i := 0; i < len(text); {
		c := text[i]
		if c >= 0x20 && c < 0x7f {
			buf = append(buf, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(text[i:])
		i += n
		switch {
		case r == '\t' || r == '\n' || r == '\r' || r == 0xa0:
			buf = append(buf, ' ')
		case r < 0x20 || r == 0x7f || r == utf8.RuneError:
		default:
			buf = utf8.AppendRune(buf, r)
		}
	}
	return buf
}

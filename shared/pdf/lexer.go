package pdf

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// The lexer and parser of PDF object syntax. Containers nest at most
// MaxDepth levels (the parser's recursion is bounded by it), every value is
// charged to the budget, and no allocation is sized from a number read in
// the input.

var (
	errEOF    = errors.New("unexpected end of data")
	errSyntax = errors.New("syntax error")
)

func syntaxErr(off int, what string) error {
	return fmt.Errorf("%w at offset %d: %s", errSyntax, off, what)
}

var isSpace = [256]bool{0: true, '\t': true, '\n': true, '\f': true, '\r': true, ' ': true}

var isDelim = [256]bool{'(': true, ')': true, '<': true, '>': true, '[': true, ']': true, '{': true, '}': true, '/': true, '%': true}

func isRegular(c byte) bool { return !isSpace[c] && !isDelim[c] }

// parser reads values from buf. In object mode (refs true) "N G R" is a
// reference and every value is charged to the document's MaxValues; in
// content mode values are only counted per operator (they are dropped once
// the operator ran).
type parser struct {
	b     *budget
	buf   []byte
	pos   int
	refs  bool
	nvals int // values parsed since the last reset (content mode)
}

func newParser(b *budget, buf []byte, pos int, refs bool) *parser {
	return &parser{b: b, buf: buf, pos: pos, refs: refs}
}

// charge accounts for n values.
func (p *parser) charge(n int) error {
	p.nvals += n
	if p.refs {
		if err := p.b.value(n); err != nil {
			return err
		}
	} else if p.nvals > maxOperands {
		return limitErr("more than %d operand values for one operator", maxOperands)
	}
	return p.b.tick()
}

// skipSpace skips white space and comments.
func (p *parser) skipSpace() {
	for p.pos < len(p.buf) {
		c := p.buf[p.pos]
		if isSpace[c] {
			p.pos++
			continue
		}
		if c != '%' {
			return
		}
		for p.pos < len(p.buf) && p.buf[p.pos] != '\n' && p.buf[p.pos] != '\r' {
			p.pos++
		}
	}
}

// word returns the run of regular characters at pos (a keyword or number).
func (p *parser) word() []byte {
	start := p.pos
	for p.pos < len(p.buf) && isRegular(p.buf[p.pos]) {
		p.pos++
	}
	return p.buf[start:p.pos]
}

// unsigned reads a word made only of digits, as in cross-reference tables
// and object headers.
func (p *parser) unsigned() (int64, bool) {
	w := p.word()
	if len(w) == 0 || len(w) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range w {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// peekKeyword reports whether the next token is the keyword kw, without
// moving.
func (p *parser) peekKeyword(kw string) bool {
	save := p.pos
	p.skipSpace()
	w := p.word()
	p.pos = save
	return string(w) == kw
}

func isNumberStart(c byte) bool {
	return c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'
}

// number reads a number at pos. Malformed numbers ("-", "1.2.3") read as
// what their first part says, as other readers do.
func (p *parser) number() (i int64, f float64, isInt bool) {
	s := p.word()
	neg := false
	k := 0
	for k < len(s) && (s[k] == '+' || s[k] == '-') {
		neg = s[k] == '-'
		k++
	}
	// The digits without the point make an integer mantissa; a real is
	// mantissa / 10^frac, exact for up to 15 digits (else strconv).
	var m uint64
	digits, frac := 0, 0
	point, over := false, false
	start := k
	for ; k < len(s); k++ {
		c := s[k]
		if c == '.' && !point {
			point = true
			continue
		}
		if c < '0' || c > '9' {
			break
		}
		if m > (math.MaxInt64-9)/10 {
			over = true
		} else {
			m = m*10 + uint64(c-'0')
		}
		digits++
		if point {
			frac++
		}
	}
	if !point && !over {
		i = int64(m)
		if neg {
			i = -i
		}
		return i, float64(i), true
	}
	if !over && digits <= 15 && frac < len(pow10) {
		f = float64(m) / pow10[frac]
	} else {
		f, _ = strconv.ParseFloat(string(s[start:k]), 64)
		if math.IsInf(f, 0) {
			f = math.MaxFloat64
		}
	}
	if neg {
		f = -f
	}
	return 0, f, false
}

var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// value parses one value; depth is the number of containers around it.
// A bare word other than true, false and null comes back as a keyword.
func (p *parser) value(depth int) (object, error) {
	p.skipSpace()
	if p.pos >= len(p.buf) {
		return nil, errEOF
	}
	if err := p.charge(1); err != nil {
		return nil, err
	}
	c := p.buf[p.pos]
	switch {
	case c == '/':
		return p.name(), nil
	case c == '(':
		return p.literal()
	case c == '<':
		if p.pos+1 < len(p.buf) && p.buf[p.pos+1] == '<' {
			return p.dict(depth)
		}
		return p.hex()
	case c == '[':
		return p.array(depth)
	case isNumberStart(c):
		i, f, isInt := p.number()
		if !isInt {
			return f, nil
		}
		if p.refs && i >= 0 {
			if r, ok := p.reference(i); ok {
				return r, nil
			}
		}
		return i, nil
	case isRegular(c):
		w := p.word()
		switch string(w) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		case "null":
			return nil, nil
		}
		return internKeyword(w), nil
	}
	p.pos++
	return nil, syntaxErr(p.pos-1, "unexpected delimiter")
}

// reference completes "num gen R" after num was read, or leaves pos alone.
func (p *parser) reference(n int64) (ref, bool) {
	save := p.pos
	p.skipSpace()
	if p.pos >= len(p.buf) || p.buf[p.pos] < '0' || p.buf[p.pos] > '9' {
		p.pos = save
		return ref{}, false
	}
	g, isInt := p.unsigned()
	p.skipSpace()
	if !isInt || g > math.MaxInt32 || n > math.MaxInt32 || p.pos >= len(p.buf) || p.buf[p.pos] != 'R' ||
		(p.pos+1 < len(p.buf) && isRegular(p.buf[p.pos+1])) {
		p.pos = save
		return ref{}, false
	}
	p.pos++
	return ref{int(n), int(g)}, true
}

func (p *parser) name() name {
	p.pos++ // '/'
	start := p.pos
	esc := false
	for p.pos < len(p.buf) && isRegular(p.buf[p.pos]) {
		if p.buf[p.pos] == '#' {
			esc = true
		}
		p.pos++
	}
	raw := p.buf[start:p.pos]
	if !esc {
		return internName(raw)
	}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		if raw[i] == '#' && i+2 < len(raw) && isHex(raw[i+1]) && isHex(raw[i+2]) {
			out = append(out, unhex(raw[i+1])<<4|unhex(raw[i+2]))
			i += 2
			continue
		}
		out = append(out, raw[i])
	}
	return internName(out)
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return 0
}

// literal reads a (string). Nested parentheses are a counter, not a
// recursion. The end is found first, so that the string is allocated once.
func (p *parser) literal() (object, error) {
	start := p.pos
	nest, plain, i := 0, true, start+1
	for ; i < len(p.buf); i++ {
		switch p.buf[i] {
		case '(':
			nest++
			continue
		case ')':
			if nest > 0 {
				nest--
				continue
			}
		case '\\':
			plain = false
			i++
			continue
		case '\r':
			plain = false
			continue
		default:
			continue
		}
		break
	}
	if i >= len(p.buf) {
		p.pos = len(p.buf)
		return nil, syntaxErr(start, "unterminated string")
	}
	p.pos = i + 1
	if err := p.charge((i - start) / 64); err != nil {
		return nil, err
	}
	raw := p.buf[start+1 : i]
	if plain {
		return str(raw), nil
	}
	out := make([]byte, 0, len(raw))
	for k := 0; k < len(raw); k++ {
		c := raw[k]
		switch c {
		case '\r':
			// An end of line in a string is a newline whatever its bytes.
			if k+1 < len(raw) && raw[k+1] == '\n' {
				k++
			}
			c = '\n'
		case '\\':
			k++
			if k >= len(raw) {
				break
			}
			switch e := raw[k]; e {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case '\r':
				if k+1 < len(raw) && raw[k+1] == '\n' {
					k++
				}
				continue
			case '\n':
				continue
			default:
				if e >= '0' && e <= '7' {
					v := int(e - '0')
					for n := 0; n < 2 && k+1 < len(raw) && raw[k+1] >= '0' && raw[k+1] <= '7'; n++ {
						k++
						v = v*8 + int(raw[k]-'0')
					}
					c = byte(v)
				} else {
					c = e // \( \) \\ and unknown escapes: the character itself
				}
			}
		}
		out = append(out, c)
	}
	return str(out), nil
}

func (p *parser) hex() (object, error) {
	start := p.pos
	e := bytes.IndexByte(p.buf[start:], '>')
	if e < 0 {
		p.pos = len(p.buf)
		return nil, syntaxErr(start, "unterminated hexadecimal string")
	}
	raw := p.buf[start+1 : start+e]
	p.pos = start + e + 1
	if err := p.charge(len(raw) / 128); err != nil {
		return nil, err
	}
	out := make([]byte, 0, (len(raw)+1)/2)
	var hi byte
	half := false
	for k, c := range raw {
		switch {
		case isHex(c):
			if half {
				out = append(out, hi<<4|unhex(c))
			} else {
				hi = unhex(c)
			}
			half = !half
		case isSpace[c]:
		default:
			return nil, syntaxErr(start+1+k, "bad character in hexadecimal string")
		}
	}
	if half {
		out = append(out, hi<<4)
	}
	return str(out), nil
}

func (p *parser) deeper(depth int) error {
	if depth >= p.b.lim.MaxDepth {
		return limitErr("nesting deeper than %d", p.b.lim.MaxDepth)
	}
	return nil
}

func (p *parser) array(depth int) (object, error) {
	if err := p.deeper(depth); err != nil {
		return nil, err
	}
	p.pos++ // '['
	a := array{}
	for {
		p.skipSpace()
		if p.pos >= len(p.buf) {
			return nil, errEOF
		}
		if p.buf[p.pos] == ']' {
			p.pos++
			return a, nil
		}
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		if _, ok := v.(keyword); ok {
			return nil, syntaxErr(p.pos, "keyword in an array")
		}
		a = append(a, v)
	}
}

func (p *parser) dict(depth int) (object, error) {
	if err := p.deeper(depth); err != nil {
		return nil, err
	}
	p.pos += 2 // "<<"
	d := dict{}
	for {
		p.skipSpace()
		if p.pos >= len(p.buf) {
			return nil, errEOF
		}
		if p.buf[p.pos] == '>' {
			if p.pos+1 < len(p.buf) && p.buf[p.pos+1] == '>' {
				p.pos += 2
				return d, nil
			}
			return nil, syntaxErr(p.pos, "bad end of dictionary")
		}
		if p.buf[p.pos] != '/' {
			return nil, syntaxErr(p.pos, "dictionary key is not a name")
		}
		if err := p.charge(1); err != nil {
			return nil, err
		}
		k := p.name()
		p.skipSpace()
		if p.pos+1 < len(p.buf) && p.buf[p.pos] == '>' && p.buf[p.pos+1] == '>' {
			continue // a key without a value
		}
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		if _, ok := v.(keyword); ok {
			return nil, syntaxErr(p.pos, "keyword in a dictionary")
		}
		if v != nil { // a null value is the same as no entry
			d[k] = v
		}
	}
}

package pdf

import (
	"bytes"
	"math"
)

// The content-stream interpreter: only what places text is followed (text
// state, text and graphics matrices, form XObjects); paths, colours and
// images are skipped. Operators are charged to MaxOps, content bytes to
// MaxDecoded, forms nest at most MaxDepth deep and never inside themselves.

type textState struct {
	font    *font
	size    float64
	tc, tw  float64 // character and word spacing
	th      float64 // horizontal scaling, 1 = 100%
	tl      float64 // leading
	rise    float64
	tm, tlm matrix
}

type gstate struct {
	ctm matrix
	ts  textState
}

// extractor holds what the pages of one document share: fonts and the
// forms being drawn.
type extractor struct {
	d     *doc
	fonts map[int]*font // by object number
	forms map[int]bool  // forms being drawn, against a form drawing itself
	depth int           // forms inside forms
}

// resources is one resource dictionary and the fonts read from it by name.
type resources struct {
	dict  dict
	fonts map[name]*font
}

func (x *extractor) newResources(o object) (*resources, error) {
	rd, err := x.d.dictOf(o)
	if err != nil {
		return nil, err
	}
	return &resources{dict: rd, fonts: map[name]*font{}}, nil
}

// category resolves /Font, /XObject... of the resources.
func (x *extractor) category(r *resources, cat name) (dict, error) {
	if r == nil || r.dict == nil {
		return nil, nil
	}
	return x.d.dictOf(r.dict[cat])
}

func (x *extractor) font(r *resources, n name) (*font, error) {
	if f, ok := r.fonts[n]; ok {
		return f, nil
	}
	fonts, err := x.category(r, "Font")
	if err != nil || fonts == nil {
		return nil, err
	}
	o, ok := fonts[n]
	if !ok {
		return nil, nil // not cached: names come from the content, unbounded
	}
	rf, isRef := o.(ref)
	if isRef {
		if f, ok := x.fonts[rf.num]; ok {
			r.fonts[n] = f
			return f, nil
		}
	}
	f, err := x.d.loadFont(o)
	if err != nil {
		if fatal(err) {
			return nil, err
		}
		f = nil
	}
	if isRef {
		x.fonts[rf.num] = f
	}
	r.fonts[n] = f
	return f, nil
}

// operand is a value on the operand stack; numbers are kept unboxed.
type operand struct {
	n     float64
	isNum bool
	o     object
}

// interp runs one content stream.
type interp struct {
	x       *extractor
	res     *resources
	out     *textOut
	gs      gstate
	save    []gstate
	scratch []byte // text of the string being shown
}

// run interprets content with resources res under the matrix ctm.
func (x *extractor) run(content []byte, res *resources, ctm matrix, out *textOut) error {
	if err := x.d.b.decode(int64(len(content))); err != nil {
		return err
	}
	in := &interp{x: x, res: res, out: out}
	in.gs.ctm = ctm
	in.gs.ts.th = 1
	in.gs.ts.tm, in.gs.ts.tlm = identity, identity
	p := newParser(x.d.b, content, 0, false)
	ops := make([]operand, 0, 8)
	for {
		p.skipSpace()
		if p.pos >= len(p.buf) {
			return nil
		}
		c := p.buf[p.pos]
		if len(ops) >= maxOperands {
			return limitErr("more than %d operands for one operator", maxOperands)
		}
		switch {
		case isNumberStart(c):
			_, f, _ := p.number()
			ops = append(ops, operand{n: f, isNum: true})
			continue
		case isRegular(c):
			op := internKeyword(p.word())
			switch op {
			case "true", "false", "null":
				ops = append(ops, operand{})
				continue
			}
			if err := x.d.b.op(); err != nil {
				return err
			}
			if err := in.do(op, ops, p); err != nil {
				return err
			}
			ops = ops[:0]
			p.nvals = 0
			continue
		}
		v, err := p.value(0)
		if err != nil {
			return err
		}
		ops = append(ops, operand{o: v})
	}
}

// nums reads the last k (at most 6) operands as numbers.
func nums(ops []operand, k int) (out [6]float64, ok bool) {
	if len(ops) < k {
		return out, false
	}
	for i, o := range ops[len(ops)-k:] {
		if !o.isNum {
			return out, false
		}
		out[i] = o.n
	}
	return out, true
}

func (in *interp) do(op keyword, ops []operand, p *parser) error {
	ts := &in.gs.ts
	switch op {
	case "q":
		if len(in.save) < maxGraphicStack {
			in.save = append(in.save, in.gs)
		}
	case "Q":
		if n := len(in.save); n > 0 {
			tm, tlm := ts.tm, ts.tlm // the text matrices are not part of the graphics state
			in.gs = in.save[n-1]
			in.save = in.save[:n-1]
			in.gs.ts.tm, in.gs.ts.tlm = tm, tlm
		}
	case "cm":
		if v, ok := nums(ops, 6); ok {
			in.gs.ctm = matrix(v).mul(in.gs.ctm)
		}
	case "BT":
		ts.tm, ts.tlm = identity, identity
	case "Tf":
		if len(ops) >= 2 {
			if n, ok := ops[len(ops)-2].o.(name); ok {
				f, err := in.x.font(in.res, n)
				if err != nil {
					return err
				}
				ts.font = f
			}
			if v, ok := nums(ops, 1); ok {
				ts.size = v[0]
			}
		}
	case "Tc":
		if v, ok := nums(ops, 1); ok {
			ts.tc = v[0]
		}
	case "Tw":
		if v, ok := nums(ops, 1); ok {
			ts.tw = v[0]
		}
	case "Tz":
		if v, ok := nums(ops, 1); ok {
			ts.th = v[0] / 100
		}
	case "TL":
		if v, ok := nums(ops, 1); ok {
			ts.tl = v[0]
		}
	case "Ts":
		if v, ok := nums(ops, 1); ok {
			ts.rise = v[0]
		}
	case "Td":
		if v, ok := nums(ops, 2); ok {
			in.moveLine(v[0], v[1])
		}
	case "TD":
		if v, ok := nums(ops, 2); ok {
			ts.tl = -v[1]
			in.moveLine(v[0], v[1])
		}
	case "Tm":
		if v, ok := nums(ops, 6); ok {
			ts.tm, ts.tlm = matrix(v), matrix(v)
		}
	case "T*":
		in.moveLine(0, -ts.tl)
	case "Tj":
		if len(ops) >= 1 {
			return in.show(ops[len(ops)-1].o)
		}
	case "'":
		in.moveLine(0, -ts.tl)
		if len(ops) >= 1 {
			return in.show(ops[len(ops)-1].o)
		}
	case "\"":
		if v, ok := nums(ops[:max(0, len(ops)-1)], 2); ok {
			ts.tw, ts.tc = v[0], v[1]
		}
		in.moveLine(0, -ts.tl)
		if len(ops) >= 1 {
			return in.show(ops[len(ops)-1].o)
		}
	case "TJ":
		if len(ops) >= 1 {
			if a, ok := ops[len(ops)-1].o.(array); ok {
				for _, e := range a {
					if f, ok := num(e); ok {
						in.advance(-f / 1000 * ts.size * ts.th)
						continue
					}
					if err := in.show(e); err != nil {
						return err
					}
				}
			}
		}
	case "Do":
		if len(ops) >= 1 {
			if n, ok := ops[len(ops)-1].o.(name); ok {
				return in.drawForm(n)
			}
		}
	case "ID":
		return skipInlineImage(p)
	}
	return nil
}

func (in *interp) moveLine(tx, ty float64) {
	ts := &in.gs.ts
	ts.tlm = matrix{1, 0, 0, 1, tx, ty}.mul(ts.tlm)
	ts.tm = ts.tlm
}

// advance moves the text matrix along the line: [1 0 0 1 tx 0] × Tm.
func (in *interp) advance(tx float64) {
	ts := &in.gs.ts
	ts.tm[4] += tx * ts.tm[0]
	ts.tm[5] += tx * ts.tm[1]
}

// show shows a string: its text goes out, placed by where it starts and
// ends on the page.
func (in *interp) show(o object) error {
	s, ok := o.(str)
	ts := &in.gs.ts
	if !ok || len(s) == 0 || ts.font == nil {
		return nil
	}
	f := ts.font
	m := ts.tm.mul(in.gs.ctm)
	x0, y0 := m.apply(0, 0)
	text := in.scratch[:0]
	adv := 0.0
	for b := string(s); len(b) > 0; {
		code, n := f.next(b)
		b = b[n:]
		text = append(text, f.text(code, n)...)
		adv += f.width(code, n)*ts.size + ts.tc
		if n == 1 && code == 32 {
			adv += ts.tw
		}
	}
	in.advance(adv * ts.th)
	m2 := ts.tm.mul(in.gs.ctm)
	x1, y1 := m2.apply(0, 0)
	ux, uy := m.vec(1, 0)
	vx, vy := m.vec(0, 1)
	size := math.Abs(ts.size) * math.Hypot(vx, vy)
	in.scratch = text[:0]
	return in.out.add(text, x0, y0, x1, y1, ux, uy, size)
}

// drawForm interprets a form XObject; images and broken forms are skipped.
func (in *interp) drawForm(n name) error {
	x := in.x
	xobjs, err := x.category(in.res, "XObject")
	if err != nil || xobjs == nil {
		return err
	}
	o := xobjs[n]
	r, isRef := o.(ref)
	if !isRef {
		return nil // a form is a stream, which is always an indirect object
	}
	if x.forms[r.num] {
		return nil // a form drawing itself, directly or through others
	}
	if x.depth >= x.d.b.lim.MaxDepth {
		return limitErr("forms nested deeper than %d", x.d.b.lim.MaxDepth)
	}
	v, err := x.d.resolveOK(o)
	if err != nil {
		return err
	}
	s, ok := v.(*stream)
	if !ok || s.dict["Subtype"] != name("Form") {
		return nil
	}
	data, err := x.d.decode(s)
	if err != nil {
		if fatal(err) {
			return err
		}
		return nil
	}
	res := in.res
	if s.dict["Resources"] != nil {
		if res, err = x.newResources(s.dict["Resources"]); err != nil {
			return err
		}
	}
	ctm := in.gs.ctm
	if m, ok := toMatrix(s.dict["Matrix"]); ok {
		ctm = m.mul(ctm)
	}
	x.forms[r.num] = true
	x.depth++
	err = x.run(data, res, ctm, in.out)
	x.depth--
	delete(x.forms, r.num)
	if err != nil && !fatal(err) {
		return nil // a broken form loses its own text only
	}
	return err
}

// skipInlineImage moves past the data of an inline image, which starts
// after ID and one white-space byte and ends at EI.
func skipInlineImage(p *parser) error {
	p.pos = min(p.pos+1, len(p.buf)) // ID may be the last thing there is
	for i := p.pos; ; {
		k := bytes.Index(p.buf[i:], []byte("EI"))
		if k < 0 {
			p.pos = len(p.buf)
			return nil
		}
		e := i + k
		if e > 0 && isSpace[p.buf[e-1]] && (e+2 == len(p.buf) || !isRegular(p.buf[e+2])) {
			p.pos = e + 2
			return nil
		}
		i = e + 2
	}
}

// textOut assembles the text of a page. Runs come in content order; a
// run starting away from where the previous one ended gets a space (same
// line) or a newline (another line) before it.
type textOut struct {
	b    *budget
	buf  []byte
	has  bool
	x, y float64 // where the previous run ended, in device space
	size float64 // its font size in device space
}

// Thresholds, as fractions of the font size: a gap along the line wider
// than wordGap is a space (a space glyph is about 0.25 em; kerning a few
// hundredths), a shift across it larger than lineGap another line.
const (
	wordGap = 0.15
	lineGap = 0.5
)

func (t *textOut) add(text []byte, x0, y0, x1, y1, ux, uy, size float64) error {
	finite := true
	for _, v := range []float64{x0, y0, x1, y1, ux, uy, size} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			finite = false
		}
	}
	if !finite {
		// Positions out of range say nothing: a line of its own.
		x0, y0, x1, y1, ux, uy, size = 0, 0, 0, 0, 1, 0, 0
		t.x, t.y = 0, math.MaxFloat32
	}
	if len(text) == 0 {
		return nil
	}
	if t.has {
		sep := byte(0)
		dx, dy := x0-t.x, y0-t.y
		l := math.Hypot(ux, uy)
		if l == 0 {
			ux, uy, l = 1, 0, 1
		}
		ux, uy = ux/l, uy/l
		along := dx*ux + dy*uy
		across := -dx*uy + dy*ux
		ref := max(size, t.size)
		if ref == 0 {
			ref = 1
		}
		switch {
		case math.Abs(across) > lineGap*ref:
			sep = '\n'
		case along > wordGap*max(size, 0.01) || along < -ref:
			sep = ' '
		}
		t.separate(sep, text)
	}
	n := len(t.buf)
	t.buf = appendText(t.buf, text)
	if err := t.b.addText(len(t.buf) - n); err != nil {
		return err
	}
	t.has = true
	t.x, t.y, t.size = x1, y1, size
	return nil
}

func (t *textOut) separate(sep byte, next []byte) {
	n := len(t.buf)
	switch sep {
	case '\n':
		for n > 0 && t.buf[n-1] == ' ' {
			n--
		}
		t.buf = t.buf[:n]
		if n > 0 && t.buf[n-1] != '\n' {
			t.buf = append(t.buf, '\n')
		}
	case ' ':
		if n > 0 && t.buf[n-1] != ' ' && t.buf[n-1] != '\n' && next[0] != ' ' {
			t.buf = append(t.buf, ' ')
		}
	}
}

// String is the page's text without blanks at its ends.
func (t *textOut) String() string {
	return string(bytes.TrimSpace(t.buf))
}

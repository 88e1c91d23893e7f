package pdf

import (
	"bytes"
	"errors"
	"sort"
)

// Cross-reference tables and streams, incremental updates, and the scan that
// rebuilds the table of a damaged file.

// errBadXref says the cross-reference data does not match the file; the
// document is then read again from a scan of the file.
var errBadXref = errors.New("cross-reference table does not match the file")

// maxObjNum bounds object numbers (the specification's own limit is 8388607).
const maxObjNum = 1<<31 - 1

// loadXref reads the cross-reference sections from startxref through /Prev
// and /XRefStm.
func (d *doc) loadXref() error {
	tail := d.data[max(0, len(d.data)-64<<10):]
	i := bytes.LastIndex(tail, []byte("startxref"))
	if i < 0 {
		return errBadXref
	}
	p := newParser(d.b, tail, i+len("startxref"), false)
	p.skipSpace()
	off, ok := p.unsigned()
	if !ok {
		return errBadXref
	}
	seen := map[int64]bool{}
	var trailers []dict
	for sections := 0; ; sections++ {
		if seen[off] {
			break // a /Prev loop: what was read is all there is
		}
		if sections >= maxXrefSections {
			return limitErr("more than %d cross-reference sections", maxXrefSections)
		}
		seen[off] = true
		sec := map[int]xrefEntry{}
		trailer, err := d.readSection(off, sec)
		if err != nil {
			if fatal(err) || len(trailers) == 0 {
				return err
			}
			break // a broken older section: keep the newer ones
		}
		// A hybrid file lists in /XRefStm the objects of its object streams;
		// they fill the entries its table leaves free.
		if xs, ok := trailer["XRefStm"].(int64); ok && !seen[xs] {
			seen[xs] = true
			stmSec := map[int]xrefEntry{}
			if _, err := d.readSection(xs, stmSec); err == nil {
				for n, e := range stmSec {
					if old, ok := sec[n]; !ok || old.kind == entryFree {
						sec[n] = e
					}
				}
			} else if fatal(err) {
				return err
			}
		}
		for n, e := range sec {
			if _, ok := d.xref[n]; !ok { // else a newer section has it
				d.xref[n] = e
			}
		}
		trailers = append(trailers, trailer)
		prev, ok := trailer["Prev"].(int64)
		if !ok {
			break
		}
		off = prev
	}
	d.trailer = mergeTrailers(trailers)
	return nil
}

// mergeTrailers keeps the newest value of each key.
func mergeTrailers(ts []dict) dict {
	out := dict{}
	for _, t := range ts {
		for k, v := range t {
			if _, ok := out[k]; !ok {
				out[k] = v
			}
		}
	}
	delete(out, "Prev")
	delete(out, "XRefStm")
	return out
}

// readSection reads the table or stream at off into sec and returns its
// trailer dictionary.
func (d *doc) readSection(off int64, sec map[int]xrefEntry) (dict, error) {
	for _, o := range []int64{off, off + int64(d.hdr)} {
		if o < 0 || o >= int64(len(d.data)) {
			continue
		}
		p := newParser(d.b, d.data, int(o), true)
		p.skipSpace()
		if p.peekKeyword("xref") {
			p.skipSpace()
			p.pos += len("xref")
			return d.readTable(p, sec)
		}
		if n, ok := p.unsigned(); ok {
			return d.readXrefStream(int(min(n, maxObjNum)), o, sec)
		}
		if d.hdr == 0 {
			break
		}
	}
	return nil, errBadXref
}

func (d *doc) readTable(p *parser, sec map[int]xrefEntry) (dict, error) {
	start := p.pos
	defer func() { _ = d.b.scan(p.pos - start) }()
	for {
		p.skipSpace()
		if p.peekKeyword("trailer") {
			p.skipSpace()
			p.pos += len("trailer")
			v, err := p.value(0)
			if err != nil {
				return nil, within(err, "trailer")
			}
			t, ok := v.(dict)
			if !ok {
				return nil, errors.New("trailer is not a dictionary")
			}
			return t, nil
		}
		first, ok1 := p.unsigned()
		p.skipSpace()
		count, ok2 := p.unsigned()
		if !ok1 || !ok2 {
			return nil, errBadXref
		}
		for i := int64(0); i < count; i++ {
			if err := d.b.tick(); err != nil {
				return nil, err
			}
			p.skipSpace()
			off, ok1 := p.unsigned()
			p.skipSpace()
			_, ok2 := p.unsigned()
			p.skipSpace()
			kind := p.word()
			if !ok1 || !ok2 || len(kind) != 1 || (kind[0] != 'n' && kind[0] != 'f') {
				return nil, errBadXref
			}
			// Some writers number the first subsection from 1 although it
			// starts with the free head of the list, object 0.
			if i == 0 && first == 1 && kind[0] == 'f' && off == 0 {
				first = 0
			}
			n := first + i
			if n > maxObjNum {
				return nil, errBadXref
			}
			if _, ok := sec[int(n)]; ok {
				continue
			}
			// Every entry counts, free ones too: they take memory as well.
			if err := d.b.object(); err != nil {
				return nil, err
			}
			if kind[0] == 'n' && n > 0 {
				sec[int(n)] = xrefEntry{kind: entryFile, off: off}
			} else {
				sec[int(n)] = xrefEntry{kind: entryFree}
			}
		}
	}
}

func (d *doc) readXrefStream(num int, off int64, sec map[int]xrefEntry) (dict, error) {
	v, err := d.parseAt(num, off)
	if err != nil {
		if errors.Is(err, errBadXref) || !fatal(err) {
			return nil, errBadXref
		}
		return nil, err
	}
	s, ok := v.(*stream)
	if !ok {
		return nil, errBadXref
	}
	data, err := d.decode(s)
	if err != nil {
		if fatal(err) {
			return nil, err
		}
		return nil, errBadXref
	}
	var w [3]int
	wa, ok := s.dict["W"].(array)
	if !ok || len(wa) < 3 {
		return nil, errBadXref
	}
	width := 0
	for i := range w {
		n, ok := wa[i].(int64)
		if !ok || n < 0 || n > 8 {
			return nil, errBadXref
		}
		w[i] = int(n)
		width += w[i]
	}
	if width == 0 {
		return nil, errBadXref
	}
	index, _ := s.dict["Index"].(array)
	if index == nil {
		size, _ := s.dict["Size"].(int64)
		index = array{int64(0), size}
	}
	pos := 0
	for k := 0; k+1 < len(index); k += 2 {
		first, ok1 := index[k].(int64)
		count, ok2 := index[k+1].(int64)
		if !ok1 || !ok2 || first < 0 || count < 0 {
			return nil, errBadXref
		}
		// count is only trusted as far as the data goes.
		for i := int64(0); i < count && pos+width <= len(data); i++ {
			if err := d.b.tick(); err != nil {
				return nil, err
			}
			typ := int64(1)
			if w[0] > 0 {
				typ = field(data[pos : pos+w[0]])
			}
			f2 := field(data[pos+w[0] : pos+w[0]+w[1]])
			f3 := field(data[pos+w[0]+w[1] : pos+width])
			pos += width
			n := first + i
			if n > maxObjNum {
				break
			}
			if _, ok := sec[int(n)]; ok {
				continue
			}
			if err := d.b.object(); err != nil {
				return nil, err
			}
			switch typ {
			case 0:
				sec[int(n)] = xrefEntry{kind: entryFree}
			case 1:
				if n > 0 {
					sec[int(n)] = xrefEntry{kind: entryFile, off: f2}
				}
			case 2:
				if f2 > maxObjNum || f3 > maxObjNum || n == 0 {
					continue
				}
				sec[int(n)] = xrefEntry{kind: entryStm, stm: int(f2), idx: int(f3)}
			}
		}
	}
	return s.dict, nil
}

// field reads a big-endian number of up to 8 bytes, kept non-negative.
func field(b []byte) int64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return int64(v & (1<<63 - 1))
}

// rebuild makes the cross-reference table from a scan of the whole file for
// "num gen obj", as readers do with damaged files.
func (d *doc) rebuild() error {
	d.rebuilt = true
	latest := map[int]int64{}
	data := d.data
	for i := 0; ; {
		if err := d.b.tick(); err != nil {
			return err
		}
		j := bytes.Index(data[i:], []byte("obj"))
		if j < 0 {
			break
		}
		k := i + j
		i = k + 3
		if i < len(data) && isRegular(data[i]) {
			continue // "objects", "obj1"...
		}
		start, num, ok := objHeaderBefore(data, k)
		if !ok || num == 0 { // object 0 heads the free list, it is never an object
			continue
		}
		if _, seen := latest[num]; !seen {
			if err := d.b.object(); err != nil {
				return err
			}
		}
		latest[num] = int64(start)
	}
	for n, off := range latest {
		d.xref[n] = xrefEntry{kind: entryFile, off: off}
	}
	// Objects in object streams, and the trailers: parse every object found,
	// in file order; later definitions win.
	pos := map[int]int64{}
	for n, off := range latest {
		pos[n] = off
	}
	type cand struct {
		pos int64
		t   dict
	}
	var trailers []cand
	var catalog object
	type found struct {
		num int
		pos int64
	}
	objs := make([]found, 0, len(latest))
	for n, off := range latest {
		objs = append(objs, found{n, off})
	}
	sort.Slice(objs, func(a, b int) bool { return objs[a].pos < objs[b].pos })
	var moved []int
	for _, o := range objs {
		v, err := d.get(o.num)
		if err != nil {
			if fatal(err) {
				return err
			}
			continue
		}
		var od dict
		switch v := v.(type) {
		case dict:
			od = v
		case *stream:
			od = v.dict
		}
		switch od["Type"] {
		case name("ObjStm"):
			ostm, err := d.objStm(o.num)
			if err != nil {
				if fatal(err) {
					return err
				}
				continue
			}
			for idx, n := range ostm.nums {
				if old, ok := pos[n]; n == 0 || ok && old > o.pos {
					continue
				}
				if _, ok := d.xref[n]; !ok {
					if err := d.b.object(); err != nil {
						return err
					}
				}
				pos[n] = o.pos
				d.xref[n] = xrefEntry{kind: entryStm, stm: o.num, idx: idx}
				moved = append(moved, n)
			}
		case name("XRef"):
			trailers = append(trailers, cand{o.pos, od})
		case name("Catalog"):
			catalog = ref{o.num, 0}
		}
	}
	// Objects redefined by an object stream must be read again.
	for _, n := range moved {
		delete(d.cache, n)
		delete(d.failed, n)
	}
	for i := 0; ; {
		j := bytes.Index(data[i:], []byte("trailer"))
		if j < 0 {
			break
		}
		k := i + j
		i = k + len("trailer")
		p := newParser(d.b, data, i, true)
		v, err := p.value(0)
		if err := d.b.scan(p.pos - i); err != nil {
			return err
		}
		if err != nil {
			if fatal(err) {
				return err
			}
			continue
		}
		if t, ok := v.(dict); ok {
			trailers = append(trailers, cand{int64(k), t})
		}
	}
	sort.SliceStable(trailers, func(a, b int) bool { return trailers[a].pos > trailers[b].pos })
	var ts []dict
	for _, c := range trailers {
		ts = append(ts, c.t)
	}
	d.trailer = mergeTrailers(ts)
	if _, ok := d.trailer["Root"]; !ok && catalog != nil {
		d.trailer["Root"] = catalog
	} else if ok {
		// The newest trailer's /Root may be the damaged part.
		if cd, _ := d.dictOf(d.trailer["Root"]); cd == nil && catalog != nil {
			d.trailer["Root"] = catalog
		}
	}
	return nil
}

// objHeaderBefore checks that "num gen " comes right before the "obj" at k,
// and returns where num starts.
func objHeaderBefore(data []byte, k int) (start, num int, ok bool) {
	i := k
	digits := func() (int, int, bool) {
		end := i
		for i > 0 && data[i-1] >= '0' && data[i-1] <= '9' && end-i < 10 {
			i--
		}
		if i == end {
			return 0, 0, false
		}
		v := 0
		for _, c := range data[i:end] {
			v = v*10 + int(c-'0')
		}
		return v, i, true
	}
	spaces := func() bool {
		n := i
		for i > 0 && isSpace[data[i-1]] {
			i--
		}
		return i < n
	}
	if !spaces() {
		return 0, 0, false
	}
	if _, _, ok := digits(); !ok {
		return 0, 0, false
	}
	if !spaces() {
		return 0, 0, false
	}
	n, s, ok := digits()
	if !ok || (s > 0 && isRegular(data[s-1])) {
		return 0, 0, false
	}
	return s, n, true
}

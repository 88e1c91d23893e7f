package pdf

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
)

// doc is one document being read: its cross-reference table and the objects
// resolved so far. Every way from an object to another (a stream's /Length,
// an object stream, a reference to a reference) goes through get, which
// refuses loops and bounds how deep such chains go.
type doc struct {
	b       *budget
	data    []byte
	hdr     int // offset of "%PDF-"; some files count their offsets from it
	xref    map[int]xrefEntry
	trailer dict
	rebuilt bool // xref comes from a scan of the file

	cache   map[int]object
	failed  map[int]error
	busy    map[int]bool
	getNest int
	stms    map[int]*objStm
	stmBusy map[int]bool
}

type entryKind uint8

const (
	entryFree entryKind = iota
	entryFile           // at byte offset off
	entryStm            // number idx of object stream stm
)

type xrefEntry struct {
	kind entryKind
	off  int64
	stm  int
	idx  int
}

// objStm is a decoded object stream and its table of contents.
type objStm struct {
	data  []byte
	first int
	nums  []int
	offs  []int
	index map[int]int // object number -> position in nums, built when needed
}

var errCycle = errors.New("reference loop")

func newDoc(b *budget, data []byte) *doc {
	return &doc{
		b: b, data: data, hdr: max(bytes.Index(data[:min(len(data), 1024)], []byte("%PDF-")), 0),
		xref: map[int]xrefEntry{}, cache: map[int]object{}, failed: map[int]error{}, busy: map[int]bool{},
		stms: map[int]*objStm{}, stmBusy: map[int]bool{},
	}
}

// resolve follows references until a direct value; a missing object is
// null, as the specification says.
func (d *doc) resolve(o object) (object, error) {
	var buf [8]int
	seen := buf[:0]
	for i := 0; ; i++ {
		r, ok := o.(ref)
		if !ok {
			return o, nil
		}
		if i >= d.b.lim.MaxDepth {
			return nil, limitErr("chain of references longer than %d", d.b.lim.MaxDepth)
		}
		if slices.Contains(seen, r.num) {
			return nil, fmt.Errorf("%w through object %d", errCycle, r.num)
		}
		seen = append(seen, r.num)
		v, err := d.get(r.num)
		if err != nil {
			return nil, err
		}
		o = v
	}
}

// resolveOK resolves o, turning errors that only lose this value into null.
func (d *doc) resolveOK(o object) (object, error) {
	v, err := d.resolve(o)
	if err != nil {
		if fatal(err) {
			return nil, err
		}
		return nil, nil
	}
	return v, nil
}

// dictOf resolves o to a dictionary (a stream's dictionary counts), or nil.
func (d *doc) dictOf(o object) (dict, error) {
	v, err := d.resolveOK(o)
	switch v := v.(type) {
	case dict:
		return v, err
	case *stream:
		return v.dict, err
	}
	return nil, err
}

// get returns indirect object num.
func (d *doc) get(num int) (object, error) {
	if v, ok := d.cache[num]; ok {
		return v, nil
	}
	if err, ok := d.failed[num]; ok {
		return nil, err
	}
	if d.busy[num] {
		return nil, fmt.Errorf("%w through object %d", errCycle, num)
	}
	if d.getNest >= d.b.lim.MaxDepth {
		return nil, limitErr("objects depending on objects deeper than %d", d.b.lim.MaxDepth)
	}
	if err := d.b.tick(); err != nil {
		return nil, err
	}
	e, ok := d.xref[num]
	if !ok || e.kind == entryFree {
		return nil, nil
	}
	d.busy[num] = true
	d.getNest++
	var v object
	var err error
	if e.kind == entryFile {
		v, err = d.parseAt(num, e.off)
	} else {
		v, err = d.fromStm(num, e)
	}
	d.getNest--
	delete(d.busy, num)
	if err != nil {
		if !fatal(err) {
			err = fmt.Errorf("object %d: %w", num, err)
			d.failed[num] = err
		}
		return nil, err
	}
	d.cache[num] = v
	return v, nil
}

// parseAt reads "num gen obj value [stream]" at off.
func (d *doc) parseAt(num int, off int64) (object, error) {
	pos, ok := d.headerAt(num, off)
	if !ok && d.hdr > 0 {
		pos, ok = d.headerAt(num, off+int64(d.hdr))
	}
	if !ok {
		if !d.rebuilt {
			return nil, errBadXref
		}
		return nil, errors.New("no object at its offset")
	}
	p := newParser(d.b, d.data, pos, true)
	v, err := p.value(0)
	if scanErr := d.b.scan(p.pos - pos); scanErr != nil {
		return nil, scanErr
	}
	if err != nil {
		return nil, err
	}
	if _, ok := v.(keyword); ok {
		return nil, nil // "1 0 obj endobj": null
	}
	if sd, ok := v.(dict); ok && p.peekKeyword("stream") {
		p.skipSpace()
		p.pos += len("stream")
		return d.streamAt(num, sd, p.pos)
	}
	return v, nil
}

// headerAt checks "num gen obj" at off and returns where the value starts.
func (d *doc) headerAt(num int, off int64) (int, bool) {
	if off < 0 || off >= int64(len(d.data)) {
		return 0, false
	}
	p := newParser(d.b, d.data, int(off), false)
	p.skipSpace()
	n, ok := p.unsigned()
	if !ok || n != int64(num) {
		return 0, false
	}
	p.skipSpace()
	if _, ok := p.unsigned(); !ok {
		return 0, false
	}
	p.skipSpace()
	if string(p.word()) != "obj" {
		return 0, false
	}
	return p.pos, true
}

var endstream = []byte("endstream")

// streamAt finds the bytes of a stream whose data starts after the
// "stream" keyword at pos: /Length when it is right, else up to
// "endstream".
func (d *doc) streamAt(num int, sd dict, pos int) (object, error) {
	if pos < len(d.data) && d.data[pos] == '\r' {
		pos++
	}
	if pos < len(d.data) && d.data[pos] == '\n' {
		pos++
	}
	s := &stream{dict: sd, num: num}
	n, ok, err := d.streamLength(sd)
	if err != nil {
		return nil, err
	}
	if ok && n >= 0 && int64(pos)+n <= int64(len(d.data)) {
		end := pos + int(n)
		q := end
		for q < len(d.data) && isSpace[d.data[q]] {
			q++
		}
		if bytes.HasPrefix(d.data[q:], endstream) {
			s.raw = d.data[pos:end:end]
			return s, nil
		}
	}
	i := bytes.Index(d.data[pos:], endstream)
	scanned := i
	if i < 0 {
		scanned = len(d.data) - pos
	}
	if err := d.b.scan(scanned); err != nil {
		return nil, err
	}
	if i < 0 {
		return nil, errors.New("stream without endstream")
	}
	end := pos + i
	// The end of line before endstream is not data.
	if end > pos && d.data[end-1] == '\n' {
		end--
	}
	if end > pos && d.data[end-1] == '\r' {
		end--
	}
	s.raw = d.data[pos:end:end]
	return s, nil
}

// streamLength reads /Length, which may be an indirect object: a loop or a
// broken one only means the length is searched for.
func (d *doc) streamLength(sd dict) (int64, bool, error) {
	v, err := d.resolve(sd["Length"])
	if err != nil {
		if fatal(err) {
			return 0, false, err
		}
		return 0, false, nil
	}
	n, ok := v.(int64)
	return n, ok, nil
}

// fromStm reads object num from an object stream.
func (d *doc) fromStm(num int, e xrefEntry) (object, error) {
	ostm, err := d.objStm(e.stm)
	if err != nil {
		return nil, err
	}
	i := e.idx
	if i < 0 || i >= len(ostm.nums) || ostm.nums[i] != num {
		if ostm.index == nil {
			ostm.index = make(map[int]int, len(ostm.nums))
			for k, n := range ostm.nums {
				if _, dup := ostm.index[n]; !dup {
					ostm.index[n] = k
				}
			}
		}
		k, ok := ostm.index[num]
		if !ok {
			return nil, fmt.Errorf("not in object stream %d", e.stm)
		}
		i = k
	}
	start := ostm.first + ostm.offs[i]
	if ostm.offs[i] < 0 || start < 0 || start >= len(ostm.data) {
		return nil, fmt.Errorf("offset outside object stream %d", e.stm)
	}
	p := newParser(d.b, ostm.data, start, true)
	v, err := p.value(0)
	if scanErr := d.b.scan(p.pos - start); scanErr != nil {
		return nil, scanErr
	}
	if err != nil {
		return nil, err
	}
	if _, ok := v.(keyword); ok {
		return nil, nil
	}
	return v, nil
}

// objStm decodes object stream num and reads its table of contents.
func (d *doc) objStm(num int) (*objStm, error) {
	if ostm, ok := d.stms[num]; ok {
		if ostm == nil {
			return nil, fmt.Errorf("object stream %d is unreadable", num)
		}
		return ostm, nil
	}
	if d.stmBusy[num] {
		return nil, fmt.Errorf("%w through object stream %d", errCycle, num)
	}
	d.stmBusy[num] = true
	defer delete(d.stmBusy, num)
	ostm, err := d.readObjStm(num)
	if err != nil {
		if !fatal(err) {
			d.stms[num] = nil
		}
		return nil, err
	}
	d.stms[num] = ostm
	return ostm, nil
}

func (d *doc) readObjStm(num int) (*objStm, error) {
	v, err := d.get(num)
	if err != nil {
		return nil, err
	}
	s, ok := v.(*stream)
	if !ok {
		return nil, fmt.Errorf("object stream %d is not a stream", num)
	}
	data, err := d.decode(s)
	if err != nil {
		return nil, within(err, "object stream %d", num)
	}
	n, _ := integer(s.dict["N"])
	first, _ := integer(s.dict["First"])
	if n < 0 || first < 0 || first > len(data) {
		return nil, fmt.Errorf("object stream %d: bad /N or /First", num)
	}
	ostm := &objStm{data: data, first: first}
	p := newParser(d.b, data[:first], 0, false)
	// /N is only trusted as far as the header really holds pairs.
	for i := 0; i < n; i++ {
		p.skipSpace()
		if p.pos >= len(p.buf) {
			break
		}
		on, ok1 := p.unsigned()
		p.skipSpace()
		off, ok2 := p.unsigned()
		if !ok1 || !ok2 || off > int64(len(data)) {
			break
		}
		if err := d.b.value(2); err != nil {
			return nil, err
		}
		if err := d.b.tick(); err != nil {
			return nil, err
		}
		ostm.nums = append(ostm.nums, clampInt(on))
		ostm.offs = append(ostm.offs, int(off))
	}
	return ostm, nil
}

// version is the version in the header ("1.4"), or 1.7 when it says none
// that makes sense.
func (d *doc) version() string {
	v := d.data[d.hdr+len("%PDF-"):]
	if len(v) >= 3 && v[0] >= '1' && v[0] <= '2' && v[1] == '.' && v[2] >= '0' && v[2] <= '9' {
		return string(v[:3])
	}
	return "1.7"
}

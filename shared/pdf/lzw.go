package pdf

import "fmt"

// unLZW decodes LZWDecode data: 9- to 12-bit codes, most significant bit
// first, 256 clears the table and 257 ends the data. With early change (the
// default) the code width grows one code sooner, as the specification says.
func (d *doc) unLZW(data []byte, early bool) ([]byte, error) {
	const (
		clearCode = 256
		eod       = 257
	)
	type entry struct {
		prev  int32 // previous code, -1 for a single byte
		last  byte  // the entry's last byte
		first byte  // the entry's first byte
		n     int32 // length of the entry
	}
	var table [4096]entry
	for i := range 256 {
		table[i] = entry{prev: -1, last: byte(i), first: byte(i), n: 1}
	}
	next, width := 258, 9
	prev := -1
	s := sink{b: d.b}
	var acc uint32
	bits := 0
	var tmp [4096]byte
	for i := 0; ; {
		for bits < width && i < len(data) {
			acc = acc<<8 | uint32(data[i])
			bits += 8
			i++
		}
		if bits < width {
			return s.out, nil // no end-of-data code: what was read
		}
		code := int(acc>>(bits-width)) & (1<<width - 1)
		bits -= width
		switch {
		case code == clearCode:
			next, width, prev = 258, 9, -1
			continue
		case code == eod:
			return s.out, nil
		}
		var e entry
		switch {
		case code < next:
			e = table[code]
		case code == next && prev >= 0:
			// The code being defined: the previous entry plus its first byte.
			p := table[prev]
			e = entry{prev: int32(prev), last: p.first, first: p.first, n: p.n + 1}
		default:
			return nil, fmt.Errorf("%w: bad LZW code", errFilter)
		}
		// Write the entry, walking back from its last byte.
		n := int(e.n)
		if n > len(tmp) {
			return nil, fmt.Errorf("%w: bad LZW code", errFilter)
		}
		w := e
		for k := n - 1; k >= 0; k-- {
			tmp[k] = w.last
			if w.prev >= 0 {
				w = table[w.prev]
			}
		}
		if err := s.write(tmp[:n]); err != nil {
			return nil, err
		}
		if prev >= 0 && next < 4096 {
			p := table[prev]
			table[next] = entry{prev: int32(prev), last: tmp[0], first: p.first, n: p.n + 1}
			next++
		}
		prev = code
		off := 0
		if early {
			off = 1
		}
		switch {
		case next+off >= 4096:
			width = 12
		case next+off >= 2048:
			width = 12
		case next+off >= 1024:
			width = 11
		case next+off >= 512:
			width = 10
		}
		if err := d.b.tick(); err != nil {
			return nil, err
		}
	}
}

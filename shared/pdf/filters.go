package pdf

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Stream filters. Every byte a filter produces is charged to MaxDecoded
// before it is kept, so a decompression bomb stops at the bound; the
// context is checked between chunks.

// errFilter is an unsupported filter or undecodable data: it loses the
// stream, not the document.
var errFilter = errors.New("stream cannot be decoded")

// knownFilters are the names that may appear in errors (other names come
// from the document and may say anything).
var knownFilters = map[name]bool{"FlateDecode": true, "ASCIIHexDecode": true, "ASCII85Decode": true, "LZWDecode": true,
	"RunLengthDecode": true, "DCTDecode": true, "JPXDecode": true, "CCITTFaxDecode": true, "JBIG2Decode": true, "Crypt": true}

var filterAbbrev = map[name]name{"Fl": "FlateDecode", "AHx": "ASCIIHexDecode", "A85": "ASCII85Decode", "LZW": "LZWDecode", "RL": "RunLengthDecode"}

const chunk = 32 << 10

// decode returns the decoded data of s.
func (d *doc) decode(s *stream) ([]byte, error) {
	fo, err := d.resolveOK(s.dict["Filter"])
	if err != nil {
		return nil, err
	}
	po, err := d.resolveOK(s.dict["DecodeParms"])
	if err != nil {
		return nil, err
	}
	var filters, parms array
	switch f := fo.(type) {
	case nil:
	case name:
		filters = array{f}
		parms = array{po}
	case array:
		filters = f
		parms, _ = po.(array)
	default:
		return nil, fmt.Errorf("%w: bad /Filter", errFilter)
	}
	data := s.raw
	for i, fv := range filters {
		f, err := d.resolveOK(fv)
		if err != nil {
			return nil, err
		}
		fn, _ := f.(name)
		if full, ok := filterAbbrev[fn]; ok {
			fn = full
		}
		var parm dict
		if i < len(parms) {
			parm, err = d.dictOf(parms[i])
			if err != nil {
				return nil, err
			}
		}
		switch fn {
		case "FlateDecode":
			data, err = d.inflate(data)
			if err == nil {
				data, err = d.predict(data, parm)
			}
		case "LZWDecode":
			early := 1
			if v, ok := d.intParm(parm, "EarlyChange"); ok {
				early = v
			}
			data, err = d.unLZW(data, early != 0)
			if err == nil {
				data, err = d.predict(data, parm)
			}
		case "ASCIIHexDecode":
			data, err = d.unHex(data)
		case "ASCII85Decode":
			data, err = d.unA85(data)
		case "RunLengthDecode":
			data, err = d.unRunLength(data)
		default:
			if knownFilters[fn] {
				return nil, fmt.Errorf("%w: filter %s is not supported", errFilter, fn)
			}
			return nil, fmt.Errorf("%w: unknown filter", errFilter)
		}
		if err != nil {
			return nil, err
		}
	}
	return data, nil
}

func (d *doc) intParm(parm dict, key name) (int, bool) {
	if parm == nil {
		return 0, false
	}
	v, err := d.resolveOK(parm[key])
	if err != nil {
		return 0, false
	}
	return integer(v)
}

// sink collects a filter's output in chunks charged to the budget.
type sink struct {
	b   *budget
	out []byte
}

func (s *sink) write(p []byte) error {
	if err := s.b.decode(int64(len(p))); err != nil {
		return err
	}
	s.out = append(s.out, p...)
	return nil
}

func (s *sink) byte1(c byte) error {
	s.b.decoded++
	if s.b.decoded > s.b.lim.MaxDecoded {
		return s.b.decode(0)
	}
	if len(s.out)&(chunk-1) == chunk-1 {
		if err := s.b.ctx.Err(); err != nil {
			return err
		}
	}
	s.out = append(s.out, c)
	return nil
}

// inflate decodes zlib data, or raw deflate data as some writers produce.
// A truncated or damaged stream gives what could be decoded before the
// damage, as other readers do.
func (d *doc) inflate(data []byte) ([]byte, error) {
	src := data
	if len(src) >= 2 && src[0]&0x0f == 8 && (uint16(src[0])<<8|uint16(src[1]))%31 == 0 {
		src = src[2:] // the zlib header; the checksum at the end is not checked
	}
	r := flateReaders.Get().(io.ReadCloser)
	defer flateReaders.Put(r)
	if err := r.(flate.Resetter).Reset(bytes.NewReader(src), nil); err != nil {
		return nil, fmt.Errorf("%w: bad compressed data", errFilter)
	}
	// Read straight into the output, growing it by doubling: a stream at
	// the bound costs two copies of it, not more.
	out := make([]byte, 0, min(4*len(src)+1024, 1<<20))
	for {
		if err := d.b.ctx.Err(); err != nil {
			return nil, err
		}
		if len(out) == cap(out) {
			// Never beyond what the budget still allows (and one byte more,
			// to see that it would be exceeded).
			left := max(d.b.lim.MaxDecoded-d.b.decoded, 0) + 1
			grown := make([]byte, len(out), len(out)+int(min(int64(cap(out)), left)))
			copy(grown, out)
			out = grown
		}
		n, err := r.Read(out[len(out):min(cap(out), len(out)+chunk)])
		if n > 0 {
			if err := d.b.decode(int64(n)); err != nil {
				return nil, err
			}
			out = out[:len(out)+n]
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			if len(out) > 0 {
				return out, nil
			}
			return nil, fmt.Errorf("%w: bad compressed data", errFilter)
		}
	}
}

// flateReaders are reused: a decompressor holds a 32 KiB window.
var flateReaders = sync.Pool{New: func() any { return flate.NewReader(bytes.NewReader(nil)) }}

// predict undoes a TIFF or PNG predictor in place.
func (d *doc) predict(data []byte, parm dict) ([]byte, error) {
	pred, _ := d.intParm(parm, "Predictor")
	if pred <= 1 {
		return data, nil
	}
	colors, ok := d.intParm(parm, "Colors")
	if !ok {
		colors = 1
	}
	bpc, ok := d.intParm(parm, "BitsPerComponent")
	if !ok {
		bpc = 8
	}
	cols, ok := d.intParm(parm, "Columns")
	if !ok {
		cols = 1
	}
	if colors < 1 || colors > 32 || (bpc != 1 && bpc != 2 && bpc != 4 && bpc != 8 && bpc != 16) || cols < 1 || cols > 1<<24 {
		return nil, fmt.Errorf("%w: bad predictor parameters", errFilter)
	}
	bpp := max(1, colors*bpc/8)         // bytes per pixel, for PNG
	rowLen := (colors*bpc*cols + 7) / 8 // at most 2^33 / 8 bits: no overflow
	if pred == 2 {
		if bpc != 8 {
			return nil, fmt.Errorf("%w: TIFF predictor with %d bits per component", errFilter, bpc)
		}
		for r := 0; r+rowLen <= len(data); r += rowLen {
			row := data[r : r+rowLen]
			for i := colors; i < len(row); i++ {
				row[i] += row[i-colors]
			}
		}
		return data, nil
	}
	if pred < 10 {
		return nil, fmt.Errorf("%w: unknown predictor", errFilter)
	}
	// PNG: each row is a filter-type byte and rowLen bytes. Rows are
	// written back over the input, each before the bytes it came from.
	out := data[:0]
	prev := -1 // start of the previous output row in data
	for in := 0; in+1 < len(data); in += rowLen + 1 {
		if err := d.b.tick(); err != nil {
			return nil, err
		}
		end := min(in+1+rowLen, len(data))
		typ := data[in]
		start := len(out)
		out = append(out, data[in+1:end]...)
		row := out[start:]
		var up []byte
		if prev >= 0 {
			up = out[prev : prev+rowLen]
		}
		for i := range row {
			var a, b, c byte
			if i >= bpp {
				a = row[i-bpp]
			}
			if up != nil && i < len(up) {
				b = up[i]
				if i >= bpp {
					c = up[i-bpp]
				}
			}
			switch typ {
			case 1:
				row[i] += a
			case 2:
				row[i] += b
			case 3:
				row[i] += byte((int(a) + int(b)) / 2)
			case 4:
				row[i] += paeth(a, b, c)
			}
		}
		if len(row) < rowLen {
			break
		}
		prev = start
	}
	return out, nil
}

func paeth(a, b, c byte) byte {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
	if pa <= pb && pa <= pc {
		return a
	}
	if pb <= pc {
		return b
	}
	return c
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func (d *doc) unHex(data []byte) ([]byte, error) {
	if err := d.b.decode(int64(len(data) / 2)); err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(data)/2+1)
	var hi byte
	half := false
	for _, c := range data {
		if c == '>' {
			break
		}
		if isSpace[c] {
			continue
		}
		if !isHex(c) {
			return nil, fmt.Errorf("%w: bad hexadecimal data", errFilter)
		}
		if half {
			out = append(out, hi<<4|unhex(c))
		} else {
			hi = unhex(c)
		}
		half = !half
	}
	if half {
		out = append(out, hi<<4)
	}
	return out, nil
}

func (d *doc) unA85(data []byte) ([]byte, error) {
	s := sink{b: d.b}
	var tuple uint32
	n := 0
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case isSpace[c]:
			continue
		case c == '~':
			i = len(data)
			continue
		case c == 'z' && n == 0:
			for range 4 {
				if err := s.byte1(0); err != nil {
					return nil, err
				}
			}
			continue
		case c < '!' || c > 'u':
			return nil, fmt.Errorf("%w: bad ASCII85 data", errFilter)
		}
		tuple = tuple*85 + uint32(c-'!')
		n++
		if n == 5 {
			for k := 3; k >= 0; k-- {
				if err := s.byte1(byte(tuple >> (8 * k))); err != nil {
					return nil, err
				}
			}
			tuple, n = 0, 0
		}
	}
	if n == 1 {
		return nil, fmt.Errorf("%w: bad ASCII85 data", errFilter)
	}
	if n > 1 {
		for k := n; k < 5; k++ {
			tuple = tuple*85 + 84
		}
		for k := 3; k >= 5-n; k-- {
			if err := s.byte1(byte(tuple >> (8 * k))); err != nil {
				return nil, err
			}
		}
	}
	return s.out, nil
}

func (d *doc) unRunLength(data []byte) ([]byte, error) {
	s := sink{b: d.b}
	for i := 0; i < len(data); {
		n := int(data[i])
		i++
		switch {
		case n == 128:
			return s.out, nil
		case n < 128:
			end := min(i+n+1, len(data))
			if err := s.write(data[i:end]); err != nil {
				return nil, err
			}
			i = end
		default:
			if i >= len(data) {
				return s.out, nil
			}
			for range 257 - n {
				if err := s.byte1(data[i]); err != nil {
					return nil, err
				}
			}
			i++
		}
	}
	return s.out, nil
}

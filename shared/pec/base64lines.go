package pec

import "encoding/binary"

// decodeLines decodes base64 text laid out as mail writers do: lines of the
// same length, a multiple of four (76 in practice), each ending in CRLF or LF.
// It decodes eight characters at a time and steps over line ends, where
// base64.Decode falls back to its slow path twice per line. It stops at the
// first line it cannot take whole (padding, another length, other characters,
// no room) and returns how much of src it consumed and of dst it wrote; the
// caller decodes the rest with base64.Decode.
func decodeLines(dst, src []byte) (consumed, written int) {
	width := 0
	for width < len(src) && width < 1024 && b64Value[src[width]] < 64 {
		width++
	}
	if width == 0 || width%4 != 0 {
		return 0, 0
	}
	for {
		rest := src[consumed:]
		eol := 0
		switch {
		case len(rest) > width+1 && rest[width] == '\r' && rest[width+1] == '\n':
			eol = 2
		case len(rest) > width && rest[width] == '\n':
			eol = 1
		default:
			return consumed, written
		}
		if len(dst)-written < width/4*3+8 {
			return consumed, written
		}
		line, out := rest[:width], dst[written:]
		bad := byte(0)
		i, o := 0, 0
		for ; i+8 <= width; i, o = i+8, o+6 {
			a, b, c, d := b64Value[line[i]], b64Value[line[i+1]], b64Value[line[i+2]], b64Value[line[i+3]]
			e, f, g, h := b64Value[line[i+4]], b64Value[line[i+5]], b64Value[line[i+6]], b64Value[line[i+7]]
			bad |= a | b | c | d | e | f | g | h
			binary.BigEndian.PutUint64(out[o:], uint64(a)<<58|uint64(b)<<52|uint64(c)<<46|uint64(d)<<40|
				uint64(e)<<34|uint64(f)<<28|uint64(g)<<22|uint64(h)<<16)
		}
		if i < width { // four more
			a, b, c, d := b64Value[line[i]], b64Value[line[i+1]], b64Value[line[i+2]], b64Value[line[i+3]]
			bad |= a | b | c | d
			binary.BigEndian.PutUint32(out[o:], uint32(a)<<26|uint32(b)<<20|uint32(c)<<14|uint32(d)<<8)
			o += 3
		}
		if bad >= 64 {
			return consumed, written
		}
		consumed += width + eol
		written += o
	}
}

// b64Value maps the standard alphabet to its values and anything else,
// padding included, to 0xff.
var b64Value = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range len(alphabet) {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

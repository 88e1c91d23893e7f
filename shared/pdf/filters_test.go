package pdf

import (
	"bytes"
	"compress/flate"
	"compress/lzw"
	"context"
	"encoding/ascii85"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// decodeWith decodes raw as a stream with the given dictionary entries.
func decodeWith(t *testing.T, dictText string, raw []byte, lim Limits) ([]byte, error) {
	t.Helper()
	b := newBudget(context.Background(), lim, 0)
	d := newDoc(b, []byte("%PDF-1.7\n"))
	p := newParser(b, []byte(dictText), 0, true)
	v, err := p.value(0)
	if err != nil {
		t.Fatalf("dictionary %q: %v", dictText, err)
	}
	return d.decode(&stream{dict: v.(dict), raw: raw})
}

// pngEncode applies a PNG filter to each row (the filter type cycling
// through 0..4), as writers do before compressing.
func pngEncode(data []byte, rowLen, bpp int) []byte {
	var out []byte
	prev := make([]byte, rowLen)
	for r := 0; r*rowLen < len(data); r++ {
		row := data[r*rowLen : min((r+1)*rowLen, len(data))]
		typ := byte(r % 5)
		out = append(out, typ)
		for i, x := range row {
			var a, b, c byte
			if i >= bpp {
				a = row[i-bpp]
				c = prev[i-bpp]
			}
			b = prev[i]
			switch typ {
			case 1:
				x -= a
			case 2:
				x -= b
			case 3:
				x -= byte((int(a) + int(b)) / 2)
			case 4:
				x -= paeth(a, b, c)
			}
			out = append(out, x)
		}
		copy(prev, row)
	}
	return out
}

func TestFilters(t *testing.T) {
	text := []byte(strings.Repeat("BT /F1 12 Tf (Città perché) Tj ET\n", 50))
	var a85 bytes.Buffer
	w85 := ascii85.NewEncoder(&a85)
	w85.Write(text)
	w85.Close()
	var raw bytes.Buffer
	fw, _ := flate.NewWriter(&raw, flate.DefaultCompression)
	fw.Write(text)
	fw.Close()
	pixels := make([]byte, 3*7*9) // 9 rows of 7 RGB pixels
	for i := range pixels {
		pixels[i] = byte(i * i)
	}
	tiff := append([]byte(nil), pixels...)
	for r := 0; r < 9; r++ {
		row := tiff[r*21 : (r+1)*21]
		for i := len(row) - 1; i >= 3; i-- {
			row[i] -= row[i-3]
		}
	}
	var lzwMSB bytes.Buffer
	lw := lzw.NewWriter(&lzwMSB, lzw.MSB, 8)
	lw.Write(text)
	lw.Close()
	for _, c := range []struct {
		name, dict string
		raw, want  []byte
	}{
		{"none", "<<>>", text, text},
		{"flate", "<</Filter /FlateDecode>>", deflate(text), text},
		{"raw deflate", "<</Filter /Fl>>", raw.Bytes(), text},
		{"flate truncated keeps what was decoded", "<</Filter /FlateDecode>>", deflate(text)[:40], nil},
		{"flate with PNG predictors", "<</Filter /FlateDecode /DecodeParms <</Predictor 15 /Colors 3 /Columns 7>>>>", deflate(pngEncode(pixels, 21, 3)), pixels},
		{"flate with TIFF predictor", "<</Filter /FlateDecode /DecodeParms <</Predictor 2 /Colors 3 /Columns 7>>>>", deflate(tiff), pixels},
		{"predictor 1 is none", "<</Filter /FlateDecode /DecodeParms <</Predictor 1>>>>", deflate(text), text},
		{"hex", "<</Filter /ASCIIHexDecode>>", []byte("48 65\n6c6C 6f7>"), []byte("Hellop")},
		{"hex without end", "<</Filter /AHx>>", []byte("4865"), []byte("He")},
		{"ascii85", "<</Filter /ASCII85Decode>>", append(a85.Bytes(), "~>"...), text},
		{"ascii85 z and tail", "<</Filter /A85>>", []byte("z87cURD]i,\"Ebo80~>"), append(make([]byte, 4), "Hello World!"...)},
		{"lzw, spec example", "<</Filter /LZWDecode>>", []byte{0x80, 0x0B, 0x60, 0x50, 0x22, 0x0C, 0x0C, 0x85, 0x01}, []byte("-----A---B")},
		{"lzw without early change", "<</Filter /LZW /DecodeParms <</EarlyChange 0>>>>", lzwMSB.Bytes(), text},
		{"lzw with early change", "<</Filter /LZWDecode>>", lzwEncode(text, true), text},
		{"lzw, long input", "<</Filter /LZWDecode>>", lzwEncode(bytes.Repeat(pixels, 60), true), bytes.Repeat(pixels, 60)},
		{"run length", "<</Filter /RunLengthDecode>>", []byte{2, 'a', 'b', 'c', 253, 'x', 0, 'y', 128, 'z'}, []byte("abcxxxxy")},
		{"run length truncated", "<</Filter /RL>>", []byte{1, 'a', 'b', 250}, []byte("ab")},
		{"chain", "<</Filter [/ASCIIHexDecode /FlateDecode] /DecodeParms [null null]>>", []byte(fmt.Sprintf("%x>", deflate(text))), text},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := decodeWith(t, c.dict, c.raw, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if c.want == nil {
				if len(got) == 0 || !bytes.HasPrefix(text, got) {
					t.Errorf("got %q, want a prefix of the text", got)
				}
				return
			}
			if !bytes.Equal(got, c.want) {
				t.Errorf("got %q\nwant %q", got, c.want)
			}
		})
	}
}

func TestFilterErrors(t *testing.T) {
	for _, c := range []struct {
		name, dict string
		raw        []byte
		want       error
	}{
		{"not flate", "<</Filter /FlateDecode>>", []byte("plain text"), errFilter},
		{"image filter", "<</Filter /DCTDecode>>", []byte{0xff, 0xd8}, errFilter},
		{"unknown filter", "<</Filter /Foo>>", nil, errFilter},
		{"filter not a name", "<</Filter 5>>", nil, errFilter},
		{"bad hex", "<</Filter /ASCIIHexDecode>>", []byte("4G>"), errFilter},
		{"bad ascii85", "<</Filter /ASCII85Decode>>", []byte("ab{~>"), errFilter},
		{"ascii85 one char tail", "<</Filter /ASCII85Decode>>", []byte("abcdea~>"), errFilter},
		{"bad lzw code", "<</Filter /LZWDecode>>", []byte{0xff, 0xff}, errFilter},
		{"predictor 5", "<</Filter /FlateDecode /DecodeParms <</Predictor 5>>>>", deflate([]byte("x")), errFilter},
		{"TIFF predictor of 16 bits", "<</Filter /FlateDecode /DecodeParms <</Predictor 2 /BitsPerComponent 16>>>>", deflate([]byte("xx")), errFilter},
		{"predictor with 3 bits", "<</Filter /FlateDecode /DecodeParms <</Predictor 12 /BitsPerComponent 3>>>>", deflate([]byte("x")), errFilter},
		{"predictor with no columns", "<</Filter /FlateDecode /DecodeParms <</Predictor 12 /Columns 0>>>>", deflate([]byte("x")), errFilter},
		{"flate bomb", "<</Filter /FlateDecode>>", deflate(make([]byte, 3<<20)), ErrLimit},
		{"run length bomb", "<</Filter /RunLengthDecode>>", bytes.Repeat([]byte{129, 0}, 50_000), ErrLimit},
		{"ascii85 bomb", "<</Filter /ASCII85Decode>>", bytes.Repeat([]byte("z"), 1<<20), ErrLimit},
		{"lzw bomb", "<</Filter /LZWDecode>>", lzwEncode(make([]byte, 3<<20), true), ErrLimit},
		{"hex over the limit", "<</Filter /ASCIIHexDecode>>", bytes.Repeat([]byte("00"), 3<<20), ErrLimit},
		{"limit over a chain", "<</Filter [/FlateDecode /FlateDecode]>>", deflate(deflate(make([]byte, 3<<20))), ErrLimit},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := decodeWith(t, c.dict, c.raw, Limits{MaxDecoded: 2 << 20})
			if !errors.Is(err, c.want) {
				t.Errorf("got %d bytes, %v; want %v", len(got), err, c.want)
			}
		})
	}
}

// lzwEncode writes PDF LZW codes: 9 to 12 bits, clear code first and when
// the table is full, early change as the PDF default.
func lzwEncode(data []byte, early bool) []byte {
	var out []byte
	var acc uint64
	bits := 0
	width := 9
	put := func(code int) {
		acc = acc<<width | uint64(code)
		bits += width
		for bits >= 8 {
			out = append(out, byte(acc>>(bits-8)))
			bits -= 8
		}
	}
	off := 0
	if early {
		off = 1
	}
	// The decoder adds an entry one code later than the encoder: its
	// table is one entry shorter when it reads the next code.
	setWidth := func(next int) {
		next--
		switch {
		case next+off >= 2048:
			width = 12
		case next+off >= 1024:
			width = 11
		case next+off >= 512:
			width = 10
		default:
			width = 9
		}
	}
	table := map[int]int{} // prefix code<<8 | byte -> code
	next := 258
	put(256)
	cur := -1
	for _, c := range data {
		if cur < 0 {
			cur = int(c)
			continue
		}
		if k, ok := table[cur<<8|int(c)]; ok {
			cur = k
			continue
		}
		put(cur)
		table[cur<<8|int(c)] = next
		next++
		setWidth(next)
		if next >= 4095 {
			put(256)
			clear(table)
			next = 258
			width = 9
		}
		cur = int(c)
	}
	if cur >= 0 {
		put(cur)
	}
	put(257)
	if bits > 0 {
		out = append(out, byte(acc<<(8-bits)))
	}
	return out
}

package pec

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"sync"
)

// Attachments are decoded and hashed in one pass over the raw message: base64
// lines are gathered into a staging buffer and decoded in large blocks (the
// standard library's stream decoder filters every byte), and 7bit, 8bit and
// binary bodies are hashed in place. The result is that of the stream decoder
// (FuzzBase64 compares them): white space ignored, data after padding or an
// incomplete last quantum an error.

const stageSize = 48 << 10 // a multiple of 4

var errBase64 = errors.New("illegal base64 data")

// decodeBase64 writes the decoding of src to dst. stage is scratch space of
// at least stageSize bytes, out of at least stageSize*3/4.
//
// Lines of a multiple of four characters (all writers' 76) are decoded in
// place, in blocks ending at a line end: base64.Decode skips CR and LF itself.
// Other line lengths and spaces go through the staging buffer.
func decodeBase64(dst io.Writer, src, stage, out []byte) (int64, error) {
	var total int64
	padded := false
	block := len(out) / 3 * 4
	for len(src) > 0 {
		c := src[:min(len(src), block)]
		if len(c) < len(src) {
			j := bytes.LastIndexByte(c, '\n')
			if j < 0 {
				break
			}
			c = c[:j+1]
		}
		used, dn := decodeLines(out, c)
		rn, err := base64.StdEncoding.Decode(out[dn:], c[used:])
		if err != nil {
			break // let the staging path decide, from this block on
		}
		dn += rn
		if dn > 0 {
			if padded {
				return total, errBase64
			}
			if _, err := dst.Write(out[:dn]); err != nil {
				return total, err
			}
			total += int64(dn)
			padded = bytes.HasSuffix(bytes.TrimRight(c, "\r\n"), []byte("="))
		}
		src = src[len(c):]
	}
	if len(src) == 0 {
		return total, nil
	}
	n, err := decodeBase64Staged(dst, src, stage, out, padded)
	return total + n, err
}

// decodeBase64Staged gathers the base64 characters of src, without white
// space, into stage and decodes them in blocks of whole quanta.
func decodeBase64Staged(dst io.Writer, src, stage, out []byte, padded bool) (int64, error) {
	stage = stage[:0]
	var total int64
	flush := func(final bool) error {
		n := len(stage)
		if !final {
			n -= n % 4
		}
		if n == 0 {
			return nil
		}
		if final && n%4 != 0 {
			return errBase64
		}
		for done := 0; done < n; {
			if padded {
				return errBase64
			}
			end := min(n, done+len(out)/3*4)
			dn, err := base64.StdEncoding.Decode(out, stage[done:end])
			if err != nil {
				return errBase64
			}
			padded = stage[end-1] == '='
			if _, err := dst.Write(out[:dn]); err != nil {
				return err
			}
			total += int64(dn)
			done = end
		}
		stage = append(stage[:0], stage[n:]...)
		return nil
	}
	for len(src) > 0 {
		line := src
		if nl := bytes.IndexByte(src, '\n'); nl >= 0 {
			line, src = src[:nl], src[nl+1:]
		} else {
			src = nil
		}
		for _, c := range line {
			if c != ' ' && c != '\t' && c != '\r' {
				stage = append(stage, c)
			}
		}
		if len(stage) >= stageSize-80 {
			if err := flush(false); err != nil {
				return total, err
			}
		}
	}
	return total, flush(true)
}

// transferBuffers are the scratch buffers of one read.
type transferBuffers struct{ stage, out []byte }

var bufferPool = sync.Pool{New: func() any {
	return &transferBuffers{stage: make([]byte, 0, stageSize+128), out: make([]byte, stageSize)}
}}

func (ctx *readCtx) buffers() *transferBuffers {
	if ctx.tb == nil {
		ctx.tb = bufferPool.Get().(*transferBuffers)
	}
	return ctx.tb
}

// release returns the read's scratch buffers; the Message keeps none of them.
func (ctx *readCtx) release() {
	if ctx.tb != nil {
		bufferPool.Put(ctx.tb)
		ctx.tb = nil
	}
}

// hashBody returns the decoded size and SHA-256 of e's body.
func (ctx *readCtx) hashBody(e *entity) (int64, []byte, error) {
	h := sha256.New()
	n, err := ctx.decodeTo(h, e)
	if err != nil {
		return 0, nil, err
	}
	return n, h.Sum(nil), nil
}

// decodeTo writes e's decoded body to w.
func (ctx *readCtx) decodeTo(w io.Writer, e *entity) (int64, error) {
	switch enc := e.encoding(); enc {
	case "base64":
		tb := ctx.buffers()
		return decodeBase64(w, e.body(), tb.stage, tb.out)
	case "quoted-printable":
		return io.CopyBuffer(w, decodeTransfer(enc, bytes.NewReader(e.body())), ctx.copyBuf())
	default:
		n, err := w.Write(e.body())
		return int64(n), err
	}
}

// decodeAll returns e's decoded body; for 7bit, 8bit and binary, the body
// itself, which the caller must not modify.
func (ctx *readCtx) decodeAll(e *entity) ([]byte, error) {
	var b bytes.Buffer
	switch e.encoding() {
	case "base64":
		b.Grow(len(e.body()) * 3 / 4)
		tb := ctx.buffers()
		_, err := decodeBase64(&b, e.body(), tb.stage, tb.out)
		return b.Bytes(), err
	case "quoted-printable":
		return io.ReadAll(decodeTransfer("quoted-printable", bytes.NewReader(e.body())))
	}
	return e.body(), nil
}

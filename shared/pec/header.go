package pec

import (
	"bytes"
	"io"
	"mime"
	"net/mail"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"golang.org/x/text/encoding/charmap"
)

// HeaderField is one header field, unfolded, not decoded.
type HeaderField struct {
	Key   string
	Value string
}

// Header is a message or part header. Lookups are case-insensitive
// (real mail has X-Tiporicevuta for X-TipoRicevuta).
type Header struct {
	fields []HeaderField
}

// Fields returns the fields in their order. The caller must not modify them.
func (h Header) Fields() []HeaderField { return h.fields }

// Len is the number of fields.
func (h Header) Len() int { return len(h.fields) }

// Get returns the first value of the field named k, unfolded and trimmed, not decoded.
func (h Header) Get(k string) string {
	for _, f := range h.fields {
		if strings.EqualFold(f.Key, k) {
			return f.Value
		}
	}
	return ""
}

// Has reports whether a field named k is present.
func (h Header) Has(k string) bool {
	for _, f := range h.fields {
		if strings.EqualFold(f.Key, k) {
			return true
		}
	}
	return false
}

// Values returns every value of the field named k.
func (h Header) Values(k string) []string {
	var vs []string
	for _, f := range h.fields {
		if strings.EqualFold(f.Key, k) {
			vs = append(vs, f.Value)
		}
	}
	return vs
}

// Text returns the value of the field named k with RFC 2047 encoded words and
// 8-bit text (UTF-8, else windows-1252) decoded.
func (h Header) Text(k string) string { return decodeText(h.Get(k)) }

// Addresses parses the field named k as an address list and returns the addresses
// (without display names). Unparsable fields yield what can be recovered.
func (h Header) Addresses(k string) []string {
	v := h.Get(k)
	if v == "" {
		return nil
	}
	p := mail.AddressParser{WordDecoder: wordDecoder}
	list, err := p.ParseList(toUTF8(v))
	if err == nil {
		out := make([]string, 0, len(list))
		for _, a := range list {
			out = append(out, a.Address)
		}
		return out
	}
	// Fall back: anything between angle brackets, else comma separated words with @.
	var out []string
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if i := strings.LastIndexByte(part, '<'); i >= 0 {
			if j := strings.IndexByte(part[i:], '>'); j > 0 {
				part = part[i+1 : i+j]
			}
		}
		if strings.Contains(part, "@") && !strings.ContainsAny(part, " \t\"") {
			out = append(out, part)
		}
	}
	return out
}

// MessageID returns the field named k as a message identifier with angle brackets
// (added when missing), or "".
func (h Header) MessageID(k string) string { return normalizeMsgID(h.Get(k)) }

func normalizeMsgID(v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			return v[i : i+j+1]
		}
	}
	if strings.ContainsAny(v, " \t") {
		v = strings.Fields(v)[0]
	}
	return "<" + strings.Trim(v, "<>") + ">"
}

// Add appends a field; used by writers and tests.
func (h *Header) Add(k, v string) { h.fields = append(h.fields, HeaderField{k, v}) }

var wordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

// decodeText decodes RFC 2047 words; raw 8-bit text is taken as UTF-8 when valid,
// else as windows-1252 (a superset of the printable iso-8859-1).
func decodeText(s string) string {
	s = toUTF8(s)
	if !strings.Contains(s, "=?") {
		return s
	}
	d, err := wordDecoder.DecodeHeader(s)
	if err != nil {
		return s
	}
	return d
}

func toUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	d, err := charmap.Windows1252.NewDecoder().String(s)
	if err != nil {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	return d
}

// charsetReader converts r from the named charset to UTF-8.
func charsetReader(name string, r io.Reader) (io.Reader, error) {
	switch strings.ToLower(name) {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		return r, nil
	}
	return charset.Reader(name, r)
}

// parseHeader reads the header block of the entity starting at buf[start:end].
// It returns the header, the offset of the body and the problems found.
func parseHeader(buf []byte, start, end int, lim *limits, probs *[]Problem) (Header, int) {
	var h Header
	// One string for the whole block: keys and values are substrings of it.
	blockEnd := skipToBlankLine(buf, start, min(end, start+lim.maxHeaderBytes+1))
	block := string(buf[start:blockEnd])
	pos := 0
	size := 0
	malformed := 0
	truncatedFields := false
	bodyStart := -1
	for pos < len(block) && bodyStart < 0 {
		nl := strings.IndexByte(block[pos:], '\n')
		next := len(block)
		lineEnd := len(block)
		if nl >= 0 {
			lineEnd = pos + nl
			next = lineEnd + 1
		}
		line := strings.TrimSuffix(block[pos:lineEnd], "\r")
		if len(line) == 0 {
			bodyStart = start + next
			break
		}
		size += next - pos
		if size > lim.maxHeaderBytes {
			addProblem(probs, ProblemHeader, "header block larger than the limit; the rest of it was skipped")
			return h, skipToBlankLine(buf, start+pos, end)
		}
		switch {
		case line[0] == ' ' || line[0] == '\t':
			if len(h.fields) > 0 && !truncatedFields {
				f := &h.fields[len(h.fields)-1]
				f.Value = joinFolded(f.Value, strings.TrimSpace(line))
			}
		case pos == 0 && strings.HasPrefix(line, "From "):
			// mbox separator line: not a header field
		default:
			colon := strings.IndexByte(line, ':')
			if colon <= 0 || !validKey(line[:colon]) {
				malformed++
				break
			}
			if len(h.fields) >= lim.maxHeaderFields {
				if !truncatedFields {
					addProblem(probs, ProblemHeader, "too many header fields; the rest were ignored")
				}
				truncatedFields = true
				break
			}
			if h.fields == nil {
				h.fields = make([]HeaderField, 0, 16)
			}
			h.fields = append(h.fields, HeaderField{Key: line[:colon], Value: strings.TrimSpace(line[colon+1:])})
		}
		pos = next
	}
	if malformed > 0 {
		addProblem(probs, ProblemHeader, strconv.Itoa(malformed)+" malformed header line(s) ignored")
	}
	if bodyStart >= 0 {
		return h, bodyStart
	}
	// no blank line: header up to the end, no body
	if len(h.fields) > 0 {
		addProblem(probs, ProblemTruncated, "header not terminated by an empty line")
	}
	return h, end
}

func joinFolded(a, b string) string {
	if a == "" {
		return b
	}
	if b == "" {
		return a
	}
	return a + " " + b
}

func validKey(k string) bool {
	for _, c := range k {
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

func skipToBlankLine(buf []byte, pos, end int) int {
	for pos < end {
		nl := bytes.IndexByte(buf[pos:end], '\n')
		if nl < 0 {
			return end
		}
		next := pos + nl + 1
		line := bytes.TrimSuffix(buf[pos:pos+nl], []byte{'\r'})
		if len(line) == 0 {
			return next
		}
		pos = next
	}
	return end
}

func addProblem(probs *[]Problem, c ProblemCode, detail string) {
	if len(*probs) >= 100 {
		return
	}
	for _, p := range *probs {
		if p.Code == c && p.Detail == detail {
			return
		}
	}
	*probs = append(*probs, Problem{Code: c, Detail: detail})
}

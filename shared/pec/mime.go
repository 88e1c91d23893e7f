package pec

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/quotedprintable"
	"strings"
)

// limits bound the work and memory spent on one message.
type limits struct {
	maxDepth        int
	maxParts        int
	maxHeaderBytes  int
	maxHeaderFields int
	parts           int // parts seen so far
}

// entity is one MIME entity, located by offsets into buf (the raw message, or a
// decoded copy for encoded message/rfc822 and opaque-signed content).
type entity struct {
	buf       []byte
	start     int // first byte of the header
	bodyStart int // first byte of the body
	end       int // one past the last byte of the body
	header    Header
	mediaType string // lower case, "text/plain" by default
	params    map[string]string
	children  []*entity // multipart parts
	inner     *entity   // message/rfc822 content
	decrypted *entity   // the opened content of S/MIME enveloped-data
	depth     int
	name      *string // filename(), once computed
}

// body returns the raw (transfer-encoded) body.
func (e *entity) body() []byte { return e.buf[e.bodyStart:e.end] }

// raw returns the whole entity, header and body, as in the message.
func (e *entity) raw() []byte { return e.buf[e.start:e.end] }

func (e *entity) encoding() string {
	return strings.ToLower(strings.TrimSpace(e.header.Get("Content-Transfer-Encoding")))
}

// filename returns the Content-Disposition filename, else the Content-Type name, decoded.
func (e *entity) filename() string {
	if e.name == nil {
		n := e.findFilename()
		e.name = &n
	}
	return *e.name
}

func (e *entity) findFilename() string {
	if v := e.header.Get("Content-Disposition"); v != "" {
		if _, p, err := mime.ParseMediaType(v); err == nil && p["filename"] != "" {
			return decodeText(p["filename"])
		}
		if n := looseParam(v, "filename"); n != "" {
			return decodeText(n)
		}
	}
	if n := e.params["name"]; n != "" {
		return decodeText(n)
	}
	return decodeText(looseParam(e.header.Get("Content-Type"), "name"))
}

func (e *entity) disposition() string {
	v := e.header.Get("Content-Disposition")
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	return strings.ToLower(strings.TrimSpace(v))
}

// looseParam extracts name="value" from a header value that mime.ParseMediaType refused.
func looseParam(v, name string) string {
	lv := strings.ToLower(v)
	i := strings.Index(lv, name+"=")
	for i > 0 && lv[i-1] != ';' && lv[i-1] != ' ' && lv[i-1] != '\t' {
		j := strings.Index(lv[i+1:], name+"=")
		if j < 0 {
			return ""
		}
		i += 1 + j
	}
	if i < 0 {
		return ""
	}
	rest := v[i+len(name)+1:]
	if strings.HasPrefix(rest, `"`) {
		if j := strings.IndexByte(rest[1:], '"'); j >= 0 {
			return rest[1 : 1+j]
		}
		return rest[1:]
	}
	if j := strings.IndexAny(rest, "; \t"); j >= 0 {
		return rest[:j]
	}
	return rest
}

// parseEntity parses the entity at buf[start:end] and, recursively, its parts.
func parseEntity(buf []byte, start, end, depth int, lim *limits, probs *[]Problem) *entity {
	lim.parts++
	e := &entity{buf: buf, start: start, end: end, depth: depth}
	e.header, e.bodyStart = parseHeader(buf, start, end, lim, probs)
	e.mediaType, e.params = "text/plain", map[string]string{}
	if ct := e.header.Get("Content-Type"); ct != "" {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil && mt == "" {
			// mime.ParseMediaType is strict about parameters; keep what can be read.
			mt = strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]))
			params = map[string]string{}
			for _, k := range []string{"boundary", "charset", "name", "protocol", "smime-type", "report-type"} {
				if v := looseParam(ct, k); v != "" {
					params[k] = v
				}
			}
			if !strings.Contains(mt, "/") {
				addProblem(probs, ProblemMIME, "unreadable Content-Type")
				mt = "application/octet-stream"
			}
		}
		e.mediaType, e.params = mt, params
	}
	if depth >= lim.maxDepth {
		if strings.HasPrefix(e.mediaType, "multipart/") || e.mediaType == "message/rfc822" {
			addProblem(probs, ProblemLimit, "MIME nesting deeper than the limit; inner parts ignored")
		}
		return e
	}
	switch {
	case strings.HasPrefix(e.mediaType, "multipart/"):
		b := e.params["boundary"]
		if b == "" {
			addProblem(probs, ProblemMIME, "multipart without boundary")
			return e
		}
		parts, closed := splitMultipart(buf, e.bodyStart, end, b)
		if !closed {
			addProblem(probs, ProblemTruncated, "multipart body without closing delimiter")
		}
		for _, p := range parts {
			if lim.parts >= lim.maxParts {
				addProblem(probs, ProblemLimit, "more MIME parts than the limit; the rest were ignored")
				break
			}
			e.children = append(e.children, parseEntity(buf, p[0], p[1], depth+1, lim, probs))
		}
	case e.mediaType == "message/rfc822" || e.mediaType == "message/global":
		switch enc := e.encoding(); enc {
		case "", "7bit", "8bit", "binary":
			e.inner = parseEntity(buf, e.bodyStart, end, depth+1, lim, probs)
		default:
			dec, err := io.ReadAll(decodeTransfer(enc, bytes.NewReader(e.body())))
			if err != nil {
				addProblem(probs, ProblemEncoding, "encoded message/rfc822 part could not be decoded")
			}
			if len(dec) > 0 {
				e.inner = parseEntity(dec, 0, len(dec), depth+1, lim, probs)
			}
		}
	}
	return e
}

// splitMultipart returns the [start,end) ranges of the parts of a multipart body,
// and whether the closing delimiter was found. The line break before a delimiter
// belongs to the delimiter (RFC 2046 §5.1.1), so part ranges exclude it.
func splitMultipart(buf []byte, start, end int, boundary string) (parts [][2]int, closed bool) {
	delim := []byte("--" + boundary)
	partStart := -1
	i := start
	for i < end {
		j := bytes.Index(buf[i:end], delim)
		if j < 0 {
			break
		}
		d := i + j
		if d != start && buf[d-1] != '\n' {
			i = d + 1
			continue
		}
		after := d + len(delim)
		isClose := bytes.HasPrefix(buf[after:end], []byte("--"))
		if isClose {
			after += 2
		}
		// rest of the line must be transport padding
		lineEnd := end
		if nl := bytes.IndexByte(buf[after:end], '\n'); nl >= 0 {
			lineEnd = after + nl
		}
		if len(bytes.Trim(buf[after:lineEnd], " \t\r")) != 0 {
			i = d + 1
			continue
		}
		if partStart >= 0 {
			pe := d
			if pe > partStart && buf[pe-1] == '\n' {
				pe--
				if pe > partStart && buf[pe-1] == '\r' {
					pe--
				}
			}
			parts = append(parts, [2]int{partStart, pe})
		}
		next := lineEnd
		if next < end {
			next++
		}
		if isClose {
			return parts, true
		}
		partStart = next
		i = next
	}
	if partStart >= 0 && partStart <= end {
		parts = append(parts, [2]int{partStart, end})
	}
	return parts, false
}

// decodeTransfer undoes a Content-Transfer-Encoding. Unknown encodings pass through.
func decodeTransfer(enc string, r io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(enc)) {
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, &base64Cleaner{r: r})
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	}
	return r
}

// base64Cleaner drops the white space that base64.NewDecoder does not skip
// (spaces and tabs; it skips CR and LF itself).
type base64Cleaner struct{ r io.Reader }

func (c *base64Cleaner) Read(p []byte) (int, error) {
	for {
		n, err := c.r.Read(p)
		w := 0
		for i := 0; i < n; i++ {
			if b := p[i]; b != ' ' && b != '\t' {
				p[w] = b
				w++
			}
		}
		if w > 0 || err != nil {
			return w, err
		}
	}
}

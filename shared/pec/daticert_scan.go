package pec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
)

// The daticert.xml reader is a small hand-written XML scanner: it checks what
// encoding/xml checks for well-formedness (nesting, attribute syntax,
// references, comments, UTF-8) and fills the fields of the one document type it
// reads, at a fraction of encoding/xml's cost. FuzzDaticertScanner compares it
// with encoding/xml.

// errIllegalChar reports a character that XML 1.0 does not allow (raw or as a
// character reference); ParseDaticert then removes them and reads again.
var errIllegalChar = errors.New("character not allowed in XML")

// rawDaticert holds the values as written, before defaults and checks.
type rawDaticert struct {
	tipo, errore                       string
	hasErrore                          bool
	mittente, risposte, oggetto        string
	destinatari                        []rawRecipient
	gestore, zona, giorno, ora         string
	identificativo, msgid              string
	ricevuta                           bool
	ricevutaTipo                       string
	hasRicevutaTipo                    bool
	consegna, erroreEsteso             string
	ricezione                          []string
	dataSeen                           bool
	declaredEncoding, convertedCharset string
}

type rawRecipient struct {
	tipo    string
	hasTipo bool
	value   string
}

type xmlScanner struct {
	s   []byte
	i   int
	out *rawDaticert
	// path holds the local names of the open elements.
	path  []string
	texts [][]byte // direct character data of each open element
}

func (x *xmlScanner) errorf(format string, a ...any) error {
	return fmt.Errorf("at byte %d: "+format, append([]any{x.i}, a...)...)
}

// scanDaticert reads a daticert.xml document.
func scanDaticert(doc []byte) (*rawDaticert, error) {
	out := &rawDaticert{}
	doc = bytes.TrimPrefix(doc, []byte("\xef\xbb\xbf"))
	if enc := xmlDeclEncoding(doc); enc != "" {
		out.declaredEncoding = enc
		switch strings.ToLower(enc) {
		case "utf-8", "utf8":
		default:
			r, err := charset.Reader(enc, bytes.NewReader(doc))
			if err != nil {
				return nil, fmt.Errorf("unsupported encoding %q", enc)
			}
			conv, err := io.ReadAll(r)
			if err != nil {
				return nil, fmt.Errorf("unreadable %s text", enc)
			}
			doc = conv
			out.convertedCharset = enc
		}
	}
	x := &xmlScanner{s: doc, out: out}
	if err := x.document(); err != nil {
		return nil, err
	}
	return out, nil
}

// xmlDeclEncoding returns the encoding pseudo-attribute of the XML declaration.
func xmlDeclEncoding(doc []byte) string {
	if !bytes.HasPrefix(doc, []byte("<?xml")) {
		return ""
	}
	end := bytes.Index(doc, []byte("?>"))
	if end < 0 {
		return ""
	}
	decl := string(doc[5:end])
	i := strings.Index(decl, "encoding")
	if i < 0 {
		return ""
	}
	rest := strings.TrimLeft(decl[i+len("encoding"):], " \t\r\n")
	if !strings.HasPrefix(rest, "=") {
		return ""
	}
	rest = strings.TrimLeft(rest[1:], " \t\r\n")
	if rest == "" || (rest[0] != '"' && rest[0] != '\'') {
		return ""
	}
	q := rest[0]
	j := strings.IndexByte(rest[1:], q)
	if j < 0 {
		return ""
	}
	return rest[1 : 1+j]
}

func (x *xmlScanner) document() error {
	// Prolog: declaration, comments, processing instructions, doctype, and (as
	// encoding/xml tolerates) character data before the root element.
	for {
		lt := bytes.IndexByte(x.s[x.i:], '<')
		if lt < 0 {
			return errors.New("no postacert element")
		}
		if err := x.checkChars(x.s[x.i : x.i+lt]); err != nil {
			return err
		}
		x.i += lt
		switch {
		case x.has("<?"):
			if err := x.skipPI(); err != nil {
				return err
			}
		case x.has("<!--"):
			if err := x.skipComment(); err != nil {
				return err
			}
		case x.has("<!"):
			if err := x.skipDirective(); err != nil {
				return err
			}
		case x.has("</"):
			return x.errorf("end tag before the root element")
		default:
			name, err := x.startTag()
			if err != nil {
				return err
			}
			if name != "postacert" {
				return fmt.Errorf("root element is <%s>, not <postacert>", name)
			}
			if len(x.path) == 0 { // <postacert/>
				return nil
			}
			return x.content()
		}
	}
}

func (x *xmlScanner) has(p string) bool { return bytes.HasPrefix(x.s[x.i:], []byte(p)) }

func (x *xmlScanner) skipPI() error {
	end := bytes.Index(x.s[x.i+2:], []byte("?>"))
	if end < 0 {
		return x.errorf("unterminated processing instruction")
	}
	x.i += 2 + end + 2
	return nil
}

func (x *xmlScanner) skipComment() error {
	body := x.s[x.i+4:]
	end := bytes.Index(body, []byte("--"))
	if end < 0 {
		return x.errorf("unterminated comment")
	}
	if end+2 >= len(body) || body[end+2] != '>' {
		return x.errorf(`"--" inside a comment`)
	}
	x.i += 4 + end + 3
	return nil
}

// skipDirective skips <!DOCTYPE ...> and any other <!...> directive as
// encoding/xml does: quotes may hold '>', nested '<' '>' pairs and comments.
func (x *xmlScanner) skipDirective() error {
	depth := 0
	var quote byte
	for j := x.i + 2; j < len(x.s); j++ {
		c := x.s[j]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>' && depth == 0:
			x.i = j + 1
			return nil
		case c == '>':
			depth--
		case c == '<':
			if bytes.HasPrefix(x.s[j:], []byte("<!--")) {
				end := bytes.Index(x.s[j+4:], []byte("-->"))
				if end < 0 {
					return x.errorf("unterminated comment")
				}
				j += 4 + end + 2
				continue
			}
			depth++
		}
	}
	return x.errorf("unterminated directive")
}

func isNameByte(c byte, first bool) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c == ':', c >= 0x80:
		return true
	case !first && (c >= '0' && c <= '9' || c == '-' || c == '.'):
		return true
	}
	return false
}

func (x *xmlScanner) name() (string, error) {
	start := x.i
	for x.i < len(x.s) && isNameByte(x.s[x.i], x.i == start) {
		x.i++
	}
	if x.i == start {
		return "", x.errorf("expected a name")
	}
	n := x.s[start:x.i]
	if !utf8.Valid(n) {
		return "", x.errorf("invalid UTF-8")
	}
	return localName(string(n)), nil
}

// localName drops a namespace prefix, as encoding/xml matches on local names.
func localName(n string) string {
	if p, l, ok := strings.Cut(n, ":"); ok && p != "" && l != "" {
		return l
	}
	return n
}

func (x *xmlScanner) space() bool {
	start := x.i
	for x.i < len(x.s) {
		switch x.s[x.i] {
		case ' ', '\t', '\r', '\n':
			x.i++
			continue
		}
		break
	}
	return x.i > start
}

// startTag reads <name attr="v" ...> or <name .../> at x.i. It pushes the
// element unless it is empty, in which case it is also closed.
func (x *xmlScanner) startTag() (string, error) {
	x.i++ // '<'
	name, err := x.name()
	if err != nil {
		return "", err
	}
	var attrs [][2]string
	for {
		x.space() // encoding/xml does not require it between attributes
		if x.i >= len(x.s) {
			return "", x.errorf("unterminated tag <%s>", name)
		}
		if x.s[x.i] == '>' || x.has("/>") {
			break
		}
		an, err := x.name()
		if err != nil {
			return "", err
		}
		x.space()
		if x.i >= len(x.s) || x.s[x.i] != '=' {
			return "", x.errorf("attribute without value")
		}
		x.i++
		x.space()
		if x.i >= len(x.s) || (x.s[x.i] != '"' && x.s[x.i] != '\'') {
			return "", x.errorf("unquoted attribute value")
		}
		q := x.s[x.i]
		end := bytes.IndexByte(x.s[x.i+1:], q)
		if end < 0 {
			return "", x.errorf("unterminated attribute value")
		}
		raw := x.s[x.i+1 : x.i+1+end]
		if bytes.IndexByte(raw, '<') >= 0 {
			return "", x.errorf("'<' inside an attribute value")
		}
		v, err := x.unescape(raw)
		if err != nil {
			return "", err
		}
		x.i += end + 2
		attrs = append(attrs, [2]string{an, v})
	}
	x.path = append(x.path, name)
	x.texts = append(x.texts, nil)
	x.open(attrs)
	if x.has("/>") {
		x.i += 2
		x.close()
		return name, nil
	}
	x.i++
	return name, nil
}

// content reads the root element's content up to its end tag.
func (x *xmlScanner) content() error {
	for len(x.path) > 0 {
		lt := bytes.IndexByte(x.s[x.i:], '<')
		if lt < 0 {
			return x.errorf("element <%s> not closed", x.path[len(x.path)-1])
		}
		if lt > 0 {
			raw := x.s[x.i : x.i+lt]
			if bytes.Contains(raw, []byte("]]>")) {
				return x.errorf(`"]]>" outside a CDATA section`)
			}
			t, err := x.unescape(raw)
			if err != nil {
				return err
			}
			x.appendText(t)
			x.i += lt
		}
		switch {
		case x.has("</"):
			x.i += 2
			n, err := x.name()
			if err != nil {
				return err
			}
			x.space()
			if x.i >= len(x.s) || x.s[x.i] != '>' {
				return x.errorf("malformed end tag </%s>", n)
			}
			x.i++
			if open := x.path[len(x.path)-1]; n != open {
				return x.errorf("element <%s> closed by </%s>", open, n)
			}
			x.close()
		case x.has("<![CDATA["):
			end := bytes.Index(x.s[x.i+9:], []byte("]]>"))
			if end < 0 {
				return x.errorf("unterminated CDATA section")
			}
			data := x.s[x.i+9 : x.i+9+end]
			if err := x.checkChars(data); err != nil {
				return err
			}
			x.appendText(string(data))
			x.i += 9 + end + 3
		case x.has("<!--"):
			if err := x.skipComment(); err != nil {
				return err
			}
		case x.has("<?"):
			if err := x.skipPI(); err != nil {
				return err
			}
		case x.has("<!"):
			if err := x.skipDirective(); err != nil {
				return err
			}
		default:
			if _, err := x.startTag(); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkChars reports raw characters that XML does not allow, and invalid UTF-8.
func (x *xmlScanner) checkChars(b []byte) error {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return errIllegalChar
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return errInvalidUTF8
		}
		if !xmlChar(r) {
			return errIllegalChar
		}
		i += n
	}
	return nil
}

var errInvalidUTF8 = errors.New("invalid UTF-8")

func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// unescape resolves references in character data or an attribute value.
func (x *xmlScanner) unescape(b []byte) (string, error) {
	if err := x.checkChars(b); err != nil {
		return "", err
	}
	amp := bytes.IndexByte(b, '&')
	if amp < 0 {
		return string(b), nil
	}
	var out strings.Builder
	out.Grow(len(b))
	for amp >= 0 {
		out.Write(b[:amp])
		b = b[amp:]
		semi := bytes.IndexByte(b, ';')
		if semi < 0 || semi > 12 {
			return "", x.errorf("invalid character reference (no semicolon)")
		}
		ref := string(b[1:semi])
		switch ref {
		case "lt":
			out.WriteByte('<')
		case "gt":
			out.WriteByte('>')
		case "amp":
			out.WriteByte('&')
		case "apos":
			out.WriteByte('\'')
		case "quot":
			out.WriteByte('"')
		default:
			r, err := charRef(ref)
			if err != nil {
				return "", x.errorf("%v", err)
			}
			if !xmlChar(r) {
				if r >= 0xD800 && r <= 0xDFFF {
					// encoding/xml takes a reference to a surrogate and drops it
					break
				}
				return "", errIllegalChar
			}
			out.WriteRune(r)
		}
		b = b[semi+1:]
		amp = bytes.IndexByte(b, '&')
	}
	out.Write(b)
	return out.String(), nil
}

func charRef(ref string) (rune, error) {
	var n uint64
	var err error
	switch {
	case strings.HasPrefix(ref, "#x"):
		n, err = strconv.ParseUint(ref[2:], 16, 32)
	case strings.HasPrefix(ref, "#"):
		n, err = strconv.ParseUint(ref[1:], 10, 32)
	default:
		return 0, errors.New("unknown entity reference")
	}
	if err != nil || n > utf8.MaxRune || ref == "#" || ref == "#x" {
		return 0, errors.New("invalid character reference")
	}
	return rune(n), nil
}

func (x *xmlScanner) appendText(t string) {
	top := &x.texts[len(x.texts)-1]
	*top = append(*top, t...)
}

// at reports whether the open elements are exactly the given path below postacert.
func (x *xmlScanner) at(p ...string) bool {
	if len(x.path) != len(p)+1 {
		return false
	}
	for i, n := range p {
		if x.path[i+1] != n {
			return false
		}
	}
	return true
}

// open takes the attributes of the element just opened.
func (x *xmlScanner) open(attrs [][2]string) {
	d := x.out
	attr := func(k string) (string, bool) {
		v, ok := "", false
		for _, a := range attrs { // the last one wins, as in encoding/xml
			if a[0] == k {
				v, ok = a[1], true
			}
		}
		return v, ok
	}
	switch {
	case len(x.path) == 1:
		if v, ok := attr("tipo"); ok {
			d.tipo = v
		}
		if v, ok := attr("errore"); ok {
			d.errore, d.hasErrore = v, true
		}
	case x.at("intestazione", "destinatari"):
		v, ok := attr("tipo")
		d.destinatari = append(d.destinatari, rawRecipient{tipo: v, hasTipo: ok})
	case x.at("dati", "data"):
		d.dataSeen = true
		if v, ok := attr("zona"); ok {
			d.zona = v
		}
	case x.at("dati", "ricevuta"):
		d.ricevuta = true
		if v, ok := attr("tipo"); ok {
			d.ricevutaTipo, d.hasRicevutaTipo = v, true
		}
	}
}

// close ends the innermost element and files its character data.
func (x *xmlScanner) close() {
	d := x.out
	t := string(x.texts[len(x.texts)-1])
	switch {
	case x.at("intestazione", "mittente"):
		d.mittente = t
	case x.at("intestazione", "destinatari"):
		d.destinatari[len(d.destinatari)-1].value = t
	case x.at("intestazione", "risposte"):
		d.risposte = t
	case x.at("intestazione", "oggetto"):
		d.oggetto = t
	case x.at("dati", "gestore-emittente"):
		d.gestore = t
	case x.at("dati", "data", "giorno"):
		d.giorno = t
	case x.at("dati", "data", "ora"):
		d.ora = t
	case x.at("dati", "identificativo"):
		d.identificativo = t
	case x.at("dati", "msgid"):
		d.msgid = t
	case x.at("dati", "consegna"):
		d.consegna = t
	case x.at("dati", "ricezione"):
		d.ricezione = append(d.ricezione, t)
	case x.at("dati", "errore-esteso"):
		d.erroreEsteso = t
	}
	x.path = x.path[:len(x.path)-1]
	x.texts = x.texts[:len(x.texts)-1]
}

// stripIllegalXML removes the characters XML 1.0 does not allow, raw or as
// character references, and reports whether it removed any. Invalid UTF-8 is
// left alone.
func stripIllegalXML(doc []byte) ([]byte, bool) {
	out := make([]byte, 0, len(doc))
	removed := false
	for i := 0; i < len(doc); {
		c := doc[i]
		switch {
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r':
			removed = true
			i++
			continue
		case c == '&' && i+2 < len(doc) && doc[i+1] == '#':
			if semi := bytes.IndexByte(doc[i:min(len(doc), i+13)], ';'); semi > 0 {
				if r, err := charRef(string(doc[i+1 : i+semi])); err == nil && !xmlChar(r) && (r < 0xD800 || r > 0xDFFF) {
					removed = true
					i += semi + 1
					continue
				}
			}
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRune(doc[i:])
			if n > 1 && !xmlChar(r) {
				removed = true
				i += n
				continue
			}
			out = append(out, doc[i:i+n]...)
			i += n
			continue
		}
		out = append(out, c)
		i++
	}
	return out, removed
}

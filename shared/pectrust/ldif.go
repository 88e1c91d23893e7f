package pectrust

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ParseLDIF reads LDIF (RFC 2849): records separated by blank lines, folded lines (a continuation starts
// with one space), comments (#), "name: value", "name:: base64" (binary values such as certificates)
// and attribute options ("providerCertificate;binary::"). Values by URL ("name:< file://...") are
// refused: an export must carry its certificates.
func ParseLDIF(data []byte) ([]Entry, error) {
	var (
		entries []Entry
		cur     *Entry
		lines   []string
	)
	// Unfold first: a line starting with one space continues the previous one.
	for _, l := range strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n") {
		if strings.HasPrefix(l, " ") && len(lines) > 0 && lines[len(lines)-1] != "" {
			lines[len(lines)-1] += l[1:]
			continue
		}
		lines = append(lines, l)
	}
	flush := func() {
		if cur != nil {
			entries = append(entries, *cur)
			cur = nil
		}
	}
	for n, l := range lines {
		switch {
		case strings.TrimSpace(l) == "":
			flush()
			continue
		case strings.HasPrefix(l, "#"):
			continue
		}
		name, value, err := ldifLine(l)
		if err != nil {
			return nil, fmt.Errorf("pectrust: LDIF line %d: %w", n+1, err)
		}
		switch {
		case name == "version" && cur == nil:
			continue
		case name == "dn":
			flush()
			cur = &Entry{DN: string(value), Attrs: map[string][][]byte{}}
			continue
		case cur == nil:
			return nil, fmt.Errorf("pectrust: LDIF line %d: %q before any dn line", n+1, name)
		case name == "changetype" || name == "control":
			continue
		}
		cur.Attrs[name] = append(cur.Attrs[name], value)
	}
	flush()
	return entries, nil
}

// ldifLine splits "name[;options]: value" or "name[;options]:: base64".
func ldifLine(l string) (string, []byte, error) {
	i := strings.IndexByte(l, ':')
	if i <= 0 {
		return "", nil, fmt.Errorf("no attribute name: %q", truncate(l))
	}
	name := strings.ToLower(l[:i])
	if j := strings.IndexByte(name, ';'); j >= 0 {
		name = name[:j] // options such as ;binary
	}
	rest := l[i+1:]
	switch {
	case strings.HasPrefix(rest, ":"):
		v, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest[1:]))
		if err != nil {
			return "", nil, fmt.Errorf("%s: bad base64: %v", name, err)
		}
		return name, v, nil
	case strings.HasPrefix(rest, "<"):
		return "", nil, fmt.Errorf("%s: value by URL (%s) is not supported: export the values themselves", name, strings.TrimSpace(rest[1:]))
	}
	return name, []byte(strings.TrimLeft(rest, " ")), nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// ParseXML reads an XML export. An entry is an element holding provider attributes, either as child
// elements named like them (<providerName>, <providerCertificate> with base64 or PEM text) or as DSML
// <attr name="providerCertificate"><value>base64</value></attr>; its dn is the element's dn attribute
// or a <dn> child. Element and attribute names are compared without namespace and case.
func ParseXML(data []byte) ([]Entry, error) {
	type frame struct {
		local   string
		dn      string
		attr    string // DSML attr name
		values  [][]byte
		encoded bool // DSML value encoding="base64"
		text    bytes.Buffer
		attrs   map[string][][]byte
	}
	var (
		stack   []*frame
		entries []Entry
	)
	dec := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("pectrust: XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			f := &frame{local: strings.ToLower(t.Name.Local), attrs: map[string][][]byte{}}
			for _, a := range t.Attr {
				switch strings.ToLower(a.Name.Local) {
				case "dn":
					f.dn = a.Value
				case "name":
					f.attr = strings.ToLower(a.Value)
				case "encoding":
					f.encoded = strings.EqualFold(a.Value, "base64")
				}
			}
			stack = append(stack, f)
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		case xml.EndElement:
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			var parent *frame
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
			}
			text := strings.TrimSpace(f.text.String())
			switch {
			case f.local == "value" && parent != nil && parent.local == "attr":
				v := []byte(text)
				if f.encoded || parent.attr == attrCertificate {
					if d, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(text), "")); err == nil {
						v = d
					} else if f.encoded {
						return nil, fmt.Errorf("pectrust: XML: %s value: bad base64", parent.attr)
					}
				}
				parent.values = append(parent.values, v)
			case f.local == "attr" && f.attr != "" && parent != nil:
				parent.attrs[f.attr] = append(parent.attrs[f.attr], f.values...)
			case f.local == "dn" && parent != nil:
				parent.dn = text
			case known[f.local] && parent != nil:
				parent.attrs[f.local] = append(parent.attrs[f.local], []byte(text))
			case len(f.attrs[attrCertificate]) > 0:
				entries = append(entries, Entry{DN: f.dn, Attrs: f.attrs})
			}
		}
	}
	return entries, nil
}

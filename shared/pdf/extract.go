package pdf

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
)

// ExtractPages writes a new PDF holding only the given 1-based pages of
// data, in that order (a page may be given twice). Each page is copied with
// the attributes it inherits made explicit, with every object it uses
// (fonts, images, forms; not the rest of the document), renumbered; streams
// keep their encoded bytes. Links to pages that are not copied become null.
// The output has a classic cross-reference table and no metadata.
//
// The errors are those of Text, and ErrPageRange for a page number the
// document does not have.
func ExtractPages(ctx context.Context, data []byte, pages []int, lim Limits) ([]byte, error) {
	out, _, err := extractPages(ctx, data, pages, lim)
	return out, err
}

// extractPages is ExtractPages, and says how many links to pages or page
// tree nodes outside the copy were cut (the tests compare texts only when
// none was: a page using such a node as a resource reads differently).
func extractPages(ctx context.Context, data []byte, pages []int, lim Limits) (out []byte, cut int, err error) {
	defer func() {
		if err != nil {
			out = nil
		}
	}()
	defer guard(&err)
	if len(pages) == 0 {
		return nil, 0, fmt.Errorf("%w: no pages given", ErrPageRange)
	}
	if l := lim.withDefaults(); len(pages) > l.MaxPages {
		return nil, 0, limitErr("more than %d pages", l.MaxPages)
	}
	err = withDoc(ctx, data, lim, func(d *doc) error {
		t, err := d.pageTree()
		if err != nil {
			return err
		}
		for _, n := range pages {
			if n < 1 || n > len(t.pages) {
				return fmt.Errorf("%w: page %d of %d", ErrPageRange, n, len(t.pages))
			}
		}
		w := &writer{d: d, tree: t, newNum: map[int]int{}, cutNums: map[int]bool{}}
		out, err = w.write(pages)
		cut = w.cut
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return out, cut, nil
}

// newRef is a reference already in the new numbering.
type newRef int

type writer struct {
	d       *doc
	tree    *pageTree
	buf     bytes.Buffer
	offsets []int       // of objects 1..n
	newNum  map[int]int // old object number -> new
	queue   []int       // old objects to copy, in order of their new numbers
	next    int
	err     error
	cutNums map[int]bool // pages and tree nodes outside the copy
	cut     int          // links to them written as null
}

// Object 1 is the catalog, 2 the page tree, then the pages, then what they
// use.
func (w *writer) write(sel []int) ([]byte, error) {
	w.next = 3 + len(sel)
	pageNum := map[int]int{} // old page object -> its first copy
	for i, n := range sel {
		if r := w.tree.pages[n-1].ref; r.num != 0 {
			if _, ok := pageNum[r.num]; !ok {
				pageNum[r.num] = 3 + i
			}
		}
	}
	// Other pages and the tree's nodes are not copied: links to them
	// become null (0), links to copied pages go to the copy.
	for num := range w.tree.nodes {
		w.newNum[num] = 0
		w.cutNums[num] = true
	}
	for num, nn := range pageNum {
		w.newNum[num] = nn
	}
	fmt.Fprintf(&w.buf, "%%PDF-%s\n%%\xe2\xe3\xcf\xd3\n", w.d.version())
	w.begin(1)
	w.buf.WriteString("<</Type /Catalog /Pages 2 0 R>>")
	w.end()
	w.begin(2)
	w.buf.WriteString("<</Type /Pages /Count ")
	w.buf.WriteString(strconv.Itoa(len(sel)))
	w.buf.WriteString(" /Kids [")
	for i := range sel {
		if i > 0 {
			w.buf.WriteByte(' ')
		}
		fmt.Fprintf(&w.buf, "%d 0 R", 3+i)
	}
	w.buf.WriteString("]>>")
	w.end()
	for i, n := range sel {
		p := w.tree.pages[n-1]
		pd := dict{}
		for k, v := range p.dict {
			switch k {
			case "Parent", "B", "StructParents", "PieceInfo":
				// The tree, article beads and structure are not copied.
			default:
				pd[k] = v
			}
		}
		pd["Type"] = name("Page")
		pd["Parent"] = newRef(2)
		for k, v := range map[name]object{"Resources": p.resources, "MediaBox": p.mediaBox, "CropBox": p.cropBox, "Rotate": p.rotate} {
			if _, own := pd[k]; !own && v != nil {
				pd[k] = v
			}
		}
		if pd["Resources"] == nil {
			pd["Resources"] = dict{}
		}
		if pd["MediaBox"] == nil {
			pd["MediaBox"] = array{int64(0), int64(0), int64(612), int64(792)} // US Letter, as readers assume
		}
		w.begin(3 + i)
		w.value(pd, 0)
		w.end()
		if w.err != nil {
			return nil, w.err
		}
	}
	for k := 0; k < len(w.queue); k++ {
		if err := w.d.b.tick(); err != nil {
			return nil, err
		}
		if err := w.copyObject(w.queue[k], w.newNum[w.queue[k]]); err != nil {
			return nil, err
		}
	}
	return w.finish(), nil
}

func (w *writer) begin(num int) {
	for len(w.offsets) < num {
		w.offsets = append(w.offsets, 0)
	}
	w.offsets[num-1] = w.buf.Len()
	fmt.Fprintf(&w.buf, "%d 0 obj\n", num)
}

func (w *writer) end() { w.buf.WriteString("\nendobj\n") }

// copyObject writes old object num as new object nn; an object that cannot
// be read becomes null.
func (w *writer) copyObject(num, nn int) error {
	v, err := w.d.get(num)
	if err != nil {
		if fatal(err) {
			return err
		}
		v = nil
	}
	w.begin(nn)
	if s, ok := v.(*stream); ok {
		sd := dict{}
		for k, x := range s.dict {
			sd[k] = x
		}
		sd["Length"] = int64(len(s.raw))
		w.value(sd, 0)
		w.buf.WriteString("\nstream\n")
		w.buf.Write(s.raw)
		w.buf.WriteString("\nendstream")
	} else {
		w.value(v, 0)
	}
	w.end()
	return w.err
}

// ref returns the new number of old object num, queueing it for copying
// the first time; 0 means the link is dropped.
func (w *writer) ref(num int) int {
	if nn, ok := w.newNum[num]; ok {
		return nn
	}
	if err := w.d.b.tick(); err != nil && w.err == nil {
		w.err = err
	}
	// A dangling link, or one to a page or tree node outside the copy
	// (found by its type, for pages the tree does not list), is dropped.
	v, err := w.d.get(num)
	if err != nil && fatal(err) && w.err == nil {
		w.err = err
	}
	if v == nil {
		w.newNum[num] = 0
		return 0
	}
	if vd, ok := v.(dict); ok && (vd["Type"] == name("Page") || vd["Type"] == name("Pages") || vd["Type"] == name("Catalog")) {
		w.newNum[num] = 0
		w.cutNums[num] = true
		return 0
	}
	nn := w.next
	w.next++
	w.newNum[num] = nn
	w.queue = append(w.queue, num)
	return nn
}

// value writes a direct value; its nesting is bounded by the parser's.
func (w *writer) value(o object, depth int) {
	if depth > w.d.b.lim.MaxDepth+1 {
		w.buf.WriteString("null")
		return
	}
	if err := w.d.b.tick(); err != nil && w.err == nil {
		w.err = err
	}
	b := &w.buf
	switch v := o.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			v = 0
		}
		b.WriteString(strconv.FormatFloat(v, 'f', -1, 64))
	case name:
		writeName(b, v)
	case str:
		b.WriteByte('<')
		const hexDigits = "0123456789abcdef"
		for i := 0; i < len(v); i++ {
			b.WriteByte(hexDigits[v[i]>>4])
			b.WriteByte(hexDigits[v[i]&15])
		}
		b.WriteByte('>')
	case array:
		b.WriteByte('[')
		for i, x := range v {
			if i > 0 {
				b.WriteByte(' ')
			}
			w.value(x, depth+1)
		}
		b.WriteByte(']')
	case dict:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, string(k))
		}
		sort.Strings(keys)
		b.WriteString("<<")
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(' ')
			}
			writeName(b, name(k))
			b.WriteByte(' ')
			w.value(v[name(k)], depth+1)
		}
		b.WriteString(">>")
	case newRef:
		fmt.Fprintf(b, "%d 0 R", int(v))
	case ref:
		if nn := w.ref(v.num); nn > 0 {
			fmt.Fprintf(b, "%d 0 R", nn)
		} else {
			b.WriteString("null")
			if w.cutNums[v.num] {
				w.cut++
			}
		}
	default:
		b.WriteString("null") // a stream inside a value cannot be written there
	}
}

// writeName escapes what is not a regular printable character.
func writeName(b *bytes.Buffer, n name) {
	b.WriteByte('/')
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c < 0x21 || c > 0x7e || c == '#' || isDelim[c] {
			fmt.Fprintf(b, "#%02X", c)
			continue
		}
		b.WriteByte(c)
	}
}

func (w *writer) finish() []byte {
	b := &w.buf
	xref := b.Len()
	n := len(w.offsets) + 1
	fmt.Fprintf(b, "xref\n0 %d\n0000000000 65535 f\r\n", n)
	for _, off := range w.offsets {
		fmt.Fprintf(b, "%010d 00000 n\r\n", off)
	}
	fmt.Fprintf(b, "trailer\n<</Size %d /Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n", n, xref)
	return b.Bytes()
}

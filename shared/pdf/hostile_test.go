package pdf

import (
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

const eightMB = 8 << 20

// bomb is a zlib stream of 1 GiB of zeros in about 1 MiB: one compressed
// MiB, flushed to a byte boundary, repeated (its back references only
// reach zeros), then an empty final block.
var bomb = sync.OnceValue(func() []byte {
	var c bytes.Buffer
	w, _ := flate.NewWriter(&c, flate.BestCompression)
	w.Write(make([]byte, 1<<20))
	w.Flush()
	out := []byte{0x78, 0xda}
	for range 1024 {
		out = append(out, c.Bytes()...)
	}
	return append(out, 0x03, 0x00)
})

// hostile is a document built to hurt a reader.
type hostile struct {
	name string
	data func() []byte
	lim  Limits
	// want is the error expected of Text (nil: none); pages, when set, are
	// the pages expected.
	want  error
	pages []string
}

func withPage(content string, extra ...obj) []byte { return classic(onePage(content, extra...), "") }

func resourcesObj(body string) []byte {
	objs := onePage("BT /F1 10 Tf 72 720 Td (text) Tj ET", obj{6, body})
	objs[2].body = "<</Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources 6 0 R /Contents 4 0 R>>"
	return classic(objs, "")
}

func hostiles() []hostile {
	deepArrays := strings.Repeat("[", eightMB)
	deepDicts := strings.Repeat("<</A ", eightMB/5)
	text := []string{"text"}
	return []hostile{
		// Nesting.
		{name: "nested arrays in a content stream", data: func() []byte { return withPage("BT /F1 10 Tf 72 720 Td (text) Tj ET " + deepArrays) }, want: ErrLimit},
		{name: "nested arrays in an object", data: func() []byte { return resourcesObj(deepArrays) }, want: ErrLimit},
		{name: "nested arrays in an object stream", data: func() []byte {
			all := onePage("BT /F1 10 Tf 72 720 Td (text) Tj ET", obj{6, deepArrays})
			all[2].body = "<</Type /Page /Parent 2 0 R /Resources 6 0 R /Contents 4 0 R>>"
			return compact([]obj{all[3]}, []obj{all[0], all[1], all[2], all[4], all[5]}, "")
		}, want: ErrLimit},
		{name: "nested arrays in a compressed stream", data: func() []byte {
			objs := onePage("")
			objs[3].body = flateStream("", []byte("BT /F1 10 Tf 72 720 Td (text) Tj ET "+deepArrays))
			return classic(objs, "")
		}, want: ErrLimit},
		{name: "nested dictionaries in a content stream", data: func() []byte { return withPage(deepDicts) }, want: ErrLimit},
		{name: "nested dictionaries in an object", data: func() []byte { return resourcesObj(deepDicts) }, want: ErrLimit},
		{name: "nested parentheses, unbalanced", data: func() []byte {
			return withPage("BT /F1 10 Tf 72 720 Td (text) Tj " + strings.Repeat("(", eightMB) + " Tj ET")
		}, pages: text},
		{name: "nested parentheses, balanced", data: func() []byte {
			return withPage("BT /F1 10 Tf 72 720 Td " + strings.Repeat("(", eightMB/2) + strings.Repeat(")", eightMB/2) + " Tj ET")
		}, lim: Limits{MaxText: 1 << 20}, want: ErrLimit},
		{name: "nested parentheses in an object", data: func() []byte { return resourcesObj(strings.Repeat("(", eightMB)) }, pages: []string{""}},
		{name: "page tree deeper than the limit", data: func() []byte {
			objs := onePage("BT /F1 10 Tf 72 720 Td (text) Tj ET")
			objs[1].body = "<</Type /Pages /Kids [100 0 R] /Count 1>>"
			for i := 100; i < 200; i++ {
				objs = append(objs, obj{i, fmt.Sprintf("<</Type /Pages /Kids [%d 0 R] /Count 1>>", i+1)})
			}
			objs = append(objs, obj{200, "<</Type /Pages /Kids [3 0 R] /Count 1>>"})
			return classic(objs, "")
		}, want: ErrLimit},
		{name: "forms deeper than the limit", data: func() []byte {
			objs := onePage("/X100 Do")
			objs[2].body = "<</Type /Page /Parent 2 0 R /Resources 6 0 R /Contents 4 0 R>>"
			var xo strings.Builder
			for i := 100; i <= 200; i++ {
				fmt.Fprintf(&xo, "/X%d %d 0 R ", i, i)
				objs = append(objs, obj{i, streamBody("/Subtype /Form /BBox [0 0 1 1]", fmt.Appendf(nil, "/X%d Do", i+1))})
			}
			objs = append(objs, obj{6, "<</Font <</F1 5 0 R>> /XObject <<" + xo.String() + ">>>>"})
			return classic(objs, "")
		}, want: ErrLimit},
		{name: "chain of references", data: func() []byte {
			objs := onePage("BT /F1 10 Tf 72 720 Td (text) Tj ET")
			objs[2].body = "<</Type /Page /Parent 2 0 R /Resources 100 0 R /Contents 4 0 R>>"
			for i := 100; i < 200; i++ {
				objs = append(objs, obj{i, fmt.Sprintf("%d 0 R", i+1)})
			}
			return classic(append(objs, obj{200, "<</Font <</F1 5 0 R>>>>"}), "")
		}, want: ErrLimit},
		{name: "chain of stream lengths", data: func() []byte {
			objs := onePage("")
			objs[3].body = "<</Length 100 0 R>>\nstream\nBT /F1 10 Tf 72 720 Td (text) Tj ET\nendstream"
			for i := 100; i < 200; i++ {
				objs = append(objs, obj{i, fmt.Sprintf("<</Length %d 0 R>>\nstream\nx\nendstream", i+1)})
			}
			return classic(append(objs, obj{200, "1"}), "")
		}, want: ErrLimit},

		// Counts and lengths that must not size anything.
		{name: "Length 10^12", data: func() []byte {
			objs := onePage("")
			objs[3].body = "<</Length 1000000000000>>\nstream\nBT /F1 10 Tf 72 720 Td (text) Tj ET\nendstream"
			return classic(objs, "")
		}, pages: text},
		{name: "negative Length", data: func() []byte {
			objs := onePage("")
			objs[3].body = "<</Length -5>>\nstream\nBT /F1 10 Tf 72 720 Td (text) Tj ET\nendstream"
			return classic(objs, "")
		}, pages: text},
		{name: "N 10^9 in an object stream", data: func() []byte {
			all := onePage("BT /F1 10 Tf 72 720 Td (text) Tj ET")
			data := compact([]obj{all[3]}, []obj{all[0], all[1], all[2], all[4]}, "")
			return patchObjStm(data, func(d string) string { return strings.Replace(d, "/N 4", "/N 1000000000", 1) })
		}, pages: text},
		{name: "First 10^9 in an object stream", data: func() []byte {
			all := onePage("BT /F1 10 Tf 72 720 Td (text) Tj ET")
			data := compact([]obj{all[3]}, []obj{all[0], all[1], all[2], all[4]}, "")
			return patchObjStm(data, func(d string) string { return strings.Replace(d, "/First ", "/First 1000000000 /Old ", 1) })
		}, want: ErrNotPDF},
		{name: "Count 10^9", data: func() []byte {
			objs := onePage("BT /F1 10 Tf 72 720 Td (text) Tj ET")
			objs[1].body = "<</Type /Pages /Kids [3 0 R] /Count 1000000000>>"
			return classic(objs, "")
		}, pages: text},
		{name: "Size 10^9 and a subsection of 10^9", data: func() []byte {
			data := classic(onePage("BT /F1 10 Tf 72 720 Td (text) Tj ET"), "")
			data = bytes.Replace(data, []byte("xref\n0 6\n"), []byte("xref\n0 1000000000\n"), 1)
			return bytes.Replace(data, []byte("/Size 6"), []byte("/Size 1000000000"), 1)
		}, pages: text},
		{name: "xref stream Index of 10^9", data: func() []byte {
			all := onePage("BT /F1 10 Tf 72 720 Td (text) Tj ET")
			return compact(all, nil, "/Index [0 1000000000 5 2000000000]")
		}, pages: text},
		{name: "xref stream of a million free entries", data: func() []byte {
			data := withPage(textContent)
			xs := streamBody("/Type /XRef /Size 1000000 /W [1 0 0] /Root 1 0 R /Filter /FlateDecode", deflate(make([]byte, 1_000_000)))
			i := bytes.Index(data, []byte("xref\n"))
			return fmt.Appendf(nil, "%s99 0 obj\n%s\nendobj\nstartxref\n%d\n%%%%EOF\n", data[:i], xs, i)
		}, want: ErrLimit},
		{name: "xref table of 200000 free entries", data: func() []byte {
			data := withPage(textContent)
			i := bytes.Index(data, []byte("xref\n"))
			return fmt.Appendf(nil, "%sxref\n0 200000\n%strailer\n<</Size 200000 /Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n", data[:i], strings.Repeat("0000000000 65535 f \n", 200000), i)
		}, want: ErrLimit},
		{name: "xref stream without widths", data: func() []byte {
			all := onePage("BT /F1 10 Tf 72 720 Td (text) Tj ET")
			return bytes.Replace(compact(all, nil, ""), []byte("/W [1 4 2]"), []byte("/W [0 0 0]"), 1)
		}, pages: text},
		{name: "object numbers beyond any table", data: func() []byte {
			objs := onePage("BT /F1 10 Tf 72 720 Td (text) Tj ET")
			objs[2].body = strings.Replace(objs[2].body, "5 0 R", "99999999 0 R", 1)
			return classic(objs, "")
		}, pages: []string{""}},
		{name: "huge array in an object", data: func() []byte { return resourcesObj("[" + strings.Repeat("0 ", 2_000_000) + "]") }, want: ErrLimit},
		{name: "huge array of operands", data: func() []byte {
			return withPage("BT /F1 10 Tf 72 720 Td [" + strings.Repeat("(a) ", 100_000) + "] TJ ET")
		}, want: ErrLimit},
		{name: "many operands", data: func() []byte {
			return withPage("BT /F1 10 Tf 72 720 Td " + strings.Repeat("1 ", 100_000) + "(text) Tj ET")
		}, want: ErrLimit},
		{name: "huge widths and codes", data: func() []byte {
			objs := onePage("BT /F1 10 Tf 72 720 Td (text) Tj ET")
			objs[4].body = "<</Type /Font /Subtype /Type1 /BaseFont /X /FirstChar 1000000000 /Widths [1000000000 -5] " +
				"/Encoding <</Differences [1000000000 /a -1000000000 /b 116 /t]>>>>"
			return classic(objs, "")
		}, pages: text},
		{name: "huge CID ranges", data: func() []byte {
			objs := onePage("BT /F1 10 Tf 72 720 Td <00410042> Tj ET",
				obj{6, "<</Subtype /CIDFontType2 /W [0 4294967295 500 0 [1 2] 5 1000000000000 1] /DW 1000000000>>"},
				obj{7, streamBody("", []byte("1 begincodespacerange <00000000> <FFFFFFFF> endcodespacerange\n"+
					"2 beginbfrange <00000000> <FFFFFFFF> <0041> <0000> <FFFF> <0000> endbfrange"))})
			objs[4].body = "<</Type /Font /Subtype /Type0 /Encoding /Identity-H /DescendantFonts [6 0 R] /ToUnicode 7 0 R>>"
			return classic(objs, "")
		}, pages: []string{"AB"}},
		{name: "predictor with huge columns", data: func() []byte {
			objs := onePage("")
			objs[3].body = flateStream("/DecodeParms <</Predictor 12 /Columns 1000000000 /Colors 1000000>>", []byte("BT /F1 10 Tf 72 720 Td (text) Tj ET"))
			return classic(objs, "")
		}, pages: []string{""}},
		{name: "huge string", data: func() []byte {
			return withPage("BT /F1 10 Tf 72 720 Td <" + strings.Repeat("41", eightMB/2) + "> Tj ET")
		}, lim: Limits{MaxText: 1 << 20}, want: ErrLimit},

		// Reference loops.
		{name: "Length refers to its own object", data: func() []byte {
			objs := onePage("")
			objs[3].body = "<</Length 4 0 R>>\nstream\nBT /F1 10 Tf 72 720 Td (text) Tj ET\nendstream"
			return classic(objs, "")
		}, pages: text},
		{name: "Length refers back through another object", data: func() []byte {
			objs := onePage("", obj{6, "4 0 R"})
			objs[3].body = "<</Length 6 0 R>>\nstream\nBT /F1 10 Tf 72 720 Td (text) Tj ET\nendstream"
			return classic(objs, "")
		}, pages: text},
		{name: "references in a loop", data: func() []byte {
			objs := onePage("BT /F1 10 Tf 72 720 Td (text) Tj ET", obj{6, "7 0 R"}, obj{7, "6 0 R"})
			objs[2].body = "<</Type /Page /Parent 2 0 R /Resources 6 0 R /Contents 4 0 R>>"
			return classic(objs, "")
		}, pages: []string{""}},
		{name: "Kids point at an ancestor", data: func() []byte {
			objs := onePage("BT /F1 10 Tf 72 720 Td (text) Tj ET", obj{6, "<</Type /Pages /Kids [2 0 R 3 0 R 6 0 R 1 0 R]>>"})
			objs[1].body = "<</Type /Pages /Kids [3 0 R 2 0 R 6 0 R 3 0 R] /Count 1>>"
			return classic(objs, "")
		}, pages: text},
		{name: "Parent loops", data: func() []byte {
			objs := onePage("BT /F1 10 Tf 72 720 Td (text) Tj ET")
			objs[1].body = "<</Type /Pages /Kids [3 0 R] /Count 1 /Parent 2 0 R>>"
			objs[2].body = strings.Replace(objs[2].body, "/Parent 2 0 R", "/Parent 3 0 R", 1)
			return classic(objs, "")
		}, pages: text},
		{name: "Prev refers to its own section", data: func() []byte {
			data := classic(onePage("BT /F1 10 Tf 72 720 Td (text) Tj ET"), "")
			return bytes.Replace(data, []byte("/Root 1 0 R"), fmt.Appendf(nil, "/Root 1 0 R /Prev %d", startxrefOf(data)), 1)
		}, pages: text},
		{name: "Prev loop of two updates", data: func() []byte {
			base := classic(onePage("BT /F1 10 Tf 72 720 Td (text) Tj ET"), "/Xrev 0000000000")
			upd := update(base, []obj{{6, "<<>>"}}, "")
			// The base's trailer now points at the update, offsets unchanged.
			return bytes.Replace(upd, []byte("/Xrev 0000000000"), fmt.Appendf(nil, "/Prev %010d", startxrefOf(upd)), 1)
		}, pages: text},
		{name: "object stream holding itself", data: func() []byte {
			all := onePage("BT /F1 10 Tf 72 720 Td (text) Tj ET")
			data := compact([]obj{all[3]}, []obj{all[0], all[1], all[2], all[4]}, "")
			return patchXrefEntry(data, 6, 2, 6, 0)
		}, pages: text},
		{name: "object stream filter inside itself", data: func() []byte {
			all := onePage("BT /F1 10 Tf 72 720 Td (text) Tj ET", obj{7, "/FlateDecode"})
			data := compact([]obj{all[3]}, []obj{all[0], all[1], all[2], all[4], all[5]}, "")
			return patchObjStm(data, func(d string) string { return strings.Replace(d, "/Filter /FlateDecode", "/Filter 7 0 R", 1) })
		}, want: ErrNotPDF},
		{name: "object streams extending each other", data: func() []byte {
			all := onePage("BT /F1 10 Tf 72 720 Td (text) Tj ET")
			data := compact([]obj{all[3]}, []obj{all[0], all[1], all[2], all[4]}, "")
			return patchObjStm(data, func(d string) string { return strings.Replace(d, "/Type /ObjStm", "/Type /ObjStm /Extends 6 0 R", 1) })
		}, pages: text},
		{name: "form drawing itself", data: func() []byte {
			objs := onePage("/Fm1 Do", obj{6, streamBody("/Subtype /Form /BBox [0 0 1 1]", []byte("BT /F1 10 Tf 72 720 Td (text) Tj ET /Fm1 Do"))},
				obj{7, "<</Font <</F1 5 0 R>> /XObject <</Fm1 6 0 R>>>>"})
			objs[2].body = "<</Type /Page /Parent 2 0 R /Resources 7 0 R /Contents 4 0 R>>"
			return classic(objs, "")
		}, pages: text},
		{name: "forms drawing each other", data: func() []byte {
			objs := onePage("/Fm1 Do",
				obj{6, streamBody("/Subtype /Form /BBox [0 0 1 1]", []byte("BT /F1 10 Tf 72 720 Td (text) Tj ET /Fm2 Do"))},
				obj{7, "<</Font <</F1 5 0 R>> /XObject <</Fm1 6 0 R /Fm2 8 0 R>>>>"},
				obj{8, streamBody("/Subtype /Form /BBox [0 0 1 1]", []byte("/Fm1 Do"))})
			objs[2].body = "<</Type /Page /Parent 2 0 R /Resources 7 0 R /Contents 4 0 R>>"
			return classic(objs, "")
		}, pages: text},
		{name: "forms drawing forms ten times each", data: func() []byte {
			objs := onePage("/X100 Do")
			objs[2].body = "<</Type /Page /Parent 2 0 R /Resources 6 0 R /Contents 4 0 R>>"
			var xo strings.Builder
			for i := 100; i < 110; i++ {
				fmt.Fprintf(&xo, "/X%d %d 0 R ", i, i)
				objs = append(objs, obj{i, streamBody("/Subtype /Form /BBox [0 0 1 1]", []byte(strings.Repeat(fmt.Sprintf("/X%d Do ", i+1), 10)))})
			}
			objs = append(objs, obj{110, streamBody("/Subtype /Form /BBox [0 0 1 1]", []byte("BT /F1 10 Tf 72 720 Td (text) Tj ET"))})
			objs = append(objs, obj{6, "<</Font <</F1 5 0 R>> /XObject <<" + xo.String() + "/X110 110 0 R>>>>"})
			return classic(objs, "")
		}, lim: Limits{MaxOps: 200_000}, want: ErrLimit},

		// Work and memory.
		{name: "flate bomb", data: func() []byte {
			objs := onePage("")
			objs[3].body = streamBody("/Filter /FlateDecode", bomb())
			return classic(objs, "")
		}, want: ErrLimit},
		{name: "flate bomb in an object stream", data: func() []byte {
			all := onePage("BT /F1 10 Tf 72 720 Td (text) Tj ET")
			data := compact([]obj{all[3], {9, streamBody("/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode", bomb())}}, []obj{all[0], all[1], all[2], all[4]}, "")
			return patchXrefEntry(data, 5, 2, 9, 0)
		}, want: ErrLimit},
		{name: "objects over one another", data: func() []byte {
			// Each font's object starts a string holding all the next ones:
			// reading them all is quadratic without the bound on parsing.
			var fonts, tf, body strings.Builder
			objs := onePage("")
			for i := 100; i < 20000; i++ {
				fmt.Fprintf(&fonts, "/F%d %d 0 R ", i, i)
				fmt.Fprintf(&tf, "/F%d 1 Tf ", i)
			}
			objs[2].body = "<</Type /Page /Parent 2 0 R /Resources <</Font <<" + fonts.String() + ">>>> /Contents 4 0 R>>"
			objs[3].body = streamBody("", []byte(tf.String()))
			data := classic(objs, "")
			for i := 100; i < 20000; i++ {
				fmt.Fprintf(&body, "%d 0 obj (", i)
			}
			body.WriteString(strings.Repeat(")", 19900))
			return appendObjects(data, body.String(), 100, 20000)
		}, want: ErrLimit},
		{name: "streams without end", data: func() []byte {
			var body strings.Builder
			objs := onePage("BT /F1 10 Tf 72 720 Td (text) Tj ET")
			var fonts, tf strings.Builder
			for i := 100; i < 5000; i++ {
				fmt.Fprintf(&fonts, "/F%d %d 0 R ", i, i)
				fmt.Fprintf(&tf, "/F%d 1 Tf ", i)
			}
			objs[2].body = "<</Type /Page /Parent 2 0 R /Resources <</Font <<" + fonts.String() + ">>>> /Contents 4 0 R>>"
			objs[3].body = streamBody("", []byte(tf.String()))
			data := classic(objs, "")
			for i := 100; i < 5000; i++ {
				fmt.Fprintf(&body, "%d 0 obj <</Length 1>> stream\nxx", i)
			}
			body.WriteString(strings.Repeat(" ", 1<<20))
			return appendObjects(data, body.String(), 100, 5000)
		}, want: ErrLimit},
		{name: "many font names that are not there", data: func() []byte {
			var b strings.Builder
			for i := range 300_000 {
				fmt.Fprintf(&b, "/F%d 1 Tf ", i+2)
			}
			return withPage(b.String() + textContent)
		}, pages: text},
		{name: "too many pages", data: func() []byte {
			objs := onePage("BT /F1 10 Tf 72 720 Td (text) Tj ET")
			objs[1].body = "<</Type /Pages /Kids [" + strings.Repeat("3 0 R ", 10) + "]>>"
			for i := 10; i < 20; i++ {
				objs = append(objs, obj{i, "<</Type /Page /Contents 4 0 R>>"})
				objs[1].body = strings.Replace(objs[1].body, "3 0 R ", fmt.Sprintf("%d 0 R ", i), 1)
			}
			return classic(objs, "")
		}, lim: Limits{MaxPages: 5}, want: ErrLimit},
		{name: "too many objects", data: func() []byte { return withPage("BT /F1 10 Tf 72 720 Td (text) Tj ET") }, lim: Limits{MaxObjects: 3}, want: ErrLimit},
		{name: "too many operators", data: func() []byte { return withPage(strings.Repeat("q Q ", 1000)) }, lim: Limits{MaxOps: 1000}, want: ErrLimit},
		{name: "too many values", data: func() []byte { return withPage("BT /F1 10 Tf 72 720 Td (text) Tj ET") }, lim: Limits{MaxValues: 10}, want: ErrLimit},
		{name: "too much decoded", data: func() []byte { return withPage(strings.Repeat(" ", 2000)) }, lim: Limits{MaxDecoded: 1000}, want: ErrLimit},

		// Other refusals.
		{name: "encrypted", data: func() []byte {
			return classic(onePage("BT /F1 10 Tf 72 720 Td (text) Tj ET", obj{6, "<</Filter /Standard /V 1 /R 2 /O <00> /U <00> /P -4>>"}), "/Encrypt 6 0 R")
		}, want: ErrEncrypted},
		{name: "encrypted, xref stream", data: func() []byte {
			all := onePage("BT /F1 10 Tf 72 720 Td (text) Tj ET", obj{6, "<</Filter /Standard /V 1 /R 2 /O <00> /U <00> /P -4>>"})
			return compact(all, nil, "/Encrypt 6 0 R")
		}, want: ErrEncrypted},
		{name: "no catalog", data: func() []byte { return classic([]obj{{1, "<</Type /Pages>>"}}, "") }, want: ErrNotPDF},
		{name: "catalog without pages", data: func() []byte { return classic([]obj{{1, "<</Type /Catalog>>"}}, "") }, want: ErrNotPDF},
		{name: "header only", data: func() []byte { return []byte("%PDF-1.7\n") }, want: ErrNotPDF},
		{name: "not a PDF", data: func() []byte { return []byte("PK\x03\x04 a zip file") }, want: ErrNotPDF},
		{name: "empty", data: func() []byte { return nil }, want: ErrNotPDF},
	}
}

// patchObjStm rewrites the dictionary of the object stream of a compact
// document (keeping offsets: the stream dictionary is padded or the
// document rebuilt by a scan).
func patchObjStm(data []byte, f func(string) string) []byte {
	i := bytes.Index(data, []byte("/Type /ObjStm"))
	j := i + bytes.Index(data[i:], []byte(">>"))
	start := bytes.LastIndex(data[:i], []byte("<<"))
	return slices.Concat(data[:start], []byte(f(string(data[start:j]))), data[j:])
}

// patchXrefEntry rewrites the entry of object num in the cross-reference
// stream of a compact document.
func patchXrefEntry(data []byte, num, typ, f2, f3 int) []byte {
	i := bytes.Index(data, []byte("/Type /XRef"))
	start := bytes.LastIndex(data[:i], []byte("obj\n")) + 4
	end := bytes.Index(data[start:], []byte("\nendobj")) + start
	d := newDoc(newBudget(context.Background(), Limits{}, len(data)), data)
	p := newParser(d.b, data, start, true)
	v, _ := p.value(0)
	p.skipSpace()
	p.pos += len("stream")
	s, _ := d.streamAt(0, v.(dict), p.pos)
	raw, _ := d.decode(s.(*stream)) // the predictor is undone: rows of 7 bytes
	rows := make([][]byte, len(raw)/7)
	for r := range rows {
		rows[r] = raw[r*7 : r*7+7]
	}
	rows[num] = []byte{byte(typ), byte(f2 >> 24), byte(f2 >> 16), byte(f2 >> 8), byte(f2), byte(f3 >> 8), byte(f3)}
	var enc []byte
	prev := make([]byte, 7)
	for _, row := range rows {
		enc = append(enc, 2)
		for k := range row {
			enc = append(enc, row[k]-prev[k])
		}
		prev = row
	}
	dictText := string(data[start : bytes.Index(data[start:], []byte("stream\n"))+start])
	dictText = dictText[2:strings.LastIndex(dictText, "/Length")]
	body := flateStream(strings.Replace(dictText, " /Filter /FlateDecode", "", 1), enc)
	return slices.Concat(data[:start], []byte(body), data[end:])
}

// appendObjects appends body after a document as an update whose table
// gives objects first..last-1 at the offsets of their headers in body.
func appendObjects(base []byte, body string, first, last int) []byte {
	b := bytes.NewBuffer(append([]byte(nil), base...))
	start := b.Len()
	b.WriteString(body)
	b.WriteString("\n")
	xref := b.Len()
	fmt.Fprintf(b, "xref\n%d %d\n", first, last-first)
	at := 0
	for n := first; n < last; n++ {
		k := strings.Index(body[at:], fmt.Sprintf("%d 0 obj", n)) + at
		fmt.Fprintf(b, "%010d 00000 n \n", start+k)
		at = k
	}
	fmt.Fprintf(b, "trailer\n<</Size %d /Root 1 0 R /Prev %d>>\nstartxref\n%d\n%%%%EOF\n", last, startxrefOf(base), xref)
	return b.Bytes()
}

// TestHostile reads each hostile document with Text and ExtractPages: the
// result is the one expected, no panic, and the memory allocated stays
// within what the limits allow.
func TestHostile(t *testing.T) {
	for _, h := range hostiles() {
		t.Run(h.name, func(t *testing.T) {
			data := h.data()
			lim := h.lim.withDefaults()
			allowed := uint64(8*len(data)) + uint64(4*lim.MaxDecoded) + 64<<20
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			pages, err := Text(context.Background(), data, h.lim)
			runtime.ReadMemStats(&after)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > allowed {
				t.Errorf("Text allocated %d MB, more than %d MB", alloc>>20, allowed>>20)
			}
			switch {
			case h.want != nil && !errors.Is(err, h.want):
				t.Errorf("Text: got %q, %v; want %v", pages, err, h.want)
			case h.want == nil && err != nil:
				t.Errorf("Text: %v", err)
			case h.want == nil && h.pages != nil && !slices.Equal(pages, h.pages):
				t.Errorf("Text: got %q, want %q", pages, h.pages)
			case errors.Is(err, errInternal):
				t.Errorf("Text: %v", err)
			}
			if err != nil && h.want != nil && pages != nil {
				t.Errorf("Text returned pages with an error")
			}
			out, err := ExtractPages(context.Background(), data, []int{1}, h.lim)
			if errors.Is(err, errInternal) {
				t.Errorf("ExtractPages: %v", err)
			}
			if err == nil {
				// What was written reads again.
				if _, err := Text(context.Background(), out, h.lim); err != nil && !errors.Is(err, ErrLimit) {
					t.Errorf("Text of the extracted page: %v", err)
				}
			}
		})
	}
}

// TestErrorsQuoteNothing checks that no error message holds text of the
// document, even when the document puts its words where names go.
func TestErrorsQuoteNothing(t *testing.T) {
	const secret = "RSSMRA80A01H501U"
	for _, data := range [][]byte{
		withPage("BT /" + secret + " 10 Tf (" + secret + ") Tj ET " + strings.Repeat("[", 100)),
		withPage("BT /F1 10 Tf ("+secret+") Tj ET", obj{6, streamBody("/Filter /"+secret, []byte(secret))}),
		classic([]obj{{1, "<</Type /" + secret + ">>"}}, "/"+secret+" ("+secret+")"),
		func() []byte {
			objs := onePage("")
			objs[3].body = streamBody("/Filter /"+secret, []byte(secret))
			return classic(objs, "")
		}(),
	} {
		_, err1 := Text(context.Background(), data, Limits{})
		_, err2 := ExtractPages(context.Background(), data, []int{1, 7}, Limits{})
		for _, err := range []error{err1, err2} {
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Errorf("error quotes the document: %v", err)
			}
		}
	}
}

// TestTruncated cuts good documents at many points: every cut gives pages
// or an error, never a panic.
func TestTruncated(t *testing.T) {
	recoverPanics = false
	defer func() { recoverPanics = true }()
	all := onePage("BT /F1 10 Tf 72 720 Td (text) Tj ET")
	docs := map[string][]byte{
		"certificate":   certificate(t, people[:2], true),
		"uncompressed":  certificate(t, people[:1], false),
		"compact":       compact([]obj{all[3]}, []obj{all[0], all[1], all[2], all[4]}, ""),
		"updated":       update(classic(all, ""), []obj{{6, "<<>>"}}, ""),
		"hand-made":     classic(all, ""),
		"type0 of fpdf": utf8Doc(t),
	}
	for name, data := range docs {
		t.Run(name, func(t *testing.T) {
			step := max(1, len(data)/300)
			for cut := 0; cut < len(data); cut += step {
				for _, d := range [][]byte{data[:cut], data[cut:]} {
					_, err := Text(context.Background(), d, Limits{})
					if err != nil && !errors.Is(err, ErrNotPDF) && !errors.Is(err, ErrLimit) {
						t.Errorf("cut at %d: unexpected error %v", cut, err)
					}
					_, err = ExtractPages(context.Background(), d, []int{1}, Limits{})
					if err != nil && !errors.Is(err, ErrNotPDF) && !errors.Is(err, ErrLimit) && !errors.Is(err, ErrPageRange) {
						t.Errorf("cut at %d: ExtractPages: unexpected error %v", cut, err)
					}
				}
			}
		})
	}
}

// TestContext checks that the work stops when the context ends: before it
// starts, and part way through a large legitimate document.
func TestContext(t *testing.T) {
	data := bigCertificate(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Text(cancelled, data, Limits{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: got %v", err)
	}
	if _, err := ExtractPages(cancelled, data, []int{1}, Limits{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: ExtractPages got %v", err)
	}
	past, cancel2 := context.WithDeadline(context.Background(), time0)
	defer cancel2()
	if _, err := Text(past, data, Limits{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("past deadline: got %v", err)
	}
	// A deadline that passes after some work, at several points of it:
	// first count the checks of a whole run.
	for _, op := range []struct {
		name string
		run  func(context.Context) error
	}{
		{"Text", func(ctx context.Context) error { _, err := Text(ctx, data, Limits{}); return err }},
		{"ExtractPages", func(ctx context.Context) error {
			all := make([]int, 300)
			for i := range all {
				all[i] = 300 - i
			}
			_, err := ExtractPages(ctx, data, all, Limits{})
			return err
		}},
	} {
		probe := &countdown{Context: context.Background(), n: 1 << 40}
		if err := op.run(probe); err != nil {
			t.Fatalf("%s: %v", op.name, err)
		}
		checks := 1<<40 - probe.n
		if checks < 10 {
			t.Errorf("%s checks the context %d times for 300 pages; want at least 10", op.name, checks)
		}
		for _, n := range []int{1, checks / 4, checks / 2, checks - 2} { // the last check is after the work
			if err := op.run(&countdown{Context: context.Background(), n: n}); err != context.DeadlineExceeded {
				t.Errorf("%s, deadline after %d of %d checks: got %v", op.name, n, checks, err)
			}
		}
	}
	// Inside decompression too.
	objs := onePage("")
	objs[3].body = streamBody("/Filter /FlateDecode", bomb())
	ctx := &countdown{Context: context.Background(), n: 50}
	if _, err := Text(ctx, classic(objs, ""), Limits{MaxDecoded: 1 << 40}); err != context.DeadlineExceeded {
		t.Errorf("deadline in a flate bomb: got %v", err)
	}
}

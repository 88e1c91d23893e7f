package pdf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
)

// TestExtractCertificates splits a merged certificate: each output is a
// valid PDF for pdfcpu (strict validation) and ledongthuc/pdf, and gives the
// same page texts as the pages it came from.
func TestExtractCertificates(t *testing.T) {
	src := certificate(t, people, true)
	srcPages := mustText(t, src)
	for _, sel := range [][]int{{1}, {2}, {4, 1}, {3, 3}, {4, 3, 2, 1}} {
		t.Run(fmt.Sprint(sel), func(t *testing.T) {
			out, err := ExtractPages(context.Background(), src, sel, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, n := range sel {
				want = append(want, srcPages[n-1])
			}
			if got := mustText(t, out); !slices.Equal(got, want) {
				t.Errorf("pages:\n got %q\nwant %q", got, want)
			}
			if n := pdfcpuPages(t, out, src); n != len(sel) {
				t.Errorf("pdfcpu counts %d pages, want %d", n, len(sel))
			}
			theirs := ledongthucText(t, out)
			if len(theirs) != len(sel) {
				t.Fatalf("ledongthuc/pdf counts %d pages, want %d", len(theirs), len(sel))
			}
			for i := range theirs {
				if !slices.Equal(words(theirs[i]), words(want[i])) {
					t.Errorf("ledongthuc/pdf page %d: %q", i+1, theirs[i])
				}
			}
			if bytes.Contains(out, []byte("/Info")) || bytes.Contains(out, []byte("/Title")) {
				t.Errorf("the metadata of the source was copied")
			}
		})
	}
}

// TestExtractKinds extracts from documents of every kind the reader knows.
func TestExtractKinds(t *testing.T) {
	all := onePage("BT /F1 10 Tf 72 720 Td (text) Tj ET")
	broken := classic(all, "")
	broken = bytes.Replace(broken, []byte("%PDF-1.4\n"), []byte("%PDF-1.4\n% moved\n"), 1)
	for name, data := range map[string][]byte{
		"uncompressed certificate": certificate(t, people[:2], false),
		"type0 font":               utf8Doc(t),
		"object streams":           compact([]obj{all[3]}, []obj{all[0], all[1], all[2], all[4]}, ""),
		"incremental update":       update(classic(all, ""), []obj{{4, streamBody("", []byte("BT /F1 10 Tf 72 720 Td (new) Tj ET"))}}, ""),
		"rebuilt xref":             broken,
	} {
		t.Run(name, func(t *testing.T) {
			srcPages := mustText(t, data)
			out, err := ExtractPages(context.Background(), data, []int{1}, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if got := mustText(t, out); !slices.Equal(got, srcPages[:1]) {
				t.Errorf("got %q, want %q", got, srcPages[:1])
			}
			if n := pdfcpuPages(t, out, data); n != 1 {
				t.Errorf("pdfcpu counts %d pages", n)
			}
		})
	}
}

// TestExtractInherited checks that inherited attributes become the page's
// own, that links to pages left out become null and that a stream's
// indirect /Length becomes direct.
func TestExtractInherited(t *testing.T) {
	objs := []obj{
		{1, "<</Type /Catalog /Pages 2 0 R /Outlines 20 0 R>>"},
		{2, "<</Type /Pages /Kids [10 0 R 3 0 R] /Count 3 /Resources <</Font <</F1 5 0 R>>>> /MediaBox [0 0 500 700] /Rotate 90>>"},
		{10, "<</Type /Pages /Parent 2 0 R /Kids [11 0 R] /Count 1 /CropBox [10 10 400 600]>>"},
		{11, "<</Type /Page /Parent 10 0 R /Contents 12 0 R /Annots [13 0 R]>>"},
		{12, "<</Length 14 0 R>>\nstream\nBT /F1 10 Tf 72 500 Td (kept) Tj ET\nendstream"},
		{13, "<</Type /Annot /Subtype /Link /Rect [0 0 10 10] /P 11 0 R /Dest [3 0 R /XYZ 0 0 0]>>"},
		{14, "35"},
		{3, "<</Type /Page /Parent 2 0 R /Contents 4 0 R /Rotate 0>>"},
		{4, streamBody("", []byte("BT /F1 10 Tf 72 500 Td (left out) Tj ET"))},
		{5, helvetica},
		{20, "<</Type /Outlines /First 3 0 R>>"},
	}
	src := classic(objs, "")
	out, err := ExtractPages(context.Background(), src, []int{1}, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := mustText(t, out); !slices.Equal(got, []string{"kept"}) {
		t.Errorf("got %q", got)
	}
	if bytes.Contains(out, []byte("left out")) || bytes.Contains(out, []byte("/Outlines")) {
		t.Errorf("objects of other pages were copied:\n%s", out)
	}
	d := newDoc(newBudget(context.Background(), Limits{}, len(out)), out)
	if err := d.loadXref(); err != nil {
		t.Fatal(err)
	}
	tree, err := d.pageTree()
	if err != nil {
		t.Fatal(err)
	}
	pd := tree.pages[0].dict
	for k, want := range map[name]string{"MediaBox": "[0 0 500 700]", "CropBox": "[10 10 400 600]", "Rotate": "90"} {
		w := &writer{d: d}
		w.value(pd[k], 0)
		if got := w.buf.String(); got != want {
			t.Errorf("/%s = %s, want %s", k, got, want)
		}
	}
	if _, ok := pd["Resources"]; !ok {
		t.Errorf("no /Resources on the page")
	}
	annots, _ := d.resolve(pd["Annots"])
	annot, _ := d.dictOf(annots.(array)[0])
	dest := annot["Dest"].(array)
	if dest[0] != nil {
		t.Errorf("link to a page left out: %v", dest[0])
	}
	if p, ok := annot["P"].(ref); !ok || p != tree.pages[0].ref {
		t.Errorf("/P = %v, want the copied page %v", annot["P"], tree.pages[0].ref)
	}
	if !bytes.Contains(out, []byte("/Length 35")) {
		t.Errorf("the indirect /Length did not become direct")
	}
	pdfcpuPages(t, out, src)
}

func TestExtractErrors(t *testing.T) {
	doc := certificate(t, people[:2], true)
	enc := classic(onePage("", obj{6, "<</Filter /Standard>>"}), "/Encrypt 6 0 R")
	for _, c := range []struct {
		name  string
		data  []byte
		pages []int
		lim   Limits
		want  error
	}{
		{"page 0", doc, []int{0}, Limits{}, ErrPageRange},
		{"page after the last", doc, []int{1, 3}, Limits{}, ErrPageRange},
		{"negative page", doc, []int{-1}, Limits{}, ErrPageRange},
		{"no pages", doc, nil, Limits{}, ErrPageRange},
		{"more pages than the limit", doc, []int{1, 2, 1}, Limits{MaxPages: 2}, ErrLimit},
		{"not a PDF", []byte("hello"), []int{1}, Limits{}, ErrNotPDF},
		{"encrypted", enc, []int{1}, Limits{}, ErrEncrypted},
		{"objects over the limit", doc, []int{1}, Limits{MaxObjects: 5}, ErrLimit},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := ExtractPages(context.Background(), c.data, c.pages, c.lim)
			if !errors.Is(err, c.want) || out != nil {
				t.Errorf("got %d bytes, %v; want %v", len(out), err, c.want)
			}
		})
	}
}

// TestWriteValues checks the syntax of what the writer writes.
func TestWriteValues(t *testing.T) {
	d := newDoc(newBudget(context.Background(), Limits{}, 0), nil)
	w := &writer{d: d, newNum: map[int]int{}}
	w.value(array{nil, true, false, int64(-7), 2.5, 1e20, name("A B#/"), str("a)\x00"), dict{"K": array{}}, ref{9, 0}}, 0)
	want := "[null true false -7 2.5 100000000000000000000 /A#20B#23#2F <612900> <</K []>> null]"
	if got := w.buf.String(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

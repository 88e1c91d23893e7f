package pdf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Tests of the less travelled ways through the reader: each builds the
// document that takes one.

const textContent = "BT /F1 10 Tf 72 720 Td (text) Tj ET"

// hybrid writes a file whose table leaves the font free and whose
// /XRefStm puts it in an object stream, as writers that stay readable by
// PDF 1.4 readers do.
func hybrid() []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.5\n")
	all := onePage(textContent)
	offs := map[int]int{}
	for _, o := range all[:4] {
		offs[o.num] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", o.num, o.body)
	}
	offs[6] = b.Len()
	head := "5 0 "
	fmt.Fprintf(&b, "6 0 obj\n%s\nendobj\n", streamBody(fmt.Sprintf("/Type /ObjStm /N 1 /First %d", len(head)), []byte(head+helvetica)))
	offs[7] = b.Len()
	rows := []byte{2, 0, 0, 0, 6, 0, 0, 1, byte(offs[6] >> 24), byte(offs[6] >> 16), byte(offs[6] >> 8), byte(offs[6]), 0, 0}
	fmt.Fprintf(&b, "7 0 obj\n%s\nendobj\n", streamBody("/Type /XRef /Size 8 /W [1 4 2] /Index [5 2]", rows))
	xref := b.Len()
	b.WriteString("xref\n0 8\n0000000000 65535 f \n")
	for n := 1; n < 8; n++ {
		if n == 5 || n == 6 || n == 7 {
			b.WriteString("0000000000 00001 f \n")
			continue
		}
		fmt.Fprintf(&b, "%010d 00000 n \n", offs[n])
	}
	fmt.Fprintf(&b, "trailer\n<</Size 8 /Root 1 0 R /XRefStm %d>>\nstartxref\n%d\n%%%%EOF\n", offs[7], xref)
	return b.Bytes()
}

func TestPaths(t *testing.T) {
	text := []string{"text"}
	fontDoc := func(font string, extra ...obj) []byte {
		objs := onePage(textContent, extra...)
		objs[4].body = font
		return classic(objs, "")
	}
	sections := func(n int) []byte {
		data := classic(onePage(textContent), "")
		for range n {
			data = update(data, []obj{{6, "<<>>"}}, "")
		}
		return data
	}
	for _, c := range []struct {
		name  string
		data  []byte
		lim   Limits
		want  []string
		error error
	}{
		{"hybrid file", hybrid(), Limits{}, text, nil},
		{"header after junk, offsets from the header", func() []byte {
			d := classic(onePage(textContent), "")
			return append([]byte("junk junk\n"), d...)
		}(), Limits{}, text, nil},
		{"xref numbered from 1", bytes.Replace(classic(onePage(textContent), ""), []byte("xref\n0 6\n"), []byte("xref\n1 6\n"), 1), Limits{}, text, nil},
		{"broken older section", func() []byte {
			base := classic(onePage(textContent), "")
			b := bytes.NewBuffer(append([]byte(nil), base...))
			writeSection(b, []obj{{6, "<<>>"}}, "", len(base)-10)
			return b.Bytes()
		}(), Limits{}, text, nil},
		{"1000 updates", sections(999), Limits{}, text, nil},
		{"too many updates", sections(1000), Limits{}, nil, ErrLimit},
		{"one object at a wrong offset", func() []byte {
			// The table is right but for the content stream, which it
			// places at the font: found when the page is read.
			d := classic(onePage(textContent), "")
			at := func(s string) []byte { return fmt.Appendf(nil, "%010d 00000 n", bytes.Index(d, []byte(s))) }
			return bytes.Replace(d, at("4 0 obj"), at("5 0 obj"), 1)
		}(), Limits{}, text, nil},
		{"stream with CR LF", func() []byte {
			objs := onePage("")
			objs[3].body = fmt.Sprintf("<</Length %d>>\nstream\r\n%s\r\nendstream", len(textContent), textContent)
			return classic(objs, "")
		}(), Limits{}, text, nil},
		{"stream without length, CR LF", func() []byte {
			objs := onePage("")
			objs[3].body = "<<>>\nstream\r\n" + textContent + "\r\nendstream"
			return classic(objs, "")
		}(), Limits{}, text, nil},
		{"empty object", func() []byte {
			objs := onePage(textContent, obj{6, ""})
			objs[2].body = strings.Replace(objs[2].body, "/Contents 4 0 R", "/Contents 4 0 R /Annots 6 0 R", 1)
			return classic(objs, "")
		}(), Limits{}, text, nil},
		{"xref stream with bad widths", bytes.Replace(compact(onePage(textContent), nil, ""), []byte("/W [1 4 2]"), []byte("/W [1 9 2]"), 1), Limits{}, text, nil},
		{"xref stream with short widths", bytes.Replace(compact(onePage(textContent), nil, ""), []byte("/W [1 4 2]"), []byte("/W [1 4]  "), 1), Limits{}, text, nil},
		{"xref stream with bad index", compact(onePage(textContent), nil, "/Index [0 -1]"), Limits{}, text, nil},
		{"object stream entry past its table", func() []byte {
			all := onePage(textContent)
			return patchXrefEntry(compact([]obj{all[3]}, []obj{all[0], all[1], all[2], all[4]}, ""), 5, 2, 6, 7)
		}(), Limits{}, text, nil},
		{"object stream entry numbered wrong", func() []byte {
			all := onePage(textContent)
			return patchXrefEntry(compact([]obj{all[3]}, []obj{all[0], all[1], all[2], all[4]}, ""), 5, 2, 6, 0)
		}(), Limits{}, text, nil},
		{"object not in its object stream", func() []byte {
			all := onePage(textContent, obj{7, "<<>>"})
			data := compact([]obj{all[3]}, []obj{all[0], all[1], all[2], all[5]}, "")
			return patchXrefEntry(data, 5, 2, 8, 0) // the font is nowhere
		}(), Limits{}, []string{""}, nil},
		{"object stream that is not a stream", func() []byte {
			all := onePage(textContent)
			data := compact([]obj{all[3], all[4]}, []obj{all[0], all[1], all[2]}, "")
			return patchXrefEntry(data, 5, 2, 1, 0)
		}(), Limits{}, []string{""}, nil},
		{"rebuilt, object stream older than a direct object", func() []byte {
			all := onePage(textContent)
			data := compact([]obj{all[3]}, []obj{all[0], all[1], all[2], all[4]}, "")
			data = bytes.Replace(data, []byte("startxref"), []byte("startxxxx"), 1)
			return append(data, "\n3 0 obj\n<</Type /Page /Parent 2 0 R /Resources <</Font <</F1 5 0 R>>>> /Contents 9 0 R>>\nendobj\n9 0 obj\n<</Length 42>>\nstream\nBT /F1 10 Tf 72 720 Td (newer text) Tj ET\nendstream\nendobj\n"...)
		}(), Limits{}, []string{"newer text"}, nil},
		{"rebuilt, no trailer: the catalog is found", func() []byte {
			d := classic(onePage(textContent), "")
			return d[:bytes.Index(d, []byte("xref"))]
		}(), Limits{}, text, nil},
		{"rebuilt over the object limit", func() []byte {
			d := classic(onePage(textContent), "")
			return d[:bytes.Index(d, []byte("xref"))]
		}(), Limits{MaxObjects: 2}, nil, ErrLimit},
		{"TrueType without encoding is WinAnsi", fontDoc("<</Type /Font /Subtype /TrueType /BaseFont /Arial,Bold>>"), Limits{}, text, nil},
		{"Type3 font", fontDoc("<</Type /Font /Subtype /Type3 /FontMatrix [0.001 0 0 0.001 0 0] /FirstChar 101 /LastChar 120 /Widths [500 500 500 500 500 500 500 500 500 500 500 500 500 500 500 500 500 500 500 500] /Encoding <</Differences [101 /e 116 /t 120 /x]>>>>"), Limits{}, text, nil},
		{"missing width", fontDoc("<</Type /Font /Subtype /Type1 /BaseFont /ABCDEF+Foo /FirstChar 0 /Widths [] /FontDescriptor <</MissingWidth 600>> /Encoding /MacRomanEncoding>>"), Limits{}, text, nil},
		{"Courier", fontDoc("<</Type /Font /Subtype /Type1 /BaseFont /Courier-Bold>>"), Limits{}, text, nil},
		{"Times faces", fontDoc("<</Type /Font /Subtype /Type1 /BaseFont /TimesNewRoman,BoldItalic>>"), Limits{}, text, nil},
		{"unknown encoding name", fontDoc("<</Type /Font /Subtype /Type1 /BaseFont /Times-Italic /Encoding /Foo>>"), Limits{}, text, nil},
		{"font of unknown metrics", fontDoc("<</Type /Font /Subtype /Type1 /BaseFont /Foo>>"), Limits{}, text, nil},
		{"Type0 with an embedded CMap", func() []byte {
			objs := onePage("BT /F1 10 Tf 72 720 Td <41 8140 42> Tj ET",
				obj{6, "<</Subtype /CIDFontType0 /W [1 [500] 633 633 700]>>"},
				obj{7, streamBody("", []byte("2 begincodespacerange <00> <80> <8140> <9FFC> endcodespacerange 1 begincidrange <8140> <817E> 633 endcidrange 1 begincidchar <41> 1 endcidchar"))},
				obj{8, streamBody("", []byte("2 beginbfchar <41> <0074> <42> <0074> endbfchar 1 beginbfchar <8140> <00650078> endbfchar"))})
			objs[4].body = "<</Type /Font /Subtype /Type0 /Encoding 7 0 R /DescendantFonts [6 0 R] /ToUnicode 8 0 R>>"
			return classic(objs, "")
		}(), Limits{}, text, nil},
		{"Type0 with an unknown predefined CMap", func() []byte {
			objs := onePage("BT /F1 10 Tf 72 720 Td <74 8578 74> Tj ET",
				obj{7, streamBody("", []byte("2 begincodespacerange <00> <7F> <8000> <FFFF> endcodespacerange 2 beginbfchar <74> <0074> <8578> <00650078> endbfchar"))})
			objs[4].body = "<</Type /Font /Subtype /Type0 /Encoding /90ms-RKSJ-H /ToUnicode 7 0 R>>"
			return classic(objs, "")
		}(), Limits{}, text, nil},
		{"Type0 with broken widths", func() []byte {
			objs := onePage("BT /F1 10 Tf 72 720 Td <0001> Tj ET",
				obj{6, "<</Subtype /CIDFontType2 /DW 500 /W [1 [] 5 4 300 7 8 /x 9]>>"},
				obj{7, streamBody("", []byte("1 beginbfchar <0001> <0061> endbfchar"))})
			objs[4].body = "<</Type /Font /Subtype /Type0 /Encoding /Identity-H /DescendantFonts [6 0 R] /ToUnicode 7 0 R>>"
			return classic(objs, "")
		}(), Limits{}, []string{"a"}, nil},
		{"broken ToUnicode", func() []byte {
			objs := onePage(textContent, obj{7, streamBody("/Filter /FlateDecode", []byte("not zlib"))})
			objs[4].body = "<</Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 7 0 R>>"
			return classic(objs, "")
		}(), Limits{}, text, nil},
		{"ToUnicode that is not a stream", func() []byte {
			objs := onePage(textContent)
			objs[4].body = "<</Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode /Identity-H>>"
			return classic(objs, "")
		}(), Limits{}, text, nil},
		{"form broken, form damaged, form with no resources", func() []byte {
			objs := onePage("/Fm1 Do /Fm2 Do /Fm3 Do /Fm4 Do BT /F1 10 Tf 72 600 Td (after) Tj ET",
				obj{6, streamBody("/Subtype /Form /Filter /FlateDecode", []byte("not zlib"))},
				obj{7, streamBody("/Subtype /Form", []byte("BT /F1 10 Tf 72 720 Td (text) Tj ] ET"))},
				obj{8, "<</Font <</F1 5 0 R>> /XObject <</Fm1 6 0 R /Fm2 7 0 R /Fm3 <</Subtype /Form>> /Fm4 9 0 R>>>>"},
				obj{9, "<<>>"})
			objs[2].body = "<</Type /Page /Parent 2 0 R /Resources 8 0 R /Contents 4 0 R>>"
			return classic(objs, "")
		}(), Limits{}, []string{"text\nafter"}, nil},
		{"text over the limit", withPage(textContent), Limits{MaxText: 3}, nil, ErrLimit},
	} {
		t.Run(c.name, func(t *testing.T) {
			pages, err := Text(context.Background(), c.data, c.lim)
			if c.error != nil {
				if !errors.Is(err, c.error) {
					t.Errorf("got %q, %v; want %v", pages, err, c.error)
				}
				return
			}
			if err != nil || !slices.Equal(pages, c.want) {
				t.Errorf("got %q, %v; want %q", pages, err, c.want)
			}
		})
	}
}

// TestGuard checks the last resort: a panic becomes errInternal.
func TestGuard(t *testing.T) {
	f := func() (err error) {
		defer guard(&err)
		var s []int
		_ = s[len(s)] // index out of range: a panic inside a parser
		return nil
	}
	if err := f(); !errors.Is(err, errInternal) || !errors.Is(err, ErrNotPDF) {
		t.Errorf("got %v", err)
	}
}

// TestExtractPaths takes the writer's less travelled ways.
func TestExtractPaths(t *testing.T) {
	objs := onePage(textContent,
		obj{6, "<</Type /Page /Contents 4 0 R>>"}, // a page outside the tree
		obj{7, "(broken"},
		obj{8, "<</Orphan 6 0 R /Broken 7 0 R /Missing 99 0 R /Real 1.5 /Neg -0.25>>"})
	objs[2].body = "<</Type /Page /Parent 2 0 R /Resources <</Font <</F1 5 0 R>> /Properties <</P0 8 0 R>>>> /Contents 4 0 R /Rotate 90 /CropBox [0 0 100 100]>>"
	src := classic(objs, "")
	out, err := ExtractPages(context.Background(), src, []int{1}, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte("<</Broken null /Missing null /Neg -0.25 /Orphan null /Real 1.5>>")) {
		t.Errorf("links not dropped:\n%s", out)
	}
	if got := mustText(t, out); !slices.Equal(got, []string{"text"}) {
		t.Errorf("got %q", got)
	}
	pdfcpuPages(t, out, src)
}

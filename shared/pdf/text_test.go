package pdf

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/letter"
)

func TestIsPDF(t *testing.T) {
	for _, c := range []struct {
		data string
		want bool
	}{
		{"%PDF-1.7\n", true},
		{"\xef\xbb\xbf%PDF-1.4", true},
		{strings.Repeat(" ", 1000) + "%PDF-1.4", true},
		{strings.Repeat(" ", 1020) + "%PDF-1.4", false},
		{"", false},
		{"%PD", false},
		{"PK\x03\x04", false},
	} {
		if got := IsPDF([]byte(c.data)); got != c.want {
			t.Errorf("IsPDF(%.20q) = %v, want %v", c.data, got, c.want)
		}
	}
}

// TestCertificates reads fpdf certificates, compressed or not, page by
// page, and compares with what each page says and with ledongthuc/pdf.
func TestCertificates(t *testing.T) {
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprintf("compress=%v", compress), func(t *testing.T) {
			data := certificate(t, people, compress)
			pages := mustText(t, data)
			if len(pages) != len(people) {
				t.Fatalf("%d pages, want %d", len(pages), len(people))
			}
			theirs := ledongthucText(t, data)
			for i, pe := range people {
				if got, want := words(pages[i]), certificateWords(pe); !slices.Equal(got, want) {
					t.Errorf("page %d words:\n got %q\nwant %q", i+1, got, want)
				}
				if got, want := words(pages[i]), words(theirs[i]); !slices.Equal(got, want) {
					t.Errorf("page %d differs from ledongthuc/pdf:\n ours %q\ntheirs %q", i+1, got, want)
				}
			}
			// Lines: a label and its value share one.
			if !strings.Contains(pages[0], "\nCodice fiscale RSSMRA80A01H501U\n") {
				t.Errorf("page 1 lines: %q", pages[0])
			}
		})
	}
}

// TestUTF8Font reads text written with a TrueType font through fpdf's
// AddUTF8Font: a Type0 font, Identity-H, with a ToUnicode CMap.
func TestUTF8Font(t *testing.T) {
	if !haveTTF() {
		t.Skip("no TrueType font at " + ttfPath + "; TestType0 covers Type0 fonts by hand")
	}
	ttf, err := os.ReadFile(ttfPath)
	if err != nil {
		t.Fatal(err)
	}
	p := fpdf.New("P", "mm", "A4", "")
	p.AddUTF8FontFromBytes("DejaVu", "", ttf)
	lines := []string{"Città di Prato, perché NULLA", "ROSSI NICCOLÒ RSSMRA80A01H501U", "Ελληνικά и кириллица — ok"}
	for _, l := range lines {
		p.AddPage()
		p.SetFont("DejaVu", "", 12)
		p.CellFormat(0, 8, l, "", 1, "L", false, 0, "")
		p.CellFormat(40, 8, "Cognome", "", 0, "L", false, 0, "")
		p.CellFormat(0, 8, "Sforza", "", 1, "L", false, 0, "")
	}
	var b bytes.Buffer
	if err := p.Output(&b); err != nil {
		t.Fatal(err)
	}
	pages := mustText(t, b.Bytes())
	for i, l := range lines {
		if want := l + "\nCognome Sforza"; pages[i] != want {
			t.Errorf("page %d = %q, want %q", i+1, pages[i], want)
		}
	}
}

// toUnicodeCMap maps the two-byte codes 0x0001.. to the runes of s.
func toUnicodeCMap(s string) string {
	var b strings.Builder
	b.WriteString("/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n/CMapName /Test def\n")
	b.WriteString("1 begincodespacerange <0000> <FFFF> endcodespacerange\n")
	rs := []rune(s)
	fmt.Fprintf(&b, "%d beginbfchar\n", len(rs))
	for i, r := range rs {
		fmt.Fprintf(&b, "<%04X> <%04X>\n", i+1, r)
	}
	b.WriteString("endbfchar\n")
	// A range and the array form as well.
	b.WriteString("2 beginbfrange\n<0100> <0102> <0041>\n<0200> <0201> [<00E8> <00F2>]\nendbfrange\n")
	b.WriteString("endcmap CMapName currentdict /CMap defineresource pop end end\n")
	return b.String()
}

func TestType0(t *testing.T) {
	const said = "Città perché"
	var codes strings.Builder
	for i := range []rune(said) {
		fmt.Fprintf(&codes, "%04X", i+1)
	}
	content := fmt.Sprintf("BT /F1 12 Tf 72 720 Td <%s> Tj 0 -20 Td <010001010102> Tj <02000201> Tj ET", codes.String())
	objs := []obj{
		{1, "<</Type /Catalog /Pages 2 0 R>>"},
		{2, "<</Type /Pages /Kids [3 0 R] /Count 1>>"},
		{3, "<</Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources <</Font <</F1 5 0 R>>>> /Contents 4 0 R>>"},
		{4, streamBody("", []byte(content))},
		{5, "<</Type /Font /Subtype /Type0 /BaseFont /ABCDEF+Test /Encoding /Identity-H /DescendantFonts [6 0 R] /ToUnicode 7 0 R>>"},
		{6, "<</Type /Font /Subtype /CIDFontType2 /BaseFont /ABCDEF+Test /CIDSystemInfo <</Registry (Adobe) /Ordering (Identity) /Supplement 0>> /DW 600 /W [1 [500 500] 3 12 550]>>"},
		{7, flateStream("", []byte(toUnicodeCMap(said)))},
	}
	pages := mustText(t, classic(objs, ""))
	if want := "Città perché\nABCèò"; pages[0] != want {
		t.Errorf("got %q, want %q", pages[0], want)
	}
}

// TestCompact reads a cross-reference stream with a PNG predictor, and
// objects (the page tree, fonts) inside an object stream.
func TestCompact(t *testing.T) {
	all := onePage("BT /F1 12 Tf 72 720 Td (Hello) Tj ( World) Tj ET")
	direct := []obj{all[3]} // the content stream; streams cannot be packed
	packed := []obj{all[0], all[1], all[2], all[4]}
	pages := mustText(t, compact(direct, packed, ""))
	if want := []string{"Hello World"}; !slices.Equal(pages, want) {
		t.Errorf("got %q, want %q", pages, want)
	}
}

func TestDifferences(t *testing.T) {
	content := "BT /F1 12 Tf 72 720 Td <4142434445464748> Tj ET"
	objs := onePage(content)
	objs[4] = obj{5, "<</Type /Font /Subtype /Type1 /BaseFont /Custom /FirstChar 65 /LastChar 72 /Widths [500 500 500 500 500 500 500 500] " +
		"/Encoding <</Type /Encoding /BaseEncoding /WinAnsiEncoding /Differences [65 /agrave /Egrave /eacute 69 /uni00F2 /u00F9 /f_i /quotedblleft /endash]>>>>"}
	pages := mustText(t, classic(objs, ""))
	if want := "àÈéDòùfi“"; pages[0] != want {
		t.Errorf("got %q, want %q", pages[0], want)
	}
}

func TestEncodings(t *testing.T) {
	for _, c := range []struct {
		enc  string
		code string
		want string
	}{
		{"/WinAnsiEncoding", "E0E8ECF2F9C8939496", "àèìòùÈ“”–"},
		{"/MacRomanEncoding", "888F93989DE9D2D3D0", "àèìòùÈ“”–"},
		{"/StandardEncoding", "60276162AAB1", "‘’ab“–"},
	} {
		objs := onePage("BT /F1 12 Tf 72 720 Td <" + c.code + "> Tj ET")
		objs[4] = obj{5, "<</Type /Font /Subtype /Type1 /BaseFont /Times-Roman /Encoding " + c.enc + ">>"}
		pages := mustText(t, classic(objs, ""))
		if pages[0] != c.want {
			t.Errorf("%s: got %q, want %q", c.enc, pages[0], c.want)
		}
	}
}

func TestIncrementalUpdate(t *testing.T) {
	base := classic(onePage("BT /F1 12 Tf 72 720 Td (NULLA) Tj ET"), "")
	upd := update(base, []obj{{4, streamBody("", []byte("BT /F1 12 Tf 72 720 Td (SENTENZA) Tj ET"))}}, "")
	if got := mustText(t, upd); !slices.Equal(got, []string{"SENTENZA"}) {
		t.Errorf("updated: got %q", got)
	}
	// A second update adds a page.
	upd2 := update(upd, []obj{
		{2, "<</Type /Pages /Kids [3 0 R 6 0 R] /Count 2>>"},
		{6, "<</Type /Page /Parent 2 0 R /Resources <</Font <</F1 5 0 R>>>> /Contents 7 0 R>>"},
		{7, streamBody("", []byte("BT /F1 12 Tf 72 720 Td (ROSSI) Tj ET"))},
	}, "")
	if got := mustText(t, upd2); !slices.Equal(got, []string{"SENTENZA", "ROSSI"}) {
		t.Errorf("updated twice: got %q", got)
	}
}

// TestBrokenXref reads files whose cross-reference data is wrong or
// missing: the table is rebuilt from the objects found in the file.
func TestBrokenXref(t *testing.T) {
	good := classic(onePage("BT /F1 12 Tf 72 720 Td (Codice fiscale RSSMRA80A01H501U) Tj ET"), "")
	xref := startxrefOf(good)
	shifted := bytes.Replace(good, []byte("%PDF-1.4\n"), []byte("%PDF-1.4\n% a comment that moves every object\n"), 1)
	cases := map[string][]byte{
		"offsets wrong":       shifted,
		"no startxref":        bytes.Replace(good, []byte("startxref"), []byte("startxxxx"), 1),
		"startxref past end":  bytes.Replace(good, []byte(fmt.Sprintf("startxref\n%d", xref)), []byte("startxref\n99999999"), 1),
		"no xref at all":      good[:xref],
		"table garbled":       append(append(append([]byte{}, good[:xref]...), "xref\n0 6\ngarbage"...), good[bytes.LastIndex(good, []byte("trailer")):]...),
		"no trailer":          bytes.Replace(good[:xref], []byte("trailer"), []byte("xxxxxxx"), 1),
		"root wrong":          bytes.Replace(good, []byte("/Root 1 0 R"), []byte("/Root 9 0 R"), 1),
		"junk before header":  append([]byte("garbage\n"), good...),
		"xref entry too long": bytes.Replace(good, []byte(" 00000 n \n"), []byte(" 00000 n  \n"), 1),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			if got := mustText(t, data); !slices.Equal(got, []string{"Codice fiscale RSSMRA80A01H501U"}) {
				t.Errorf("got %q", got)
			}
		})
	}
}

// TestLayout checks how positions become spaces and newlines.
func TestLayout(t *testing.T) {
	huge := strings.Repeat("9", 400) // beyond float64: read as the largest float64
	for _, c := range []struct {
		name, content, want string
	}{
		{"kerning is no space", "BT /F1 10 Tf 72 720 Td [(Wo) -20 (rd)] TJ ET", "Word"},
		{"a wide adjustment is a space", "BT /F1 10 Tf 72 720 Td [(Two) -300 (words)] TJ ET", "Two words"},
		{"next line by T*", "BT /F1 10 Tf 12 TL 72 720 Td (one) Tj T* (two) Tj ET", "one\ntwo"},
		{"next line by '", "BT /F1 10 Tf 12 TL 72 720 Td (one) Tj (two) ' ET", "one\ntwo"},
		{"next line by \"", "BT /F1 10 Tf 12 TL 72 720 Td (one) Tj 1 0 (two) \" ET", "one\ntwo"},
		{"TD sets the leading", "BT /F1 10 Tf 72 720 Td (one) Tj 0 -14 TD (two) Tj T* (three) Tj ET", "one\ntwo\nthree"},
		{"a cell further on the line", "BT /F1 10 Tf 72 720 Td (Nome) Tj ET BT /F1 10 Tf 200 720 Td (MARIO) Tj ET", "Nome MARIO"},
		{"glyph by glyph", "BT /F1 10 Tf 72 720 Td (R) Tj 6.67 0 Td (S) Tj 6.67 0 Td (S) Tj ET", "RSS"},
		{"scaled by Tm", "BT /F1 1 Tf 12 0 0 12 72 720 Tm (one) Tj 0 -1.2 Td (two) Tj ET", "one\ntwo"},
		{"scaled by cm", "q 2 0 0 2 0 0 cm BT /F1 10 Tf 10 300 Td (one) Tj 0 -12 Td (two) Tj ET Q", "one\ntwo"},
		{"rotated page content", "q 0 1 -1 0 612 0 cm BT /F1 10 Tf 72 300 Td (one) Tj (two) Tj 0 -12 Td (three) Tj ET Q", "onetwo\nthree"},
		{"word spacing", "BT /F1 10 Tf 5 Tw 72 720 Td (a b) Tj ET", "a b"},
		{"character spacing", "BT /F1 10 Tf 1 Tc 72 720 Td (ab) Tj (c) Tj ET", "abc"},
		{"horizontal scaling", "BT /F1 10 Tf 50 Tz 72 720 Td (ab) Tj 5.56 0 Td (c) Tj ET", "abc"},
		{"rise is the same line", "BT /F1 10 Tf 72 720 Td (x) Tj 3 Ts (2) Tj ET", "x2"},
		{"overprint gets a space", "BT /F1 10 Tf 72 720 Td (Bold) Tj ET BT /F1 10 Tf 72.3 720 Td (Bold) Tj ET", "Bold Bold"},
		{"q Q keeps the font", "BT /F1 10 Tf q /F1 20 Tf Q 72 720 Td (a) Tj ET", "a"},
		{"controls dropped", "BT /F1 10 Tf 72 720 Td (a\\001b\\tc) Tj ET", "abc"},
		{"no font no text", "BT 72 720 Td (lost) Tj ET", ""},
		{"unknown font", "BT /F9 10 Tf 72 720 Td (lost) Tj ET", ""},
		{"inline image skipped", "BT /F1 10 Tf 72 720 Td (a) Tj ET BI /W 2 /H 2 /BPC 8 /CS /G ID \x00EI\xff(x) Tj\n EI BT /F1 10 Tf 82 720 Td (b) Tj ET", "a b"},
		{"inline image to the end", "BT /F1 10 Tf 72 720 Td (a) Tj ET BI /W 2 ID xxxxxxx", "a"},
		{"inline image data missing", "BT /F1 10 Tf 72 720 Td (a) Tj ET BI /W 2 ID", "a"},
		{"non-finite positions", "BT /F1 10 Tf " + huge + " 0 0 " + huge + " " + huge + " 0 Tm (a) Tj (b) Tj ET", "a\nb"},
		{"damage keeps the text before", "BT /F1 10 Tf 72 720 Td (kept) Tj ] (lost) Tj ET", "kept"},
		{"odd operands ignored", "BT /F1 Tf /X Tc (a) Td /F1 10 Tf 72 720 Td (x) Tj [1 (y)] Tj (z) TJ true false null Tz ET", "x"},
	} {
		t.Run(c.name, func(t *testing.T) {
			pages := mustText(t, classic(onePage(c.content), ""))
			if pages[0] != c.want {
				t.Errorf("got %q, want %q", pages[0], c.want)
			}
		})
	}
}

// TestForms reads text in form XObjects, placed by their /Matrix.
func TestForms(t *testing.T) {
	objs := onePage("BT /F1 10 Tf 72 720 Td (page) Tj ET q 1 0 0 1 0 -100 cm /Fm1 Do Q /Im1 Do /Missing Do",
		obj{6, streamBody("/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Matrix [1 0 0 1 0 -20] /Resources <</Font <</F2 5 0 R>>>>", []byte("BT /F2 10 Tf 72 720 Td (form) Tj ET /Fm2 Do"))},
		obj{7, streamBody("/Type /XObject /Subtype /Image /Width 1 /Height 1 /BitsPerComponent 8 /ColorSpace /DeviceGray", []byte{0})},
		obj{8, streamBody("/Type /XObject /Subtype /Form /BBox [0 0 612 792]", []byte("BT /F2 10 Tf 300 620 Td (inner) Tj ET"))},
	)
	objs[2].body = "<</Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources <</Font <</F1 5 0 R>> /XObject <</Fm1 6 0 R /Im1 7 0 R>>>> /Contents 4 0 R>>"
	objs[5].body = strings.Replace(objs[5].body, "/Resources <</Font <</F2 5 0 R>>>>", "/Resources <</Font <</F2 5 0 R>> /XObject <</Fm2 8 0 R>>>>", 1)
	pages := mustText(t, classic(objs, ""))
	if want := "page\nform\ninner"; pages[0] != want {
		t.Errorf("got %q, want %q", pages[0], want)
	}
}

// TestPageTree checks inherited attributes, content arrays and pages that
// cannot be read.
func TestPageTree(t *testing.T) {
	objs := []obj{
		{1, "<</Type /Catalog /Pages 2 0 R>>"},
		{2, "<</Type /Pages /Kids [10 0 R 3 0 R 99 0 R 11 0 R] /Count 4 /Resources <</Font <</F1 5 0 R>>>> /MediaBox [0 0 612 792]>>"},
		{10, "<</Type /Pages /Kids [12 0 R] /Count 1>>"},
		{12, "<</Type /Page /Parent 10 0 R /Contents [13 0 R 14 0 R]>>"},
		{13, streamBody("", []byte("BT /F1 10 Tf 72"))},
		{14, streamBody("", []byte("720 Td (split across) Tj ET"))},
		{3, "<</Type /Page /Parent 2 0 R /Contents 4 0 R>>"},
		{4, streamBody("/Filter /DCTDecode", []byte("not text"))},
		{5, helvetica},
		{11, "<</Parent 2 0 R /Contents 15 0 R>>"}, // no /Type: a page all the same
		{15, streamBody("/Filter /FlateDecode", []byte("not zlib data"))},
	}
	pages := mustText(t, classic(objs, ""))
	if want := []string{"split across", "", ""}; !slices.Equal(pages, want) {
		t.Errorf("got %q, want %q", pages, want)
	}
}

func TestNoPages(t *testing.T) {
	pages, err := Text(context.Background(), classic([]obj{
		{1, "<</Type /Catalog /Pages 2 0 R>>"},
		{2, "<</Type /Pages /Kids [] /Count 0>>"},
	}, ""), Limits{})
	if err != nil || len(pages) != 0 {
		t.Errorf("got %q, %v; want no pages and no error", pages, err)
	}
}

// TestLetter reads the project's own request letter (fpdf, compressed,
// several fonts and a wrapped paragraph) as ledongthuc/pdf reads it.
func TestLetter(t *testing.T) {
	data, err := letter.Bytes(letter.Request{
		Comune: "Comune di Prato", IPA: "c_g999", Office: "Servizio attività economiche SUAP",
		Procura: "Procura della Repubblica presso il Tribunale di Prato", ProcuraPEC: "casellario@pec.procura.prato.test",
		CertificateType: "Certificato generale del casellario giudiziario", Purpose: "verifica dei requisiti (art. 71 DPR 445/2000), perché è così",
		Protocol: domain.Protocol{Number: "0012345", Date: domain.Date{Year: 2026, Month: time.November, Day: 25}},
		Subjects: 42, SubjectsFile: "soggetti.csv", German: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ours := mustText(t, data)
	theirs := ledongthucText(t, data)
	if len(ours) != len(theirs) {
		t.Fatalf("%d pages, ledongthuc/pdf %d", len(ours), len(theirs))
	}
	for i := range ours {
		if !slices.Equal(words(ours[i]), words(theirs[i])) {
			t.Errorf("page %d:\n ours   %q\n theirs %q", i+1, ours[i], theirs[i])
		}
	}
	all := strings.Join(ours, "\n")
	for _, want := range []string{"Prot. n. 0012345 del 25/11/2026", "Comune di Prato", "perché è così", "42"} {
		if !strings.Contains(all, want) {
			t.Errorf("%q not in the text:\n%s", want, all)
		}
	}
}

// TestSimpleFontToUnicode: a ToUnicode CMap wins over the encoding of a
// simple font too; codes it does not map keep the encoding's text.
func TestSimpleFontToUnicode(t *testing.T) {
	objs := onePage("BT /F1 12 Tf 72 720 Td (ABCD) Tj ET",
		obj{6, streamBody("", []byte("1 begincodespacerange <00> <FF> endcodespacerange 1 beginbfchar <41> <03A9> endbfchar 1 beginbfrange <42> <43> <00E0> endbfrange"))})
	objs[4].body = "<</Type /Font /Subtype /TrueType /BaseFont /ABCDEF+Arial /Encoding /WinAnsiEncoding /ToUnicode 6 0 R>>"
	if got := mustText(t, classic(objs, "")); !slices.Equal(got, []string{"ΩàáD"}) {
		t.Errorf("got %q", got)
	}
}

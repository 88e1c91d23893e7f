package pdf

import (
	"bytes"
	"compress/zlib"
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-pdf/fpdf"
	lpdf "github.com/ledongthuc/pdf"
	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

func init() {
	// pdfcpu would otherwise write its configuration under the user's
	// configuration directory.
	api.DisableConfigDir()
}

// person is what a test certificate says about someone.
type person struct {
	surname, name, birth, place, fc, record string
}

var people = []person{
	{"ROSSI", "MARIO", "01/01/1980", "H501", "RSSMRA80A01H501U", ""},
	{"D'ANGELO", "NICCOLÒ", "15/03/1975", "G999", "DNGNCL75C15G999X", "SENTENZA DEL TRIBUNALE DI PRATO N. 123/2004, IRREVOCABILE, PER IL REATO DI CUI ALL'ART. 624 C.P. (FURTO): PENA DI MESI 3 DI RECLUSIONE, SOSPESA."},
	{"BIANCHI", "ANNA MARIA", "30/12/1990", "D612", "BNCNMR90T70D612K", ""},
	{"ESPOSITO", "GIOSUÈ", "02/02/1962", "F839", "SPSGSI62B02F839E", "DECRETO PENALE DI CONDANNA: AMMENDA DI EURO 500, PER IL REATO DI CUI ALL'ART. 483 C.P. (FALSITÀ IDEOLOGICA COMMESSA DAL PRIVATO IN ATTO PUBBLICO)."},
}

// certificate writes a PDF with one certificate page per person, as the
// simulated Procura does (fpdf, Helvetica, cp1252).
func certificate(t testing.TB, ps []person, compress bool) []byte {
	t.Helper()
	p := fpdf.New("P", "mm", "A4", "")
	p.SetCompression(compress)
	tr := p.UnicodeTranslatorFromDescriptor("")
	for _, pe := range ps {
		p.AddPage()
		p.SetFont("Helvetica", "B", 13)
		p.CellFormat(0, 8, "PROCURA DELLA REPUBBLICA PRESSO IL TRIBUNALE DI PRATO", "", 1, "C", false, 0, "")
		p.CellFormat(0, 8, "UFFICIO DEL CASELLARIO GIUDIZIARIO", "", 1, "C", false, 0, "")
		p.SetFont("Helvetica", "", 10)
		p.CellFormat(0, 6, tr("Città di Prato - richiesta perché prevista dalla legge"), "", 1, "C", false, 0, "")
		p.Ln(6)
		row := func(label, value string) {
			p.SetFont("Helvetica", "", 11)
			p.CellFormat(60, 7, tr(label), "", 0, "L", false, 0, "")
			p.SetFont("Helvetica", "B", 11)
			p.CellFormat(0, 7, tr(value), "", 1, "L", false, 0, "")
		}
		row("Cognome", pe.surname)
		row("Nome", pe.name)
		row("Data di nascita", pe.birth)
		row("Comune di nascita (codice)", pe.place)
		row("Codice fiscale", pe.fc)
		row("Paternità", "—")
		p.Ln(8)
		p.SetFont("Helvetica", "", 11)
		p.CellFormat(0, 7, "Nel casellario giudiziario risulta:", "", 1, "L", false, 0, "")
		p.SetFont("Helvetica", "B", 12)
		if pe.record != "" {
			p.MultiCell(0, 7, tr(pe.record), "", "L", false)
		} else {
			p.CellFormat(0, 9, "NULLA", "", 1, "L", false, 0, "")
		}
		p.SetFont("Helvetica", "", 9)
		p.CellFormat(0, 6, tr("Documento prodotto da un simulatore: non ha alcun valore legale. “Virgolette” – più"), "", 1, "L", false, 0, "")
	}
	var b bytes.Buffer
	if err := p.Output(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// certificateWords is what page i of certificate says, word by word.
func certificateWords(pe person) []string {
	s := "PROCURA DELLA REPUBBLICA PRESSO IL TRIBUNALE DI PRATO UFFICIO DEL CASELLARIO GIUDIZIARIO " +
		"Città di Prato - richiesta perché prevista dalla legge " +
		"Cognome " + pe.surname + " Nome " + pe.name + " Data di nascita " + pe.birth +
		" Comune di nascita (codice) " + pe.place + " Codice fiscale " + pe.fc + " Paternità — " +
		"Nel casellario giudiziario risulta: "
	if pe.record != "" {
		s += pe.record
	} else {
		s += "NULLA"
	}
	s += " Documento prodotto da un simulatore: non ha alcun valore legale. “Virgolette” – più"
	return strings.Fields(s)
}

// manyPeople repeats the test people n times with distinct fiscal codes.
func manyPeople(n int) []person {
	out := make([]person, n)
	for i := range out {
		out[i] = people[i%len(people)]
		out[i].fc = fmt.Sprintf("%s%04d%s", out[i].fc[:6], i%10000, out[i].fc[10:])
	}
	return out
}

var (
	bigOnce sync.Once
	bigDoc  []byte
)

// bigCertificate is a 300-page merged certificate, built once.
func bigCertificate(t testing.TB) []byte {
	bigOnce.Do(func() { bigDoc = certificate(t, manyPeople(300), true) })
	return bigDoc
}

// obj is one indirect object of a hand-written test PDF.
type obj struct {
	num  int
	body string
}

func streamBody(dict string, data []byte) string {
	return fmt.Sprintf("<<%s /Length %d>>\nstream\n%s\nendstream", dict, len(data), data)
}

func deflate(data []byte) []byte {
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

func flateStream(dict string, data []byte) string {
	return streamBody(dict+" /Filter /FlateDecode", deflate(data))
}

const helvetica = "<</Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding>>"

// onePage is a document whose single page shows content with Helvetica as
// /F1; extra objects are added as given.
func onePage(content string, extra ...obj) []obj {
	return append([]obj{
		{1, "<</Type /Catalog /Pages 2 0 R>>"},
		{2, "<</Type /Pages /Kids [3 0 R] /Count 1>>"},
		{3, "<</Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources <</Font <</F1 5 0 R>>>> /Contents 4 0 R>>"},
		{4, streamBody("", []byte(content))},
		{5, helvetica},
	}, extra...)
}

// classic writes objs with a cross-reference table; the trailer gets
// /Size, /Root 1 0 R and extra.
func classic(objs []obj, extra string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	writeSection(&b, objs, extra, -1)
	return b.Bytes()
}

// writeSection appends objects, their table and a trailer (with /Prev when
// prev >= 0).
func writeSection(b *bytes.Buffer, objs []obj, extra string, prev int) {
	offs := map[int]int{}
	size := 1
	for _, o := range objs {
		offs[o.num] = b.Len()
		fmt.Fprintf(b, "%d 0 obj\n%s\nendobj\n", o.num, o.body)
		size = max(size, o.num+1)
	}
	xref := b.Len()
	if prev < 0 {
		fmt.Fprintf(b, "xref\n0 %d\n", size)
		for n := 0; n < size; n++ {
			if off, ok := offs[n]; ok {
				fmt.Fprintf(b, "%010d 00000 n \n", off)
			} else {
				b.WriteString("0000000000 65535 f \n")
			}
		}
		fmt.Fprintf(b, "trailer\n<</Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n", size, extra, xref)
		return
	}
	// An update lists only the objects it has, one subsection each.
	b.WriteString("xref\n")
	nums := make([]int, 0, len(offs))
	for n := range offs {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	for _, n := range nums {
		fmt.Fprintf(b, "%d 1\n%010d 00000 n \n", n, offs[n])
	}
	fmt.Fprintf(b, "trailer\n<</Size %d /Root 1 0 R /Prev %d %s>>\nstartxref\n%d\n%%%%EOF\n", size, prev, extra, xref)
}

// update appends an incremental update to a document.
func update(base []byte, objs []obj, extra string) []byte {
	b := bytes.NewBuffer(append([]byte(nil), base...))
	writeSection(b, objs, extra, startxrefOf(base))
	return b.Bytes()
}

func startxrefOf(data []byte) int {
	i := bytes.LastIndex(data, []byte("startxref"))
	f := strings.Fields(string(data[i+len("startxref"):]))
	n, _ := strconv.Atoi(f[0])
	return n
}

// compact writes direct objects as such and the others in one object
// stream, with a cross-reference stream (PNG Up predictor) for all.
func compact(direct, packed []obj, extra string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
	type entry struct{ typ, f2, f3 int }
	entries := map[int]entry{}
	maxNum := 0
	for _, o := range append(append([]obj{}, direct...), packed...) {
		maxNum = max(maxNum, o.num)
	}
	stm, xrefNum := maxNum+1, maxNum+2
	for _, o := range direct {
		entries[o.num] = entry{1, b.Len(), 0}
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", o.num, o.body)
	}
	if len(packed) > 0 {
		var head, body strings.Builder
		for i, o := range packed {
			fmt.Fprintf(&head, "%d %d ", o.num, body.Len())
			body.WriteString(o.body + "\n")
			entries[o.num] = entry{2, stm, i}
		}
		entries[stm] = entry{1, b.Len(), 0}
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", stm, flateStream(fmt.Sprintf("/Type /ObjStm /N %d /First %d", len(packed), head.Len()), []byte(head.String()+body.String())))
	}
	entries[xrefNum] = entry{1, b.Len(), 0}
	// Rows of 1+4+2 bytes, each behind a PNG "Up" filter byte.
	var raw []byte
	prev := make([]byte, 7)
	for n := 0; n <= xrefNum; n++ {
		e := entries[n]
		row := []byte{byte(e.typ), byte(e.f2 >> 24), byte(e.f2 >> 16), byte(e.f2 >> 8), byte(e.f2), byte(e.f3 >> 8), byte(e.f3)}
		raw = append(raw, 2)
		for i := range row {
			raw = append(raw, row[i]-prev[i])
		}
		prev = row
	}
	xoff := b.Len()
	fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\nstartxref\n%d\n%%%%EOF\n", xrefNum,
		flateStream(fmt.Sprintf("/Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /DecodeParms <</Predictor 12 /Columns 7>> %s", xrefNum+1, extra), raw), xoff)
	return b.Bytes()
}

// words splits text into words, for comparisons that do not depend on how
// a reader lays out lines.
func words(s string) []string { return strings.Fields(s) }

// ledongthucText reads every page with github.com/ledongthuc/pdf.
func ledongthucText(t testing.TB, data []byte) []string {
	t.Helper()
	r, err := lpdf.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("ledongthuc/pdf: %v", err)
	}
	out := make([]string, r.NumPage())
	for i := range out {
		s, err := r.Page(i + 1).GetPlainText(nil)
		if err != nil {
			t.Fatalf("ledongthuc/pdf page %d: %v", i+1, err)
		}
		out[i] = s
	}
	return out
}

// pdfcpuValidate reads data with pdfcpu and validates it in the given mode.
func pdfcpuValidate(data []byte, mode int) (int, error) {
	conf := model.NewDefaultConfiguration()
	conf.ValidationMode = mode
	ctx, err := api.ReadContext(bytes.NewReader(data), conf)
	if err != nil {
		return 0, fmt.Errorf("pdfcpu read: %w", err)
	}
	if err := api.ValidateContext(ctx); err != nil {
		return 0, fmt.Errorf("pdfcpu validate: %w", err)
	}
	return ctx.PageCount, nil
}

// pdfcpuPages validates out, written from src, with pdfcpu and returns its
// page count. The validation is strict unless src itself fails it (fpdf's
// TrueType font descriptors do): then out must fail it the same way and
// pass the relaxed one.
func pdfcpuPages(t testing.TB, out, src []byte) int {
	t.Helper()
	n, err := pdfcpuValidate(out, model.ValidationStrict)
	if err == nil {
		return n
	}
	_, srcErr := pdfcpuValidate(src, model.ValidationStrict)
	if srcErr == nil || srcErr.Error() != err.Error() {
		t.Fatalf("%v (source: %v)", err, srcErr)
	}
	n, err = pdfcpuValidate(out, model.ValidationRelaxed)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func mustText(t testing.TB, data []byte) []string {
	t.Helper()
	pages, err := Text(context.Background(), data, Limits{})
	if err != nil {
		t.Fatalf("Text: %v", err)
	}
	return pages
}

// countdown is a context whose deadline passes after n checks: a deadline
// that tests can hit at a chosen point without timing anything.
type countdown struct {
	context.Context
	n int
}

func (c *countdown) Err() error {
	if c.n <= 0 {
		return context.DeadlineExceeded
	}
	c.n--
	return nil
}

var ttfPath = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

func haveTTF() bool {
	_, err := os.Stat(ttfPath)
	return err == nil
}

var time0 = time.Unix(0, 0)

// utf8Doc is a two-page document in a Type0 font: fpdf with a TrueType font
// when the machine has one, else written by hand.
func utf8Doc(t testing.TB) []byte {
	t.Helper()
	ttf, err := os.ReadFile(ttfPath)
	if err != nil {
		objs := onePage("BT /F1 12 Tf 72 720 Td <00010002> Tj ET",
			obj{6, "<</Subtype /CIDFontType2 /BaseFont /Test /DW 600>>"},
			obj{7, streamBody("", []byte(toUnicodeCMap("àè")))})
		objs[4].body = "<</Type /Font /Subtype /Type0 /BaseFont /Test /Encoding /Identity-H /DescendantFonts [6 0 R] /ToUnicode 7 0 R>>"
		return classic(objs, "")
	}
	p := fpdf.New("P", "mm", "A4", "")
	p.AddUTF8FontFromBytes("DejaVu", "", ttf)
	for _, l := range []string{"Città di Prato, perché NULLA", "ROSSI NICCOLÒ RSSMRA80A01H501U"} {
		p.AddPage()
		p.SetFont("DejaVu", "", 12)
		p.CellFormat(0, 8, l, "", 1, "L", false, 0, "")
	}
	var b bytes.Buffer
	if err := p.Output(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

package pdf

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// fuzzLimits keep each input cheap, so that the fuzzer tries many.
var fuzzLimits = Limits{MaxDecoded: 1 << 20, MaxOps: 100_000, MaxValues: 100_000, MaxText: 1 << 20, MaxObjects: 10_000}

var (
	seedOnce  sync.Once
	seedCache [][]byte
)

// seeds are small documents of every kind: good ones and hostile ones.
func seeds(t testing.TB) [][]byte {
	seedOnce.Do(func() { seedCache = makeSeeds(t) })
	return seedCache
}

func makeSeeds(t testing.TB) [][]byte {
	all := onePage("BT /F1 10 Tf 72 720 Td (text) Tj ET")
	out := [][]byte{
		certificate(t, people[:1], false),
		certificate(t, people[1:2], true),
		utf8Doc(t),
		classic(all, ""),
		compact([]obj{all[3]}, []obj{all[0], all[1], all[2], all[4]}, ""),
		update(classic(all, ""), []obj{{4, streamBody("", []byte("BT /F1 10 Tf 72 720 Td [(new) -300 (text)] TJ ET"))}}, ""),
		withPage("BT /F1 10 Tf 72 720 Td (a) Tj " + strings.Repeat("[", 100)),
		withPage(strings.Repeat("<</A ", 100)),
		withPage("BT /F1 10 Tf 72 720 Td " + strings.Repeat("(", 100) + " Tj ET"),
		withPage("q 2 0 0 2 0 0 cm BT /F1 1 Tf 12 0 0 12 0 0 Tm (x) Tj T* (y) ' 1 2 (z) \" ET Q BI /W 1 ID x EI"),
	}
	for _, h := range hostiles() {
		if d := h.data(); len(d) < 64<<10 {
			out = append(out, d)
		}
	}
	return out
}

func FuzzText(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		recoverPanics = false
		defer func() { recoverPanics = true }()
		pages, err := Text(context.Background(), data, fuzzLimits)
		if err != nil {
			if !errors.Is(err, ErrNotPDF) && !errors.Is(err, ErrLimit) || errors.Is(err, errInternal) {
				t.Fatalf("unexpected error: %v", err)
			}
			if pages != nil {
				t.Fatalf("pages with an error")
			}
			return
		}
		if len(pages) > DefaultMaxPages {
			t.Fatalf("%d pages", len(pages))
		}
		total := 0
		for _, p := range pages {
			total += len(p)
			if !utf8.ValidString(p) {
				t.Fatalf("text is not UTF-8: %q", p)
			}
		}
		if total > int(fuzzLimits.MaxText) {
			t.Fatalf("%d bytes of text", total)
		}
	})
}

func FuzzExtractPages(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s, uint8(1), uint8(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, p1, p2 uint8) {
		recoverPanics = false
		defer func() { recoverPanics = true }()
		sel := []int{int(p1)}
		if p2 > 0 {
			sel = append(sel, int(p2))
		}
		out, cut, err := extractPages(context.Background(), data, sel, fuzzLimits)
		if err != nil {
			if !errors.Is(err, ErrNotPDF) && !errors.Is(err, ErrLimit) && !errors.Is(err, ErrPageRange) || errors.Is(err, errInternal) {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		// What was written must read again, with the pages asked for.
		pages, err := Text(context.Background(), out, fuzzLimits)
		if err != nil {
			if errors.Is(err, ErrLimit) {
				return
			}
			t.Fatalf("the output does not read: %v", err)
		}
		if len(pages) != len(sel) {
			t.Fatalf("%d pages written, %d asked for", len(pages), len(sel))
		}
		// And they say what they said in the source, unless they used other
		// pages or tree nodes as resources (links to those are cut).
		src, err := Text(context.Background(), data, fuzzLimits)
		if err != nil || cut > 0 {
			return
		}
		for i, n := range sel {
			if pages[i] != src[n-1] {
				t.Fatalf("page %d: %q in the source, %q written", n, src[n-1], pages[i])
			}
		}
	})
}

// contentDoc puts content in a page that has a simple font, a Type0 font
// with a ToUnicode CMap and a form, so that the fuzzer works on the
// interpreter without having to find a valid document around it.
func contentDoc(content, cmap []byte) []byte {
	objs := onePage("",
		obj{6, "<</Type /Font /Subtype /Type0 /Encoding /Identity-H /DescendantFonts [<</Subtype /CIDFontType2 /W [1 [500 600] 3 9 700]>>] /ToUnicode 7 0 R>>"},
		obj{7, streamBody("", cmap)},
		obj{8, streamBody("/Subtype /Form /Matrix [1 0 0 1 5 5]", content)})
	objs[2].body = "<</Type /Page /Parent 2 0 R /Resources <</Font <</F1 5 0 R /F2 6 0 R>> /XObject <</X 8 0 R>>>> /Contents 4 0 R>>"
	objs[3].body = streamBody("", content)
	return classic(objs, "")
}

func FuzzContent(f *testing.F) {
	cmap := []byte(toUnicodeCMap("Città perché"))
	for _, c := range []string{
		"BT /F1 10 Tf 72 720 Td (Nome) Tj [(A) -300 (B)] TJ 12 TL T* (x) ' 1 2 (y) \" ET",
		"BT /F2 12 Tf 1 0 0 1 72 700 Tm <00010002> Tj [<0003> 200 <0004>] TJ ET q 2 0 0 2 0 0 cm /X Do Q",
		"BI /W 1 /H 1 ID x EI BT /F1 10 Tf 50 Tz 1 Tc 2 Tw 3 Ts 0 -14 TD (a) Tj ET",
		textContent,
	} {
		f.Add([]byte(c), cmap)
	}
	f.Fuzz(func(t *testing.T, content, cmap []byte) {
		recoverPanics = false
		defer func() { recoverPanics = true }()
		pages, err := Text(context.Background(), contentDoc(content, cmap), fuzzLimits)
		if err != nil {
			if !errors.Is(err, ErrLimit) {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		if len(pages) != 1 || !utf8.ValidString(pages[0]) {
			t.Fatalf("got %q", pages)
		}
	})
}

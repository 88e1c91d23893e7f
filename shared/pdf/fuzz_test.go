package pdf

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzLimits keep each input cheap, so that the fuzzer tries many.
var fuzzLimits = Limits{MaxDecoded: 1 << 20, MaxOps: 100_000, MaxValues: 100_000, MaxText: 1 << 20, MaxObjects: 10_000}

// seeds are small documents of every kind: good ones and hostile ones.
func seeds(t testing.TB) [][]byte {
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
		out, err := ExtractPages(context.Background(), data, sel, fuzzLimits)
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
		// And they say what they said in the source.
		src, err := Text(context.Background(), data, fuzzLimits)
		if err != nil {
			return
		}
		for i, n := range sel {
			if pages[i] != src[n-1] {
				t.Fatalf("page %d: %q in the source, %q written", n, src[n-1], pages[i])
			}
		}
	})
}

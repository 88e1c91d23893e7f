package pdf

import (
	"context"
	"errors"
	"testing"
)

func parseCMapText(t *testing.T, text string, lim Limits) (*cmap, error) {
	t.Helper()
	d := newDoc(newBudget(context.Background(), lim, 0), []byte("%PDF-1.7\n"))
	return d.parseCMap([]byte(text))
}

func TestCMap(t *testing.T) {
	cm, err := parseCMapText(t, `/CIDInit /ProcSet findresource begin 12 dict begin begincmap
/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def
2 begincodespacerange <00> <80> <8140> <9FFC> endcodespacerange
3 beginbfchar <41> <0061> <8141> <D83DDE00> <42> /agrave endbfchar
2 beginbfrange <50> <52> <0070> <9040> <9042> [<0066006600690020> <00E8> /Egrave] endbfrange
1 beginbfrange <60> <62> <00FF> endbfrange
2 begincidrange <8140> <817E> 633 <00> <7F> 1 endcidrange
1 begincidchar <9040> 7 endcidchar
1 beginbfchar <43> 5 endbfchar
1 beginbfchar <44> endbfchar
endcmap CMapName currentdict /CMap defineresource pop end end`, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in    []byte
		code  uint32
		n     int
		text  string
		found bool
	}{
		{[]byte{0x41}, 0x41, 1, "a", true},
		{[]byte{0x42}, 0x42, 1, "à", true},
		{[]byte{0x81, 0x41}, 0x8141, 2, "😀", true},
		{[]byte{0x51}, 0x51, 1, "q", true},
		{[]byte{0x90, 0x40}, 0x9040, 2, "ffi ", true},
		{[]byte{0x90, 0x42}, 0x9042, 2, "È", true},
		{[]byte{0x62}, 0x62, 1, "ā", true}, // 0x00FF + 2 = U+0101
		{[]byte{0x43}, 0x43, 1, "", false},
		{[]byte{0x85, 0x41}, 0x8541, 2, "", false},
		{[]byte{0xA0, 0x41}, 0xA0, 1, "", false}, // in no range: one byte, as the shortest range
		{[]byte{0x81}, 0x81, 1, "", false},
	} {
		code, n := cm.nextCode(string(c.in))
		if code != c.code || n != c.n {
			t.Errorf("nextCode(% x) = %#x, %d; want %#x, %d", c.in, code, n, c.code, c.n)
			continue
		}
		text, ok := cm.lookupText(n, code)
		if text != c.text || ok != c.found {
			t.Errorf("lookupText(%#x) = %q, %v; want %q, %v", code, text, ok, c.text, c.found)
		}
	}
	for _, c := range []struct {
		code uint32
		n    int
		cid  uint32
		ok   bool
	}{{0x8140, 2, 633, true}, {0x8150, 2, 649, true}, {0x20, 1, 33, true}, {0x9040, 2, 7, true}, {0x9100, 2, 0, false}} {
		if cid, ok := cm.lookupCID(c.n, c.code); cid != c.cid || ok != c.ok {
			t.Errorf("lookupCID(%#x) = %d, %v; want %d, %v", c.code, cid, ok, c.cid, c.ok)
		}
	}
}

func TestCMapDamaged(t *testing.T) {
	// Entries before the damage are kept.
	cm, err := parseCMapText(t, "1 beginbfchar <41> <0061> endbfchar 2 beginbfchar <42> <0062> ] <43> <0063> endbfchar", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := cm.lookupText(1, 0x41); s != "a" || !ok {
		t.Errorf("<41> = %q", s)
	}
	if s, ok := cm.lookupText(1, 0x42); s != "b" || !ok {
		t.Errorf("<42> = %q", s)
	}
	if _, ok := cm.lookupText(1, 0x43); ok {
		t.Errorf("<43> read after the damage")
	}
	for _, text := range []string{"1 beginbfchar <41> <0061> garbage endbfchar", "1 beginbfrange <41> <40> <0061> endbfrange", "beginbfchar () <0061> (x) (y) endbfchar"} {
		cm, err := parseCMapText(t, text, Limits{})
		if err != nil {
			t.Errorf("%q: %v", text, err)
		} else if _, ok := cm.lookupText(1, 0x41); ok && text != "1 beginbfchar <41> <0061> garbage endbfchar" {
			t.Errorf("%q: mapped <41>", text)
		}
	}
	if _, err := parseCMapText(t, "1 beginbfchar "+string(make([]byte, 0))+"<41> <0061> <42> <0062> endbfchar", Limits{MaxValues: 2}); !errors.Is(err, ErrLimit) {
		t.Errorf("limit: %v", err)
	}
	if _, err := parseCMapText(t, "[[[[[[ beginbfchar", Limits{MaxDepth: 3}); !errors.Is(err, ErrLimit) {
		t.Errorf("depth: %v", err)
	}
}

func TestGlyphNames(t *testing.T) {
	for name, want := range map[string]string{
		"agrave": "à", "Egrave": "È", "eacute": "é", "igrave": "ì", "ograve": "ò", "ugrave": "ù", "Ugrave": "Ù",
		"quoteright": "’", "quotedblleft": "“", "endash": "–", "emdash": "—", "Euro": "€", "fi": "ﬁ",
		"uni00E0": "à", "uni00E000E8": "àè", "u1F600": "😀", "uni00e0": "", "uniD800": "", "u00E": "",
		"a.sc": "a", "f_f_i": "ffi", "one.oldstyle": "1", "g123": "", "": "", "uniXYZW": "",
	} {
		if got := nameText(name); got != want {
			t.Errorf("nameText(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestUTF16Text(t *testing.T) {
	for in, want := range map[string]string{"\x00A": "A", "\xd8\x3d\xde\x00": "😀", "A": "A", "\xd8\x3d": "\uFFFD", "\x00A\x00": "A"} {
		if got := utf16Text([]byte(in)); got != want {
			t.Errorf("utf16Text(%q) = %q, want %q", in, got, want)
		}
	}
}

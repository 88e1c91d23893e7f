package pdf

import (
	"context"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func parseOne(text string, lim Limits) (object, error) {
	p := newParser(newBudget(context.Background(), lim, 0), []byte(text), 0, true)
	return p.value(0)
}

func TestParseValues(t *testing.T) {
	for _, c := range []struct {
		in   string
		want object
	}{
		{"42", int64(42)},
		{"-17", int64(-17)},
		{"+3", int64(3)},
		{"3.25", 3.25},
		{"-.5", -0.5},
		{"4.", 4.0},
		{"595.28", 595.28},
		{"0.1234567890123456789", 0.1234567890123456789},
		{"99999999999999999999", 1e20},
		{"-", int64(0)},
		{"1.2.3", 1.2},
		{"/Name", name("Name")},
		{"/A#20B#2f", name("A B/")},
		{"/A#zz", name("A#zz")},
		{"/", name("")},
		{"(plain)", str("plain")},
		{`(a\n\r\t\b\f\(\)\\\101\7\0123)`, str("a\n\r\t\b\f()\\A\x07\n3")},
		{"(line\\\ncontinued)", str("linecontinued")},
		{"(line\\\r\ncontinued)", str("linecontinued")},
		{"(cr\r\nlf\rx)", str("cr\nlf\nx")},
		{"(nested (paren) s)", str("nested (paren) s")},
		{`(unknown \q escape)`, str("unknown q escape")},
		{"<48 65 6C6c 6>", str("Hel\x6c\x60")},
		{"<>", str("")},
		{"[1 /A (b) [2]]", array{int64(1), name("A"), str("b"), array{int64(2)}}},
		{"<</A 1 /B null /C /D>>", dict{"A": int64(1), "C": name("D")}},
		{"<</A 1 /B>>", dict{"A": int64(1)}},
		{"12 0 R", ref{12, 0}},
		{"12 0 obj", int64(12)},
		{"12 -1 R", int64(12)},
		{"12 0 Rx", int64(12)},
		{"12 99999999999 R", int64(12)},
		{"true", true},
		{"false", false},
		{"null", nil},
		{"% comment\n 7", int64(7)},
		{"endobj", keyword("endobj")},
		{"Tj", keyword("Tj")},
	} {
		got, err := parseOne(c.in, Limits{})
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if f, ok := c.want.(float64); ok {
			if g, ok := got.(float64); !ok || math.Abs(g-f) > 1e-9*math.Abs(f) {
				t.Errorf("%q = %#v, want %v", c.in, got, f)
			}
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q = %#v, want %#v", c.in, got, c.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		in   string
		lim  Limits
		want error
	}{
		{"", Limits{}, errEOF},
		{"   % only a comment", Limits{}, errEOF},
		{")", Limits{}, errSyntax},
		{"]", Limits{}, errSyntax},
		{"(unterminated", Limits{}, errSyntax},
		{"(escape at the end\\", Limits{}, errSyntax},
		{"<48656", Limits{}, errSyntax},
		{"<4x>", Limits{}, errSyntax},
		{"[1 2", Limits{}, errEOF},
		{"[1 endobj]", Limits{}, errSyntax},
		{"<</A 1", Limits{}, errEOF},
		{"<</A 1 >", Limits{}, errSyntax},
		{"<</A 1 2 3>>", Limits{}, errSyntax},
		{"<</A endobj>>", Limits{}, errSyntax},
		{strings.Repeat("[", 65), Limits{}, ErrLimit},
		{strings.Repeat("<</A ", 65), Limits{}, ErrLimit},
		{strings.Repeat("[", 11), Limits{MaxDepth: 10}, ErrLimit},
		{"[" + strings.Repeat("1 ", 100) + "]", Limits{MaxValues: 50}, ErrLimit},
		{"(" + strings.Repeat("x", 64*100) + ")", Limits{MaxValues: 50}, ErrLimit},
		{"<" + strings.Repeat("00", 64*100) + ">", Limits{MaxValues: 50}, ErrLimit},
	} {
		_, err := parseOne(c.in, c.lim)
		if !errors.Is(err, c.want) {
			t.Errorf("%.30q: got %v, want %v", c.in, err, c.want)
		}
	}
	// Exactly MaxDepth levels are allowed.
	if _, err := parseOne(strings.Repeat("[", 10)+strings.Repeat("]", 10), Limits{MaxDepth: 10}); err != nil {
		t.Errorf("10 levels: %v", err)
	}
}

func TestErrorMessages(t *testing.T) {
	err := within(limitErr("nesting deeper than %d", 64), "page %d", 3)
	if got, want := err.Error(), "pdf: limit reached: page 3: nesting deeper than 64"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if !errors.Is(err, ErrLimit) {
		t.Errorf("not an ErrLimit")
	}
	if err := within(context.Canceled, "page 1"); err != context.Canceled {
		t.Errorf("context error changed: %v", err)
	}
	if got := within(errFilter, "object %d", 5).Error(); got != "object 5: stream cannot be decoded" {
		t.Errorf("got %q", got)
	}
	if !errors.Is(ErrEncrypted, ErrNotPDF) {
		t.Errorf("ErrEncrypted is not an ErrNotPDF")
	}
}

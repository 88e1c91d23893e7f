package domain

import (
	"strings"
	"testing"
)

func TestEveryReasonHasItalian(t *testing.T) {
	codes := ReasonCodes()
	if len(codes) < 40 {
		t.Fatalf("only %d reason codes listed", len(codes))
	}
	for _, c := range codes {
		it := c.Italian()
		if it == "" || !strings.HasSuffix(it, ".") || strings.ToUpper(it[:1]) != it[:1] {
			t.Errorf("%s: Italian text %q: want a sentence", c, it)
		}
		if !c.Known() {
			t.Errorf("%s listed but not known", c)
		}
	}
}

// TestReasonCodesDeclared reads this package's source: every ReasonCode
// constant must have its Italian text (a new code without one fails here).
func TestReasonCodesDeclared(t *testing.T) {
	declared := declaredReasonCodes(t)
	if len(declared) != len(ReasonCodes()) {
		t.Errorf("%d codes declared, %d with an Italian text", len(declared), len(ReasonCodes()))
	}
	for _, c := range declared {
		if !c.Known() {
			t.Errorf("code %q has no Italian text", c)
		}
	}
}

func TestReason(t *testing.T) {
	tests := []struct {
		r               Reason
		str, italian    string
		zero, knownCode bool
	}{
		{Reason{}, "", "", true, false},
		{Because(ReasonNoRows, ""), "no-rows", ReasonNoRows.Italian(), false, true},
		{Because(ReasonNotDelivered, "errore-consegna (no-dest)"), "not-delivered: errore-consegna (no-dest)", ReasonNotDelivered.Italian(), false, true},
		{Because("made-up", "x"), "made-up: x", ReasonOther.Italian(), false, false},
	}
	for _, tt := range tests {
		if tt.r.String() != tt.str || tt.r.Italian() != tt.italian || tt.r.IsZero() != tt.zero || tt.r.Code.Known() != tt.knownCode {
			t.Errorf("%#v: String %q Italian %q IsZero %v Known %v", tt.r, tt.r.String(), tt.r.Italian(), tt.r.IsZero(), tt.r.Code.Known())
		}
	}
}

package domain

import (
	"encoding/json"
	"testing"
	"time"
)

func TestDateForms(t *testing.T) {
	tests := []struct {
		d        Date
		iso, ita string
	}{
		{Date{1980, time.January, 1}, "1980-01-01", "01/01/1980"},
		{Date{2026, time.November, 25}, "2026-11-25", "25/11/2026"},
		{Date{987, time.December, 31}, "0987-12-31", "31/12/0987"},
		{Date{}, "", ""},
	}
	for _, tt := range tests {
		if got := tt.d.String(); got != tt.iso {
			t.Errorf("%#v.String() = %q, want %q", tt.d, got, tt.iso)
		}
		if got := tt.d.Italian(); got != tt.ita {
			t.Errorf("%#v.Italian() = %q, want %q", tt.d, got, tt.ita)
		}
		b, _ := json.Marshal(tt.d)
		var back Date
		if err := json.Unmarshal(b, &back); err != nil || back != tt.d {
			t.Errorf("JSON round trip of %#v: %s → %#v, %v", tt.d, b, back, err)
		}
	}
	var d Date
	if err := json.Unmarshal([]byte(`"25/11/2026"`), &d); err == nil {
		t.Error("Italian form accepted as JSON date")
	}
}

func TestBatchStateAdvance(t *testing.T) {
	tests := []struct {
		from, to BatchState
		ok       bool
	}{
		{BatchQueued, BatchProtocolled, true},
		{BatchSent, BatchDelivered, true}, // delivery receipt read before the acceptance
		{BatchDelivered, BatchAccepted, false},
		{BatchSent, BatchSent, false},
		{BatchReplied, BatchFailed, true},
		{BatchCompleted, BatchFailed, false},
		{BatchFailed, BatchQueued, false},
		{"bogus", BatchSent, false},
		{BatchQueued, "bogus", false},
	}
	for _, tt := range tests {
		if got := tt.from.CanAdvance(tt.to); got != tt.ok {
			t.Errorf("%s → %s: %v, want %v", tt.from, tt.to, got, tt.ok)
		}
	}
}

func TestErrors(t *testing.T) {
	e := Errorf(ENOTFOUND, "richiesta %s non trovata", "abc")
	if ErrorCode(e) != ENOTFOUND || ErrorMessage(e) != "richiesta abc non trovata" {
		t.Fatalf("code %q message %q", ErrorCode(e), ErrorMessage(e))
	}
	other := &json.SyntaxError{}
	if ErrorCode(other) != EINTERNAL || ErrorMessage(other) == "" || ErrorCode(nil) != "" {
		t.Fatal("non-domain errors must map to internal")
	}
}

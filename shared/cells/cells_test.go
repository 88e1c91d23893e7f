package cells

import "testing"

func TestDefuse(t *testing.T) {
	tests := []struct {
		in, want string
		unsafe   bool
	}{
		{"", "", false},
		{"ROSSI", "ROSSI", false},
		{"D'ANGELO", "D'ANGELO", false},
		{"=1+1", "'=1+1", true},
		{"+39 055", "'+39 055", true},
		{"-2+3", "'-2+3", true},
		{"@SUM(A1)", "'@SUM(A1)", true},
		{"\t=cmd", "'\t=cmd", true},
		{"\r=cmd", "'\r=cmd", true},
		{"|calc", "'|calc", true},
		{"%0A", "'%0A", true},
		{"'=already", "'=already", false},
		{"a=b", "a=b", false},
	}
	for _, tt := range tests {
		if got := Unsafe(tt.in); got != tt.unsafe {
			t.Errorf("Unsafe(%q) = %v", tt.in, got)
		}
		if got := Defuse(tt.in); got != tt.want {
			t.Errorf("Defuse(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

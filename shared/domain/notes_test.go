package domain

import "testing"

// TestEveryNoteHasItalian reads notes.go: every NoteCode constant has its
// Italian text, and nothing else has one.
func TestEveryNoteHasItalian(t *testing.T) {
	declared := declaredConstants(t, "notes.go", "NoteCode")
	if len(declared) < 10 || len(declared) != len(NoteCodes()) {
		t.Errorf("%d note codes declared, %d with an Italian text", len(declared), len(NoteCodes()))
	}
	for _, c := range declared {
		if NoteCode(c).Italian() == "" {
			t.Errorf("note %q has no Italian text", c)
		}
	}
	if NoteCode("made-up").Italian() != "" {
		t.Error("an unknown note has a text")
	}
}

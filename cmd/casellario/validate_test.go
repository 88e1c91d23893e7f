package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), env{strings.NewReader(""), &out, &errb}, args)
	return code, out.String(), errb.String()
}

func TestValidateExitCodes(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	big := write("big.csv", append([]byte("Cognome;Nome\n"), bytes.Repeat([]byte("x"), 2<<20)...))
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // substring expected on stdout
		stderr string // substring expected on stderr
	}{
		{"all valid, windows-1252", []string{"validate", "testdata/valid-windows1252.csv"}, 0, "3 righe, 3 valide", ""},
		{"mistakes", []string{"validate", "testdata/mistakes-bom.csv"}, 1, "Riga 3:", ""},
		{"no such file", []string{"validate", filepath.Join(dir, "missing.csv")}, 2, "", "Impossibile aprire"},
		{"no arguments", []string{"validate"}, 2, "", "usage"},
		{"bad flag", []string{"validate", "--nope", "x"}, 2, "", "flag provided but not defined"},
		{"legacy xls", []string{"validate", write("old.xls", []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"+strings.Repeat("\x00", 600)))}, 2, "", "xls"},
		{"header only", []string{"validate", write("empty.csv", []byte("Cognome;Nome;Sesso;Data di nascita;Luogo di nascita\n"))}, 2, "", "non contiene nominativi"},
		{"too large", []string{"validate", "--max-size", "1", big}, 2, "", "dimensione"},
		{"json error", []string{"validate", "--json", write("e.csv", []byte(""))}, 2, `"error":{"code":`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out, errs)
			}
			if !strings.Contains(out, tt.stdout) {
				t.Errorf("stdout %q does not contain %q", out, tt.stdout)
			}
			if !strings.Contains(strings.ToLower(errs), strings.ToLower(tt.stderr)) {
				t.Errorf("stderr %q does not contain %q", errs, tt.stderr)
			}
		})
	}
}

// TestValidateJSONContract checks the shape other tools rely on, field by field.
func TestValidateJSONContract(t *testing.T) {
	code, out, errs := runCLI(t, "validate", "--json", "testdata/mistakes-bom.csv")
	if code != 1 {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	var rep struct {
		Rows []struct {
			Row    *int  `json:"row"`
			Valid  *bool `json:"valid"`
			Person *struct {
				Surname, Name, Sex *string
				BirthDate          *string `json:"birth_date"`
				BirthPlace         *string `json:"birth_place"`
				BirthPlaceCode     *string `json:"birth_place_code"`
				Province           *string `json:"province"`
				FiscalCode         *string `json:"fiscal_code"`
			} `json:"person"`
			Errors   []struct{ Field, Message string } `json:"errors"`
			Warnings []string                          `json:"warnings"`
		} `json:"rows"`
		Summary *struct{ Rows, Valid, Invalid, Duplicates int } `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if rep.Summary == nil || *rep.Summary != (struct{ Rows, Valid, Invalid, Duplicates int }{5, 1, 4, 1}) {
		t.Fatalf("summary %+v", rep.Summary)
	}
	first := rep.Rows[0]
	if *first.Row != 2 || !*first.Valid || first.Person == nil || *first.Person.BirthDate != "1980-01-01" ||
		*first.Person.BirthPlaceCode != "H501" || *first.Person.Province != "RM" || *first.Person.FiscalCode != "RSSMRA80A01H501U" ||
		first.Errors == nil || first.Warnings == nil {
		t.Errorf("first row wrong: %s", out)
	}
	wantRows := []int{2, 3, 4, 6, 7} // the blank row 5 is not a person but keeps its number
	allowed := map[string]bool{"surname": true, "name": true, "sex": true, "birth_date": true, "birth_place": true, "province": true, "fiscal_code": true, "row": true}
	for i, r := range rep.Rows {
		if *r.Row != wantRows[i] {
			t.Errorf("row %d numbered %d, want %d", i, *r.Row, wantRows[i])
		}
		for _, e := range r.Errors {
			if !allowed[e.Field] || e.Message == "" {
				t.Errorf("row %d: error %+v outside the contract", *r.Row, e)
			}
		}
	}
	if len(rep.Rows[1].Errors) != 2 || len(rep.Rows[2].Errors) != 1 || rep.Rows[2].Errors[0].Field != "birth_date" {
		t.Errorf("rows 3-4 errors wrong: %+v %+v", rep.Rows[1].Errors, rep.Rows[2].Errors)
	}
	if rep.Rows[3].Errors[0].Field != "row" || rep.Rows[4].Errors[0].Field != "birth_place" {
		t.Errorf("duplicate or unknown place not reported: %+v %+v", rep.Rows[3].Errors, rep.Rows[4].Errors)
	}
}

func TestUnknownCommand(t *testing.T) {
	code, _, errs := runCLI(t, "frobnicate")
	if code != 2 || !strings.Contains(errs, "unknown command") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if code, _, errs := runCLI(t, "help"); code != 0 || !strings.Contains(errs, "validate") {
		t.Fatalf("help: exit %d, %q", code, errs)
	}
}

// Every command's -h starts with its own usage line, not the flag
// package's "Usage of …".
func TestUsageLines(t *testing.T) {
	for _, tt := range []struct{ args, want string }{
		{"status -h", "usage: casellario status "},
		{"uploads -h", "usage: casellario uploads "},
		{"batches -h", "usage: casellario batches "},
		{"dispatch -h", "usage: casellario dispatch "},
		{"dev -h", "usage: casellario dev "},
		{"submit -h", "usage: casellario submit "},
		{"report -h", "usage: casellario report "},
		{"doctor -h", "usage: casellario doctor "},
		{"validate -h", "usage: casellario validate"},
		{"triage -h", "usage: casellario triage "},
	} {
		t.Run(tt.args, func(t *testing.T) {
			_, _, errs := runCLI(t, strings.Fields(tt.args)...)
			if !strings.HasPrefix(errs, tt.want) {
				line, _, _ := strings.Cut(errs, "\n")
				t.Errorf("stderr begins %q, want %q", line, tt.want)
			}
		})
	}
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/casellario-pec/casellario/shared/namelist"
	"github.com/casellario-pec/casellario/shared/validate"
)

func init() {
	register("validate", command{
		summary: "check a name list (CSV, XLSX, JSON) and report every problem by row, in Italian",
		run:     runValidate,
	})
}

// Exit codes of validate: a contract for scripts.
const (
	exitAllValid     = 0
	exitSomeInvalid  = 1
	exitUnreadable   = 2
	defaultMaxSizeMB = 10
)

func runValidate(_ context.Context, e env, args []string) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	asJSON := fs.Bool("json", false, "print the report as JSON (a stable contract)")
	sheet := fs.String("sheet", "", "XLSX: the sheet to read (default: the first)")
	maxMB := fs.Int64("max-size", defaultMaxSizeMB, "largest file accepted, in MB")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: casellario validate [--json] [--sheet NAME] [--max-size MB] FILE")
		fmt.Fprintln(e.stderr, "Exit status: 0 every row valid, 1 some rows invalid, 2 the file cannot be read.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUnreadable
	}
	if fs.NArg() != 1 {
		if fs.NArg() == 0 {
			fmt.Fprintln(e.stderr, "casellario validate: the list file is missing")
		} else {
			fmt.Fprintln(e.stderr, "casellario validate: one file at a time")
		}
		fs.Usage()
		return exitUnreadable
	}
	path := fs.Arg(0)
	f, err := os.Open(path)
	if err != nil {
		return unreadable(e, *asJSON, "open", fmt.Sprintf("Impossibile aprire il file %s: %v", filepath.Base(path), errors.Unwrap(err)))
	}
	defer f.Close()
	opts := validate.Options{Read: namelist.Options{MaxBytes: *maxMB << 20, Sheet: *sheet}}
	rep, err := validate.File(filepath.Base(path), f, opts)
	if err != nil {
		var re *namelist.ReadError
		if errors.As(err, &re) {
			return unreadable(e, *asJSON, re.Code, re.Message)
		}
		return unreadable(e, *asJSON, "read", "Errore di lettura del file: "+err.Error())
	}
	if rep.Summary.Rows == 0 {
		return unreadable(e, *asJSON, "empty", "Il file non contiene nominativi: dopo la riga di intestazione non c'è alcuna riga compilata")
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintln(e.stderr, "casellario validate:", err)
			return exitUnreadable
		}
	} else {
		printReport(e.stdout, filepath.Base(path), rep)
	}
	if rep.Summary.Invalid > 0 {
		return exitSomeInvalid
	}
	return exitAllValid
}

// unreadable reports a file that cannot be read as a list: on stderr for people and,
// with --json, as {"error":{...}} on stdout for programs.
func unreadable(e env, asJSON bool, code, msg string) int {
	fmt.Fprintln(e.stderr, "casellario validate:", msg)
	if asJSON {
		_ = json.NewEncoder(e.stdout).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
	}
	return exitUnreadable
}

// printReport writes the report for a clerk: the totals, then each row with problems.
func printReport(w io.Writer, name string, rep *validate.Report) {
	s := rep.Summary
	fmt.Fprintf(w, "%s: %s, %s, %s", name, plural(s.Rows, "riga", "righe"),
		plural(s.Valid, "valida", "valide"), plural(s.Invalid, "con errori", "con errori"))
	if s.Duplicates > 0 {
		fmt.Fprintf(w, " (di cui %s)", plural(s.Duplicates, "duplicata", "duplicate"))
	}
	fmt.Fprintln(w)
	for _, msg := range rep.Warnings {
		fmt.Fprintln(w, "Avviso:", msg)
	}
	for _, r := range rep.Rows {
		if len(r.Errors) == 0 && len(r.Warnings) == 0 {
			continue
		}
		fmt.Fprintf(w, "\nRiga %d:\n", r.Row)
		for _, p := range r.Errors {
			fmt.Fprintf(w, "  - %s\n", p.Message) // messages name their field
		}
		for _, msg := range r.Warnings {
			fmt.Fprintf(w, "  - avviso: %s\n", msg)
		}
	}
	if s.Invalid == 0 {
		fmt.Fprintln(w, "\nTutte le righe sono valide.")
	} else {
		fmt.Fprintf(w, "\nCorreggere %s e caricare di nuovo l'elenco (le righe valide possono essere inviate comunque).\n",
			plural(s.Invalid, "riga", "righe"))
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

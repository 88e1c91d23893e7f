// Command lambdazip writes a Lambda deployment zip reproducibly: entries in the order given, each with
// a fixed modification time (1980-01-01, the zip epoch), fixed permissions (0755 for bootstrap, 0644
// otherwise) and Deflate at a fixed level, so the same inputs give the same bytes.
//
//	lambdazip -o build/intake.zip bootstrap=build/arm64/intake/bootstrap
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/casellario-pec/casellario/infra/internal/lambdazip"
)

func main() {
	out := flag.String("o", "", "output zip")
	flag.Parse()
	if *out == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: lambdazip -o OUT.zip NAME=FILE...")
		os.Exit(2)
	}
	var entries []lambdazip.Entry
	for _, a := range flag.Args() {
		name, file, ok := strings.Cut(a, "=")
		if !ok {
			name, file = a, a
		}
		entries = append(entries, lambdazip.Entry{Name: name, File: file})
	}
	if err := lambdazip.Write(*out, entries); err != nil {
		fmt.Fprintln(os.Stderr, "lambdazip:", err)
		os.Exit(1)
	}
}

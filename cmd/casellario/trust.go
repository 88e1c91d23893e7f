package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/casellario-pec/casellario/shared/pectrust"
)

func init() {
	register("trust", command{summary: "build the PEC trust store from AgID's index of PEC providers: trust build --from EXPORT", run: runTrust})
}

// Exit codes of trust build: a contract for the scheduled job that keeps the store current.
const (
	exitTrustOK       = 0 // the store is written; every provider entry was usable
	exitTrustProblems = 1 // the store is written, but some certificates were rejected or unreadable (listed)
	exitTrustFailed   = 2 // usage error, unreadable export, or nothing usable: nothing written
)

func runTrust(_ context.Context, e env, args []string) int {
	if len(args) == 0 || args[0] != "build" {
		if len(args) == 0 {
			fmt.Fprintln(e.stderr, "casellario trust: the subcommand is missing")
		} else {
			fmt.Fprintf(e.stderr, "casellario trust: unknown subcommand %q\n", args[0])
		}
		fmt.Fprintln(e.stderr, "usage: casellario trust build --from EXPORT [--out FILE] [--keep-expired] [--json]")
		return exitTrustFailed
	}
	fs := flag.NewFlagSet("trust build", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	from := fs.String("from", "", "the index's export (LDIF or XML) of the PEC providers, with providerCertificate")
	out := fs.String("out", "", "write the PEM here (default: standard output)")
	keep := fs.Bool("keep-expired", false, "keep expired certificates (to verify old messages again)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: casellario trust build --from EXPORT [--out FILE] [--keep-expired] [--json]")
		fmt.Fprintln(e.stderr, "Reads the export of AgID's index of PEC providers and writes the PEM of their certificates")
		fmt.Fprintln(e.stderr, "(the deployment file's pecTrustFile). The report goes to standard error, or to standard")
		fmt.Fprintln(e.stderr, "output with --out. Exit status: 0 written, 1 written but some entries rejected, 2 nothing written.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		return exitTrustFailed
	}
	if *from == "" || fs.NArg() != 0 {
		fs.Usage()
		return exitTrustFailed
	}
	data, err := os.ReadFile(*from)
	if err != nil {
		fmt.Fprintf(e.stderr, "trust build: %v\n", err)
		return exitTrustFailed
	}
	entries, err := pectrust.Parse(data)
	if err != nil {
		fmt.Fprintf(e.stderr, "trust build: %s: %v\n", *from, err)
		return exitTrustFailed
	}
	res, err := pectrust.Build(entries, pectrust.Options{Now: time.Now(), KeepExpired: *keep})
	report := e.stderr
	if *out != "" {
		report = e.stdout
	}
	if res != nil {
		if rerr := writeTrustReport(report, res, *asJSON); rerr != nil {
			fmt.Fprintf(e.stderr, "trust build: %v\n", rerr)
			return exitTrustFailed
		}
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "trust build: %s: %v\n", *from, err)
		return exitTrustFailed
	}
	if *out == "" {
		_, err = e.stdout.Write(res.PEM)
	} else {
		err = writeFileAtomic(*out, res.PEM)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "trust build: %v\n", err)
		return exitTrustFailed
	}
	if res.Rejected > 0 || res.Problems > 0 {
		return exitTrustProblems
	}
	return exitTrustOK
}

func writeTrustReport(w io.Writer, res *pectrust.Result, asJSON bool) error {
	if !asJSON {
		return res.WriteReport(w)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

// writeFileAtomic replaces path only once the whole store is written: a deploy never picks up half a file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(dirOf(path), ".pec-trust-*.pem")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

func dirOf(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if os.IsPathSeparator(path[i]) {
			return path[:i+1]
		}
	}
	return "."
}

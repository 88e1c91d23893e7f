package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/casellario-pec/casellario/shared/pec"
)

func init() {
	register("pec", command{summary: "inspect PEC (certified e-mail) messages", run: runPec})
}

func pecUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: casellario pec inspect [--json] [--trust FILE] [--key FILE] FILE.eml")
	fmt.Fprintln(w, "\nReads a message (FILE.eml, or - for standard input), classifies it and checks its signature;")
	fmt.Fprintln(w, "with --key (PEM: the Comune's RSA private key and its certificate) it opens encrypted replies.")
	fmt.Fprintln(w, "Exit status: 0 for an e-mail message whatever its kind, 2 for anything else.")
}

func runPec(ctx context.Context, e env, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(e.stderr, "casellario pec: the subcommand is missing")
		pecUsage(e.stderr)
		return 2
	}
	switch args[0] {
	case "inspect":
		return runPecInspect(ctx, e, args[1:])
	case "-h", "--help", "help":
		pecUsage(e.stderr)
		return 0
	}
	fmt.Fprintf(e.stderr, "casellario pec: unknown subcommand %q\n\n", args[0])
	pecUsage(e.stderr)
	return 2
}

func runPecInspect(_ context.Context, e env, args []string) int {
	fs := flag.NewFlagSet("pec inspect", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	asJSON := fs.Bool("json", false, "print the JSON view")
	trust := fs.String("trust", "", "PEM file of the providers' certificates (trust store)")
	keyFile := fs.String("key", "", "PEM file of the Comune's private key and certificate, to open encrypted replies")
	fs.Usage = func() {
		pecUsage(e.stderr)
		fmt.Fprintln(e.stderr, "\noptions:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(e.stderr, "casellario pec inspect: exactly one FILE.eml (or -) is needed")
		return 2
	}
	opts := pec.ReadOptions{}
	if *trust != "" {
		pool, err := pec.LoadTrustStore(*trust)
		if err != nil {
			fmt.Fprintf(e.stderr, "casellario pec inspect: %v\n", err)
			return 2
		}
		opts.TrustStore = pool
	}
	if *keyFile != "" {
		b, err := os.ReadFile(*keyFile)
		if err != nil {
			fmt.Fprintf(e.stderr, "casellario pec inspect: reading key: %v\n", err)
			return 2
		}
		dk, err := pec.ParseDecryptionKey(b, b)
		if err != nil {
			fmt.Fprintf(e.stderr, "casellario pec inspect: %v\n", err)
			return 2
		}
		opts.DecryptionKeys = []pec.DecryptionKey{dk}
	}
	m, err := readMessage(e, fs.Arg(0), opts)
	if err != nil {
		fmt.Fprintf(e.stderr, "casellario pec inspect: %v\n", err)
		return 2
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(m.View()); err != nil {
			fmt.Fprintf(e.stderr, "casellario pec inspect: %v\n", err)
			return 1
		}
		return 0
	}
	printMessage(e.stdout, m)
	return 0
}

func readMessage(e env, name string, opts pec.ReadOptions) (*pec.Message, error) {
	if name == "-" {
		return pec.Read(e.stdin, opts)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return pec.Read(f, opts)
}

func printMessage(w io.Writer, m *pec.Message) {
	v := m.View()
	line := func(k, val string) {
		if val != "" {
			fmt.Fprintf(w, "%-15s %s\n", k+":", val)
		}
	}
	line("kind", string(v.Kind))
	line("receipt type", string(v.ReceiptType))
	line("message-id", v.MessageID)
	line("ref message-id", v.RefMessageID)
	line("pec id", v.PECID)
	line("error", v.Error)
	line("error detail", v.ErrorDetail)
	line("sender", v.Sender)
	for _, r := range v.Recipients {
		line("recipient", strings.TrimSpace(r.Address+" "+string(r.Type)))
	}
	line("subject", v.Subject)
	line("issuer", v.Issuer)
	line("timestamp", v.Timestamp)
	line("consegna", v.Consegna)
	for _, r := range v.Ricezione {
		line("ricezione", r)
	}
	if v.SecurityWarning {
		line("security", "X-VerificaSicurezza: errore")
	}
	if v.DSN {
		line("dsn", "delivery status notification")
	}
	if v.Rewrapped {
		line("rewrapped in", strings.TrimSpace(v.Wrapper.MessageID+" from "+v.Wrapper.From)+", outer signature "+string(v.Wrapper.Signature.Status))
	}
	if v.REM.Subject != "" {
		line("rem subject", v.REM.Subject)
	}
	sig := string(v.Signature.Status)
	if v.Signature.Signer != "" {
		sig += " (" + v.Signature.Signer + ")"
	}
	if m.Signature.Reason != "" {
		sig += ": " + m.Signature.Reason
	}
	line("signature", sig)
	if m.Original != nil {
		line("original id", v.Original.MessageID)
		line("original subj", v.Original.Subject)
		line("original from", v.Original.From)
		line("original to", strings.Join(v.Original.To, ", "))
	}
	for _, a := range v.Attachments {
		extra := ""
		if a.Signature.Status != "" {
			extra += ", signature " + string(a.Signature.Status)
		}
		if a.Encrypted && !a.Decrypted {
			extra += ", encrypted, not opened"
		} else if a.Encrypted {
			extra += ", encrypted, opened"
		}
		line("attachment", fmt.Sprintf("%s (%s, %d bytes, sha256 %s%s)", a.Name, a.ContentType, a.Size, a.SHA256, extra))
	}
	for _, p := range v.Problems {
		line("problem", p)
	}
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"

	"github.com/casellario-pec/casellario/shared/localdev/sim"
)

func init() {
	register("sim", command{summary: "run the local PEC provider and Procura simulator", run: runSim})
}

// runSim starts the simulator, prints one JSON line when ready (the contract
// scripts read: smtp, imap, ca, mailboxes) and logs to stderr until ctx ends.
func runSim(ctx context.Context, e env, args []string) int {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	config := fs.String("config", "", "JSON configuration file (see the documentation of package shared/localdev/sim)")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: casellario sim [--config FILE]")
		fmt.Fprintln(e.stderr, "\nStarts a local PEC provider (SMTP and IMAP over TLS) and a simulated Procura.")
		fmt.Fprintln(e.stderr, "When ready, prints one line of JSON to standard output:")
		fmt.Fprintln(e.stderr, `  {"smtp":"host:port","imap":"host:port","ca":"path/to/ca.pem","mailboxes":[{"address":"","password":""}]}`)
		fmt.Fprintln(e.stderr, "then logs to standard error until interrupted.")
		fmt.Fprintln(e.stderr, "\noptions:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintln(e.stderr, "casellario sim: no arguments expected")
		return 2
	}
	cfg := sim.Default()
	if *config != "" {
		var err error
		if cfg, err = sim.LoadConfig(*config); err != nil {
			fmt.Fprintln(e.stderr, "casellario sim:", err)
			return 2
		}
	}
	log := slog.New(slog.NewTextHandler(e.stderr, nil))
	cfg.Logger = log
	w, err := sim.Start(ctx, cfg)
	if err != nil {
		fmt.Fprintln(e.stderr, "casellario sim:", err)
		return 1
	}
	defer w.Close()
	line, err := json.Marshal(w.Ready())
	if err != nil {
		fmt.Fprintln(e.stderr, "casellario sim:", err)
		return 1
	}
	fmt.Fprintf(e.stdout, "%s\n", line)
	log.Info("simulator ready", "smtp", w.SMTPAddr, "imap", w.IMAPAddr, "ca", w.CAFile, "mailboxes", len(w.Mailboxes))
	<-ctx.Done()
	log.Info("simulator stopping")
	if err := w.Close(); err != nil {
		log.Error("stopping", "err", err)
		return 1
	}
	return 0
}

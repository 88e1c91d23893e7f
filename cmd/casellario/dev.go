package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/casellario-pec/casellario/shared/localdev/localrun"
	"github.com/casellario-pec/casellario/shared/localdev/sim"
	"github.com/casellario-pec/casellario/shared/tenants"
)

func init() {
	register("dev", command{summary: "run the whole system on this machine (make dev)", run: runDev})
}

func runDev(ctx context.Context, e env, args []string) int {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	data := fs.String("data", localrun.DefaultDataDir(), "data folder: DynamoDB and S3 data, the simulator's CA, endpoints.json")
	dispatchEvery := fs.Duration("dispatch-every", time.Minute, "how often dispatch runs (negative: only on demand, casellario dispatch --now)")
	pollEvery := fs.Duration("poll-every", 30*time.Second, "how often the PEC inbox is polled")
	procuraDelay := fs.Duration("procura-delay", 30*time.Second, "how long the simulated Procura takes to answer (its evening batch)")
	apiAddr := fs.String("api-addr", "127.0.0.1:8080", "where the offices' API and web page listen (a busy address falls back to a free port)")
	tenantsFile := fs.String("tenants", "", "tenants configuration file (default: $CASELLARIO_TENANTS, else the demo: Prato and Vaiano)")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: casellario dev [options]: the whole system on this machine")
		fs.PrintDefaults()
	}
	simFile := fs.String("sim", "", "use a simulator already running: the JSON line `casellario sim` printed, in a file (default: start one)")
	grace := fs.Duration("grace", 0, "how long dispatch waits for the acceptance of a submission of unknown outcome before sending again (default 5m)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintln(e.stderr, "casellario dev: unexpected arguments:", strings.Join(fs.Args(), " "))
		fmt.Fprintln(e.stderr, "usage: casellario dev [--data DIR] [--dispatch-every D] [--poll-every D] [--procura-delay D] [--tenants FILE] [--api-addr ADDR] [--sim FILE] [--grace D]")
		return 2
	}
	var peers *sim.Ready
	if *simFile != "" {
		b, err := os.ReadFile(*simFile)
		if err == nil {
			peers = new(sim.Ready)
			err = json.Unmarshal(b, peers)
		}
		if err != nil {
			fmt.Fprintln(e.stderr, "casellario dev: --sim:", err)
			return 2
		}
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	tc, err := loadTenants(*tenantsFile)
	if err != nil {
		fmt.Fprintln(e.stderr, "casellario dev:", err)
		return 2
	}
	run, err := localrun.Start(ctx, localrun.Options{DataDir: *data, DispatchEvery: *dispatchEvery, PollEvery: *pollEvery,
		ProcuraDelay: *procuraDelay, Tenants: tc, Log: log, APIAddr: *apiAddr, Sim: peers, Grace: *grace})
	if err != nil {
		fmt.Fprintln(e.stderr, "casellario dev:", err)
		return 1
	}
	defer run.Close()
	line, _ := json.Marshal(run.Endpoints)
	fmt.Fprintln(e.stdout, string(line))
	log.Info("local run ready", "data", *data, "endpoints", *data+"/"+localrun.EndpointsFile, "web", run.Endpoints.API+"/")
	<-ctx.Done()
	log.Info("stopping")
	return 0
}

// loadTenants reads the tenants file named by the flag or the environment; the demo otherwise.
func loadTenants(path string) (*tenants.Config, error) {
	if path != "" {
		return tenants.Load(path)
	}
	if p := os.Getenv("CASELLARIO_TENANTS"); p != "" {
		return tenants.Open(p) // a broken file is an error, never a silent demo
	}
	return tenants.Demo(), nil
}

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/poll"
)

func init() {
	register("triage", command{summary: "the protocol office's queue of PEC messages to route: list, show, assign, dismiss", run: runTriage})
}

const triageUsage = `usage: casellario triage [--tenant T] [--endpoints FILE] [--json] COMMAND
  list [--all]                 open items (--all: also assigned and dismissed)
  show ID                      one item
  assign ID BATCH [--note N]   the message belongs to BATCH: handle it again against that batch
  dismiss ID --reason TEXT     close the item: the message needs nothing`

func runTriage(ctx context.Context, e env, args []string) int {
	fs := flag.NewFlagSet("triage", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	tenant := fs.String("tenant", os.Getenv("CASELLARIO_TENANT"), "tenant (IPA code); default $CASELLARIO_TENANT, else the first configured")
	asJSON := fs.Bool("json", false, "print JSON")
	all := fs.Bool("all", false, "list: also assigned and dismissed items")
	reason := fs.String("reason", "", "dismiss: why the message needs nothing")
	note := fs.String("note", "", "assign: a note for the audit trail")
	endpoints := endpointsFlag(fs)
	fs.Usage = func() { fmt.Fprintln(e.stderr, triageUsage); fs.PrintDefaults() }
	// Flags may follow the subcommand and its arguments: parse them in turns.
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(rest) == 0 {
		fs.Usage()
		return 2
	}
	want := map[string]int{"list": 1, "show": 2, "assign": 3, "dismiss": 2}
	if n, ok := want[rest[0]]; !ok || len(rest) != n || (rest[0] == "dismiss" && strings.TrimSpace(*reason) == "") {
		fs.Usage()
		return 2
	}
	t, err := openTarget(ctx, *endpoints)
	if err != nil {
		fmt.Fprintln(e.stderr, "casellario triage:", err)
		return 1
	}
	if *tenant == "" && len(t.tenants.Tenants) > 0 {
		*tenant = t.tenants.Tenants[0].ID
	}
	who := domain.CauseUser(operatorName())
	var out any
	switch rest[0] {
	case "list":
		state := domain.TriageOpen
		if *all {
			state = ""
		}
		items, err := t.store.ListTriage(ctx, *tenant, state, 0)
		if err != nil {
			return fail(e, err)
		}
		if !*asJSON {
			printTriageList(e.stdout, items)
			return 0
		}
		out = items
	case "show":
		it, err := t.store.GetTriage(ctx, *tenant, rest[1])
		if err != nil {
			return fail(e, err)
		}
		out = it
	case "assign":
		h, err := reprocessor(t)
		if err != nil {
			return fail(e, err)
		}
		// Handle the message first: an item whose message cannot be handled stays open.
		res, err := h.Reprocess(ctx, *tenant, rest[1], rest[2], who)
		if err != nil {
			return fail(e, err)
		}
		if *note != "" {
			if res.Item, err = t.store.AssignTriage(ctx, *tenant, rest[1], rest[2], *note, who); err != nil {
				return fail(e, err)
			}
		}
		out = res
	case "dismiss":
		it, err := t.store.DismissTriage(ctx, *tenant, rest[1], *reason, who)
		if err != nil {
			return fail(e, err)
		}
		out = it
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	_ = enc.Encode(out)
	return 0
}

// reprocessor is the poll handler without a mailbox: enough to handle a stored
// message again. The PEC trust store comes from the local run's CA or, on AWS,
// from CASELLARIO_PEC_TRUST, as for the poll function.
func reprocessor(t *target) (*poll.Handler, error) {
	trustFile := os.Getenv("CASELLARIO_PEC_TRUST")
	if t.local != nil {
		trustFile = t.local.CA
	}
	if trustFile == "" {
		return nil, fmt.Errorf("CASELLARIO_PEC_TRUST is not set: the PEM file of the PEC providers' certificates")
	}
	trust, err := pec.LoadTrustStore(trustFile)
	if err != nil {
		return nil, err
	}
	return &poll.Handler{Store: t.store, Triage: t.store, Docs: t.docs, Tenants: t.tenants, Trust: trust}, nil
}

func fail(e env, err error) int {
	fmt.Fprintln(e.stderr, "casellario triage:", err)
	return 1
}

func printTriageList(w io.Writer, items []domain.TriageItem) {
	if len(items) == 0 {
		fmt.Fprintln(w, "nothing to route")
		return
	}
	for _, it := range items {
		fmt.Fprintf(w, "%s  %s  %-10s %-18s %s\n", it.ID, it.CreatedAt.UTC().Format(time.RFC3339), it.State, it.Kind, it.Reason)
	}
}

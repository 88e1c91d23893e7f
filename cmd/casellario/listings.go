package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/tenants"
)

func init() {
	register("uploads", command{summary: "list the uploaded lists: office, date, file name, state, counts", run: runUploads})
	register("batches", command{summary: "list the requests sent to the Procura: office, date, protocol, state, people", run: runBatches})
}

// uploadLine is one line of `casellario uploads --json`.
type uploadLine struct {
	ID       string        `json:"id"`
	Tenant   string        `json:"tenant"`
	Office   string        `json:"office"`
	Created  string        `json:"created_at"`
	FileName string        `json:"file_name"`
	State    string        `json:"state"`
	Counts   domain.Counts `json:"counts"`
	Reason   string        `json:"reason,omitempty"` // the code, when rejected
}

// batchLine is one line of `casellario batches --json`.
type batchLine struct {
	ID       string         `json:"id"`
	Tenant   string         `json:"tenant"`
	Office   string         `json:"office"`
	Created  string         `json:"created_at"`
	Protocol statusProtocol `json:"protocol"`
	State    string         `json:"state"`
	People   int            `json:"people"`
	Reason   string         `json:"reason,omitempty"`
}

// listingFlags are the flags both listings take.
type listingFlags struct {
	fs        *flag.FlagSet
	tenant    *string
	office    *string
	limit     *int
	asJSON    *bool
	endpoints *string
}

func newListingFlags(name string, e env) listingFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: casellario %s [--tenant T] [--office CODE] [--limit N] [--json] [--endpoints FILE]\n", name)
		fs.PrintDefaults()
	}
	return listingFlags{fs: fs,
		tenant:    fs.String("tenant", os.Getenv("CASELLARIO_TENANT"), "only this tenant (IPA code); default: every tenant configured"),
		office:    fs.String("office", "", "only this office (its code)"),
		limit:     fs.Int("limit", 50, "at most this many per office, newest first"),
		asJSON:    fs.Bool("json", false, "print JSON lines"),
		endpoints: endpointsFlag(fs),
	}
}

// parse reads the flags; a usage error names what is wrong first.
func (l listingFlags) parse(e env, args []string) bool {
	if err := l.fs.Parse(args); err != nil {
		return false
	}
	if l.fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "casellario %s: unexpected argument %q\n", l.fs.Name(), l.fs.Arg(0))
		l.fs.Usage()
		return false
	}
	if *l.limit < 1 {
		fmt.Fprintf(e.stderr, "casellario %s: --limit must be at least 1\n", l.fs.Name())
		return false
	}
	return true
}

// offices yields the tenants and offices the flags select.
func (l listingFlags) offices(tc *tenants.Config) ([]*tenants.Tenant, map[string][]string, error) {
	var ts []*tenants.Tenant
	offices := map[string][]string{}
	for i := range tc.Tenants {
		t := &tc.Tenants[i]
		if *l.tenant != "" && t.ID != *l.tenant {
			continue
		}
		for _, o := range t.Offices {
			if *l.office == "" || o.Code == *l.office {
				offices[t.ID] = append(offices[t.ID], o.Code)
			}
		}
		if len(offices[t.ID]) > 0 {
			ts = append(ts, t)
		}
	}
	if len(ts) == 0 {
		return nil, nil, fmt.Errorf("no tenant %q with office %q configured", *l.tenant, *l.office)
	}
	return ts, offices, nil
}

func runUploads(ctx context.Context, e env, args []string) int {
	l := newListingFlags("uploads", e)
	if !l.parse(e, args) {
		return 2
	}
	t, err := openTarget(ctx, *l.endpoints)
	if err != nil {
		fmt.Fprintln(e.stderr, "casellario uploads:", err)
		return 1
	}
	ts, offices, err := l.offices(t.tenants)
	if err != nil {
		fmt.Fprintln(e.stderr, "casellario uploads:", err)
		return 2
	}
	var lines []uploadLine
	for _, tn := range ts {
		for _, o := range offices[tn.ID] {
			ups, err := t.store.ListUploads(ctx, tn.ID, o, *l.limit)
			if err != nil {
				fmt.Fprintln(e.stderr, "casellario uploads:", err)
				return 1
			}
			for _, u := range ups {
				lines = append(lines, uploadLine{u.ID, u.Tenant, u.Office, u.CreatedAt.UTC().Format(time.RFC3339), u.FileName,
					string(u.State), u.Counts, string(u.Reason.Code)})
			}
		}
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].Created > lines[j].Created })
	if *l.asJSON {
		return printJSONLines(e.stdout, lines)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "uploaded (Rome)\ttenant/office\tfile\tstate\trows\tvalid\trefused\tid")
	for _, u := range lines {
		at, _ := time.Parse(time.RFC3339, u.Created)
		state := u.State
		if u.Reason != "" {
			state += " (" + u.Reason + ")"
		}
		fmt.Fprintf(tw, "%s\t%s/%s\t%s\t%s\t%d\t%d\t%d\t%s\n", romeTime(at), u.Tenant, u.Office, or(u.FileName, "-"), state,
			u.Counts.Rows, u.Counts.Valid, u.Counts.Invalid, u.ID)
	}
	_ = tw.Flush()
	if len(lines) == 0 {
		fmt.Fprintln(e.stdout, "(no uploads)")
	}
	return 0
}

func runBatches(ctx context.Context, e env, args []string) int {
	l := newListingFlags("batches", e)
	state := l.fs.String("state", "", "only requests in this state (queued, protocolled, sent, accepted, delivered, replied, completed, failed)")
	if !l.parse(e, args) {
		return 2
	}
	var states []domain.BatchState
	if *state != "" {
		s := domain.BatchState(*state)
		if !slices.Contains(domain.BatchStates(), s) {
			fmt.Fprintf(e.stderr, "casellario batches: --state %q: want one of %v\n", *state, domain.BatchStates())
			return 2
		}
		states = []domain.BatchState{s}
	}
	t, err := openTarget(ctx, *l.endpoints)
	if err != nil {
		fmt.Fprintln(e.stderr, "casellario batches:", err)
		return 1
	}
	ts, offices, err := l.offices(t.tenants)
	if err != nil {
		fmt.Fprintln(e.stderr, "casellario batches:", err)
		return 2
	}
	var lines []batchLine
	for _, tn := range ts {
		for _, o := range offices[tn.ID] {
			bs, err := t.store.ListBatches(ctx, tn.ID, o, states, *l.limit)
			if err != nil {
				fmt.Fprintln(e.stderr, "casellario batches:", err)
				return 1
			}
			for _, b := range bs {
				lines = append(lines, batchLine{b.ID, b.Tenant, b.Office, b.CreatedAt.UTC().Format(time.RFC3339),
					protocolOf(b.Protocol), string(b.State), len(b.People), string(b.Reason.Code)})
			}
		}
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].Created > lines[j].Created })
	if *l.asJSON {
		return printJSONLines(e.stdout, lines)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "created (Rome)\ttenant/office\tprotocol\tstate\tpeople\tid")
	for _, b := range lines {
		at, _ := time.Parse(time.RFC3339, b.Created)
		prot := "-"
		if b.Protocol.Number != "" {
			prot = "n. " + b.Protocol.ref() + " of " + b.Protocol.Date
		}
		st := b.State
		if b.Reason != "" {
			st += " (" + b.Reason + ")"
		}
		fmt.Fprintf(tw, "%s\t%s/%s\t%s\t%s\t%d\t%s\n", romeTime(at), b.Tenant, b.Office, prot, st, b.People, b.ID)
	}
	_ = tw.Flush()
	if len(lines) == 0 {
		fmt.Fprintln(e.stdout, "(no requests)")
	}
	return 0
}

// printJSONLines writes one JSON object per line.
func printJSONLines[T any](w io.Writer, lines []T) int {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, l := range lines {
		if err := enc.Encode(l); err != nil {
			return 1
		}
	}
	return 0
}

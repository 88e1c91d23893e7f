package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/trace"
)

func init() {
	register("status", command{summary: "show an upload or a request (by id or protocol number): state, requests, people, events", run: runStatus})
}

// statusView is the JSON of `casellario status --json`: a contract.
type statusView struct {
	ID        string         `json:"id"`
	Tenant    string         `json:"tenant"`
	Office    string         `json:"office"`
	State     string         `json:"state"`
	FileName  string         `json:"file_name,omitempty"` // an upload's
	Protocol  statusProtocol `json:"protocol"`
	MessageID string         `json:"message_id"`
	Batches   []statusBatch  `json:"batches"` // an upload's requests; a request's own line
	Lists     []statusList   `json:"lists"`   // the lists of a request's people; an upload's own line
	People    []statusPerson `json:"people"`
	Events    []statusEvent  `json:"events"`
}

type statusProtocol struct {
	Number   string `json:"number"`
	Date     string `json:"date"`
	Register string `json:"register,omitempty"` // the built-in register's code: the letter quotes CPEC-0000012
}

func protocolOf(p domain.Protocol) statusProtocol {
	return statusProtocol{p.Number, p.Date.String(), p.Register}
}

// ref is the number as the letter and the e-mails quote it.
func (p statusProtocol) ref() string {
	return domain.Protocol{Number: p.Number, Register: p.Register}.Reference()
}

type statusBatch struct {
	ID        string         `json:"id"`
	State     string         `json:"state"`
	Protocol  statusProtocol `json:"protocol"`
	MessageID string         `json:"message_id"`
	People    int            `json:"people"` // of the upload shown, for an upload's requests
}

type statusList struct {
	ID        string `json:"id"`
	FileName  string `json:"file_name"`
	CreatedAt string `json:"created_at"`
}

type statusPerson struct {
	Row         int                `json:"row"`
	Upload      string             `json:"upload"`
	FiscalCode  string             `json:"fiscal_code"`
	State       string             `json:"state"`
	Batch       string             `json:"batch,omitempty"`
	Certificate *statusCertificate `json:"certificate"`
}

type statusCertificate struct {
	Outcome string `json:"outcome"`
	SHA256  string `json:"sha256"`
}

type statusEvent struct {
	At     string `json:"at"`
	State  string `json:"state"`
	Detail string `json:"detail"`          // English, for operators
	Text   string `json:"text"`            // Italian, as the office's page shows it
	About  string `json:"about,omitempty"` // the person's subject id
}

const statusUsage = "usage: casellario status [--json] [--tenant T] [--year YYYY] [--endpoints FILE] ID|PROTOCOL\n" +
	"  ID        an upload or request id\n" +
	"  PROTOCOL  a request's protocol number: 0000012, 12, or with its register CPEC-0000012 (--year: default this year)"

func runStatus(ctx context.Context, e env, args []string) int {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	asJSON := fs.Bool("json", false, "print JSON (a stable contract)")
	tenant := fs.String("tenant", os.Getenv("CASELLARIO_TENANT"), "tenant of the id; default: every tenant configured is tried")
	year := fs.Int("year", 0, "year of a protocol number (default: this year, Rome time)")
	endpoints := endpointsFlag(fs)
	fs.Usage = func() { fmt.Fprintln(e.stderr, statusUsage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		return 2
	}
	arg := fs.Arg(0)
	byProtocol := protocolArgRE.MatchString(arg)
	switch {
	case fs.NArg() != 1:
		fmt.Fprintln(e.stderr, "casellario status: give one upload id, request id or protocol number")
		fmt.Fprintln(e.stderr, statusUsage)
		return 2
	case !byProtocol && !domain.ValidID(arg):
		fmt.Fprintf(e.stderr, "casellario status: %q is neither an id nor a protocol number\n", arg)
		fmt.Fprintln(e.stderr, statusUsage)
		return 2
	}
	if *year == 0 {
		*year = timeNow().In(rome()).Year()
	}
	t, err := openTarget(ctx, *endpoints)
	if err != nil {
		fmt.Fprintln(e.stderr, "casellario status:", err)
		return 1
	}
	var found []statusView
	for _, tn := range t.tenants.Tenants {
		if *tenant != "" && tn.ID != *tenant {
			continue
		}
		id := arg
		if byProtocol {
			bs, err := batchesByProtocol(ctx, t, tn.ID, tn.Protocol.Registry, arg, *year)
			if err != nil {
				fmt.Fprintln(e.stderr, "casellario status:", err)
				return 1
			}
			for _, b := range bs {
				v, err := loadStatus(ctx, t, tn.ID, b.ID)
				if err != nil {
					fmt.Fprintln(e.stderr, "casellario status:", err)
					return 1
				}
				found = append(found, v)
			}
			continue
		}
		v, err := loadStatus(ctx, t, tn.ID, id)
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			continue
		}
		if err != nil {
			fmt.Fprintln(e.stderr, "casellario status:", err)
			return 1
		}
		found = append(found, v)
		break
	}
	switch {
	case len(found) == 0 && byProtocol:
		fmt.Fprintf(e.stderr, "casellario status: no request registered as %s in %d\n", arg, *year)
		return 1
	case len(found) == 0:
		fmt.Fprintf(e.stderr, "casellario status: no upload or request %s\n", arg)
		return 1
	case len(found) > 1:
		fmt.Fprintf(e.stderr, "casellario status: %d requests are registered as %s in %d; give the register code or --tenant:\n", len(found), arg, *year)
		for _, v := range found {
			fmt.Fprintf(e.stderr, "  %s  %s/%s  n. %s of %s\n", v.ID, v.Tenant, v.Office, v.Protocol.ref(), v.Protocol.Date)
		}
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(found[0])
	} else {
		printStatus(e.stdout, found[0])
	}
	return 0
}

// protocolArgRE is a protocol number as a person types it: digits, with
// the register's code in front or not.
var protocolArgRE = regexp.MustCompile(`^(?:([A-Za-z0-9_.]{1,16})-)?([0-9]{1,10})$`)

// batchesByProtocol finds the requests of a tenant registered as ref in
// year: in the built-in register (its code, or no code) and among the
// numbers of the general register (no code, or its code).
func batchesByProtocol(ctx context.Context, t *target, tenant, builtin, ref string, year int) ([]domain.Batch, error) {
	sm := protocolArgRE.FindStringSubmatch(ref)
	n, err := strconv.ParseInt(sm[2], 10, 64)
	if err != nil || n <= 0 {
		return nil, fmt.Errorf("protocol number %q: want a positive number", ref)
	}
	number, code := domain.FormatProtocolNumber(n), sm[1]
	all, err := t.store.ListBatches(ctx, tenant, "", nil, 0)
	if err != nil {
		return nil, err
	}
	var out []domain.Batch
	for _, b := range all {
		p := b.Protocol
		if p.Number != number || p.Date.Year != year {
			continue
		}
		if code == "" || strings.EqualFold(code, p.Register) || p.Register == "" && !strings.EqualFold(code, builtin) {
			out = append(out, b)
		}
	}
	return out, nil
}

// loadStatus reads an upload or, failing that, a request, with what links them.
func loadStatus(ctx context.Context, t *target, tenant, id string) (statusView, error) {
	v := statusView{ID: id, Tenant: tenant, Batches: []statusBatch{}, Lists: []statusList{}, People: []statusPerson{}, Events: []statusEvent{}}
	var people []domain.Subject
	var events []trace.Event
	l, err := trace.OfUpload(ctx, t.store, tenant, id)
	switch {
	case err == nil:
		v.Office, v.State, v.FileName = l.Upload.Office, string(l.Upload.State), l.Upload.FileName
		if p := l.Upload.Protocol; p != nil {
			v.Protocol = protocolOf(*p)
		}
		for _, r := range l.Requests {
			b := r.Batch
			v.Batches = append(v.Batches, statusBatch{b.ID, string(b.State), protocolOf(b.Protocol), b.MessageID, r.People})
		}
		v.Lists = append(v.Lists, statusList{l.Upload.ID, l.Upload.FileName, l.Upload.CreatedAt.UTC().Format(time.RFC3339)})
		people, events = l.People, l.Events
	case domain.ErrorCode(err) != domain.ENOTFOUND:
		return v, err
	default:
		s, err := trace.OfBatch(ctx, t.store, tenant, id)
		if err != nil {
			return v, err
		}
		b := s.Batch
		v.Office, v.State, v.MessageID = b.Office, string(b.State), b.MessageID
		v.Protocol = protocolOf(b.Protocol)
		v.Batches = append(v.Batches, statusBatch{b.ID, string(b.State), v.Protocol, b.MessageID, len(b.People)})
		for _, u := range s.Lists {
			v.Lists = append(v.Lists, statusList{u.ID, u.FileName, u.CreatedAt.UTC().Format(time.RFC3339)})
		}
		people, events = s.People, s.Events
	}
	for _, s := range people {
		p := statusPerson{Row: s.Row, Upload: s.Upload, FiscalCode: s.Person.FiscalCode, State: string(s.State), Batch: s.Batch}
		if s.Certificate != nil {
			p.Certificate = &statusCertificate{string(s.Certificate.Outcome), s.Certificate.SHA256}
		}
		v.People = append(v.People, p)
	}
	for _, ev := range events {
		v.Events = append(v.Events, statusEvent{ev.At.UTC().Format(time.RFC3339), ev.State, ev.Detail, ev.Text, ev.About})
	}
	return v, nil
}

// printStatus writes the status for an operator: English, Rome time; the
// people by row and state, never by name.
func printStatus(w io.Writer, v statusView) {
	fmt.Fprintf(w, "%s  %s/%s  state: %s\n", v.ID, v.Tenant, v.Office, v.State)
	if v.FileName != "" {
		fmt.Fprintf(w, "file: %s\n", v.FileName)
	}
	if v.Protocol.Number != "" {
		fmt.Fprintf(w, "protocol: n. %s of %s\n", v.Protocol.ref(), v.Protocol.Date)
	}
	if v.MessageID != "" {
		fmt.Fprintf(w, "message-id: %s\n", v.MessageID)
	}
	if v.FileName != "" || len(v.Batches) > 1 {
		for _, b := range v.Batches {
			fmt.Fprintf(w, "request %s  %-11s n. %s of %s  %d people\n", b.ID, b.State, or(b.Protocol.ref(), "-"), or(b.Protocol.Date, "-"), b.People)
		}
	} else {
		for _, l := range v.Lists {
			at, _ := time.Parse(time.RFC3339, l.CreatedAt)
			fmt.Fprintf(w, "list %s  %s  uploaded %s\n", l.ID, l.FileName, romeTime(at))
		}
	}
	counts := map[string]int{}
	for _, p := range v.People {
		counts[p.State]++
	}
	fmt.Fprintf(w, "people: %d", len(v.People))
	for _, s := range []domain.PersonState{domain.PersonPending, domain.PersonBatched, domain.PersonCertified, domain.PersonFailed} {
		if counts[string(s)] > 0 {
			fmt.Fprintf(w, ", %d %s", counts[string(s)], s)
		}
	}
	fmt.Fprintln(w)
	for _, ev := range v.Events {
		at, _ := time.Parse(time.RFC3339, ev.At)
		fmt.Fprintf(w, "  %s  %-12s %s\n", romeTime(at), ev.State, ev.Detail)
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

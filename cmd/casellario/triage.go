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
	"text/tabwriter"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/poll"
	"github.com/casellario-pec/casellario/shared/tenants"
)

func init() {
	register("triage", command{summary: "the protocol office's queue of PEC messages to route: list, show, text, requests, assign, choose, dismiss", run: runTriage})
}

const triageUsage = `usage: casellario triage [--tenant T] [--endpoints FILE] [--json] COMMAND
  list [--all]                       open items of every Comune (or --tenant's); --all: also the closed ones
  show ID                            the facts of an item: certified sender, subject, date, signature,
                                     protocol numbers quoted, attachments
  text ID                            the message's text (reading it is recorded in the audit trail)
  requests ID                        the requests the message may belong to, those it quotes first
  assign ID BATCH [--note N]         the message belongs to request BATCH (an id), or:
  assign ID --protocol REF --date D  the request registered as REF (CPEC-0000012, or 12) on D (YYYY-MM-DD);
                                     a message failing a check (signature, sender, Message-ID) needs
                                     --override-reason TEXT --confirm, recorded in the audit trail
  choose ID --subject S --sha256 H --reason TEXT
                                     of the two certificates of a person, H stands (the other is kept)
  dismiss ID --reason TEXT --confirm close the item: the message needs nothing`

func runTriage(ctx context.Context, e env, args []string) int {
	fs := flag.NewFlagSet("triage", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	tenant := fs.String("tenant", os.Getenv("CASELLARIO_TENANT"), "tenant (IPA code); default $CASELLARIO_TENANT, else every one for list and the one holding ID for the others")
	asJSON := fs.Bool("json", false, "print JSON")
	all := fs.Bool("all", false, "list: also assigned and dismissed items")
	reason := fs.String("reason", "", "dismiss, choose: why")
	note := fs.String("note", "", "assign: a note for the audit trail")
	protocol := fs.String("protocol", "", "assign: the request's protocol number, as quoted (CPEC-0000012, or 12)")
	date := fs.String("date", "", "assign: the request's protocol date, YYYY-MM-DD")
	overrideReason := fs.String("override-reason", "", "assign: why the message is attributed although a check failed")
	confirm := fs.Bool("confirm", false, "assign with --override-reason, dismiss: confirm the decision")
	subject := fs.String("subject", "", "choose: the person (subject id)")
	sha := fs.String("sha256", "", "choose: the SHA-256 of the certificate that stands")
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
	usage := func(missing string) int {
		fmt.Fprintln(e.stderr, "casellario triage: "+missing)
		fs.Usage()
		return 2
	}
	if len(rest) == 0 {
		return usage("a command is missing")
	}
	want := map[string][]int{"list": {1}, "show": {2}, "text": {2}, "requests": {2}, "assign": {2, 3}, "choose": {2}, "dismiss": {2}}
	n, ok := want[rest[0]]
	switch {
	case !ok:
		return usage(fmt.Sprintf("unknown command %q", rest[0]))
	case !contains(n, len(rest)):
		return usage(fmt.Sprintf("%s: wrong number of arguments", rest[0]))
	case rest[0] == "dismiss" && (strings.TrimSpace(*reason) == "" || !*confirm):
		return usage("dismiss needs --reason TEXT and --confirm")
	case rest[0] == "choose" && (*subject == "" || *sha == "" || strings.TrimSpace(*reason) == ""):
		return usage("choose needs --subject, --sha256 and --reason")
	case rest[0] == "assign" && len(rest) == 2 && (*protocol == "" || *date == ""):
		return usage("assign needs a request id, or --protocol and --date")
	}
	t, err := openTarget(ctx, *endpoints)
	if err != nil {
		return fail(e, err)
	}
	who := domain.CauseUser(operatorName())
	if rest[0] == "list" {
		return triageList(ctx, e, t, *tenant, *all, *asJSON)
	}
	id := rest[1]
	tn, it, err := findTriage(ctx, t, *tenant, id)
	if err != nil {
		return fail(e, err)
	}
	var out any = it
	switch rest[0] {
	case "show":
		if !*asJSON {
			printTriage(e.stdout, it)
			return 0
		}
	case "text":
		if err := t.store.AppendEvent(ctx, domain.Event{Tenant: tn.ID, Subject: it.ID, At: timeNow().UTC(), State: string(it.State),
			Note: domain.NoteMessageRead, Detail: "message of triage item " + it.ID + " read", Cause: who}); err != nil {
			return fail(e, err)
		}
		raw, _, err := t.docs.GetBytes(ctx, t.docs.Document(it.MessageKey))
		if err != nil {
			return fail(e, err)
		}
		text := ""
		if m, err := pec.Parse(raw, pec.ReadOptions{}); err == nil && m.Original != nil {
			text, _ = m.Original.Text()
		}
		if !*asJSON {
			fmt.Fprintln(e.stdout, text)
			return 0
		}
		out = map[string]string{"text": text}
	case "requests":
		bs, err := t.store.ListBatches(ctx, tn.ID, "", []domain.BatchState{domain.BatchSent, domain.BatchAccepted, domain.BatchDelivered,
			domain.BatchReplied, domain.BatchCompleted}, 500)
		if err != nil {
			return fail(e, err)
		}
		if !*asJSON {
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "REQUEST\tPROTOCOL\tDATE\tOFFICE\tPEOPLE\tSTATE")
			for _, b := range bs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", b.ID, b.Protocol.Reference(), b.Protocol.Date.Italian(), officeName(tn, b.Office), len(b.People), b.State)
			}
			_ = tw.Flush()
			return 0
		}
		out = bs
	case "assign":
		batch := ""
		if len(rest) == 3 {
			batch = rest[2]
		} else {
			d, err := parseDate(*date)
			if err != nil {
				return usage(err.Error())
			}
			reg := domain.Register{Tenant: tn.ID, AOO: tn.AOO}
			if tn.Protocol.Kind == tenants.ProtocolBuiltin {
				reg.Builtin = tn.Protocol.Registry
			}
			b, err := domain.RequestByReference(ctx, t.store, reg, *protocol, d)
			if err != nil {
				return fail(e, err)
			}
			batch = b.ID
		}
		h, err := assigner(t)
		if err != nil {
			return fail(e, err)
		}
		// Handle the message first: an item whose message cannot be handled stays open.
		res, err := h.Assign(ctx, tn.ID, id, batch, domain.Override{Confirm: *confirm, Reason: *overrideReason}, who)
		var cf *domain.ChecksFailed
		if errors.As(err, &cf) {
			fmt.Fprintln(e.stderr, "casellario triage: the message fails these checks for that request:")
			for _, c := range cf.Checks {
				fmt.Fprintf(e.stderr, "  - %s (%s)\n", c, c.Italian())
			}
			fmt.Fprintln(e.stderr, "To attribute it all the same, say why with --override-reason TEXT and add --confirm: the decision is recorded.")
			return 1
		}
		if err != nil {
			return fail(e, err)
		}
		if *note != "" {
			if res.Item, err = t.store.AssignTriage(ctx, tn.ID, id, batch, *note, who); err != nil {
				return fail(e, err)
			}
		}
		out = res
	case "choose":
		s, err := t.store.ChooseCertificate(ctx, tn.ID, *subject, *sha, strings.TrimSpace(*reason), who)
		if err != nil {
			return fail(e, err)
		}
		out = s.Certificate
	case "dismiss":
		if out, err = t.store.DismissTriage(ctx, tn.ID, id, *reason, who); err != nil {
			return fail(e, err)
		}
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	_ = enc.Encode(out)
	return 0
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// tenantsOf is --tenant's Comune, or every one configured.
func tenantsOf(t *target, id string) ([]tenants.Tenant, error) {
	if id == "" {
		return t.tenants.Tenants, nil
	}
	tn, err := t.tenants.Tenant(id)
	if err != nil {
		return nil, err
	}
	return []tenants.Tenant{*tn}, nil
}

func triageList(ctx context.Context, e env, t *target, tenant string, all, asJSON bool) int {
	ts, err := tenantsOf(t, tenant)
	if err != nil {
		return fail(e, err)
	}
	state := domain.TriageOpen
	if all {
		state = ""
	}
	items := []domain.TriageItem{}
	for _, tn := range ts {
		got, err := t.store.ListTriage(ctx, tn.ID, state, 0)
		if err != nil {
			return fail(e, err)
		}
		items = append(items, got...)
	}
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		_ = enc.Encode(items)
		return 0
	}
	printTriageList(e.stdout, items)
	return 0
}

// findTriage finds an item in --tenant's Comune, or in the one that holds it.
func findTriage(ctx context.Context, t *target, tenant, id string) (*tenants.Tenant, domain.TriageItem, error) {
	ts, err := tenantsOf(t, tenant)
	if err != nil {
		return nil, domain.TriageItem{}, err
	}
	for i := range ts {
		it, err := t.store.GetTriage(ctx, ts[i].ID, id)
		if err == nil {
			return &ts[i], it, nil
		}
		if domain.ErrorCode(err) != domain.ENOTFOUND {
			return nil, it, err
		}
	}
	return nil, domain.TriageItem{}, fmt.Errorf("no triage item %s in %s", id, describeTenants(ts))
}

func describeTenants(ts []tenants.Tenant) string {
	if len(ts) == 1 {
		return ts[0].Name
	}
	return "any Comune configured"
}

func officeName(t *tenants.Tenant, code string) string {
	if o, err := t.Office(code); err == nil {
		return o.Name
	}
	return code
}

// assigner is the poll handler without a mailbox: enough to handle a stored
// message again. The PEC trust store comes from the local run's CA or, on AWS,
// from CASELLARIO_PEC_TRUST, as for the poll function.
func assigner(t *target) (*poll.Handler, error) {
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
	msg := err.Error()
	if de := new(domain.Error); errors.As(err, &de) && de.ForUsers {
		msg = de.Message
	}
	fmt.Fprintln(e.stderr, "casellario triage:", msg)
	return 1
}

func printTriageList(w io.Writer, items []domain.TriageItem) {
	if len(items) == 0 {
		fmt.Fprintln(w, "nothing to route")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCOMUNE\tRECEIVED (Rome)\tSTATE\tKIND\tWHY")
	for _, it := range items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", it.ID, it.Tenant, romeTime(it.CreatedAt), it.State, it.Kind, it.Reason.Italian())
	}
	_ = tw.Flush()
}

// printTriage shows the facts of an item, never its storage keys.
func printTriage(w io.Writer, it domain.TriageItem) {
	f := it.Facts
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, v)
		}
	}
	row("item", it.ID)
	row("state", string(it.State))
	row("received", romeTime(it.CreatedAt))
	row("kind", it.Kind)
	row("why", it.Reason.Italian())
	row("detail", it.Reason.Detail)
	sender := f.Sender
	switch {
	case sender == "":
	case f.SenderIsProcura:
		sender += " (certified: the Procura)"
	case f.SenderCertified:
		sender += " (certified: NOT the Procura)"
	default:
		sender += " (not certified)"
	}
	row("sender", sender)
	row("subject", f.Subject)
	if !f.Date.IsZero() {
		row("date", romeTime(f.Date))
	}
	if f.Signature != "" {
		row("signature", f.Signature+" "+f.Signer)
	}
	row("refers to", f.RefersTo)
	for _, q := range f.References {
		v := q.Reference
		if !q.Date.IsZero() {
			v += " of " + q.Date.Italian()
		}
		row("quotes", v)
	}
	for _, a := range f.Files {
		row("attachment", fmt.Sprintf("%s (%s, %d bytes)", a.Name, a.ContentType, a.Size))
	}
	for _, c := range f.Candidates {
		row("second certificate", fmt.Sprintf("person %s: standing %.12s, received %.12s", c.Subject, c.Standing, c.Candidate))
	}
	row("request", it.Batch)
	row("note", it.Note)
	_ = tw.Flush()
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"

	"github.com/casellario-pec/casellario/shared/awsconf"
	"github.com/casellario-pec/casellario/shared/config"
	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/report"
	"github.com/casellario-pec/casellario/shared/report/cwusage"
)

func init() {
	register("report", command{summary: "turnaround and cost report per Comune and office for a period (--json for the contract)", run: runReport})
}

func runReport(ctx context.Context, e env, args []string) int {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	tenant := fs.String("tenant", "", "only this tenant (IPA code, e.g. c_g999); default: every tenant configured")
	from := fs.String("from", "", "first day, YYYY-MM-DD (Rome); default: 29 days before --to")
	to := fs.String("to", "", "last day, YYYY-MM-DD (Rome); default: today")
	asJSON := fs.Bool("json", false, "print the JSON contract")
	endpoints := endpointsFlag(fs)
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: casellario report [--tenant T] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--json] [--endpoints FILE]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintln(e.stderr, "casellario report: unexpected arguments:", strings.Join(fs.Args(), " "))
		fs.Usage()
		return 2
	}
	now := timeNow()
	f, t, err := report.Period(*from, *to, now)
	if err != nil {
		fmt.Fprintln(e.stderr, "casellario report:", domain.ErrorMessage(err))
		return 2
	}
	overdue := report.DefaultOverdueAfter
	c, err := config.Load(os.Environ())
	if err != nil {
		fmt.Fprintln(e.stderr, "casellario report:", err)
		return 2
	}
	if c.Poll.OverdueAfter > 0 {
		overdue = c.Poll.OverdueAfter
	}
	tg, err := openTarget(ctx, *endpoints)
	if err != nil {
		fmt.Fprintln(e.stderr, "casellario report:", err)
		return 1
	}
	q := report.Query{From: f, To: t, Now: now, OverdueAfter: overdue}
	if *tenant != "" {
		q.Tenants = []string{*tenant}
	}
	in, err := report.Gather(ctx, tg.store, tg.tenants, q)
	switch domain.ErrorCode(err) {
	case "":
	case domain.ENOTFOUND, domain.EINVALID:
		fmt.Fprintln(e.stderr, "casellario report:", domain.ErrorMessage(err))
		return 2
	default:
		fmt.Fprintln(e.stderr, "casellario report:", err)
		return 1
	}
	start, end := report.Bounds(f, t)
	if end.After(now) {
		end = now
	}
	if in.Usage, err = usageOf(ctx, tg, start, end); err != nil {
		// The figures stand without the cost; say why.
		fmt.Fprintln(e.stderr, "casellario report: no cost figure:", err)
	}
	rep := report.Compute(in)
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return 1
		}
		return 0
	}
	printTurnaround(e.stdout, rep, overdue)
	return 0
}

// usageOf reads what the system used: the local run's counts (its control
// endpoint's /usage), else CloudWatch (needs cloudwatch:GetMetricData).
func usageOf(ctx context.Context, tg *target, from, to time.Time) (*report.Usage, error) {
	if tg.local != nil {
		if tg.local.Control == "" {
			return nil, errors.New("the local run has no control endpoint")
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, tg.local.Control+"/usage", nil)
		if err != nil {
			return nil, err
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("the local run's usage: %w", err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		if res.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("the local run's usage: %s: %s", res.Status, b)
		}
		var u report.Usage
		if err := json.Unmarshal(b, &u); err != nil {
			return nil, fmt.Errorf("the local run's usage: %w", err)
		}
		return &u, nil
	}
	if !from.Before(to) {
		return nil, errors.New("the period has not begun")
	}
	c, err := config.Load(os.Environ())
	if err != nil {
		return nil, err
	}
	cfg, err := awsconf.Load(ctx, c.AWS)
	if err != nil {
		return nil, err
	}
	o := cwusage.Options{Table: c.Store.Table}
	if c.Docs.UploadsBucket != "" && c.Docs.DocumentsBucket != "" {
		o.Buckets = []string{c.Docs.UploadsBucket, c.Docs.DocumentsBucket}
	}
	return cwusage.Fetch(ctx, cloudwatch.NewFromConfig(cfg), o, from, to)
}

// hoursOf formats a percentile for people: "12.50" hours, or "-".
func hoursOf(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.2f", *p)
}

func printTurnaround(w io.Writer, rep report.Report, overdue time.Duration) {
	day := func(s string) string {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return s
		}
		return t.Format("02/01/2006")
	}
	fmt.Fprintf(w, "Turnaround and cost, %s to %s (days in Rome's time; a request counts on the day it was created)\n",
		day(rep.From), day(rep.To))
	fmt.Fprintf(w, "Times are hours, median / 90th percentile; overdue: delivered and no reply within %s.\n", overdue)
	for _, t := range rep.Tenants {
		fmt.Fprintf(w, "\n%s (%s)\n", t.TenantName, t.Tenant)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "office\trequests\tpeople\tupload→sent\tsent→delivered\tsent→reply\tupload→certified\toverdue\tfailed")
		for _, o := range t.Offices {
			ta := o.Turnaround
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s / %s\t%s / %s\t%s / %s\t%s / %s\t%d\t%d\n", o.Office, o.Requests, o.People,
				hoursOf(ta.UploadToSent.P50), hoursOf(ta.UploadToSent.P90), hoursOf(ta.SentToDelivered.P50), hoursOf(ta.SentToDelivered.P90),
				hoursOf(ta.SentToReply.P50), hoursOf(ta.SentToReply.P90), hoursOf(ta.UploadToCertified.P50), hoursOf(ta.UploadToCertified.P90),
				o.Overdue, o.Failed)
		}
		tw.Flush()
		for _, o := range t.Offices {
			for _, fl := range o.Failures {
				fmt.Fprintf(w, "  %s: %s: %d requests, %d people (%s)\n", o.Office, fl.Code, fl.Requests, fl.People, fl.Text)
			}
		}
	}
	fmt.Fprintln(w)
	if rep.Cost.PerRequestEUR != nil {
		fmt.Fprintf(w, "Cost per request sent: EUR %.6f\n", *rep.Cost.PerRequestEUR)
	} else {
		fmt.Fprintln(w, "Cost per request sent: not available")
	}
	fmt.Fprintln(w, "Basis:", rep.Cost.Basis)
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/casellario-pec/casellario/shared/awsconf"
	"github.com/casellario-pec/casellario/shared/config"
	"github.com/casellario-pec/casellario/shared/localdev/localrun"
	"github.com/casellario-pec/casellario/shared/pecmail"
	"github.com/casellario-pec/casellario/shared/preflight"
	"github.com/casellario-pec/casellario/shared/tenants"
)

func init() {
	register("doctor", command{summary: "check one Comune before it goes live: secret, PEC logins, trust store, Procura, schedules", run: runDoctor})
}

// The AWS clients of doctor and schedules; tests replace them with fakes.
var (
	loadAWSConfig = func(ctx context.Context, a config.AWS) (aws.Config, error) { return awsconf.Load(ctx, a) }
	newSecretsAPI = func(cfg aws.Config) pecmail.SecretsAPI { return secretsmanager.NewFromConfig(cfg) }
	newScheduler  = func(cfg aws.Config) preflight.SchedulerAPI { return scheduler.NewFromConfig(cfg) }
)

// checkTarget is the system doctor checks: a local run found through its
// endpoints file, or AWS configured by the same variables as the functions.
type checkTarget struct {
	where   string // for people: "local run (path)" or "AWS (Region)"
	local   bool
	tenants *tenants.Config
	base    preflight.Config // everything but the tenant
}

// openCheckTarget finds the system as the other operator commands do:
// --endpoints FILE, else $CASELLARIO_ENDPOINTS, else the default data
// folder's endpoints.json, else AWS. forceAWS skips the local run: an
// operator's machine may have one running beside the real deployment.
func openCheckTarget(ctx context.Context, endpoints string, forceAWS bool, timeout time.Duration) (*checkTarget, error) {
	if forceAWS {
		if endpoints != "" {
			return nil, errors.New("--aws and --endpoints exclude each other")
		}
		return awsCheckTarget(ctx, timeout)
	}
	path := endpoints
	if path == "" {
		path = os.Getenv("CASELLARIO_ENDPOINTS")
	}
	explicit := path != ""
	if path == "" {
		path = filepath.Join(localrun.DefaultDataDir(), localrun.EndpointsFile)
	}
	ep, err := localrun.ReadEndpoints(path)
	switch {
	case err == nil:
		return localCheckTarget(ep, path, timeout)
	case explicit || !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("local run: %w", err)
	}
	t, err := awsCheckTarget(ctx, timeout)
	if err != nil {
		return nil, fmt.Errorf("no local run found (%s; start one with `make dev`, or pass --endpoints), and AWS is not configured: %w", path, err)
	}
	return t, nil
}

func localCheckTarget(ep localrun.Endpoints, path string, timeout time.Duration) (*checkTarget, error) {
	tc := tenants.Demo()
	if ep.Tenants != "" {
		var err error
		if tc, err = tenants.Load(ep.Tenants); err != nil {
			return nil, err
		}
	}
	roots, err := pecmail.TLSWithRoots(ep.CA)
	if err != nil {
		return nil, err
	}
	t := &checkTarget{where: "local run (" + path + ")", local: true, tenants: tc, base: preflight.Config{
		All: tc, Secrets: pecmail.LocalSecrets(), TLS: roots, TrustFile: ep.CA, Local: true, Timeout: timeout}}
	if ep.MailSMTP != "" {
		host, port, err := net.SplitHostPort(ep.MailSMTP)
		p, perr := strconv.Atoi(port)
		if err != nil || perr != nil {
			return nil, fmt.Errorf("%s: mail_smtp %q is not host:port", path, ep.MailSMTP)
		}
		// The local mail sink: plain SMTP, no login.
		t.base.Notices = &preflight.Notices{Host: host, Port: p, TLS: pecmail.SMTPNoTLS}
	}
	return t, nil
}

// awsCheckTarget reads the functions' variables (shared/config):
// CASELLARIO_TENANTS, CASELLARIO_PEC_TRUST, CASELLARIO_TLS_ROOTS,
// CASELLARIO_SMTP_* and the SDK's own.
func awsCheckTarget(ctx context.Context, timeout time.Duration) (*checkTarget, error) {
	c, err := config.Load(os.Environ())
	if err != nil {
		return nil, err
	}
	tc, err := tenants.Open(c.Tenants)
	if err != nil {
		return nil, err
	}
	roots, err := pecmail.TLSWithRoots(c.TLSRoots)
	if err != nil {
		return nil, fmt.Errorf("CASELLARIO_TLS_ROOTS: %w", err)
	}
	var notices *preflight.Notices
	if c.SMTP.Host != "" {
		notices = &preflight.Notices{Host: c.SMTP.Host, Port: c.SMTP.Port, TLS: c.SMTP.TLS, User: c.SMTP.User, From: c.SMTP.From, Secret: c.SMTP.Secret}
		if notices.TLS == "" {
			notices.TLS = pecmail.SMTPStartTLS
		}
	}
	cfg, err := loadAWSConfig(ctx, c.AWS)
	if err != nil {
		return nil, err
	}
	return &checkTarget{where: "AWS (Region " + cfg.Region + ")", tenants: tc, base: preflight.Config{
		All:       tc,
		Secrets:   &pecmail.Secrets{API: func() (pecmail.SecretsAPI, error) { return newSecretsAPI(cfg), nil }},
		TLS:       roots,
		TrustFile: c.PECTrust,
		Notices:   notices,
		Schedules: newScheduler(cfg),
		Timeout:   timeout,
	}}, nil
}

// config is the preflight configuration of one tenant of the target.
func (t *checkTarget) config(id string) (preflight.Config, *tenants.Tenant, error) {
	tn, err := t.tenants.Tenant(id)
	if err != nil {
		ids := make([]string, 0, len(t.tenants.Tenants))
		for _, o := range t.tenants.Tenants {
			ids = append(ids, o.ID)
		}
		return preflight.Config{}, nil, fmt.Errorf("tenant %q is not in the tenants file (it has %s)", id, strings.Join(ids, ", "))
	}
	cfg := t.base
	cfg.Tenant = *tn
	return cfg, tn, nil
}

const doctorUsage = "usage: casellario doctor --tenant T [--endpoints FILE | --aws] [--json] [--timeout D]"

func runDoctor(ctx context.Context, e env, args []string) int {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	tenant := fs.String("tenant", "", "the Comune to check (IPA code, e.g. c_g999): required")
	asJSON := fs.Bool("json", false, "print the results as JSON")
	timeout := fs.Duration("timeout", 20*time.Second, "bound of each connection and command")
	endpoints := endpointsFlag(fs)
	forceAWS := fs.Bool("aws", false, "check AWS even when a local run is found")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, doctorUsage)
		fmt.Fprintln(e.stderr, "Checks one Comune before it goes live, against a local run (endpoints.json) or AWS (the functions'")
		fmt.Fprintln(e.stderr, "variables: CASELLARIO_TENANTS, CASELLARIO_PEC_TRUST, CASELLARIO_TLS_ROOTS, CASELLARIO_SMTP_*, and the")
		fmt.Fprintln(e.stderr, "AWS SDK's). Nothing is sent and nothing in the mailbox changes.")
		fmt.Fprintln(e.stderr, "Exit status: 0 nothing failed, 1 a check failed, 2 usage or configuration error.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *tenant == "" || fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	t, err := openCheckTarget(ctx, *endpoints, *forceAWS, *timeout)
	if err != nil {
		fmt.Fprintln(e.stderr, "casellario doctor:", err)
		return 2
	}
	cfg, tn, err := t.config(*tenant)
	if err != nil {
		fmt.Fprintln(e.stderr, "casellario doctor:", err)
		return 2
	}
	rs := preflight.Run(ctx, cfg)
	if *asJSON {
		writeDoctorJSON(e.stdout, t, tn, rs)
	} else {
		writeDoctorText(e.stdout, t, tn, rs)
	}
	if preflight.Failed(rs) {
		return 1
	}
	return 0
}

// doctorJSON is the --json contract: fields are only ever added.
type doctorJSON struct {
	Tenant string             `json:"tenant"`
	Name   string             `json:"name"`
	Target string             `json:"target"` // "local" or "aws"
	Where  string             `json:"where"`
	OK     bool               `json:"ok"` // no check failed
	Counts map[string]int     `json:"counts"`
	Checks []preflight.Result `json:"checks"`
}

func writeDoctorJSON(w io.Writer, t *checkTarget, tn *tenants.Tenant, rs []preflight.Result) {
	out := doctorJSON{Tenant: tn.ID, Name: tn.Name, Target: "aws", Where: t.where, OK: !preflight.Failed(rs), Counts: map[string]int{}, Checks: rs}
	if t.local {
		out.Target = "local"
	}
	for _, s := range []preflight.Status{preflight.OK, preflight.Warn, preflight.Fail, preflight.Skip} {
		out.Counts[string(s)] = preflight.Count(rs)[s]
	}
	b, _ := json.Marshal(out)
	fmt.Fprintln(w, string(b))
}

func writeDoctorText(w io.Writer, t *checkTarget, tn *tenants.Tenant, rs []preflight.Result) {
	fmt.Fprintf(w, "casellario doctor: %s (%s), %s\n", tn.ID, tn.Name, t.where)
	writeResults(w, rs)
	n := preflight.Count(rs)
	summary := fmt.Sprintf("%s: %d OK, %d WARN, %d FAIL, %d SKIP", tn.ID, n[preflight.OK], n[preflight.Warn], n[preflight.Fail], n[preflight.Skip])
	switch {
	case n[preflight.Fail] > 0:
		summary += ": fix the FAIL lines and run doctor again"
	case t.local:
		summary += ": nothing failed"
	default:
		summary += fmt.Sprintf(": nothing failed; to go live, add %s to the deployment file's schedules.live and deploy, or `casellario schedules enable --tenant %s` now", tn.ID, tn.ID)
	}
	fmt.Fprintln(w, summary)
}

// writeResults prints one line per check: status, check, what was found and,
// for WARN and FAIL, the fix.
func writeResults(w io.Writer, rs []preflight.Result) {
	for _, r := range rs {
		line := fmt.Sprintf("%-4s  %-17s  %s", r.Status, r.Check, r.Detail)
		if r.Fix != "" {
			line += " → fix: " + r.Fix
		}
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
}

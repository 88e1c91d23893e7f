package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/casellario-pec/casellario/shared/preflight"
	"github.com/casellario-pec/casellario/shared/tenants"
)

func init() {
	register("schedules", command{summary: "a Comune's EventBridge schedules in AWS: schedules enable|disable|status --tenant T", run: runSchedules})
}

const schedulesUsage = "usage: casellario schedules enable|disable|status --tenant T [--force] [--aws] [--timeout D]"

func runSchedules(ctx context.Context, e env, args []string) int {
	if len(args) == 0 || !slices.Contains([]string{"enable", "disable", "status"}, args[0]) {
		fmt.Fprintln(e.stderr, schedulesUsage)
		return 2
	}
	verb := args[0]
	fs := flag.NewFlagSet("schedules "+verb, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	tenant := fs.String("tenant", "", "the Comune (IPA code, e.g. c_g999): required")
	force := fs.Bool("force", false, "enable even though doctor fails (prints what failed)")
	timeout := fs.Duration("timeout", 20*time.Second, "bound of each connection and command of the doctor checks")
	endpoints := endpointsFlag(fs)
	forceAWS := fs.Bool("aws", false, "use AWS even when a local run is found")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, schedulesUsage)
		fmt.Fprintln(e.stderr, "AWS only: the Comune's three schedules (dispatch, dispatch-resume, poll) and the intake sweep, with")
		fmt.Fprintln(e.stderr, "EventBridge Scheduler. enable runs doctor first and refuses when a check fails (unless --force).")
		fmt.Fprintln(e.stderr, "Exit status: 0 done, 1 doctor failed or an AWS call failed, 2 usage error or a local run.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *tenant == "" || fs.NArg() != 0 || (*force && verb != "enable") {
		fs.Usage()
		return 2
	}
	t, err := openCheckTarget(ctx, *endpoints, *forceAWS, *timeout)
	if err != nil {
		fmt.Fprintln(e.stderr, "casellario schedules:", err)
		return 2
	}
	if t.local {
		fmt.Fprintf(e.stderr, "casellario schedules: this is a %s, which has no EventBridge schedules: its dispatch and poll run on `casellario dev`'s --dispatch-every and --poll-every (negative: only on demand, `casellario dispatch --now`). Against AWS: --aws, with the functions' variables (infra/README.md, runbook step 9).\n", t.where)
		return 2
	}
	cfg, tn, err := t.config(*tenant)
	if err != nil {
		fmt.Fprintln(e.stderr, "casellario schedules:", err)
		return 2
	}
	api := cfg.Schedules
	switch verb {
	case "status":
		return schedulesStatus(ctx, e, api, tn)
	case "disable":
		return schedulesDisable(ctx, e, api, t.tenants, tn)
	}
	rs := preflight.Run(ctx, cfg)
	writeDoctorText(e.stdout, t, tn, rs)
	if preflight.Failed(rs) {
		var failed []string
		for _, r := range rs {
			if r.Status == preflight.Fail {
				failed = append(failed, r.Check)
			}
		}
		if !*force {
			fmt.Fprintf(e.stderr, "casellario schedules: doctor failed (%s): the schedules of %s stay as they are; fix the FAIL lines above, or enable anyway with --force\n", strings.Join(failed, ", "), tn.ID)
			return 1
		}
		fmt.Fprintf(e.stderr, "WARNING: enabling the schedules of %s although doctor failed (%s): poll and dispatch will fail the same way until it is fixed\n", tn.ID, strings.Join(failed, ", "))
	}
	// Reading the mailbox first and sending last: a failure half-way never
	// leaves dispatch running without poll.
	for _, name := range append(preflight.TenantSchedules(tn.ID), preflight.SweepSchedule) {
		if code := setState(ctx, e, api, name, types.ScheduleStateEnabled); code != 0 {
			return code
		}
	}
	// CloudFormation puts a property back only when a deploy updates that
	// resource; the stack keeps saying DISABLED until schedules.live says otherwise.
	fmt.Fprintf(e.stderr, "WARNING: schedules enabled by hand are disabled again by a later deploy (any that updates them) unless %s is in the deployment file's schedules.live: add it there, commit, and deploy (make deploy DEPLOYMENT=<name>)\n", tn.ID)
	return 0
}

func setState(ctx context.Context, e env, api preflight.SchedulerAPI, name string, state types.ScheduleState) int {
	changed, err := preflight.SetState(ctx, api, name, state)
	switch {
	case err != nil:
		fmt.Fprintln(e.stderr, "casellario schedules:", err)
		return 1
	case changed:
		fmt.Fprintf(e.stdout, "%s: %s\n", name, state)
	default:
		fmt.Fprintf(e.stdout, "%s: already %s\n", name, state)
	}
	return 0
}

// schedulesDisable stops the tenant's schedules, sending first; the intake
// sweep, shared by every Comune, only when no other Comune is live.
func schedulesDisable(ctx context.Context, e env, api preflight.SchedulerAPI, all *tenants.Config, tn *tenants.Tenant) int {
	names := preflight.TenantSchedules(tn.ID)
	slices.Reverse(names)
	for _, name := range names {
		if code := setState(ctx, e, api, name, types.ScheduleStateDisabled); code != 0 {
			return code
		}
	}
	var live []string
	for _, o := range all.Tenants {
		if o.ID == tn.ID {
			continue
		}
		for _, name := range preflight.TenantSchedules(o.ID) {
			s := preflight.GetSchedule(ctx, api, name)
			if s.Err != nil {
				fmt.Fprintf(e.stdout, "%s: left as it is (cannot tell whether %s is live: %v)\n", preflight.SweepSchedule, o.ID, s.Err)
				return warnDeploy(e, tn)
			}
			if s.State == string(types.ScheduleStateEnabled) {
				live = append(live, o.ID)
				break
			}
		}
	}
	if len(live) > 0 {
		fmt.Fprintf(e.stdout, "%s: left ENABLED (%s live)\n", preflight.SweepSchedule, strings.Join(live, ", "))
	} else if code := setState(ctx, e, api, preflight.SweepSchedule, types.ScheduleStateDisabled); code != 0 {
		return code
	}
	return warnDeploy(e, tn)
}

func warnDeploy(e env, tn *tenants.Tenant) int {
	fmt.Fprintf(e.stderr, "WARNING: if %s is in the deployment file's schedules.live, a later deploy enables them again: take it out there, commit, and deploy\n", tn.ID)
	return 0
}

func schedulesStatus(ctx context.Context, e env, api preflight.SchedulerAPI, tn *tenants.Tenant) int {
	code := 0
	for _, name := range append(preflight.TenantSchedules(tn.ID), preflight.SweepSchedule) {
		s := preflight.GetSchedule(ctx, api, name)
		switch {
		case s.Err != nil:
			fmt.Fprintf(e.stdout, "%-36s  ERROR     %v\n", name, s.Err)
			code = 1
		case s.Missing:
			fmt.Fprintf(e.stdout, "%-36s  MISSING   deploy the stack with %s in its tenants file\n", name, tn.ID)
			code = 1
		default:
			line := fmt.Sprintf("%-36s  %-8s  %s", name, s.State, s.Expression)
			if !s.Modified.IsZero() {
				line += "  (changed " + s.Modified.UTC().Format(time.RFC3339) + ")"
			}
			fmt.Fprintln(e.stdout, line)
		}
	}
	return code
}

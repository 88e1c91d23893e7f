package preflight

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/aws/smithy-go"
)

// The EventBridge Scheduler names the stack gives (infra/stack.go: ScheduleName,
// ScheduleGroup; infra/README.md "Names and outputs for other tools"). The
// infra module cannot be imported here (it would pull the CDK into the CLI):
// keep the two in step.
const (
	ScheduleGroup = "default"
	SweepSchedule = "casellario-intake-sweep" // one for every Comune
)

// ScheduleName is the name of a tenant's schedule of kind (dispatch,
// dispatch-resume, poll): "casellario-poll-c-g999" for c_g999.
func ScheduleName(kind, tenant string) string {
	return "casellario-" + kind + "-" + strings.ReplaceAll(tenant, "_", "-")
}

// TenantSchedules are a tenant's three schedules, in the order they are
// enabled: reading the mailbox first, sending last.
func TenantSchedules(tenant string) []string {
	return []string{ScheduleName("poll", tenant), ScheduleName("dispatch-resume", tenant), ScheduleName("dispatch", tenant)}
}

// SchedulerAPI is the part of the EventBridge Scheduler client used here.
type SchedulerAPI interface {
	GetSchedule(ctx context.Context, in *scheduler.GetScheduleInput, optFns ...func(*scheduler.Options)) (*scheduler.GetScheduleOutput, error)
	UpdateSchedule(ctx context.Context, in *scheduler.UpdateScheduleInput, optFns ...func(*scheduler.Options)) (*scheduler.UpdateScheduleOutput, error)
}

var _ SchedulerAPI = (*scheduler.Client)(nil)

// Schedule is what GetSchedule said of one schedule.
type Schedule struct {
	Name       string
	Missing    bool   // no such schedule
	State      string // ENABLED or DISABLED
	Expression string // cron(...) with its time zone
	Modified   time.Time
	Err        error // the call failed (other than not found)
}

// ErrNoSchedule is a schedule that does not exist.
var ErrNoSchedule = errors.New("no such schedule")

func notFound(err error) bool {
	var nf *types.ResourceNotFoundException
	var api smithy.APIError
	return errors.As(err, &nf) || (errors.As(err, &api) && api.ErrorCode() == "ResourceNotFoundException")
}

// GetSchedule reads one schedule of the stack's group.
func GetSchedule(ctx context.Context, api SchedulerAPI, name string) Schedule {
	out, err := api.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(name), GroupName: aws.String(ScheduleGroup)})
	switch {
	case notFound(err):
		return Schedule{Name: name, Missing: true}
	case err != nil:
		return Schedule{Name: name, Err: err}
	}
	s := Schedule{Name: name, State: string(out.State), Expression: aws.ToString(out.ScheduleExpression)}
	if tz := aws.ToString(out.ScheduleExpressionTimezone); tz != "" {
		s.Expression += " " + tz
	}
	if out.LastModificationDate != nil {
		s.Modified = *out.LastModificationDate
	}
	return s
}

// SetState sets a schedule's state, changing nothing else: UpdateSchedule
// replaces the whole schedule, so every field GetSchedule returned is given
// back. changed is false when it already was in that state.
func SetState(ctx context.Context, api SchedulerAPI, name string, state types.ScheduleState) (changed bool, err error) {
	cur, err := api.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(name), GroupName: aws.String(ScheduleGroup)})
	if notFound(err) {
		return false, fmt.Errorf("%s: %w", name, ErrNoSchedule)
	}
	if err != nil {
		return false, fmt.Errorf("%s: %w", name, err)
	}
	if cur.State == state {
		return false, nil
	}
	_, err = api.UpdateSchedule(ctx, &scheduler.UpdateScheduleInput{
		Name:                       cur.Name,
		GroupName:                  cur.GroupName,
		ScheduleExpression:         cur.ScheduleExpression,
		ScheduleExpressionTimezone: cur.ScheduleExpressionTimezone,
		FlexibleTimeWindow:         cur.FlexibleTimeWindow,
		Target:                     cur.Target,
		ActionAfterCompletion:      cur.ActionAfterCompletion,
		Description:                cur.Description,
		StartDate:                  cur.StartDate,
		EndDate:                    cur.EndDate,
		KmsKeyArn:                  cur.KmsKeyArn,
		State:                      state,
	})
	if err != nil {
		return false, fmt.Errorf("%s: %w", name, err)
	}
	return true, nil
}

// schedules: the tenant's three schedules and the intake sweep exist; their
// states are reported (before going live they are DISABLED, as deployed).
func (c *checker) schedules(ctx context.Context) Result {
	if c.cfg.Schedules == nil {
		return skip("schedules", "a local run: dispatch and poll run on `casellario dev`'s --dispatch-every and --poll-every (or now: casellario dispatch --now)")
	}
	names := append(TenantSchedules(c.cfg.Tenant.ID), SweepSchedule)
	var parts, missing []string
	enabled, sweepOn := 0, false
	for _, n := range names {
		s := GetSchedule(ctx, c.cfg.Schedules, n)
		switch {
		case s.Err != nil:
			var api smithy.APIError
			if errors.As(s.Err, &api) && api.ErrorCode() == "AccessDeniedException" {
				return fail("schedules", fmt.Sprintf("%s: %s", n, api.ErrorCode()), "run doctor with credentials allowed scheduler:GetSchedule (an administrator's)")
			}
			return fail("schedules", fmt.Sprintf("%s: %v", n, s.Err), "check the AWS credentials and Region (AWS_PROFILE, AWS_REGION), then run doctor again")
		case s.Missing:
			missing = append(missing, n)
		default:
			parts = append(parts, n+" "+s.State)
			switch {
			case s.State != string(types.ScheduleStateEnabled):
			case n == SweepSchedule:
				sweepOn = true
			default:
				enabled++
			}
		}
	}
	if len(missing) > 0 {
		return fail("schedules", "missing: "+strings.Join(missing, ", "),
			fmt.Sprintf("deploy the stack with %s in its tenants file (make deploy DEPLOYMENT=<name>): the deploy creates the schedules, disabled", c.cfg.Tenant.ID))
	}
	detail := strings.Join(parts, ", ")
	switch enabled {
	case 0:
		return ok("schedules", detail+" (not live yet: casellario schedules enable --tenant "+c.cfg.Tenant.ID+" once doctor passes)")
	case 3:
		if !sweepOn {
			return warn("schedules", detail+": the Comune is live but the intake sweep is not",
				"casellario schedules enable --tenant "+c.cfg.Tenant.ID+" (it enables the sweep too): without it, lists a crashed intake left half-way are never taken in")
		}
		return ok("schedules", detail+" (live)")
	}
	return warn("schedules", detail+": some enabled, some not",
		"casellario schedules enable --tenant "+c.cfg.Tenant.ID+" (or disable), so that poll and dispatch run together")
}

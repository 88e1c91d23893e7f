package preflight_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/casellario-pec/casellario/shared/preflight"
)

func TestScheduleNames(t *testing.T) {
	// The names infra/stack.go gives (its TestScheduleName checks the same ones).
	for _, tt := range []struct{ kind, tenant, want string }{
		{"dispatch", "c_g999", "casellario-dispatch-c-g999"},
		{"dispatch-resume", "c_g999", "casellario-dispatch-resume-c-g999"},
		{"poll", "c_l537", "casellario-poll-c-l537"},
	} {
		if got := preflight.ScheduleName(tt.kind, tt.tenant); got != tt.want {
			t.Errorf("ScheduleName(%s, %s) = %s", tt.kind, tt.tenant, got)
		}
	}
	if got := preflight.TenantSchedules("c_g999"); !reflect.DeepEqual(got, []string{"casellario-poll-c-g999", "casellario-dispatch-resume-c-g999", "casellario-dispatch-c-g999"}) {
		t.Errorf("TenantSchedules = %v", got)
	}
}

func TestSetState(t *testing.T) {
	const name = "casellario-poll-c-g999"
	tests := []struct {
		name    string
		from    schedtypes.ScheduleState
		to      schedtypes.ScheduleState
		fake    func(*fakeScheduler)
		changed bool
		err     string
	}{
		{"enable", schedtypes.ScheduleStateDisabled, schedtypes.ScheduleStateEnabled, nil, true, ""},
		{"disable", schedtypes.ScheduleStateEnabled, schedtypes.ScheduleStateDisabled, nil, true, ""},
		{"already enabled", schedtypes.ScheduleStateEnabled, schedtypes.ScheduleStateEnabled, nil, false, ""},
		{"missing", schedtypes.ScheduleStateDisabled, schedtypes.ScheduleStateEnabled, func(f *fakeScheduler) { delete(f.schedules, name) }, false, "no such schedule"},
		{"get fails", schedtypes.ScheduleStateDisabled, schedtypes.ScheduleStateEnabled, func(f *fakeScheduler) { f.errs[name] = apiErr("AccessDeniedException") }, false, "AccessDeniedException"},
		{"update fails", schedtypes.ScheduleStateDisabled, schedtypes.ScheduleStateEnabled, func(f *fakeScheduler) { f.updateErr = apiErr("ValidationException") }, false, "ValidationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := deployed(tt.from, "c_g999")
			if tt.fake != nil {
				tt.fake(f)
			}
			var before any
			if s, ok := f.schedules[name]; ok {
				cp := *s
				before = cp
			}
			changed, err := preflight.SetState(context.Background(), f, name, tt.to)
			if changed != tt.changed || (tt.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("changed %v, err %v; want %v, %q", changed, err, tt.changed, tt.err)
			}
			if errors.Is(err, preflight.ErrNoSchedule) != (tt.name == "missing") {
				t.Errorf("ErrNoSchedule: %v", err)
			}
			if !tt.changed {
				if len(f.updates) != 0 {
					t.Errorf("%d updates, want none", len(f.updates))
				}
				return
			}
			if len(f.updates) != 1 {
				t.Fatalf("%d updates", len(f.updates))
			}
			// UpdateSchedule replaces the whole schedule: every field but the
			// state is given back as GetSchedule returned it, none left out.
			in := reflect.ValueOf(*f.updates[0])
			got := reflect.ValueOf(before)
			for i := range in.NumField() {
				field := in.Type().Field(i)
				if !field.IsExported() || field.Name == "ClientToken" {
					continue
				}
				if field.Name == "State" {
					if in.Field(i).Interface() != tt.to {
						t.Errorf("State = %v, want %v", in.Field(i).Interface(), tt.to)
					}
					continue
				}
				src := got.FieldByName(field.Name)
				if !src.IsValid() {
					t.Errorf("UpdateScheduleInput.%s has no counterpart in GetScheduleOutput", field.Name)
					continue
				}
				if in.Field(i).IsZero() || !reflect.DeepEqual(in.Field(i).Interface(), src.Interface()) {
					t.Errorf("%s = %v, want %v as read", field.Name, in.Field(i).Interface(), src.Interface())
				}
			}
		})
	}
}

func TestGetSchedule(t *testing.T) {
	f := deployed(schedtypes.ScheduleStateDisabled, "c_g999")
	f.errs["casellario-dispatch-c-g999"] = errors.New("connection reset")
	for _, tt := range []struct {
		name, want string
		missing    bool
		err        bool
	}{
		{"casellario-poll-c-g999", "DISABLED cron(0/2 * * * ? *) Europe/Rome", false, false},
		{"casellario-poll-c-l537", "", true, false},
		{"casellario-dispatch-c-g999", "", false, true},
	} {
		s := preflight.GetSchedule(context.Background(), f, tt.name)
		if s.Name != tt.name || s.Missing != tt.missing || (s.Err != nil) != tt.err || (tt.want != "" && s.State+" "+s.Expression != tt.want) {
			t.Errorf("%s: %+v", tt.name, s)
		}
		if tt.want != "" && s.Modified.IsZero() {
			t.Errorf("%s: no modification date", tt.name)
		}
	}
}

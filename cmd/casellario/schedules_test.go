package main

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/casellario-pec/casellario/shared/config"
	"github.com/casellario-pec/casellario/shared/localdev/sim"
	"github.com/casellario-pec/casellario/shared/pecmail"
	"github.com/casellario-pec/casellario/shared/preflight"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// smFake is Secrets Manager: secrets by name.
type smFake map[string]string

func (f smFake) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	v, ok := f[aws.ToString(in.SecretId)]
	if !ok {
		return nil, &smithy.GenericAPIError{Code: "ResourceNotFoundException", Message: "no such secret"}
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(v)}, nil
}

// schedFake is EventBridge Scheduler: schedules by name, errors by name, and
// the log of the updates.
type schedFake struct {
	states    map[string]schedtypes.ScheduleState
	getErr    map[string]error
	updateErr error
	updates   []string // "name STATE"
}

func (f *schedFake) GetSchedule(_ context.Context, in *scheduler.GetScheduleInput, _ ...func(*scheduler.Options)) (*scheduler.GetScheduleOutput, error) {
	n := aws.ToString(in.Name)
	if err := f.getErr[n]; err != nil {
		return nil, err
	}
	st, ok := f.states[n]
	if !ok {
		return nil, &schedtypes.ResourceNotFoundException{Message: aws.String("Schedule " + n + " does not exist.")}
	}
	return &scheduler.GetScheduleOutput{Name: aws.String(n), GroupName: in.GroupName, State: st,
		ScheduleExpression: aws.String("cron(0/2 * * * ? *)"), ScheduleExpressionTimezone: aws.String("Europe/Rome"),
		FlexibleTimeWindow: &schedtypes.FlexibleTimeWindow{Mode: schedtypes.FlexibleTimeWindowModeOff},
		Target:             &schedtypes.Target{Arn: aws.String("arn:aws:lambda:eu-south-1:123456789012:function:casellario-poll"), RoleArn: aws.String("arn:aws:iam::123456789012:role/r")}}, nil
}

func (f *schedFake) UpdateSchedule(_ context.Context, in *scheduler.UpdateScheduleInput, _ ...func(*scheduler.Options)) (*scheduler.UpdateScheduleOutput, error) {
	if f.updateErr != nil {
		return nil, f.updateErr
	}
	if in.Target == nil || in.ScheduleExpression == nil || in.FlexibleTimeWindow == nil {
		return nil, errors.New("ValidationException: the schedule was not given back whole")
	}
	f.states[aws.ToString(in.Name)] = in.State
	f.updates = append(f.updates, aws.ToString(in.Name)+" "+string(in.State))
	return &scheduler.UpdateScheduleOutput{}, nil
}

// deployedSchedules are a deploy's schedules of ids, in state.
func deployedSchedules(state schedtypes.ScheduleState, ids ...string) *schedFake {
	f := &schedFake{states: map[string]schedtypes.ScheduleState{preflight.SweepSchedule: state}, getErr: map[string]error{}}
	for _, id := range ids {
		for _, n := range preflight.TenantSchedules(id) {
			f.states[n] = state
		}
	}
	return f
}

// awsWorld makes the CLI take AWS for its target: no local run, the
// functions' variables pointing at a PEC simulator, and fake AWS clients.
type awsWorld struct {
	w   *sim.World
	sm  smFake
	sch *schedFake
}

func setupAWS(t *testing.T) *awsWorld {
	t.Helper()
	cfg := sim.Default()
	cfg.Dir = t.TempDir()
	cfg.Procura.Disabled = true
	w, err := sim.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	a := &awsWorld{w: w, sm: smFake{}}
	tc := tenants.Demo()
	for i := range tc.Tenants {
		tn := &tc.Tenants[i]
		tn.PEC.IMAP, tn.PEC.SMTP = w.IMAPAddr, w.SMTPAddr
		tn.PEC.Auth = tenants.Secret{Secret: "casellario/pec/" + tn.ID}
		a.sm[tn.PEC.Auth.Secret] = `{"password":"` + w.Password(tn.PEC.Address) + `"}`
	}
	local := tc.Tenants[0]
	local.PEC.Auth = tenants.Secret{Password: w.Password(local.PEC.Address)}
	sendOne(t, local, w.CAFile)
	b, _ := json.Marshal(tc)
	dir := t.TempDir()
	tf := filepath.Join(dir, "tenants.json")
	if err := os.WriteFile(tf, b, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CASELLARIO_ENDPOINTS", "")
	t.Setenv("CASELLARIO_DATA", dir) // no endpoints.json there: AWS
	t.Setenv("CASELLARIO_TENANTS", tf)
	t.Setenv("CASELLARIO_PEC_TRUST", w.CAFile)
	t.Setenv("CASELLARIO_TLS_ROOTS", w.CAFile)
	for _, v := range []string{"HOST", "PORT", "TLS", "USER", "FROM", "SECRET"} {
		t.Setenv("CASELLARIO_SMTP_"+v, "")
	}
	a.sch = deployedSchedules(schedtypes.ScheduleStateDisabled, "c_g999", "c_l537")
	oldLoad, oldSM, oldSched := loadAWSConfig, newSecretsAPI, newScheduler
	t.Cleanup(func() { loadAWSConfig, newSecretsAPI, newScheduler = oldLoad, oldSM, oldSched })
	loadAWSConfig = func(context.Context, config.AWS) (aws.Config, error) { return aws.Config{Region: "eu-south-1"}, nil }
	newSecretsAPI = func(aws.Config) pecmail.SecretsAPI { return a.sm }
	newScheduler = func(aws.Config) preflight.SchedulerAPI { return a.sch }
	return a
}

func TestSchedulesAndDoctorInAWS(t *testing.T) {
	a := setupAWS(t)
	poll, resume, dispatch, sweep := "casellario-poll-c-g999", "casellario-dispatch-resume-c-g999", "casellario-dispatch-c-g999", preflight.SweepSchedule
	enabled := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, n+" ENABLED")
		}
		return out
	}
	disabled := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, n+" DISABLED")
		}
		return out
	}
	tests := []struct {
		name    string
		setup   func()
		args    []string
		code    int
		out     []string
		errs    string
		updates []string
	}{
		{"doctor passes", nil, []string{"doctor", "--tenant", "c_g999"}, 0,
			[]string{"casellario doctor: c_g999 (Comune di Prato), AWS (Region eu-south-1)", "OK    pec-secret         secret casellario/pec/c_g999",
				"OK    schedules          casellario-poll-c-g999 DISABLED", "SKIP  notices-smtp", "to go live, add c_g999 to the deployment file's schedules.live"}, "", nil},
		{"doctor with a placeholder secret", func() { a.sm["casellario/pec/c_g999"] = `{"placeholder":true,"password":"Gen123"}` },
			[]string{"doctor", "--tenant", "c_g999"}, 1, []string{"FAIL  pec-secret", "put-secret-value --secret-id casellario/pec/c_g999", "SKIP  imap-login"}, "", nil},
		{"doctor checks the notices' relay", func() {
			host, port, _ := net.SplitHostPort(a.w.SMTPAddr)
			t.Setenv("CASELLARIO_SMTP_HOST", host)
			t.Setenv("CASELLARIO_SMTP_PORT", port)
			t.Setenv("CASELLARIO_SMTP_TLS", "implicit")
			t.Setenv("CASELLARIO_SMTP_USER", sim.ComuneVaiano)
			t.Setenv("CASELLARIO_SMTP_SECRET", "casellario/pec/c_l537")
		}, []string{"doctor", "--tenant", "c_g999"}, 1, []string{"FAIL  notices-smtp", "certificate"}, "", nil},
		{"a port that is not one", func() { t.Setenv("CASELLARIO_SMTP_HOST", "smtp.example.test"); t.Setenv("CASELLARIO_SMTP_PORT", "x") },
			[]string{"doctor", "--tenant", "c_g999"}, 2, nil, "CASELLARIO_SMTP_PORT", nil},
		{"a TLS mode that is not one", func() { t.Setenv("CASELLARIO_SMTP_HOST", "smtp.example.test"); t.Setenv("CASELLARIO_SMTP_TLS", "ssl") },
			[]string{"doctor", "--tenant", "c_g999"}, 2, nil, "CASELLARIO_SMTP_TLS", nil},
		{"no tenants file", func() { t.Setenv("CASELLARIO_TENANTS", "") }, []string{"doctor", "--tenant", "c_g999"}, 2, nil, "AWS is not configured: CASELLARIO_TENANTS", nil},
		{"TLS roots that are missing", func() { t.Setenv("CASELLARIO_TLS_ROOTS", "/nonexistent.pem") }, []string{"schedules", "status", "--tenant", "c_g999"}, 2, nil, "CASELLARIO_TLS_ROOTS", nil},
		{"no AWS configuration", func() {
			loadAWSConfig = func(context.Context, config.AWS) (aws.Config, error) {
				return aws.Config{}, errors.New("no credentials")
			}
		}, []string{"schedules", "status", "--tenant", "c_g999"}, 2, nil, "no credentials", nil},

		{"status", nil, []string{"schedules", "status", "--tenant", "c_g999"}, 0,
			[]string{"casellario-poll-c-g999                DISABLED  cron(0/2 * * * ? *) Europe/Rome", sweep}, "", nil},
		{"status of schedules not deployed", func() { a.sch = deployedSchedules(schedtypes.ScheduleStateDisabled, "c_l537") },
			[]string{"schedules", "status", "--tenant", "c_g999"}, 1, []string{"MISSING   deploy the stack with c_g999"}, "", nil},
		{"status when the Scheduler fails", func() { a.sch.getErr[poll] = errors.New("connection reset") },
			[]string{"schedules", "status", "--tenant", "c_g999"}, 1, []string{"ERROR     connection reset"}, "", nil},

		{"enable after doctor passes", nil, []string{"schedules", "enable", "--tenant", "c_g999"}, 0,
			[]string{"OK    trust-provider", poll + ": ENABLED", sweep + ": ENABLED"}, "schedules.live", enabled(poll, resume, dispatch, sweep)},
		{"enable refused when doctor fails", func() { a.sm["casellario/pec/c_g999"] = `{"placeholder":true,"password":"Gen123"}` },
			[]string{"schedules", "enable", "--tenant", "c_g999"}, 1, []string{"FAIL  pec-secret"}, "doctor failed (pec-secret): the schedules of c_g999 stay as they are", nil},
		{"enable forced although doctor fails", func() { a.sm["casellario/pec/c_g999"] = `{"placeholder":true,"password":"Gen123"}` },
			[]string{"schedules", "enable", "--force", "--tenant", "c_g999"}, 0, []string{"FAIL  pec-secret", dispatch + ": ENABLED"},
			"WARNING: enabling the schedules of c_g999 although doctor failed (pec-secret)", enabled(poll, resume, dispatch, sweep)},
		{"enable when already live", func() { a.sch = deployedSchedules(schedtypes.ScheduleStateEnabled, "c_g999", "c_l537") },
			[]string{"schedules", "enable", "--tenant", "c_g999"}, 0, []string{poll + ": already ENABLED"}, "schedules.live", nil},
		{"enable when an update fails", func() { a.sch.updateErr = &smithy.GenericAPIError{Code: "ValidationException", Message: "bad"} },
			[]string{"schedules", "enable", "--tenant", "c_g999"}, 1, nil, "ValidationException", nil},
		{"enable refused when the schedules are missing", func() { a.sch = deployedSchedules(schedtypes.ScheduleStateDisabled, "c_l537") },
			[]string{"schedules", "enable", "--tenant", "c_g999"}, 1, []string{"FAIL  schedules"}, "doctor failed (schedules)", nil},
		{"enable forced when the schedules are missing", func() { a.sch = deployedSchedules(schedtypes.ScheduleStateDisabled, "c_l537") },
			[]string{"schedules", "enable", "--force", "--tenant", "c_g999"}, 1, nil, "no such schedule", nil},

		{"disable the only live Comune", func() {
			a.sch = deployedSchedules(schedtypes.ScheduleStateEnabled, "c_g999")
			a.sch.states["casellario-poll-c-l537"] = "DISABLED"
		},
			[]string{"schedules", "disable", "--tenant", "c_g999"}, 0, []string{dispatch + ": DISABLED", sweep + ": DISABLED"}, "take it out", disabled(dispatch, resume, poll, sweep)},
		{"disable while another Comune is live", func() { a.sch = deployedSchedules(schedtypes.ScheduleStateEnabled, "c_g999", "c_l537") },
			[]string{"schedules", "disable", "--tenant", "c_g999"}, 0, []string{sweep + ": left ENABLED (c_l537 live)"}, "schedules.live", disabled(dispatch, resume, poll)},
		{"disable when another Comune cannot be read", func() {
			a.sch = deployedSchedules(schedtypes.ScheduleStateEnabled, "c_g999", "c_l537")
			a.sch.getErr["casellario-poll-c-l537"] = errors.New("throttled")
		}, []string{"schedules", "disable", "--tenant", "c_g999"}, 0, []string{sweep + ": left as it is (cannot tell whether c_l537 is live: throttled)"}, "", disabled(dispatch, resume, poll)},
		{"disable when an update fails", func() {
			a.sch = deployedSchedules(schedtypes.ScheduleStateEnabled, "c_g999")
			a.sch.updateErr = errors.New("denied")
		},
			[]string{"schedules", "disable", "--tenant", "c_g999"}, 1, nil, "denied", nil},
		{"disable when the sweep cannot be updated", func() {
			a.sch = deployedSchedules(schedtypes.ScheduleStateDisabled, "c_g999", "c_l537")
			a.sch.states[sweep] = "ENABLED"
			a.sch.getErr[sweep] = errors.New("sweep unreadable")
		}, []string{"schedules", "disable", "--tenant", "c_g999"}, 1, []string{dispatch + ": already DISABLED"}, "sweep unreadable", nil},

		{"--aws beside a local run", func() {
			dir := t.TempDir()
			t.Setenv("CASELLARIO_DATA", dir)
			if err := os.WriteFile(filepath.Join(dir, "endpoints.json"), []byte(`{"dynamodb":"http://127.0.0.1:1","s3":"http://127.0.0.1:2","table":"casellario"}`), 0o600); err != nil {
				t.Fatal(err)
			}
		}, []string{"doctor", "--aws", "--tenant", "c_g999"}, 0, []string{"AWS (Region eu-south-1)"}, "", nil},
		{"a local run found without --aws", func() {
			dir := t.TempDir()
			t.Setenv("CASELLARIO_DATA", dir)
			if err := os.WriteFile(filepath.Join(dir, "endpoints.json"), []byte(`{"dynamodb":"http://127.0.0.1:1","s3":"http://127.0.0.1:2","table":"casellario","ca":"/nonexistent/ca.pem"}`), 0o600); err != nil {
				t.Fatal(err)
			}
		}, []string{"schedules", "status", "--tenant", "c_g999"}, 2, nil, "TLS roots", nil},
		{"a broken endpoints file", func() {
			dir := t.TempDir()
			t.Setenv("CASELLARIO_DATA", dir)
			if err := os.WriteFile(filepath.Join(dir, "endpoints.json"), []byte(`{`), 0o600); err != nil {
				t.Fatal(err)
			}
		}, []string{"schedules", "status", "--tenant", "c_g999"}, 2, nil, "local run", nil},
		{"no verb", nil, []string{"schedules"}, 2, nil, "usage: casellario schedules enable|disable|status", nil},
		{"an unknown verb", nil, []string{"schedules", "start", "--tenant", "c_g999"}, 2, nil, "usage", nil},
		{"no tenant", nil, []string{"schedules", "status"}, 2, nil, "usage", nil},
		{"--force without enable", nil, []string{"schedules", "disable", "--force", "--tenant", "c_g999"}, 2, nil, "usage", nil},
		{"an unknown flag", nil, []string{"schedules", "status", "--tenat", "c_g999"}, 2, nil, "flag provided but not defined", nil},
		{"an unknown tenant", nil, []string{"schedules", "status", "--tenant", "c_x000"}, 2, nil, `tenant "c_x000" is not in the tenants file`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Each case starts from the deployed state with good secrets.
			a.sch = deployedSchedules(schedtypes.ScheduleStateDisabled, "c_g999", "c_l537")
			a.sm["casellario/pec/c_g999"] = `{"password":"` + a.w.Password(sim.ComunePrato) + `"}`
			saved := loadAWSConfig
			defer func() { loadAWSConfig = saved }()
			for _, v := range []string{"CASELLARIO_SMTP_HOST", "CASELLARIO_SMTP_PORT", "CASELLARIO_SMTP_TLS", "CASELLARIO_SMTP_USER", "CASELLARIO_SMTP_SECRET", "CASELLARIO_TENANTS", "CASELLARIO_TLS_ROOTS", "CASELLARIO_DATA"} {
				t.Setenv(v, os.Getenv(v)) // restored after the case
			}
			if tt.setup != nil {
				tt.setup()
			}
			code, out, errs := runCLI(t, tt.args...)
			if code != tt.code || !strings.Contains(errs, tt.errs) {
				t.Fatalf("exit %d, stderr %q; want %d and %q\n%s", code, errs, tt.code, tt.errs, out)
			}
			for _, w := range tt.out {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if !reflect.DeepEqual(a.sch.updates, tt.updates) {
				t.Errorf("updates %q, want %q", a.sch.updates, tt.updates)
			}
			if strings.Contains(out+errs, a.w.Password(sim.ComunePrato)) || strings.Contains(out+errs, "Gen123") {
				t.Error("a password in the output")
			}
		})
	}
}

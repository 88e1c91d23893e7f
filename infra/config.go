package main

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/casellario-pec/casellario/shared/tenants"
)

// FunctionSpec is one Lambda of the system: its sizing (justified in
// Functions) and what triggers it.
type FunctionSpec struct {
	Name        string
	MemoryMB    float64
	TimeoutSecs float64
	Why         string // the sizing's justification, also put in the function's description
}

// Functions are the five Lambdas, in the order the stack declares them.
//
// Sizing (arm64; Lambda gives CPU in proportion to memory, a full vCPU at 1,769 MB):
//   - intake 1024 MB / 10 min: an upload may be a 100,000-row XLSX (up to 64 MB read into memory,
//     shared/docs.MaxObjectSize); validation runs ~300k rows/s on one core, but storing 100,000 subjects is
//     4,000 BatchWriteItem calls: minutes, not seconds, for the largest lists. Memory buys CPU for XLSX
//     decoding; 10 minutes leaves room for retries of throttled writes.
//   - dispatch 512 MB / 10 min: measured ~2.3 s per 1,000 people (PDF letter, subjects file, segnatura,
//     SMTP); a backlog of 50,000 people after an outage is ~2 minutes; the rest of the timeout covers the
//     IMAP receipt lookup of a send of unknown outcome and slow PEC providers.
//   - poll 512 MB / 5 min: a PEC message is up to ~30 MB and is parsed in memory with its certificates;
//     CASELLARIO_POLL_DEADLINE is set to 4m so that a run stops taking messages a minute before the timeout.
//     Reserved concurrency 1: one poller per account keeps the IMAP lease uncontended.
//   - api 256 MB / 29 s: short DynamoDB reads and presigned URLs; 29 s is under the HTTP API's 30 s limit.
//   - notify 256 MB / 60 s: a few SMTP submissions per message; the notices queue's visibility timeout is
//     six times this, as AWS recommends for SQS event sources.
var Functions = []FunctionSpec{
	{Name: "intake", MemoryMB: 1024, TimeoutSecs: 600, Why: "validates uploaded name lists (S3 ObjectCreated)"},
	{Name: "dispatch", MemoryMB: 512, TimeoutSecs: 600, Why: "batches, registers and sends requests by PEC (schedule)"},
	{Name: "poll", MemoryMB: 512, TimeoutSecs: 300, Why: "reads the PEC inboxes: receipts, replies, certificates (schedule)"},
	{Name: "api", MemoryMB: 256, TimeoutSecs: 29, Why: "offices' HTTP API and web page (API Gateway, JWT)"},
	{Name: "notify", MemoryMB: 256, TimeoutSecs: 60, Why: "e-mails offices the notices of the notices queue (SQS)"},
}

// Defaults of the configurable parts.
const (
	// DefaultDispatchCron: the cut-off, 13:00 Europe/Rome on weekdays (the Procura's evening batch
	// then sees the requests the same day).
	DefaultDispatchCron = "cron(0 13 ? * MON-FRI *)"
	// DefaultPollCron: every 2 minutes (a cron so that it carries the Europe/Rome time zone like the others).
	DefaultPollCron = "cron(0/2 * * * ? *)"
	// DefaultRetentionDays matches shared/store's default retention (12 months after a terminal state).
	DefaultRetentionDays = 365
	// DefaultUploadRetentionDays: uploaded lists carry personal data and are needed only until their people
	// are sent (dispatch reads the upload's metadata for a manual protocol number).
	DefaultUploadRetentionDays = 90
	// LayerDir is where the configuration layer's files are in the execution environment.
	LayerDir = "/opt/casellario"
)

// Config is everything the stack is built from: the tenants file (read at synth time), the assets and the
// context parameters.
type Config struct {
	Tenants     *tenants.Config
	TenantsFile string // shipped as LayerDir/tenants.json
	PECTrust    string // PEM of the PEC providers' certificates, shipped as LayerDir/pec-trust.pem
	ConfigDir   string // staging folder of the configuration layer (written by Stage)

	// Zips maps a function name to its build/<name>.zip; a function without one is left out (see Missing).
	Zips map[string]string

	DispatchCron         string
	DispatchCronByTenant map[string]string
	PollCron             string
	SchedulesEnabled     bool

	RetentionDays       int
	UploadRetentionDays int

	// JWTIssuer and JWTAudience select an external issuer; empty: a Cognito user pool is created.
	JWTIssuer   string
	JWTAudience []string

	// LoginURL is the sign-in page the web page links to (CASELLARIO_LOGIN_URL of the api function).
	LoginURL string
	// The notify function's SMTP relay (its password is the secret SMTPSecretName).
	SMTPHost, SMTPFrom, SMTPUser, SMTPTLS string
	SMTPPort                              int

	AlarmEmail    string
	ImportSecrets bool // the tenants' secrets exist already: reference them by name instead of creating them
	// Local (LocalStack): no HTTP API and no Cognito (not in LocalStack's free edition), everything
	// destroyable.
	Local bool
}

// Missing lists the functions without a zip, in Functions order.
func (c *Config) Missing() []string {
	var out []string
	for _, f := range Functions {
		if _, ok := c.Zips[f.Name]; !ok {
			out = append(out, f.Name)
		}
	}
	return out
}

var cronRE = regexp.MustCompile(`^cron\(\S+ \S+ \S+ \S+ \S+ \S+\)$`)

// Validate checks the configuration. Inline passwords are refused: in AWS every credential is a Secrets
// Manager secret (shared/pecmail refuses inline passwords there too).
func (c *Config) Validate() error {
	var errs []string
	if c.Tenants == nil || len(c.Tenants.Tenants) == 0 {
		errs = append(errs, "no tenants")
	} else {
		for _, t := range c.Tenants.Tenants {
			if t.PEC.Auth.Password != "" {
				errs = append(errs, fmt.Sprintf("tenant %s: pec.auth has an inline password; name a Secrets Manager secret (pec.auth.secret)", t.ID))
			}
			if t.Protocol.Kind == tenants.ProtocolHTTP && t.Protocol.Auth.Password != "" {
				errs = append(errs, fmt.Sprintf("tenant %s: protocol.auth has an inline password; name a Secrets Manager secret", t.ID))
			}
		}
	}
	for _, e := range append([]string{c.DispatchCron, c.PollCron}, sortedValues(c.DispatchCronByTenant)...) {
		if !cronRE.MatchString(e) {
			errs = append(errs, fmt.Sprintf("%q is not a six-field cron(...) expression of EventBridge Scheduler", e))
		}
	}
	for id := range c.DispatchCronByTenant {
		if c.Tenants != nil {
			if _, err := c.Tenants.Tenant(id); err != nil {
				errs = append(errs, fmt.Sprintf("dispatchCron.%s: no such tenant", id))
			}
		}
	}
	if _, ok := c.Zips["notify"]; ok && (c.SMTPHost == "" || c.SMTPFrom == "" || c.SMTPPort < 1) {
		errs = append(errs, "smtpHost, smtpFrom and smtpPort are required for the notify function")
	}
	if c.RetentionDays < 1 || c.UploadRetentionDays < 1 {
		errs = append(errs, "retention days must be positive")
	}
	if _, ok := c.Zips["poll"]; ok {
		if err := checkPEM(c.PECTrust); err != nil {
			errs = append(errs, "pecTrust: "+err.Error())
		}
	}
	if (c.JWTIssuer == "") != (len(c.JWTAudience) == 0) {
		errs = append(errs, "jwtIssuer and jwtAudience go together")
	}
	if len(errs) > 0 {
		return fmt.Errorf("infra configuration:\n  %s", strings.Join(errs, "\n  "))
	}
	return nil
}

func sortedValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// checkPEM checks that path holds at least one certificate.
func checkPEM(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	n := 0
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type == "CERTIFICATE" {
			if _, err := x509.ParseCertificate(blk.Bytes); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			n++
		}
	}
	if n == 0 {
		return fmt.Errorf("%s holds no certificate", path)
	}
	return nil
}

// Stage writes the configuration layer's files into ConfigDir/casellario: tenants.json (the file as
// given, validated) and pec-trust.pem. The layer is mounted at /opt, so the functions read LayerDir/...
func (c *Config) Stage() error {
	dir := filepath.Join(c.ConfigDir, "casellario")
	if err := os.RemoveAll(c.ConfigDir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	copyFile := func(src, name string) error {
		b, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, name), b, 0o644)
	}
	if err := copyFile(c.TenantsFile, "tenants.json"); err != nil {
		return err
	}
	if c.PECTrust != "" {
		return copyFile(c.PECTrust, "pec-trust.pem")
	}
	return nil
}

// ContextGetter reads a context value (app.Node().TryGetContext).
type ContextGetter func(key string) any

// ConfigFromContext builds the Config from the CDK context (cdk.json, -c key=value) and the zips found in
// buildDir. Keys: tenants, pecTrust, configDir, dispatchCron, dispatchCron.<tenant>, pollCron, schedules
// (enabled|disabled), retentionDays, uploadRetentionDays, jwtIssuer, jwtAudience (comma-separated),
// alarmEmail, loginUrl, smtpHost, smtpPort, smtpFrom, smtpUser, smtpTls, importSecrets (true|false),
// local (true|false).
func ConfigFromContext(get ContextGetter, buildDir string) (*Config, error) {
	str := func(k, def string) string {
		if v, ok := get(k).(string); ok && v != "" {
			return v
		}
		return def
	}
	num := func(k string, def int) (int, error) {
		switch v := get(k).(type) {
		case nil:
			return def, nil
		case float64:
			return int(v), nil
		case string:
			return strconv.Atoi(v)
		}
		return 0, fmt.Errorf("context %s: want a number", k)
	}
	boolean := func(k string, def bool) bool {
		switch v := get(k).(type) {
		case bool:
			return v
		case string:
			if b, err := strconv.ParseBool(v); err == nil {
				return b
			}
		}
		return def
	}
	c := &Config{
		TenantsFile:          str("tenants", "examples/tenants.json"),
		PECTrust:             str("pecTrust", "examples/pec-trust.pem"),
		ConfigDir:            str("configDir", filepath.Join(buildDir, "config-layer")),
		DispatchCron:         str("dispatchCron", DefaultDispatchCron),
		PollCron:             str("pollCron", DefaultPollCron),
		SchedulesEnabled:     str("schedules", "enabled") != "disabled",
		JWTIssuer:            str("jwtIssuer", ""),
		AlarmEmail:           str("alarmEmail", ""),
		LoginURL:             str("loginUrl", ""),
		SMTPHost:             str("smtpHost", ""),
		SMTPFrom:             str("smtpFrom", ""),
		SMTPUser:             str("smtpUser", ""),
		SMTPTLS:              str("smtpTls", "starttls"),
		ImportSecrets:        boolean("importSecrets", false),
		Local:                boolean("local", false),
		DispatchCronByTenant: map[string]string{},
		Zips:                 map[string]string{},
	}
	if a := str("jwtAudience", ""); a != "" {
		c.JWTAudience = strings.Split(a, ",")
	}
	var err error
	if c.RetentionDays, err = num("retentionDays", DefaultRetentionDays); err != nil {
		return nil, err
	}
	if c.UploadRetentionDays, err = num("uploadRetentionDays", DefaultUploadRetentionDays); err != nil {
		return nil, err
	}
	if c.SMTPPort, err = num("smtpPort", 587); err != nil {
		return nil, err
	}
	if c.Tenants, err = tenants.Load(c.TenantsFile); err != nil {
		return nil, err
	}
	for _, t := range c.Tenants.Tenants {
		if v := str("dispatchCron."+t.ID, ""); v != "" {
			c.DispatchCronByTenant[t.ID] = v
		}
	}
	for _, f := range Functions {
		p := filepath.Join(buildDir, f.Name+".zip")
		if _, err := os.Stat(p); err == nil {
			c.Zips[f.Name] = p
		}
	}
	return c, nil
}

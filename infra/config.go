package main

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/casellario-pec/casellario/infra/internal/deploy"
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
//     shared/s3docs.MaxObjectSize); validation runs ~300k rows/s on one core, but storing 100,000 subjects is
//     4,000 BatchWriteItem calls: minutes, not seconds, for the largest lists. Memory buys CPU for XLSX
//     decoding; 10 minutes leaves room for retries of throttled writes.
//   - dispatch 512 MB / 10 min: measured ~2.3 s per 1,000 people (PDF letter, subjects file, segnatura,
//     SMTP); a backlog of 50,000 people after an outage is ~2 minutes; the rest of the timeout covers the
//     IMAP receipt lookup of a send of unknown outcome and slow PEC providers.
//   - poll 512 MB / 5 min: a PEC message is up to ~30 MB and is parsed in memory with its certificates;
//     CASELLARIO_POLL_DEADLINE (4m by default) stops a run taking messages a minute before the timeout.
//     No reserved concurrency by default: a new account cannot reserve any (quota 10, Lambda keeps 10
//     unreserved), and the poll lease in DynamoDB already keeps one run per mailbox.
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

// LayerDir is where the configuration layer's files are in the execution environment.
const LayerDir = deploy.LayerDir

// Config is everything the stack is built from: the deployment file, the tenants file it names (read at
// synth time), the function zips and the staging folder of the configuration layer.
type Config struct {
	Deployment *deploy.Deployment
	Tenants    *tenants.Config
	ConfigDir  string // staging folder of the configuration layer (written by Stage)

	// Zips maps a function name to its build/<name>.zip; a function without one is left out (see Missing).
	Zips map[string]string

	// FirstCreate: the stack does not exist yet (make deploy finds out). The table and the user pool are
	// then created without deletion protection, so that a failed first create rolls back whole and can
	// be retried; every later deploy turns the protection on.
	FirstCreate bool
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

// Validate checks what the deployment file's own check cannot: the tenants file and the certificate
// files. Inline passwords are refused: in AWS every credential is a Secrets Manager secret.
func (c *Config) Validate() error {
	d := c.Deployment
	if d == nil {
		return fmt.Errorf("infra configuration: no deployment file")
	}
	var errs []string
	if c.Tenants == nil || len(c.Tenants.Tenants) == 0 {
		errs = append(errs, "tenantsFile: no tenants")
	} else {
		var ids []string
		names := map[string]string{}
		for _, t := range c.Tenants.Tenants {
			ids = append(ids, t.ID)
			if t.PEC.Auth.Password != "" {
				errs = append(errs, fmt.Sprintf("tenant %s: pec.auth has an inline password; name a Secrets Manager secret (pec.auth.secret)", t.ID))
			}
			if t.PEC.Auth.Secret == "" && t.PEC.Auth.Password == "" {
				errs = append(errs, fmt.Sprintf("tenant %s: pec.auth.secret is required (the mailbox password's Secrets Manager name)", t.ID))
			}
			if t.Protocol.Kind == tenants.ProtocolHTTP && t.Protocol.Auth.Password != "" {
				errs = append(errs, fmt.Sprintf("tenant %s: protocol.auth has an inline password; name a Secrets Manager secret", t.ID))
			}
			// Two ids that differ only by "_" and "-" would share their schedules' names.
			n := ScheduleName("poll", t.ID)
			if other, dup := names[n]; dup {
				errs = append(errs, fmt.Sprintf("tenants %s and %s would share the schedule name %s", other, t.ID, n))
			}
			names[n] = t.ID
		}
		if err := d.CheckTenants(ids); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if _, ok := c.Zips["poll"]; ok || !d.Local {
		if err := checkPEM(d.File(d.PECTrustFile)); err != nil {
			errs = append(errs, "pecTrustFile: "+err.Error())
		}
	}
	if d.TLSRootsFile != "" {
		if err := checkPEM(d.File(d.TLSRootsFile)); err != nil {
			errs = append(errs, "tlsRootsFile: "+err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("infra configuration (%s):\n  %s", d.Path, strings.Join(errs, "\n  "))
	}
	return nil
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
// given, validated), pec-trust.pem and, when set, tls-roots.pem. The layer is mounted at /opt, so the
// functions read LayerDir/...
func (c *Config) Stage() error {
	d := c.Deployment
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
	files := [][2]string{{d.TenantsFile, deploy.TenantsLayerFile}, {d.PECTrustFile, deploy.PECTrustLayerFile}, {d.TLSRootsFile, deploy.TLSRootsLayerFile}}
	for _, f := range files {
		if f[0] == "" {
			continue
		}
		if err := copyFile(d.File(f[0]), f[1]); err != nil {
			return err
		}
	}
	return nil
}

// ContextGetter reads a context value (app.Node().TryGetContext).
type ContextGetter func(key string) any

// DeploymentPath maps the deployment context value to its file: a bare name is
// deployments/<name>.json beside this file.
func DeploymentPath(v string) string {
	if strings.ContainsRune(v, os.PathSeparator) || strings.HasSuffix(v, ".json") {
		return v
	}
	return filepath.Join("deployments", v+".json")
}

// ConfigFromContext builds the Config from the CDK context and the zips found in buildDir. The only
// context keys are deployment (a name under deployments/ or a path; make deploy DEPLOYMENT=NAME),
// firstCreate (set by make deploy when the stack does not exist yet), buildDir, configDir and
// requireAllFunctions: every setting of a deployment is in its file.
func ConfigFromContext(get ContextGetter, buildDir string) (*Config, error) {
	str := func(k, def string) string {
		if v, ok := get(k).(string); ok && v != "" {
			return v
		}
		return def
	}
	name := str("deployment", "")
	if name == "" {
		return nil, fmt.Errorf("no deployment: pass -c deployment=NAME (make synth|deploy DEPLOYMENT=NAME) for deployments/NAME.json")
	}
	d, err := deploy.Load(DeploymentPath(name))
	if err != nil {
		return nil, err
	}
	c := &Config{
		Deployment:  d,
		ConfigDir:   str("configDir", filepath.Join(buildDir, "config-layer")),
		FirstCreate: str("firstCreate", "false") == "true",
		Zips:        map[string]string{},
	}
	if c.Tenants, err = tenants.Load(d.File(d.TenantsFile)); err != nil {
		return nil, fmt.Errorf("%s: tenantsFile: %w", d.Path, err)
	}
	for _, f := range Functions {
		p := filepath.Join(buildDir, f.Name+".zip")
		if _, err := os.Stat(p); err == nil {
			c.Zips[f.Name] = p
		}
	}
	return c, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

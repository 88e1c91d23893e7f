// Package deploy reads a deployment file (infra/deployments/<name>.json): every setting of one
// installation of Casellario PEC — AWS account and Region, tenants file, PEC trust store, alarm
// e-mail, SMTP relay, schedules, retention, the page's public URL and footer links, sign-in — kept in
// one committed file instead of context flags repeated at every deploy. The CDK app builds the stack
// from it and the smoke test runs the built functions with the settings it gives them (Settings).
package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
)

// Defaults of the optional settings. The durations equal the functions' own defaults, written out so
// that the template shows what runs.
const (
	DefaultRegion = "eu-south-1"
	// DefaultDispatchCron: the cut-off, 13:00 Europe/Rome on weekdays (the Procura's evening batch then
	// sees the requests the same day).
	DefaultDispatchCron = "cron(0 13 ? * MON-FRI *)"
	// DefaultPollCron: every 2 minutes (a cron so that it carries the Europe/Rome time zone like the others).
	DefaultPollCron = "cron(0/2 * * * ? *)"
	// DefaultRetentionDays matches shared/store's default retention (12 months after a terminal state).
	DefaultRetentionDays = 365
	// DefaultUploadRetentionDays: uploaded lists carry personal data and are needed only until their people
	// are sent.
	DefaultUploadRetentionDays = 90
	DefaultSMTPPort            = 587
	DefaultSMTPTLS             = "starttls"
	DefaultPollDeadline        = "4m"   // a minute under poll's 5-minute timeout
	DefaultOverdueAfter        = "240h" // shared/poll.DefaultOverdueAfter
	DefaultDispatchGrace       = "5m"   // shared/dispatch.DefaultGrace
	DefaultProtocolGroup       = "protocollo"
	// APIEndpoint as page.publicUrl: the page is served at the HTTP API's own address, known only once
	// the stack exists (stack output PageUrl).
	APIEndpoint = "api-endpoint"
	// LayerDir is where the configuration layer's files are in the execution environment.
	LayerDir = "/opt/casellario"
)

// Deployment is one deployment file.
type Deployment struct {
	// Path of the file; relative paths inside it are relative to its folder.
	Path string `json:"-"`

	Region  string `json:"region"`
	Account string `json:"account"`
	// Local: LocalStack or the tests, not AWS: no HTTP API, no user pool, everything destroyable, and the
	// settings AWS needs (alarm e-mail, SMTP, page URL) are optional.
	Local bool `json:"local"`

	TenantsFile  string `json:"tenantsFile"`
	PECTrustFile string `json:"pecTrustFile"`
	// TLSRootsFile: PEM of the roots the PEC providers' IMAP/SMTP servers chain to (CASELLARIO_TLS_ROOTS);
	// empty: the system roots.
	TLSRootsFile string `json:"tlsRootsFile,omitempty"`

	AlarmEmail string `json:"alarmEmail"`

	Schedules Schedules `json:"schedules"`
	Retention Retention `json:"retention"`
	SMTP      SMTP      `json:"smtp"`
	Page      Page      `json:"page"`
	Auth      Auth      `json:"auth"`
	Functions Functions `json:"functions"`
}

// Schedules: which Comuni are live and when dispatch and poll run (Europe/Rome).
type Schedules struct {
	// Live lists the tenants whose schedules are created enabled. Every other tenant's schedules are
	// created disabled: poll would otherwise log into the real PEC mailbox with the placeholder password.
	Live                 []string          `json:"live"`
	DispatchCron         string            `json:"dispatchCron,omitempty"`
	DispatchCronByTenant map[string]string `json:"dispatchCronByTenant,omitempty"`
	PollCron             string            `json:"pollCron,omitempty"`
}

// Retention of the personal data, in days.
type Retention struct {
	DocumentsDays int `json:"documentsDays,omitempty"` // documents bucket and the table's TTL (CASELLARIO_RETENTION)
	UploadsDays   int `json:"uploadsDays,omitempty"`   // uploaded lists
}

// SMTP is the relay of the notices to offices; the password is the secret casellario/smtp.
type SMTP struct {
	Host string `json:"host"`
	Port int    `json:"port,omitempty"`
	From string `json:"from"`
	User string `json:"user"`
	TLS  string `json:"tls,omitempty"` // starttls or implicit
}

// Page is the offices' web page.
type Page struct {
	// PublicURL is where clerks open the page: the sign-in callback and logout URL, and the links in the
	// notices. APIEndpoint uses the HTTP API's own address.
	PublicURL string `json:"publicUrl"`
	// CustomDomain serves the page at PublicURL's host through API Gateway (an ACM certificate of that
	// name in the deployment's Region); without it PublicURL must already reach the HTTP API.
	CustomDomain *CustomDomain `json:"customDomain,omitempty"`
	// Footer links every PA site must have.
	AccessibilityURL string `json:"accessibilityUrl"`
	PrivacyURL       string `json:"privacyUrl"`
	LegalURL         string `json:"legalUrl"`
}

// CustomDomain is the certificate of PublicURL's host.
type CustomDomain struct {
	CertificateARN string `json:"certificateArn"`
}

// Auth is the sign-in: the stack's Cognito user pool (CognitoDomainPrefix) or an external OIDC issuer
// (Issuer and the rest).
type Auth struct {
	CognitoDomainPrefix string `json:"cognitoDomainPrefix,omitempty"`
	ProtocolGroup       string `json:"protocolGroup,omitempty"`

	Issuer       string   `json:"issuer,omitempty"`
	Audience     []string `json:"audience,omitempty"`
	JWKSURL      string   `json:"jwksUrl,omitempty"`
	ClientID     string   `json:"clientId,omitempty"`
	AuthorizeURL string   `json:"authorizeUrl,omitempty"`
	TokenURL     string   `json:"tokenUrl,omitempty"`
	LogoutURL    string   `json:"logoutUrl,omitempty"` // the issuer's sign-out (optional)
}

// External reports whether an external issuer replaces the user pool.
func (a Auth) External() bool { return a.Issuer != "" }

// Functions are the functions' own settings.
type Functions struct {
	PollDeadline string `json:"pollDeadline,omitempty"`
	// PollReservedConcurrency: 0 (the default) reserves nothing. A new account's quota is 10 and
	// Lambda keeps 10 unreserved, so any reservation fails there; the poll lease in DynamoDB already
	// keeps one run per mailbox.
	PollReservedConcurrency int    `json:"pollReservedConcurrency,omitempty"`
	OverdueAfter            string `json:"overdueAfter,omitempty"`
	DispatchGrace           string `json:"dispatchGrace,omitempty"`
	// S3PathStyle: path-style S3 addressing (LocalStack).
	S3PathStyle bool `json:"s3PathStyle,omitempty"`
}

// Load reads and checks a deployment file; relative file names in it are resolved against its folder.
// A missing required setting is an error naming the field.
func Load(path string) (*Deployment, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("deployment file: %w", err)
	}
	d, err := Parse(b, path)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Parse decodes a deployment file's bytes (path names it in errors and anchors relative file names),
// fills the defaults and checks it.
func Parse(b []byte, path string) (*Deployment, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // a misspelt setting must not be silently ignored
	d := &Deployment{}
	if err := dec.Decode(d); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	d.Path = path
	d.defaults()
	if err := d.Check(); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *Deployment) defaults() {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&d.Region, DefaultRegion)
	def(&d.Schedules.DispatchCron, DefaultDispatchCron)
	def(&d.Schedules.PollCron, DefaultPollCron)
	if d.Retention.DocumentsDays == 0 {
		d.Retention.DocumentsDays = DefaultRetentionDays
	}
	if d.Retention.UploadsDays == 0 {
		d.Retention.UploadsDays = DefaultUploadRetentionDays
	}
	if d.SMTP.Port == 0 {
		d.SMTP.Port = DefaultSMTPPort
	}
	def(&d.SMTP.TLS, DefaultSMTPTLS)
	def(&d.Auth.ProtocolGroup, DefaultProtocolGroup)
	def(&d.Functions.PollDeadline, DefaultPollDeadline)
	def(&d.Functions.OverdueAfter, DefaultOverdueAfter)
	def(&d.Functions.DispatchGrace, DefaultDispatchGrace)
}

// File resolves a file name of the deployment file against its folder.
func (d *Deployment) File(name string) string {
	if name == "" || filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(filepath.Dir(d.Path), name)
}

var (
	cronRE    = regexp.MustCompile(`^cron\(\S+ \S+ \S+ \S+ \S+ \S+\)$`)
	accountRE = regexp.MustCompile(`^[0-9]{12}$`)
	regionRE  = regexp.MustCompile(`^[a-z]{2}(-gov)?-[a-z]+-[0-9]$`)
	// Cognito domain prefixes: lower-case letters, digits and hyphens, not starting or ending with a
	// hyphen, and without the reserved words aws, amazon, cognito.
	prefixRE = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)
	tenantRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
)

// Check reports every problem at once, each naming the field.
func (d *Deployment) Check() error {
	var errs []string
	bad := func(field, format string, a ...any) {
		errs = append(errs, field+": "+fmt.Sprintf(format, a...))
	}
	if !regionRE.MatchString(d.Region) {
		bad("region", "%q is not an AWS Region name such as eu-south-1", d.Region)
	}
	if d.Account != "" && !accountRE.MatchString(d.Account) {
		bad("account", "%q is not a 12-digit AWS account id", d.Account)
	}
	if !d.Local && d.Account == "" {
		bad("account", "required: the AWS account to deploy to (12 digits); the deploy refuses other credentials")
	}
	if d.TenantsFile == "" {
		bad("tenantsFile", "required: the tenants file (shared/tenants format, Secrets Manager names for credentials)")
	}
	if d.PECTrustFile == "" {
		bad("pecTrustFile", "required: the PEM of the PEC providers' certificates (casellario trust build)")
	}
	if !d.Local {
		if _, err := mail.ParseAddress(d.AlarmEmail); err != nil || d.AlarmEmail == "" {
			bad("alarmEmail", "required: the address the alarms are e-mailed to (it must confirm the subscription)")
		}
	}
	for _, c := range []struct{ field, expr string }{{"schedules.dispatchCron", d.Schedules.DispatchCron}, {"schedules.pollCron", d.Schedules.PollCron}} {
		if !cronRE.MatchString(c.expr) {
			bad(c.field, "%q is not a six-field cron(...) expression of EventBridge Scheduler", c.expr)
		}
	}
	for _, t := range sortedKeys(d.Schedules.DispatchCronByTenant) {
		if e := d.Schedules.DispatchCronByTenant[t]; !cronRE.MatchString(e) {
			bad("schedules.dispatchCronByTenant."+t, "%q is not a six-field cron(...) expression", e)
		}
	}
	for _, t := range d.Schedules.Live {
		if !tenantRE.MatchString(t) {
			bad("schedules.live", "%q is not a tenant id", t)
		}
	}
	if d.Retention.DocumentsDays < 1 || d.Retention.UploadsDays < 1 {
		bad("retention", "days must be positive")
	}
	if d.SMTP.Port < 1 || d.SMTP.Port > 65535 {
		bad("smtp.port", "%d is not a TCP port", d.SMTP.Port)
	}
	if d.SMTP.TLS != "starttls" && d.SMTP.TLS != "implicit" {
		bad("smtp.tls", "%q: want starttls or implicit", d.SMTP.TLS)
	}
	if !d.Local {
		if d.SMTP.Host == "" {
			bad("smtp.host", "required: the SMTP relay of the notices to offices (for example email-smtp.%s.amazonaws.com)", d.Region)
		}
		if _, err := mail.ParseAddress(d.SMTP.From); err != nil || d.SMTP.From == "" {
			bad("smtp.from", "required: the sender address of the notices, a mailbox of the Comune's domain")
		}
		if d.SMTP.User == "" {
			bad("smtp.user", "required: the SMTP user (its password goes into the secret casellario/smtp); functions have no fixed address for an unauthenticated relay")
		}
		d.checkPage(bad)
		d.checkAuth(bad)
	}
	for _, f := range []struct{ field, v string }{{"functions.pollDeadline", d.Functions.PollDeadline},
		{"functions.overdueAfter", d.Functions.OverdueAfter}, {"functions.dispatchGrace", d.Functions.DispatchGrace}} {
		if v, err := time.ParseDuration(f.v); err != nil || v <= 0 {
			bad(f.field, "%q is not a positive duration such as 10m", f.v)
		}
	}
	if v, err := time.ParseDuration(d.Functions.PollDeadline); err == nil && v >= 5*time.Minute {
		bad("functions.pollDeadline", "%s: must stay under poll's 5-minute timeout", d.Functions.PollDeadline)
	}
	if d.Functions.PollReservedConcurrency < 0 {
		bad("functions.pollReservedConcurrency", "%d: want 0 (none) or more", d.Functions.PollReservedConcurrency)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s:\n  %s", d.Path, strings.Join(errs, "\n  "))
	}
	return nil
}

func (d *Deployment) checkPage(bad func(field, format string, a ...any)) {
	p := d.Page
	if p.PublicURL == "" {
		bad("page.publicUrl", "required: the https address clerks open (or %q for the HTTP API's own address)", APIEndpoint)
	} else if p.PublicURL != APIEndpoint {
		if err := checkURL(p.PublicURL); err != nil {
			bad("page.publicUrl", "%v", err)
		} else if u, _ := url.Parse(p.PublicURL); u.Path != "/" || u.RawQuery != "" || u.Fragment != "" || u.Port() != "" || u.Host != strings.ToLower(u.Host) {
			// Cognito compares the page's redirect_uri (origin + "/") with this exactly, and S3 the
			// browser's Origin with the CORS rule made from it.
			bad("page.publicUrl", "%q: want the page's root as a browser writes it: https://<lower-case host>/", p.PublicURL)
		}
	}
	if p.CustomDomain != nil {
		if p.PublicURL == APIEndpoint {
			bad("page.customDomain", "needs page.publicUrl with the domain's name")
		}
		if !strings.HasPrefix(p.CustomDomain.CertificateARN, "arn:aws:acm:"+d.Region+":") {
			bad("page.customDomain.certificateArn", "%q: want an ACM certificate of %s (arn:aws:acm:%s:...)", p.CustomDomain.CertificateARN, d.Region, d.Region)
		}
	}
	for _, f := range []struct{ field, v string }{{"page.accessibilityUrl", p.AccessibilityURL}, {"page.privacyUrl", p.PrivacyURL}, {"page.legalUrl", p.LegalURL}} {
		if f.v == "" {
			bad(f.field, "required: a PA site links its accessibility statement, privacy notice and legal notes")
		} else if err := checkURL(f.v); err != nil {
			bad(f.field, "%v", err)
		}
	}
}

func (d *Deployment) checkAuth(bad func(field, format string, a ...any)) {
	a := d.Auth
	if !a.External() {
		switch p := a.CognitoDomainPrefix; {
		case p == "":
			bad("auth.cognitoDomainPrefix", "required: the prefix of the sign-in domain <prefix>.auth.%s.amazoncognito.com (or an external issuer: auth.issuer)", d.Region)
		case !prefixRE.MatchString(p):
			bad("auth.cognitoDomainPrefix", "%q: lower-case letters, digits and hyphens, at most 63", p)
		case strings.Contains(p, "aws") || strings.Contains(p, "amazon") || strings.Contains(p, "cognito"):
			bad("auth.cognitoDomainPrefix", "%q: Cognito refuses prefixes with aws, amazon or cognito", p)
		}
		if a.ClientID != "" || a.AuthorizeURL != "" || a.TokenURL != "" || a.JWKSURL != "" || a.LogoutURL != "" || len(a.Audience) > 0 {
			bad("auth", "clientId, authorizeUrl, tokenUrl, logoutUrl, jwksUrl and audience belong to an external issuer (auth.issuer)")
		}
		return
	}
	if a.CognitoDomainPrefix != "" {
		bad("auth.cognitoDomainPrefix", "not used with an external issuer")
	}
	for _, f := range []struct{ field, v string }{{"auth.issuer", a.Issuer}, {"auth.authorizeUrl", a.AuthorizeURL}, {"auth.tokenUrl", a.TokenURL}} {
		if err := checkURL(f.v); err != nil {
			bad(f.field, "%v", err)
		}
	}
	if a.JWKSURL != "" {
		if err := checkURL(a.JWKSURL); err != nil {
			bad("auth.jwksUrl", "%v", err)
		}
	}
	if a.LogoutURL != "" {
		if err := checkURL(a.LogoutURL); err != nil {
			bad("auth.logoutUrl", "%v", err)
		}
	}
	if a.ClientID == "" {
		bad("auth.clientId", "required with an external issuer: the page's OAuth client")
	}
	if len(a.Audience) == 0 {
		bad("auth.audience", "required with an external issuer")
	} else if a.ClientID != "" && !slices.Contains(a.Audience, a.ClientID) {
		// The page sends the ID token, whose aud is the page's client.
		bad("auth.audience", "%v: must include auth.clientId %q (the page's ID tokens are issued to it)", a.Audience, a.ClientID)
	}
}

// checkURL accepts an absolute https URL of a real host.
func checkURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%q: want an absolute https:// URL", v)
	}
	h := strings.ToLower(u.Hostname())
	if h == "example.com" || strings.HasSuffix(h, ".example.com") || h == "example.it" || strings.HasSuffix(h, ".example.it") ||
		strings.HasSuffix(h, ".example") || strings.HasSuffix(h, ".test") || strings.HasSuffix(h, ".invalid") {
		return fmt.Errorf("%q: an example address, not this deployment's", v)
	}
	return nil
}

// ErrNotLive is returned by CheckTenants for a live tenant that the tenants file does not have.
var ErrNotLive = errors.New("not in the tenants file")

// CheckTenants checks the per-tenant settings against the tenants' ids.
func (d *Deployment) CheckTenants(ids []string) error {
	known := map[string]bool{}
	for _, id := range ids {
		known[id] = true
	}
	var errs []string
	for _, t := range d.Schedules.Live {
		if !known[t] {
			errs = append(errs, fmt.Sprintf("schedules.live: %s: %v", t, ErrNotLive))
		}
	}
	for _, t := range sortedKeys(d.Schedules.DispatchCronByTenant) {
		if !known[t] {
			errs = append(errs, fmt.Sprintf("schedules.dispatchCronByTenant.%s: %v", t, ErrNotLive))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s:\n  %s", d.Path, strings.Join(errs, "\n  "))
	}
	return nil
}

// IsLive reports whether the tenant's schedules are created enabled.
func (d *Deployment) IsLive(tenant string) bool {
	for _, t := range d.Schedules.Live {
		if t == tenant {
			return true
		}
	}
	return false
}

// DispatchCronOf is the tenant's cut-off.
func (d *Deployment) DispatchCronOf(tenant string) string {
	if c, ok := d.Schedules.DispatchCronByTenant[tenant]; ok {
		return c
	}
	return d.Schedules.DispatchCron
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

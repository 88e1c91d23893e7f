// Package config is the one place the environment is read: a function's main
// (or the CLI) calls Load once and hands the typed values to the libraries,
// which take values and never read the environment themselves. Load checks
// syntax (durations, numbers, enumerations); whether a value is required is
// up to the function that uses it (Require).
package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Config is every setting of every function. The README's configuration
// table lists each variable (a test checks it).
type Config struct {
	AWS     AWS
	Store   Store
	Docs    Docs
	Tenants string // CASELLARIO_TENANTS: path of the tenants file, or "demo"

	NotifyQueueURL string // CASELLARIO_NOTIFY_QUEUE_URL: the notify function's queue; empty: notices are logged
	PECTrust       string // CASELLARIO_PEC_TRUST: PEM file of the PEC providers' certificates
	TLSRoots       string // CASELLARIO_TLS_ROOTS: PEM file of the mail servers' TLS roots; empty: the system's

	Dispatch Dispatch
	Poll     Poll
	SMTP     SMTP
	Auth     Auth
	Web      Web
}

// AWS is what the SDK configuration needs beyond the SDK's own variables
// (AWS_REGION, AWS_ENDPOINT_URL…, read by the SDK itself).
type AWS struct {
	Endpoint    bool // some AWS_ENDPOINT_URL* is set: local stand-ins or LocalStack
	Credentials bool // AWS_ACCESS_KEY_ID or AWS_PROFILE is set
	S3PathStyle bool // CASELLARIO_S3_PATH_STYLE, or implied by an endpoint: bucket in the path
}

// Store configures the DynamoDB store.
type Store struct {
	Table     string        // CASELLARIO_TABLE
	Retention time.Duration // CASELLARIO_RETENTION: kept after a terminal state; zero: the store's default
}

// Docs configures the two buckets.
type Docs struct {
	UploadsBucket   string // CASELLARIO_UPLOADS_BUCKET
	DocumentsBucket string // CASELLARIO_DOCUMENTS_BUCKET
	SSE             string // CASELLARIO_SSE: aws:kms (default), AES256 or none
	KMSKeyID        string // CASELLARIO_KMS_KEY_ID
}

// Dispatch configures the dispatch function.
type Dispatch struct {
	Grace time.Duration // CASELLARIO_GRACE: how long a send of unknown outcome waits for its receipt
}

// Poll configures the poll function.
type Poll struct {
	Deadline     time.Duration // CASELLARIO_POLL_DEADLINE: how long a run takes new messages
	OverdueAfter time.Duration // CASELLARIO_OVERDUE_AFTER: a delivered request without reply is overdue after this
}

// SMTP configures the notify function's outgoing mail (ordinary e-mail to the offices).
type SMTP struct {
	Host   string // CASELLARIO_SMTP_HOST
	Port   int    // CASELLARIO_SMTP_PORT (default 587)
	From   string // CASELLARIO_SMTP_FROM
	User   string // CASELLARIO_SMTP_USER
	Secret string // CASELLARIO_SMTP_SECRET: Secrets Manager secret holding the password
	TLS    string // CASELLARIO_SMTP_TLS: starttls (default) or implicit
}

// Auth configures the API's token verification and the page's sign-in.
type Auth struct {
	Issuer        string // CASELLARIO_OIDC_ISSUER
	Audience      string // CASELLARIO_OIDC_AUDIENCE
	JWKS          string // CASELLARIO_OIDC_JWKS: default discovered from the issuer
	ProtocolGroup string // CASELLARIO_PROTOCOL_GROUP: default protocollo
	ClientID      string // CASELLARIO_OIDC_CLIENT_ID: the page's public client (code flow with PKCE)
	AuthorizeURL  string // CASELLARIO_OIDC_AUTHORIZE_URL
	TokenURL      string // CASELLARIO_OIDC_TOKEN_URL
	LogoutURL     string // CASELLARIO_OIDC_LOGOUT_URL: the issuer's sign-out, so that «Esci» ends its session too
}

// Web is where the offices' page lives and what its footer links to.
type Web struct {
	PublicURL        string // CASELLARIO_PUBLIC_URL: the page's address, for links in e-mails
	AccessibilityURL string // CASELLARIO_ACCESSIBILITY_URL: the accessibility statement
	PrivacyURL       string // CASELLARIO_PRIVACY_URL: the privacy notice
	LegalURL         string // CASELLARIO_LEGAL_URL: legal notes
}

// Load reads environ (os.Environ() in a main; a list of KEY=value in tests).
// All syntax errors are reported together, each naming its variable.
func Load(environ []string) (Config, error) {
	env := map[string]string{}
	var endpoint bool
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
		if strings.HasPrefix(k, "AWS_ENDPOINT_URL") && v != "" {
			endpoint = true
		}
	}
	p := parser{env: env}
	c := Config{
		AWS: AWS{Endpoint: endpoint, Credentials: env["AWS_ACCESS_KEY_ID"] != "" || env["AWS_PROFILE"] != "",
			S3PathStyle: p.boolean("CASELLARIO_S3_PATH_STYLE", endpoint)},
		Store: Store{Table: env["CASELLARIO_TABLE"], Retention: p.duration("CASELLARIO_RETENTION")},
		Docs: Docs{UploadsBucket: env["CASELLARIO_UPLOADS_BUCKET"], DocumentsBucket: env["CASELLARIO_DOCUMENTS_BUCKET"],
			SSE: p.oneOf("CASELLARIO_SSE", "aws:kms", "AES256", "none"), KMSKeyID: env["CASELLARIO_KMS_KEY_ID"]},
		Tenants:        env["CASELLARIO_TENANTS"],
		NotifyQueueURL: env["CASELLARIO_NOTIFY_QUEUE_URL"],
		PECTrust:       env["CASELLARIO_PEC_TRUST"],
		TLSRoots:       env["CASELLARIO_TLS_ROOTS"],
		Dispatch:       Dispatch{Grace: p.duration("CASELLARIO_GRACE")},
		Poll:           Poll{Deadline: p.duration("CASELLARIO_POLL_DEADLINE"), OverdueAfter: p.duration("CASELLARIO_OVERDUE_AFTER")},
		SMTP: SMTP{Host: env["CASELLARIO_SMTP_HOST"], Port: p.port("CASELLARIO_SMTP_PORT", 587), From: env["CASELLARIO_SMTP_FROM"],
			User: env["CASELLARIO_SMTP_USER"], Secret: env["CASELLARIO_SMTP_SECRET"], TLS: p.oneOf("CASELLARIO_SMTP_TLS", "starttls", "implicit")},
		Auth: Auth{Issuer: env["CASELLARIO_OIDC_ISSUER"], Audience: env["CASELLARIO_OIDC_AUDIENCE"], JWKS: env["CASELLARIO_OIDC_JWKS"],
			ProtocolGroup: env["CASELLARIO_PROTOCOL_GROUP"], ClientID: env["CASELLARIO_OIDC_CLIENT_ID"],
			AuthorizeURL: env["CASELLARIO_OIDC_AUTHORIZE_URL"], TokenURL: env["CASELLARIO_OIDC_TOKEN_URL"],
			LogoutURL: env["CASELLARIO_OIDC_LOGOUT_URL"]},
		Web: Web{PublicURL: env["CASELLARIO_PUBLIC_URL"], AccessibilityURL: env["CASELLARIO_ACCESSIBILITY_URL"],
			PrivacyURL: env["CASELLARIO_PRIVACY_URL"], LegalURL: env["CASELLARIO_LEGAL_URL"]},
	}
	return c, errors.Join(p.errs...)
}

// Require reports, in one error, the variables that are empty among the
// pairs (name, value) given.
func Require(pairs ...string) error {
	var missing []string
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			missing = append(missing, pairs[i])
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("not set: %s", strings.Join(missing, ", "))
}

type parser struct {
	env  map[string]string
	errs []error
}

func (p *parser) bad(name, v, want string) {
	p.errs = append(p.errs, fmt.Errorf("%s=%q: want %s", name, v, want))
}

// duration reads an optional positive duration (0 when unset).
func (p *parser) duration(name string) time.Duration {
	v := p.env[name]
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		p.bad(name, v, "a positive duration such as 10m")
		return 0
	}
	return d
}

func (p *parser) boolean(name string, def bool) bool {
	v := p.env[name]
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.bad(name, v, "true or false")
		return def
	}
	return b
}

func (p *parser) port(name string, def int) int {
	v := p.env[name]
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 65535 {
		p.bad(name, v, "a port number")
		return def
	}
	return n
}

// oneOf reads an optional value from a closed list ("" when unset).
func (p *parser) oneOf(name string, allowed ...string) string {
	v := p.env[name]
	if v == "" {
		return ""
	}
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	p.bad(name, v, strings.Join(allowed, ", "))
	return ""
}

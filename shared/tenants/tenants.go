// Package tenants reads the tenants configuration: the Comuni using the
// service, their offices, PEC mailbox, Procura, protocol register and
// certificate defaults. It is one JSON file read at cold start (from the path
// in CASELLARIO_TENANTS) and validated whole; errors name the field, e.g.
// `tenants[1].offices[3].notify[0]: "x" is not an e-mail address`.
//
// The file (demo.json in this package is a complete example, used by the local run):
//
//	{"tenants": [{
//	  "id": "c_g999",                      IPA code; every key, object and lease starts with it
//	  "name": "Comune di Prato",
//	  "aoo": "AOO_PRATO",                  AOO code (segnatura, protocol register)
//	  "protocol": {"kind": "builtin",      builtin (our register) | http (an external one) | manual (a clerk types it)
//	               "registry": "CPEC",     CodiceRegistro, [A-Za-z0-9_.-]{1,16}: for builtin, the code of our
//	                                       register, quoted before its numbers ("CPEC-0000012") so that they are
//	                                       never confused with the general register's; for http and manual,
//	                                       the general register's code
//	               "general": "PG",        builtin only: the general register's code (default PG), for the
//	                                       numbers the protocol office gives by hand
//	               "url": "", "auth": {...}},   http only: endpoint and credentials reference
//	  "pec": {"address": "protocollo@pec.comune.prato.test",
//	          "imap": "host:993", "smtp": "host:465", "username": "...",
//	          "auth": {"secret": "name"} | {"password": "..."},   Secrets Manager name in AWS; inline only locally
//	          "mode": "shared",            shared (default: the Comune's general PEC box, read without changing
//	                                       anything) | dedicated (a box for this service alone: handled
//	                                       messages are moved to "folder", default Archivio)
//	          "folder": "Archivio"},
//	  "procura": "casellario@pec.procura.prato.test",
//	  "procura_senders": ["..."],          other certified addresses the Procura answers from (optional)
//	  "transport_attempts": 3,             requests per person that may fail in transport before the person fails
//	  "certificate": {"type": "...", "purpose": "...", "german": false},   defaults; an office may override purpose
//	  "batch_size": 300,                   people per request (default 300)
//	  "replies": {"protocol_patterns": ["..."],    regular expressions finding a general register's number in replies
//	              "refusal_patterns": ["..."]},    how the Procura words a refusal (default: reply.DefaultRefusalPatterns)
//	  "protocol_office": ["protocollo@comune.prato.it"],   told about triage, failures and overdue replies (optional)
//	  "offices": [{"code": "SUAP", "name": "...", "notify": ["suap@comune.prato.test"], "purpose": "..."}]
//	}]}
package tenants

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
)

// DefaultBatchSize is the local practice's upper bound of people per request.
const DefaultBatchSize = 300

// MaxBatchSize keeps a request within one PEC message and one batch item.
const MaxBatchSize = 5000

// Protocol register kinds.
const (
	ProtocolBuiltin = "builtin"
	ProtocolHTTP    = "http"
	ProtocolManual  = "manual"
)

// Config is the whole tenants configuration.
type Config struct {
	Tenants []Tenant `json:"tenants"`
}

// Tenant is one Comune.
type Tenant struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	AOO      string   `json:"aoo"`
	Protocol Protocol `json:"protocol"`
	PEC      Mailbox  `json:"pec"`
	Procura  string   `json:"procura"`
	// ProcuraSenders are further certified addresses the Procura's replies may
	// come from; Procura always counts.
	ProcuraSenders []string `json:"procura_senders,omitempty"`
	// TransportAttempts bounds the requests for one person that may fail in
	// transport (non-accettazione, mancata consegna) before the person fails
	// (DefaultTransportAttempts when 0).
	TransportAttempts int `json:"transport_attempts,omitempty"`
	// RepeatWarningDays: a person requested or certified for the same office
	// within this many days is requested again, with a warning the office
	// sees (DefaultRepeatWarningDays when 0; negative: no warning).
	RepeatWarningDays int          `json:"repeat_warning_days,omitempty"`
	Certificate       Certificate  `json:"certificate"`
	BatchSize         int          `json:"batch_size,omitempty"`
	Replies           ReplyPattern `json:"replies"`
	// ProtocolOffice are the protocol office's addresses: told about messages in
	// triage, failures and overdue replies. Optional.
	ProtocolOffice []string `json:"protocol_office,omitempty"`
	Offices        []Office `json:"offices"`
}

// Protocol says how requests are registered in the Comune's protocol register.
type Protocol struct {
	Kind     string `json:"kind"`
	Registry string `json:"registry"`
	General  string `json:"general,omitempty"`
	URL      string `json:"url,omitempty"`
	Auth     Secret `json:"auth,omitempty"`
}

// Mailbox is the Comune's PEC mailbox.
type Mailbox struct {
	Address  string `json:"address"`
	IMAP     string `json:"imap"` // host:port
	SMTP     string `json:"smtp"` // host:port
	Username string `json:"username,omitempty"`
	Auth     Secret `json:"auth"`
	// Mode is MailboxShared (default) or MailboxDedicated.
	Mode string `json:"mode,omitempty"`
	// Folder receives handled messages of a dedicated mailbox (DefaultFolder when "").
	Folder string `json:"folder,omitempty"`
}

// Mailbox modes.
const (
	// MailboxShared is the Comune's general PEC mailbox, read by the protocol
	// office and its software too: poll only reads it (no move, no flag, not
	// even \Seen) and fetches only the messages that concern its requests.
	MailboxShared = "shared"
	// MailboxDedicated is a mailbox for this service alone: every message is
	// handled, and handled ones are moved to Folder.
	MailboxDedicated = "dedicated"
	// DefaultFolder is where a dedicated mailbox's handled messages go.
	DefaultFolder = "Archivio"
	// DefaultTransportAttempts: a person is requested at most this many times
	// when requests keep failing in transport.
	DefaultTransportAttempts = 3
)

// Dedicated reports whether the mailbox is declared dedicated.
func (m Mailbox) Dedicated() bool { return m.Mode == MailboxDedicated }

// ArchiveFolder is where handled messages of a dedicated mailbox are moved.
func (m Mailbox) ArchiveFolder() string {
	if m.Folder != "" {
		return m.Folder
	}
	return DefaultFolder
}

// Secret references a credential: a Secrets Manager secret name (AWS), or an
// inline password (local run only). Exactly one is set.
type Secret struct {
	Secret   string `json:"secret,omitempty"`
	Password string `json:"password,omitempty"`
}

// Certificate holds the request defaults the Procura needs.
type Certificate struct {
	Type    string `json:"type"`
	Purpose string `json:"purpose"` // finalità
	German  bool   `json:"german"`  // German-language certificate (N/S): default N
}

// ReplyPattern reads the Procura's replies (shared/reply): where our protocol
// numbers are quoted, and how a refusal is worded.
type ReplyPattern struct {
	ProtocolPatterns []string `json:"protocol_patterns,omitempty"`
	// RefusalPatterns replace reply.DefaultRefusalPatterns when set.
	RefusalPatterns []string `json:"refusal_patterns,omitempty"`
}

// Office is one office of a Comune.
type Office struct {
	Code    string   `json:"code"`
	Name    string   `json:"name"`
	Notify  []string `json:"notify"`
	Purpose string   `json:"purpose,omitempty"` // overrides the tenant's default
}

//go:embed demo.json
var demoJSON []byte

// Demo returns the demo configuration (Prato and Vaiano) of the local run.
func Demo() *Config {
	c, err := Parse(demoJSON)
	if err != nil {
		panic("tenants: demo.json: " + err.Error())
	}
	return c
}

// Load reads and validates the file at path.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the tenants configuration: %w", err)
	}
	c, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("tenants configuration %s: %w", path, err)
	}
	return c, nil
}

// Open loads the tenants file at source (CASELLARIO_TENANTS); "demo" gives Demo().
func Open(source string) (*Config, error) {
	switch p := source; p {
	case "":
		return nil, errors.New("CASELLARIO_TENANTS is not set: the path of the tenants configuration file (or \"demo\")")
	case "demo":
		return Demo(), nil
	default:
		return Load(p)
	}
}

// Parse decodes and validates a configuration; unknown fields are errors, so
// that a misspelt field is not silently ignored.
func Parse(b []byte) (*Config, error) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("not valid JSON for the tenants configuration: %w", err)
	}
	for i := range c.Tenants {
		if c.Tenants[i].BatchSize == 0 {
			c.Tenants[i].BatchSize = DefaultBatchSize
		}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

var (
	ipaRE      = regexp.MustCompile(`^[a-z0-9_]{2,32}$`)
	codeRE     = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	officeRE   = regexp.MustCompile(`^[A-Z0-9][A-Z0-9_-]{0,31}$`)
	registryRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,16}$`)
)

// Validate checks every field and returns all problems, one per line.
func (c *Config) Validate() error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	}
	email := func(path, v string) {
		if a, err := mail.ParseAddress(v); err != nil || a.Address != v || !strings.Contains(v[strings.IndexByte(v, '@')+1:], ".") {
			bad(path, "%q is not an e-mail address", v)
		}
	}
	hostPort := func(path, v string) {
		host, port, err := net.SplitHostPort(v)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			bad(path, "%q is not host:port", v)
		}
	}
	if len(c.Tenants) == 0 {
		bad("tenants", "at least one tenant is required")
	}
	ids, pecs := map[string]int{}, map[string]int{}
	for i, t := range c.Tenants {
		p := fmt.Sprintf("tenants[%d]", i)
		if !ipaRE.MatchString(t.ID) {
			bad(p+".id", "%q is not an IPA code (lowercase, e.g. c_g999)", t.ID)
		} else if j, dup := ids[t.ID]; dup {
			bad(p+".id", "%q is also tenants[%d].id", t.ID, j)
		}
		ids[t.ID] = i
		if strings.TrimSpace(t.Name) == "" {
			bad(p+".name", "required")
		}
		if !codeRE.MatchString(t.AOO) {
			bad(p+".aoo", "%q is not an AOO code (letters, digits, '_', '.', '-')", t.AOO)
		}
		if !registryRE.MatchString(t.Protocol.Registry) {
			bad(p+".protocol.registry", "%q is not a registry code ([A-Za-z0-9_.-]{1,16})", t.Protocol.Registry)
		}
		if t.Protocol.General != "" && (t.Protocol.Kind != ProtocolBuiltin || !registryRE.MatchString(t.Protocol.General)) {
			bad(p+".protocol.general", "%q: only for kind builtin, a registry code ([A-Za-z0-9_.-]{1,16})", t.Protocol.General)
		}
		if t.Protocol.Kind == ProtocolBuiltin && strings.EqualFold(t.Protocol.Registry, t.Protocol.GeneralRegistry()) {
			bad(p+".protocol.registry", "%q is the general register's code: the built-in register needs its own, so that its numbers are never taken for the general register's", t.Protocol.Registry)
		}
		switch t.Protocol.Kind {
		case ProtocolBuiltin, ProtocolManual:
			if t.Protocol.URL != "" {
				bad(p+".protocol.url", "only for kind http")
			}
		case ProtocolHTTP:
			if u, err := url.Parse(t.Protocol.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				bad(p+".protocol.url", "%q is not an http(s) URL", t.Protocol.URL)
			}
			checkSecret(p+".protocol.auth", t.Protocol.Auth, bad)
		default:
			bad(p+".protocol.kind", "%q: want builtin, http or manual", t.Protocol.Kind)
		}
		email(p+".pec.address", t.PEC.Address)
		if j, dup := pecs[strings.ToLower(t.PEC.Address)]; dup {
			bad(p+".pec.address", "%q is also the mailbox of tenants[%d]", t.PEC.Address, j)
		}
		pecs[strings.ToLower(t.PEC.Address)] = i
		hostPort(p+".pec.imap", t.PEC.IMAP)
		hostPort(p+".pec.smtp", t.PEC.SMTP)
		checkSecret(p+".pec.auth", t.PEC.Auth, bad)
		switch t.PEC.Mode {
		case "", MailboxShared:
			if t.PEC.Folder != "" {
				bad(p+".pec.folder", "only for a dedicated mailbox (mode dedicated): a shared one is never changed")
			}
		case MailboxDedicated:
			switch f := t.PEC.Folder; {
			case strings.EqualFold(f, "INBOX"):
				bad(p+".pec.folder", "%q: handled messages must leave the INBOX", f)
			case strings.ContainsAny(f, "/.\\*%") || strings.TrimSpace(f) != f:
				// Servers differ on the hierarchy separator (Dovecot's Maildir++ uses '.' and refuses '/'):
				// only a top-level name moves messages on every server.
				bad(p+".pec.folder", "%q: give a top-level folder name, without / . \\ * %%", f)
			}
		default:
			bad(p+".pec.mode", "%q: want shared or dedicated", t.PEC.Mode)
		}
		email(p+".procura", t.Procura)
		for k, a := range t.ProcuraSenders {
			email(fmt.Sprintf("%s.procura_senders[%d]", p, k), a)
		}
		if t.RepeatWarningDays > 3650 {
			bad(p+".repeat_warning_days", "%d: want at most 3650 (0: the default, %d; negative: no warning)", t.RepeatWarningDays, DefaultRepeatWarningDays)
		}
		if t.TransportAttempts < 0 || t.TransportAttempts > 10 {
			bad(p+".transport_attempts", "%d: want 1 to 10 (0: the default, %d)", t.TransportAttempts, DefaultTransportAttempts)
		}
		if strings.TrimSpace(t.Certificate.Type) == "" {
			bad(p+".certificate.type", "required")
		}
		if strings.TrimSpace(t.Certificate.Purpose) == "" {
			bad(p+".certificate.purpose", "required")
		}
		if t.BatchSize < 1 || t.BatchSize > MaxBatchSize {
			bad(p+".batch_size", "%d: want 1 to %d", t.BatchSize, MaxBatchSize)
		}
		for k, re := range t.Replies.ProtocolPatterns {
			if _, err := regexp.Compile(re); err != nil {
				bad(fmt.Sprintf("%s.replies.protocol_patterns[%d]", p, k), "not a regular expression: %v", err)
			}
		}
		for k, re := range t.Replies.RefusalPatterns {
			if _, err := regexp.Compile(re); err != nil {
				bad(fmt.Sprintf("%s.replies.refusal_patterns[%d]", p, k), "not a regular expression: %v", err)
			}
		}
		for k, a := range t.ProtocolOffice {
			email(fmt.Sprintf("%s.protocol_office[%d]", p, k), a)
		}
		if len(t.Offices) == 0 {
			bad(p+".offices", "at least one office is required")
		}
		codes := map[string]int{}
		for j, o := range t.Offices {
			op := fmt.Sprintf("%s.offices[%d]", p, j)
			if !officeRE.MatchString(o.Code) {
				bad(op+".code", "%q: want uppercase letters, digits, '-' or '_' (e.g. SUAP)", o.Code)
			} else if k, dup := codes[o.Code]; dup {
				bad(op+".code", "%q is also offices[%d].code", o.Code, k)
			}
			codes[o.Code] = j
			if strings.TrimSpace(o.Name) == "" {
				bad(op+".name", "required")
			}
			if len(o.Notify) == 0 {
				bad(op+".notify", "at least one address is required")
			}
			for k, a := range o.Notify {
				email(fmt.Sprintf("%s.notify[%d]", op, k), a)
			}
		}
	}
	return errors.Join(errs...)
}

func checkSecret(path string, s Secret, bad func(string, string, ...any)) {
	if (s.Secret == "") == (s.Password == "") {
		bad(path, "set exactly one of secret (a Secrets Manager name) or password (local run only)")
	}
}

// Tenant returns the tenant with IPA code id.
func (c *Config) Tenant(id string) (*Tenant, error) {
	for i := range c.Tenants {
		if c.Tenants[i].ID == id {
			return &c.Tenants[i], nil
		}
	}
	return nil, domain.Errorf(domain.ENOTFOUND, "tenant %q not configured", id)
}

// ByPEC returns the tenant whose PEC mailbox is address (case-insensitive).
func (c *Config) ByPEC(address string) (*Tenant, error) {
	for i := range c.Tenants {
		if strings.EqualFold(c.Tenants[i].PEC.Address, address) {
			return &c.Tenants[i], nil
		}
	}
	return nil, domain.Errorf(domain.ENOTFOUND, "no tenant has PEC mailbox %q", address)
}

// Office returns the office of tenant id with code.
func (c *Config) Office(id, code string) (*Tenant, *Office, error) {
	t, err := c.Tenant(id)
	if err != nil {
		return nil, nil, err
	}
	o, err := t.Office(code)
	return t, o, err
}

// Office returns the tenant's office with code.
func (t *Tenant) Office(code string) (*Office, error) {
	for i := range t.Offices {
		if t.Offices[i].Code == code {
			return &t.Offices[i], nil
		}
	}
	return nil, domain.Errorf(domain.ENOTFOUND, "office %q not configured for %s", code, t.ID)
}

// DefaultRepeatWarningDays is how far back a person already requested by the
// same office is looked for: a certificate is usually asked for once per
// procedure, and one is valid six months.
const DefaultRepeatWarningDays = 90

// RepeatWindow is how far back repeated requests are looked for (0: never).
func (t *Tenant) RepeatWindow() time.Duration {
	switch {
	case t.RepeatWarningDays < 0:
		return 0
	case t.RepeatWarningDays == 0:
		return DefaultRepeatWarningDays * 24 * time.Hour
	}
	return time.Duration(t.RepeatWarningDays) * 24 * time.Hour
}

// DefaultGeneralRegistry is the usual code of a Comune's general register.
const DefaultGeneralRegistry = "PG"

// GeneralRegistry is the code of the Comune's general register: the numbers
// the protocol office gives by hand, and those of an external register.
func (p Protocol) GeneralRegistry() string {
	switch {
	case p.Kind != ProtocolBuiltin:
		return p.Registry
	case p.General != "":
		return p.General
	}
	return DefaultGeneralRegistry
}

// IsProcura reports whether address is one the Procura's replies come from
// (procura, procura_senders; case-insensitive).
func (t *Tenant) IsProcura(address string) bool {
	address = strings.TrimSpace(address)
	if address == "" {
		return false
	}
	if strings.EqualFold(address, t.Procura) {
		return true
	}
	for _, a := range t.ProcuraSenders {
		if strings.EqualFold(address, a) {
			return true
		}
	}
	return false
}

// ProcuraAddresses lists procura and procura_senders.
func (t *Tenant) ProcuraAddresses() []string {
	return append([]string{t.Procura}, t.ProcuraSenders...)
}

// MaxTransportAttempts is transport_attempts, or its default.
func (t *Tenant) MaxTransportAttempts() int {
	if t.TransportAttempts > 0 {
		return t.TransportAttempts
	}
	return DefaultTransportAttempts
}

// Purpose is the finalità of an office's requests: its own, or the tenant's.
func (t *Tenant) Purpose(o *Office) string {
	if o != nil && o.Purpose != "" {
		return o.Purpose
	}
	return t.Certificate.Purpose
}

// Domain returns the tenant as the domain sees it.
func (t *Tenant) Domain() domain.Tenant {
	d := domain.Tenant{ID: t.ID, Name: t.Name}
	for _, o := range t.Offices {
		d.Offices = append(d.Offices, o.Domain(t.ID))
	}
	return d
}

// Domain returns the office as the domain sees it.
func (o *Office) Domain(tenant string) domain.Office {
	return domain.Office{Tenant: tenant, Code: o.Code, Name: o.Name, Notify: append([]string(nil), o.Notify...)}
}

// Only returns the configuration restricted to tenant id: a scheduled run for one
// Comune works on that Comune alone.
func (c *Config) Only(id string) (*Config, error) {
	t, err := c.Tenant(id)
	if err != nil {
		return nil, err
	}
	return &Config{Tenants: []Tenant{*t}}, nil
}

// ForSchedule returns the configuration a scheduled run works on: the Comune its
// event's detail names ({"tenant":"c_g999"}), or every Comune when it names none.
func (c *Config) ForSchedule(detail []byte) (*Config, error) {
	id, err := ScheduledTenant(detail)
	if err != nil || id == "" {
		return c, err
	}
	return c.Only(id)
}

// ScheduledTenant reads the tenant a schedule names in its event's detail
// ({"tenant":"c_g999"}); "" when the detail names none (a run for every tenant).
func ScheduledTenant(detail []byte) (string, error) {
	if len(detail) == 0 || string(detail) == "null" {
		return "", nil
	}
	var d struct {
		Tenant string `json:"tenant"`
	}
	if err := json.Unmarshal(detail, &d); err != nil {
		return "", fmt.Errorf("schedule detail: %w", err)
	}
	return d.Tenant, nil
}

package tenants

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/casellario-pec/casellario/shared/domain"
)

func TestDemo(t *testing.T) {
	c := Demo()
	if len(c.Tenants) != 2 {
		t.Fatalf("%d tenants", len(c.Tenants))
	}
	prato, err := c.Tenant("c_g999")
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, o := range prato.Offices {
		codes = append(codes, o.Code)
	}
	if got := strings.Join(codes, " "); got != "SUAP CONTRATTI ATTI-IMMOBILIARI ACQUISTI RISORSE-UMANE ELETTORALE URBANIZZAZIONE EDILIZIA-PUBBLICA" {
		t.Fatalf("offices %s", got)
	}
	if prato.BatchSize != 300 || prato.Certificate.German || prato.Procura != "casellario@pec.procura.prato.test" {
		t.Fatalf("%+v", prato)
	}
	v, err := c.ByPEC("PROTOCOLLO@pec.comune.vaiano.test")
	if err != nil || v.ID != "c_l537" || v.BatchSize != DefaultBatchSize {
		t.Fatal(v, err)
	}
	_, o, err := c.Office("c_l537", "PERSONALE")
	if err != nil || len(o.Notify) != 2 {
		t.Fatal(o, err)
	}
	if p := prato.Purpose(&prato.Offices[5]); p != prato.Certificate.Purpose {
		t.Fatal(p)
	}
	if p := prato.Purpose(&prato.Offices[0]); p == prato.Certificate.Purpose {
		t.Fatal("office purpose ignored")
	}
	if d := prato.Domain(); len(d.Offices) != 8 || d.Offices[0].Tenant != "c_g999" {
		t.Fatalf("%+v", d)
	}
	for _, lookup := range []func() error{
		func() error { _, err := c.Tenant("c_x000"); return err },
		func() error { _, _, err := c.Office("c_g999", "NOPE"); return err },
		func() error { _, err := c.ByPEC("x@y.test"); return err },
	} {
		if code := domain.ErrorCode(lookup()); code != domain.ENOTFOUND {
			t.Fatal(code)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *Config)
		want string
	}{
		{"notify", func(c *Config) { c.Tenants[1].Offices[1].Notify[0] = "nobody" }, `tenants[1].offices[1].notify[0]: "nobody" is not an e-mail address`},
		{"protocol office", func(c *Config) { c.Tenants[0].ProtocolOffice = []string{"ufficio protocollo"} }, `tenants[0].protocol_office[0]: "ufficio protocollo" is not an e-mail address`},
		{"ipa", func(c *Config) { c.Tenants[0].ID = "C G999" }, `tenants[0].id: "C G999" is not an IPA code`},
		{"dup tenant", func(c *Config) { c.Tenants[1].ID = "c_g999" }, `tenants[1].id: "c_g999" is also tenants[0].id`},
		{"dup office", func(c *Config) { c.Tenants[0].Offices[3].Code = "SUAP" }, `tenants[0].offices[3].code: "SUAP" is also offices[0].code`},
		{"office code", func(c *Config) { c.Tenants[0].Offices[2].Code = "atti immobiliari" }, `tenants[0].offices[2].code`},
		{"kind", func(c *Config) { c.Tenants[0].Protocol.Kind = "fax" }, `tenants[0].protocol.kind: "fax": want builtin, http or manual`},
		{"http url", func(c *Config) {
			c.Tenants[0].Protocol = Protocol{Kind: ProtocolHTTP, Registry: "PG", Auth: Secret{Secret: "s"}}
		}, `tenants[0].protocol.url`},
		{"registry", func(c *Config) { c.Tenants[0].Protocol.Registry = "REGISTRO/GENERALE" }, `tenants[0].protocol.registry`},
		{"secret", func(c *Config) { c.Tenants[0].PEC.Auth = Secret{} }, `tenants[0].pec.auth: set exactly one`},
		{"imap", func(c *Config) { c.Tenants[0].PEC.IMAP = "imap.example.test" }, `tenants[0].pec.imap: "imap.example.test" is not host:port`},
		{"procura", func(c *Config) { c.Tenants[1].Procura = "" }, `tenants[1].procura`},
		{"batch size", func(c *Config) { c.Tenants[0].BatchSize = 9000 }, `tenants[0].batch_size: 9000: want 1 to 5000`},
		{"pattern", func(c *Config) { c.Tenants[0].Replies.ProtocolPatterns = []string{"("} }, `tenants[0].replies.protocol_patterns[0]`},
		{"purpose", func(c *Config) { c.Tenants[0].Certificate.Purpose = " " }, `tenants[0].certificate.purpose: required`},
		{"dup pec", func(c *Config) { c.Tenants[1].PEC.Address = "protocollo@pec.comune.prato.test" }, `tenants[1].pec.address`},
		{"no offices", func(c *Config) { c.Tenants[1].Offices = nil }, `tenants[1].offices: at least one office`},
		{"folder of a shared mailbox", func(c *Config) { c.Tenants[0].PEC.Folder = "Archivio" }, `tenants[0].pec.folder: only for a dedicated mailbox`},
		{"archive in the INBOX", func(c *Config) { c.Tenants[0].PEC.Mode, c.Tenants[0].PEC.Folder = MailboxDedicated, "inbox" }, `handled messages must leave the INBOX`},
		{"archive below another folder", func(c *Config) { c.Tenants[0].PEC.Mode, c.Tenants[0].PEC.Folder = MailboxDedicated, "PEC/Archivio" }, `tenants[0].pec.folder: "PEC/Archivio": give a top-level folder name`},
		{"archive with Maildir++'s separator", func(c *Config) { c.Tenants[0].PEC.Mode, c.Tenants[0].PEC.Folder = MailboxDedicated, "INBOX.Archivio" }, `give a top-level folder name`},
		{"transport attempts", func(c *Config) { c.Tenants[0].TransportAttempts = 11 }, `tenants[0].transport_attempts: 11: want 1 to 10`},
		{"repeat warning", func(c *Config) { c.Tenants[0].RepeatWarningDays = 5000 }, `tenants[0].repeat_warning_days: 5000: want at most 3650`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Demo()
			tc.edit(c)
			b, _ := json.Marshal(c)
			_, err := Parse(b)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "tenants.json")
	if err := os.WriteFile(p, demoJSON, 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := Open(p); err != nil || len(c.Tenants) != 2 {
		t.Fatal(err)
	}
	if c, err := Open("demo"); err != nil || len(c.Tenants) != len(Demo().Tenants) {
		t.Fatal(err)
	}
	os.WriteFile(p, []byte(`{"tenants":[{"id":"c_g999","nmae":"typo"}]}`), 0o600)
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), `unknown field "nmae"`) {
		t.Fatal(err)
	}
	if _, err := Open(""); err == nil {
		t.Fatal("no error without CASELLARIO_TENANTS")
	}
	if _, err := Load(filepath.Join(dir, "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
}

func TestOnlyAndScheduledTenant(t *testing.T) {
	c := Demo()
	one, err := c.Only("c_l537")
	if err != nil || len(one.Tenants) != 1 || one.Tenants[0].ID != "c_l537" {
		t.Fatalf("Only: %+v %v", one, err)
	}
	if _, err := c.Only("c_x000"); err == nil {
		t.Error("unknown tenant accepted")
	}
	if all, err := c.ForSchedule(nil); err != nil || all != c {
		t.Errorf("a schedule naming no tenant should see them all: %v", err)
	}
	if one, err := c.ForSchedule([]byte(`{"tenant":"c_g999"}`)); err != nil || len(one.Tenants) != 1 || one.Tenants[0].ID != "c_g999" {
		t.Errorf("ForSchedule: %+v %v", one, err)
	}
	for _, bad := range []string{`{"tenant":"c_x000"}`, `{`} {
		if _, err := c.ForSchedule([]byte(bad)); err == nil {
			t.Errorf("ForSchedule(%s) accepted", bad)
		}
	}
	tests := []struct {
		detail, want string
		ok           bool
	}{
		{"", "", true},
		{"null", "", true},
		{"{}", "", true},
		{`{"tenant":"c_g999"}`, "c_g999", true},
		{`{"tenant":`, "", false},
	}
	for _, tt := range tests {
		got, err := ScheduledTenant([]byte(tt.detail))
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("%q: %q %v", tt.detail, got, err)
		}
	}
}

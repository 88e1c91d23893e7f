package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// aws is a complete deployment to AWS; each test case edits one thing.
func aws() map[string]any {
	return map[string]any{
		"region": "eu-south-1", "account": "123456789012", "tenantsFile": "tenants.json", "pecTrustFile": "trust.pem",
		"alarmEmail": "sistemi@comune.prato.it",
		"smtp":       map[string]any{"host": "email-smtp.eu-south-1.amazonaws.com", "from": "casellario@comune.prato.it", "user": "AKIA"},
		"page": map[string]any{"publicUrl": "https://casellario.comune.prato.it/", "accessibilityUrl": "https://form.agid.gov.it/x",
			"privacyUrl": "https://www.comune.prato.it/privacy", "legalUrl": "https://www.comune.prato.it/note-legali"},
		"auth": map[string]any{"cognitoDomainPrefix": "casellario-prato"},
	}
}

func parse(t *testing.T, m map[string]any) (*Deployment, error) {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return Parse(b, "deployments/prato.json")
}

func TestParseDefaults(t *testing.T) {
	m := aws()
	delete(m, "region")
	d, err := parse(t, m)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ what, got, want string }{
		{"region", d.Region, "eu-south-1"},
		{"dispatch cron", d.Schedules.DispatchCron, DefaultDispatchCron},
		{"poll cron", d.Schedules.PollCron, DefaultPollCron},
		{"smtp tls", d.SMTP.TLS, "starttls"},
		{"protocol group", d.Auth.ProtocolGroup, "protocollo"},
		{"poll deadline", d.Functions.PollDeadline, "4m"},
		{"overdue", d.Functions.OverdueAfter, "240h"},
		{"grace", d.Functions.DispatchGrace, "5m"},
		{"tenants file", d.File(d.TenantsFile), filepath.Join("deployments", "tenants.json")},
		{"absolute file", d.File("/etc/x.pem"), "/etc/x.pem"},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.what, tt.got, tt.want)
		}
	}
	if d.SMTP.Port != 587 || d.Retention.DocumentsDays != 365 || d.Retention.UploadsDays != 90 || d.Functions.PollReservedConcurrency != 0 {
		t.Errorf("numeric defaults: %+v %+v %+v", d.SMTP, d.Retention, d.Functions)
	}
	if len(d.Schedules.Live) != 0 || d.IsLive("c_g999") {
		t.Error("a tenant is live by default")
	}
}

// Every missing or wrong setting fails with a message naming its field.
func TestParseErrors(t *testing.T) {
	set := func(path string, v any) func(m map[string]any) {
		return func(m map[string]any) {
			keys := strings.Split(path, ".")
			cur := m
			for _, k := range keys[:len(keys)-1] {
				next, ok := cur[k].(map[string]any)
				if !ok {
					next = map[string]any{}
					cur[k] = next
				}
				cur = next
			}
			if v == nil {
				delete(cur, keys[len(keys)-1])
			} else {
				cur[keys[len(keys)-1]] = v
			}
		}
	}
	tests := []struct {
		name string
		edit func(m map[string]any)
		want string
	}{
		{"unknown field", set("smtpHost", "x"), `unknown field "smtpHost"`},
		{"bad region", set("region", "Milano"), "region:"},
		{"no account", set("account", nil), "account: required"},
		{"bad account", set("account", "12345"), "12-digit"},
		{"no tenants file", set("tenantsFile", nil), "tenantsFile: required"},
		{"no trust store", set("pecTrustFile", nil), "pecTrustFile: required"},
		{"no alarm e-mail", set("alarmEmail", nil), "alarmEmail: required"},
		{"bad alarm e-mail", set("alarmEmail", "not an address"), "alarmEmail: required"},
		{"bad dispatch cron", set("schedules.dispatchCron", "rate(1 day)"), "schedules.dispatchCron"},
		{"bad poll cron", set("schedules.pollCron", "cron(*/2 * * * *)"), "schedules.pollCron"},
		{"bad tenant cron", set("schedules.dispatchCronByTenant", map[string]any{"c_g999": "daily"}), "schedules.dispatchCronByTenant.c_g999"},
		{"bad live tenant", set("schedules.live", []any{"c g999"}), "schedules.live"},
		{"negative retention", set("retention.documentsDays", -1), "retention: days must be positive"},
		{"bad smtp port", set("smtp.port", 70000), "smtp.port"},
		{"bad smtp tls", set("smtp.tls", "ssl"), "smtp.tls"},
		{"no smtp host", set("smtp.host", nil), "smtp.host: required"},
		{"no smtp from", set("smtp.from", nil), "smtp.from: required"},
		{"no smtp user", set("smtp.user", nil), "smtp.user: required"},
		{"no page URL", set("page.publicUrl", nil), "page.publicUrl: required"},
		{"http page URL", set("page.publicUrl", "http://casellario.comune.prato.it/"), "page.publicUrl"},
		{"example page URL", set("page.publicUrl", "https://example.com"), "an example address"},
		{"example.it", set("page.publicUrl", "https://casellario.example.it/"), "an example address"},
		{"custom domain without URL", func(m map[string]any) {
			set("page.publicUrl", APIEndpoint)(m)
			set("page.customDomain", map[string]any{"certificateArn": "arn:aws:acm:eu-south-1:123456789012:certificate/x"})(m)
		}, "page.customDomain: needs page.publicUrl"},
		{"certificate elsewhere", set("page.customDomain", map[string]any{"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/x"}), "page.customDomain.certificateArn"},
		{"no accessibility link", set("page.accessibilityUrl", nil), "page.accessibilityUrl: required"},
		{"bad privacy link", set("page.privacyUrl", "privacy.html"), "page.privacyUrl"},
		{"no legal link", set("page.legalUrl", nil), "page.legalUrl: required"},
		{"no sign-in", set("auth.cognitoDomainPrefix", nil), "auth.cognitoDomainPrefix: required"},
		{"bad prefix", set("auth.cognitoDomainPrefix", "Casellario_Prato"), "auth.cognitoDomainPrefix"},
		{"reserved prefix", set("auth.cognitoDomainPrefix", "cognito-prato"), "refuses prefixes"},
		{"external settings with Cognito", set("auth.clientId", "x"), "belong to an external issuer"},
		{"external with prefix", set("auth.issuer", "https://login.comune.prato.it/realms/x"), "not used with an external issuer"},
		{"external incomplete", func(m map[string]any) {
			m["auth"] = map[string]any{"issuer": "https://login.comune.prato.it/realms/x", "jwksUrl": "ftp://x"}
		}, "auth.clientId: required"},
		{"external bad JWKS", func(m map[string]any) {
			m["auth"] = map[string]any{"issuer": "https://login.comune.prato.it/realms/x", "jwksUrl": "ftp://x"}
		}, "auth.jwksUrl"},
		{"audience without the page's client", func(m map[string]any) {
			m["auth"] = map[string]any{"issuer": "https://login.comune.prato.it/realms/x", "clientId": "web", "audience": []any{"api://casellario"}}
		}, "must include auth.clientId"},
		{"page URL without its slash", set("page.publicUrl", "https://casellario.comune.prato.it"), "https://<lower-case host>/"},
		{"page URL in capitals", set("page.publicUrl", "https://Casellario.Comune.Prato.it/"), "https://<lower-case host>/"},
		{"page URL with a port", set("page.publicUrl", "https://casellario.comune.prato.it:8443/"), "https://<lower-case host>/"},
		{"page URL below the root", set("page.publicUrl", "https://www.comune.prato.it/casellario/"), "https://<lower-case host>/"},
		{"external bad logout URL", func(m map[string]any) {
			m["auth"] = map[string]any{"issuer": "https://login.comune.prato.it/realms/x", "logoutUrl": "http://x"}
		}, "auth.logoutUrl"},
		{"logout URL with Cognito", set("auth.logoutUrl", "https://x.example/logout"), "belong to an external issuer"},
		{"external no audience", func(m map[string]any) {
			m["auth"] = map[string]any{"issuer": "https://login.comune.prato.it/realms/x", "clientId": "web"}
		}, "auth.audience: required"},
		{"external no token URL", func(m map[string]any) {
			m["auth"] = map[string]any{"issuer": "https://login.comune.prato.it/realms/x", "clientId": "web", "audience": []any{"web"}}
		}, "auth.tokenUrl"},
		{"bad deadline", set("functions.pollDeadline", "4 minutes"), "functions.pollDeadline"},
		{"deadline over timeout", set("functions.pollDeadline", "5m"), "under poll's 5-minute timeout"},
		{"bad overdue", set("functions.overdueAfter", "10d"), "functions.overdueAfter"},
		{"bad grace", set("functions.dispatchGrace", "-1m"), "functions.dispatchGrace"},
		{"negative concurrency", set("functions.pollReservedConcurrency", -1), "functions.pollReservedConcurrency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := aws()
			tt.edit(m)
			_, err := parse(t, m)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse: %v, want %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), "deployments/prato.json") {
				t.Errorf("error does not name the file: %v", err)
			}
		})
	}
}

// A local deployment (LocalStack, tests) needs none of what only AWS needs.
func TestParseLocal(t *testing.T) {
	d, err := parse(t, map[string]any{"local": true, "tenantsFile": "t.json", "pecTrustFile": "p.pem"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Account != "" || d.Region != DefaultRegion {
		t.Errorf("local: %+v", d)
	}
}

func TestLoad(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "missing.json")); err == nil || !strings.Contains(err.Error(), "deployment file") {
		t.Errorf("missing file: %v", err)
	}
	p := filepath.Join(t.TempDir(), "x.json")
	if err := os.WriteFile(p, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("broken JSON: %v", err)
	}
	d, err := Load("../../deployments/local.json")
	if err != nil {
		t.Fatalf("the local deployment: %v", err)
	}
	if !d.Local {
		t.Error("local.json is not local")
	}
}

func TestCheckTenants(t *testing.T) {
	d, err := parse(t, func() map[string]any {
		m := aws()
		m["schedules"] = map[string]any{"live": []any{"c_g999"}, "dispatchCronByTenant": map[string]any{"c_z999": DefaultDispatchCron}}
		return m
	}())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ids  []string
		want string
	}{
		{[]string{"c_g999", "c_z999"}, ""},
		{[]string{"c_z999"}, "schedules.live: c_g999: not in the tenants file"},
		{[]string{"c_g999"}, "schedules.dispatchCronByTenant.c_z999"},
	}
	for _, tt := range tests {
		err := d.CheckTenants(tt.ids)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("CheckTenants(%v) = %v, want %q", tt.ids, err, tt.want)
		}
	}
	if !d.IsLive("c_g999") || d.IsLive("c_l537") {
		t.Error("IsLive")
	}
	if d.DispatchCronOf("c_z999") != DefaultDispatchCron || d.DispatchCronOf("c_g999") != DefaultDispatchCron {
		t.Error("DispatchCronOf")
	}
}

func TestSettings(t *testing.T) {
	m := aws()
	m["tlsRootsFile"] = "roots.pem"
	m["functions"] = map[string]any{"s3PathStyle": true}
	d, err := parse(t, m)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ fn, key, want string }{
		{"intake", "CASELLARIO_TENANTS", "/opt/casellario/tenants.json"},
		{"intake", "CASELLARIO_S3_PATH_STYLE", "true"},
		{"notify", "CASELLARIO_S3_PATH_STYLE", ""},
		{"notify", "CASELLARIO_SSE", ""},
		{"dispatch", "CASELLARIO_PEC_TRUST", "/opt/casellario/pec-trust.pem"},
		{"dispatch", "CASELLARIO_TLS_ROOTS", "/opt/casellario/tls-roots.pem"},
		{"poll", "CASELLARIO_TLS_ROOTS", "/opt/casellario/tls-roots.pem"},
		{"api", "CASELLARIO_TLS_ROOTS", ""},
		{"api", "CASELLARIO_OIDC_ISSUER", ""}, // Cognito's come from the stack
		{"notify", "CASELLARIO_SMTP_SECRET", SMTPSecretName},
		{"notify", "CASELLARIO_PUBLIC_URL", "https://casellario.comune.prato.it/"},
	}
	for _, tt := range tests {
		if got := d.Settings(tt.fn)[tt.key]; got != tt.want {
			t.Errorf("%s %s = %q, want %q", tt.fn, tt.key, got, tt.want)
		}
	}
	m = aws()
	m["auth"] = map[string]any{"issuer": "https://login.comune.prato.it/r", "audience": []any{"web", "b"}, "clientId": "web",
		"authorizeUrl": "https://login.comune.prato.it/r/auth", "tokenUrl": "https://login.comune.prato.it/r/token", "jwksUrl": "https://login.comune.prato.it/r/certs",
		"logoutUrl": "https://login.comune.prato.it/r/logout"}
	m["page"].(map[string]any)["publicUrl"] = APIEndpoint
	if d, err = parse(t, m); err != nil {
		t.Fatal(err)
	}
	api := d.Settings("api")
	for k, want := range map[string]string{"CASELLARIO_OIDC_AUDIENCE": "web,b", "CASELLARIO_OIDC_JWKS": "https://login.comune.prato.it/r/certs",
		"CASELLARIO_OIDC_CLIENT_ID": "web", "CASELLARIO_OIDC_LOGOUT_URL": "https://login.comune.prato.it/r/logout", "CASELLARIO_PUBLIC_URL": ""} {
		if api[k] != want {
			t.Errorf("api %s = %q, want %q", k, api[k], want)
		}
	}
	if _, ok := d.Settings("notify")["CASELLARIO_PUBLIC_URL"]; ok {
		t.Error("notify got the api-endpoint placeholder as a URL")
	}
}

// The template a Comune copies holds every field of the format and fails until its placeholders are
// replaced, naming them.
func TestTemplate(t *testing.T) {
	_, err := Load("../../deployments/TEMPLATE.json")
	if err == nil {
		t.Fatal("the template deploys as it is")
	}
	for _, want := range []string{"account:", "alarmEmail:", "smtp.from:", "page.publicUrl:", "page.privacyUrl:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("template error lacks %s: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "unknown field") {
		t.Errorf("the template has a field the format does not: %v", err)
	}
}

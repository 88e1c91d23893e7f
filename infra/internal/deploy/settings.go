package deploy

import "fmt"

// Files of the configuration layer, at LayerDir in the execution environment.
const (
	TenantsLayerFile  = "tenants.json"
	PECTrustLayerFile = "pec-trust.pem"
	TLSRootsLayerFile = "tls-roots.pem"
	// SMTPSecretName is the notify function's SMTP password: {"password":"..."} or the bare password.
	SMTPSecretName = "casellario/smtp"
)

// Settings are the environment variables of one function that come from the deployment file (plain
// values). The stack adds the references to its resources (table, buckets, key, queue, OIDC issuer and
// client); the smoke test runs the built functions with these values.
func (d *Deployment) Settings(function string) map[string]string {
	env := map[string]string{
		"CASELLARIO_TENANTS":   LayerDir + "/" + TenantsLayerFile,
		"CASELLARIO_RETENTION": fmt.Sprintf("%dh", d.Retention.DocumentsDays*24),
	}
	if function != "notify" { // notify does not use the buckets
		env["CASELLARIO_SSE"] = "aws:kms"
		if d.Functions.S3PathStyle {
			env["CASELLARIO_S3_PATH_STYLE"] = "true"
		}
	}
	trust := LayerDir + "/" + PECTrustLayerFile
	tlsRoots := func() {
		if d.TLSRootsFile != "" {
			env["CASELLARIO_TLS_ROOTS"] = LayerDir + "/" + TLSRootsLayerFile
		}
	}
	switch function {
	case "dispatch":
		env["CASELLARIO_PEC_TRUST"] = trust // receipts count only when signed by a trusted provider
		env["CASELLARIO_GRACE"] = d.Functions.DispatchGrace
		tlsRoots()
	case "poll":
		env["CASELLARIO_PEC_TRUST"] = trust
		env["CASELLARIO_POLL_DEADLINE"] = d.Functions.PollDeadline
		env["CASELLARIO_OVERDUE_AFTER"] = d.Functions.OverdueAfter
		tlsRoots()
	case "api":
		env["CASELLARIO_PEC_TRUST"] = trust // triage assign handles a message again
		env["CASELLARIO_PROTOCOL_GROUP"] = d.Auth.ProtocolGroup
		d.page(env)
		if d.Auth.External() {
			env["CASELLARIO_OIDC_ISSUER"] = d.Auth.Issuer
			env["CASELLARIO_OIDC_AUDIENCE"] = joinComma(d.Auth.Audience)
			env["CASELLARIO_OIDC_CLIENT_ID"] = d.Auth.ClientID
			env["CASELLARIO_OIDC_AUTHORIZE_URL"] = d.Auth.AuthorizeURL
			env["CASELLARIO_OIDC_TOKEN_URL"] = d.Auth.TokenURL
			if d.Auth.JWKSURL != "" {
				env["CASELLARIO_OIDC_JWKS"] = d.Auth.JWKSURL
			}
			if d.Auth.LogoutURL != "" {
				env["CASELLARIO_OIDC_LOGOUT_URL"] = d.Auth.LogoutURL
			}
		}
	case "notify":
		env["CASELLARIO_SMTP_SECRET"] = SMTPSecretName
		env["CASELLARIO_SMTP_HOST"] = d.SMTP.Host
		env["CASELLARIO_SMTP_PORT"] = fmt.Sprint(d.SMTP.Port)
		env["CASELLARIO_SMTP_FROM"] = d.SMTP.From
		env["CASELLARIO_SMTP_USER"] = d.SMTP.User
		env["CASELLARIO_SMTP_TLS"] = d.SMTP.TLS
		if d.Page.PublicURL != APIEndpoint && d.Page.PublicURL != "" {
			env["CASELLARIO_PUBLIC_URL"] = d.Page.PublicURL
		}
	}
	for k, v := range env {
		if v == "" {
			delete(env, k) // unset rather than empty: the functions read "" as unset anyway
		}
	}
	return env
}

func (d *Deployment) page(env map[string]string) {
	if d.Page.PublicURL != APIEndpoint {
		env["CASELLARIO_PUBLIC_URL"] = d.Page.PublicURL
	}
	env["CASELLARIO_ACCESSIBILITY_URL"] = d.Page.AccessibilityURL
	env["CASELLARIO_PRIVACY_URL"] = d.Page.PrivacyURL
	env["CASELLARIO_LEGAL_URL"] = d.Page.LegalURL
}

func joinComma(v []string) string {
	out := ""
	for i, s := range v {
		if i > 0 {
			out += ","
		}
		out += s
	}
	return out
}

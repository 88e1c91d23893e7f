// Package api is the offices' HTTP API and web page: one net/http handler that
// the API Gateway HTTP API reaches through the Lambda adapter (LambdaHandler)
// and that the local run serves directly.
//
// # Routes
//
// Everything JSON lives under /api/v1/ (openapi.json in this folder is the
// contract, served at /api/v1/openapi.json, and a test checks that it and the
// router agree); the web page (web/, embedded) is served at /.
//
// # Who may do what
//
// Every /api/v1/ route but openapi.json, config, template.xlsx and, in the
// local run only, dev/users needs "Authorization: Bearer <JWT>" (see
// JWTAuth for the claims). An office user sees its office's uploads, batches
// and certificates; a protocol-office user sees its whole Comune and the
// triage queue. Nobody sees another tenant's data: every lookup is keyed by
// the caller's tenant, and another tenant's or another office's id answers
// 404, never 403, so that ids do not reveal what exists.
//
// # Errors
//
// {"error":{"code":"","message":""}}, messages in Italian. Codes: unauthorized
// (401), forbidden (403), not_found (404), method_not_allowed (405), invalid
// (400), conflict (409), too_large (413), internal (500).
//
// Nothing here logs or puts in a URL a person's name, birth date or fiscal
// code: logs carry tenant, office, ids and codes; certificate URLs carry the
// subject id (<upload>-<row>).
package api

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/namelist"
	"github.com/casellario-pec/casellario/shared/report"
	"github.com/casellario-pec/casellario/shared/s3docs"
	"github.com/casellario-pec/casellario/shared/tenants"
)

//go:embed openapi.json
var openapiJSON []byte

//go:embed web
var webFS embed.FS

// OpenAPI returns the OpenAPI 3 document of the API.
func OpenAPI() []byte { return openapiJSON }

// DevUser is a demo user of the local run, with its token.
type DevUser struct {
	User
	Token string `json:"token"`
	Label string `json:"label"` // «Comune di Prato — Ufficio SUAP», as the page offers it
}

// Config holds the handler's dependencies.
type Config struct {
	Store   domain.Store          // required
	Triage  domain.TriageStore    // required
	Docs    *s3docs.Docs          // required
	Tenants *tenants.Config       // required
	Auth    Authenticator         // required
	Assign  domain.TriageAssigner // nil: triage assign answers 500
	// DevUsers, when not nil, enables GET /api/v1/dev/users (local run only)
	// and the page's demo sign-in (a demo user, or a pasted token).
	DevUsers func() []DevUser
	// SignIn is how the page signs in; incomplete: it offers no sign-in
	// but the demo one.
	SignIn SignIn
	// Links are the pages the page's footer links to.
	Links Links
	// ConnectOrigins are the origins beyond its own that the page may fetch
	// from (the token endpoint's). The buckets' origins are added by the
	// handler itself: those of the URLs it presigns.
	ConnectOrigins []string
	PresignTTL     time.Duration // certificate URLs; 0: 5 minutes
	// DirectUploadMax: the page sends larger lists by presigned PUT; 0: DefaultDirectUploadMax.
	DirectUploadMax int64
	Read            namelist.Options // upload limits (MaxBytes); zero: namelist defaults
	Log             *slog.Logger     // nil: slog.Default()
	Now             func() time.Time // nil: time.Now

	// Usage gives what the deployment used from one instant to another, for
	// the report's cost per request; nil: the report has no cost figure.
	Usage        func(ctx context.Context, from, to time.Time) (*report.Usage, error)
	OverdueAfter time.Duration // the report's overdue threshold (CASELLARIO_OVERDUE_AFTER); 0: report.DefaultOverdueAfter
}

// SignIn is the OAuth2 authorization-code flow with PKCE the page signs in
// with, as a public client (Cognito's hosted UI or any OpenID provider):
// the page sends the ID token it gets as its bearer token, so the API's
// audience is ClientID.
type SignIn struct {
	ClientID     string `json:"client_id"`     // CASELLARIO_OIDC_CLIENT_ID
	AuthorizeURL string `json:"authorize_url"` // CASELLARIO_OIDC_AUTHORIZE_URL
	TokenURL     string `json:"token_url"`     // CASELLARIO_OIDC_TOKEN_URL
	// LogoutURL ends the issuer's own session on «Esci» (CASELLARIO_OIDC_LOGOUT_URL): without it the
	// next person at a shared computer would be signed straight back in as the last one.
	LogoutURL string `json:"logout_url,omitempty"`
}

// complete reports whether the page can sign in with s.
func (s SignIn) complete() bool { return s.ClientID != "" && s.AuthorizeURL != "" && s.TokenURL != "" }

// Links are the pages of the page's footer; an empty one is not shown.
type Links struct {
	Accessibility string `json:"accessibility"` // CASELLARIO_ACCESSIBILITY_URL: the accessibility statement
	Privacy       string `json:"privacy"`       // CASELLARIO_PRIVACY_URL: the privacy notice
	Legal         string `json:"legal"`         // CASELLARIO_LEGAL_URL: legal notes
}

// Handler is the API and the web page.
type Handler struct {
	cfg    Config
	mux    *http.ServeMux
	routes []Route
	log    *slog.Logger

	cspMu sync.Mutex
	csp   string // the page's Content-Security-Policy, once the buckets' origins are known
}

// Route is one registered API route.
type Route struct {
	Method, Path string
	Public       bool
}

type ctxKey struct{}

// New builds the handler.
func New(cfg Config) *Handler {
	h := &Handler{cfg: cfg, mux: http.NewServeMux(), log: cfg.Log}
	if h.log == nil {
		h.log = slog.Default()
	}
	pub := func(method, path string, fn http.HandlerFunc) {
		h.routes = append(h.routes, Route{method, path, true})
		h.mux.Handle(method+" "+path, fn)
	}
	auth := func(method, path string, fn func(http.ResponseWriter, *http.Request, User)) {
		h.routes = append(h.routes, Route{method, path, false})
		h.mux.Handle(method+" "+path, h.authenticated(fn))
	}
	const v1 = "/api/v1"
	pub("GET", v1+"/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openapiJSON)
	})
	pub("GET", v1+"/config", h.getConfig)
	pub("GET", v1+"/template.xlsx", h.getTemplate)
	if cfg.DevUsers != nil {
		pub("GET", v1+"/dev/users", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, cfg.DevUsers()) })
	}
	auth("GET", v1+"/me", h.getMe)
	auth("POST", v1+"/uploads", h.postUpload)
	auth("POST", v1+"/uploads/presign", h.postPresign)
	auth("GET", v1+"/uploads", h.listUploads)
	auth("GET", v1+"/uploads/{id}", h.getUpload)
	auth("GET", v1+"/uploads/{id}/report.json", h.getReport)
	auth("GET", v1+"/uploads/{id}/refused.csv", h.getRefused)
	auth("GET", v1+"/uploads/{id}/refused.xlsx", h.getRefusedXLSX)
	auth("GET", v1+"/uploads/{id}/certificates.zip", h.uploadZip)
	auth("GET", v1+"/batches/{id}/certificates.zip", h.batchZip)
	auth("POST", v1+"/search", h.search)
	auth("GET", v1+"/batches", h.listBatches)
	auth("GET", v1+"/batches/{id}", h.getBatch)
	auth("GET", v1+"/certificates/{subject}", h.getCertificate)
	auth("GET", v1+"/triage", h.protocolOnly(h.listTriage))
	auth("GET", v1+"/triage/{id}", h.protocolOnly(h.getTriage))
	auth("GET", v1+"/triage/{id}/message", h.protocolOnly(h.getTriageMessage))
	auth("GET", v1+"/triage/{id}/requests", h.protocolOnly(h.triageRequests))
	auth("POST", v1+"/triage/{id}/assign", h.protocolOnly(h.assignTriage))
	auth("POST", v1+"/triage/{id}/dismiss", h.protocolOnly(h.dismissTriage))
	auth("POST", v1+"/triage/{id}/certificate", h.protocolOnly(h.chooseCertificate))
	auth("GET", v1+"/report", h.protocolOnly(h.getReportJSON))
	auth("GET", v1+"/report.xlsx", h.protocolOnly(h.getReportXLSX))

	static, _ := fs.Sub(webFS, "web")
	files := http.FileServerFS(static)
	h.mux.Handle("GET /{$}", h.securePage(files))
	for _, name := range webFiles {
		h.mux.Handle("GET /"+name, h.securePage(files))
	}
	return h
}

// webFiles are the page's files served besides index.html.
var webFiles = []string{"app.js", "style.css", "favicon.svg"}

// Routes lists the API routes (for the OpenAPI check).
func (h *Handler) Routes() []Route { return append([]Route(nil), h.routes...) }

// securePage adds the headers of a page that runs only its own code.
func (h *Handler) securePage(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", h.contentPolicy(r.Context()))
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("Cache-Control", "no-cache")
		next.ServeHTTP(w, r)
	})
}

// contentPolicy is the page's Content-Security-Policy: its own code and
// style only, never framed, and fetching from itself, ConnectOrigins (the
// token endpoint) and the two buckets, whose origins are those of URLs
// presigned here, as the API gives them (the uploads bucket for the PUT of
// a large list, the documents bucket for certificates and ZIPs). Until a
// URL can be presigned the policy leaves the buckets out and is not kept.
func (h *Handler) contentPolicy(ctx context.Context) string {
	h.cspMu.Lock()
	defer h.cspMu.Unlock()
	if h.csp != "" {
		return h.csp
	}
	connect := []string{"'self'"}
	add := func(u string) {
		if o := Origin(u); o != "" && !slices.Contains(connect, o) {
			connect = append(connect, o)
		}
	}
	for _, o := range h.cfg.ConnectOrigins {
		add(o)
	}
	known := true
	if d := h.cfg.Docs; d != nil {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		put, err := d.PresignPut(ctx, d.Upload("origin"), "text/csv", 1, nil, time.Minute, h.now())
		if err == nil {
			add(put.URL)
			var get string
			if get, err = d.PresignGet(ctx, d.Document("origin"), time.Minute); err == nil {
				add(get)
			}
		}
		if err != nil {
			h.log.WarnContext(ctx, "api: the buckets' origins are unknown: the page cannot reach them", "err", err)
			known = false
		}
	}
	policy := "default-src 'self'; img-src 'self' data:; connect-src " + strings.Join(connect, " ") +
		"; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
	if known {
		h.csp = policy
	}
	return policy
}

// Origin is the origin (scheme://host[:port]) of an http or https URL; ""
// for anything else.
func Origin(u string) string {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" || p.User != nil {
		return ""
	}
	return p.Scheme + "://" + strings.ToLower(p.Host)
}

// ServeHTTP routes a request; unknown API paths and methods answer JSON errors.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			h.log.ErrorContext(r.Context(), "api: panic", "method", r.Method, "route", routeOf(r), "panic", p)
			writeError(w, http.StatusInternalServerError, "internal", msgInternal)
		}
	}()
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if _, pattern := h.mux.Handler(r); pattern == "" {
		if !strings.HasPrefix(r.URL.Path, "/api/") && r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "Metodo non consentito.")
			return
		}
		// A path that exists with another method is 405, else 404.
		for _, m := range []string{"GET", "POST", "PUT", "DELETE", "PATCH"} {
			if m == r.Method {
				continue
			}
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, p := h.mux.Handler(probe); p != "" {
				w.Header().Set("Allow", m)
				writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "Metodo non consentito per questo indirizzo.")
				return
			}
		}
		writeError(w, http.StatusNotFound, "not_found", "Indirizzo non trovato.")
		return
	}
	h.mux.ServeHTTP(w, r)
}

// routeOf names a request for logs without its path parameters' values.
func routeOf(r *http.Request) string {
	if r.Pattern != "" {
		return r.Pattern
	}
	return r.Method
}

const (
	msgInternal     = "Errore interno. Riprovare più tardi o contattare l'assistenza."
	msgUnauthorized = "Accesso non autorizzato: effettuare di nuovo l'accesso."
	msgNotFound     = "Elemento non trovato."
)

func (h *Handler) authenticated(fn func(http.ResponseWriter, *http.Request, User)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		authz := r.Header.Get("Authorization")
		scheme, token, ok := strings.Cut(authz, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="casellario"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", msgUnauthorized)
			return
		}
		u, err := h.cfg.Auth.Authenticate(r.Context(), strings.TrimSpace(token))
		if err != nil {
			h.log.InfoContext(r.Context(), "api: token refused", "route", routeOf(r), "err", err)
			w.Header().Set("WWW-Authenticate", `Bearer realm="casellario", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", msgUnauthorized)
			return
		}
		t, err := h.cfg.Tenants.Tenant(u.Tenant)
		if err == nil && u.Office != "" {
			_, err = t.Office(u.Office)
		}
		if err != nil {
			h.log.WarnContext(r.Context(), "api: token for an unknown tenant or office", "tenant", u.Tenant, "office", u.Office)
			writeError(w, http.StatusForbidden, "forbidden", "Utente non abilitato: Comune o ufficio non configurato.")
			return
		}
		fn(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, u)), u)
	})
}

func (h *Handler) protocolOnly(fn func(http.ResponseWriter, *http.Request, User)) func(http.ResponseWriter, *http.Request, User) {
	return func(w http.ResponseWriter, r *http.Request, u User) {
		if !u.Protocol() {
			writeError(w, http.StatusForbidden, "forbidden", "Funzione riservata all'ufficio protocollo.")
			return
		}
		fn(w, r, u)
	}
}

// errorBody is the JSON of every error.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	var b errorBody
	b.Error.Code, b.Error.Message = code, message
	writeJSON(w, status, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// fail maps an error of a lower layer to an HTTP answer. Messages of lower
// layers may be English or name internals: office users get Italian ones by
// code; the cause goes to the log (without personal data: lower layers never
// put any in errors).
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var de *domain.Error
	code := domain.ErrorCode(err)
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusServiceUnavailable, "unavailable", "Il servizio non ha risposto in tempo. Riprovare.")
	case errors.As(err, &de) && de.ForUsers:
		writeError(w, statusOf(code), code, de.Message)
	case code == domain.ENOTFOUND:
		writeError(w, http.StatusNotFound, "not_found", msgNotFound)
	case code == domain.ECONFLICT:
		writeError(w, http.StatusConflict, "conflict", "L'operazione non è possibile nello stato attuale: aggiornare la pagina e riprovare.")
	case code == domain.ETOOLARGE:
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "Il file è troppo grande.")
	case code == domain.EINVALID:
		h.log.InfoContext(r.Context(), "api: invalid request", "route", routeOf(r), "err", err)
		writeError(w, http.StatusBadRequest, "invalid", "Richiesta non valida.")
	default:
		h.log.ErrorContext(r.Context(), "api: request failed", "route", routeOf(r), "err", err)
		writeError(w, http.StatusInternalServerError, "internal", msgInternal)
	}
}

// statusOf is the HTTP status of an error code.
func statusOf(code string) int {
	switch code {
	case domain.EINVALID:
		return http.StatusBadRequest
	case domain.ENOTFOUND:
		return http.StatusNotFound
	case domain.ECONFLICT:
		return http.StatusConflict
	case domain.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case domain.EBUSY:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func (h *Handler) now() time.Time {
	if h.cfg.Now != nil {
		return h.cfg.Now()
	}
	return time.Now()
}

var rome = sync.OnceValue(func() *time.Location {
	if l, err := time.LoadLocation("Europe/Rome"); err == nil {
		return l
	}
	return time.FixedZone("CET", 3600)
})

// configView is what the page needs before signing in: whether it may offer
// the demo sign-in, how to sign in (null: no provider configured), and the
// footer's links.
type configView struct {
	Dev             bool    `json:"dev"`
	Auth            *SignIn `json:"auth"`
	Links           Links   `json:"links"`
	DirectUploadMax int64   `json:"direct_upload_max"`
}

// DefaultDirectUploadMax is the largest list the page sends through POST
// /uploads: API Gateway takes 10 MB of request, and the Lambda proxy carries
// a binary body in base64 within its 6 MB; larger lists go by presigned PUT.
const DefaultDirectUploadMax = 4 << 20

func (h *Handler) getConfig(w http.ResponseWriter, r *http.Request) {
	v := configView{Dev: h.cfg.DevUsers != nil, Links: h.cfg.Links, DirectUploadMax: h.cfg.DirectUploadMax}
	if v.DirectUploadMax <= 0 {
		v.DirectUploadMax = DefaultDirectUploadMax
	}
	if h.cfg.SignIn.complete() {
		s := h.cfg.SignIn
		v.Auth = &s
	}
	writeJSON(w, http.StatusOK, v)
}

type officeView struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

type meView struct {
	User
	TenantName string       `json:"tenant_name"`
	Offices    []officeView `json:"offices"` // those the user may act for
}

func (h *Handler) getMe(w http.ResponseWriter, r *http.Request, u User) {
	t, err := h.cfg.Tenants.Tenant(u.Tenant)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := meView{User: u, TenantName: t.Name, Offices: []officeView{}}
	for _, o := range t.Offices {
		if u.Protocol() || o.Code == u.Office {
			v.Offices = append(v.Offices, officeView{o.Code, o.Name})
		}
	}
	writeJSON(w, http.StatusOK, v)
}

// visible reports whether u may see something of office.
func visible(u User, office string) bool { return u.Protocol() || u.Office == office }

// offices are the offices u looks at: its own, or for the protocol office
// the one asked (?office=) or every office of the Comune.
func (h *Handler) offices(r *http.Request, u User) ([]string, error) {
	q := r.URL.Query().Get("office")
	if !u.Protocol() {
		if q != "" && q != u.Office {
			return nil, domain.Errorf(domain.ENOTFOUND, "office not visible")
		}
		return []string{u.Office}, nil
	}
	t, err := h.cfg.Tenants.Tenant(u.Tenant)
	if err != nil {
		return nil, err
	}
	if q != "" {
		if _, err := t.Office(q); err != nil {
			return nil, err
		}
		return []string{q}, nil
	}
	var out []string
	for _, o := range t.Offices {
		out = append(out, o.Code)
	}
	return out, nil
}

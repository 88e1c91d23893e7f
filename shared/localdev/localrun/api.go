package localrun

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/casellario-pec/casellario/shared/api"
	"github.com/casellario-pec/casellario/shared/report"
)

// User is a demo user of the local run, for endpoints.json: sign in to the web
// page with it, or send its token as "Authorization: Bearer ..." to the API.
type User struct {
	Name   string `json:"name"`
	Tenant string `json:"tenant"`
	Office string `json:"office"`
	Role   string `json:"role"` // office | protocol
	Token  string `json:"token"`
}

// Demo tokens live as long as the run could; a new run signs with a new key.
const (
	localIssuer   = "casellario-local"
	localAudience = "casellario"
	demoTokenTTL  = 30 * 24 * time.Hour
)

// demoUsers mints one office user per office of each tenant and one
// protocol-office user per tenant.
func demoUsers(iss *api.LocalIssuer, r *Run) ([]User, error) {
	var out []User
	add := func(u api.User) error {
		tok, err := iss.Sign(u, demoTokenTTL)
		if err != nil {
			return err
		}
		out = append(out, User{Name: u.Name, Tenant: u.Tenant, Office: u.Office, Role: u.Role, Token: tok})
		return nil
	}
	for _, t := range r.Tenants.Tenants {
		for _, o := range t.Offices {
			if err := add(api.User{Name: strings.ToLower(o.Code) + "@" + t.ID, Tenant: t.ID, Office: o.Code, Role: api.RoleOffice}); err != nil {
				return nil, err
			}
		}
		if err := add(api.User{Name: "protocollo@" + t.ID, Tenant: t.ID, Role: api.RoleProtocol}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// serveAPI serves the offices' API and web page on loopback (Options.APIAddr,
// else a free port; a busy APIAddr falls back to a free port), with tokens
// signed by the run's own ES256 key, and GET /api/v1/dev/users listing the
// demo users.
// listenAPI takes the API's address before anything is wired, so that the
// e-mails to offices can link to the page.
func (r *Run) listenAPI() error {
	addr := r.opts.APIAddr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil && addr != "127.0.0.1:0" {
		r.log.Warn("api: address busy; using a free port", "addr", addr, "err", err)
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		return err
	}
	r.apiListener = l
	r.closers = append(r.closers, func() { _ = l.Close() })
	return nil
}

// userLabel names a demo user as a clerk would: «Comune di Prato — Ufficio SUAP».
func (r *Run) userLabel(tenant, office, role string) string {
	t, err := r.Tenants.Tenant(tenant)
	if err != nil {
		return tenant
	}
	who := "Ufficio protocollo"
	if role != api.RoleProtocol {
		who = office
		if o, err := t.Office(office); err == nil && o.Name != "" {
			who = o.Name
		}
	}
	return t.Name + " — " + who
}

// serveAPI serves the API on the address listenAPI took.
func (r *Run) serveAPI() (string, []User, error) {
	iss, err := api.NewLocalIssuer(localIssuer, localAudience)
	if err != nil {
		return "", nil, err
	}
	users, err := demoUsers(iss, r)
	if err != nil {
		return "", nil, err
	}
	dev := make([]api.DevUser, len(users))
	for i, u := range users {
		dev[i] = api.DevUser{User: api.User{Name: u.Name, Tenant: u.Tenant, Office: u.Office, Role: u.Role}, Token: u.Token,
			Label: r.userLabel(u.Tenant, u.Office, u.Role)}
	}
	h := api.New(api.Config{Store: r.Store, Triage: r.Store, Docs: r.Docs, Tenants: r.Tenants, Auth: iss.Auth(),
		Assign: r.pipeline.poll, DevUsers: func() []api.DevUser { return dev }, Log: r.log.With("function", "api"),
		DirectUploadMax: r.opts.DirectUploadMax,
		Usage:           func(ctx context.Context, _, _ time.Time) (*report.Usage, error) { return r.Usage(ctx) }})
	l := r.apiListener
	srv := &http.Server{Handler: r.meter.timed("api", h), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.log.Error("api stopped", "err", err)
		}
	}()
	r.closers = append(r.closers, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return "http://" + l.Addr().String(), users, nil
}

package api

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/casellario-pec/casellario/shared/config"
)

// Roles a user may have.
const (
	RoleOffice   = "office"   // a clerk of one office: that office's uploads, batches, certificates
	RoleProtocol = "protocol" // the protocol office: the whole Comune, and the triage queue
)

// Claim names read from a token. Generic OIDC issuers put them as they are;
// Cognito ID tokens carry the custom attributes (custom:tenant, custom:office)
// and the user's groups (cognito:groups: a user in ProtocolGroup has the
// protocol role, others the office role).
const (
	ClaimTenant        = "tenant"
	ClaimOffice        = "office"
	ClaimRole          = "role"
	ClaimCognitoTenant = "custom:tenant"
	ClaimCognitoOffice = "custom:office"
	ClaimCognitoGroups = "cognito:groups"
	DefaultProtocolGrp = "protocollo"
)

// User is who makes a request, as the token says.
type User struct {
	Name   string `json:"name"`
	Tenant string `json:"tenant"`
	Office string `json:"office,omitempty"`
	Role   string `json:"role"`
}

// Protocol reports whether the user is of the protocol office.
func (u User) Protocol() bool { return u.Role == RoleProtocol }

// Authenticator turns a bearer token into a user. Errors mean 401.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (User, error)
}

// KeySource gives the keys that may have signed a token.
type KeySource interface {
	Keys(ctx context.Context, kid string) ([]jose.JSONWebKey, error)
}

// StaticKeys is a fixed key set (the local run's own key).
type StaticKeys struct{ Set jose.JSONWebKeySet }

// Keys returns the keys with kid (all when kid is empty).
func (s StaticKeys) Keys(_ context.Context, kid string) ([]jose.JSONWebKey, error) {
	if kid == "" {
		return s.Set.Keys, nil
	}
	return s.Set.Key(kid), nil
}

// RemoteKeys fetches a JWKS document over HTTPS and caches it; an unknown
// kid fetches it again, at most once a minute (key rotation).
type RemoteKeys struct {
	URL    string // the JWKS; empty: discovered from Issuer's /.well-known/openid-configuration
	Issuer string
	Client *http.Client

	mu      sync.Mutex
	set     jose.JSONWebKeySet
	fetched time.Time
}

// Keys returns the keys with kid.
func (r *RemoteKeys) Keys(ctx context.Context, kid string) ([]jose.JSONWebKey, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if keys := r.set.Key(kid); len(keys) > 0 {
		return keys, nil
	}
	if !r.fetched.IsZero() && time.Since(r.fetched) < time.Minute {
		return nil, nil
	}
	if err := r.fetch(ctx); err != nil {
		return nil, err
	}
	if kid == "" {
		return r.set.Keys, nil
	}
	return r.set.Key(kid), nil
}

func (r *RemoteKeys) getJSON(ctx context.Context, url string, v any) error {
	c := r.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v)
}

func (r *RemoteKeys) fetch(ctx context.Context) error {
	url := r.URL
	if url == "" {
		var disc struct {
			JWKSURI string `json:"jwks_uri"`
		}
		if err := r.getJSON(ctx, strings.TrimSuffix(r.Issuer, "/")+"/.well-known/openid-configuration", &disc); err != nil {
			return fmt.Errorf("OIDC discovery: %w", err)
		}
		if disc.JWKSURI == "" {
			return errors.New("OIDC discovery: no jwks_uri")
		}
		url = disc.JWKSURI
		r.URL = url
	}
	var set jose.JSONWebKeySet
	if err := r.getJSON(ctx, url, &set); err != nil {
		return fmt.Errorf("JWKS: %w", err)
	}
	r.set, r.fetched = set, time.Now()
	return nil
}

// JWTAuth verifies signed JWTs (RS256 or ES256): signature against Keys,
// issuer, audience, expiry (required), then reads the claims.
type JWTAuth struct {
	Issuer        string
	Audience      string
	Keys          KeySource
	ProtocolGroup string           // Cognito group of the protocol office; "" means DefaultProtocolGrp
	Now           func() time.Time // nil: time.Now
}

var errToken = errors.New("invalid token")

type claims struct {
	jwt.Claims
	Tenant        string   `json:"tenant"`
	Office        string   `json:"office"`
	Role          string   `json:"role"`
	CognitoTenant string   `json:"custom:tenant"`
	CognitoOffice string   `json:"custom:office"`
	Groups        []string `json:"cognito:groups"`
	Username      string   `json:"cognito:username"`
	Preferred     string   `json:"preferred_username"`
	Email         string   `json:"email"`
	TokenUse      string   `json:"token_use"`
}

// Authenticate verifies token and returns its user.
func (a *JWTAuth) Authenticate(ctx context.Context, token string) (User, error) {
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil || len(tok.Headers) != 1 {
		return User{}, errToken
	}
	keys, err := a.Keys.Keys(ctx, tok.Headers[0].KeyID)
	if err != nil {
		return User{}, fmt.Errorf("%w: keys: %v", errToken, err)
	}
	var c claims
	verified := false
	for _, k := range keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		if err := tok.Claims(k.Key, &c); err == nil {
			verified = true
			break
		}
	}
	if !verified {
		return User{}, errToken
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	if c.Expiry == nil {
		return User{}, fmt.Errorf("%w: no exp", errToken)
	}
	exp := jwt.Expected{Issuer: a.Issuer, Time: now()}
	if a.Audience != "" {
		exp.AnyAudience = jwt.Audience{a.Audience}
	}
	if err := c.Claims.ValidateWithLeeway(exp, 30*time.Second); err != nil {
		return User{}, fmt.Errorf("%w: %v", errToken, err)
	}
	if c.TokenUse != "" && c.TokenUse != "id" {
		return User{}, fmt.Errorf("%w: a Cognito %s token; send the ID token", errToken, c.TokenUse)
	}
	u := User{Tenant: first(c.Tenant, c.CognitoTenant), Office: first(c.Office, c.CognitoOffice), Role: c.Role,
		Name: first(c.Preferred, c.Username, c.Email, c.Subject)}
	if u.Role == "" {
		u.Role = RoleOffice
		grp := a.ProtocolGroup
		if grp == "" {
			grp = DefaultProtocolGrp
		}
		for _, g := range c.Groups {
			if g == grp {
				u.Role = RoleProtocol
			}
		}
	}
	switch {
	case u.Name == "" || u.Tenant == "":
		return User{}, fmt.Errorf("%w: no user name or tenant", errToken)
	case u.Role != RoleOffice && u.Role != RoleProtocol:
		return User{}, fmt.Errorf("%w: role %q", errToken, u.Role)
	case u.Role == RoleOffice && u.Office == "":
		return User{}, fmt.Errorf("%w: office user without office", errToken)
	}
	return u, nil
}

func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// NewJWTAuth configures token verification for AWS: the issuer (Cognito:
// https://cognito-idp.<region>.amazonaws.com/<user-pool-id>) and the audience
// (the app client id) are required; the JWKS URL is discovered from the
// issuer when empty; the protocol office's group defaults to "protocollo".
func NewJWTAuth(a config.Auth) (*JWTAuth, error) {
	if err := config.Require("CASELLARIO_OIDC_ISSUER", a.Issuer, "CASELLARIO_OIDC_AUDIENCE", a.Audience); err != nil {
		return nil, err
	}
	return &JWTAuth{Issuer: a.Issuer, Audience: a.Audience, ProtocolGroup: a.ProtocolGroup,
		Keys: &RemoteKeys{URL: a.JWKS, Issuer: a.Issuer}}, nil
}

// LocalIssuer signs tokens for the local run's demo users with its own ES256
// key; Auth verifies them with the same code as in AWS.
type LocalIssuer struct {
	Issuer, Audience string
	key              *ecdsa.PrivateKey
	kid              string
}

// NewLocalIssuer makes a fresh key.
func NewLocalIssuer(issuer, audience string) (*LocalIssuer, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return &LocalIssuer{Issuer: issuer, Audience: audience, key: k, kid: "local-" + time.Now().UTC().Format("20060102T150405")}, nil
}

// JWKS is the public key set.
func (l *LocalIssuer) JWKS() jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &l.key.PublicKey, KeyID: l.kid, Algorithm: string(jose.ES256), Use: "sig"}}}
}

// Auth verifies tokens of this issuer.
func (l *LocalIssuer) Auth() *JWTAuth {
	return &JWTAuth{Issuer: l.Issuer, Audience: l.Audience, Keys: StaticKeys{l.JWKS()}}
}

// Sign mints a token for u valid for ttl.
func (l *LocalIssuer) Sign(u User, ttl time.Duration) (string, error) {
	return l.SignClaims(map[string]any{"sub": u.Name, "preferred_username": u.Name, ClaimTenant: u.Tenant,
		ClaimOffice: u.Office, ClaimRole: u.Role}, ttl)
}

// SignClaims mints a token with any claims (tests), adding iss, aud, iat and exp.
func (l *LocalIssuer) SignClaims(extra map[string]any, ttl time.Duration) (string, error) {
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: l.key, KeyID: l.kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	now := time.Now()
	std := jwt.Claims{Issuer: l.Issuer, Audience: jwt.Audience{l.Audience}, IssuedAt: jwt.NewNumericDate(now),
		Expiry: jwt.NewNumericDate(now.Add(ttl))}
	return jwt.Signed(sig).Claims(std).Claims(extra).Serialize()
}

package api_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/casellario-pec/casellario/shared/api"
	"github.com/casellario-pec/casellario/shared/localdev/needs"
)

// fakeProvider is an OpenID provider for the page's sign-in: its authorize
// endpoint answers at once with a code, its token endpoint checks the PKCE
// verifier and answers an ID token with the nonce it was given.
type fakeProvider struct {
	t        *testing.T
	clientID string
	srv      *httptest.Server

	mu                         sync.Mutex
	authorized, exchanged      int
	loggedOut                  []url.Values
	state, nonce, challenge    string
	redirect, scope, challMeth string
}

func newFakeProvider(t *testing.T, clientID string) *fakeProvider {
	p := &fakeProvider{t: t, clientID: clientID}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		p.mu.Lock()
		defer p.mu.Unlock()
		p.authorized++
		if q.Get("response_type") != "code" || q.Get("client_id") != clientID || q.Get("state") == "" || q.Get("nonce") == "" {
			http.Error(w, "bad authorize request: "+r.URL.RawQuery, http.StatusBadRequest)
			return
		}
		p.state, p.nonce, p.challenge, p.challMeth = q.Get("state"), q.Get("nonce"), q.Get("code_challenge"), q.Get("code_challenge_method")
		p.redirect, p.scope = q.Get("redirect_uri"), q.Get("scope")
		http.Redirect(w, r, p.redirect+"?code=the-code&state="+url.QueryEscape(p.state), http.StatusFound)
	})
	mux.HandleFunc("GET /logout", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		p.mu.Lock()
		p.loggedOut = append(p.loggedOut, q)
		p.mu.Unlock()
		if q.Get("client_id") != clientID || q.Get("logout_uri") == "" {
			http.Error(w, "bad logout request: "+r.URL.RawQuery, http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, q.Get("logout_uri"), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		p.mu.Lock()
		defer p.mu.Unlock()
		p.exchanged++
		if err := r.ParseForm(); err != nil || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			http.Error(w, "not a form", http.StatusBadRequest)
			return
		}
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if r.PostForm.Get("grant_type") != "authorization_code" || r.PostForm.Get("client_id") != clientID || r.PostForm.Get("code") != "the-code" ||
			r.PostForm.Get("redirect_uri") != p.redirect || base64.RawURLEncoding.EncodeToString(sum[:]) != p.challenge {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		u := officeUser(prato, "URBANIZZAZIONE")
		tok, err := issuer.SignClaims(map[string]any{"sub": u.Name, "preferred_username": u.Name, api.ClaimTenant: u.Tenant,
			api.ClaimOffice: u.Office, api.ClaimRole: u.Role, "nonce": p.nonce}, time.Hour)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"id_token": tok, "access_token": "not-for-the-api", "token_type": "Bearer", "expires_in": 3600})
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *fakeProvider) counts() (int, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.authorized, p.exchanged
}

// TestBrowserSignIn: with an OpenID provider configured, the page offers
// only its sign-in (no demo users, no token to paste), goes through the code
// flow with PKCE (S256, state and nonce checked, the code exchanged by
// fetch, which the page's policy allows) and comes back to the view it was
// asked for; an answer it did not ask for and a token the API refuses bring
// the sign-in card back with a message, never a redirect; the footer shows
// the links configured and only those.
func TestBrowserSignIn(t *testing.T) {
	needs.Server(t, needs.Browser)
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the browser test needs Debian's chromium at %s (%v): run `make test`, which installs it (apt-get install chromium)", chromiumPath, err)
	}
	local(t)
	idp := newFakeProvider(t, issuer.Audience)
	site := httptest.NewServer(newHandler(api.Config{
		SignIn: api.SignIn{ClientID: issuer.Audience, AuthorizeURL: idp.srv.URL + "/authorize", TokenURL: idp.srv.URL + "/token",
			LogoutURL: idp.srv.URL + "/logout"},
		ConnectOrigins: []string{api.Origin(idp.srv.URL)},
		Links:          api.Links{Accessibility: "https://comune.example.test/accessibilita", Legal: "https://comune.example.test/note-legali"},
	}))
	defer site.Close()
	ctx, _ := startBrowser(t, t.TempDir())
	b := &page{t: t, ctx: ctx, width: 1280, shots: os.Getenv("CASELLARIO_SCREENSHOT_DIR")}

	b.do("open a deep link", chromedp.Navigate(site.URL+"/#/richieste"), chromedp.WaitVisible(chromedp.ID("accedi")))
	if n := b.count("#form-demo, #form-token, #utente-demo"); n != 0 {
		t.Errorf("the page offers the demo sign-in or a token to paste outside the local run (%d elements)", n)
	}
	if href := b.attr("#link-accessibilita", "href"); href != "https://comune.example.test/accessibilita" {
		t.Errorf("accessibility statement links to %q", href)
	}
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[[]bool](`['link-accessibilita', 'link-privacy', 'link-note-legali'].map((id) => !document.getElementById(id).closest('[hidden]'))`))
	if err != nil || len(shown) != 3 || !shown[0] || shown[1] || !shown[2] {
		t.Errorf("footer links shown: %v %v; want accessibility and legal notes, not the privacy notice (no URL)", shown, err)
	}
	b.audit("accesso-oidc")

	b.do("sign in", chromedp.Click(chromedp.ID("accedi")))
	b.wait("the requests after signing in", `document.title.startsWith('Richieste alla Procura') && !document.getElementById('vista').hasAttribute('aria-busy')`)
	where, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[location.search, location.hash, sessionStorage.getItem('casellario.pkce') || '']`))
	if err != nil || where[0] != "" || where[1] != "#/richieste" || where[2] != "" {
		t.Errorf("after signing in: search %q, hash %q, saved PKCE %q (%v); want no code in the address, the view asked for, nothing kept", where[0], where[1], where[2], err)
	}
	if who := b.text("#utente-nome"); who != "urbanizzazione@"+prato {
		t.Errorf("signed in as %q", who)
	}
	idp.mu.Lock()
	if idp.challMeth != "S256" || idp.scope != "openid email" || idp.redirect != site.URL+"/" || len(idp.state) < 32 || len(idp.nonce) < 32 {
		t.Errorf("authorize request: method %q, scope %q, redirect %q, state %q, nonce %q", idp.challMeth, idp.scope, idp.redirect, idp.state, idp.nonce)
	}
	idp.mu.Unlock()

	// An answer to no request of this page: refused, no exchange, no redirect.
	authorized, exchanged := idp.counts()
	// «Esci» ends the provider's session too, and comes back to the page signed out.
	b.do("sign out", chromedp.Click(chromedp.ID("esci")), chromedp.WaitVisible(chromedp.ID("accedi")))
	b.wait("the farewell", `document.getElementById('avviso').textContent.includes('Uscita effettuata')`)
	idp.mu.Lock()
	if len(idp.loggedOut) != 1 || idp.loggedOut[0].Get("logout_uri") != site.URL+"/" || idp.loggedOut[0].Get("post_logout_redirect_uri") != site.URL+"/" {
		t.Errorf("sign-out requests at the provider: %v; want one, back to %s/", idp.loggedOut, site.URL)
	}
	idp.mu.Unlock()
	if tok, err := chromedp.Run(ctx, chromedp.Evaluate[string](`sessionStorage.getItem('casellario.token') || ''`)); err != nil || tok != "" {
		t.Errorf("after signing out the token is still kept (%v)", err)
	}
	b.do("a forged answer", chromedp.Navigate(site.URL+"/?code=the-code&state=forged"), chromedp.WaitVisible(chromedp.ID("accedi")))
	b.wait("the message", `document.getElementById('errore').textContent.includes('accedere di nuovo')`)
	if a, x := idp.counts(); a != authorized || x != exchanged {
		t.Errorf("a forged answer made %d authorize and %d token requests", a-authorized, x-exchanged)
	}

	// A token the API refuses: the sign-in card and a message, no redirect.
	b.do("a refused token", chromedp.Evaluate[chromedp.Void](`sessionStorage.setItem('casellario.token', 'not.a.token')`),
		chromedp.Navigate("about:blank"), chromedp.Navigate(site.URL+"/#/elenchi"), chromedp.WaitVisible(chromedp.ID("accedi")))
	b.wait("the message", `document.getElementById('errore').textContent.includes('accedere di nuovo')`)
	time.Sleep(300 * time.Millisecond)
	if a, _ := idp.counts(); a != authorized {
		t.Errorf("a refused token sent the browser to the provider %d times", a-authorized)
	}
	left, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(sessionStorage.getItem('casellario.token') || '') + location.origin`))
	if err != nil || left != site.URL {
		t.Errorf("after a refused token: %q %v; want the token gone and the page still here", left, err)
	}
}

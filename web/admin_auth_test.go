package web_test

// Tests of the dashboard's sign-in, sessions, CSRF and the admin route
// table. Each test starts the real application with webtest.Start (SQLite
// in t.TempDir(), blobs on disk, the ingest service, the Echo app behind a
// real HTTP server), and moves its clock instead of sleeping. The helpers here are
// prefixed "auth" to keep them apart from the shared dashboard helpers.

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/net/html"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/storetest"
	"github.com/uplink-video/uplink/web"
	"github.com/uplink-video/uplink/web/account"
	"github.com/uplink-video/uplink/web/webtest"
)

const (
	authEmail    = "owner@example.com"
	authPassword = "correct horse battery staple"
	// authOther is a second admin, signing in from the same address.
	authOther           = "second@example.com"
	authOtherPassword   = "another long passphrase"
	authSessionCookie   = "uplink_session"
	authLoginCSRFCookie = "uplink_login_csrf"
)

// authApp is one running uplink for one test.
type authApp struct {
	t     *testing.T
	url   string
	echo  *echo.Echo
	clock *storetest.Clock
	store *store.Store
}

// authStart starts the application with webtest.Start, with two admin
// accounts. secure sets web.Deps.SecureCookies.
func authStart(t *testing.T, secure bool) *authApp {
	t.Helper()
	w := webtest.Start(t, webtest.WithDeps(func(d *web.Deps) { d.SecureCookies = secure }))
	authCreate(t, w.Store, authEmail, authPassword)
	authCreate(t, w.Store, authOther, authOtherPassword)
	return &authApp{t: t, url: w.URL, echo: w.Echo, clock: w.Clock, store: w.Store}
}

// authCreate creates an admin account whose password hash has bcrypt's
// lowest cost. The server checks a password at the cost recorded in its
// hash, and at account.Create's cost one check takes seconds under the
// race detector on a small machine; these tests sign in hundreds of times.
// TestAdminSignInRealHash covers an account made by account.Create.
func authCreate(t *testing.T, st *store.Store, email, password string) {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateAdmin(context.Background(), email, string(h)); err != nil {
		t.Fatalf("CreateAdmin(%s): %v", email, err)
	}
}

// authResponse is a response read in full.
type authResponse struct {
	status int
	header http.Header
	body   string
	resp   *http.Response
}

// location returns the redirect target.
func (r authResponse) location() string { return r.header.Get("Location") }

// authBrowser is one browser: a cookie jar, and no following of redirects
// so that tests see them.
type authBrowser struct {
	app    *authApp
	client *http.Client
	// loginCSRF is the token of the sign-in form the browser opened last.
	loginCSRF string
}

func (a *authApp) browser() *authBrowser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		a.t.Fatal(err)
	}
	return &authBrowser{app: a, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// authDo sends a request with client and reads the whole response.
func authDo(t *testing.T, client *http.Client, method, u string, form url.Values, header http.Header) authResponse {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return authResponse{status: resp.StatusCode, header: resp.Header, body: string(b), resp: resp}
}

func (b *authBrowser) get(path string, header http.Header) authResponse {
	b.app.t.Helper()
	return authDo(b.app.t, b.client, http.MethodGet, b.app.url+path, nil, header)
}

func (b *authBrowser) post(path string, form url.Values, header http.Header) authResponse {
	b.app.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	return authDo(b.app.t, b.client, http.MethodPost, b.app.url+path, form, header)
}

// loginForm opens the sign-in page (with the query q) and returns its
// form's fields, CSRF token and next included.
func (b *authBrowser) loginForm(q string) url.Values {
	b.app.t.Helper()
	r := b.get("/admin/login"+q, nil)
	if r.status != http.StatusOK {
		b.app.t.Fatalf("GET /admin/login%s: status=%d, want=200", q, r.status)
	}
	b.loginCSRF = authInput(b.app.t, r.body, "_csrf")
	return url.Values{"_csrf": {b.loginCSRF}, "next": {authInput(b.app.t, r.body, "next")}}
}

// signIn fills in and sends the sign-in form. A browser that is signed in
// (whose GET /admin/login redirects) sends the form it opened last, as a
// second tab would.
func (b *authBrowser) signIn(email, password string) authResponse {
	b.app.t.Helper()
	if b.loginCSRF == "" {
		b.loginForm("")
	}
	f := url.Values{"_csrf": {b.loginCSRF}, "email": {email}, "password": {password}}
	r := b.post("/admin/login", f, nil)
	if r.status != http.StatusSeeOther {
		// A refusal is the sign-in page again, with a new token.
		b.loginCSRF = authInput(b.app.t, r.body, "_csrf")
	}
	return r
}

// mustSignIn signs in and fails the test unless it worked.
func (b *authBrowser) mustSignIn(email, password string) authResponse {
	b.app.t.Helper()
	r := b.signIn(email, password)
	if r.status != http.StatusSeeOther || r.location() != "/admin/links" {
		b.app.t.Fatalf("sign in as %s: status=%d Location=%q, want=303 /admin/links; error: %q",
			email, r.status, r.location(), authTestID(r.body, "login-error"))
	}
	return r
}

// cookie returns the value the browser holds for a cookie, or "".
func (b *authBrowser) cookie(name string) string {
	u, _ := url.Parse(b.app.url + "/admin/login")
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// signedIn reports whether the browser's session is live: GET /admin goes
// on to the dashboard with one and to the sign-in page without.
func (b *authBrowser) signedIn() bool {
	b.app.t.Helper()
	return authSignedIn(b.app.t, b.client, b.app.url, nil)
}

// authSignedIn asks GET /admin whether the request's session is live.
func authSignedIn(t *testing.T, client *http.Client, base string, header http.Header) bool {
	t.Helper()
	r := authDo(t, client, http.MethodGet, base+"/admin", nil, header)
	switch {
	case r.status == http.StatusSeeOther && r.location() == "/admin/links":
		return true
	case r.status == http.StatusSeeOther && strings.HasPrefix(r.location(), "/admin/login?"):
		return false
	}
	t.Fatalf("GET /admin: status=%d Location=%q, want a redirect to the dashboard or the sign-in page", r.status, r.location())
	return false
}

// replay sends GET /admin with only the given session cookie, as an
// attacker holding a copy of it would, and reports whether it is live.
func (a *authApp) replay(value string) bool {
	a.t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return authSignedIn(a.t, client, a.url, http.Header{"Cookie": {authSessionCookie + "=" + value}})
}

// csrfToken returns the CSRF token of the browser's session: the one the
// dashboard's pages put in their sign-out form. While no dashboard page
// renders yet (the screens answer 501 until they are built), it is read
// from the session's record, found through the cookie as the server finds
// it.
func (b *authBrowser) csrfToken() string {
	b.app.t.Helper()
	t := b.app.t
	ctx := context.Background()
	hashKey, blockKey, err := b.app.store.SessionKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/admin", nil)
	req.AddCookie(&http.Cookie{Name: authSessionCookie, Value: b.cookie(authSessionCookie)})
	sess, err := sessions.NewCookieStore(hashKey, blockKey).Get(req, authSessionCookie)
	if err != nil {
		t.Fatalf("decoding the session cookie: %v", err)
	}
	id, _ := sess.Values["id"].(string)
	sum := sha256.Sum256([]byte(id))
	rec, err := b.app.store.FindAdminSession(ctx, sum[:], 24*time.Hour)
	if err != nil {
		t.Fatalf("the browser has no session: %v", err)
	}
	r := b.get("/admin/links", nil)
	switch r.status {
	case http.StatusNotImplemented:
	case http.StatusOK:
		if got, want := authInput(t, r.body, "_csrf"), rec.CSRFToken; got != want {
			t.Fatalf("GET /admin/links: the page's _csrf=%q, want the session's %q", got, want)
		}
	default:
		t.Fatalf("GET /admin/links: status=%d, want=200", r.status)
	}
	return rec.CSRFToken
}

// authFind returns the first element below n for which match is true.
func authFind(n *html.Node, match func(*html.Node) bool) *html.Node {
	if n.Type == html.ElementNode && match(n) {
		return n
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if m := authFind(c, match); m != nil {
			return m
		}
	}
	return nil
}

func authAttr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func authParse(body string) *html.Node {
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		panic(err) // html.Parse fails only on reader errors.
	}
	return doc
}

// authInput returns the value of the first input named name.
func authInput(t *testing.T, body, name string) string {
	t.Helper()
	n := authFind(authParse(body), func(n *html.Node) bool {
		v, _ := authAttr(n, "name")
		return n.Data == "input" && v == name
	})
	if n == nil {
		t.Fatalf("no input named %q in:\n%s", name, body)
	}
	v, _ := authAttr(n, "value")
	return v
}

// authTestID returns the text of the element with the data-testid, or the
// value of an input with it; "" when there is none.
func authTestID(body, id string) string {
	n := authFind(authParse(body), func(n *html.Node) bool {
		v, _ := authAttr(n, "data-testid")
		return v == id
	})
	if n == nil {
		return ""
	}
	if n.Data == "input" {
		v, _ := authAttr(n, "value")
		return v
	}
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.TrimSpace(b.String())
}

// authSetCookie returns the last Set-Cookie of a response for name that
// sets it (rather than deleting it).
func authSetCookie(r authResponse, name string) *http.Cookie {
	var found *http.Cookie
	for _, c := range r.resp.Cookies() {
		if c.Name == name && c.MaxAge >= 0 && c.Value != "" {
			found = c
		}
	}
	return found
}

// authConcrete turns a route path into a request path: parameters get a
// plausible value and a wildcard an address nothing else serves.
func authConcrete(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		switch {
		case strings.HasPrefix(s, ":"):
			segs[i] = "ab12cd34ef56gh78ij90kl"
		case s == "*":
			segs[i] = "no-such-page"
		}
	}
	return strings.Join(segs, "/")
}

// authAdminRoutes returns every route of the real table under /admin
// except the sign-in page, as (method, request path) pairs. Catch-all
// routes (Echo's "route not found" for the group) are tried as GET and POST.
func authAdminRoutes(t *testing.T, e *echo.Echo) [][2]string {
	t.Helper()
	seen := map[[2]string]bool{}
	var out [][2]string
	add := func(method, path string) {
		k := [2]string{method, path}
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	for _, r := range e.Routes() {
		if r.Path != "/admin" && !strings.HasPrefix(r.Path, "/admin/") || r.Path == "/admin/login" {
			continue
		}
		p := authConcrete(r.Path)
		if r.Method == echo.RouteNotFound {
			add(http.MethodGet, p)
			add(http.MethodPost, p)
			continue
		}
		add(r.Method, p)
	}
	// The table must at least hold these; an empty walk proves nothing.
	for _, want := range [][2]string{{"GET", "/admin/links"}, {"POST", "/admin/logout"}, {"GET", "/admin/no-such-page"}} {
		if !seen[want] {
			t.Fatalf("the route walk has no %s %s; routes: %v", want[0], want[1], out)
		}
	}
	return out
}

func authStateChanging(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// TestAdminRouteTable walks the real route table: every /admin route but
// the sign-in page refuses a request without a session (pages redirect to
// sign-in and come back, scripts get 401), and every state-changing one
// refuses a signed-in request without the CSRF token or from another
// site. A route added outside the admin group fails here.
func TestAdminRouteTable(t *testing.T) {
	t.Parallel()
	app := authStart(t, false)
	routes := authAdminRoutes(t, app.echo)
	anon := app.browser()

	for _, rt := range routes {
		method, path := rt[0], rt[1]
		if method == http.MethodGet {
			r := anon.get(path, nil)
			if got, want := r.status, http.StatusSeeOther; got != want {
				t.Errorf("GET %s without a session: status=%d, want=%d", path, got, want)
			} else if got, want := r.location(), "/admin/login?next="+url.QueryEscape(path); got != want {
				t.Errorf("GET %s without a session: Location=%q, want=%q", path, got, want)
			}
			for _, accept := range []string{"application/json", "application/json; charset=utf-8", "text/event-stream"} {
				r := anon.get(path, http.Header{"Accept": {accept}})
				if got, want := r.status, http.StatusUnauthorized; got != want {
					t.Errorf("GET %s (Accept: %s) without a session: status=%d, want=%d", path, accept, got, want)
				}
			}
			continue
		}
		// Unauthenticated comes first: no session is reported as such,
		// whether or not the request has a CSRF token or is cross-site.
		for _, h := range []http.Header{
			nil,
			{"X-Csrf-Token": {"forged"}},
			{"Sec-Fetch-Site": {"cross-site"}},
		} {
			r := authDo(t, anon.client, method, app.url+path, url.Values{}, h)
			if got, want := r.status, http.StatusUnauthorized; got != want {
				t.Errorf("%s %s without a session (headers %v): status=%d, want=%d", method, path, h, got, want)
			}
		}
	}

	admin := app.browser()
	admin.mustSignIn(authEmail, authPassword)
	token := admin.csrfToken()
	for _, rt := range routes {
		method, path := rt[0], rt[1]
		if !authStateChanging(method) {
			continue
		}
		for _, tt := range []struct {
			description string
			header      http.Header
		}{
			{"no CSRF token", nil},
			{"a wrong CSRF token", http.Header{"X-Csrf-Token": {token + "x"}}},
			{"the token, cross-site", http.Header{"X-Csrf-Token": {token}, "Sec-Fetch-Site": {"cross-site"}}},
			{"the token, from another origin", http.Header{"X-Csrf-Token": {token}, "Origin": {"https://evil.example"}}},
		} {
			r := authDo(t, admin.client, method, app.url+path, url.Values{}, tt.header)
			if got, want := r.status, http.StatusForbidden; got != want {
				t.Errorf("%s %s signed in with %s: status=%d, want=%d", method, path, tt.description, got, want)
			}
		}
	}
	if !admin.signedIn() {
		t.Error("the refused requests ended the session")
	}
}

// TestAdminCSRF checks the session's CSRF token on a state-changing
// request (sign-out): refused without it, with a wrong one, or from
// another site even with it; accepted from the page's form.
func TestAdminCSRF(t *testing.T) {
	t.Parallel()
	app := authStart(t, false)
	b := app.browser()
	b.mustSignIn(authEmail, authPassword)
	token := b.csrfToken()
	if token == "" {
		t.Fatal("the dashboard page has an empty _csrf field")
	}

	// The token with its last character changed (to "B" if it was "A").
	wrong := token[:len(token)-1] + "A"
	if wrong == token {
		wrong = token[:len(token)-1] + "B"
	}
	for _, tt := range []struct {
		description string
		form        url.Values
		header      http.Header
	}{
		{"no token", url.Values{}, nil},
		{"an empty token", url.Values{"_csrf": {""}}, nil},
		{"a wrong token", url.Values{"_csrf": {wrong}}, nil},
		{"a wrong header", url.Values{}, http.Header{"X-Csrf-Token": {"nope"}}},
		{"Sec-Fetch-Site: cross-site", url.Values{"_csrf": {token}}, http.Header{"Sec-Fetch-Site": {"cross-site"}}},
		{"Sec-Fetch-Site: same-site", url.Values{"_csrf": {token}}, http.Header{"Sec-Fetch-Site": {"same-site"}}},
		{"an Origin of another site", url.Values{"_csrf": {token}}, http.Header{"Origin": {"https://evil.example"}}},
	} {
		r := b.post("/admin/logout", tt.form, tt.header)
		if got, want := r.status, http.StatusForbidden; got != want {
			t.Errorf("POST /admin/logout with %s: status=%d, want=%d", tt.description, got, want)
		}
		if !strings.Contains(r.header.Get("Content-Type"), "text/html") {
			t.Errorf("POST /admin/logout with %s: Content-Type=%q, want an HTML page", tt.description, r.header.Get("Content-Type"))
		}
		if !b.signedIn() {
			t.Fatalf("POST /admin/logout with %s ended the session", tt.description)
		}
	}

	// The token in a header, as scripts send it, from this origin. Each
	// session has its own token.
	other := app.browser()
	other.mustSignIn(authEmail, authPassword)
	otherToken := other.csrfToken()
	if otherToken == token {
		t.Error("two sessions share a CSRF token")
	}
	if r := other.post("/admin/logout", nil, http.Header{"X-Csrf-Token": {token}}); r.status != http.StatusForbidden {
		t.Errorf("POST /admin/logout with another session's token: status=%d, want=403", r.status)
	}
	r := other.post("/admin/logout", nil, http.Header{
		"X-Csrf-Token": {otherToken}, "Origin": {app.url}, "Sec-Fetch-Site": {"same-origin"},
	})
	if r.status != http.StatusSeeOther || other.signedIn() {
		t.Errorf("POST /admin/logout with X-CSRF-Token: status=%d, want=303 and signed out", r.status)
	}

	r = b.post("/admin/logout", url.Values{"_csrf": {token}}, nil)
	if got, want := r.status, http.StatusSeeOther; got != want {
		t.Fatalf("POST /admin/logout with the page's token: status=%d, want=%d", got, want)
	}
	if got, want := r.location(), "/admin/login"; got != want {
		t.Errorf("POST /admin/logout: Location=%q, want=%q", got, want)
	}
	if b.signedIn() {
		t.Error("still signed in after POST /admin/logout")
	}
}

// TestAdminLoginCSRF checks the sign-in form's double-submit token: the
// cookie and the form field must both be there and match.
func TestAdminLoginCSRF(t *testing.T) {
	t.Parallel()
	app := authStart(t, false)
	creds := url.Values{"email": {authEmail}, "password": {authPassword}}
	with := func(extra url.Values) url.Values {
		f := url.Values{}
		for k, v := range creds {
			f[k] = v
		}
		for k, v := range extra {
			f[k] = v
		}
		return f
	}

	for _, tt := range []struct {
		description string
		cookie      string // "-" for none
		form        url.Values
	}{
		{"neither cookie nor field", "-", creds},
		{"the field without the cookie", "-", with(url.Values{"_csrf": {"abcdefghijklmnopqrstuvwxyz012345"}})},
		{"the cookie without the field", "abcdefghijklmnopqrstuvwxyz012345", creds},
		{"a field not matching the cookie", "abcdefghijklmnopqrstuvwxyz012345", with(url.Values{"_csrf": {"abcdefghijklmnopqrstuvwxyz012346"}})},
		{"an empty cookie and an empty field", "", with(url.Values{"_csrf": {""}})},
	} {
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		h := http.Header{}
		if tt.cookie != "-" {
			h.Set("Cookie", authLoginCSRFCookie+"="+tt.cookie)
		}
		r := authDo(t, client, http.MethodPost, app.url+"/admin/login", tt.form, h)
		if got, want := r.status, http.StatusForbidden; got != want {
			t.Errorf("POST /admin/login with %s: status=%d, want=%d", tt.description, got, want)
		}
		if authSetCookie(r, authSessionCookie) != nil {
			t.Errorf("POST /admin/login with %s: a session cookie was set", tt.description)
		}
		if got := authTestID(r.body, "login-error"); !strings.Contains(got, "expired") {
			t.Errorf("POST /admin/login with %s: error=%q, want one saying the form expired", tt.description, got)
		}
	}

	// Opening the sign-in page in a second tab (or being sent to it
	// again) does not spoil the form in the first.
	b := app.browser()
	first := b.loginForm("")
	if second := b.loginForm("?next=%2Fadmin%2Fkeys"); second.Get("_csrf") != first.Get("_csrf") {
		t.Error("a second copy of the sign-in page has another token than the first")
	}
	r := b.post("/admin/login", with(first), nil)
	if got, want := r.status, http.StatusSeeOther; got != want {
		t.Errorf("POST /admin/login from the first of two tabs: status=%d, want=%d; error: %q", got, want, authTestID(r.body, "login-error"))
	}
	b = app.browser()
	// A cross-site sign-in (login CSRF) is refused even with the pair.
	f := b.loginForm("")
	r = b.post("/admin/login", with(f), http.Header{"Sec-Fetch-Site": {"cross-site"}})
	if got, want := r.status, http.StatusForbidden; got != want {
		t.Errorf("cross-site POST /admin/login: status=%d, want=%d", got, want)
	}
	b.mustSignIn(authEmail, authPassword)
}

// TestAdminSignInErrors checks the refusals of wrong credentials: the same
// message for an unknown email as for a wrong password, and the typed
// email kept (escaped).
func TestAdminSignInErrors(t *testing.T) {
	t.Parallel()
	app := authStart(t, false)
	b := app.browser()

	for _, tt := range []struct {
		description string
		email       string
		password    string
	}{
		{"a wrong password", authEmail, "wrong password, long enough"},
		{"an unknown email", "nobody@example.com", authPassword},
		{"an empty password", authEmail, ""},
		{"markup in the email", `"><script>alert(1)</script>`, "whatever it may be"},
	} {
		r := b.signIn(tt.email, tt.password)
		if got, want := r.status, http.StatusUnauthorized; got != want {
			t.Errorf("sign in with %s: status=%d, want=%d", tt.description, got, want)
		}
		if got, want := authTestID(r.body, "login-error"), "Wrong email or password."; got != want {
			t.Errorf("sign in with %s: error=%q, want=%q", tt.description, got, want)
		}
		if got, want := authTestID(r.body, "login-email"), tt.email; got != want {
			t.Errorf("sign in with %s: the email field holds %q, want=%q", tt.description, got, want)
		}
		if strings.Contains(r.body, "<script>alert(1)") {
			t.Errorf("sign in with %s: the page has the typed markup unescaped", tt.description)
		}
		if authSetCookie(r, authSessionCookie) != nil {
			t.Errorf("sign in with %s: a session cookie was set", tt.description)
		}
	}
	// The email is not case-sensitive.
	b.mustSignIn(strings.ToUpper(authEmail), authPassword)
}

// authThrottled checks that a sign-in was refused as throttled, with a
// message saying when to try again.
func authThrottled(t *testing.T, r authResponse, who, wait string) {
	t.Helper()
	if got, want := r.status, http.StatusTooManyRequests; got != want {
		t.Errorf("sign in as %s: status=%d, want=%d; error: %q", who, got, want, authTestID(r.body, "login-error"))
		return
	}
	msg := authTestID(r.body, "login-error")
	if !regexp.MustCompile(`^Too many .*\. Try again in ` + regexp.QuoteMeta(wait) + `\.$`).MatchString(msg) {
		t.Errorf("sign in as %s: error=%q, want \"Too many ... Try again in %s.\"", who, msg, wait)
	}
	if authSetCookie(r, authSessionCookie) != nil {
		t.Errorf("throttled sign-in as %s set a session cookie", who)
	}
}

// TestAdminLoginThrottlePerAccount: five failures lock the account for 15
// minutes on the clock, even against the right password, while another
// account from the same address still signs in.
func TestAdminLoginThrottlePerAccount(t *testing.T) {
	t.Parallel()
	app := authStart(t, false)
	b := app.browser()
	for i := range 5 {
		if r := b.signIn(authEmail, "a wrong password "+string(rune('a'+i))); r.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: status=%d, want=401", i+1, r.status)
		}
	}
	authThrottled(t, b.signIn(authEmail, authPassword), authEmail, "15 minutes")
	// The account is the same whatever the case or spacing.
	authThrottled(t, b.signIn("  "+strings.ToUpper(authEmail)+" ", authPassword), "the email in capitals", "15 minutes")

	app.browser().mustSignIn(authOther, authOtherPassword)

	app.clock.Advance(10*time.Minute + 30*time.Second)
	authThrottled(t, b.signIn(authEmail, authPassword), authEmail+" 10½ minutes later", "5 minutes")
	app.clock.Advance(4*time.Minute + 29*time.Second)
	authThrottled(t, b.signIn(authEmail, authPassword), authEmail+" a second before the end", "1 minute")
	app.clock.Advance(time.Second)
	b.mustSignIn(authEmail, authPassword)
}

// TestAdminLoginThrottlePerIP: twenty failures from one address, across
// any accounts (known or not, none of them locked), block every sign-in
// from it until the window passes. Forwarded headers do not change the
// address.
func TestAdminLoginThrottlePerIP(t *testing.T) {
	t.Parallel()
	app := authStart(t, false)
	var emails []string
	for i := range 4 {
		e := fmt.Sprintf("extra%d@example.com", i)
		authCreate(t, app.store, e, authPassword)
		emails = append(emails, e)
	}
	// 4 failures for each of five accounts: none reaches its own limit.
	// One of the twenty is for an unknown email.
	var fails []string
	for _, e := range append(emails, authEmail) {
		for range 4 {
			fails = append(fails, e)
		}
	}
	fails[len(fails)-1] = "nobody@example.com"
	b := app.browser()
	for i, email := range fails {
		if r := b.signIn(email, "a wrong password"); r.status != http.StatusUnauthorized {
			t.Fatalf("failure %d (%s): status=%d, want=401", i+1, email, r.status)
		}
		if i == len(fails)-2 {
			// Below both limits, any account still signs in.
			app.browser().mustSignIn(authOther, authOtherPassword)
		}
	}
	authThrottled(t, b.signIn(authOther, authOtherPassword), authOther, "15 minutes")
	authThrottled(t, b.signIn(emails[0], authPassword), emails[0], "15 minutes")

	f := b.loginForm("")
	f.Set("email", authOther)
	f.Set("password", authOtherPassword)
	r := b.post("/admin/login", f, http.Header{"X-Forwarded-For": {"203.0.113.9"}, "X-Real-Ip": {"203.0.113.9"}})
	authThrottled(t, r, authOther+" with X-Forwarded-For", "15 minutes")

	app.clock.Advance(15 * time.Minute)
	b.loginForm("")
	b.mustSignIn(authOther, authOtherPassword)
}

// TestAdminLoginThrottleReset: a successful sign-in forgets the account's
// earlier failures.
func TestAdminLoginThrottleReset(t *testing.T) {
	t.Parallel()
	app := authStart(t, false)
	b := app.browser()
	for range 2 {
		for i := range 4 {
			if r := b.signIn(authEmail, "a wrong password"); r.status != http.StatusUnauthorized {
				t.Fatalf("failure %d: status=%d, want=401", i+1, r.status)
			}
		}
		b.mustSignIn(authEmail, authPassword)
	}
}

// TestAdminSessionCookie checks the session cookie's attributes, with and
// without SecureCookies.
func TestAdminSessionCookie(t *testing.T) {
	t.Parallel()
	for _, secure := range []bool{false, true} {
		app := authStart(t, secure)
		b := app.browser()
		page := b.get("/admin/login", nil)
		csrf := authSetCookie(page, authLoginCSRFCookie)
		if csrf == nil {
			t.Fatalf("secure=%v: GET /admin/login set no %s cookie", secure, authLoginCSRFCookie)
		}
		if !csrf.HttpOnly || csrf.Secure != secure {
			t.Errorf("secure=%v: %s cookie HttpOnly=%v Secure=%v, want HttpOnly and Secure=%v", secure, authLoginCSRFCookie, csrf.HttpOnly, csrf.Secure, secure)
		}
		f := url.Values{"_csrf": {authInput(t, page.body, "_csrf")}, "email": {authEmail}, "password": {authPassword}}
		// The jar keeps a Secure cookie away from http://, so the
		// CSRF cookie goes in by hand.
		r := authDo(t, &http.Client{CheckRedirect: b.client.CheckRedirect}, http.MethodPost, app.url+"/admin/login", f,
			http.Header{"Cookie": {authLoginCSRFCookie + "=" + csrf.Value}})
		c := authSetCookie(r, authSessionCookie)
		if r.status != http.StatusSeeOther || c == nil {
			t.Fatalf("secure=%v: sign in: status=%d, session cookie=%v; want=303 and a cookie", secure, r.status, c)
		}
		for _, check := range []struct {
			attr      string
			got, want any
		}{
			{"HttpOnly", c.HttpOnly, true},
			{"SameSite", c.SameSite, http.SameSiteLaxMode},
			{"Path", c.Path, "/"},
			{"Secure", c.Secure, secure},
		} {
			if check.got != check.want {
				t.Errorf("secure=%v: session cookie %s=%v, want=%v", secure, check.attr, check.got, check.want)
			}
		}
		if c.MaxAge <= 0 || c.MaxAge > int((24*time.Hour)/time.Second) {
			t.Errorf("secure=%v: session cookie Max-Age=%d, want at most the absolute lifetime (24 h)", secure, c.MaxAge)
		}
		if strings.Contains(c.Value, authEmail) || len(c.Value) < 32 {
			t.Errorf("secure=%v: session cookie value %q does not look like a sealed random ID", secure, c.Value)
		}
	}
}

// TestAdminSessionRenewedAtSignIn: signing in again issues a new session
// and ends the one the browser had.
func TestAdminSessionRenewedAtSignIn(t *testing.T) {
	t.Parallel()
	app := authStart(t, false)
	b := app.browser()
	b.mustSignIn(authEmail, authPassword)
	before := b.cookie(authSessionCookie)
	if before == "" || !app.replay(before) {
		t.Fatal("no live session after signing in")
	}
	b.mustSignIn(authEmail, authPassword)
	after := b.cookie(authSessionCookie)
	if after == "" || after == before {
		t.Fatalf("the session cookie did not change at sign-in: before=%q after=%q", before, after)
	}
	if app.replay(before) {
		t.Error("the session from before the sign-in still works")
	}
	if !b.signedIn() {
		t.Error("the new session does not work")
	}
	// Signing in as another admin from the same browser does not keep
	// the first admin's session either.
	b.mustSignIn(authOther, authOtherPassword)
	if app.replay(after) {
		t.Error("the first admin's session survived another admin's sign-in")
	}
}

// TestAdminLogoutEndsSession: after sign-out, a copy of the cookie taken
// before is refused.
func TestAdminLogoutEndsSession(t *testing.T) {
	t.Parallel()
	app := authStart(t, false)
	b := app.browser()
	b.mustSignIn(authEmail, authPassword)
	stolen := b.cookie(authSessionCookie)
	// A second session of the same admin is not affected.
	other := app.browser()
	other.mustSignIn(authEmail, authPassword)

	r := b.post("/admin/logout", url.Values{"_csrf": {b.csrfToken()}}, nil)
	if r.status != http.StatusSeeOther {
		t.Fatalf("POST /admin/logout: status=%d, want=303", r.status)
	}
	if b.cookie(authSessionCookie) != "" {
		t.Error("the browser kept its session cookie after sign-out")
	}
	if app.replay(stolen) {
		t.Error("the session cookie still works after sign-out")
	}
	if !other.signedIn() {
		t.Error("signing out ended the admin's other session")
	}
}

// TestAdminSessionIdleTimeout: a session ends after two hours without a
// request, and requests keep it alive.
func TestAdminSessionIdleTimeout(t *testing.T) {
	t.Parallel()
	app := authStart(t, false)
	b := app.browser()
	b.mustSignIn(authEmail, authPassword)
	for i := range 3 {
		app.clock.Advance(2*time.Hour - time.Minute)
		if !b.signedIn() {
			t.Fatalf("session ended after %d request(s) %v apart", i+1, 2*time.Hour-time.Minute)
		}
	}
	app.clock.Advance(2*time.Hour + time.Minute)
	if b.signedIn() {
		t.Error("session still live after more than 2 h without a request")
	}
	r := b.get("/admin/links", nil)
	if r.status != http.StatusSeeOther || r.location() != "/admin/login?next=%2Fadmin%2Flinks" {
		t.Errorf("GET /admin/links after the idle timeout: status=%d Location=%q, want=303 to sign-in", r.status, r.location())
	}
}

// TestAdminSessionAbsoluteTimeout: a session ends 24 hours after sign-in
// however active it was.
func TestAdminSessionAbsoluteTimeout(t *testing.T) {
	t.Parallel()
	app := authStart(t, false)
	b := app.browser()
	b.mustSignIn(authEmail, authPassword)
	for h := 1; h < 24; h++ {
		app.clock.Advance(time.Hour)
		if !b.signedIn() {
			t.Fatalf("active session ended %d h after sign-in", h)
		}
	}
	app.clock.Advance(59 * time.Minute)
	if !b.signedIn() {
		t.Fatal("active session ended 23 h 59 min after sign-in")
	}
	app.clock.Advance(2 * time.Minute)
	if b.signedIn() {
		t.Error("session still live more than 24 h after sign-in")
	}
}

// TestAdminPasswordResetEndsSessions: account.ResetPassword (which the CLI
// calls) signs the account out everywhere, and only the new password works.
func TestAdminPasswordResetEndsSessions(t *testing.T) {
	t.Parallel()
	app := authStart(t, false)
	b := app.browser()
	b.mustSignIn(authEmail, authPassword)
	other := app.browser()
	other.mustSignIn(authOther, authOtherPassword)

	pw, err := account.ResetPassword(context.Background(), app.store, authEmail, "")
	if err != nil {
		t.Fatalf("ResetPassword: %v", err)
	}
	if b.signedIn() {
		t.Error("the session survived a password reset")
	}
	if !other.signedIn() {
		t.Error("another admin's session ended at a password reset")
	}
	if r := b.signIn(authEmail, authPassword); r.status != http.StatusUnauthorized {
		t.Errorf("sign in with the old password: status=%d, want=401", r.status)
	}
	b.mustSignIn(authEmail, pw)
}

// TestAdminLoginNext: after sign-in the browser returns to the dashboard
// page it asked for, and never leaves the dashboard.
func TestAdminLoginNext(t *testing.T) {
	t.Parallel()
	app := authStart(t, false)

	// The round trip: a page asked for without a session, signing in,
	// and back to that page.
	b := app.browser()
	r := b.get("/admin/videos?q=a%20b&page=2", nil)
	if r.status != http.StatusSeeOther {
		t.Fatalf("GET /admin/videos without a session: status=%d, want=303", r.status)
	}
	loc, err := url.Parse(r.location())
	if err != nil {
		t.Fatal(err)
	}
	f := b.loginForm("?" + loc.RawQuery)
	f.Set("email", authEmail)
	f.Set("password", authPassword)
	r = b.post("/admin/login", f, nil)
	if got, want := r.location(), "/admin/videos?q=a%20b&page=2"; r.status != http.StatusSeeOther || got != want {
		t.Errorf("sign in with next: status=%d Location=%q, want=303 %q", r.status, got, want)
	}

	for _, tt := range []struct {
		next string
		want string
	}{
		{"/admin/keys", "/admin/keys"},
		{"/admin", "/admin"},
		{"", "/admin/links"},
		{"https://evil.example/admin", "/admin/links"},
		{"//evil.example/admin", "/admin/links"},
		{"///evil.example/admin", "/admin/links"},
		{"/\\evil.example/admin", "/admin/links"},
		{"/admin\\@evil.example", "/admin/links"},
		{"/admin.evil.example", "/admin/links"},
		{"/administrator", "/admin/links"},
		{"javascript:alert(1)", "/admin/links"},
		{"/admin/links\r\nSet-Cookie: x=y", "/admin/links"},
		{"/u/abc", "/admin/links"},
	} {
		// Through the page's hidden field.
		b := app.browser()
		f := b.loginForm("?next=" + url.QueryEscape(tt.next))
		f.Set("email", authEmail)
		f.Set("password", authPassword)
		if r := b.post("/admin/login", f, nil); r.location() != tt.want {
			t.Errorf("next=%q via the login page: Location=%q, want=%q", tt.next, r.location(), tt.want)
		}
		// Posted directly.
		b = app.browser()
		f = b.loginForm("")
		f.Set("email", authEmail)
		f.Set("password", authPassword)
		f.Set("next", tt.next)
		if r := b.post("/admin/login", f, nil); r.location() != tt.want {
			t.Errorf("next=%q posted: Location=%q, want=%q", tt.next, r.location(), tt.want)
		}
		// The sign-in page, when already signed in.
		if r := b.get("/admin/login?next="+url.QueryEscape(tt.next), nil); r.status != http.StatusSeeOther || r.location() != tt.want {
			t.Errorf("next=%q signed in: GET /admin/login status=%d Location=%q, want=303 %q", tt.next, r.status, r.location(), tt.want)
		}
	}
}

// TestAdminErrorPages: errors on the dashboard are pages a person can
// read, never stack traces or JSON.
func TestAdminErrorPages(t *testing.T) {
	t.Parallel()
	app := authStart(t, false)
	b := app.browser()
	b.mustSignIn(authEmail, authPassword)

	for _, tt := range []struct {
		description string
		method      string
		path        string
		want        int
	}{
		{"an unknown page", http.MethodGet, "/admin/no-such-page", http.StatusNotFound},
		{"an unknown nested page", http.MethodGet, "/admin/links/x/y/z", http.StatusNotFound},
		{"a refused form", http.MethodPost, "/admin/logout", http.StatusForbidden},
	} {
		r := authDo(t, b.client, tt.method, app.url+tt.path, url.Values{}, nil)
		if got := r.status; got != tt.want {
			t.Errorf("%s %s: status=%d, want=%d", tt.method, tt.path, got, tt.want)
		}
		if got := r.header.Get("Content-Type"); !strings.HasPrefix(got, "text/html") {
			t.Errorf("%s %s: Content-Type=%q, want an HTML page", tt.method, tt.path, got)
		}
		if msg := authTestID(r.body, "error-message"); msg == "" {
			t.Errorf("%s %s: no error message on the page:\n%s", tt.method, tt.path, r.body)
		}
		for _, bad := range []string{"goroutine", ".go:", `{"message"`, "runtime."} {
			if strings.Contains(r.body, bad) {
				t.Errorf("%s %s: the page shows %q:\n%s", tt.method, tt.path, bad, r.body)
			}
		}
		n := authFind(authParse(r.body), func(n *html.Node) bool { return n.Data == "title" })
		if n == nil || n.FirstChild == nil || strings.TrimSpace(n.FirstChild.Data) == "" {
			t.Errorf("%s %s: the error page has no <title>", tt.method, tt.path)
		}
	}
}

// TestAdminSignInRealHash signs in to an account made by account.Create,
// at the real bcrypt cost, and with a password account.ResetPassword
// generated.
func TestAdminSignInRealHash(t *testing.T) {
	t.Parallel()
	app := authStart(t, false)
	const email, password = "real@example.com", "a password at full cost"
	if _, _, err := account.Create(context.Background(), app.store, email, password); err != nil {
		t.Fatalf("account.Create: %v", err)
	}
	b := app.browser()
	b.mustSignIn(email, password)
}

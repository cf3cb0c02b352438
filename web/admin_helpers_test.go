package web_test

// Helpers shared by the dashboard's handler tests (admin_*_test.go). Each
// test starts the real application: SQLite in t.TempDir(), blobs on disk,
// the ingest service, the links service and the Echo app behind a real
// HTTP server. It creates an admin and signs in through the sign-in form,
// as a browser would, with a cookie jar.
//
// The API of this file is shared: add to it, but do not change what is
// here without checking every admin_*_test.go.

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/uplink-video/uplink/web/webtest"
)

// Credentials of the admin every adminApp creates.
const (
	adminEmail    = "admin@example.com"
	adminPassword = "correct horse battery staple"
)

// adminApp is one running instance of uplink (webtest.Start's: its URL,
// store, services, clock and files) with one admin account.
type adminApp struct {
	*webtest.App
	// Client keeps the session cookie and does not follow redirects, so
	// that tests see the redirects themselves.
	Client *http.Client

	csrf string // The session's CSRF token, read from the last page that had one.
}

// newAdminApp starts the application, changed by opts, creates an admin
// (adminEmail, adminPassword) and signs in.
func newAdminApp(t *testing.T, opts ...webtest.Option) *adminApp {
	t.Helper()
	a := newAnonymousApp(t, opts...)
	a.signIn(t)
	return a
}

// newAnonymousApp starts the application with webtest.Start, changed by
// opts (webtest.WithLogger, or webtest.WithDeps for rate limits, say), and creates
// an admin, without signing in.
func newAnonymousApp(t *testing.T, opts ...webtest.Option) *adminApp {
	t.Helper()
	w := webtest.Start(t, opts...)
	authCreate(t, w.Store, adminEmail, adminPassword)
	return &adminApp{App: w, Client: newClient(t)}
}

// newClient returns a client with an empty cookie jar that does not follow
// redirects.
func newClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// signIn signs in as the app's admin through the sign-in form, then loads
// the dashboard to learn the session's CSRF token.
func (a *adminApp) signIn(t *testing.T) {
	t.Helper()
	status, body := a.get(t, "/admin/login")
	if status != http.StatusOK {
		t.Fatalf("GET /admin/login: %d\n%s", status, body)
	}
	token := formCSRF(t, body)
	status, body, loc := a.post(t, "/admin/login", url.Values{
		"_csrf": {token}, "email": {adminEmail}, "password": {adminPassword},
	})
	if status != http.StatusSeeOther {
		t.Fatalf("POST /admin/login: %d, want 303\n%s", status, body)
	}
	// The dashboard's pages carry the CSRF token (in the layout's
	// sign-out form); get remembers it.
	for _, p := range []string{loc, "/admin/links", "/admin/videos", "/admin/keys", "/admin/tokens"} {
		if a.get(t, p); a.csrf != "" {
			return
		}
	}
	t.Fatal("signed in, but no dashboard page showed a CSRF token")
}

// get requests path (relative to the app's URL, or absolute) and returns
// the status and body. It does not follow redirects. When the body holds a
// form with a _csrf field, the token is kept for postForm.
func (a *adminApp) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp := a.do(t, http.MethodGet, path, nil, nil)
	return resp.StatusCode, resp.body
}

// getResponse is get returning the whole response, for tests that check
// headers. The body is in the returned string; resp.Body is closed.
func (a *adminApp) getResponse(t *testing.T, path string, header http.Header) (*http.Response, string) {
	t.Helper()
	resp := a.do(t, http.MethodGet, path, nil, header)
	return resp.Response, resp.body
}

// postForm posts a form to path, adding the session's CSRF token, and
// returns the status, body and Location header.
func (a *adminApp) postForm(t *testing.T, path string, form url.Values) (int, string, string) {
	t.Helper()
	if a.csrf == "" {
		t.Fatalf("POST %s: no CSRF token known yet; sign in and load a dashboard page first", path)
	}
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	f.Set("_csrf", a.csrf)
	return a.post(t, path, f)
}

// post posts a form as it is (without adding a CSRF token).
func (a *adminApp) post(t *testing.T, path string, form url.Values) (int, string, string) {
	t.Helper()
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	resp := a.do(t, http.MethodPost, path, strings.NewReader(form.Encode()), h)
	return resp.StatusCode, resp.body, resp.Header.Get("Location")
}

// csrfToken returns the session's CSRF token, as read from the last page.
func (a *adminApp) csrfToken() string { return a.csrf }

type response struct {
	*http.Response
	body string
}

func (a *adminApp) do(t *testing.T, method, path string, body io.Reader, header http.Header) response {
	t.Helper()
	u := path
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		u = a.URL + path
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := a.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		if tok := findCSRF(string(b)); tok != "" && !strings.Contains(u, "/admin/login") {
			a.csrf = tok
		}
	}
	return response{resp, string(b)}
}

// findCSRF returns the value of the first _csrf input in an HTML page, or "".
func findCSRF(body string) string {
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		return ""
	}
	v, _ := doc.Find(`input[name="_csrf"]`).First().Attr("value")
	return v
}

// formCSRF is findCSRF that fails the test when there is no token.
func formCSRF(t *testing.T, body string) string {
	t.Helper()
	tok := findCSRF(body)
	if tok == "" {
		t.Fatalf("no _csrf field in the page:\n%s", body)
	}
	return tok
}

// parseHTML parses a page for assertions with goquery.
func parseHTML(t *testing.T, body string) *goquery.Document {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// testID selects the elements with the given data-testid.
func testID(doc *goquery.Document, id string) *goquery.Selection {
	return doc.Find(`[data-testid="` + id + `"]`)
}

// getPage gets path, requires 200, and parses the page.
func (a *adminApp) getPage(t *testing.T, path string) *goquery.Document {
	t.Helper()
	status, body := a.get(t, path)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d, want 200\n%s", path, status, body)
	}
	return parseHTML(t, body)
}

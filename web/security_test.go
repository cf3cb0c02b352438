package web_test

// Security properties of the whole application, checked through HTTP on
// the real route table: headers on every response, safe downloads, and
// no secret in the logs. Rate limits are in ratelimit_test.go.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/PuerkitoBio/goquery"
	"github.com/labstack/echo/v4"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/ingest"
	"github.com/uplink-video/uplink/store/storetest"
	"github.com/uplink-video/uplink/web/api"
	"github.com/uplink-video/uplink/web/links"
	"github.com/uplink-video/uplink/web/webtest"
)

// parseCSP splits a Content-Security-Policy into its directives.
func parseCSP(h string) map[string][]string {
	out := map[string][]string{}
	for _, d := range strings.Split(h, ";") {
		f := strings.Fields(d)
		if len(f) > 0 {
			out[strings.ToLower(f[0])] = f[1:]
		}
	}
	return out
}

// secRequest is one request of the header walk.
type secRequest struct {
	path string
	as   string // "anon", "admin" or "api" (Basic with an API key).
	// embed marks the embed route; origins are then the frame-ancestors
	// sources it must list, 'none' when empty.
	embed   bool
	origins []string
}

// secFixtures is what the header walk requests.
type secFixtures struct {
	link, noEmbed, revoked store.Link
	videoID, webhookID     string
	apiKey, uploadToken    string
}

// requestsFor turns a GET route of the table into the requests that cover
// it. It returns nil for a route with parameters that it does not know,
// which fails the test: such a page must be added here to be checked.
func (f secFixtures) requestsFor(method, path string) []secRequest {
	anonAndAdmin := func(p string) []secRequest {
		return []secRequest{{path: p, as: "anon"}, {path: p, as: "admin"}}
	}
	apiAndAnon := func(p string) []secRequest {
		return []secRequest{{path: p, as: "api"}, {path: p, as: "anon"}}
	}
	if method == echo.RouteNotFound {
		return anonAndAdmin(strings.TrimSuffix(path, "/*") + "/no-such-page")
	}
	switch path {
	case "/":
		return []secRequest{{path: "/", as: "anon"}, {path: "/no-such-page", as: "anon"}}
	case "/healthz", "/readyz", "/favicon.ico", "/admin/login":
		return []secRequest{{path: path, as: "anon"}}
	case "/metrics":
		return append(anonAndAdmin(path), secRequest{path: path, as: "api"})
	case "/problems/:code":
		return []secRequest{{path: "/problems/" + ingest.CodeNoSpace, as: "anon"}, {path: "/problems/nope", as: "anon"}}
	case "/static/*":
		// The assets the pages load are added as the walk finds them.
		return []secRequest{{path: "/static/no-such-file.js", as: "anon"}}
	case "/u/:id":
		return []secRequest{{path: "/u/" + f.link.ID, as: "anon"}, {path: "/u/" + f.revoked.ID, as: "anon"}, {path: "/u/lknotalink", as: "anon"}}
	case "/embed/:id":
		return []secRequest{
			{path: "/embed/" + f.link.ID, as: "anon", embed: true, origins: f.link.EmbedOrigins},
			{path: "/embed/" + f.noEmbed.ID, as: "anon", embed: true},
			{path: "/embed/" + f.revoked.ID, as: "anon", embed: true, origins: f.revoked.EmbedOrigins},
			{path: "/embed/lknotalink", as: "anon", embed: true},
		}
	case "/u/:id/state":
		return []secRequest{{path: "/u/" + f.link.ID + "/state", as: "anon"}, {path: "/u/" + f.revoked.ID + "/state", as: "anon"}, {path: "/u/lknotalink/state", as: "anon"}}
	case "/u/:id/uploads/:videoId":
		return []secRequest{{path: "/u/" + f.link.ID + "/uploads/" + f.videoID, as: "anon"}}
	case "/admin", "/admin/links", "/admin/links/new", "/admin/videos", "/admin/keys", "/admin/tokens", "/admin/webhooks":
		return anonAndAdmin(path)
	case "/admin/links/:id", "/admin/links/:id/progress", "/admin/links/:id/qr.svg":
		return anonAndAdmin(strings.Replace(path, ":id", f.link.ID, 1))
	case "/admin/videos/:id", "/admin/videos/:id/thumbnail.jpg", "/admin/videos/:id/preview.mp4":
		return anonAndAdmin(strings.Replace(path, ":id", f.videoID, 1))
	case "/admin/videos/:id/source":
		return append(anonAndAdmin("/admin/videos/"+f.videoID+"/source"),
			secRequest{path: "/admin/videos/" + f.videoID + "/source?download=1", as: "admin"})
	case "/admin/batches/:id", "/admin/batches/:id/links.csv":
		return anonAndAdmin(strings.Replace(path, ":id", "nosuchbatch", 1))
	case "/admin/webhooks/:id":
		return anonAndAdmin("/admin/webhooks/" + f.webhookID)
	case "/videos", "/upload-tokens":
		return apiAndAnon(path)
	case "/videos/:videoId", "/videos/:videoId/status", "/videos/:videoId/source", "/videos/:videoId/thumbnail.jpg":
		return append(apiAndAnon(strings.Replace(path, ":videoId", f.videoID, 1)),
			secRequest{path: strings.Replace(path, ":videoId", "vinotavideo", 1), as: "api"})
	case "/upload-tokens/:uploadToken":
		return apiAndAnon("/upload-tokens/" + f.uploadToken)
	}
	// A route without parameters needs no fixture.
	if !strings.ContainsAny(path, ":*") {
		if strings.HasPrefix(path, "/admin/") {
			return anonAndAdmin(path)
		}
		return []secRequest{{path: path, as: "anon"}}
	}
	return nil
}

// newSecFixtures creates what the route walks request: links (embeddable,
// not embeddable, revoked), a video uploaded through a link, a webhook,
// an API key and an upload token.
func newSecFixtures(t *testing.T, a *adminApp) secFixtures {
	t.Helper()
	ctx := context.Background()
	f := secFixtures{
		link:    seedLink(t, a, links.Spec{EmbedOrigins: []string{"https://a.example", "https://b.example:8443"}}),
		noEmbed: seedLink(t, a, links.Spec{}),
		revoked: seedLink(t, a, links.Spec{EmbedOrigins: []string{"https://c.example"}}),
	}
	if _, err := a.Links.Revoke(ctx, f.revoked.ID); err != nil {
		t.Fatal(err)
	}
	_, f.videoID = vidUploadThroughLink(t, a, "Talk", videoBytes(t, 4000), 0)
	f.webhookID, _ = addWebhook(t, a)
	var err error
	if _, f.apiKey, err = a.Store.CreateAPIKey(ctx, "walk"); err != nil {
		t.Fatal(err)
	}
	tok, err := a.Store.CreateUploadToken(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.uploadToken = tok.ID
	return f
}

// walk returns the requests that cover every GET route of the app's real
// route table (and its not-found routes).
func (f secFixtures) walk(t *testing.T, a *adminApp) []secRequest {
	t.Helper()
	var reqs []secRequest
	for _, r := range a.Echo.Routes() {
		if r.Method != http.MethodGet && r.Method != echo.RouteNotFound {
			continue
		}
		rs := f.requestsFor(r.Method, r.Path)
		if rs == nil {
			t.Errorf("no requests for %s %s: add the route to secFixtures.requestsFor", r.Method, r.Path)
		}
		reqs = append(reqs, rs...)
	}
	if len(reqs) < 40 {
		t.Fatalf("the walk has only %d requests; the route table was not read", len(reqs))
	}
	return reqs
}

// TestSecurityHeadersOnEveryRoute walks every GET route of the real route
// table, as an anonymous visitor and as a signed-in admin (and with an API
// key on the API), plus the assets the pages load, and checks every
// response:
//   - X-Content-Type-Options: nosniff and a Referrer-Policy, whatever it is
//     (pages, JSON, problem documents, errors, redirects, static files);
//   - a Content-Security-Policy without 'unsafe-inline' or 'unsafe-eval';
//   - framing forbidden (frame-ancestors 'none' and X-Frame-Options DENY),
//     except on /embed/:id, which lists exactly its link's origins;
//   - on HTML: a script-src nonce, fresh per response, carried by every
//     <script>; no inline event handler, javascript: URL or inline style.
func TestSecurityHeadersOnEveryRoute(t *testing.T) {
	t.Parallel()
	a := newAdminApp(t)
	f := newSecFixtures(t, a)
	reqs := f.walk(t, a)

	anon := newClient(t)
	nonces := map[string]string{}
	seen := map[string]bool{}
	for i := 0; i < len(reqs); i++ {
		r := reqs[i]
		client, header := a.Client, http.Header{}
		switch r.as {
		case "anon":
			client = anon
		case "api":
			client = anon
			header.Set("Authorization", "Basic "+basicAuth(f.apiKey))
		}
		resp, body := call(t, client, http.MethodGet, a.URL+r.path, nil, header)
		what := fmt.Sprintf("GET %s as %s (%d %s)", r.path, r.as, resp.StatusCode, resp.Header.Get("Content-Type"))
		checkSecurityHeaders(t, what, resp, r)
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			continue
		}
		nonce := checkPage(t, what, resp, body)
		if prev, ok := nonces[nonce]; ok && nonce != "" {
			t.Errorf("%s: the nonce %q was already used by %s", what, nonce, prev)
		}
		nonces[nonce] = what
		// Walk the assets the page loads, once each.
		doc := parseHTML(t, body)
		doc.Find("script[src], link[href], img[src]").Each(func(_ int, s *goquery.Selection) {
			for _, attr := range []string{"src", "href"} {
				if v, ok := s.Attr(attr); ok && strings.HasPrefix(v, "/static/") && !seen[v] {
					seen[v] = true
					reqs = append(reqs, secRequest{path: v, as: "anon"})
				}
			}
		})
	}
	t.Logf("checked %d responses, %d pages", len(reqs), len(nonces))
	if len(seen) < 3 {
		t.Errorf("the pages loaded only %d static assets; expected scripts and styles: %v", len(seen), seen)
	}
}

// checkSecurityHeaders checks the headers every response must carry.
func checkSecurityHeaders(t *testing.T, what string, resp *http.Response, r secRequest) {
	t.Helper()
	h := resp.Header
	if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options=%q, want nosniff", what, got)
	}
	switch got := h.Get("Referrer-Policy"); got {
	case "no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin":
	default:
		t.Errorf("%s: Referrer-Policy=%q, want one that never sends a path to another site", what, got)
	}
	raw := h.Values("Content-Security-Policy")
	if len(raw) != 1 {
		t.Errorf("%s: %d Content-Security-Policy headers, want 1: %q", what, len(raw), raw)
		return
	}
	for _, bad := range []string{"'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'"} {
		if strings.Contains(raw[0], bad) {
			t.Errorf("%s: the CSP allows %s: %s", what, bad, raw[0])
		}
	}
	fa := parseCSP(raw[0])["frame-ancestors"]
	if !r.embed || len(r.origins) == 0 {
		if !slices.Equal(fa, []string{"'none'"}) {
			t.Errorf("%s: frame-ancestors %q, want 'none'", what, fa)
		}
		if got := h.Get("X-Frame-Options"); got != "DENY" {
			t.Errorf("%s: X-Frame-Options=%q, want DENY", what, got)
		}
		return
	}
	if !slices.Equal(fa, r.origins) {
		t.Errorf("%s: frame-ancestors %q, want exactly the link's origins %q", what, fa, r.origins)
	}
	if got := h.Get("X-Frame-Options"); got != "" {
		t.Errorf("%s: X-Frame-Options=%q on an embed; it would forbid the link's origins", what, got)
	}
}

// checkPage checks an HTML response's policy against its markup and
// returns the nonce.
func checkPage(t *testing.T, what string, resp *http.Response, body string) string {
	t.Helper()
	csp := parseCSP(resp.Header.Get("Content-Security-Policy"))
	for _, d := range []string{"default-src", "script-src", "base-uri", "form-action"} {
		if _, ok := csp[d]; !ok {
			t.Errorf("%s: the CSP has no %s", what, d)
		}
	}
	if got := csp["default-src"]; !slices.Equal(got, []string{"'none'"}) {
		t.Errorf("%s: default-src %q, want 'none'", what, got)
	}
	var nonce string
	for _, src := range csp["script-src"] {
		switch {
		case strings.HasPrefix(src, "'nonce-") && strings.HasSuffix(src, "'"):
			nonce = strings.TrimSuffix(strings.TrimPrefix(src, "'nonce-"), "'")
		case src == "*" || strings.HasSuffix(src, ":") || src == "'self'":
			t.Errorf("%s: script-src allows %s: only scripts with the nonce may run", what, src)
		}
	}
	if len(nonce) < 22 {
		t.Errorf("%s: script-src %q has no nonce of at least 128 bits", what, csp["script-src"])
	}
	doc := parseHTML(t, body)
	doc.Find("script").Each(func(_ int, s *goquery.Selection) {
		got, ok := s.Attr("nonce")
		if !ok || got != nonce {
			src, _ := s.Attr("src")
			t.Errorf("%s: <script src=%q> has nonce %q (present: %v), want the header's %q", what, src, got, ok, nonce)
		}
		if _, ok := s.Attr("src"); !ok && strings.TrimSpace(s.Text()) != "" && got != nonce {
			t.Errorf("%s: an inline script without the nonce: %.80s", what, s.Text())
		}
	})
	if n := doc.Find("style").Length(); n > 0 {
		t.Errorf("%s: %d inline <style> elements, which style-src 'self' blocks", what, n)
	}
	doc.Find("*").Each(func(_ int, s *goquery.Selection) {
		for _, at := range s.Nodes[0].Attr {
			name := strings.ToLower(at.Key)
			switch {
			case strings.HasPrefix(name, "on"):
				t.Errorf("%s: <%s %s=%q>: an inline event handler", what, goquery.NodeName(s), at.Key, at.Val)
			case name == "style":
				t.Errorf("%s: <%s style=%q>: an inline style, which the CSP blocks", what, goquery.NodeName(s), at.Val)
			case (name == "href" || name == "src" || name == "action" || name == "formaction") &&
				strings.HasPrefix(strings.ToLower(strings.TrimSpace(at.Val)), "javascript:"):
				t.Errorf("%s: <%s %s=%q>: a javascript: URL", what, goquery.NodeName(s), at.Key, at.Val)
			}
		}
	})
	return nonce
}

// hostileFilenames are stored file names an attacker could choose (or
// that predate the clean-up on upload), with the name a download must
// offer instead.
var hostileFilenames = []struct {
	description, stored, want string
}{
	{"plain", "clip.mp4", "clip.mp4"},
	{"double quote", `my "best" clip.mp4`, "my _best_ clip.mp4"},
	{"header injection with CR/LF", "a.mp4\r\nSet-Cookie: x=1", "a.mp4Set-Cookie_ x=1"},
	{"bare LF and NUL", "a\nb\x00c.mp4", "abc.mp4"},
	{"parameter injection", `x.mp4"; filename="evil.mp4`, "x.mp4_; filename=_evil.mp4"},
	{"active content by its extension", "page.html", "page.html"},
	{"SVG", "logo.svg", "logo.svg"},
	{"semicolon and equals", "a;b=c.mp4", "a;b=c.mp4"},
	{"non-ASCII", "Café à Zürich.mov", "Café à Zürich.mov"},
	{"RTL override hiding an extension", "invoice\u202Egpj.exe", "invoicegpj.exe"},
	{"zero-width and line separators", "a\u200bb\u2028c.mp4", "abc.mp4"},
	{"Unix path traversal", "../../etc/passwd", "passwd"},
	{"Windows path", `C:\Users\ann\clip.mp4`, "clip.mp4"},
	{"only dots", "..", "video"},
	{"empty", "", "video"},
	{"leading dot and spaces", "  .hidden.mp4 ", "hidden.mp4"},
	{"HTML", "<img src=x onerror=alert(1)>.mp4", "_img src=x onerror=alert(1)_.mp4"},
	{"4 KB ASCII", strings.Repeat("a", 4096) + ".mp4", strings.Repeat("a", 196) + ".mp4"},
	{"4 KB non-ASCII", strings.Repeat("é", 2048) + ".mp4", strings.Repeat("é", 98) + ".mp4"},
	{"invalid UTF-8", "a\xffb.mp4", "ab.mp4"},
}

// TestDownloadsHaveSafeFilenames plants hostile file names in the store,
// under the clean-up on upload, and checks both downloads: GET
// /videos/{id}/source with an API key and the dashboard's source link.
// Each must be an attachment whose header parses, holds only printable
// ASCII, and names a sanitised base name (filename* for non-ASCII), with
// nosniff and a type that is not HTML.
func TestDownloadsHaveSafeFilenames(t *testing.T) {
	t.Parallel()
	a := newAdminApp(t)
	ctx := context.Background()
	_, videoID := vidUploadThroughLink(t, a, "Talk", videoBytes(t, 4000), 0)
	_, key, err := a.Store.CreateAPIKey(ctx, "downloads")
	if err != nil {
		t.Fatal(err)
	}
	db := storetest.RawDB(t, a.DSN)
	for _, tt := range hostileFilenames {
		// PostgreSQL's text holds neither NUL nor invalid UTF-8, so
		// those names cannot be planted there (and the clean-up on
		// upload keeps them out of either engine).
		if storetest.Postgres() && (strings.ContainsRune(tt.stored, 0) || !utf8.ValidString(tt.stored)) {
			continue
		}
		if _, err := db.Exec(`UPDATE uploads SET filename = $1 WHERE video_id = $2`, tt.stored, videoID); err != nil {
			t.Fatal(err)
		}
		for _, d := range []struct {
			route  string
			client *http.Client
			header http.Header
		}{
			{"/videos/" + videoID + "/source", http.DefaultClient, http.Header{"Authorization": {"Basic " + basicAuth(key)}}},
			{"/admin/videos/" + videoID + "/source?download=1", a.Client, nil},
		} {
			resp, _ := call(t, d.client, http.MethodGet, a.URL+d.route, nil, d.header)
			what := fmt.Sprintf("%s: GET %s", tt.description, d.route)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: %d", what, resp.StatusCode)
			}
			checkDisposition(t, what, resp.Header.Get("Content-Disposition"), tt.want)
			if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("%s: X-Content-Type-Options=%q, want nosniff", what, got)
			}
			if ct := resp.Header.Get("Content-Type"); strings.Contains(ct, "html") || strings.Contains(ct, "svg") {
				t.Errorf("%s: Content-Type=%q: a browser would render it", what, ct)
			}
		}
	}
}

// TestContentDisposition checks the header builder directly, with the
// characters a response writer would strip before a client could see
// them.
func TestContentDisposition(t *testing.T) {
	for _, tt := range hostileFilenames {
		for _, kind := range []string{"attachment", "inline"} {
			checkDisposition(t, tt.description+" ("+kind+")", api.ContentDisposition(kind, tt.stored), tt.want)
		}
	}
}

// checkDisposition checks one Content-Disposition value.
func checkDisposition(t *testing.T, what, value, want string) {
	t.Helper()
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < ' ' || c > '~' {
			t.Errorf("%s: Content-Disposition holds byte %#x: %q", what, c, value)
			break
		}
	}
	kind, params, err := mime.ParseMediaType(value)
	if err != nil {
		t.Errorf("%s: Content-Disposition %q does not parse: %v", what, value, err)
		return
	}
	if kind != "attachment" && kind != "inline" {
		t.Errorf("%s: disposition %q", what, kind)
	}
	if !strings.Contains(what, "inline") && kind != "attachment" {
		t.Errorf("%s: disposition %q, want attachment", what, kind)
	}
	name := params["filename"]
	if name != want {
		t.Errorf("%s: filename=%q, want=%q (header %q)", what, name, want, value)
	}
	if strings.ContainsAny(name, "/\\\"") || len(name) > 200 || !utf8.ValidString(name) {
		t.Errorf("%s: filename %q is not a safe base name", what, name)
	}
	for _, r := range name {
		if unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) {
			t.Errorf("%s: filename %q holds %U", what, name, r)
		}
	}
	// A non-ASCII name comes with an ASCII fallback for old clients.
	if strings.IndexFunc(name, func(r rune) bool { return r > '~' }) >= 0 {
		if !strings.Contains(value, "; filename*=UTF-8''") || !strings.Contains(value, "; filename=") {
			t.Errorf("%s: non-ASCII name without filename and filename*: %q", what, value)
		}
	}
}

// TestNoSecretsInLogs runs a realistic session with a JSON logger, and
// checks that no secret used in it reaches the log: the admin's password,
// session cookie and CSRF token, API keys, access
// and refresh tokens, upload tokens (in URLs and bodies), and a webhook
// secret. It also checks that the log did record the session, so that an
// empty log cannot pass.
func TestNoSecretsInLogs(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	a := newAnonymousApp(t, webtest.WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	ctx := context.Background()

	// A failed sign-in, then a good one.
	_, body := a.get(t, "/admin/login")
	loginCSRF := formCSRF(t, body)
	const wrongPassword = "Tr0ub4dor&3-wrong-password"
	a.post(t, "/admin/login", url.Values{"_csrf": {loginCSRF}, "email": {adminEmail}, "password": {wrongPassword}})
	a.signIn(t)
	secrets := map[string]string{
		"password": adminPassword, "wrong password": wrongPassword,
		"login CSRF token": loginCSRF, "session CSRF token": a.csrfToken(),
	}
	u, _ := url.Parse(a.URL)
	for _, c := range a.Client.Jar.Cookies(u) {
		secrets["cookie "+c.Name] = c.Value
	}

	// Mint a link from the dashboard, then upload through it as the
	// uploader's browser does.
	status, body, loc := a.postForm(t, "/admin/links", mintForm())
	if status != http.StatusSeeOther {
		t.Fatalf("minting a link: %d\n%s", status, body)
	}
	linkID, _ := linkIDFrom(t, loc)
	l, err := a.Store.FindLink(ctx, linkID)
	if err != nil {
		t.Fatal(err)
	}
	if l.Token != "" {
		t.Errorf("the link has the upload token %q, want none (issue 10)", l.Token)
	}
	data := videoBytes(t, 3000)
	resp, body := call(t, a.Client, "POST", a.URL+"/u/"+l.ID+"/uploads",
		strings.NewReader(fmt.Sprintf(`{"filename":"speech.mp4","size":%d,"lastModified":1700000000000,"uploaderName":"Ann","uploaderEmail":"ann@example.com"}`, len(data))), jsonHeader)
	var sess struct {
		VideoID string `json:"videoId"`
	}
	if err := json.Unmarshal([]byte(body), &sess); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("start: %d %v\n%s", resp.StatusCode, err, body)
	}
	if resp, body := call(t, a.Client, "PUT", a.URL+"/u/"+l.ID+"/uploads/"+sess.VideoID+"/parts/1", strings.NewReader(string(data)), nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("part: %d\n%s", resp.StatusCode, body)
	}
	// A part that is refused (wrong size) is logged by the links service.
	call(t, a.Client, "PUT", a.URL+"/u/"+l.ID+"/uploads/"+sess.VideoID+"/parts/1", strings.NewReader("short"), nil)

	// An API key from the dashboard; a webhook endpoint and its secret.
	status, _, keyPage := a.postForm(t, "/admin/keys", url.Values{"name": {"CMS"}})
	apiKey, _ := testID(a.getPage(t, keyPage), "key-secret").Attr("value")
	if status != http.StatusSeeOther || len(apiKey) < 32 {
		t.Fatalf("creating an API key: %d, secret %q", status, apiKey)
	}
	secrets["API key"] = apiKey
	if _, secret := addWebhook(t, a); secret != "" {
		secrets["webhook secret"] = secret
	}

	// The API with Basic, a token pair, Bearer, a refresh, an upload token
	// used in a URL, and refused credentials.
	api := func(method, path, auth, body string) (int, map[string]any) {
		h := http.Header{"Content-Type": {"application/json"}}
		if auth != "" {
			h.Set("Authorization", auth)
		}
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		resp, b := call(t, http.DefaultClient, method, a.URL+path, rd, h)
		var out map[string]any
		json.Unmarshal([]byte(b), &out)
		return resp.StatusCode, out
	}
	basic := "Basic " + basicAuth(apiKey)
	if st, _ := api("GET", "/videos", basic, ""); st != http.StatusOK {
		t.Fatalf("GET /videos with Basic: %d", st)
	}
	st, pair := api("POST", "/auth/api-key", "", `{"apiKey":"`+apiKey+`"}`)
	access, _ := pair["access_token"].(string)
	refresh, _ := pair["refresh_token"].(string)
	if st != http.StatusOK || access == "" || refresh == "" {
		t.Fatalf("POST /auth/api-key: %d %v", st, pair)
	}
	secrets["access token"], secrets["refresh token"] = access, refresh
	if st, _ := api("GET", "/videos", "Bearer "+access, ""); st != http.StatusOK {
		t.Fatalf("GET /videos with Bearer: %d", st)
	}
	st, pair = api("POST", "/auth/refresh", "", `{"refreshToken":"`+refresh+`"}`)
	if st != http.StatusOK {
		t.Fatalf("POST /auth/refresh: %d", st)
	}
	secrets["second access token"], _ = pair["access_token"].(string)
	secrets["second refresh token"], _ = pair["refresh_token"].(string)
	api("POST", "/auth/refresh", "", `{"refreshToken":"`+refresh+`"}`) // Used twice: refused.
	st, tok := api("POST", "/upload-tokens", basic, `{"ttl":3600}`)
	uploadToken, _ := tok["token"].(string)
	if st != http.StatusOK && st != http.StatusCreated || uploadToken == "" {
		t.Fatalf("POST /upload-tokens: %d %v", st, tok)
	}
	secrets["upload token"] = uploadToken
	vidUploadWithTokenID(t, a, uploadToken, "direct.mp4", data)
	call(t, http.DefaultClient, "POST", a.URL+"/upload?token="+uploadToken, strings.NewReader("not multipart"), http.Header{"Content-Type": {"text/plain"}})
	api("GET", "/upload-tokens/"+uploadToken, basic, "")
	api("DELETE", "/upload-tokens/"+uploadToken, basic, "")
	const guessedKey = "guessed-api-key-0123456789abcdef"
	secrets["refused API key"] = guessedKey
	api("GET", "/videos", "Basic "+basicAuth(guessedKey), "")
	api("GET", "/videos", "Bearer "+guessedKey+"-bearer", "")
	api("POST", "/auth/api-key", "", `{"apiKey":"`+guessedKey+`"}`)

	// Revoking the link.
	if status, body, _ := a.postForm(t, "/admin/links/"+l.ID+"/revoke", nil); status != http.StatusSeeOther {
		t.Fatalf("revoking the link: %d\n%s", status, body)
	}

	out := logs.String()
	for _, want := range []string{`"msg":"failed sign-in"`, `"route":"/auth/api-key"`, `"route":"/upload"`, `"route":"/u/:id/uploads/:videoId/parts/:n"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the log has no %s: the session was not logged as expected", want)
		}
	}
	for name, secret := range secrets {
		if len(secret) < 8 {
			t.Errorf("the %s is %q: too short to look for", name, secret)
			continue
		}
		if strings.Contains(out, secret) {
			t.Errorf("the log contains the %s", name)
		}
		if enc := url.QueryEscape(secret); enc != secret && strings.Contains(out, enc) {
			t.Errorf("the log contains the %s, URL-encoded", name)
		}
	}
	if t.Failed() {
		t.Logf("log:\n%s", out)
	}
}

// vidUploadWithTokenID uploads data in one request to POST /upload with
// the given upload token.
func vidUploadWithTokenID(t *testing.T, a *adminApp, token, filename string, data []byte) {
	t.Helper()
	var b strings.Builder
	b.WriteString("--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + filename + "\"\r\nContent-Type: video/mp4\r\n\r\n")
	b.Write(data)
	b.WriteString("\r\n--x--\r\n")
	resp, body := call(t, http.DefaultClient, "POST", a.URL+"/upload?token="+url.QueryEscape(token), strings.NewReader(b.String()),
		http.Header{"Content-Type": {"multipart/form-data; boundary=x"}})
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /upload: %d\n%s", resp.StatusCode, body)
	}
}

// addWebhook adds a webhook endpoint from the dashboard, subscribed to
// every event the form offers, and returns its ID and secret. It returns
// empty strings when the application has no webhooks.
func addWebhook(t *testing.T, a *adminApp) (id, secret string) {
	t.Helper()
	if !slices.ContainsFunc(a.Echo.Routes(), func(r *echo.Route) bool { return r.Method == "POST" && r.Path == "/admin/webhooks" }) {
		return "", ""
	}
	var events []string
	a.getPage(t, "/admin/webhooks").Find(`input[name="events"]`).Each(func(_ int, s *goquery.Selection) {
		if v, ok := s.Attr("value"); ok {
			events = append(events, v)
		}
	})
	status, body, loc := a.postForm(t, "/admin/webhooks", url.Values{"url": {"https://hooks.example/uplink"}, "events": events})
	if status != http.StatusSeeOther {
		t.Fatalf("adding a webhook endpoint: %d\n%s", status, body)
	}
	u, err := url.Parse(loc)
	if err != nil || !strings.HasPrefix(u.Path, "/admin/webhooks/") {
		t.Fatalf("adding a webhook endpoint redirected to %q", loc)
	}
	secret, _ = testID(a.getPage(t, loc), "webhook-secret").Attr("value")
	if len(secret) < 16 {
		t.Fatalf("the new endpoint's page shows no secret (%q)", secret)
	}
	return strings.TrimPrefix(u.Path, "/admin/webhooks/"), secret
}

// Both routes to a video's source serve it through one function
// (api.ServeSource): the same type, from the bytes rather than the name,
// whatever the name says; the API always as an attachment, the dashboard
// inline for its player unless asked to download.
func TestSourceTypeIsTheSameOnBothRoutes(t *testing.T) {
	t.Parallel()
	a := newAdminApp(t)
	ctx := context.Background()
	_, videoID := vidUploadThroughLink(t, a, "Talk", videoBytes(t, 4000), 0)
	_, key, err := a.Store.CreateAPIKey(ctx, "sources")
	if err != nil {
		t.Fatal(err)
	}
	db := storetest.RawDB(t, a.DSN)
	for _, name := range []string{"talk.mp4", "talk.webm", "talk.bin", "talk.html", "talk"} {
		if _, err := db.Exec(`UPDATE uploads SET filename = $1 WHERE video_id = $2`, name, videoID); err != nil {
			t.Fatal(err)
		}
		for _, d := range []struct {
			route, disposition string
			client             *http.Client
			header             http.Header
		}{
			{"/videos/" + videoID + "/source", "attachment", http.DefaultClient, http.Header{"Authorization": {"Basic " + basicAuth(key)}}},
			{"/admin/videos/" + videoID + "/source?download=1", "attachment", a.Client, nil},
			{"/admin/videos/" + videoID + "/source", "inline", a.Client, nil},
		} {
			resp, _ := call(t, d.client, http.MethodGet, a.URL+d.route, nil, d.header)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: GET %s: %d", name, d.route, resp.StatusCode)
			}
			if got, want := resp.Header.Get("Content-Type"), "video/mp4"; got != want {
				t.Errorf("%s: GET %s: Content-Type=%q, want %q (the bytes are MP4)", name, d.route, got, want)
			}
			if got := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(got, d.disposition) {
				t.Errorf("%s: GET %s: Content-Disposition=%q, want %s", name, d.route, got, d.disposition)
			}
		}
	}
}

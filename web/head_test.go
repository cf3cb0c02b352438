package web_test

// HEAD answers like GET wherever GET answers (issue 10, item 7): uptime
// checkers and link previews send it. The walk reads the real route table
// (pages, dashboard and API); HEAD must never change anything, and it is
// counted and limited like the GET it stands for.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/web"
	"github.com/uplink-video/uplink/web/links"
	"github.com/uplink-video/uplink/web/ratelimit"
)

// rawExchange sends one request on a new connection, exactly as written
// (no transparent gzip, no cookie or redirect handling), and reads the
// response until the server closes the connection. rest is what came
// after the response's head and body: for HEAD, the body must be nothing.
func rawExchange(t *testing.T, base, method, path string, header http.Header) (resp *http.Response, body, rest []byte) {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", method, path, u.Host)
	for k, vs := range header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err = http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if body, err = io.ReadAll(resp.Body); err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	if rest, err = io.ReadAll(br); err != nil {
		t.Fatalf("%s %s: reading to the end of the connection: %v", method, path, err)
	}
	return resp, body, rest
}

// nonceRe matches a CSP nonce, fresh in every response.
var nonceRe = regexp.MustCompile(`'nonce-[^']*'`)

// comparableHeader is a response's header without what differs between
// any two responses (the date, the request ID, the CSP nonce).
func comparableHeader(h http.Header) http.Header {
	h = h.Clone()
	h.Del("Date")
	h.Del(web.HeaderRequestID)
	for i, v := range h.Values("Content-Security-Policy") {
		h["Content-Security-Policy"][i] = nonceRe.ReplaceAllString(v, "'nonce-N'")
	}
	return h
}

// TestHeadAnswersLikeGet walks every GET route of the real route table
// (as an anonymous visitor, a signed-in admin and an API key, like the
// security header walk) and sends each request as GET, then as HEAD, on
// raw connections: HEAD gets the same status and the same headers
// (Content-Type, Content-Length where GET has one, caching, security
// headers, Allow, Location), and not a single byte of body.
func TestHeadAnswersLikeGet(t *testing.T) {
	t.Parallel()
	a := newAdminApp(t)
	f := newSecFixtures(t, a)
	reqs := f.walk(t, a)
	anon := newClient(t)
	statuses := map[int]int{}
	for _, r := range reqs {
		header := http.Header{}
		u, err := url.Parse(a.URL + r.path)
		if err != nil {
			t.Fatal(err)
		}
		switch r.as {
		case "admin":
			for _, c := range a.Client.Jar.Cookies(u) {
				header.Add("Cookie", c.String())
			}
		case "api":
			header.Set("Authorization", "Basic "+basicAuth(f.apiKey))
		case "anon":
			// A browser that has been here before: the sign-in page keeps
			// the CSRF cookie it finds, so both answers set the same one.
			call(t, anon, http.MethodGet, a.URL+r.path, nil, nil)
			for _, c := range anon.Jar.Cookies(u) {
				header.Add("Cookie", c.String())
			}
		}
		what := fmt.Sprintf("%s as %s", r.path, r.as)
		get, getBody, _ := rawExchange(t, a.URL, http.MethodGet, r.path, header)
		head, headBody, rest := rawExchange(t, a.URL, http.MethodHead, r.path, header)
		statuses[get.StatusCode]++
		if head.StatusCode != get.StatusCode {
			t.Errorf("%s: HEAD status=%d, GET status=%d", what, head.StatusCode, get.StatusCode)
		}
		if n := len(headBody) + len(rest); n != 0 {
			t.Errorf("%s: HEAD sent %d bytes of body: %q", what, n, clip(string(headBody)+string(rest)))
		}
		gh, hh := comparableHeader(get.Header), comparableHeader(head.Header)
		for _, k := range sortedKeys(gh, hh) {
			if g, h := gh.Values(k), hh.Values(k); !slices.Equal(g, h) {
				t.Errorf("%s: %s: HEAD has %q, GET has %q", what, k, h, g)
			}
		}
		// A GET body that fits in net/http's buffer gets a Content-Length;
		// so must the HEAD, with the same value (compared above).
		if get.Header.Get("Content-Length") == "" && len(getBody) > 0 && len(getBody) < 2048 && get.StatusCode != http.StatusNotModified {
			t.Errorf("%s: GET of %d bytes has no Content-Length", what, len(getBody))
		}
	}
	t.Logf("compared %d routes' answers by status: %v", len(reqs), statuses)
	for _, s := range []int{200, 303, 401, 404} {
		if statuses[s] == 0 {
			t.Errorf("the walk had no %d answer; it does not cover what it should: %v", s, statuses)
		}
	}
}

func sortedKeys(hs ...http.Header) []string {
	var keys []string
	for _, h := range hs {
		for k := range h {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	return keys
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// TestHeadOnTheReportedRoutes: the routes the review found refusing HEAD
// (405, or 401 on the sign-in page) answer 200 to HEAD, and a route that
// allows GET lists HEAD in Allow.
func TestHeadOnTheReportedRoutes(t *testing.T) {
	t.Parallel()
	a := newAnonymousApp(t)
	l := seedLink(t, a, links.Spec{})
	for _, path := range []string{"/", "/healthz", "/readyz", "/u/" + l.ID, "/openapi.json", "/favicon.ico", "/admin/login"} {
		resp, _ := call(t, newClient(t), http.MethodHead, a.URL+path, nil, nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("HEAD %s: %d, want 200", path, resp.StatusCode)
		}
	}
	resp, _ := call(t, newClient(t), http.MethodPost, a.URL+"/openapi.json", nil, nil)
	if allow := resp.Header.Get("Allow"); resp.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(allow, "HEAD") {
		t.Errorf("POST /openapi.json: %d, Allow=%q, want 405 with HEAD allowed", resp.StatusCode, allow)
	}
	// HEAD is no way around a route's method: where GET is refused, so is
	// HEAD.
	for _, path := range []string{"/upload", "/auth/api-key"} {
		get, _ := call(t, newClient(t), http.MethodGet, a.URL+path, nil, nil)
		head, _ := call(t, newClient(t), http.MethodHead, a.URL+path, nil, nil)
		if get.StatusCode < 400 || head.StatusCode != get.StatusCode {
			t.Errorf("%s: HEAD %d, GET %d; want the same refusal", path, head.StatusCode, get.StatusCode)
		}
	}
}

// TestHeadRecordsNoVisit: opening a link's page (or its embed) records a
// visit on the link's timeline; HEAD, which previews and uptime checks
// send, does not.
func TestHeadRecordsNoVisit(t *testing.T) {
	t.Parallel()
	a := newAnonymousApp(t)
	l := seedLink(t, a, links.Spec{EmbedOrigins: []string{"https://a.example"}})
	ctx := context.Background()
	visits := func() int {
		t.Helper()
		evs, err := a.Store.ListLinkEvents(ctx, l.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range evs {
			if e.Kind == store.EventOpened {
				n++
			}
		}
		return n
	}
	for _, p := range []string{"/u/", "/embed/", "/u/"} {
		if resp, _ := call(t, newClient(t), http.MethodHead, a.URL+p+l.ID, nil, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("HEAD %s: %d, want 200", p, resp.StatusCode)
		}
	}
	if n := visits(); n != 0 {
		t.Errorf("after three HEAD requests the timeline has %d visits, want 0", n)
	}
	if resp, _ := call(t, newClient(t), http.MethodGet, a.URL+"/u/"+l.ID, nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /u/:id: %d, want 200", resp.StatusCode)
	}
	if n := visits(); n != 1 {
		t.Errorf("after a GET the timeline has %d visits, want 1", n)
	}
}

// TestHeadIsLimitedAndCounted: HEAD on a link's page draws from the same
// per-address limit as GET (it costs the same lookup, and must not be a
// way around the limit), and the request metrics count it as HEAD on the
// GET route's pattern.
func TestHeadIsLimitedAndCounted(t *testing.T) {
	t.Parallel()
	a := newLimitedApp(t, web.RateLimits{LinkPages: ratelimit.Rate{PerMinute: 2, Burst: 2}})
	l := seedLink(t, a, links.Spec{})
	client := newClient(t)
	for i := range 2 {
		if resp, _ := call(t, client, http.MethodHead, a.URL+"/u/"+l.ID, nil, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("HEAD %d: %d, want 200", i+1, resp.StatusCode)
		}
	}
	resp, _ := call(t, client, http.MethodGet, a.URL+"/u/"+l.ID, nil, nil)
	wantRetryAfter(t, "GET after two HEAD", resp, "30")
	resp, _ = call(t, client, http.MethodHead, a.URL+"/u/"+l.ID, nil, nil)
	wantRetryAfter(t, "HEAD past the burst", resp, "30")

	m := newMetricsApp(t)
	for range 3 {
		call(t, newClient(t), http.MethodHead, m.URL+"/healthz", nil, nil)
	}
	scrape, _ := scrapeMetrics(t, m, m.Client, nil)
	if got := scrape.Value(t, "uplink_http_requests_total", "method", "HEAD", "route", "/healthz", "status", "2xx"); got != 3 {
		t.Errorf(`uplink_http_requests_total{method="HEAD",route="/healthz"}=%v, want 3`, got)
	}
}

package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/ingest"
	"github.com/uplink-video/uplink/web"
	"github.com/uplink-video/uplink/web/links"
	"github.com/uplink-video/uplink/web/ratelimit"
	"github.com/uplink-video/uplink/web/webtest"
)

// newLimitedApp starts the application with the given rate limits; the
// others stay at their defaults.
func newLimitedApp(t *testing.T, limits web.RateLimits) *adminApp {
	t.Helper()
	return newAnonymousApp(t, webtest.WithDeps(func(d *web.Deps) { d.RateLimits = limits }))
}

// fromAddress returns a client whose connections come from the given
// loopback address, so that a test can be two clients at once.
func fromAddress(t *testing.T, ip string) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	c := newClient(t)
	c.Transport = &http.Transport{DialContext: d.DialContext}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// call makes a request with client and returns the response with its body
// read into body.
func call(t *testing.T, client *http.Client, method, u string, body io.Reader, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// basicAuth is the Authorization value of an API key.
func basicAuth(key string) string { return base64.StdEncoding.EncodeToString([]byte(key + ":")) }

var jsonHeader = http.Header{"Content-Type": {"application/json"}}

// problemOf decodes a problem document.
func problemOf(t *testing.T, resp *http.Response, body string) map[string]any {
	t.Helper()
	if got, want := resp.Header.Get("Content-Type"), "application/problem+json"; got != want {
		t.Errorf("Content-Type=%q, want=%q", got, want)
	}
	var p map[string]any
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("not a problem document: %v\n%s", err, body)
	}
	return p
}

// wantRetryAfter checks a 429 and its Retry-After header.
func wantRetryAfter(t *testing.T, what string, resp *http.Response, want string) {
	t.Helper()
	if got := resp.StatusCode; got != http.StatusTooManyRequests {
		t.Fatalf("%s: status=%d, want=429", what, got)
	}
	if got := resp.Header.Get("Retry-After"); got != want {
		t.Errorf("%s: Retry-After=%q, want=%q", what, got, want)
	}
}

// TestRateLimitLinkPages: the upload page and the embed share one limit
// per client address; past it they answer 429 with Retry-After and a page
// a person can read, until the bucket refills. Another address is not
// affected.
func TestRateLimitLinkPages(t *testing.T) {
	t.Parallel()
	a := newLimitedApp(t, web.RateLimits{LinkPages: ratelimit.Rate{PerMinute: 2, Burst: 3}})
	l := seedLink(t, a, links.Spec{EmbedOrigins: []string{"https://example.org"}})
	one, two := fromAddress(t, "127.0.0.1"), fromAddress(t, "127.0.0.2")
	for i, p := range []string{"/u/", "/embed/", "/u/"} {
		if resp, body := call(t, one, "GET", a.URL+p+l.ID, nil, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d (%s): %d, want 200\n%s", i+1, p, resp.StatusCode, body)
		}
	}
	for _, p := range []string{"/u/", "/embed/"} {
		resp, body := call(t, one, "GET", a.URL+p+l.ID, nil, nil)
		wantRetryAfter(t, "GET "+p+":id past the burst", resp, "30")
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("GET %s:id refused as %q, want a page", p, resp.Header.Get("Content-Type"))
		}
		if msg := testID(parseHTML(t, body), "error-message").Text(); !strings.Contains(msg, "Try again in 30 seconds") {
			t.Errorf("GET %s:id refused with %q, want when to try again", p, msg)
		}
	}
	if resp, _ := call(t, two, "GET", a.URL+"/u/"+l.ID, nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("another address: %d, want 200: limits are per client address", resp.StatusCode)
	}
	// Other pages and the uploader's other endpoints have no such limit.
	if resp, _ := call(t, one, "GET", a.URL+"/", nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("GET / while link pages are limited: %d, want 200", resp.StatusCode)
	}
	a.Clock.Advance(30 * time.Second)
	if resp, _ := call(t, one, "GET", a.URL+"/u/"+l.ID, nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("after Retry-After: %d, want 200", resp.StatusCode)
	}
}

// startJSON is the body of POST /u/:id/uploads for a file.
func startJSON(name string, size int) io.Reader {
	return strings.NewReader(fmt.Sprintf(`{"filename":%q,"size":%d,"lastModified":1700000000000}`, name, size))
}

// TestRateLimitUploadStarts: starting uploads through links is limited
// per address, answered with the uploader's problem JSON and Retry-After,
// which the script waits before trying again.
func TestRateLimitUploadStarts(t *testing.T) {
	t.Parallel()
	a := newLimitedApp(t, web.RateLimits{UploadStarts: ratelimit.Rate{PerMinute: 1, Burst: 2}})
	l := seedLink(t, a, links.Spec{})
	for i := range 2 {
		resp, body := call(t, a.Client, "POST", a.URL+"/u/"+l.ID+"/uploads", startJSON(fmt.Sprintf("f%d.mp4", i), 1000), jsonHeader)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("start %d: %d, want 201\n%s", i+1, resp.StatusCode, body)
		}
	}
	resp, body := call(t, a.Client, "POST", a.URL+"/u/"+l.ID+"/uploads", startJSON("f3.mp4", 1000), jsonHeader)
	wantRetryAfter(t, "third start", resp, "60")
	p := problemOf(t, resp, body)
	if got, want := p["code"], "too-many-requests"; got != want {
		t.Errorf("code=%v, want=%v", got, want)
	}
	if got, want := p["status"], float64(429); got != want {
		t.Errorf("status=%v, want=%v", got, want)
	}
	a.Clock.Advance(time.Minute)
	if resp, body := call(t, a.Client, "POST", a.URL+"/u/"+l.ID+"/uploads", startJSON("f3.mp4", 1000), jsonHeader); resp.StatusCode != http.StatusCreated {
		t.Errorf("after Retry-After: %d, want 201\n%s", resp.StatusCode, body)
	}
}

// TestRateLimitAuth: POST /auth/api-key and /auth/refresh share a limit
// per address, answered with api.video's too-many-requests problem (with
// CORS, so that a browser uploader can read it). Calls with an API key
// are not limited.
func TestRateLimitAuth(t *testing.T) {
	t.Parallel()
	a := newLimitedApp(t, web.RateLimits{Auth: ratelimit.Rate{PerMinute: 6, Burst: 3}})
	_, key, err := a.Store.CreateAPIKey(context.Background(), "test")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		resp, body := call(t, a.Client, "POST", a.URL+"/auth/api-key", strings.NewReader(`{"apiKey":"wrong"}`), jsonHeader)
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("call %d: %d, want 400\n%s", i+1, resp.StatusCode, body)
		}
	}
	for _, tt := range []struct{ path, body string }{
		{"/auth/api-key", `{"apiKey":"` + key + `"}`},
		{"/auth/refresh", `{"refreshToken":"whatever"}`},
	} {
		h := jsonHeader.Clone()
		h.Set("Origin", "https://elsewhere.example")
		resp, body := call(t, a.Client, "POST", a.URL+tt.path, strings.NewReader(tt.body), h)
		wantRetryAfter(t, tt.path, resp, "10")
		p := problemOf(t, resp, body)
		if got, want := p["type"], "https://docs.api.video/reference/too-many-requests"; got != want {
			t.Errorf("%s: type=%v, want=%v", tt.path, got, want)
		}
		if got, want := p["title"], "Too many requests."; got != want {
			t.Errorf("%s: title=%v, want=%v", tt.path, got, want)
		}
		if tt.path == "/auth/refresh" && resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s: refused without CORS headers; a browser could not read why", tt.path)
		}
	}
	h := http.Header{"Authorization": {"Basic " + basicAuth(key)}}
	if resp, body := call(t, a.Client, "GET", a.URL+"/videos", nil, h); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /videos with the key while /auth is limited: %d, want 200\n%s", resp.StatusCode, body)
	}
	a.Clock.Advance(10 * time.Second)
	if resp, body := call(t, a.Client, "POST", a.URL+"/auth/api-key", strings.NewReader(`{"apiKey":"`+key+`"}`), jsonHeader); resp.StatusCode != http.StatusOK {
		t.Errorf("after Retry-After: %d, want 200\n%s", resp.StatusCode, body)
	}
}

// TestSignInThrottleSendsRetryAfter: the sign-in throttle (failures per
// account and address) says when to come back, in seconds.
func TestSignInThrottleSendsRetryAfter(t *testing.T) {
	t.Parallel()
	a := newAnonymousApp(t)
	_, body := a.get(t, "/admin/login")
	token := formCSRF(t, body)
	form := url.Values{"_csrf": {token}, "email": {adminEmail}, "password": {"wrong"}}
	for i := range 5 {
		if status, body, _ := a.post(t, "/admin/login", form); status != http.StatusUnauthorized && status != http.StatusOK {
			t.Fatalf("failed sign-in %d: %d\n%s", i+1, status, body)
		}
	}
	resp := a.do(t, "POST", "/admin/login", strings.NewReader(form.Encode()), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	// Five failures within 15 minutes, all at the fixed clock's instant.
	wantRetryAfter(t, "sixth sign-in", resp.Response, "900")
}

// TestRateLimitNeverThrottlesParts: with the start and /auth limits used
// up, an upload in progress goes on at full speed from the same address:
// every part (and every re-send of a part, and every status check) of a
// link upload, and every POST /upload of the token endpoint, succeeds.
func TestRateLimitNeverThrottlesParts(t *testing.T) {
	t.Parallel()
	a := newLimitedApp(t, web.RateLimits{
		UploadStarts: ratelimit.Rate{PerMinute: 1, Burst: 1},
		Auth:         ratelimit.Rate{PerMinute: 1, Burst: 1},
	})
	l := seedLink(t, a, links.Spec{})
	const parts = 4
	data := videoBytes(t, (parts-1)*ingest.MinPartSize+1000)
	resp, body := call(t, a.Client, "POST", a.URL+"/u/"+l.ID+"/uploads", startJSON("big.mp4", len(data)), jsonHeader)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("start: %d\n%s", resp.StatusCode, body)
	}
	var sess struct {
		VideoID    string `json:"videoId"`
		ChunkSize  int    `json:"chunkSize"`
		TotalParts int    `json:"totalParts"`
	}
	if err := json.Unmarshal([]byte(body), &sess); err != nil || sess.TotalParts != parts {
		t.Fatalf("start answered %s (%v), want %d parts", body, err, parts)
	}
	resp, _ = call(t, a.Client, "POST", a.URL+"/u/"+l.ID+"/uploads", startJSON("other.mp4", 1000), jsonHeader)
	wantRetryAfter(t, "second start", resp, "60")
	resp, _ = call(t, a.Client, "POST", a.URL+"/auth/api-key", strings.NewReader(`{"apiKey":"x"}`), jsonHeader)
	resp, _ = call(t, a.Client, "POST", a.URL+"/auth/api-key", strings.NewReader(`{"apiKey":"x"}`), jsonHeader)
	wantRetryAfter(t, "second /auth/api-key", resp, "60")

	base := a.URL + "/u/" + l.ID + "/uploads/" + sess.VideoID
	requests := 0
	ok := func(what string, resp *http.Response, body string) {
		t.Helper()
		requests++
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d, want 200\n%s", what, resp.StatusCode, body)
		}
	}
	part := func(n int) io.Reader {
		from := (n - 1) * sess.ChunkSize
		return bytes.NewReader(data[from:min(from+sess.ChunkSize, len(data))])
	}
	for n := 1; n <= parts; n++ {
		resp, body := call(t, a.Client, "PUT", fmt.Sprintf("%s/parts/%d", base, n), part(n), nil)
		ok(fmt.Sprintf("part %d", n), resp, body)
		// The browser re-sends a part whose answer it missed, and checks
		// what the server has: neither may be limited.
		for k := 1; k <= n; k++ {
			resp, body := call(t, a.Client, "PUT", fmt.Sprintf("%s/parts/%d", base, k), part(k), nil)
			ok(fmt.Sprintf("re-send of part %d after part %d", k, n), resp, body)
		}
		for range 10 {
			resp, body := call(t, a.Client, "GET", base, nil, nil)
			ok("status", resp, body)
		}
	}
	u, err := a.Store.FindLinkUpload(context.Background(), l.ID, sess.VideoID)
	if err != nil || u.Status != store.LinkUploadCompleted {
		t.Fatalf("upload after %d requests: %+v, %v; want completed", requests, u.Status, err)
	}

	// The token endpoint: many small uploads in a row, one address.
	tok, err := a.Store.CreateUploadToken(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	small := videoBytes(t, 2000)
	for i := range 40 {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		fw, _ := mw.CreateFormFile("file", fmt.Sprintf("clip%d.mp4", i))
		fw.Write(small)
		mw.Close()
		resp, body := call(t, a.Client, "POST", a.URL+"/upload?token="+tok.ID, &b, http.Header{"Content-Type": {mw.FormDataContentType()}})
		if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
			t.Fatalf("POST /upload %d: %d\n%s", i+1, resp.StatusCode, body)
		}
	}
}

package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/web/links"
	"github.com/uplink-video/uplink/web/metrics"
	"github.com/uplink-video/uplink/web/metrics/metricstest"
)

// newMetricsApp is newAdminApp wired as cmd/uplink wires it: one metrics
// registry counting the token endpoint's uploads, the links' uploads and
// the HTTP requests, with the gauges read from the store. Leases are two
// hours, as in newAdminApp.
func newMetricsApp(t *testing.T) *adminApp {
	t.Helper()
	a := newAnonymousApp(t)
	a.signIn(t)
	return a
}

// metricsLinkStart starts an upload through the link over HTTP, as the
// uploader script does, and returns the status and the session.
func metricsLinkStart(t *testing.T, a *adminApp, l store.Link, size int) (int, struct {
	VideoID    string `json:"videoId"`
	ChunkSize  int64  `json:"chunkSize"`
	TotalParts int    `json:"totalParts"`
}) {
	t.Helper()
	body := fmt.Sprintf(`{"filename":"talk.mp4","size":%d,"lastModified":1700000000000}`, size)
	resp, b := call(t, newClient(t), http.MethodPost, a.URL+"/u/"+l.ID+"/uploads", strings.NewReader(body), jsonHeader)
	var s struct {
		VideoID    string `json:"videoId"`
		ChunkSize  int64  `json:"chunkSize"`
		TotalParts int    `json:"totalParts"`
	}
	if resp.StatusCode < 300 {
		if err := json.Unmarshal([]byte(b), &s); err != nil {
			t.Fatalf("POST /u/%s/uploads: %v: %s", l.ID, err, b)
		}
	}
	return resp.StatusCode, s
}

// metricsLinkPart sends part n of data over HTTP and returns the status.
func metricsLinkPart(t *testing.T, a *adminApp, l store.Link, videoID string, chunk int64, data []byte, n int) int {
	t.Helper()
	from := int64(n-1) * chunk
	part := data[from:min(from+chunk, int64(len(data)))]
	u := fmt.Sprintf("%s/u/%s/uploads/%s/parts/%d", a.URL, l.ID, videoID, n)
	resp, body := call(t, newClient(t), http.MethodPut, u, bytes.NewReader(part), nil)
	if resp.StatusCode >= 500 {
		t.Fatalf("PUT part %d: %d %s", n, resp.StatusCode, body)
	}
	return resp.StatusCode
}

// metricsAPIPart sends data to POST /upload with the token, with a
// Content-Range unless it is empty, and returns the video's ID.
func metricsAPIPart(t *testing.T, a *adminApp, token, contentRange string, data []byte) string {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", "clip.mp4")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	h := http.Header{"Content-Type": {mw.FormDataContentType()}}
	if contentRange != "" {
		h.Set("Content-Range", contentRange)
	}
	resp, b := call(t, newClient(t), http.MethodPost, a.URL+"/upload?token="+token, &body, h)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /upload (%s): %d %s", contentRange, resp.StatusCode, b)
	}
	var v struct {
		VideoID string `json:"videoId"`
	}
	if err := json.Unmarshal([]byte(b), &v); err != nil || v.VideoID == "" {
		t.Fatalf("POST /upload: no videoId in %s", b)
	}
	return v.VideoID
}

// scrapeMetrics gets /metrics with client and header, requires 200, and
// returns the parsed scrape and its text.
func scrapeMetrics(t *testing.T, a *adminApp, client *http.Client, header http.Header) (metricstest.Scrape, string) {
	t.Helper()
	resp, body := call(t, client, http.MethodGet, a.URL+"/metrics", nil, header)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d, want 200\n%s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("GET /metrics: Content-Type=%q, want the text format", ct)
	}
	return metricstest.Parse(t, strings.NewReader(body)), body
}

// TestMetricsCountUploads drives real uploads through the application (a
// direct API upload, a link upload, a link upload refused for its type,
// one refused for its size, one cancelled, and uploads of both kinds
// abandoned when the clock passes their lease) and reads the counters back
// from GET /metrics.
func TestMetricsCountUploads(t *testing.T) {
	t.Parallel()
	a := newMetricsApp(t)
	ctx := context.Background()
	const mib = 1 << 20

	// A direct upload in one request.
	tok, err := a.Store.CreateUploadToken(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	whole := videoBytes(t, 3000)
	directID := metricsAPIPart(t, a, tok.ID, "", whole)

	// A link upload in two parts.
	linkData := videoBytes(t, 5*mib+1000)
	okLink := seedLink(t, a, links.Spec{Label: "ok"})
	status, up := metricsLinkStart(t, a, okLink, len(linkData))
	if status != http.StatusCreated || up.TotalParts != 2 {
		t.Fatalf("start: %d, %+v; want 201 with 2 parts", status, up)
	}
	for n := 1; n <= 2; n++ {
		if got := metricsLinkPart(t, a, okLink, up.VideoID, up.ChunkSize, linkData, n); got != http.StatusOK {
			t.Fatalf("link part %d: %d, want 200", n, got)
		}
	}

	// A file that is not a video, refused by its first bytes.
	junk := make([]byte, 4000)
	rand.New(rand.NewSource(1)).Read(junk)
	typeLink := seedLink(t, a, links.Spec{Label: "videos only"})
	_, refused := metricsLinkStart(t, a, typeLink, len(junk))
	if got, want := metricsLinkPart(t, a, typeLink, refused.VideoID, refused.ChunkSize, junk, 1), http.StatusUnsupportedMediaType; got != want {
		t.Fatalf("junk part: %d, want %d", got, want)
	}

	// A file over the link's limit, refused at the start.
	smallLink := seedLink(t, a, links.Spec{Label: "small", MaxSize: mib})
	if got, _ := metricsLinkStart(t, a, smallLink, 2*mib); got != http.StatusRequestEntityTooLarge {
		t.Fatalf("start of a large file: %d, want 413", got)
	}

	// An upload the uploader cancels before its first part.
	cancelLink := seedLink(t, a, links.Spec{Label: "cancelled"})
	_, cancelled := metricsLinkStart(t, a, cancelLink, 4000)
	u := a.URL + "/u/" + cancelLink.ID + "/uploads/" + cancelled.VideoID
	if resp, body := call(t, newClient(t), http.MethodDelete, u, nil, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE %s: %d %s", u, resp.StatusCode, body)
	}

	// Half an upload of each kind, then left alone.
	half := videoBytes(t, 10*mib)
	partialID := metricsAPIPart(t, a, tok.ID, "part 1/2", half[:5*mib])
	idleLink := seedLink(t, a, links.Spec{Label: "idle"})
	_, idle := metricsLinkStart(t, a, idleLink, len(half))
	if got := metricsLinkPart(t, a, idleLink, idle.VideoID, idle.ChunkSize, half, 1); got != http.StatusOK {
		t.Fatalf("idle link part 1: %d, want 200", got)
	}
	revoked := seedLink(t, a, links.Spec{Label: "revoked"})
	if _, err := a.Links.Revoke(ctx, revoked.ID); err != nil {
		t.Fatal(err)
	}
	// A page that does not exist, for the route label.
	if resp, _ := call(t, newClient(t), http.MethodGet, a.URL+"/no-such-page/"+directID, nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /no-such-page: %d, want 404", resp.StatusCode)
	}

	s, _ := scrapeMetrics(t, a, a.Client, nil)
	for _, tt := range []struct {
		description string
		name        string
		labels      []string
		want        float64
	}{
		{"links by state: active", "uplink_links", []string{"state", "active"}, 5},
		{"links by state: revoked", "uplink_links", []string{"state", "revoked"}, 1},
		{"api uploads in flight: the half one", "uplink_uploads_in_flight", []string{"kind", "api"}, 1},
		{"link uploads in flight: the idle one", "uplink_uploads_in_flight", []string{"kind", "link"}, 1},
	} {
		if got := s.Value(t, tt.name, tt.labels...); got != tt.want {
			t.Errorf("%s: %s%v=%v, want=%v", tt.description, tt.name, tt.labels, got, tt.want)
		}
	}

	// Past the lease, the cleanup abandons both half uploads: the upload
	// service holds both (as cmd/uplink's maintenance runs it), and
	// releases the link's slot with its upload; the links have nothing
	// left to reclaim.
	a.Clock.Advance(3 * time.Hour)
	r, err := a.Ingest.Reclaim(ctx)
	if err != nil || r.Abandoned != 2 {
		t.Fatalf("Reclaim: %+v, %v; want 2 abandoned", r, err)
	}
	if n, err := a.Links.Reclaim(ctx); err != nil || n != 0 {
		t.Fatalf("links Reclaim: %d, %v; want 0", n, err)
	}

	// The admin's session has ended too, three hours on: read them with
	// an API key.
	_, key, err := a.Store.CreateAPIKey(ctx, "prometheus")
	if err != nil {
		t.Fatal(err)
	}
	s, body := scrapeMetrics(t, a, newClient(t), http.Header{"Authorization": {"Basic " + basicAuth(key)}})
	api, link := []string{"kind", "api"}, []string{"kind", "link"}
	reason := func(kind []string, r string) []string { return append(kind[:2:2], "reason", r) }
	for _, tt := range []struct {
		description string
		name        string
		labels      []string
		want        float64
	}{
		// Each upload is counted once, by its kind: on the token
		// endpoint, the direct one and the half one.
		{"api started", "uplink_uploads_started_total", api, 2},
		{"api completed", "uplink_uploads_completed_total", api, 1},
		{"api abandoned", "uplink_uploads_failed_total", reason(api, "abandoned"), 1},
		{"api cancelled", "uplink_uploads_failed_total", reason(api, "cancelled"), 0},
		{"api refused", "uplink_uploads_failed_total", reason(api, "refused"), 0},
		{"api bytes", "uplink_upload_received_bytes_total", api, float64(len(whole) + 5*mib)},
		{"api pieces timed", "uplink_upload_part_duration_seconds", api, 2},
		{"link started", "uplink_uploads_started_total", link, 4},
		{"link completed", "uplink_uploads_completed_total", link, 1},
		{"link wrong type", "uplink_uploads_failed_total", reason(link, "wrong_type"), 1},
		{"link too large", "uplink_uploads_failed_total", reason(link, "too_large"), 1},
		{"link abandoned", "uplink_uploads_failed_total", reason(link, "abandoned"), 1},
		{"link cancelled", "uplink_uploads_failed_total", reason(link, "cancelled"), 1},
		{"link bytes", "uplink_upload_received_bytes_total", link, float64(len(linkData) + 5*mib)},
		{"link parts timed", "uplink_upload_part_duration_seconds", link, 3},
		{"in flight after the cleanup", "uplink_uploads_in_flight", api, 0},
		// HTTP requests, by route pattern.
		{"direct uploads", "uplink_http_requests_total", []string{"method", "POST", "route", "/upload", "status", "2xx"}, 2},
		{"link starts", "uplink_http_requests_total", []string{"method", "POST", "route", "/u/:id/uploads", "status", "2xx"}, 4},
		{"link cancel", "uplink_http_requests_total", []string{"method", "DELETE", "route", "/u/:id/uploads/:videoId", "status", "2xx"}, 1},
		{"refused link start", "uplink_http_requests_total", []string{"method", "POST", "route", "/u/:id/uploads", "status", "4xx"}, 1},
		{"link parts", "uplink_http_requests_total", []string{"method", "PUT", "route", "/u/:id/uploads/:videoId/parts/:n", "status", "2xx"}, 3},
		{"refused link part", "uplink_http_requests_total", []string{"method", "PUT", "route", "/u/:id/uploads/:videoId/parts/:n", "status", "4xx"}, 1},
		{"no route", "uplink_http_requests_total", []string{"method", "GET", "route", metrics.NoRoute, "status", "4xx"}, 1},
		{"link parts timed", "uplink_http_request_duration_seconds", []string{"method", "PUT", "route", "/u/:id/uploads/:videoId/parts/:n"}, 4},
	} {
		if got := s.Value(t, tt.name, tt.labels...); got != tt.want {
			t.Errorf("%s: %s%v=%v, want=%v", tt.description, tt.name, tt.labels, got, tt.want)
		}
	}

	// No ID, token or raw path in any label.
	for _, secret := range []string{
		directID, partialID, up.VideoID, refused.VideoID, idle.VideoID, cancelled.VideoID,
		okLink.ID, typeLink.ID, smallLink.ID, idleLink.ID, revoked.ID, cancelLink.ID,
		okLink.Token, tok.ID, key, "no-such-page",
	} {
		if secret != "" && strings.Contains(body, secret) {
			t.Errorf("the scrape holds %q", secret)
		}
	}
	for _, route := range s.LabelValues("uplink_http_requests_total", "route") {
		if route != metrics.NoRoute && !strings.HasPrefix(route, "/") {
			t.Errorf("route label %q is not a pattern", route)
		}
	}
}

// TestMetricsAccess checks who may read /metrics on the main listener:
// an admin's session, an API key (Basic, as Prometheus's basic_auth sends
// it) or an access token; anyone else gets 401 with a Basic challenge, or
// the sign-in page when a person navigates there.
func TestMetricsAccess(t *testing.T) {
	t.Parallel()
	a := newMetricsApp(t)
	ctx := context.Background()
	_, key, err := a.Store.CreateAPIKey(ctx, "prometheus")
	if err != nil {
		t.Fatal(err)
	}
	_, revokedKey, err := a.Store.CreateAPIKey(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := a.Store.ListAPIKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.Name == "old" {
			if err := a.Store.RevokeAPIKey(ctx, k.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	pair, err := a.Store.IssueTokens(ctx, store.Credentials{}, key)
	if err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		description string
		client      *http.Client
		header      http.Header
		want        int
		wantHeader  [2]string
	}{
		{"admin session", a.Client, nil, http.StatusOK, [2]string{"Cache-Control", "no-store"}},
		{"API key", newClient(t), http.Header{"Authorization": {"Basic " + basicAuth(key)}}, http.StatusOK, [2]string{}},
		{"access token", newClient(t), http.Header{"Authorization": {"Bearer " + pair.Access}}, http.StatusOK, [2]string{}},
		{"nothing", newClient(t), nil, http.StatusUnauthorized, [2]string{"WWW-Authenticate", `Basic realm="uplink metrics"`}},
		{"nothing, from a script", newClient(t), http.Header{"Accept": {"application/json"}}, http.StatusUnauthorized, [2]string{}},
		{"a person navigating", newClient(t), http.Header{"Sec-Fetch-Mode": {"navigate"}}, http.StatusSeeOther, [2]string{"Location", "/admin/login?next=%2Fmetrics"}},
		{"unknown API key", newClient(t), http.Header{"Authorization": {"Basic " + basicAuth("not-a-key-0123456789")}}, http.StatusUnauthorized, [2]string{"WWW-Authenticate", `Basic realm="uplink metrics"`}},
		{"revoked API key", newClient(t), http.Header{"Authorization": {"Basic " + basicAuth(revokedKey)}}, http.StatusUnauthorized, [2]string{}},
		{"empty Basic", newClient(t), http.Header{"Authorization": {"Basic " + basicAuth("")}}, http.StatusUnauthorized, [2]string{}},
		{"Basic that is not base64", newClient(t), http.Header{"Authorization": {"Basic !!!"}}, http.StatusUnauthorized, [2]string{}},
		{"unknown access token", newClient(t), http.Header{"Authorization": {"Bearer nope"}}, http.StatusUnauthorized, [2]string{}},
		{"another scheme", newClient(t), http.Header{"Authorization": {"Digest x"}}, http.StatusUnauthorized, [2]string{}},
		{"a key with an admin session still needs a valid key", a.Client, http.Header{"Authorization": {"Basic " + basicAuth("not-a-key-0123456789")}}, http.StatusUnauthorized, [2]string{}},
	} {
		t.Run(tt.description, func(t *testing.T) {
			resp, body := call(t, tt.client, http.MethodGet, a.URL+"/metrics", nil, tt.header)
			if got := resp.StatusCode; got != tt.want {
				t.Fatalf("status=%d, want=%d\n%s", got, tt.want, body)
			}
			if h := tt.wantHeader; h[0] != "" && resp.Header.Get(h[0]) != h[1] {
				t.Errorf("%s=%q, want=%q", h[0], resp.Header.Get(h[0]), h[1])
			}
			if got := strings.Contains(body, "uplink_http_requests_total"); got != (tt.want == http.StatusOK) {
				t.Errorf("the body has metrics: %v, want=%v", got, tt.want == http.StatusOK)
			}
			if strings.Contains(body, key) || strings.Contains(body, pair.Access) {
				t.Error("the answer holds the credentials")
			}
		})
	}
}

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/store/ingest"
	"github.com/uplink-video/uplink/store/storetest"
	"github.com/uplink-video/uplink/web"
	"github.com/uplink-video/uplink/web/links"
	"github.com/uplink-video/uplink/web/metrics"
	"github.com/uplink-video/uplink/web/metrics/metricstest"
	"github.com/uplink-video/uplink/web/webhooks"
)

// metricsLine is the line of the welcome message that gives the address
// of --metrics-addr.
var metricsLine = regexp.MustCompile(`metrics, without authentication: (http://\S+/metrics)\n`)

// metricsURL returns the --metrics-addr URL that a server started with
// it gives in its welcome message.
func metricsURL(t *testing.T, srv *server) string {
	t.Helper()
	m := metricsLine.FindStringSubmatch(srv.stdout.String())
	if m == nil {
		t.Fatalf("no metrics address in the welcome message:\n%s", srv.stdout)
	}
	return m[1]
}

// getMetrics gets a /metrics URL with an optional Authorization header
// and returns the status and the body.
func getMetrics(t *testing.T, client *http.Client, url, auth string) (int, string) {
	t.Helper()
	status, body := do(t, client, http.MethodGet, url, auth, nil)
	return status, string(body)
}

// TestServeMetrics runs the binary with --metrics-addr: the metrics are
// served there without authentication, and on the main address only to
// API keys (or admins). Uploads through the API and through a link show
// in the counters, with route patterns and no IDs.
func TestServeMetrics(t *testing.T) {
	data := t.TempDir()
	client := &http.Client{}
	env := []string{"UPLINK_API_KEY=" + testKey}
	srv := startServer(t, client, env, "--addr", "127.0.0.1:0", "--data", data, "--metrics-addr", "127.0.0.1:0")
	metricsURL := metricsURL(t, srv)
	if strings.HasPrefix(metricsURL, srv.URL) {
		t.Fatalf("metrics served at %s, on the main address %s", metricsURL, srv.URL)
	}

	videoID := uploadWhole(t, client, srv.URL, basicAuth(testKey), filepath.Join("testdata", "vp9-opus.webm"))
	stdout, stderr, code := runBinary(t, env, "link", "create", "--label", "Metrics", "--data", data, "--public-url", srv.URL)
	if code != 0 {
		t.Fatalf("link create: exit %d: %s", code, stderr)
	}
	linkURL := strings.TrimSpace(stdout)
	linkID := linkURL[strings.LastIndex(linkURL, "/")+1:]
	sess := uploadThroughLink(t, client, linkURL, videoBytes(t, 200<<10))
	linkVideoID := sess["videoId"].(string)

	// On the main address: credentials needed.
	if status, body := getMetrics(t, client, srv.URL+"/metrics", ""); status != http.StatusUnauthorized {
		t.Errorf("GET /metrics without credentials: %d, want 401\n%s", status, body)
	}
	if status, body := getMetrics(t, client, srv.URL+"/metrics", basicAuth(testKey)); status != http.StatusOK || !strings.Contains(body, "uplink_uploads_started_total") {
		t.Errorf("GET /metrics with the API key: %d, want 200 with the metrics\n%s", status, body)
	}

	// On --metrics-addr: none, and nothing but /metrics.
	status, body := getMetrics(t, client, metricsURL, "")
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d, want 200\n%s", metricsURL, status, body)
	}
	s := metricstest.Parse(t, strings.NewReader(body))
	for _, tt := range []struct {
		name   string
		labels []string
		want   float64
	}{
		// Each upload is counted once, by its kind.
		{"uplink_uploads_started_total", []string{"kind", "api"}, 1},
		{"uplink_uploads_completed_total", []string{"kind", "api"}, 1},
		{"uplink_uploads_started_total", []string{"kind", "link"}, 1},
		{"uplink_uploads_completed_total", []string{"kind", "link"}, 1},
		{"uplink_upload_received_bytes_total", []string{"kind", "link"}, 200 << 10},
		{"uplink_links", []string{"state", "used_up"}, 1}, // A link takes one file by default.
		{"uplink_links", []string{"state", "active"}, 0},
		{"uplink_uploads_in_flight", []string{"kind", "api"}, 0},
		{"uplink_http_requests_total", []string{"method", "POST", "route", "/upload", "status", "2xx"}, 1},
		{"uplink_http_requests_total", []string{"method", "PUT", "route", "/u/:id/uploads/:videoId/parts/:n", "status", "2xx"}, 1},
		{"uplink_http_requests_total", []string{"method", "GET", "route", "/metrics", "status", "4xx"}, 1},
	} {
		if got := s.Value(t, tt.name, tt.labels...); got != tt.want {
			t.Errorf("%s%v=%v, want=%v", tt.name, tt.labels, got, tt.want)
		}
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "uplink_cleanup_removed_total"} {
		if s[name] == nil {
			t.Errorf("no %s in the scrape", name)
		}
	}
	// The database's pools: SQLite's one writer connection and its
	// readers, each with its figures.
	if got, want := s.LabelValues("go_sql_max_open_connections", "db_name"), []string{"read", "write"}; !slices.Equal(got, want) {
		t.Errorf("pools in go_sql_max_open_connections: %v, want=%v", got, want)
	}
	if got := s.Value(t, "go_sql_max_open_connections", "db_name", "write"); got != 1 {
		t.Errorf("go_sql_max_open_connections{db_name=write}=%v, want=1: SQLite takes one writer", got)
	}
	if s.Has("uplink_s3_requests_total") {
		t.Error("uplink_s3_requests_total served without a bucket")
	}
	for _, secret := range []string{videoID, linkVideoID, linkID, testKey} {
		if strings.Contains(body, secret) {
			t.Errorf("the scrape holds %q", secret)
		}
	}
	if status, _ := getMetrics(t, client, strings.TrimSuffix(metricsURL, "/metrics")+"/healthz", ""); status != http.StatusNotFound {
		t.Errorf("GET /healthz on --metrics-addr: %d, want 404", status)
	}
	if status, _ := do(t, client, http.MethodPost, metricsURL, "", nil); status != http.StatusMethodNotAllowed {
		t.Errorf("POST on --metrics-addr: %d, want 405", status)
	}

	if got, want := srv.stop(t), 0; got != want {
		t.Errorf("exit code after SIGTERM=%d, want=%d; stderr:\n%s", got, want, srv.stderr)
	}
	if _, err := client.Get(metricsURL); err == nil {
		t.Error("--metrics-addr still answers after the server stopped")
	}
}

// TestMaintainOnce runs one cleanup pass on a store whose clock has moved
// past every lease and expiry, and checks that it reclaims each kind of
// debris, deletes ended sessions, and counts all of it in the metrics.
func TestMaintainOnce(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clk := storetest.NewClock()
	st := storetest.OpenDSN(t, filepath.Join(dir, "uplink.db"), clk)
	blobs, err := blob.NewDir(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New(prometheus.NewRegistry())
	srv := &Main{
		store: st, blobs: blobs, metrics: m, cleanup: m.Cleanup(),
		webhooks: webhooks.New(st, webhooks.Config{}),
	}
	srv.ingest = ingest.New(st, blobs, ingest.Config{Lease: time.Hour,
		Metrics: m.Uploads(metrics.KindAPI), LinkMetrics: m.Uploads(metrics.KindLink)})
	srv.links = links.New(st, links.Local{Ingest: srv.ingest, Store: st}, links.Config{Lease: time.Hour, Metrics: m.Uploads(metrics.KindLink)})

	// An upload on the token endpoint with one piece in, and a blob no
	// row refers to, written long enough ago to be nobody's work in
	// progress.
	tok, err := st.CreateUploadToken(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	source := blob.NewKey()
	mp, err := blobs.CreateMultipart(ctx, source)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := blobs.WritePart(ctx, mp, blob.Part{Number: 1, Size: 5, Offset: 0}, strings.NewReader("12345")); err != nil {
		t.Fatal(err)
	}
	now := clk.Now()
	u := store.Upload{
		VideoID: store.NewID(store.PrefixVideo), TokenID: tok.ID, Mode: store.ModePart, Status: store.UploadUploading,
		SourceKey: source, MultipartID: mp.ID, SourceSize: 5, ReceivedParts: 1, Filename: "a.mp4",
		StartedAt: now, UpdatedAt: now, LeaseExpiresAt: now.Add(time.Hour),
	}
	if err := st.StartUpload(ctx, store.NewUpload{
		Upload: u, First: &store.Part{Seq: 1, Number: 1, Size: 5, ReceivedAt: now}, Video: &store.VideoCreate{Title: "a"},
	}); err != nil {
		t.Fatal(err)
	}
	orphan := blob.NewKey()
	if _, err := blobs.Put(ctx, orphan, 6, strings.NewReader("orphan")); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * ingest.OrphanAge)
	if err := os.Chtimes(filepath.Join(dir, "blobs", orphan[:2], orphan), old, old); err != nil {
		t.Fatal(err)
	}
	// An upload through a link that got its slot and no part.
	link, err := srv.links.Create(ctx, links.Spec{Label: "idle", Types: []string{"any"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := srv.links.Start(ctx, link.ID, links.StartRequest{Filename: "b.mp4", Size: 10, LastModified: 1}); err != nil {
		t.Fatal(err)
	}
	// A token pair and two dashboard sessions.
	_, key, err := st.CreateAPIKey(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.IssueTokens(ctx, store.Credentials{}, key); err != nil {
		t.Fatal(err)
	}
	admin, err := st.CreateAdmin(ctx, "ops@example.com", "hash")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"session-1", "session-2"} {
		hash := sha256.Sum256([]byte(id))
		if _, err := st.CreateAdminSession(ctx, hash[:], admin.ID, strings.Repeat("c", 32), 24*time.Hour); err != nil {
			t.Fatal(err)
		}
	}

	for _, email := range []string{"ops@example.com", "nobody@example.com"} {
		if id, _, err := st.ReserveLoginAttempt(ctx, email, "192.0.2.1", store.LoginLimits{Window: web.SignInWindow, PerAccount: 5, PerAddress: 20}); err != nil || id == 0 {
			t.Fatalf("ReserveLoginAttempt(%s): %d, %v", email, id, err)
		}
	}

	clk.Advance(store.RefreshTokenTTL + time.Hour)
	var logs bytes.Buffer
	srv.log = slog.New(slog.NewTextHandler(&logs, nil))
	srv.maintainOnce(ctx)

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	s := metricstest.Parse(t, rec.Body)
	for _, tt := range []struct {
		name   string
		labels []string
		want   float64
	}{
		// The upload service holds both unfinished uploads, the link's
		// too, and abandons them; it frees the link's slot with it.
		{"uplink_cleanup_removed_total", []string{"item", "abandoned_upload"}, 2},
		{"uplink_cleanup_removed_total", []string{"item", "orphan_blob"}, 1},
		{"uplink_cleanup_removed_total", []string{"item", "abandoned_link_upload"}, 0},
		{"uplink_cleanup_removed_total", []string{"item", "expired_auth_token"}, 2},
		{"uplink_cleanup_removed_total", []string{"item", "stale_session"}, 2},
		{"uplink_cleanup_removed_total", []string{"item", "expired_sign_in_attempt"}, 2},
		{"uplink_cleanup_runs_total", []string{"result", "ok"}, 1},
		{"uplink_cleanup_runs_total", []string{"result", "error"}, 0},
		{"uplink_uploads_failed_total", []string{"kind", "api", "reason", "abandoned"}, 1},
		{"uplink_uploads_failed_total", []string{"kind", "link", "reason", "abandoned"}, 1},
	} {
		if got := s.Value(t, tt.name, tt.labels...); got != tt.want {
			t.Errorf("%s%v=%v, want=%v", tt.name, tt.labels, got, tt.want)
		}
	}
	if got := s.Value(t, "uplink_cleanup_last_success_timestamp_seconds"); got < float64(time.Now().Add(-time.Hour).Unix()) {
		t.Errorf("last success at %v, want about now", got)
	}
	line := logs.String()
	for _, want := range []string{`msg="cleaned up"`, "abandoned_uploads=2", "orphan_blobs=1", "abandoned_link_uploads=0", "expired_auth_tokens=2", "stale_sessions=2", "expired_sign_in_attempts=2"} {
		if !strings.Contains(line, want) {
			t.Errorf("the log has no %q:\n%s", want, line)
		}
	}
	if strings.Contains(line, "level=ERROR") {
		t.Errorf("the cleanup logged errors:\n%s", line)
	}

	// Nothing is left for a second pass, which logs nothing.
	logs.Reset()
	srv.maintainOnce(ctx)
	if logs.Len() != 0 {
		t.Errorf("a pass with nothing to do logged:\n%s", logs.String())
	}
}

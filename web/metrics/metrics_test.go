package metrics_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/uplink-video/uplink/web/metrics"
	"github.com/uplink-video/uplink/web/metrics/metricstest"
)

// scrape serves the metrics through Handler and parses them.
func scrape(t *testing.T, m *metrics.Metrics) (metricstest.Scrape, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if got, want := rec.Code, http.StatusOK; got != want {
		t.Fatalf("GET /metrics: status=%d, want=%d; body: %s", got, want, rec.Body)
	}
	body := rec.Body.String()
	return metricstest.Parse(t, strings.NewReader(body)), body
}

func TestUploadCounters(t *testing.T) {
	m := metrics.New(prometheus.NewRegistry())
	api, link := m.Uploads(metrics.KindAPI), m.Uploads(metrics.KindLink)

	// Before anything happens, every series is there at zero.
	s, _ := scrape(t, m)
	for _, tt := range []struct {
		name   string
		labels []string
	}{
		{"uplink_uploads_started_total", []string{"kind", "api"}},
		{"uplink_uploads_completed_total", []string{"kind", "link"}},
		{"uplink_uploads_failed_total", []string{"kind", "link", "reason", "wrong_type"}},
		{"uplink_uploads_failed_total", []string{"kind", "api", "reason", "no_space"}},
		{"uplink_upload_received_bytes_total", []string{"kind", "api"}},
		{"uplink_upload_part_duration_seconds", []string{"kind", "link"}},
		{"uplink_cleanup_removed_total", []string{"item", "stale_session"}},
		{"uplink_cleanup_runs_total", []string{"result", "error"}},
	} {
		if got, want := s.Value(t, tt.name, tt.labels...), 0.0; got != want {
			t.Errorf("%s%v=%v before any event, want=%v", tt.name, tt.labels, got, want)
		}
	}

	api.UploadStarted()
	api.UploadStarted()
	api.UploadCompleted()
	api.PartCommitted(5<<20, 300*time.Millisecond)
	api.PartCommitted(3, 90*time.Second)
	api.UploadFailed("abandoned")
	link.UploadStarted()
	link.UploadFailed("wrong_type")
	link.UploadFailed("made-up reason")
	link.PartCommitted(-1, time.Second) // A negative size adds nothing.

	s, _ = scrape(t, m)
	for _, tt := range []struct {
		description string
		name        string
		labels      []string
		want        float64
	}{
		{"api started", "uplink_uploads_started_total", []string{"kind", "api"}, 2},
		{"api completed", "uplink_uploads_completed_total", []string{"kind", "api"}, 1},
		{"api bytes", "uplink_upload_received_bytes_total", []string{"kind", "api"}, 5<<20 + 3},
		{"api parts timed", "uplink_upload_part_duration_seconds", []string{"kind", "api"}, 2},
		{"api abandoned", "uplink_uploads_failed_total", []string{"kind", "api", "reason", "abandoned"}, 1},
		{"link started", "uplink_uploads_started_total", []string{"kind", "link"}, 1},
		{"link completed", "uplink_uploads_completed_total", []string{"kind", "link"}, 0},
		{"link wrong type", "uplink_uploads_failed_total", []string{"kind", "link", "reason", "wrong_type"}, 1},
		{"unknown reason", "uplink_uploads_failed_total", []string{"kind", "link", "reason", "other"}, 1},
		{"link bytes", "uplink_upload_received_bytes_total", []string{"kind", "link"}, 0},
	} {
		if got := s.Value(t, tt.name, tt.labels...); got != tt.want {
			t.Errorf("%s: %s%v=%v, want=%v", tt.description, tt.name, tt.labels, got, tt.want)
		}
	}
	if s.Has("uplink_uploads_failed_total", "kind", "link", "reason", "made-up reason") {
		t.Error("an unknown reason became a label value")
	}
	// The 0.3 s part falls in the buckets from 0.5 s, the 90 s one in
	// those from 120 s.
	h := s["uplink_upload_part_duration_seconds"]
	for _, mm := range h.Metric {
		if mm.Label[0].GetValue() != "api" {
			continue
		}
		for _, b := range mm.Histogram.Bucket {
			want := uint64(0)
			if b.GetUpperBound() >= 0.3 {
				want++
			}
			if b.GetUpperBound() >= 90 {
				want++
			}
			if got := b.GetCumulativeCount(); got != want {
				t.Errorf("bucket le=%v: %d, want=%d", b.GetUpperBound(), got, want)
			}
		}
	}
}

func TestUnknownKindPanics(t *testing.T) {
	m := metrics.New(prometheus.NewRegistry())
	defer func() {
		if recover() == nil {
			t.Error("Uploads(\"ftp\") did not panic")
		}
	}()
	m.Uploads("ftp")
}

func TestCleanup(t *testing.T) {
	m := metrics.New(prometheus.NewRegistry())
	c := m.Cleanup()
	c.Removed("orphan_blob", 3)
	c.Removed("orphan_blob", 2)
	c.Removed("stale_session", 0)
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c.Ran(at, false)
	c.Ran(at.Add(time.Hour), true)

	s, _ := scrape(t, m)
	for _, tt := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"uplink_cleanup_removed_total", []string{"item", "orphan_blob"}, 5},
		{"uplink_cleanup_removed_total", []string{"item", "stale_session"}, 0},
		{"uplink_cleanup_runs_total", []string{"result", "ok"}, 1},
		{"uplink_cleanup_runs_total", []string{"result", "error"}, 1},
		{"uplink_cleanup_last_success_timestamp_seconds", nil, float64(at.Unix())},
	} {
		if got := s.Value(t, tt.name, tt.labels...); got != tt.want {
			t.Errorf("%s%v=%v, want=%v", tt.name, tt.labels, got, tt.want)
		}
	}
}

func TestWatchState(t *testing.T) {
	m := metrics.New(prometheus.NewRegistry())
	var fail error
	reads := 0
	m.WatchState(func(ctx context.Context) (metrics.State, error) {
		reads++
		if _, ok := ctx.Deadline(); !ok {
			t.Error("the state is read without a deadline")
		}
		return metrics.State{
			LinksByState:    map[string]int{"active": 3, "revoked": 1},
			UploadsInFlight: map[string]int{metrics.KindLink: 2},
		}, fail
	})

	s, _ := scrape(t, m)
	for _, tt := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"uplink_links", []string{"state", "active"}, 3},
		{"uplink_links", []string{"state", "expired"}, 0},
		{"uplink_links", []string{"state", "used_up"}, 0},
		{"uplink_links", []string{"state", "revoked"}, 1},
		{"uplink_uploads_in_flight", []string{"kind", "api"}, 0},
		{"uplink_uploads_in_flight", []string{"kind", "link"}, 2},
	} {
		if got := s.Value(t, tt.name, tt.labels...); got != tt.want {
			t.Errorf("%s%v=%v, want=%v", tt.name, tt.labels, got, tt.want)
		}
	}
	if got, want := reads, 1; got != want {
		t.Errorf("one scrape read the state %d times, want=%d", got, want)
	}

	// A failing store leaves the gauges out of the scrape, not the rest.
	fail = errors.New("database is locked")
	s, _ = scrape(t, m)
	if s.Has("uplink_links", "state", "active") {
		t.Error("the scrape has uplink_links although reading the state failed")
	}
	if !s.Has("uplink_uploads_started_total", "kind", "api") {
		t.Error("a failing state read dropped the other metrics")
	}
}

// TestMiddleware checks that requests are counted by route pattern and
// status class, with the status the error handler wrote, and that nothing
// from the raw path or the method a client invents becomes a label.
func TestMiddleware(t *testing.T) {
	m := metrics.New(prometheus.NewRegistry())
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		status := http.StatusInternalServerError
		var he *echo.HTTPError
		if errors.As(err, &he) {
			status = he.Code
		}
		_ = c.NoContent(status)
	}
	e.Use(m.Middleware)
	e.GET("/videos/:id", func(c echo.Context) error { return c.String(http.StatusOK, c.Param("id")) })
	e.PUT("/u/:id/parts/:n", func(c echo.Context) error { return echo.NewHTTPError(http.StatusConflict) })
	e.GET("/boom", func(c echo.Context) error { return errors.New("boom") })

	for _, r := range []struct{ method, path string }{
		{"GET", "/videos/vi4secretvideo"},
		{"GET", "/videos/vi5othervideo?token=to-secret"},
		{"PUT", "/u/lksecretlink/parts/3"},
		{"GET", "/boom"},
		{"GET", "/no/such/page/lkhidden"},
		{"BREW", "/videos/vi6coffee"},
	} {
		e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(r.method, r.path, nil))
	}

	s, body := scrape(t, m)
	for _, tt := range []struct {
		labels []string
		want   float64
	}{
		{[]string{"method", "GET", "route", "/videos/:id", "status", "2xx"}, 2},
		{[]string{"method", "PUT", "route", "/u/:id/parts/:n", "status", "4xx"}, 1},
		{[]string{"method", "GET", "route", "/boom", "status", "5xx"}, 1},
		{[]string{"method", "GET", "route", metrics.NoRoute, "status", "4xx"}, 1},
	} {
		if got := s.Value(t, "uplink_http_requests_total", tt.labels...); got != tt.want {
			t.Errorf("uplink_http_requests_total%v=%v, want=%v", tt.labels, got, tt.want)
		}
	}
	if got, want := s.Value(t, "uplink_http_request_duration_seconds", "method", "GET", "route", "/videos/:id"), 2.0; got != want {
		t.Errorf("duration count of GET /videos/:id=%v, want=%v", got, want)
	}
	for _, v := range s.LabelValues("uplink_http_requests_total", "method") {
		if v == "BREW" {
			t.Error("an invented method became a label value")
		}
	}
	for _, secret := range []string{"secret", "vi5othervideo", "vi6coffee", "lkhidden", "/no/such"} {
		if strings.Contains(body, secret) {
			t.Errorf("the scrape holds %q, from a raw path", secret)
		}
	}
}

// TestS3Requests counts the bucket's calls by operation and outcome, and
// times them.
func TestS3Requests(t *testing.T) {
	m := metrics.New(prometheus.NewRegistry())
	observe := m.S3Request()
	observe("UploadPart", 20*time.Millisecond, nil)
	observe("UploadPart", 30*time.Millisecond, nil)
	observe("UploadPart", time.Second, errors.New("connection reset"))
	observe("HeadBucket", time.Millisecond, nil)
	s, _ := scrape(t, m)
	for _, tt := range []struct {
		labels []string
		want   float64
	}{
		{[]string{"operation", "UploadPart", "outcome", "ok"}, 2},
		{[]string{"operation", "UploadPart", "outcome", "error"}, 1},
		{[]string{"operation", "HeadBucket", "outcome", "ok"}, 1},
	} {
		if got := s.Value(t, "uplink_s3_requests_total", tt.labels...); got != tt.want {
			t.Errorf("uplink_s3_requests_total%v=%v, want=%v", tt.labels, got, tt.want)
		}
	}
	if !s.Has("uplink_s3_request_duration_seconds", "operation", "UploadPart") {
		t.Error("no uplink_s3_request_duration_seconds{operation=UploadPart}")
	}
}

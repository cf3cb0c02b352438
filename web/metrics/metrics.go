// Package metrics defines uplink's Prometheus metrics: uploads on the
// token endpoint and through links, HTTP requests by route pattern, the
// cleanup job's results, and gauges read from the store at scrape time.
//
// There are no package-level collectors. cmd/uplink creates a registry,
// builds one Metrics on it with New and hands the pieces down: Uploads to
// store/ingest and web/links (each declares the small interface it
// calls), Middleware and Handler to package web, Cleanup to its
// maintenance loop. Every label value comes from a fixed set (route
// patterns, never raw paths), so the number of series stays bounded
// whatever clients send.
package metrics

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The kinds of upload, the value of the "kind" label.
const (
	// KindAPI counts uploads on the token upload endpoint (POST /upload,
	// package store/ingest): every upload whose bytes this server keeps,
	// whether an SDK sent it or a link forwarded it in-process.
	KindAPI = "api"
	// KindLink counts uploads through upload links (package web/links),
	// as their uploaders see them.
	KindLink = "link"
)

var kinds = []string{KindAPI, KindLink}

// Reasons are the values of the "reason" label of
// uplink_uploads_failed_total. A reason outside this list is counted as
// "other", so that a caller's mistake cannot create new series.
var Reasons = []string{
	"abandoned",      // No piece arrived for the upload lease; the upload was reclaimed.
	"cancelled",      // The uploader cancelled, or the video was deleted mid-upload.
	"wrong_type",     // A link refused the file's type (after its first bytes).
	"too_large",      // Over a link's size limit, or a piece over 200 MiB.
	"no_space",       // The disk was full; nothing of the piece was kept.
	"link_closed",    // The link was revoked, expired, used up or busy.
	"invalid",        // A start request a link refused as malformed (no name, empty file...).
	"refused",        // The token endpoint refused a piece (a protocol error, a bad token).
	"interrupted",    // The request body stopped before its end (cut off, timed out).
	"upstream_error", // A link could not reach its token endpoint.
	"busy",           // The part was being received by another request, or too many parts were in flight.
	"error",          // The server failed (a database or disk error other than a full disk).
	"other",
}

// LinkStates are the values of the "state" label of uplink_links.
var LinkStates = []string{"active", "expired", "used_up", "revoked"}

// CleanupItems are the values of the "item" label of
// uplink_cleanup_removed_total.
var CleanupItems = []string{
	"abandoned_upload",        // Uploads on the token endpoint whose lease ran out; their bytes are reclaimed.
	"abandoned_link_upload",   // Uploads through links whose lease ran out; their slots are freed.
	"orphan_blob",             // Blobs that no upload refers to (the debris of crashes and refusals).
	"expired_auth_token",      // Expired API access and refresh tokens.
	"stale_session",           // Dashboard sessions past their idle or absolute timeout.
	"expired_sign_in_attempt", // Dashboard sign-in attempts that no longer count against the throttle.
}

// NoRoute is the route label of requests that matched no route.
const NoRoute = "(no route)"

// PartBuckets are the bounds, in seconds, of the part latency histogram:
// from a 5 MiB part on a fast network to a 128 MiB one on a slow link.
var PartBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600}

// HTTPBuckets are the bounds, in seconds, of the request duration
// histogram: pages and API calls at the low end, upload parts at the top.
var HTTPBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}

// Metrics holds uplink's collectors, registered on one registry.
type Metrics struct {
	gatherer prometheus.Gatherer

	started   *prometheus.CounterVec
	completed *prometheus.CounterVec
	failed    *prometheus.CounterVec
	received  *prometheus.CounterVec
	parts     *prometheus.HistogramVec

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec

	cleaned     *prometheus.CounterVec
	cleanupRuns *prometheus.CounterVec
	cleanupLast prometheus.Gauge

	reg prometheus.Registerer

	// processing is built on its first use (processing.go).
	processingOnce sync.Once
	processing     *Processing
}

// New creates uplink's collectors and registers them on reg, which also
// serves them (Handler). It panics if they are already registered there:
// build one Metrics per registry.
func New(reg *prometheus.Registry) *Metrics {
	m := &Metrics{
		gatherer: reg,
		reg:      reg,
		started: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "uplink_uploads_started_total",
			Help: "Uploads started, by kind (api: the token upload endpoint; link: upload links).",
		}, []string{"kind"}),
		completed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "uplink_uploads_completed_total",
			Help: "Uploads completed (every byte received), by kind.",
		}, []string{"kind"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "uplink_uploads_failed_total",
			Help: "Uploads that failed, or upload requests that were refused, by kind and reason.",
		}, []string{"kind", "reason"}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "uplink_upload_received_bytes_total",
			Help: "Bytes of upload pieces received and accepted, by kind.",
		}, []string{"kind"}),
		parts: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "uplink_upload_part_duration_seconds",
			Help:    "Time from the start of an upload piece's request to its commit, by kind.",
			Buckets: PartBuckets,
		}, []string{"kind"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "uplink_http_requests_total",
			Help: "HTTP requests, by method, route pattern and status class.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "uplink_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by method and route pattern.",
			Buckets: HTTPBuckets,
		}, []string{"method", "route"}),
		cleaned: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "uplink_cleanup_removed_total",
			Help: "What the cleanup job reclaimed or deleted, by item.",
		}, []string{"item"}),
		cleanupRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "uplink_cleanup_runs_total",
			Help: "Runs of the cleanup job, by result (ok, or error when a step failed).",
		}, []string{"result"}),
		cleanupLast: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "uplink_cleanup_last_success_timestamp_seconds",
			Help: "When the cleanup job last ran without an error, in Unix seconds.",
		}),
	}
	reg.MustRegister(m.started, m.completed, m.failed, m.received, m.parts,
		m.requests, m.duration, m.cleaned, m.cleanupRuns, m.cleanupLast)
	// Every known series starts at zero, so that it is there to be
	// queried (and rate() works) before its first event.
	for _, k := range kinds {
		m.started.WithLabelValues(k)
		m.completed.WithLabelValues(k)
		m.received.WithLabelValues(k)
		m.parts.WithLabelValues(k)
		for _, r := range Reasons {
			m.failed.WithLabelValues(k, r)
		}
	}
	for _, it := range CleanupItems {
		m.cleaned.WithLabelValues(it)
	}
	m.cleanupRuns.WithLabelValues("ok")
	m.cleanupRuns.WithLabelValues("error")
	return m
}

// Handler serves the registry's metrics in the Prometheus text (or
// OpenMetrics) format. A collector that fails (the store, say) is left
// out of that scrape, and the rest is served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.gatherer, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Uploads returns the counters of one kind of upload (KindAPI or
// KindLink), for the package that runs those uploads.
func (m *Metrics) Uploads(kind string) *Uploads {
	if !slices.Contains(kinds, kind) {
		panic("metrics: unknown upload kind " + strconv.Quote(kind))
	}
	return &Uploads{
		kind:      kind,
		started:   m.started.WithLabelValues(kind),
		completed: m.completed.WithLabelValues(kind),
		received:  m.received.WithLabelValues(kind),
		parts:     m.parts.WithLabelValues(kind),
		failed:    m.failed,
	}
}

// Uploads counts one kind of upload. Its methods are safe for concurrent
// use and never block.
type Uploads struct {
	kind      string
	started   prometheus.Counter
	completed prometheus.Counter
	received  prometheus.Counter
	parts     prometheus.Observer
	failed    *prometheus.CounterVec
}

// UploadStarted counts a new upload (not a resumed one).
func (u *Uploads) UploadStarted() { u.started.Inc() }

// UploadCompleted counts an upload that received its last byte.
func (u *Uploads) UploadCompleted() { u.completed.Inc() }

// UploadFailed counts an upload that failed, or a request for one that
// was refused, with one of Reasons ("other" for anything else).
func (u *Uploads) UploadFailed(reason string) {
	if !slices.Contains(Reasons, reason) {
		reason = "other"
	}
	u.failed.WithLabelValues(u.kind, reason).Inc()
}

// PartCommitted counts a piece of an upload that was accepted: its size
// in bytes, and d, the time from the start of its request to its commit.
func (u *Uploads) PartCommitted(bytes int64, d time.Duration) {
	u.received.Add(float64(max(bytes, 0)))
	u.parts.Observe(d.Seconds())
}

// State is what the store holds at one moment, for the gauges.
type State struct {
	// LinksByState counts links by LinkStates; a missing state is 0.
	LinksByState map[string]int
	// UploadsInFlight counts unfinished uploads whose lease runs, by
	// kind (KindAPI, KindLink).
	UploadsInFlight map[string]int
}

// WatchState registers the gauges uplink_links{state} and
// uplink_uploads_in_flight{kind}, which call read at every scrape (with a
// deadline of 10 s). Call it once.
func (m *Metrics) WatchState(read func(context.Context) (State, error)) {
	m.reg.MustRegister(&stateCollector{
		read:     read,
		links:    prometheus.NewDesc("uplink_links", "Upload links, by state.", []string{"state"}, nil),
		inFlight: prometheus.NewDesc("uplink_uploads_in_flight", "Uploads started and not finished, whose lease has not run out, by kind.", []string{"kind"}, nil),
	})
}

// stateCollector reads the gauges from the store when scraped, so they
// are right after a restart and need no bookkeeping on every change.
type stateCollector struct {
	read            func(context.Context) (State, error)
	links, inFlight *prometheus.Desc
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.links
	ch <- c.inFlight
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := c.read(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.links, err)
		ch <- prometheus.NewInvalidMetric(c.inFlight, err)
		return
	}
	for _, st := range LinkStates {
		ch <- prometheus.MustNewConstMetric(c.links, prometheus.GaugeValue, float64(s.LinksByState[st]), st)
	}
	for _, k := range kinds {
		ch <- prometheus.MustNewConstMetric(c.inFlight, prometheus.GaugeValue, float64(s.UploadsInFlight[k]), k)
	}
}

// Cleanup returns the counters of the cleanup job.
func (m *Metrics) Cleanup() *Cleanup { return &Cleanup{m: m} }

// Cleanup counts what the cleanup job does.
type Cleanup struct{ m *Metrics }

// Removed counts n items of one of CleanupItems.
func (c *Cleanup) Removed(item string, n int) {
	if n <= 0 {
		return
	}
	if !slices.Contains(CleanupItems, item) {
		panic("metrics: unknown cleanup item " + strconv.Quote(item))
	}
	c.m.cleaned.WithLabelValues(item).Add(float64(n))
}

// Ran counts a run of the job, which succeeded unless failed, at now.
func (c *Cleanup) Ran(now time.Time, failed bool) {
	if failed {
		c.m.cleanupRuns.WithLabelValues("error").Inc()
		return
	}
	c.m.cleanupRuns.WithLabelValues("ok").Inc()
	c.m.cleanupLast.Set(float64(now.UnixNano()) / 1e9)
}

// methods are the values of the "method" label; others are "other".
var methods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodOptions,
}

// Middleware counts and times every request by method, route pattern
// (Echo's c.Path(), NoRoute when none matched) and status class. Put it
// first, outside the request log: it lets the error handler answer
// first, so that it counts the status the client got.
func (m *Metrics) Middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		if err := next(c); err != nil {
			c.Error(err)
		}
		route := c.Path()
		if route == "" {
			route = NoRoute
		}
		method := c.Request().Method
		if !slices.Contains(methods, method) {
			method = "other"
		}
		m.requests.WithLabelValues(method, route, statusClass(c.Response().Status)).Inc()
		m.duration.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
		return nil
	}
}

// statusClass is "2xx" for 200 to 299, and so on.
func statusClass(status int) string {
	if status < 100 || status > 599 {
		return "other"
	}
	return strconv.Itoa(status/100) + "xx"
}

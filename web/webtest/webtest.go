// Package webtest starts a whole uplink for a test: SQLite in a temporary
// directory, blobs on disk, the upload service, the links and the
// webhooks, and the web application behind a real HTTP server on
// loopback, wired the way cmd/uplink wires them. Every test that needs a
// running uplink starts one here, with options for what it changes.
package webtest

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/store/ingest"
	"github.com/uplink-video/uplink/store/media"
	"github.com/uplink-video/uplink/store/media/mediatest"
	"github.com/uplink-video/uplink/store/processing"
	"github.com/uplink-video/uplink/store/storetest"
	"github.com/uplink-video/uplink/web"
	"github.com/uplink-video/uplink/web/links"
	"github.com/uplink-video/uplink/web/metrics"
	"github.com/uplink-video/uplink/web/webhooks"
)

// App is one running uplink.
type App struct {
	// URL is the server's base URL, also its public URL.
	URL      string
	Store    *store.Store
	Blobs    *blob.Dir
	Ingest   *ingest.Service
	Links    *links.Service
	Webhooks *webhooks.Service
	// Processing runs the processing jobs when WithProcessing is given:
	// tests step it (RunOne) or run it (Run). Nil otherwise.
	Processing *processing.Service
	// Metrics counts uploads through the API and links, and HTTP requests,
	// with the gauges read from the store, as cmd/uplink wires them.
	Metrics *metrics.Metrics
	// Echo is the application, for walking its route table.
	Echo *echo.Echo
	// Clock is the store's clock; it starts at storetest.Epoch (or at the
	// time WithClockAt gives).
	Clock *storetest.Clock
	// Dir holds the blobs (BlobDir, the root of Blobs), and the SQLite
	// database DBPath, for tests that look at the files themselves. The
	// database is DSN: DBPath, or a PostgreSQL URL when the tests of the
	// package run on PostgreSQL (storetest.Main); DBPath is then empty.
	Dir, DBPath, BlobDir, DSN string
	// Deps are the dependencies the application was built with.
	Deps web.Deps
}

// config is what the options change.
type config struct {
	start       time.Time
	lease       time.Duration
	chunk       int64
	log         *slog.Logger
	upstreamURL string
	upstreamKey string
	deps        []func(*web.Deps)
	ingest      []func(*ingest.Config)
	wrap        func(http.Handler) http.Handler
	// privateWebhooks lets webhook endpoints be on loopback.
	privateWebhooks bool
	blobs           func(*blob.Dir) blob.Store
	listener        func(net.Listener) net.Listener
	processing      []func(*processing.Config)
	runProcessing   bool
}

// Option changes how Start builds the application.
type Option func(*config)

// WithClockAt starts the clock at t instead of storetest.Epoch, for tests
// whose expected dates are written out from another start.
func WithClockAt(t time.Time) Option { return func(c *config) { c.start = t } }

// WithLease sets how long an upload may idle between parts (default two
// hours).
func WithLease(d time.Duration) Option { return func(c *config) { c.lease = d } }

// WithChunkSize sets the part size of uploads through links (default 5
// MiB, the smallest, to keep tests fast).
func WithChunkSize(n int64) Option { return func(c *config) { c.chunk = n } }

// WithLogger sets the logger of every part of the application (default:
// nothing is logged).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// WithUpstream sends the bytes of uploads through links to another
// api.video-compatible host (such as another App) with an API key.
func WithUpstream(url, apiKey string) Option {
	return func(c *config) { c.upstreamURL, c.upstreamKey = url, apiKey }
}

// WithDeps lets the test change the web application's dependencies (an
// API key, rate limits, a read timeout...) before it is built.
func WithDeps(fn func(*web.Deps)) Option { return func(c *config) { c.deps = append(c.deps, fn) } }

// WithIngest lets the test change the upload service's configuration
// (its limits, a blob store wrapper...) before it is built.
func WithIngest(fn func(*ingest.Config)) Option {
	return func(c *config) { c.ingest = append(c.ingest, fn) }
}

// WithPrivateWebhooks lets webhook endpoints be on loopback and private
// networks, where test receivers listen (--webhook-allow-private).
func WithPrivateWebhooks() Option { return func(c *config) { c.privateWebhooks = true } }

// WithBlobs puts a wrapper (a counter, a fault) between the upload
// service and the blob directory.
func WithBlobs(wrap func(*blob.Dir) blob.Store) Option { return func(c *config) { c.blobs = wrap } }

// WithListener serves on the listener that wrap makes of the test
// server's, for tests that watch the connections from the server's side.
func WithListener(wrap func(net.Listener) net.Listener) Option {
	return func(c *config) { c.listener = wrap }
}

// WithHandler puts wrap around the application's handler (a recorder of
// requests, say).
func WithHandler(wrap func(http.Handler) http.Handler) Option {
	return func(c *config) { c.wrap = wrap }
}

// WithProcessing builds the processing service on the installed ffmpeg
// (skipping the test without it, except in CI), hearing completed uploads
// as cmd/uplink wires it, with the changes fns make to its configuration.
// Its jobs run when the test steps them (App.Processing.RunOne).
func WithProcessing(fns ...func(*processing.Config)) Option {
	return func(c *config) { c.processing = append(c.processing, append(fns, func(*processing.Config) {})...) }
}

// WithProcessingRunning is WithProcessing with its workers running in the
// background until the test ends.
func WithProcessingRunning(fns ...func(*processing.Config)) Option {
	return func(c *config) {
		WithProcessing(fns...)(c)
		c.runProcessing = true
	}
}

// Start starts an uplink for the test; it stops when the test ends.
func Start(tb testing.TB, opts ...Option) *App {
	tb.Helper()
	cfg := config{lease: 2 * time.Hour, chunk: ingest.MinPartSize, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&cfg)
	}
	dir := tb.TempDir()
	clk := storetest.NewClock()
	if !cfg.start.IsZero() {
		clk.Set(cfg.start)
	}
	a := &App{Dir: dir, BlobDir: filepath.Join(dir, "blobs"), Clock: clk}
	if storetest.Postgres() {
		a.DSN = storetest.NewDSN(tb)
	} else {
		a.DBPath = filepath.Join(dir, "uplink.db")
		a.DSN = a.DBPath
	}
	a.Store = storetest.OpenDSN(tb, a.DSN, clk)
	var err error
	if a.Blobs, err = blob.NewDir(a.BlobDir); err != nil {
		tb.Fatal(err)
	}

	// The public URL must be known before the app is built: take the
	// listener's address first, then start serving.
	srv := httptest.NewUnstartedServer(nil)
	a.URL = "http://" + srv.Listener.Addr().String()
	// The dependencies a test may change come first: the services are
	// built with its logger.
	a.Deps = web.Deps{PublicURL: a.URL, ChunkSize: cfg.chunk, Version: "test", Logger: cfg.log}
	for _, fn := range cfg.deps {
		fn(&a.Deps)
	}
	log := a.Deps.Logger
	a.Metrics = metrics.New(prometheus.NewRegistry())
	a.Metrics.WatchState(func(ctx context.Context) (metrics.State, error) {
		c, err := a.Store.CountStates(ctx)
		return metrics.State{
			LinksByState:    c.Links,
			UploadsInFlight: map[string]int{metrics.KindAPI: c.Uploads, metrics.KindLink: c.LinkUploads},
		}, err
	})
	linkMetrics := a.Metrics.Uploads(metrics.KindLink)
	a.Webhooks = webhooks.New(a.Store, webhooks.Config{PublicURL: a.URL, AllowPrivateTargets: cfg.privateWebhooks, Version: "test", Logger: log})
	var events ingest.Events = a.Webhooks
	var pc processing.Config
	if len(cfg.processing) > 0 {
		mediatest.Need(tb)
		tool, err := media.Find(media.Config{})
		if err != nil {
			tb.Fatal(err)
		}
		pc = processing.Config{Tool: tool, Announcer: a.Webhooks, Metrics: a.Metrics.Processing(), Logger: log, TempDir: dir}
		for _, fn := range cfg.processing {
			fn(&pc)
		}
		// The service is built below, once the upload service it reads
		// sources from exists; it hears completions through this.
		events = ingest.Fanout{a.Webhooks, &lateEvents{app: a}}
	}
	ic := ingest.Config{Lease: cfg.lease, Logger: log, Events: events,
		Metrics: a.Metrics.Uploads(metrics.KindAPI), LinkMetrics: linkMetrics}
	for _, fn := range cfg.ingest {
		fn(&ic)
	}
	var blobs blob.Store = a.Blobs
	if cfg.blobs != nil {
		blobs = cfg.blobs(a.Blobs)
	}
	a.Ingest = ingest.New(a.Store, blobs, ic)
	if len(cfg.processing) > 0 {
		a.Processing = processing.New(a.Store, a.Blobs, a.Ingest, pc)
		if cfg.runProcessing {
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); a.Processing.Run(ctx) }()
			tb.Cleanup(func() { cancel(); <-done })
		}
	}
	lc := links.Config{PublicURL: a.URL, ChunkSize: a.Deps.ChunkSize, Lease: cfg.lease, Logger: log, Events: a.Webhooks, Metrics: linkMetrics}
	if cfg.upstreamURL == "" {
		a.Links = links.New(a.Store, links.Local{Ingest: a.Ingest, Store: a.Store}, lc)
	} else {
		up, err := links.NewUpstream(cfg.upstreamURL, cfg.upstreamKey, a.Store, cfg.lease, log)
		if err != nil {
			tb.Fatal(err)
		}
		a.Links = links.New(a.Store, up, lc)
	}
	a.Deps.Store, a.Deps.Ingest, a.Deps.Links, a.Deps.Webhooks = a.Store, a.Ingest, a.Links, a.Webhooks
	a.Deps.Blobs, a.Deps.Processing = a.Blobs, a.Processing
	if a.Deps.Metrics == nil {
		a.Deps.Metrics = a.Metrics
	}
	a.Echo = web.New(a.Deps)
	var h http.Handler = a.Echo
	if cfg.wrap != nil {
		h = cfg.wrap(h)
	}
	srv.Config.Handler = h
	if cfg.listener != nil {
		srv.Listener = cfg.listener(srv.Listener)
	}
	srv.Start()
	tb.Cleanup(srv.Close)
	return a
}

// lateEvents passes completed uploads to the app's processing service,
// which is built after the upload service that tells them.
type lateEvents struct{ app *App }

func (l *lateEvents) UploadStarted(context.Context, string)                {}
func (l *lateEvents) UploadFailed(context.Context, string, string, string) {}
func (l *lateEvents) UploadCompleted(ctx context.Context, videoID string) {
	l.app.Processing.UploadCompleted(ctx, videoID)
}

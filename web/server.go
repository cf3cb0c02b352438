// Package web is uplink's HTTP application: the Echo instance, the
// browser-facing pages, the upload links' endpoints, and the
// api.video-compatible API mounted beside them at the host root.
package web

import (
	"cmp"
	"context"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/uplink-video/uplink/static"
	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/store/ingest"
	"github.com/uplink-video/uplink/store/processing"
	"github.com/uplink-video/uplink/web/api"
	"github.com/uplink-video/uplink/web/links"
	"github.com/uplink-video/uplink/web/metrics"
	"github.com/uplink-video/uplink/web/notify"
	"github.com/uplink-video/uplink/web/reqid"
	"github.com/uplink-video/uplink/web/webhooks"
)

// Deps are what the web application needs; cmd/uplink builds them.
type Deps struct {
	Store  *store.Store
	Ingest *ingest.Service
	// Blobs keep thumbnails and previews.
	Blobs blob.Objects
	// Processing probes videos and makes their thumbnails and previews.
	// Nil, or one without ffmpeg (Available false), leaves that out: the
	// dashboard says once what installing ffmpeg adds.
	Processing *processing.Service
	// API is the api.video-compatible API. When nil, New builds one from
	// the fields below.
	API *api.API
	// Links runs uploads through links. When nil, New builds one whose
	// uploads go to this server's upload service (links.Local).
	Links *links.Service
	// Webhooks queues and delivers webhook events; the dashboard manages
	// its endpoints. When nil, New builds one that queues, for a worker
	// running elsewhere.
	Webhooks *webhooks.Service
	// Notify sends email about uploads; nil sends none, and the
	// dashboard says how to turn it on.
	Notify *notify.Service
	// ExtraAPIKey is an API key accepted besides the managed ones.
	ExtraAPIKey string
	// PublicURL is the base of every absolute URL uplink hands out.
	PublicURL string
	// APICORSOrigins may call the API's management endpoints from a browser.
	APICORSOrigins []string
	// ChunkSize is the part size for uploads through links.
	ChunkSize int64
	// ReadIdleTimeout is how long an upload's request body may go
	// without a byte arriving before the request is ended (see
	// deadline.go). DefaultReadIdleTimeout when 0.
	ReadIdleTimeout time.Duration
	// DataDir is checked by /readyz: writable, with MinFreeBytes free
	// (DefaultMinFreeBytes when 0). Empty skips the check.
	DataDir      string
	MinFreeBytes int64
	// SecureCookies marks session cookies Secure; set it when uplink is
	// reached over https.
	SecureCookies bool
	// SessionHashKey and SessionBlockKey sign and encrypt session cookies
	// (store.SessionKeys). When nil, New reads them from the store.
	SessionHashKey, SessionBlockKey []byte
	// RateLimits limit requests per client address; zero fields take
	// DefaultRateLimits.
	RateLimits RateLimits
	// Metrics counts HTTP requests and serves GET /metrics to admins and
	// API keys. When nil, New builds one on a registry of its own.
	Metrics *metrics.Metrics
	Version string
	Logger  *slog.Logger
}

// Server holds the application's dependencies for its handlers.
type Server struct {
	store      *store.Store
	ingest     *ingest.Service
	blobs      blob.Objects
	processing *processing.Service
	api        *api.API
	links      *links.Service
	webhooks   *webhooks.Service
	notify     *notify.Service
	publicURL  string
	chunkSize  int64
	version    string
	log        *slog.Logger
	assets     fs.FS

	dataDir string
	minFree int64
	// readIdle is Deps.ReadIdleTimeout, never 0.
	readIdle time.Duration

	metrics      *metrics.Metrics
	metricsCreds store.Credentials

	sessions      *sessionManager
	limits        rateLimiters
	secureCookies bool
}

// New builds the application and returns its Echo instance, ready to serve.
func New(d Deps) *echo.Echo {
	if d.Logger == nil {
		d.Logger = log0()
	}
	// Every entry made with a request's context carries its request ID.
	d.Logger = slog.New(reqid.NewHandler(d.Logger.Handler()))
	if d.ChunkSize == 0 {
		d.ChunkSize = links.DefaultChunkSize
	}
	s := &Server{
		store:      d.Store,
		ingest:     d.Ingest,
		blobs:      d.Blobs,
		processing: d.Processing,
		api:        d.API,
		links:      d.Links,
		webhooks:   d.Webhooks,
		notify:     d.Notify,
		publicURL:  strings.TrimRight(d.PublicURL, "/"),
		chunkSize:  d.ChunkSize,
		version:    d.Version,
		log:        d.Logger,
		assets:     static.Files,
	}
	if s.api == nil {
		s.api = NewAPI(d)
	}
	if s.links == nil {
		s.links = links.New(d.Store, links.Local{Ingest: d.Ingest, Store: d.Store},
			links.Config{PublicURL: s.publicURL, ChunkSize: d.ChunkSize, Logger: d.Logger})
	}
	if s.webhooks == nil {
		s.webhooks = webhooks.New(d.Store, webhooks.Config{PublicURL: s.publicURL, Version: d.Version, Logger: d.Logger})
	}
	hashKey, blockKey := d.SessionHashKey, d.SessionBlockKey
	if hashKey == nil || blockKey == nil {
		var err error
		if hashKey, blockKey, err = d.Store.SessionKeys(context.Background()); err != nil {
			// cmd/uplink reads the keys itself and handles this error;
			// only tests take this path.
			panic("web: session keys: " + err.Error())
		}
	}
	s.secureCookies = d.SecureCookies
	s.dataDir, s.minFree = d.DataDir, d.MinFreeBytes
	s.readIdle = cmp.Or(d.ReadIdleTimeout, DefaultReadIdleTimeout)
	if s.minFree == 0 {
		s.minFree = DefaultMinFreeBytes
	}
	s.metrics = d.Metrics
	if s.metrics == nil {
		s.metrics = metrics.New(prometheus.NewRegistry())
	}
	if d.ExtraAPIKey != "" {
		s.metricsCreds.ExtraKeyHash = store.HashSecret(d.ExtraAPIKey)
	}
	s.sessions = newSessionManager(d.Store, hashKey, blockKey, d.SecureCookies)
	s.limits = s.newRateLimiters(d.RateLimits.withDefaults())
	e := echo.New()
	// The client address (for sign-in throttling and logs) is the peer's:
	// forwarded headers are only trusted behind a configured proxy.
	e.IPExtractor = echo.ExtractIPDirect()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.handleError
	s.routes(e)
	return e
}

// NewAPI builds the api.video-compatible API from d.
func NewAPI(d Deps) *api.API {
	var picker api.ThumbnailPicker
	if d.Processing != nil && d.Processing.Available() {
		picker = d.Processing
	}
	return api.New(api.Deps{
		Store:       d.Store,
		Ingest:      d.Ingest,
		Blobs:       d.Blobs,
		Thumbnails:  picker,
		ExtraAPIKey: d.ExtraAPIKey,
		PublicURL:   d.PublicURL,
		CORSOrigins: d.APICORSOrigins,
		AuthLimit:   d.RateLimits.withDefaults().Auth,
		Logger:      d.Logger,
	})
}

func log0() *slog.Logger { return slog.New(slog.DiscardHandler) }

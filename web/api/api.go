// Package api serves uplink's api.video-compatible REST API: API-key and
// bearer authentication, upload tokens, videos, and the token upload
// endpoint POST /upload. Official api.video SDKs work against it with only
// their base URL changed; docs/api-contract.md (in the shared folder) is
// the wire contract this package follows.
package api

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/store/ingest"
	"github.com/uplink-video/uplink/web/ratelimit"
)

// API is the api.video-compatible surface.
type API struct {
	store       *store.Store
	ingest      *ingest.Service
	blobs       blob.Objects
	thumbnails  ThumbnailPicker // Nil without ffmpeg.
	creds       store.Credentials
	publicURL   string
	corsOrigins map[string]bool
	authLimit   *ratelimit.Limiter
	log         *slog.Logger
}

// Deps are what the API needs.
type Deps struct {
	Store  *store.Store
	Ingest *ingest.Service
	// Blobs keep thumbnails (the sources are the upload service's).
	Blobs blob.Objects
	// Thumbnails picks thumbnails at a moment; nil when ffmpeg is not
	// installed.
	Thumbnails ThumbnailPicker
	// ExtraAPIKey is accepted besides the managed keys (UPLINK_API_KEY),
	// unless empty.
	ExtraAPIKey string
	// PublicURL is the base of every absolute URL the API hands out,
	// without a trailing slash.
	PublicURL string
	// CORSOrigins may call the management endpoints from a browser.
	CORSOrigins []string
	// AuthLimit limits /auth/* per client address (DefaultAuthLimit
	// when zero; ratelimit.Unlimited turns it off).
	AuthLimit ratelimit.Rate
	Logger    *slog.Logger
}

// New returns the API.
func New(d Deps) *API {
	a := &API{
		store:       d.Store,
		ingest:      d.Ingest,
		blobs:       d.Blobs,
		thumbnails:  d.Thumbnails,
		publicURL:   strings.TrimRight(d.PublicURL, "/"),
		corsOrigins: map[string]bool{},
		log:         d.Logger,
	}
	if d.ExtraAPIKey != "" {
		a.creds.ExtraKeyHash = store.HashSecret(d.ExtraAPIKey)
	}
	for _, o := range d.CORSOrigins {
		a.corsOrigins[strings.TrimRight(o, "/")] = true
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if d.AuthLimit.IsZero() {
		d.AuthLimit = DefaultAuthLimit
	}
	a.authLimit = ratelimit.New(d.AuthLimit, d.Store.Now, 0)
	return a
}

// apiPrefixes are the paths the API owns, at the host root, where the Go
// client (which drops any base path) expects them.
var apiPrefixes = []string{"/auth/", "/upload-tokens", "/upload", "/videos", "/openapi.json"}

// Owns reports whether a request path belongs to the API, so that errors
// on it (even for unknown routes) are answered as problem documents.
func Owns(path string) bool {
	for _, p := range apiPrefixes {
		if path == p || strings.HasPrefix(path, p+"/") || strings.HasPrefix(path, p) && strings.HasSuffix(p, "/") {
			return true
		}
	}
	return false
}

// Register adds the API's routes, the one route table of this surface, to e.
func (a *API) Register(e *echo.Echo) {
	e.Use(a.corsMiddleware)

	// Public: the upload token (in the query) or the credentials (in the
	// body) authenticate these.
	e.POST("/upload", a.handleUpload)
	e.POST("/auth/api-key", a.handleAuthAPIKey, a.limitAuth)
	e.POST("/auth/refresh", a.handleAuthRefresh, a.limitAuth)
	e.GET("/openapi.json", a.handleOpenAPI) // Public: the API's own description (openapi.go).

	// Management: an API key (Basic) or an access token (Bearer). The
	// middleware is attached per route rather than through a group: a
	// group at the root would also wrap the not-found handler of every
	// path, asking for credentials on pages that do not exist.
	auth := a.requireCredentials
	e.POST("/upload-tokens", a.handleTokenCreate, auth)
	e.GET("/upload-tokens", a.handleTokenList, auth)
	e.GET("/upload-tokens/:uploadToken", a.handleTokenGet, auth)
	e.DELETE("/upload-tokens/:uploadToken", a.handleTokenDelete, auth)

	e.POST("/videos", a.handleVideoCreate, auth)
	e.GET("/videos", a.handleVideoList, auth)
	e.GET("/videos/:videoId", a.handleVideoGet, auth)
	e.PATCH("/videos/:videoId", a.handleVideoUpdate, auth)
	e.DELETE("/videos/:videoId", a.handleVideoDelete, auth)
	e.GET("/videos/:videoId/status", a.handleVideoStatus, auth)
	e.GET("/videos/:videoId/source", a.handleVideoSource, auth)
	e.HEAD("/videos/:videoId/source", a.handleVideoSource, auth)
	e.POST("/videos/:videoId/thumbnail", a.handleThumbnailUpload, auth)
	e.PATCH("/videos/:videoId/thumbnail", a.handleThumbnailPick, auth)
	e.GET("/videos/:videoId/thumbnail.jpg", a.handleThumbnailGet, auth)
}

// publicCORS lists the endpoints any web page may call: the browser
// uploader posts to /upload and refreshes its token at /auth/refresh from
// whatever site embeds it (api-contract.md 11.7).
var publicCORS = map[string]bool{"/upload": true, "/auth/refresh": true}

const corsAllowHeaders = "content-range, content-type, authorization, av-origin-client, av-origin-app, av-origin-sdk"

// corsMiddleware answers CORS for the API's paths: any origin for the
// public upload endpoints, configured origins for the rest. Headers go on
// every response, errors included, because a browser that cannot read an
// error reports a network failure and the uploader retries for minutes.
func (a *API) corsMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if !Owns(r.URL.Path) {
			return next(c)
		}
		allowed := a.setCORS(c)
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			if !allowed {
				return c.NoContent(http.StatusNoContent)
			}
			h := c.Response().Header()
			h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE, HEAD, OPTIONS")
			h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
			h.Set("Access-Control-Max-Age", "86400")
			return c.NoContent(http.StatusNoContent)
		}
		return next(c)
	}
}

// setCORS sets the CORS response headers for the request's origin and
// reports whether the origin is allowed.
func (a *API) setCORS(c echo.Context) bool {
	r := c.Request()
	h := c.Response().Header()
	if publicCORS[r.URL.Path] {
		h.Set("Access-Control-Allow-Origin", "*")
		return true
	}
	h.Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if origin == "" || !a.corsOrigins[origin] {
		return false
	}
	h.Set("Access-Control-Allow-Origin", origin)
	return true
}

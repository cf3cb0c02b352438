// Package web is uplink's HTTP application: the Echo instance, the
// browser-facing pages, and the api.video-compatible API mounted beside
// them at the host root.
package web

import (
	"context"
	"io/fs"
	"log/slog"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/uplink-video/uplink/static"
	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/ingest"
	"github.com/uplink-video/uplink/web/api"
)

// Deps are what the web application needs; cmd/uplink builds them.
type Deps struct {
	Store  *store.Store
	Ingest *ingest.Service
	// ExtraAPIKey is an API key accepted besides the managed ones.
	ExtraAPIKey string
	// PublicURL is the base of every absolute URL uplink hands out.
	PublicURL string
	// APICORSOrigins may call the API's management endpoints from a browser.
	APICORSOrigins []string
	Version        string
	Logger         *slog.Logger
}

// Server holds the application's dependencies for its handlers.
type Server struct {
	store     *store.Store
	api       *api.API
	publicURL string
	version   string
	log       *slog.Logger
	assets    fs.FS
}

// New builds the application and returns its Echo instance, ready to serve.
func New(d Deps) *echo.Echo {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		store:     d.Store,
		publicURL: strings.TrimRight(d.PublicURL, "/"),
		version:   d.Version,
		log:       d.Logger,
		assets:    static.Files,
	}
	s.api = api.New(api.Deps{
		Store:       d.Store,
		Ingest:      d.Ingest,
		ExtraAPIKey: d.ExtraAPIKey,
		PublicURL:   s.publicURL,
		CORSOrigins: d.APICORSOrigins,
		Logger:      d.Logger,
	})
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.handleError
	s.routes(e)
	return e
}

// Ready reports whether the server can take requests: the database must
// accept writes.
func (s *Server) Ready(ctx context.Context) error { return s.store.Ping(ctx) }

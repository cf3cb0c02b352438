package web

import (
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/uplink-video/uplink/web/reqid"
)

// HeaderRequestID carries the request's ID in every response, so that an
// operator can find a user's failed request in the logs.
const HeaderRequestID = "X-Request-ID"

// requestLog gives every request an ID (returned in X-Request-ID) and logs
// one line when it ends: method, route pattern, status, size and time.
// It logs the route pattern, never the raw URL, whose query may hold an
// upload token; headers and cookies are never logged.
func (s *Server) requestLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		var b [12]byte
		_, _ = rand.Read(b[:])
		id := base64.RawURLEncoding.EncodeToString(b[:])
		c.Response().Header().Set(HeaderRequestID, id)
		// Every entry logged with the request's context, in any package,
		// carries the ID (see package reqid). The copy this makes hides
		// any multipart form parsed downstream from net/http, which
		// removes the temporary files only of its own request's form.
		orig := c.Request()
		c.SetRequest(orig.WithContext(reqid.With(orig.Context(), id)))
		defer removeFormFiles(c, orig)
		start := time.Now()
		err := next(c)
		if err != nil {
			// Let the error handler write the response first, so that the
			// line has the status the client got.
			c.Error(err)
		}
		route := c.Path()
		if route == "" {
			route = "(no route)"
		}
		// Client errors (a cut-off part, a wrong link) are the client's
		// business; only server errors are raised above info.
		level := slog.LevelInfo
		status := c.Response().Status
		if status >= 500 {
			level = slog.LevelError
		}
		s.log.LogAttrs(c.Request().Context(), level, "request",
			slog.String("method", c.Request().Method),
			slog.String("route", route),
			slog.Int("status", status),
			slog.Int64("bytes_in", max(c.Request().ContentLength, 0)),
			slog.Int64("bytes_out", c.Response().Size),
			slog.Duration("duration", time.Since(start)),
		)
		return nil
	}
}

// requestID returns the ID requestLog gave the request.
func requestID(c echo.Context) string { return c.Response().Header().Get(HeaderRequestID) }

package web

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/uplink-video/uplink/store"
)

// handleMetrics handles "GET /metrics": the Prometheus metrics, for
// admins and API keys (requireMetricsReader). cmd/uplink can also serve
// them without authentication on a listener of their own (--metrics-addr).
func (s *Server) handleMetrics(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	s.metrics.Handler().ServeHTTP(c.Response(), c.Request())
	return nil
}

// errMetricsAuth refuses /metrics to a caller without credentials, or
// with wrong ones.
var errMetricsAuth = echo.NewHTTPError(http.StatusUnauthorized,
	`Sign in to the dashboard, or send an API key: "Authorization: Basic base64(<API key>:)".`)

// requireMetricsReader lets a request through with the same credentials
// as the management API, as a Prometheus scraper sends them (basic_auth
// with the API key as user name and an empty password, or a bearer access
// token), or with an admin's dashboard session. Without credentials, a
// person navigating is sent to the sign-in page; anything else gets 401
// with a Basic challenge.
func (s *Server) requireMetricsReader(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		h := strings.TrimSpace(r.Header.Get(echo.HeaderAuthorization))
		if h == "" {
			if _, ok := s.sessions.current(c); ok {
				return next(c)
			}
			if r.Header.Get("Sec-Fetch-Mode") == "navigate" {
				return c.Redirect(http.StatusSeeOther, "/admin/login?next="+urlQueryEscape(r.URL.RequestURI()))
			}
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Basic realm="uplink metrics"`)
			return errMetricsAuth
		}
		scheme, cred, _ := strings.Cut(h, " ")
		cred = strings.TrimSpace(cred)
		var err error
		switch strings.ToLower(scheme) {
		case "basic":
			raw, derr := base64.StdEncoding.DecodeString(cred)
			key, _, _ := strings.Cut(string(raw), ":")
			if derr != nil || key == "" {
				err = store.ErrNotFound
				break
			}
			err = s.store.AuthenticateAPIKey(r.Context(), s.metricsCreds, key)
		case "bearer":
			err = s.store.AuthenticateAccessToken(r.Context(), s.metricsCreds, cred)
		default:
			err = store.ErrNotFound
		}
		if errors.Is(err, store.ErrNotFound) {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Basic realm="uplink metrics"`)
			return errMetricsAuth
		}
		if err != nil {
			return err
		}
		return next(c)
	}
}

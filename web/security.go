package web

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/uplink-video/uplink/web/links"
)

// ctxNonce is the context key of the request's CSP nonce.
const ctxNonce = "csp-nonce"

// securityHeaders sets the headers every response carries. Pages get a
// Content-Security-Policy that allows only scripts carrying this
// request's nonce, and no framing; the embed handler widens framing for
// the origins its link allows.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		var b [16]byte
		_, _ = rand.Read(b[:])
		nonce := base64.RawStdEncoding.EncodeToString(b[:])
		c.Set(ctxNonce, nonce)
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", csp(nonce, "'none'"))
		return next(c)
	}
}

// csp builds the policy for pages: own scripts with the nonce, own styles,
// requests to this origin only, and the given frame-ancestors sources.
func csp(nonce, frameAncestors string) string {
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'nonce-" + nonce + "'",
		"style-src 'self'",
		"img-src 'self' data:",
		"media-src 'self'",
		"connect-src 'self'",
		"form-action 'self'",
		"base-uri 'none'",
		"frame-ancestors " + frameAncestors,
	}, "; ")
}

// allowFraming lets the given origins ("*" for any) frame the response.
// Only the origins frameOrigins keeps are listed.
func allowFraming(c echo.Context, origins []string) {
	h := c.Response().Header()
	h.Del("X-Frame-Options")
	src := strings.Join(frameOrigins(origins), " ")
	if src == "" {
		src = "'none'"
	}
	h.Set("Content-Security-Policy", csp(nonce(c), src))
}

// frameOrigins returns a link's embed origins that links.ParseOrigin
// accepts, in canonical form, once each. Links are validated when they
// are made, but the stored list is read back from the database: a row
// written by an older version, or by hand, must not be able to add a
// directive (";") or a policy (",") to the header. An origin that does
// not parse is left out, which only ever forbids framing.
func frameOrigins(origins []string) []string {
	var out []string
	for _, o := range origins {
		if c, err := links.ParseOrigin(o); err == nil && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

func nonce(c echo.Context) string {
	n, _ := c.Get(ctxNonce).(string)
	return n
}

// sameOrigin refuses state-changing requests that a browser sent from
// another site, using Fetch metadata (Sec-Fetch-Site) or, failing that,
// the Origin header. Requests without either (curl, scripts) pass: they
// cannot carry a victim's browser state.
func sameOrigin() echo.MiddlewareFunc {
	cop := http.NewCrossOriginProtection()
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if err := cop.Check(c.Request()); err != nil {
				return echo.NewHTTPError(http.StatusForbidden, "cross-origin request refused")
			}
			return next(c)
		}
	}
}

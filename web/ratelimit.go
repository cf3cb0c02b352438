package web

import (
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/uplink-video/uplink/web/api"
	"github.com/uplink-video/uplink/web/links"
	"github.com/uplink-video/uplink/web/ratelimit"
)

// RateLimits are how often one client address may make the requests that
// cost the server something or could be used to guess. Zero fields take
// the values of DefaultRateLimits; ratelimit.Unlimited turns one off.
//
// The parts of an upload in progress (PUT /u/:id/uploads/:videoId/parts/:n
// and POST /upload) are never limited: a slow or retrying uploader must
// never lose an upload to a limit.
type RateLimits struct {
	// Auth is for the API's POST /auth/api-key and /auth/refresh.
	Auth ratelimit.Rate
	// LinkPages is for GET /u/:id and /embed/:id.
	LinkPages ratelimit.Rate
	// UploadStarts is for POST /u/:id/uploads, which starts or resumes
	// an upload through a link.
	UploadStarts ratelimit.Rate
	// MaxClients caps how many addresses each limit remembers
	// (ratelimit.DefaultMaxKeys when 0).
	MaxClients int
}

// DefaultRateLimits are generous for people and the official clients,
// which exchange an API key once an hour, and tight for scripts:
//   - Auth: 10 a minute, 20 at once;
//   - LinkPages: 60 a minute, 120 at once (reloads, several tabs, an
//     office behind one address);
//   - UploadStarts: 20 a minute, 40 at once (a folder of files dropped on
//     the page at once, each resumed a few times).
var DefaultRateLimits = RateLimits{
	Auth:         api.DefaultAuthLimit,
	LinkPages:    ratelimit.Rate{PerMinute: 60, Burst: 120},
	UploadStarts: ratelimit.Rate{PerMinute: 20, Burst: 40},
}

// withDefaults fills the zero fields of r from DefaultRateLimits.
func (r RateLimits) withDefaults() RateLimits {
	for _, f := range []struct{ v, def *ratelimit.Rate }{
		{&r.Auth, &DefaultRateLimits.Auth},
		{&r.LinkPages, &DefaultRateLimits.LinkPages},
		{&r.UploadStarts, &DefaultRateLimits.UploadStarts},
	} {
		if f.v.IsZero() {
			*f.v = *f.def
		}
	}
	return r
}

// rateLimiters are the limits' middleware for the route table.
type rateLimiters struct {
	linkPages    echo.MiddlewareFunc
	uploadStarts echo.MiddlewareFunc
}

func (s *Server) newRateLimiters(r RateLimits) rateLimiters {
	return rateLimiters{
		linkPages:    ratelimit.New(r.LinkPages, s.store.Now, r.MaxClients).Middleware(refusePage),
		uploadStarts: ratelimit.New(r.UploadStarts, s.store.Now, r.MaxClients).Middleware(refuseUploadStart),
	}
}

// refusePage answers a page request over the limit; the error handler
// renders it as a page a person can read. Retry-After is already set.
func refusePage(_ echo.Context, wait time.Duration) error {
	return echo.NewHTTPError(http.StatusTooManyRequests,
		"This page was asked for too often from your network. Try again in "+waitText(wait)+".")
}

// codeTooManyRequests is the uploader's code for a refused start.
const codeTooManyRequests = "too-many-requests"

// refuseUploadStart answers a start over the limit with the uploader's
// problem JSON; the script waits Retry-After and tries again.
func refuseUploadStart(_ echo.Context, wait time.Duration) error {
	return &links.Refusal{Status: http.StatusTooManyRequests, Code: codeTooManyRequests,
		Title:  "Too many uploads were started from your network.",
		Detail: "The upload starts by itself in " + waitText(wait) + "."}
}

// waitText says how long a client must wait, in whole seconds below a
// minute and in minutes (rounded up) above.
func waitText(wait time.Duration) string {
	if wait < time.Minute {
		if s := max(1, int((wait+time.Second-1)/time.Second)); s > 1 {
			return fmt.Sprintf("%d seconds", s)
		}
		return "1 second"
	}
	return links.Duration((wait + time.Minute - 1).Truncate(time.Minute))
}

package api

import (
	"time"

	"github.com/labstack/echo/v4"

	"github.com/uplink-video/uplink/web/ratelimit"
)

// DefaultAuthLimit is how often one client address may call POST
// /auth/api-key and /auth/refresh: 10 a minute, 20 at once. The official
// clients exchange their key once and refresh once an hour.
var DefaultAuthLimit = ratelimit.Rate{PerMinute: 10, Burst: 20}

// codeTooManyRequests is api.video's problem for a rate limit.
const codeTooManyRequests = "too-many-requests"

// limitAuth limits the /auth/* endpoints per client address.
func (a *API) limitAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return a.authLimit.Middleware(a.refuseTooMany)(next)
}

// refuseTooMany answers a request over a limit; Retry-After is set.
func (a *API) refuseTooMany(_ echo.Context, wait time.Duration) error {
	return a.problem(codeTooManyRequests, "", "Too many requests from your address. Wait "+
		ratelimit.RetryAfter(wait)+" seconds (the Retry-After header) before trying again.")
}

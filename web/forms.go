package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// Limits on the bodies of the browser's forms. Every form of the site is
// url-encoded (none has enctype="multipart/form-data": none uploads a
// file; files go through upload links, which stream them), and small.
const (
	// maxSignInForm is the most the sign-in form may send: an email, a
	// password, the form's CSRF token and the dashboard page to go back
	// to fit in far less.
	maxSignInForm = 8 << 10
	// maxDashboardForm is the most a dashboard form may send. The largest
	// is a video's details: at every field's limit (1,024 characters of
	// title, 10,000 of description, 100 tags and 100 metadata pairs) it
	// is about 170 KB url-encoded, more where characters need escaping.
	maxDashboardForm = 512 << 10
)

// errFormTooLarge refuses a body larger than its form's limit.
var errFormTooLarge = echo.NewHTTPError(http.StatusRequestEntityTooLarge,
	"The form sent far more than this page ever needs, so it was not read. Go back, shorten what you typed and try again.")

// errNotAForm refuses a multipart body sent where the site's own forms
// send url-encoded ones.
var errNotAForm = echo.NewHTTPError(http.StatusUnsupportedMediaType,
	"This address takes the site's own forms, which never upload files. Go back, reload the page and try again.")

// limitForm guards the bodies of state-changing requests to routes that
// take the site's forms. It refuses, before reading a byte of the body:
//
//   - a multipart body, with 415. Parsing one (http.Request.FormValue
//     does) spools every file in it to a temporary file, up to any size,
//     and none of these forms sends one;
//   - a body whose Content-Length is over max, with 413.
//
// A body without a Content-Length is cut off after max bytes; readForm
// answers 413 when it hits the cut. Nothing here parses the body, so that
// the handler (or a middleware after this one) can run its cheap checks
// first.
func limitForm(max int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			switch r.Method {
			case http.MethodGet, http.MethodHead, http.MethodOptions:
				return next(c)
			}
			if strings.HasPrefix(strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Type"))), "multipart/") {
				refuseUnread(c)
				return errNotAForm
			}
			if r.ContentLength > max {
				refuseUnread(c)
				return errFormTooLarge
			}
			if r.Body != nil && r.Body != http.NoBody {
				// The server's own writer, not Echo's wrapper: that is
				// how http.MaxBytesReader tells net/http to close the
				// connection after the answer instead of reading on.
				r.Body = http.MaxBytesReader(c.Response().Writer, r.Body, max)
			}
			return next(c)
		}
	}
}

// refuseUnread tells net/http that the request's body will not be read,
// so that it closes the connection after the answer, gracefully: it sends
// the answer, half-closes the connection and waits a moment before closing
// it. Without this, net/http closes a connection whose body is largely
// unread as soon as it has answered, the client, still sending, gets a
// reset, and a browser shows a network error instead of the answer. Only
// http.MaxBytesReader can tell net/http, when a read goes past its limit:
// with a limit of 0, this reads at most one byte of the body.
func refuseUnread(c echo.Context) {
	r := c.Request()
	if r.Body != nil && r.Body != http.NoBody {
		_, _ = http.MaxBytesReader(c.Response().Writer, r.Body, 0).Read(make([]byte, 1))
	}
}

// readForm parses the request's url-encoded form (once; later reads of
// it are free). A body that limitForm cut off is refused with 413. Any
// other fault (more than 10,000 fields, bad escapes) leaves the form as
// far as Go could read it, and the handler refuses what is missing or
// wrong in it, as it would for a browser's mistake.
func readForm(c echo.Context) error {
	if err := c.Request().ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errFormTooLarge
		}
	}
	return nil
}

// removeFormFiles removes the temporary files of a multipart form that
// was parsed on a copy of orig, the request net/http handed the server.
// net/http removes the files of a form parsed on orig itself, and only
// those: a middleware that replaces the request (requestLog gives it a
// new context, which copies it) hides a form parsed downstream from it,
// and each such file would stay in the temporary directory for good. It
// looks at the request the chain ended with, which holds any form parsed
// on it or on the copies it was made from.
func removeFormFiles(c echo.Context, orig *http.Request) {
	if f := c.Request().MultipartForm; f != nil && f != orig.MultipartForm {
		_ = f.RemoveAll()
	}
}

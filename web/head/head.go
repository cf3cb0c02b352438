// Package head makes an Echo application answer HEAD wherever it answers
// GET, the way net/http's ServeMux treats a "GET /path" pattern: same
// route, same handler, same status and headers, no body. Uptime checkers
// and link previews send HEAD; Echo v4 only routes HEAD to routes
// registered for it, and answers 405 everywhere else.
//
// A handler serving HEAD sees the request's method as HEAD, so that it
// can skip work whose only result is the body (http.ServeContent does so
// by itself) and must skip side effects that a GET has (recording a visit,
// say): HEAD is for looking, not for doing.
package head

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// ctxOriginal is the context key of the HEAD request that was routed as
// a GET: the *http.Request net/http itself holds.
const ctxOriginal = "head.original-request"

// Install makes e answer HEAD on every route that answers GET, in every
// route table registered on e. Call it before e.Use, so that every
// middleware (metrics, logs, rate limits) sees the request as HEAD.
//
// The route is found as GET's by a Pre middleware, and the request is
// HEAD again before any middleware or handler runs. The method must be
// restored on the very *http.Request that net/http holds, not on a copy:
// net/http decides from it whether to send the body, and with the method
// left at GET it would send the body on a HEAD response. With HEAD
// restored, net/http discards what the handler writes and keeps the
// Content-Length it would have computed for GET.
func Install(e *echo.Echo) {
	e.Pre(routeAsGet)
	e.Use(restoreHead)
}

// routeAsGet lets Echo find the GET route of a HEAD request. Echo looks
// the route up with the method of the *http.Request that ServeHTTP got,
// so that request's method must change, not a copy's.
func routeAsGet(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Method != http.MethodHead {
			return next(c)
		}
		r.Method = http.MethodGet
		c.Set(ctxOriginal, r)
		// Should routing fail before restoreHead runs, the error handler
		// (which writes after this returns) still sees HEAD.
		defer func() { r.Method = http.MethodHead }()
		return next(c)
	}
}

// restoreHead makes a HEAD request routed as GET a HEAD request again,
// before anything writes to the response, and answers it through a
// headWriter. It also adds HEAD to the Allow header of a 405 (or OPTIONS)
// answer wherever GET is allowed.
func restoreHead(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if allow, ok := c.Get(echo.ContextKeyHeaderAllow).(string); ok {
			c.Set(echo.ContextKeyHeaderAllow, withHead(allow))
		}
		orig, ok := c.Get(ctxOriginal).(*http.Request)
		if !ok {
			return next(c)
		}
		orig.Method = http.MethodHead
		if cur := c.Request(); cur != orig {
			cur.Method = http.MethodHead
		}
		w := &headWriter{ResponseWriter: c.Response().Writer}
		c.Response().Writer = w
		// The error is answered here, not by Echo after the chain, so
		// that the answer goes through w and w can finish it.
		if err := next(c); err != nil {
			c.Error(err)
		}
		w.finish()
		return nil
	}
}

// headWriter holds back a HEAD response's status line until its body
// starts or the handler is done. net/http gives a GET whose handler wrote
// no body "Content-Length: 0", but cannot tell, for HEAD, a handler that
// had nothing to write from one that skipped writing: finish adds the
// header in that case, so that a redirect (say) has the same headers
// whichever method asked for it.
type headWriter struct {
	http.ResponseWriter
	status int  // The status the handler set, not yet passed on.
	sent   bool // The status was passed on.
}

// WriteHeader implements http.ResponseWriter. Informational answers (1xx)
// go out at once; they are not the response's status.
func (w *headWriter) WriteHeader(code int) {
	if code < 200 {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	if !w.sent && w.status == 0 {
		w.status = code
	}
}

// Write implements http.ResponseWriter. net/http discards the bytes of a
// HEAD response, after counting them for its Content-Length.
func (w *headWriter) Write(p []byte) (int, error) {
	w.send()
	return w.ResponseWriter.Write(p)
}

// Flush sends what is held back, for handlers that flush a response
// without a body.
func (w *headWriter) Flush() {
	w.send()
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach net/http's writer (for read
// deadlines, say).
func (w *headWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *headWriter) send() {
	if !w.sent {
		w.sent = true
		if w.status != 0 {
			w.ResponseWriter.WriteHeader(w.status)
		}
	}
}

// finish ends a response whose handler wrote no body, as net/http ends a
// GET: "Content-Length: 0" unless the status has no body or the handler
// chose the framing itself.
func (w *headWriter) finish() {
	if w.sent {
		return
	}
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	h := w.Header()
	if status != http.StatusNoContent && status != http.StatusNotModified &&
		h.Get("Content-Length") == "" && h.Get("Transfer-Encoding") == "" && h.Get("Trailer") == "" {
		h.Set("Content-Length", "0")
	}
	w.send()
}

// withHead adds HEAD to an Allow header's value that lists GET.
func withHead(allow string) string {
	hasGet := false
	for m := range strings.SplitSeq(allow, ",") {
		switch strings.TrimSpace(m) {
		case http.MethodHead:
			return allow
		case http.MethodGet:
			hasGet = true
		}
	}
	if !hasGet {
		return allow
	}
	return allow + ", " + http.MethodHead
}

package api

import (
	"bytes"
	"context"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/uplink-video/uplink/web/head"
)

// trustedKey marks a request's context as coming from uplink itself.
type trustedKey struct{}

// isTrusted reports whether the request was made by uplink in-process,
// which needs no API key. Only code in this process can set the mark.
func isTrusted(ctx context.Context) bool {
	v, _ := ctx.Value(trustedKey{}).(bool)
	return v
}

// Handler returns an http.Handler serving only the API's routes, with the
// API's error handling. InProcess uses it to reach the token endpoint
// without a network hop.
func (a *API) Handler() http.Handler {
	e := echo.New()
	e.HTTPErrorHandler = a.HandleError
	head.Install(e)
	a.Register(e)
	return e
}

// InProcess returns a transport that serves requests with h in this
// process, as trusted requests. uplink's links use it to reach its own
// token upload endpoint through exactly the code path external clients
// use, without sockets or credentials.
func InProcess(h http.Handler) http.RoundTripper {
	return inProcess{h}
}

type inProcess struct{ h http.Handler }

// maxInProcessResponse caps what a response may hold; the API's answers
// to the calls links make are small JSON documents.
const maxInProcessResponse = 1 << 20

func (t inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.WithContext(context.WithValue(req.Context(), trustedKey{}, true))
	if req.Body == nil {
		req.Body = http.NoBody
	}
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	t.h.ServeHTTP(rec, req)
	return &http.Response{
		Status:        http.StatusText(rec.status),
		StatusCode:    rec.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        rec.header,
		Body:          io.NopCloser(&rec.body),
		ContentLength: int64(rec.body.Len()),
		Request:       req,
	}, nil
}

// recorder is a minimal http.ResponseWriter that keeps a small response.
type recorder struct {
	header      http.Header
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = status, true
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	if r.body.Len()+len(p) > maxInProcessResponse {
		return 0, io.ErrShortWrite
	}
	return r.body.Write(p)
}

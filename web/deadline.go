package web

import (
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// DefaultReadIdleTimeout is how long an upload's request body may go
// without a byte arriving, unless Deps.ReadIdleTimeout says otherwise.
const DefaultReadIdleTimeout = 60 * time.Second

// idleDeadlineRoutes are the routes whose request bodies carry the bytes
// of an upload, as "METHOD path" with Echo's path patterns. A test checks
// that each is registered, so renaming a route cannot silently drop its
// deadline.
var idleDeadlineRoutes = map[string]bool{
	"POST /upload":                         true, // The token upload endpoint (web/api).
	"PUT /u/:id/uploads/:videoId/parts/:n": true, // A part through a link.
}

// idleReadDeadline ends an upload whose body stops arriving.
//
// The server has no ReadTimeout: a large part on a slow link may take
// hours, and a total deadline would cut off exactly the uploads that need
// the most patience. A client that goes silent mid-part (a laptop lid
// shut, a phone out of coverage, a dead peer whose FIN never comes) would
// otherwise hold its request, its goroutine and the upload's tail until
// the kernel gives up on the connection, which can take hours. So the
// deadline is on idleness instead: before each read of the body, the
// connection's read deadline is set readIdle ahead. Any byte that arrives
// in time moves it on; a body that sends nothing for readIdle fails with
// os.ErrDeadlineExceeded, the handler drops the partial piece (the blob
// store cuts it off), and the part can be sent again.
//
// Only the upload routes get it: on any other request the server's own
// read, which watches a request without a body for the client going
// away, would time out and cancel the request.
func (s *Server) idleReadDeadline(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Body == nil || r.Body == http.NoBody || !idleDeadlineRoutes[r.Method+" "+c.Path()] {
			return next(c)
		}
		b := &idleBody{body: r.Body, rc: http.NewResponseController(c.Response()), idle: s.readIdle}
		if !b.arm() {
			// A writer without deadlines (an in-process call, a test
			// recorder): nothing to extend.
			return next(c)
		}
		// Once the handler is done, the server must see its own body
		// again: when a handler refuses a request without reading its
		// body, net/http closes the connection after the answer if much
		// of the body is left, but only for its own body type; for any
		// other it first tries to read up to 256 KiB of the rest, and
		// the answer waits for bytes the client may never send.
		orig := r.Body
		defer func() { r.Body = orig }()
		r.Body = b
		return next(c)
	}
}

// idleBody is a request body that moves the connection's read deadline
// ahead before each read.
type idleBody struct {
	body  io.ReadCloser
	rc    *http.ResponseController
	idle  time.Duration
	ended bool // The body ended or broke: the deadline is left alone.
}

// arm sets the first deadline, which also covers a client that sends its
// headers and then nothing. It reports whether the connection supports
// read deadlines.
func (b *idleBody) arm() bool {
	return !errors.Is(b.rc.SetReadDeadline(time.Now().Add(b.idle)), http.ErrNotSupported)
}

func (b *idleBody) Read(p []byte) (int, error) {
	if b.ended {
		return b.body.Read(p)
	}
	_ = b.rc.SetReadDeadline(time.Now().Add(b.idle))
	n, err := b.body.Read(p)
	if err == nil {
		return n, nil
	}
	b.ended = true
	if err == io.EOF {
		// The body is all in. Once it is, net/http reads on in the
		// background to notice the client going away, and a deadline on
		// that read would end it and cancel the request while the
		// handler is still committing the piece, however long that
		// takes. net/http lifts the deadline as that read starts; this
		// makes sure of it, and ended keeps a later Read (readers such
		// as bufio and multipart read again after EOF) from setting a
		// new one under it.
		//
		// After any other error the deadline stays: the server may try
		// to read what is left of the body before it answers, and a
		// lifted deadline would let a silent client hold it there.
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

func (b *idleBody) Close() error { return b.body.Close() }

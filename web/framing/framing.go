// Package framing refuses HTTP/1.x requests whose body framing is
// ambiguous, before net/http reads them: a request with both
// Content-Length and Transfer-Encoding (RFC 9112 §6.3), or with a header
// line folded onto the next (obs-fold, RFC 9112 §5.2). A proxy in front
// of uplink may frame such a request by the other header, or read the
// folded line as a header of its own, and then bytes it took for one
// request's body reach uplink as a second request: request smuggling.
//
// net/http cannot do this itself: given both headers, it frames the body
// as chunked and deletes Content-Length from the header map
// (net/http/transfer.go, fixLength), and it joins folded lines. No
// handler, middleware or http.Server hook ever sees the difference. So
// the check sits below net/http, in the connection: Listener wraps each
// accepted connection, and a connection reads every request head in full
// before handing more than its first 4 bytes to net/http (see
// earlyBytes). To find the next head on a kept-alive connection, it
// follows the body framing exactly as net/http does (a Content-Length, or
// chunks, extensions and trailers). Body bytes pass straight through,
// without a copy, as they arrive.
//
// A refused request's connection hands net/http no more than the head's
// first 4 bytes, then fails every read with an error that is not a
// network error. net/http then answers, in its own goroutine, as it does
// for any malformed request: "400 Bad Request" with "Connection: close",
// and closes the connection, so nothing after the refused head is ever
// read as a request. Where the connection cannot follow the framing that
// net/http would accept (a malformed chunk, a trailer too long), it fails
// the same way, closed rather than open. HTTP/2 connections (negotiated
// over TLS) have no such ambiguity and pass through unchecked.
package framing

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
)

// Listener returns ln with every connection it accepts guarded: requests
// with both Content-Length and Transfer-Encoding, or with obs-fold, are
// answered 400 with "Connection: close" by net/http, and nothing after
// them is read. maxHeaderBytes is the http.Server's MaxHeaderBytes
// (http.DefaultMaxHeaderBytes when 0): a head longer than net/http reads
// is left to net/http to refuse. Each refusal is logged to log at Warn.
//
// The TLS connections of a tls.NewListener keep their TLS state and can
// still negotiate HTTP/2: net/http finds both through the
// ConnectionState and HandshakeContext methods from Go 1.27 on, which is
// why go.mod asks for it (with Go 1.26, net/http looked only for a
// *tls.Conn, and served HTTP/2 clients as HTTP/1.1 over TLS).
func Listener(ln net.Listener, maxHeaderBytes int, log *slog.Logger) net.Listener {
	if maxHeaderBytes <= 0 {
		maxHeaderBytes = http.DefaultMaxHeaderBytes
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// net/http reads at most MaxHeaderBytes plus 4096 bytes of slack for
	// a request head; anything longer it refuses with 431.
	return &listener{Listener: ln, maxHead: maxHeaderBytes + 4096, log: log}
}

type listener struct {
	net.Listener
	maxHead int
	log     *slog.Logger
}

// Accept implements net.Listener.
func (l *listener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	c := &conn{Conn: nc, maxHead: l.maxHead, log: l.log}
	if tc, ok := nc.(*tls.Conn); ok {
		c.isH2 = func() bool { return tc.ConnectionState().NegotiatedProtocol == "h2" }
		return &tlsConn{conn: c, tls: tc}, nil
	}
	return c, nil
}

// tlsConn is a guarded TLS connection. net/http finds the TLS state (for
// Request.TLS, and to choose HTTP/2) through these two methods when the
// connection is not a *tls.Conn itself.
type tlsConn struct {
	*conn
	tls *tls.Conn
}

// ConnectionState returns the TLS connection's state.
func (c *tlsConn) ConnectionState() tls.ConnectionState { return c.tls.ConnectionState() }

// HandshakeContext runs the TLS handshake, as net/http asks before it
// reads anything.
func (c *tlsConn) HandshakeContext(ctx context.Context) error { return c.tls.HandshakeContext(ctx) }

// errAmbiguous is the read error of a connection whose request was
// refused. net/http answers it with 400 Bad Request and closes.
var errAmbiguous = errors.New("framing: request refused: ambiguous body framing")

// errUnframed is the read error of a connection whose framing could not
// be followed; net/http has refused the request already, or fails on it.
var errUnframed = errors.New("framing: the request's framing could not be followed")

// What comes next on the connection.
type state int

const (
	stHead      state = iota // A request head.
	stBody                   // n bytes of a Content-Length body.
	stChunkLine              // A chunk-size line.
	stChunkData              // n bytes of a chunk's data.
	stChunkEnd               // The CRLF after a chunk's data.
	stTrailer                // The trailer section after the last chunk.
	stPass                   // HTTP/2: nothing is checked.
)

// Limits net/http applies to chunked bodies: a chunk-size line and the
// trailer section must each fit in its 4 KiB read buffer.
const (
	maxChunkLine = 4096
	maxTrailer   = 4096
)

// readSize is how much the connection asks of the network at once when
// it needs a head.
const readSize = 4096

// conn is a guarded connection. net/http reads it from one goroutine at a
// time (the connection's, or its background reader between requests), so
// its state needs no lock.
type conn struct {
	net.Conn
	maxHead int
	log     *slog.Logger
	isH2    func() bool // Set on TLS connections: whether HTTP/2 was negotiated.

	started bool
	buf     []byte // Read from Conn, not yet handed to net/http.
	ok      int    // buf[:ok] is checked: it may be handed out.
	scanned int    // Of a head not yet complete, buf[ok:ok+scanned] holds whole lines.
	pre     []byte // The first bytes of a head not yet complete, already handed out.
	state   state
	n       int64 // Bytes left in stBody or stChunkData.
	err     error // Returned once buf[:ok] is handed out.
}

// Read implements net.Conn: it hands out bytes that have been checked,
// and reads and checks more when there are none.
func (c *conn) Read(p []byte) (int, error) {
	if !c.started {
		c.started = true
		if c.isH2 != nil && c.isH2() {
			c.state = stPass
		}
	}
	if len(p) == 0 {
		return 0, nil
	}
	for c.ok == 0 {
		if c.err != nil {
			return 0, c.err
		}
		if len(c.buf) == 0 {
			switch c.state {
			case stPass:
				return c.Conn.Read(p)
			case stBody, stChunkData:
				// Body bytes need no check: read them straight into p.
				m, err := c.Conn.Read(p[:min(int64(len(p)), c.n)])
				c.consumed(m)
				return m, err
			}
		}
		if c.check() {
			continue
		}
		if err := c.fill(); err != nil {
			return 0, err
		}
	}
	m := copy(p, c.buf[:c.ok])
	c.buf = c.buf[:copy(c.buf, c.buf[m:])]
	c.ok -= m
	if len(c.buf) == 0 && cap(c.buf) > 4*readSize {
		c.buf = nil // Do not keep a long head's buffer on an idle connection.
	}
	return m, nil
}

// ReadFrom lets net/http send files with sendfile(2) through the
// connection, as it would without the guard.
func (c *conn) ReadFrom(r io.Reader) (int64, error) { return io.Copy(c.Conn, r) }

// CloseWrite shuts the writing side, as net/http does after a 431.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// fill reads more from the network. A timeout is returned as it is, with
// nothing lost: net/http's own deadlines (to end a background read, say)
// interrupt reads, and the next read goes on. Other errors end the
// connection.
func (c *conn) fill() error {
	if cap(c.buf)-len(c.buf) < readSize {
		grown := make([]byte, len(c.buf), len(c.buf)+max(readSize, len(c.buf)))
		copy(grown, c.buf)
		c.buf = grown
	}
	m, err := c.Conn.Read(c.buf[len(c.buf):cap(c.buf)])
	c.buf = c.buf[:len(c.buf)+m]
	if m > 0 || err == nil {
		return nil // An error comes again on the next read.
	}
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		c.err = err
	}
	return err
}

// consumed accounts for m body bytes handed out straight from the network.
func (c *conn) consumed(m int) {
	c.n -= int64(m)
	if c.n == 0 && m > 0 {
		c.endData()
	}
}

func (c *conn) endData() {
	if c.state == stBody {
		c.state = stHead
	} else {
		c.state = stChunkEnd
	}
}

// check checks what it can of buf[ok:], and reports whether it made
// progress (bytes to hand out, a new state, or an error).
func (c *conn) check() bool {
	u := c.buf[c.ok:]
	switch c.state {
	case stHead:
		return c.checkHead(u)
	case stBody, stChunkData:
		if len(u) == 0 {
			return false
		}
		m := int(min(int64(len(u)), c.n))
		c.ok += m
		c.n -= int64(m)
		if c.n == 0 {
			c.endData()
		}
		return true
	case stChunkLine:
		i := bytes.IndexByte(u, '\n')
		if i < 0 {
			if len(u) >= maxChunkLine {
				c.err = errUnframed
				return true
			}
			return false
		}
		n, ok := parseChunkLine(u[:i+1])
		if !ok {
			c.err = errUnframed
			return true
		}
		c.ok += i + 1
		if n == 0 {
			c.state = stTrailer
		} else {
			c.state, c.n = stChunkData, n
		}
		return true
	case stChunkEnd:
		if len(u) < 2 {
			return false
		}
		if u[0] != '\r' || u[1] != '\n' {
			c.err = errUnframed
			return true
		}
		c.ok += 2
		c.state = stChunkLine
		return true
	case stTrailer:
		return c.checkTrailer(u)
	default: // stPass
		if len(u) == 0 {
			return false
		}
		c.ok = len(c.buf)
		return true
	}
}

// checkHead waits for a whole request head, then lets it through, with
// the framing of its body, or refuses it.
func (c *conn) checkHead(u []byte) bool {
	end, scanned := headEnd(u, c.scanned)
	c.scanned = scanned
	if end < 0 {
		if len(c.pre)+len(u) > c.maxHead {
			// net/http stops reading before the end of such a head and
			// answers 431; it reads nothing after it.
			c.ok, c.err = len(c.buf), errUnframed
			return true
		}
		return c.handOutEarly(u)
	}
	c.scanned = 0
	head := u[:end]
	if len(c.pre) > 0 {
		head = append(c.pre[:len(c.pre):len(c.pre)], head...)
	}
	early := len(c.pre)
	c.pre = c.pre[:0]
	f, n, refusal := parseHead(head)
	if refusal != "" {
		c.log.Warn("refused an HTTP request: "+refusal, "remote", c.RemoteAddr().String())
		// The head's first bytes only (earlyBytes in all), then the
		// error: net/http reads on for the end of the request line, gets
		// the error, and answers "400 Bad Request" with "Connection:
		// close" for a malformed request line.
		c.ok += min(earlyBytes-early, end)
		c.err = errAmbiguous
		return true
	}
	c.ok += end
	switch f {
	case fixedBody:
		c.state, c.n = stBody, n
	case chunkedBody:
		c.state = stChunkLine
	case unframed:
		// net/http refuses this head and closes the connection; should it
		// not, nothing after the head is handed to it.
		c.err = errUnframed
	}
	return true
}

// earlyBytes is how much of a head is handed out before the head is
// complete and checked. Between requests, net/http reads one byte in the
// background (to notice a client leaving) and then waits for 4 bytes
// (bufio.Reader.Peek) before it starts the ReadHeaderTimeout clock for the
// next request: it must get them as they arrive, or a client could take
// the idle timeout, not the header timeout, to send the rest of a head.
// And an error on the background read would cancel the request being
// answered. 4 bytes are too few to hold a request line net/http accepts,
// so whatever follows, it can make nothing of them alone.
const earlyBytes = 4

// handOutEarly hands out the first bytes of an incomplete head, up to
// earlyBytes in all, and keeps a copy to check the whole head with.
func (c *conn) handOutEarly(u []byte) bool {
	n := min(earlyBytes-len(c.pre), len(u))
	if n <= 0 {
		return false
	}
	c.pre = append(c.pre, u[:n]...)
	c.ok += n
	c.scanned = max(c.scanned-n, 0)
	if bytes.IndexByte(c.pre, '\n') >= 0 {
		// A request line under 4 bytes: net/http refuses it.
		c.err = errUnframed
	}
	return true
}

// checkTrailer waits for the trailer section after the last chunk, as
// net/http reads it: a lone CRLF, or header lines up to an empty line,
// with a CRLFCRLF in its first 4 KiB.
func (c *conn) checkTrailer(u []byte) bool {
	if len(u) < 2 {
		return false
	}
	if u[0] == '\r' && u[1] == '\n' {
		c.ok += 2
		c.state = stHead
		return true
	}
	end, _ := headEnd(u, 0)
	if end < 0 || !bytes.Contains(u[:min(len(u), maxTrailer)], []byte("\r\n\r\n")) {
		if len(u) >= maxTrailer {
			c.err = errUnframed
			return true
		}
		return false
	}
	c.ok += end
	c.state = stHead
	return true
}

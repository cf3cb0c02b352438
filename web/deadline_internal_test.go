package web

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/uplink-video/uplink/store/storetest"
)

// These tests run the idle read deadline on a real socket with a stand-in
// handler, to pin down what the middleware itself promises. The upload
// routes' behaviour end to end is in deadline_test.go. Durations only
// pace the clients; no test asserts how long anything took.

// hangWait bounds every wait, only so that a hang fails the test.
const hangWait = 30 * time.Second

// bodyResult is what the stand-in handler saw of a request body.
type bodyResult struct {
	n      int64
	err    error
	ctxErr error // The request context's error once the handler finished.
}

// deadlineServer serves POST /upload (an upload route) and POST /other
// with handlers that read the whole body, wait for after, and report.
func deadlineServer(t *testing.T, idle, after time.Duration) (addr string, results chan bodyResult) {
	t.Helper()
	s := &Server{readIdle: idle}
	e := echo.New()
	e.Use(s.idleReadDeadline)
	results = make(chan bodyResult, 4)
	h := func(c echo.Context) error {
		n, err := io.Copy(io.Discard, c.Request().Body)
		if err == nil {
			// Read again past the end, as bufio and multipart readers do.
			if _, err2 := c.Request().Body.Read(make([]byte, 1)); err2 != io.EOF {
				err = fmt.Errorf("read after the end: %v, want io.EOF", err2)
			}
		}
		time.Sleep(after)
		results <- bodyResult{n: n, err: err, ctxErr: c.Request().Context().Err()}
		if err != nil {
			return c.String(http.StatusBadRequest, "cut off")
		}
		return c.String(http.StatusOK, fmt.Sprint(n))
	}
	e.POST("/upload", h)
	e.POST("/other", h)
	e.GET("/slow", func(c echo.Context) error {
		time.Sleep(after)
		results <- bodyResult{ctxErr: c.Request().Context().Err()}
		return c.String(http.StatusOK, "done")
	})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String(), results
}

// sendHead opens a connection and sends a request's head announcing
// length bytes of body.
func sendHead(t *testing.T, addr, path string, length int) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", path, length)
	return conn
}

// readUntilClosed reads what the server sends until it closes the
// connection, and reports whether it did within hangWait.
func readUntilClosed(t *testing.T, conn net.Conn) (string, bool) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(hangWait))
	b, err := io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return string(b), false
	}
	return string(b), true
}

func wait[T any](t *testing.T, c chan T) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(hangWait):
		t.Fatal("the handler never finished")
		panic("unreachable")
	}
}

// A body that stops arriving fails with os.ErrDeadlineExceeded once it has
// been idle for the timeout, and the connection is closed.
func TestIdleDeadlineEndsAStalledBody(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		description string
		sent        int // Of 1000 bytes announced.
	}{
		{"headers, then nothing", 0},
		{"half the body, then nothing", 500},
	} {
		t.Run(tt.description, func(t *testing.T) {
			t.Parallel()
			addr, results := deadlineServer(t, 200*time.Millisecond, 0)
			conn := sendHead(t, addr, "/upload", 1000)
			conn.Write(make([]byte, tt.sent))
			r := wait(t, results)
			if !errors.Is(r.err, os.ErrDeadlineExceeded) {
				t.Errorf("body read error=%v, want os.ErrDeadlineExceeded", r.err)
			}
			if got, want := r.n, int64(tt.sent); got != want {
				t.Errorf("handler read %d bytes, want=%d", got, want)
			}
			resp, closed := readUntilClosed(t, conn)
			if !closed {
				t.Fatalf("the server kept the connection open; it sent %q", resp)
			}
			if strings.HasPrefix(resp, "HTTP/1.1 2") {
				t.Errorf("a stalled body was answered %q", resp)
			}
		})
	}
}

// A body that keeps arriving, however slowly, is read to the end even when
// it takes many times the idle timeout; and work after the body is read
// may take longer than the timeout without the request being cancelled.
func TestIdleDeadlineSparesSteadyBodiesAndSlowHandlers(t *testing.T) {
	t.Parallel()
	const idle = 400 * time.Millisecond
	addr, results := deadlineServer(t, idle, 3*idle)
	const chunks = 20
	conn := sendHead(t, addr, "/upload", chunks*100)
	for range chunks {
		// 20 × 80 ms: five times the idle timeout in all, never idle
		// for more than a fifth of it.
		time.Sleep(idle / 5)
		if _, err := conn.Write(make([]byte, 100)); err != nil {
			t.Fatalf("the server stopped reading a steady body: %v", err)
		}
	}
	r := wait(t, results)
	if r.err != nil || r.n != chunks*100 {
		t.Fatalf("handler read %d bytes, err=%v; want %d, nil", r.n, r.err, chunks*100)
	}
	if r.ctxErr != nil {
		t.Errorf("request context after slow work=%v, want nil", r.ctxErr)
	}
	conn.SetReadDeadline(time.Now().Add(hangWait))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Errorf("status=%d, want=%d", got, want)
	}
}

// Other routes keep the server's defaults: a body may pause there, and a
// request without a body may take longer than the idle timeout.
func TestIdleDeadlineOnlyOnUploadRoutes(t *testing.T) {
	t.Parallel()
	const idle = 100 * time.Millisecond
	addr, results := deadlineServer(t, idle, 5*idle)

	conn := sendHead(t, addr, "/other", 10)
	time.Sleep(5 * idle)
	conn.Write(make([]byte, 10))
	if r := wait(t, results); r.err != nil || r.n != 10 {
		t.Errorf("/other: read %d bytes, err=%v; want 10, nil", r.n, r.err)
	}

	resp, err := http.Get("http://" + addr + "/slow")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if r := wait(t, results); r.ctxErr != nil {
		t.Errorf("GET /slow: request context=%v, want nil", r.ctxErr)
	}
}

// Every route named in idleDeadlineRoutes exists, so a renamed route
// cannot lose its deadline without a test failing.
func TestIdleDeadlineRoutesExist(t *testing.T) {
	st := storetest.Open(t)
	e := New(Deps{Store: st, SessionHashKey: make([]byte, 32), SessionBlockKey: make([]byte, 32)})
	have := map[string]bool{}
	for _, r := range e.Routes() {
		have[r.Method+" "+r.Path] = true
	}
	for route := range idleDeadlineRoutes {
		if !have[route] {
			t.Errorf("idleDeadlineRoutes names %q, which is not a route", route)
		}
	}
}

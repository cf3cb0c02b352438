package web_test

// Large and multipart bodies sent to the sign-in form and to a dashboard
// form, against the real application behind a real HTTP server whose
// connections the test watches from the server's side.

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uplink-video/uplink/web/webtest"
)

// formBodySize is the size of each hostile body: more than Go keeps of a
// multipart form in memory (32 MiB), so that a parsed form would spool
// its file to a multipart-* file in the temporary directory.
const formBodySize = 40 << 20

// formMaxRead is the most the server may read of a refused body: its
// headers, what net/http buffers, and the 256 KiB it may read to discard
// the rest of a body whose length it does not know, before closing.
const formMaxRead = 1 << 20

// connWatch is a listener that counts the bytes the server reads from its
// connections and knows when they are all closed.
type connWatch struct {
	net.Listener
	mu   sync.Mutex
	cond *sync.Cond
	open int
	read int64
}

func newConnWatch(l net.Listener) *connWatch {
	w := &connWatch{Listener: l}
	w.cond = sync.NewCond(&w.mu)
	return w
}

func (w *connWatch) Accept() (net.Conn, error) {
	c, err := w.Listener.Accept()
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	w.open++
	w.mu.Unlock()
	return &watchedConn{Conn: c, w: w}, nil
}

// readSince returns the bytes read since the last call, once every
// connection is closed: net/http closes a connection only after it has
// finished the request on it, removed the forms it knows of included.
func (w *connWatch) readSince(t *testing.T) int64 {
	t.Helper()
	done := make(chan int64)
	go func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		for w.open > 0 {
			w.cond.Wait()
		}
		n := w.read
		w.read = 0
		done <- n
	}()
	select {
	case n := <-done:
		return n
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not close its connections within 30 s")
		return 0
	}
}

type watchedConn struct {
	net.Conn
	w    *connWatch
	once sync.Once
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.w.mu.Lock()
	c.w.read += int64(n)
	c.w.mu.Unlock()
	return n, err
}

// CloseWrite lets net/http half-close the connection, as it does a
// *net.TCPConn's.
func (c *watchedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *watchedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.w.mu.Lock()
		c.w.open--
		c.w.cond.Broadcast()
		c.w.mu.Unlock()
	})
	return err
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// formBody returns a body of about formBodySize bytes, generated as it is
// read, and its Content-Type: a multipart form with the fields and then a
// file of zeros, or an url-encoded form whose last field is the zeros.
func formBody(multipart bool, fields map[string]string) (io.Reader, int64, string) {
	var head, tail strings.Builder
	if multipart {
		const boundary = "formlimitboundary"
		for k, v := range fields {
			fmt.Fprintf(&head, "--%s\r\nContent-Disposition: form-data; name=%q\r\n\r\n%s\r\n", boundary, k, v)
		}
		fmt.Fprintf(&head, "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n", boundary)
		fmt.Fprintf(&tail, "\r\n--%s--\r\n", boundary)
		n := int64(head.Len()+tail.Len()) + formBodySize
		return io.MultiReader(strings.NewReader(head.String()), io.LimitReader(zeros{}, formBodySize), strings.NewReader(tail.String())),
			n, "multipart/form-data; boundary=" + boundary
	}
	for k, v := range fields {
		fmt.Fprintf(&head, "%s=%s&", k, v)
	}
	head.WriteString("padding=")
	n := int64(head.Len()) + formBodySize
	// Zero bytes are not valid in a form, but the server must refuse the
	// body before it looks at a byte of it.
	return io.MultiReader(strings.NewReader(head.String()), io.LimitReader(zeros{}, formBodySize)), n, "application/x-www-form-urlencoded"
}

// multipartFiles lists the files Go's multipart parser left in dir.
func multipartFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "multipart-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestLargeFormBodiesAreRefusedUnread: a body too large for the sign-in
// form or a dashboard form is refused with 413, and a multipart body (no
// form of the dashboard uploads a file) with 415, before the server reads
// it, with or without a Content-Length; a readable page says so, and no
// multipart-* file is left in the temporary directory.
//
// It sets TMPDIR for the whole process, so it does not run in parallel.
func TestLargeFormBodiesAreRefusedUnread(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	var watch *connWatch
	a := newAnonymousApp(t, webtest.WithListener(func(l net.Listener) net.Listener {
		watch = newConnWatch(l)
		return watch
	}))
	a.signIn(t)
	loginCSRF := formCSRF(t, func() string {
		// A fresh form token, as a browser has after opening the page.
		anon := newClient(t)
		resp, err := anon.Get(a.URL + "/admin/login")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		a.Client.Jar.SetCookies(resp.Request.URL, resp.Cookies())
		return string(b)
	}())
	// The connections of the sign-in are closed, so that from now on the
	// watch sees only the requests below.
	a.Client.CloseIdleConnections()
	watch.readSince(t)

	for _, tt := range []struct {
		description string
		path        string
		csrf        string
		multipart   bool
		length      bool
		status      int
		heading     string
	}{
		{"sign-in, multipart, with Content-Length", "/admin/login", loginCSRF, true, true, http.StatusUnsupportedMediaType, "Not a form this page sends"},
		{"sign-in, multipart, chunked", "/admin/login", loginCSRF, true, false, http.StatusUnsupportedMediaType, "Not a form this page sends"},
		{"sign-in, url-encoded, with Content-Length", "/admin/login", loginCSRF, false, true, http.StatusRequestEntityTooLarge, "Too much to send"},
		{"sign-in, url-encoded, chunked", "/admin/login", loginCSRF, false, false, http.StatusRequestEntityTooLarge, "Too much to send"},
		{"new link, multipart, with Content-Length", "/admin/links", a.csrfToken(), true, true, http.StatusUnsupportedMediaType, "Not a form this page sends"},
		{"new link, multipart, chunked", "/admin/links", a.csrfToken(), true, false, http.StatusUnsupportedMediaType, "Not a form this page sends"},
		{"new link, url-encoded, with Content-Length", "/admin/links", a.csrfToken(), false, true, http.StatusRequestEntityTooLarge, "Too much to send"},
		{"new link, url-encoded, chunked", "/admin/links", a.csrfToken(), false, false, http.StatusRequestEntityTooLarge, "Too much to send"},
	} {
		body, n, ctype := formBody(tt.multipart, map[string]string{"_csrf": tt.csrf, "email": adminEmail, "label": "big"})
		req, err := http.NewRequest(http.MethodPost, a.URL+tt.path, body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", ctype)
		req.ContentLength = -1 // Chunked.
		if tt.length {
			req.ContentLength = n
		}
		// A client of its own, so that its connection closes after the
		// answer and readSince knows the server is done with it.
		client := &http.Client{Jar: a.Client.Jar, Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Minute,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v after %v", tt.description, err, time.Since(start))
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		read := watch.readSince(t)
		t.Logf("%s: %d, the server read %d bytes of %d", tt.description, resp.StatusCode, read, n)
		if got, want := resp.StatusCode, tt.status; got != want {
			t.Errorf("%s: status=%d, want=%d", tt.description, got, want)
		}
		if got, want := parseHTML(t, string(page)).Find("h1").First().Text(), tt.heading; got != want {
			t.Errorf("%s: page heading=%q, want=%q", tt.description, got, want)
		}
		if read > formMaxRead {
			t.Errorf("%s: the server read %d bytes of the body's %d, want at most %d", tt.description, read, n, formMaxRead)
		}
		if left := multipartFiles(t, tmp); len(left) > 0 {
			t.Errorf("%s: left %v in the temporary directory", tt.description, left)
			for _, f := range left {
				os.Remove(f)
			}
		}
	}
}

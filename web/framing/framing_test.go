package framing_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uplink-video/uplink/web/framing"
)

// server is a real http.Server behind the guarded listener. Its handler
// reads each request's whole body and answers with its length and hash;
// a body it cannot read is answered 400.
type server struct {
	addr string
	mu   sync.Mutex
	seen []string // "METHOD /path" of each request served.
	logs bytes.Buffer
}

func newServer(t *testing.T, wrap func(net.Listener) net.Listener, headerTimeout time.Duration) *server {
	t.Helper()
	s := &server{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		ln = wrap(ln)
	}
	log := slog.New(slog.NewTextHandler(lockedWriter{&s.mu, &s.logs}, nil))
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, err := io.ReadAll(r.Body)
			s.mu.Lock()
			s.seen = append(s.seen, r.Method+" "+r.URL.Path)
			s.mu.Unlock()
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			sum := sha256.Sum256(b)
			fmt.Fprintf(w, "%d %s tls=%v", len(b), hex.EncodeToString(sum[:]), r.TLS != nil)
		}),
		ReadHeaderTimeout: headerTimeout,
		IdleTimeout:       time.Minute,
	}
	go srv.Serve(framing.Listener(ln, 0, log))
	t.Cleanup(func() { srv.Close() })
	s.addr = ln.Addr().String()
	return s
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (s *server) served() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

// exchange writes raw on conn (in writes of step bytes, all at once when
// step is 0), reads until the server closes the connection, and returns
// the responses' statuses and bodies.
func exchange(t *testing.T, conn net.Conn, raw string, step int) (statuses []int, bodies []string, closed []bool) {
	t.Helper()
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	go func() {
		if step == 0 {
			io.WriteString(conn, raw)
			return
		}
		for i := 0; i < len(raw); i += step {
			if _, err := io.WriteString(conn, raw[i:min(i+step, len(raw))]); err != nil {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	br := bufio.NewReader(conn)
	for {
		if _, err := br.Peek(1); err == io.EOF {
			return
		}
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("after %v: %v", statuses, err)
		}
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatalf("after %v: body: %v", statuses, err)
		}
		statuses, bodies, closed = append(statuses, res.StatusCode), append(bodies, string(b)), append(closed, res.Close)
	}
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// chunked encodes b in chunks of the given sizes (the rest in one), with
// an extension on every other chunk and hex digits in both cases.
func chunked(b []byte, sizes ...int) string {
	var out strings.Builder
	for i := 0; len(b) > 0; i++ {
		n := len(b)
		if i < len(sizes) {
			n = min(sizes[i], len(b))
		}
		size := strconv.FormatInt(int64(n), 16)
		if i%2 == 1 {
			size = strings.ToUpper(size) + `;name="v;x" `
		}
		out.WriteString(size + "\r\n")
		out.Write(b[:n])
		out.WriteString("\r\n")
		b = b[n:]
	}
	return out.String() + "0\r\n"
}

func get(path string) string { return "GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n" }

// smuggled follows a refused request: it must never be served.
const smuggled = "GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n"

// both is a request with both Content-Length and Transfer-Encoding whose
// chunked body ends before the smuggled request.
func both(path string) string {
	rest := "0\r\n\r\n" + smuggled
	return "POST " + path + " HTTP/1.1\r\nHost: t\r\nContent-Length: " + strconv.Itoa(len(rest)) +
		"\r\nTransfer-Encoding: chunked\r\n\r\n" + rest
}

func hash(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestAmbiguousFramingIsRefused(t *testing.T) {
	t.Parallel()
	big := make([]byte, 3<<20+17)
	rand.Read(big)
	small := []byte("hello, world")
	tests := []struct {
		description string
		raw         string
		step        int      // Write the stream in pieces of this size (0: at once).
		statuses    []int    // The answers, in order; the connection closes after the last.
		served      []string // What the handler saw.
		bodies      []string // Hashes that answers must hold, in order ("" for any).
	}{
		{"requests kept alive", get("/a") + get("/b") + "GET /c HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 0,
			[]int{200, 200, 200}, []string{"GET /a", "GET /b", "GET /c"}, nil},
		{"both headers, first on the connection", both("/bad"), 0, []int{400}, nil, nil},
		{"both headers, Transfer-Encoding first", "POST /bad HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + smuggled,
			0, []int{400}, nil, nil},
		{"both headers, any case", "POST /bad HTTP/1.1\r\nHost: t\r\ncOnTeNt-LeNgTh: 5\r\ntransfer-encoding:  Chunked \r\n\r\n0\r\n\r\n" + smuggled,
			0, []int{400}, nil, nil},
		{"both headers, Transfer-Encoding not chunked", "POST /bad HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: identity\r\n\r\nhello" + smuggled,
			0, []int{400}, nil, nil},
		{"both headers, HTTP/1.0", "POST /bad HTTP/1.0\r\nHost: t\r\nConnection: keep-alive\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nhello" + smuggled,
			0, []int{400}, nil, nil},
		{"both headers, bare line feeds", "POST /bad HTTP/1.1\nHost: t\nContent-Length: 5\nTransfer-Encoding: chunked\n\n0\r\n\r\n" + smuggled,
			0, []int{400}, nil, nil},
		{"a folded header", "GET /bad HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n\tTransfer-Encoding: chunked\r\n\r\n" + smuggled,
			0, []int{400}, nil, nil},
		{"both headers after a request", get("/a") + both("/bad"), 0, []int{200, 400}, []string{"GET /a"}, nil},
		{"both headers after a 3 MiB body", "POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: " + strconv.Itoa(len(big)) + "\r\n\r\n" + string(big) + both("/bad"),
			0, []int{200, 400}, []string{"POST /big"}, []string{hash(big)}},
		{"both headers after a chunked 3 MiB body with a trailer",
			"POST /big HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(big, 1, 4095, 4096, 70000, 1<<20) + "X-Sum: 1\r\nX-Other: 2\r\n\r\n" + both("/bad"),
			0, []int{200, 400}, []string{"POST /big"}, []string{hash(big)}},
		{"both headers after small chunks, written a byte at a time",
			"POST /small HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(small, 1, 2, 3) + "\r\n" + both("/bad"),
			1, []int{200, 400}, []string{"POST /small"}, []string{hash(small)}},
		{"a head written a byte at a time", "POST /small HTTP/1.1\r\nHost: t\r\nContent-Length: 12\r\n\r\nhello, world" + get("/b") + both("/bad"),
			1, []int{200, 200, 400}, []string{"POST /small", "GET /b"}, []string{hash(small)}},
		{"a chunked body that says it holds the next request",
			"POST /small HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked([]byte(both("/inner"))) + "\r\n" + get("/b") + "GET /c HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
			0, []int{200, 200, 200}, []string{"POST /small", "GET /b", "GET /c"}, []string{hash([]byte(both("/inner")))}},
		{"the same Content-Length twice", "POST /small HTTP/1.1\r\nHost: t\r\nContent-Length: 12\r\nContent-Length: 12\r\n\r\nhello, world" + both("/bad"),
			0, []int{200, 400}, []string{"POST /small"}, []string{hash(small)}},
		// Requests net/http refuses itself: nothing after them is served.
		{"two different Content-Lengths", "POST /bad HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx" + smuggled,
			0, []int{400}, nil, nil},
		{"an unknown Transfer-Encoding", "POST /bad HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" + smuggled,
			0, []int{501}, nil, nil},
		{"a chunk line ending in a bare LF", "POST /bad HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n" + smuggled,
			0, []int{400}, []string{"POST /bad"}, nil},
		{"a chunk size of 17 digits", "POST /bad HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n00000000000000005\r\nhello\r\n0\r\n\r\n" + smuggled,
			0, []int{400}, []string{"POST /bad"}, nil},
		{"whitespace before a chunk extension", "POST /bad HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5 ;x\r\nhello\r\n0\r\n\r\n" + smuggled,
			0, []int{400}, []string{"POST /bad"}, nil},
		{"chunk data longer than its size", "POST /bad HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n" + smuggled,
			0, []int{400}, []string{"POST /bad"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.description, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, nil, 5*time.Second)
			statuses, bodies, closed := exchange(t, dial(t, s.addr), tt.raw, tt.step)
			if fmt.Sprint(statuses) != fmt.Sprint(tt.statuses) {
				t.Fatalf("statuses %v, want %v (bodies %q)", statuses, tt.statuses, bodies)
			}
			if last := len(statuses) - 1; statuses[last] >= 400 && !closed[last] {
				t.Errorf("the %d has no Connection: close", statuses[last])
			}
			if got := s.served(); fmt.Sprint(got) != fmt.Sprint(tt.served) {
				t.Errorf("served %q, want %q", got, tt.served)
			}
			for i, h := range tt.bodies {
				if !strings.Contains(bodies[i], h) {
					t.Errorf("answer %d is %q, want the body's hash %s", i+1, bodies[i], h)
				}
			}
			if tt.statuses[len(tt.statuses)-1] == 400 && strings.Contains(tt.description, "both headers") &&
				!strings.Contains(s.logs.String(), "both Content-Length and Transfer-Encoding") {
				t.Errorf("the refusal was not logged: %s", s.logs.String())
			}
		})
	}
}

// Over TLS, HTTP/1.1 is guarded and keeps its TLS state; HTTP/2 still
// negotiates and passes through.
func TestTLS(t *testing.T) {
	t.Parallel()
	cert := httptest.NewTLSServer(http.NotFoundHandler())
	cert.Close()
	cfg := &tls.Config{Certificates: cert.TLS.Certificates, NextProtos: []string{"h2", "http/1.1"}}
	s := newServer(t, func(ln net.Listener) net.Listener { return tls.NewListener(ln, cfg) }, 5*time.Second)
	client := &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}}

	conn, err := tls.Dial("tcp", s.addr, client)
	if err != nil {
		t.Fatal(err)
	}
	statuses, bodies, _ := exchange(t, conn, get("/a")+both("/bad"), 0)
	if fmt.Sprint(statuses) != "[200 400]" || !strings.Contains(bodies[0], "tls=true") {
		t.Errorf("HTTP/1.1 over TLS: %v %q, want 200 with TLS state, then 400", statuses, bodies)
	}

	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Post("https://"+s.addr+"/h2", "text/plain", strings.NewReader("hello, world"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.ProtoMajor != 2 || !strings.Contains(string(b), hash([]byte("hello, world"))) {
		t.Errorf("HTTP/2: %s %q, want HTTP/2 and the body's hash", res.Proto, b)
	}
}

// The guard holds a head back until it is complete, but not its first
// bytes: net/http starts its ReadHeaderTimeout clock for the next request
// on a kept-alive connection when they arrive, so a head dribbled there is
// cut off after that timeout, not after the much longer idle timeout.
func TestHeaderTimeoutBetweenRequests(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil, 300*time.Millisecond)
	conn := dial(t, s.addr)
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(conn)
	io.WriteString(conn, get("/a"))
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	start := time.Now()
	io.WriteString(conn, "GET /b HTTP/1.1\r\nHo")
	rest, _ := io.ReadAll(br)
	if waited := time.Since(start); waited > 10*time.Second {
		t.Errorf("an incomplete head was held for %v; want it cut off after about the header timeout", waited)
	}
	if got := s.served(); len(got) != 1 {
		t.Errorf("served %q, want only GET /a", got)
	}
	t.Logf("closed after %v with %q", time.Since(start), rest)
}

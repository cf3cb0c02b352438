package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Request headers over the server's limit (64 KiB) are refused by the real
// binary with 431 before any handler runs, on every route, and the server
// goes on serving (issue 5, "Bad input"). Headers under the limit pass.
func TestOversizedHeadersAreRefused(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	srv := startServer(t, &http.Client{}, nil, "--addr", "127.0.0.1:0", "--data", data)
	addr := strings.TrimPrefix(srv.URL, "http://")
	blobsBefore := listFiles(t, filepath.Join(data))

	big := strings.Repeat("a", 80<<10)
	var many strings.Builder
	for i := range 10000 {
		fmt.Fprintf(&many, "X-H%d: v\r\n", i)
	}
	for _, tt := range []struct {
		description string
		request     string
		status      int
	}{
		{"an 80 KiB header on the token upload endpoint", "POST /upload?token=x HTTP/1.1\r\nHost: uplink\r\nX-Big: " + big + "\r\nContent-Length: 0\r\n\r\n", 431},
		{"an 80 KiB cookie on the dashboard", "GET /admin/login HTTP/1.1\r\nHost: uplink\r\nCookie: s=" + big + "\r\n\r\n", 431},
		{"an 80 KiB Content-Range on a link's part", "PUT /u/x/uploads/y/parts/1 HTTP/1.1\r\nHost: uplink\r\nContent-Range: part " + big + "\r\nContent-Length: 0\r\n\r\n", 431},
		{"an 80 KiB request line", "GET /healthz?" + big + " HTTP/1.1\r\nHost: uplink\r\n\r\n", 431},
		{"10,000 tiny headers", "GET /healthz HTTP/1.1\r\nHost: uplink\r\n" + many.String() + "\r\n", 431},
		{"a 60 KiB header, under the limit", "GET /healthz HTTP/1.1\r\nHost: uplink\r\nX-Big: " + big[:60<<10] + "\r\n\r\n", 200},
	} {
		t.Run(tt.description, func(t *testing.T) {
			res := rawRequest(t, addr, tt.request)
			if res.StatusCode != tt.status {
				t.Errorf("status=%d, want=%d", res.StatusCode, tt.status)
			}
		})
	}
	// The server still serves, and stored nothing.
	waitHealthy(t, &http.Client{}, srv.URL)
	if after := listFiles(t, data); fmt.Sprint(after["blobs"]) != fmt.Sprint(blobsBefore["blobs"]) {
		t.Errorf("blob files changed: before %v, after %v", blobsBefore["blobs"], after["blobs"])
	}
}

// rawRequest writes a request as is on a new connection and reads the
// response's status line and headers.
func rawRequest(t *testing.T, addr, request string) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	// The server may answer and close before it has read everything.
	go io.WriteString(conn, request)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

// listFiles lists the regular files under dir by their top directory.
func listFiles(t *testing.T, dir string) map[string][]string {
	t.Helper()
	files := map[string][]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		top, _, _ := strings.Cut(filepath.ToSlash(rel), "/")
		files[top] = append(files[top], rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// smuggledToken is a request that creates an upload token: if it is ever
// served, the token list grows.
func smuggledToken() string {
	body := `{"ttl":3600}`
	return "POST /upload-tokens HTTP/1.1\r\nHost: uplink\r\nAuthorization: " + basicAuth(testKey) +
		"\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

// countTokens returns how many upload tokens the server holds.
func countTokens(t *testing.T, base string) int {
	t.Helper()
	status, body := do(t, &http.Client{}, http.MethodGet, base+"/upload-tokens?pageSize=100", basicAuth(testKey), nil)
	if status != http.StatusOK {
		t.Fatalf("GET /upload-tokens: %d %s", status, body)
	}
	return len(mustDecode[struct{ Data []any }](t, body).Data)
}

// exchange writes raw on a new connection in one write, reads until the
// server closes the connection (failing if it has not within 10 seconds),
// and returns the responses it read, in order.
func exchange(t *testing.T, addr, raw string) []*http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	all, err := io.ReadAll(conn)
	if err != nil {
		t.Fatalf("the connection was not closed: %v (read %q)", err, all)
	}
	br := bufio.NewReader(bytes.NewReader(all))
	var out []*http.Response
	for {
		if _, err := br.Peek(1); err != nil {
			return out
		}
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v in %q", len(out)+1, err, all)
		}
		if _, err := io.ReadAll(res.Body); err != nil {
			t.Fatalf("response %d: body: %v in %q", len(out)+1, err, all)
		}
		out = append(out, res)
	}
}

// A request with both Content-Length and Transfer-Encoding: chunked is
// refused with 400 and Connection: close, and the connection is closed,
// so that a request hidden in its body (as a proxy framing it by
// Content-Length would send it) is never served (issue 10, item 10;
// RFC 9112 §6.3). Each request is written in one write with what follows
// it, to the real binary, over a raw TCP connection. The last case is the
// control: without Content-Length the same bytes are two requests, and
// both are served.
func TestContentLengthWithChunkedIsRefused(t *testing.T) {
	t.Parallel()
	srv := startServer(t, &http.Client{}, []string{"UPLINK_API_KEY=" + testKey}, "--addr", "127.0.0.1:0", "--data", t.TempDir())
	addr := strings.TrimPrefix(srv.URL, "http://")
	hidden := "0\r\n\r\n" + smuggledToken()
	both := func(first string) string {
		return first + "Content-Length: " + strconv.Itoa(len(hidden)) + "\r\nTransfer-Encoding: chunked\r\n\r\n" + hidden
	}
	chunkedToken := "POST /upload-tokens HTTP/1.1\r\nHost: uplink\r\nAuthorization: " + basicAuth(testKey) +
		"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"5;ext=\"x\"\r\n{\"ttl\r\n7\r\n\":3600}\r\n0\r\nX-Checksum: none\r\n\r\n"
	for _, tt := range []struct {
		description string
		raw         string
		statuses    []int // The answers, the last one closing the connection.
		newTokens   int
	}{
		{"Content-Length then Transfer-Encoding", both("GET /healthz HTTP/1.1\r\nHost: uplink\r\n"), []int{400}, 0},
		{"Transfer-Encoding then Content-Length", "POST /upload-tokens HTTP/1.1\r\nHost: uplink\r\nTransfer-Encoding: chunked\r\nContent-Length: " +
			strconv.Itoa(len(hidden)) + "\r\n\r\n" + hidden, []int{400}, 0},
		{"lower-case names and CHUNKED", "GET /healthz HTTP/1.1\r\nhost: uplink\r\ncontent-length: " + strconv.Itoa(len(hidden)) +
			"\r\ntransfer-encoding: CHUNKED\r\n\r\n" + hidden, []int{400}, 0},
		{"Content-Length: 0", "GET /healthz HTTP/1.1\r\nHost: uplink\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n" + hidden, []int{400}, 0},
		{"HTTP/1.0", both("GET /healthz HTTP/1.0\r\nHost: uplink\r\nConnection: keep-alive\r\n"), []int{400}, 0},
		{"a folded Transfer-Encoding", "GET /healthz HTTP/1.1\r\nHost: uplink\r\nContent-Length: " + strconv.Itoa(len(hidden)) +
			"\r\nX-Pad: a\r\n Transfer-Encoding: chunked\r\n\r\n" + hidden, []int{400}, 0},
		{"after a request on the same connection", "GET /healthz HTTP/1.1\r\nHost: uplink\r\n\r\n" + both("GET /healthz HTTP/1.1\r\nHost: uplink\r\n"),
			[]int{200, 400}, 0},
		{"after a chunked body with an extension and a trailer", chunkedToken + both("GET /healthz HTTP/1.1\r\nHost: uplink\r\n"),
			[]int{200, 400}, 1},
		{"control: Transfer-Encoding alone, two requests", "GET /healthz HTTP/1.1\r\nHost: uplink\r\nTransfer-Encoding: chunked\r\n\r\n" +
			hidden[:len(hidden)-len("\r\n\r\n{\"ttl\":3600}")] + "\r\nConnection: close\r\n\r\n{\"ttl\":3600}", []int{200, 200}, 1},
	} {
		t.Run(tt.description, func(t *testing.T) {
			before := countTokens(t, srv.URL)
			res := exchange(t, addr, tt.raw)
			var got []int
			for _, r := range res {
				got = append(got, r.StatusCode)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.statuses) {
				t.Fatalf("statuses %v, want %v", got, tt.statuses)
			}
			if last := res[len(res)-1]; last.StatusCode == http.StatusBadRequest && !last.Close {
				t.Errorf("the 400 has no Connection: close: %v", last.Header)
			}
			if got := countTokens(t, srv.URL) - before; got != tt.newTokens {
				t.Errorf("%d upload tokens created, want %d: the hidden request was served", got, tt.newTokens)
			}
		})
	}
	// The server still serves.
	waitHealthy(t, &http.Client{}, srv.URL)
}

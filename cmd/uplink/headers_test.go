package main

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"path/filepath"
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

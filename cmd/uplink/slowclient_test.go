package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Slow and dead clients against the real binary, with short timeouts set
// by its flags: a client that dribbles its headers is cut off by
// --read-header-timeout, and one that stops sending mid-part by
// --read-idle-timeout, after which the part goes through when sent again.
// (web/deadline_test.go covers the idle deadline in more depth, including
// slow but steady parts, which are never cut off.) The durations only pace
// the clients; the one bound on time, readyWait, only keeps a hang from
// stalling the run.

func TestSlowClients(t *testing.T) {
	t.Parallel()
	client := &http.Client{}
	const key = "slow-client-key-0123456789"
	dir := t.TempDir()
	srv := startServer(t, client, []string{"UPLINK_API_KEY=" + key},
		"--addr", "127.0.0.1:0", "--data", dir, "--read-header-timeout", "1s", "--read-idle-timeout", "1s")
	addr := strings.TrimPrefix(srv.URL, "http://")

	t.Run("headers dribbled a byte at a time are cut off", func(t *testing.T) {
		conn := dial(t, addr)
		closed := make(chan string, 1)
		go func() {
			conn.SetReadDeadline(time.Now().Add(readyWait))
			b, err := io.ReadAll(conn)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				b = append(b, "(still open)"...)
			}
			closed <- string(b)
		}()
		// Each byte comes well within any idle timeout; the headers as a
		// whole never end.
		head := "GET /healthz HTTP/1.1\r\nHost: " + addr + "\r\nX-Dribble: " + strings.Repeat("a", 1<<16)
		for i := 0; ; i++ {
			select {
			case got := <-closed:
				if strings.Contains(got, "(still open)") || strings.HasPrefix(got, "HTTP/1.1 200") {
					t.Fatalf("the server answered %q to headers that never ended", got)
				}
				return
			case <-time.After(250 * time.Millisecond):
			}
			if _, err := conn.Write([]byte{head[i]}); err != nil {
				return // Cut off: the write found the connection closed.
			}
		}
	})

	t.Run("a part that stops mid-body is cut off and can be sent again", func(t *testing.T) {
		status, body := do(t, client, "POST", srv.URL+"/upload-tokens", basicAuth(key), map[string]int{"ttl": 3600})
		if status != http.StatusOK {
			t.Fatalf("POST /upload-tokens: status=%d: %s", status, body)
		}
		token := mustDecode[struct{ Token string }](t, body).Token
		data := bytes.Repeat([]byte("uplink "), 300_000)
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		fw, _ := mw.CreateFormFile("file", "stall.mp4")
		fw.Write(data)
		mw.Close()
		req := b.Bytes()

		conn := dial(t, addr)
		fmt.Fprintf(conn, "POST /upload?token=%s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
			token, addr, mw.FormDataContentType(), len(req))
		conn.Write(req[:len(req)/2])
		conn.SetReadDeadline(time.Now().Add(readyWait))
		answer, err := io.ReadAll(conn)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("the server was still waiting for the stalled part after %s", readyWait)
		}
		if strings.HasPrefix(string(answer), "HTTP/1.1 2") {
			t.Fatalf("the stalled part was answered with success: %s", answer)
		}
		if files := blobFiles(t, filepath.Join(dir, "blobs")); len(files) != 0 {
			t.Errorf("the stalled part left %d blobs on disk: %v", len(files), files)
		}

		r, _ := http.NewRequest("POST", srv.URL+"/upload?token="+token, bytes.NewReader(req))
		r.Header.Set("Content-Type", mw.FormDataContentType())
		resp, body := sendRequest(t, client, r)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("sending the part again: status=%d: %s", resp.StatusCode, body)
		}
	})
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

package web_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uplink-video/uplink/web"
	"github.com/uplink-video/uplink/web/links"
	"github.com/uplink-video/uplink/web/reqid"
	"github.com/uplink-video/uplink/web/webtest"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestRequestLog checks that every request gets an ID, returned in a header
// and logged with the route, and that secrets in the URL and headers never
// reach the log.
func TestRequestLog(t *testing.T) {
	var logs syncBuffer
	srv := webtest.Start(t, webtest.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))

	const token = "toSECRETSECRETSECRET12345"
	const key = "my-secret-api-key-value"
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/upload?token="+token, strings.NewReader("x"))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=b")
	req.SetBasicAuth(key, "")
	req.AddCookie(&http.Cookie{Name: "uplink_session", Value: "cookie-secret-value"})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Header.Get(web.HeaderRequestID)
	if len(id) < 16 {
		t.Fatalf("X-Request-ID=%q, want a random ID", id)
	}
	out := logs.String()
	for _, want := range []string{`"request_id":"` + id + `"`, `"route":"/upload"`, `"status":401`} {
		if !strings.Contains(out, want) {
			t.Errorf("log has no %s:\n%s", want, out)
		}
	}
	for _, secret := range []string{token, key, "cookie-secret-value"} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains the secret %q:\n%s", secret, out)
		}
	}
}

// TestLogEntriesCarryTheRequestID checks that an entry logged deep inside a
// request, by another package (here, the links service noting a part cut
// off on its way to the token endpoint), carries the same request ID as
// the request's access line.
func TestLogEntriesCarryTheRequestID(t *testing.T) {
	var logs syncBuffer
	// The root logger is wrapped once, as cmd/uplink does, and every
	// service gets it.
	a := newAnonymousApp(t, webtest.WithLogger(slog.New(reqid.NewHandler(slog.NewJSONHandler(&logs, nil)))))
	l, err := a.Links.Create(context.Background(), links.Spec{Label: "ids", Types: []string{"any"}})
	if err != nil {
		t.Fatal(err)
	}
	const size = 64 << 10
	u, _, err := a.Links.Start(context.Background(), l.ID, links.StartRequest{Filename: "x.bin", Size: size, LastModified: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Announce the whole part, send half of it, and hang up.
	conn, err := net.Dial("tcp", strings.TrimPrefix(a.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "PUT /u/%s/uploads/%s/parts/1 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", l.ID, u.VideoID, size)
	conn.Write(make([]byte, size/2))
	conn.Close()

	var id string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, `"msg":"a part was cut off"`) {
				if i := strings.Index(line, `"request_id":"`); i >= 0 {
					id = line[i+len(`"request_id":"`):]
					id = id[:strings.IndexByte(id, '"')]
				}
			}
		}
		if id != "" && strings.Contains(logs.String(), `"msg":"request"`) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if id == "" {
		t.Fatalf("no \"a part was cut off\" line with a request ID:\n%s", logs.String())
	}
	var access bool
	for _, line := range strings.Split(logs.String(), "\n") {
		access = access || strings.Contains(line, `"msg":"request"`) && strings.Contains(line, `"request_id":"`+id+`"`)
	}
	if !access {
		t.Errorf("the access line does not carry the service line's request ID %s:\n%s", id, logs.String())
	}
}

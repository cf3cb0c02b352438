package web_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/store/ingest"
	"github.com/uplink-video/uplink/web"
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
	dir := t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, "uplink.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	blobs, err := blob.NewDir(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	srv := httptest.NewServer(web.New(web.Deps{
		Store: st, Ingest: ingest.New(st, blobs, ingest.Config{}), PublicURL: "http://uplink.test",
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
	}))
	defer srv.Close()

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

package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/store/ingest"
	"github.com/uplink-video/uplink/web"
	"github.com/uplink-video/uplink/web/links"
	"github.com/uplink-video/uplink/web/webtest"
)

func TestReadiness(t *testing.T) {
	for _, tc := range []struct {
		description string
		minFree     int64
		wantStatus  int
		wantBody    string
	}{
		{"enough space", 1, http.StatusOK, "data directory: ok"},
		{"disk nearly full", 1 << 62, http.StatusServiceUnavailable, "bytes free"},
	} {
		t.Run(tc.description, func(t *testing.T) {
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
			srv := httptest.NewServer(web.New(web.Deps{
				Store: st, Ingest: ingest.New(st, blobs, ingest.Config{}), PublicURL: "http://uplink.test",
				DataDir: dir, MinFreeBytes: tc.minFree,
			}))
			defer srv.Close()
			for path, want := range map[string]int{"/readyz": tc.wantStatus, "/healthz": http.StatusOK} {
				resp, err := http.Get(srv.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != want {
					t.Errorf("GET %s: status %d, want %d: %s", path, resp.StatusCode, want, body)
				}
				if path == "/readyz" && !strings.Contains(string(body), tc.wantBody) {
					t.Errorf("GET /readyz body %q, want it to mention %q", body, tc.wantBody)
				}
			}
		})
	}
}

// TestUploadPageTypesText checks the allowed types as the uploader reads
// them, for a link limited to formats whose names start with a capital.
func TestUploadPageTypesText(t *testing.T) {
	w := webtest.Start(t)
	svc, srv := w.Links, w
	for _, tc := range []struct {
		types []string
		want  string
	}{
		{[]string{"mp4", "webm"}, "MP4, WebM files"},
		{[]string{"video"}, "Video files (MP4"},
		{[]string{"any"}, "Any file"},
	} {
		l, err := svc.Create(context.Background(), links.Spec{Label: "types", Types: tc.types})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(srv.URL + "/u/" + l.ID)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), tc.want) {
			t.Errorf("types %v: page has no %q", tc.types, tc.want)
		}
	}
}

package web_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

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
			srv := webtest.Start(t, webtest.WithDeps(func(d *web.Deps) { d.DataDir, d.MinFreeBytes = t.TempDir(), tc.minFree }))
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

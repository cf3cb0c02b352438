package links_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/web/links"
	"github.com/uplink-video/uplink/web/webtest"
)

// FuzzLinkID checks how a link ID from a request is read: validLinkID
// agrees with a regular expression of the rule (22 characters of
// [0-9A-Za-z]); the service refuses any ID that names no link as "not
// found"; and the upload page's endpoints, through the real handler, answer
// 404 for it, never an error or another link's upload. One real link
// exists, so that valid-looking IDs reach the database. Its seeds are in
// testdata/fuzz/FuzzLinkID.
//
// Run it with: go test -run='^$' -fuzz='^FuzzLinkID$' ./web/links
func FuzzLinkID(f *testing.F) {
	ctx := context.Background()
	w := webtest.Start(f, webtest.WithChunkSize(chunk))
	deps, handler := w.Deps, w.Echo
	real, err := deps.Links.Create(ctx, links.Spec{Label: "the one link"})
	if err != nil {
		f.Fatal(err)
	}
	u, _, err := deps.Links.Start(ctx, real.ID, links.StartRequest{Filename: "a.mp4", Size: 1000, LastModified: 1})
	if err != nil {
		f.Fatal(err)
	}

	for _, id := range []string{
		real.ID, store.RandomString(22), store.RandomString(21), store.RandomString(23),
		"../../etc/passwd", "' OR 1=1 --", "%", strings.Repeat("A", 22) + "\x00", "ÀÀÀÀÀÀÀÀÀÀÀ", "",
	} {
		f.Add(id)
	}
	valid := regexp.MustCompile(`^[0-9A-Za-z]{22}$`)
	f.Fuzz(func(t *testing.T, id string) {
		if got, want := links.ValidLinkID(id), valid.MatchString(id); got != want {
			t.Fatalf("validLinkID(%q)=%v, want=%v", id, got, want)
		}
		if id == real.ID {
			return
		}
		_, err := deps.Links.Upload(ctx, id, u.VideoID)
		var ref *links.Refusal
		if !errors.As(err, &ref) || ref.Code != links.CodeLinkNotFound || ref.Status != http.StatusNotFound {
			t.Fatalf("Session(%q): %v, want a %s refusal", id, err, links.CodeLinkNotFound)
		}
		// Through the handler: the status of the real link's upload, and a
		// part for it, named under this ID.
		for _, req := range []*http.Request{
			httptest.NewRequest(http.MethodGet, "/u/"+url.PathEscape(id)+"/uploads/"+u.VideoID, nil),
			httptest.NewRequest(http.MethodPut, "/u/"+url.PathEscape(id)+"/uploads/"+u.VideoID+"/parts/1", strings.NewReader("x")),
		} {
			w := httptest.NewRecorder()
			handler.ServeHTTP(w, req)
			if w.Code != http.StatusNotFound {
				t.Fatalf("%s %s: %d, want 404; body: %.300s", req.Method, req.URL.Path, w.Code, w.Body)
			}
			if strings.HasPrefix(w.Header().Get("Content-Type"), "application/problem+json") {
				var p struct{ Code string }
				if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Code != links.CodeLinkNotFound {
					t.Fatalf("%s %s: problem %.300s, want %s", req.Method, req.URL.Path, w.Body, links.CodeLinkNotFound)
				}
			}
		}
	})
}

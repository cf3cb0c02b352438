package web_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/uplink-video/uplink/static"
	"github.com/uplink-video/uplink/web/links"
	"github.com/uplink-video/uplink/web/webtest"
)

func TestStaticAssetsAreHashedCachedAndCompressed(t *testing.T) {
	srv := httptest.NewServer(newPlainApp(t))
	defer srv.Close()
	hashed := static.URL("js/uploader.js")
	if hashed == "/static/js/uploader.js" || !strings.HasPrefix(hashed, "/static/js/uploader.") {
		t.Fatalf("static.URL=%q, want a content-hashed name", hashed)
	}
	for _, tc := range []struct {
		description  string
		path         string
		gzip         bool
		wantCache    string
		wantEncoding string
	}{
		{"hashed, gzip accepted", hashed, true, "public, max-age=31536000, immutable", "gzip"},
		{"hashed, no gzip", hashed, false, "public, max-age=31536000, immutable", ""},
		{"plain name", "/static/js/uploader.js", true, "no-cache", "gzip"},
	} {
		t.Run(tc.description, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+tc.path, nil)
			// A transport that does not add or undo compression itself.
			tr := &http.Transport{DisableCompression: true}
			if tc.gzip {
				req.Header.Set("Accept-Encoding", "gzip, br")
			}
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if got := resp.Header.Get("Cache-Control"); got != tc.wantCache {
				t.Errorf("Cache-Control=%q, want=%q", got, tc.wantCache)
			}
			if got := resp.Header.Get("Content-Encoding"); got != tc.wantEncoding {
				t.Errorf("Content-Encoding=%q, want=%q", got, tc.wantEncoding)
			}
			if got := resp.Header.Get("Content-Type"); !strings.HasPrefix(got, "text/javascript") {
				t.Errorf("Content-Type=%q, want text/javascript", got)
			}
			var r io.Reader = resp.Body
			if tc.wantEncoding == "gzip" {
				if r, err = gzip.NewReader(resp.Body); err != nil {
					t.Fatal(err)
				}
			}
			body, _ := io.ReadAll(r)
			a, _, _ := static.Lookup("js/uploader.js")
			if string(body) != string(a.Body) {
				t.Errorf("body differs from the embedded file (%d vs %d bytes)", len(body), len(a.Body))
			}
		})
	}
	resp, err := http.Get(srv.URL + "/static/js/nope.123.js")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown asset: status %d, want 404", resp.StatusCode)
	}
}

// TestUploadPageWeight loads the public upload page and everything it
// links to, as a browser would, and checks what it weighs, with no
// request to another site: under 40 KB on the wire (the assets gzipped,
// as browsers get them), and under 110 KB uncompressed. The budgets were
// 60 KB uncompressed for one 30 KB script; the uploader is now an engine
// and a page in ten modules, with the server's type check ported (issue
// 13), about 80 KB uncompressed and 30 KB gzipped, most of it comments.
func TestUploadPageWeight(t *testing.T) {
	app, svc := newPlainAppWithLinks(t)
	srv := httptest.NewServer(app)
	defer srv.Close()
	l, err := svc.Create(context.Background(), links.Spec{Label: "A typical link", Message: "Please upload the recording of Saturday's ceremony here.", MaxUploads: 1, MaxSize: 10 << 30})
	if err != nil {
		t.Fatal(err)
	}
	// get returns the size of the body as sent, gzipped or not, and
	// unpacked.
	get := func(path string) (wire, raw int) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status %d", path, resp.StatusCode)
		}
		raw = len(b)
		if resp.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			unpacked, _ := io.ReadAll(zr)
			raw = len(unpacked)
		}
		return len(b), raw
	}
	resp, err := http.Get(srv.URL + "/u/" + l.ID)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	wire, total := len(page), len(page)
	doc, err := html.Parse(strings.NewReader(string(page)))
	if err != nil {
		t.Fatal(err)
	}
	var refs []string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			for _, a := range n.Attr {
				if (n.Data == "link" && a.Key == "href") || (n.Data == "script" && a.Key == "src") || (n.Data == "img" && a.Key == "src") {
					refs = append(refs, a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if len(refs) == 0 {
		t.Fatal("the page links to no stylesheet or script")
	}
	for _, ref := range refs {
		if !strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, "//") {
			t.Errorf("the page loads %q from another site", ref)
			continue
		}
		w, r := get(ref)
		wire, total = wire+w, total+r
	}
	t.Logf("upload page weight: %d bytes on the wire, %d uncompressed (HTML %d + %d assets)", wire, total, len(page), len(refs))
	if wire > 40_000 {
		t.Errorf("upload page weighs %d bytes on the wire, want under 40 KB", wire)
	}
	if total > 110_000 {
		t.Errorf("upload page weighs %d bytes uncompressed, want under 110 KB", total)
	}
}

func newPlainApp(t *testing.T) http.Handler {
	h, _ := newPlainAppWithLinks(t)
	return h
}

func newPlainAppWithLinks(t *testing.T) (http.Handler, *links.Service) {
	t.Helper()
	w := webtest.Start(t)
	return w.Echo, w.Links
}

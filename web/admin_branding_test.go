package web_test

// Tests of the install's branding: set in the dashboard, shown on the
// upload page and the embed.

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/uplink-video/uplink/web/links"
)

// postLogo sends data as the logo form's file.
func postLogo(t *testing.T, a *adminApp, name string, data []byte) response {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	_ = w.WriteField("_csrf", a.csrfToken())
	f, _ := w.CreateFormFile("logo", name)
	f.Write(data)
	w.Close()
	return a.do(t, http.MethodPost, "/admin/branding/logo", &body, http.Header{"Content-Type": {w.FormDataContentType()}})
}

func pngLogo(t *testing.T, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestBranding(t *testing.T) {
	t.Parallel()
	a := newAdminApp(t)
	l, err := a.Links.Create(context.Background(), links.Spec{Label: "Clips", MaxUploads: 1, EmbedOrigins: []string{"https://site.example"}})
	if err != nil {
		t.Fatal(err)
	}
	// Without branding, the page is uplink's own.
	doc := a.getPage(t, "/u/"+l.ID)
	if testID(doc, "brand-logo").Length() != 0 || doc.Find(`link[href^="/brand.css"]`).Length() != 0 {
		t.Fatal("an install without branding shows some")
	}

	for _, tc := range []struct {
		description, accent, want string
	}{
		{"not a colour", "red", "six hexadecimal digits"},
		{"too light for white text", "#ffee00", "too light"},
	} {
		status, body, _ := a.postForm(t, "/admin/branding/accent", url.Values{"accent": {tc.accent}})
		if status != http.StatusUnprocessableEntity || !strings.Contains(testID(parseHTML(t, body), "brand-accent-error").Text(), tc.want) {
			t.Errorf("%s: %d, want 422 saying %q", tc.description, status, tc.want)
		}
	}
	if status, _, loc := a.postForm(t, "/admin/branding/accent", url.Values{"accent": {"#8A1C7C"}}); status != http.StatusSeeOther || !strings.Contains(loc, "brand-saved") {
		t.Fatalf("accent: %d %q", status, loc)
	}

	for _, tc := range []struct {
		description, name string
		data              []byte
		want              string
	}{
		{"an SVG", "logo.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`), "SVG logos are not accepted"},
		{"a text file named .png", "logo.png", []byte("not an image"), "not a PNG, JPEG or WebP"},
		{"too large", "logo.png", append(pngLogo(t, 2, 2), make([]byte, 600<<10)...), "too large"},
		{"no file", "", nil, "Choose an image file"},
	} {
		resp := postLogo(t, a, tc.name, tc.data)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(testID(parseHTML(t, resp.body), "brand-logo-error").Text(), tc.want) {
			t.Errorf("%s: %d, want 422 saying %q", tc.description, resp.StatusCode, tc.want)
		}
	}
	logo := pngLogo(t, 120, 40)
	if resp := postLogo(t, a, "logo.png", logo); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logo: %d\n%s", resp.StatusCode, resp.body)
	}

	// The upload page and the embed show both; anonymous recipients get
	// the logo and the stylesheet.
	anon := newClient(t)
	for _, path := range []string{"/u/" + l.ID, "/embed/" + l.ID} {
		doc := a.getPage(t, path)
		img := testID(doc, "brand-logo")
		src, _ := img.Attr("src")
		if w, _ := img.Attr("width"); img.Length() != 1 || w != "120" || !strings.HasPrefix(src, "/brand/logo?v=") {
			t.Fatalf("%s: logo %d, src %q, width %q", path, img.Length(), src, w)
		}
		css, _ := doc.Find(`link[href^="/brand.css"]`).Attr("href")
		resp, err := anon.Get(a.URL + src)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		got.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" || !bytes.Equal(got.Bytes(), logo) ||
			!strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("%s: logo %d %q %q, %d bytes", path, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"), got.Len())
		}
		resp, err = anon.Get(a.URL + css)
		if err != nil {
			t.Fatal(err)
		}
		got.Reset()
		got.ReadFrom(resp.Body)
		resp.Body.Close()
		if !strings.Contains(got.String(), "--accent: #8a1c7c;") || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
			t.Errorf("%s: brand.css %q: %s", path, resp.Header.Get("Content-Type"), got.String())
		}
	}

	// Removed, the logo is gone from the page and its URL.
	a.postForm(t, "/admin/branding/logo/remove", nil)
	a.postForm(t, "/admin/branding/accent", url.Values{"reset": {"1"}})
	if testID(a.getPage(t, "/u/"+l.ID), "brand-logo").Length() != 0 {
		t.Error("the removed logo is still shown")
	}
	if resp, err := anon.Get(a.URL + "/brand/logo"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("the removed logo's URL: %v %v", resp.StatusCode, err)
	}
}

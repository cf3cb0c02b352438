package api_test

import (
	"strings"
	"testing"

	"github.com/uplink-video/uplink/web"
	"github.com/uplink-video/uplink/web/webtest"
)

// Routing: unknown routes on the API's paths get problem documents, other
// unknown paths get a page; CORS on the management endpoints is limited
// to the configured origins (api-contract.md 11.7).

func TestUnknownRoutes(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	vid := a.createVideo(t, `{"title":"x"}`).VideoID

	for _, tt := range []struct {
		description string
		method      string
		path        string
		withAuth    bool
	}{
		{"unknown video sub-resource", "GET", "/videos/" + vid + "/chapters", true},
		{"unknown video sub-resource without credentials", "GET", "/videos/" + vid + "/captions/en", false},
		{"unknown token sub-resource", "GET", "/upload-tokens/to0000000000000000000000/uploads", true},
		{"unknown auth endpoint", "POST", "/auth/logout", false},
		{"below /upload", "POST", "/upload/chunk", false},
	} {
		t.Run(tt.description, func(t *testing.T) {
			h := map[string]string{}
			if tt.withAuth {
				h["Authorization"] = a.basic()
			}
			r := httpTest{Method: tt.method, URL: tt.path, ReqHeader: h}.Run(t, a)
			a.wantProblem(t, r, 404, "unrecognized-request-url", "")
		})
	}

	t.Run("wrong method", func(t *testing.T) {
		for _, tt := range []struct{ method, path string }{
			{"GET", "/upload"},
			{"PUT", "/videos/" + vid},
			{"DELETE", "/upload-tokens"},
			{"GET", "/auth/api-key"},
			{"POST", "/openapi.json"},
		} {
			r := httpTest{Method: tt.method, URL: tt.path, ReqHeader: map[string]string{"Authorization": a.basic()}}.Run(t, a)
			a.wantProblem(t, r, 405, "method-not-allowed", "")
			if r.Header.Get("Allow") == "" {
				t.Errorf("%s %s: no Allow header", tt.method, tt.path)
			}
		}
	})

	t.Run("unknown page outside the API", func(t *testing.T) {
		for _, path := range []string{"/nope", "/uploads", "/video", "/auth", "/uploadfoo"} {
			r := httpTest{Method: "GET", URL: path, Code: 404}.Run(t, a)
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("GET %s: Content-Type=%q, want an HTML page", path, ct)
			}
			if !strings.Contains(strings.ToLower(string(r.Body)), "<html") {
				t.Errorf("GET %s: body is not a page: %s", path, clip(r.Body))
			}
		}
	})
}

func TestManagementCORS(t *testing.T) {
	t.Parallel()
	const allowed = "https://admin.example.com"
	a := newApp(t, webtest.WithDeps(func(d *web.Deps) { d.APICORSOrigins = []string{allowed + "/"} }))

	for _, tt := range []struct {
		description string
		origin      string
		wantAllow   string // "" when the origin must not be allowed.
	}{
		{"configured origin", allowed, allowed},
		{"another origin", "https://evil.example.com", ""},
	} {
		t.Run(tt.description, func(t *testing.T) {
			pre := httpTest{
				Method: "OPTIONS",
				URL:    "/videos",
				ReqHeader: map[string]string{
					"Origin":                         tt.origin,
					"Access-Control-Request-Method":  "GET",
					"Access-Control-Request-Headers": "authorization",
				},
				Code:      204,
				ResHeader: map[string]string{"Access-Control-Allow-Origin": tt.wantAllow},
			}.Run(t, a)
			if got := pre.Header.Get("Access-Control-Allow-Headers"); (got != "") != (tt.wantAllow != "") {
				t.Errorf("preflight Access-Control-Allow-Headers=%q", got)
			}
			h := map[string]string{"Origin": tt.origin, "Authorization": a.basic()}
			httpTest{Method: "GET", URL: "/videos", ReqHeader: h, Code: 200,
				ResHeader: map[string]string{"Access-Control-Allow-Origin": tt.wantAllow}}.Run(t, a)
			// Errors too.
			h["Authorization"] = basicAuth("wrong")
			r := httpTest{Method: "GET", URL: "/upload-tokens", ReqHeader: h, Code: 401,
				ResHeader: map[string]string{"Access-Control-Allow-Origin": tt.wantAllow}}.Run(t, a)
			if !strings.Contains(r.Header.Get("Vary"), "Origin") {
				t.Errorf("Vary=%q, want Origin", r.Header.Get("Vary"))
			}
		})
	}

	// /upload stays open to every origin.
	httpTest{
		Method:    "OPTIONS",
		URL:       "/upload",
		ReqHeader: map[string]string{"Origin": "https://evil.example.com", "Access-Control-Request-Method": "POST"},
		Code:      204,
		ResHeader: map[string]string{"Access-Control-Allow-Origin": "*"},
	}.Run(t, a)
}

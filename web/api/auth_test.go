package api_test

import (
	"encoding/base64"
	"regexp"
	"testing"
	"time"

	"github.com/uplink-video/uplink/web"
	"github.com/uplink-video/uplink/web/webtest"
)

// Authentication (api-contract.md 1 and 11.2): Basic with the API key as
// user name, or a bearer token from /auth/api-key, refreshed once with
// /auth/refresh.

type tokenPairJSON struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int    `json:"expires_in"`
}

// authAPIKey trades a key for a token pair.
func (a *app) authAPIKey(t *testing.T, key string) tokenPairJSON {
	t.Helper()
	r := httpTest{
		Method:    "POST",
		URL:       "/auth/api-key",
		ReqHeader: map[string]string{"Content-Type": "application/json"},
		ReqBody:   `{"apiKey":"` + key + `"}`,
		Code:      200,
		ResHeader: map[string]string{"Content-Type": "application/json"},
	}.Run(t, a)
	var p tokenPairJSON
	r.decode(t, &p)
	return p
}

func TestAuthCredentials(t *testing.T) {
	t.Parallel()
	const extra = "the-key-from-the-environment"
	a := newApp(t, webtest.WithDeps(func(d *web.Deps) { d.ExtraAPIKey = extra }))
	bearer := a.authAPIKey(t, a.key).AccessToken
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

	tests := []struct {
		description string
		header      string // The Authorization header; "-" sends none.
		code        int
		problem     string
	}{
		{"Basic key:", a.basic(), 200, ""},
		{"Basic key without the colon", "Basic " + b64(a.key), 200, ""},
		{"Basic with a password", "Basic " + b64(a.key+":ignored"), 200, ""},
		{"lower-case scheme", "basic " + b64(a.key+":"), 200, ""},
		{"the extra key", basicAuth(extra), 200, ""},
		{"Bearer", "Bearer " + bearer, 200, ""},
		{"no header", "-", 401, "authentication-missing-authorization-header"},
		{"empty header", "", 401, "authentication-missing-authorization-header"},
		{"wrong key", basicAuth("wrong"), 401, "authentication-invalid-api-key"},
		{"empty key", basicAuth(""), 401, "authentication-invalid-api-key"},
		{"Basic not base64", "Basic !!!", 401, "authentication-invalid-authorization-header-value"},
		{"Basic without credentials", "Basic", 401, "authentication-invalid-authorization-header-value"},
		{"wrong bearer", "Bearer nope", 401, "authentication-invalid-access-token"},
		{"the API key as a bearer", "Bearer " + a.key, 401, "authentication-invalid-access-token"},
		{"unknown scheme", "Token " + a.key, 401, "authentication-invalid-authorization-header-value"},
	}
	for _, tt := range tests {
		t.Run(tt.description, func(t *testing.T) {
			h := map[string]string{}
			if tt.header != "-" {
				h["Authorization"] = tt.header
			}
			for _, path := range []string{"/upload-tokens", "/videos"} {
				r := httpTest{Method: "GET", URL: path, ReqHeader: h}.Run(t, a)
				if tt.code == 200 {
					if r.Code != 200 {
						t.Errorf("GET %s: status=%d, want=200; body: %s", path, r.Code, clip(r.Body))
					}
					continue
				}
				a.wantProblem(t, r, tt.code, tt.problem, "")
			}
		})
	}

	t.Run("every management route needs credentials", func(t *testing.T) {
		tok := a.createToken(t, 0)
		vid := a.createVideo(t, `{"title":"x"}`).VideoID
		for _, route := range []struct{ method, path string }{
			{"POST", "/upload-tokens"},
			{"GET", "/upload-tokens"},
			{"GET", "/upload-tokens/" + tok},
			{"DELETE", "/upload-tokens/" + tok},
			{"POST", "/videos"},
			{"GET", "/videos"},
			{"GET", "/videos/" + vid},
			{"PATCH", "/videos/" + vid},
			{"DELETE", "/videos/" + vid},
			{"GET", "/videos/" + vid + "/status"},
			{"GET", "/videos/" + vid + "/source"},
		} {
			r := httpTest{Method: route.method, URL: route.path, ReqHeader: map[string]string{"Authorization": basicAuth("wrong")}, ReqBody: `{"title":"y","ttl":1}`}.Run(t, a)
			a.wantProblem(t, r, 401, "authentication-invalid-api-key", "")
		}
		// Nothing was changed by the refused calls.
		a.do(t, "GET", "/upload-tokens/"+tok, "")
		if got := wantVideo(t, a.do(t, "GET", "/videos/"+vid, ""), 200); got.Title != "x" {
			t.Errorf("title=%q, want x", got.Title)
		}
	})

	t.Run("a revoked key stops working", func(t *testing.T) {
		keys, err := a.store.ListAPIKeys(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if err := a.store.RevokeAPIKey(t.Context(), keys[0].ID); err != nil {
			t.Fatal(err)
		}
		a.wantProblem(t, a.do(t, "GET", "/videos", ""), 401, "authentication-invalid-api-key", "")
		r := httpTest{Method: "GET", URL: "/videos", ReqHeader: map[string]string{"Authorization": "Bearer " + bearer}}.Run(t, a)
		a.wantProblem(t, r, 401, "authentication-invalid-access-token", "")
	})
}

func TestAuthAPIKey(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	p := a.authAPIKey(t, a.key)
	if p.TokenType != "Bearer" || p.ExpiresIn != 3600 || p.AccessToken == "" || p.RefreshToken == "" || p.AccessToken == p.RefreshToken {
		t.Errorf("token pair=%+v, want Bearer, 3600 s and two distinct tokens", p)
	}
	if ok, _ := regexp.MatchString(`^[A-Za-z0-9._~+/=-]+$`, p.AccessToken); !ok {
		t.Errorf("access_token=%q is not a valid bearer token", p.AccessToken)
	}
	bearer := map[string]string{"Authorization": "Bearer " + p.AccessToken}

	// The Go client asks for a new pair each time its token runs out;
	// both keep working until they expire.
	p2 := a.authAPIKey(t, a.key)
	if p2.AccessToken == p.AccessToken {
		t.Errorf("two calls gave the same access token")
	}

	httpTest{Method: "GET", URL: "/videos", ReqHeader: bearer, Code: 200}.Run(t, a)
	a.clock.Advance(3599 * time.Second)
	httpTest{Method: "GET", URL: "/videos", ReqHeader: bearer, Code: 200}.Run(t, a)
	a.clock.Advance(time.Second)
	r := httpTest{Method: "GET", URL: "/videos", ReqHeader: bearer}.Run(t, a)
	a.wantProblem(t, r, 401, "authentication-invalid-access-token", "")

	for _, tt := range []struct {
		description string
		body        string
		code        int
		problem     string
		name        string
	}{
		{"wrong key", `{"apiKey":"wrong"}`, 400, "authentication-invalid-user-credentials", ""},
		{"missing key", `{}`, 400, "attribute-required", "apiKey"},
		{"empty key", `{"apiKey":""}`, 400, "attribute-required", "apiKey"},
		{"key of the wrong type", `{"apiKey":42}`, 400, "invalid-attribute", "apiKey"},
		{"not JSON", `apiKey=x`, 400, "invalid-payload", ""},
		{"no body", ``, 400, "invalid-payload", ""},
	} {
		t.Run(tt.description, func(t *testing.T) {
			r := httpTest{Method: "POST", URL: "/auth/api-key", ReqHeader: map[string]string{"Content-Type": "application/json"}, ReqBody: tt.body}.Run(t, a)
			a.wantProblem(t, r, tt.code, tt.problem, tt.name)
		})
	}
}

func TestAuthRefresh(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	p := a.authAPIKey(t, a.key)

	refresh := func(body, contentType string) *response {
		h := map[string]string{"Origin": "https://www.example.com"}
		if contentType != "" {
			h["Content-Type"] = contentType
		}
		return httpTest{Method: "POST", URL: "/auth/refresh", ReqHeader: h, ReqBody: body}.Run(t, a)
	}

	// The browser uploader posts the JSON as text/plain.
	r := refresh(`{"refreshToken":"`+p.RefreshToken+`"}`, "text/plain;charset=UTF-8")
	if r.Code != 200 || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("refresh: %d %q %s", r.Code, r.Header.Get("Content-Type"), clip(r.Body))
	}
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("Access-Control-Allow-Origin=%q, want *", got)
	}
	var p2 tokenPairJSON
	r.decode(t, &p2)
	if p2.TokenType != "Bearer" || p2.ExpiresIn != 3600 || p2.AccessToken == "" || p2.RefreshToken == "" {
		t.Errorf("refreshed pair=%+v", p2)
	}
	if p2.AccessToken == p.AccessToken || p2.RefreshToken == p.RefreshToken {
		t.Errorf("refresh gave back the old tokens")
	}
	httpTest{Method: "GET", URL: "/videos", ReqHeader: map[string]string{"Authorization": "Bearer " + p2.AccessToken}, Code: 200}.Run(t, a)

	// A refresh token works once.
	r = refresh(`{"refreshToken":"`+p.RefreshToken+`"}`, "application/json")
	a.wantProblem(t, r, 400, "authentication-invalid-user-credentials", "")
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("error: Access-Control-Allow-Origin=%q, want *", got)
	}
	// Without a Content-Type at all, too.
	if r := refresh(`{"refreshToken":"`+p2.RefreshToken+`"}`, ""); r.Code != 200 {
		t.Errorf("refresh without Content-Type: %d %s", r.Code, clip(r.Body))
	}

	for _, tt := range []struct {
		description string
		body        string
		problem     string
		name        string
	}{
		{"unknown token", `{"refreshToken":"nope"}`, "authentication-invalid-user-credentials", ""},
		{"an access token", `{"refreshToken":"` + p2.AccessToken + `"}`, "authentication-invalid-user-credentials", ""},
		{"missing token", `{}`, "attribute-required", "refreshToken"},
		{"not JSON", `refreshToken=x`, "invalid-payload", ""},
	} {
		t.Run(tt.description, func(t *testing.T) {
			a.wantProblem(t, refresh(tt.body, "application/json"), 400, tt.problem, tt.name)
		})
	}

	// The preflight of a browser's refresh.
	res := httpTest{
		Method: "OPTIONS",
		URL:    "/auth/refresh",
		ReqHeader: map[string]string{
			"Origin":                        "https://www.example.com",
			"Access-Control-Request-Method": "POST",
		},
		Code:      204,
		ResHeader: map[string]string{"Access-Control-Allow-Origin": "*"},
	}.Run(t, a)
	if res.Header.Get("Access-Control-Allow-Methods") == "" {
		t.Errorf("preflight without Access-Control-Allow-Methods")
	}
}

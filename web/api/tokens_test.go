package api_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The upload-token endpoints (api-contract.md 2 and 11.3).

type tokenJSON struct {
	Token     string  `json:"token"`
	TTL       int     `json:"ttl"`
	CreatedAt string  `json:"createdAt"`
	ExpiresAt *string `json:"expiresAt"`
}

type pageLinkJSON struct {
	Rel string `json:"rel"`
	URI string `json:"uri"`
}

type paginationJSON struct {
	CurrentPage      int            `json:"currentPage"`
	CurrentPageItems int            `json:"currentPageItems"`
	PageSize         int            `json:"pageSize"`
	PagesTotal       int            `json:"pagesTotal"`
	ItemsTotal       int            `json:"itemsTotal"`
	Links            []pageLinkJSON `json:"links"`
}

func TestTokenCreate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		description string
		body        string
		wantTTL     int
		wantExpires string // "" when expiresAt must be absent.
	}{
		{"an hour", `{"ttl":3600}`, 3600, "2024-05-28T12:15:07+00:00"},
		{"an hour, as the Go client sends it", `{"ttl":3600}` + "\n", 3600, "2024-05-28T12:15:07+00:00"},
		{"never expires", `{"ttl":0}`, 0, ""},
		{"empty object", `{}`, 0, ""},
		{"no body", ``, 0, ""},
		{"largest ttl", `{"ttl":2147483647}`, 2147483647, atom(t0.Add(2147483647 * time.Second))},
	}
	a := newApp(t)
	for _, tt := range tests {
		t.Run(tt.description, func(t *testing.T) {
			r := a.do(t, "POST", "/upload-tokens", tt.body)
			if r.Code != 200 {
				t.Fatalf("status=%d, want=200; body: %s", r.Code, clip(r.Body))
			}
			if got, want := r.Header.Get("Content-Type"), "application/json"; got != want {
				t.Errorf("Content-Type=%q, want=%q", got, want)
			}
			var raw map[string]json.RawMessage
			r.decode(t, &raw)
			if _, ok := raw["expiresAt"]; ok != (tt.wantExpires != "") {
				t.Errorf("expiresAt present=%v in %s", ok, r.Body)
			}
			var tok tokenJSON
			r.decode(t, &tok)
			if !tokenPattern.MatchString(tok.Token) {
				t.Errorf("token=%q, want to + 22 base62 characters", tok.Token)
			}
			if tok.TTL != tt.wantTTL {
				t.Errorf("ttl=%d, want=%d", tok.TTL, tt.wantTTL)
			}
			if tok.CreatedAt != atomT0 {
				t.Errorf("createdAt=%q, want=%q", tok.CreatedAt, atomT0)
			}
			if tt.wantExpires != "" && (tok.ExpiresAt == nil || *tok.ExpiresAt != tt.wantExpires) {
				t.Errorf("expiresAt=%v, want=%q", tok.ExpiresAt, tt.wantExpires)
			}
			// GET answers the same object.
			g := a.do(t, "GET", "/upload-tokens/"+tok.Token, "")
			if string(g.Body) != string(r.Body) {
				t.Errorf("GET=%s, want=%s", g.Body, r.Body)
			}
		})
	}
}

func TestTokenCreateBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		description string
		body        string
		problem     string
		name        string
	}{
		{"negative ttl", `{"ttl":-1}`, "invalid-attribute", "ttl"},
		{"ttl too large", `{"ttl":2147483648}`, "invalid-attribute", "ttl"},
		{"ttl as a string", `{"ttl":"3600"}`, "invalid-attribute", "ttl"},
		{"ttl with a fraction", `{"ttl":1.5}`, "invalid-attribute", "ttl"},
		{"not JSON", `ttl=3600`, "invalid-payload", ""},
		{"two objects", `{"ttl":1}{"ttl":2}`, "invalid-payload", ""},
		{"an array", `[3600]`, "invalid-attribute", ""},
	}
	a := newApp(t)
	before := a.snapshot(t)
	for _, tt := range tests {
		t.Run(tt.description, func(t *testing.T) {
			a.wantProblem(t, a.do(t, "POST", "/upload-tokens", tt.body), 400, tt.problem, tt.name)
		})
	}
	a.wantUnchanged(t, before)
}

func TestTokenList(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	// Tokens created a minute apart: A never expires, B lives 10 minutes,
	// C lives 30 s (and expires), D is deleted, E lives 2 hours, F never
	// expires.
	create := func(ttl int) string {
		tok := a.createToken(t, ttl)
		a.clock.Advance(time.Minute)
		return tok
	}
	tA, tB, tC, tD, tE, tF := create(0), create(600), create(30), create(0), create(7200), create(0)
	a.do(t, "DELETE", "/upload-tokens/"+tD, "")

	list := func(query string) ([]string, paginationJSON) {
		t.Helper()
		r := a.do(t, "GET", "/upload-tokens"+query, "")
		if r.Code != 200 {
			t.Fatalf("GET /upload-tokens%s: %d %s", query, r.Code, clip(r.Body))
		}
		if got, want := r.Header.Get("Content-Type"), "application/json"; got != want {
			t.Errorf("Content-Type=%q, want=%q", got, want)
		}
		var l struct {
			Data       []tokenJSON     `json:"data"`
			Pagination *paginationJSON `json:"pagination"`
		}
		r.decode(t, &l)
		if l.Data == nil || l.Pagination == nil || l.Pagination.Links == nil {
			t.Fatalf("list %s lacks data, pagination or links", r.Body)
		}
		var ids []string
		for _, tok := range l.Data {
			ids = append(ids, tok.Token)
		}
		return ids, *l.Pagination
	}
	names := map[string]string{tA: "A", tB: "B", tC: "C", tD: "D", tE: "E", tF: "F"}
	short := func(ids []string) string {
		var s []string
		for _, id := range ids {
			s = append(s, names[id])
		}
		return strings.Join(s, "")
	}

	tests := []struct {
		description string
		query       string
		want        string
	}{
		{"default: active only, oldest first", "", "ABEF"},
		{"createdAt ascending", "?sortBy=createdAt&sortOrder=asc", "ABEF"},
		{"createdAt descending", "?sortBy=createdAt&sortOrder=desc", "FEBA"},
		{"ttl: soonest expiry first, never-expiring last", "?sortBy=ttl", "BEAF"},
		{"ttl descending", "?sortBy=ttl&sortOrder=desc", "FAEB"},
		{"as the Node client asks", "?sortBy=createdAt&sortOrder=desc&currentPage=1&pageSize=100", "FEBA"},
		{"page 2 of 2", "?pageSize=3&currentPage=2", "F"},
		{"beyond the last page", "?pageSize=3&currentPage=5", ""},
	}
	for _, tt := range tests {
		t.Run(tt.description, func(t *testing.T) {
			ids, _ := list(tt.query)
			if got := short(ids); got != tt.want {
				t.Errorf("tokens=%q, want=%q", got, tt.want)
			}
		})
	}

	t.Run("pagination", func(t *testing.T) {
		_, p := list("?pageSize=1&currentPage=2")
		want := paginationJSON{CurrentPage: 2, CurrentPageItems: 1, PageSize: 1, PagesTotal: 4, ItemsTotal: 4, Links: []pageLinkJSON{
			{"self", "/upload-tokens?currentPage=2&pageSize=1"},
			{"first", "/upload-tokens?currentPage=1&pageSize=1"},
			{"previous", "/upload-tokens?currentPage=1&pageSize=1"},
			{"next", "/upload-tokens?currentPage=3&pageSize=1"},
			{"last", "/upload-tokens?currentPage=4&pageSize=1"},
		}}
		if got := fmt.Sprintf("%+v", p); got != fmt.Sprintf("%+v", want) {
			t.Errorf("pagination=%s\nwant=%s", got, fmt.Sprintf("%+v", want))
		}
		_, p = list("")
		want = paginationJSON{CurrentPage: 1, CurrentPageItems: 4, PageSize: 25, PagesTotal: 1, ItemsTotal: 4, Links: []pageLinkJSON{
			{"self", "/upload-tokens?currentPage=1&pageSize=25"},
			{"first", "/upload-tokens?currentPage=1&pageSize=25"},
			{"last", "/upload-tokens?currentPage=1&pageSize=25"},
		}}
		if got := fmt.Sprintf("%+v", p); got != fmt.Sprintf("%+v", want) {
			t.Errorf("pagination=%s\nwant=%s", got, fmt.Sprintf("%+v", want))
		}
		// Links keep the other query parameters.
		_, p = list("?sortBy=ttl&pageSize=2")
		if got, want := p.Links[0].URI, "/upload-tokens?currentPage=1&pageSize=2&sortBy=ttl"; got != want {
			t.Errorf("self=%q, want=%q", got, want)
		}
	})

	t.Run("a token drops out of the list when it expires", func(t *testing.T) {
		a.clock.Advance(10 * time.Minute) // B's ten minutes are over.
		ids, _ := list("")
		if got, want := short(ids), "AEF"; got != want {
			t.Errorf("tokens=%q, want=%q", got, want)
		}
	})
}

func TestTokenGetAndDelete(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	live := a.createToken(t, 3600)
	forever := a.createToken(t, 0)
	expiring := a.createToken(t, 60)
	deleted := a.createToken(t, 0)
	a.do(t, "DELETE", "/upload-tokens/"+deleted, "")
	a.clock.Advance(61 * time.Second)

	for _, tt := range []struct {
		description string
		token       string
		code        int
	}{
		{"live", live, 200},
		{"never expires", forever, 200},
		{"expired", expiring, 404},
		{"deleted", deleted, 404},
		{"unknown", "to0000000000000000000000", 404},
		{"malformed", "nope", 404},
	} {
		t.Run("GET "+tt.description, func(t *testing.T) {
			r := a.do(t, "GET", "/upload-tokens/"+tt.token, "")
			if tt.code == 404 {
				a.wantProblem(t, r, 404, "resource-not-found", "uploadToken")
				return
			}
			if r.Code != 200 || r.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("%d %q %s", r.Code, r.Header.Get("Content-Type"), clip(r.Body))
			}
			var tok tokenJSON
			r.decode(t, &tok)
			if tok.Token != tt.token {
				t.Errorf("token=%q, want=%q", tok.Token, tt.token)
			}
		})
	}

	t.Run("DELETE", func(t *testing.T) {
		httpTest{
			Method:    "DELETE",
			URL:       "/upload-tokens/" + live,
			ReqHeader: map[string]string{"Authorization": a.basic()},
			Code:      204,
			ResHeader: map[string]string{"Content-Type": ""},
			ResBody:   "",
		}.Run(t, a)
		a.wantProblem(t, a.do(t, "GET", "/upload-tokens/"+live, ""), 404, "resource-not-found", "uploadToken")
		// A second DELETE, and DELETEs of unknown tokens, find nothing.
		for _, tok := range []string{live, deleted, "to0000000000000000000000", "nope"} {
			a.wantProblem(t, a.do(t, "DELETE", "/upload-tokens/"+tok, ""), 404, "resource-not-found", "uploadToken")
		}
	})

	t.Run("DELETE of an expired token revokes it", func(t *testing.T) {
		a.wantProblem(t, a.do(t, "DELETE", "/upload-tokens/"+expiring, ""), 404, "resource-not-found", "uploadToken")
	})

	t.Run("a deleted token cannot upload", func(t *testing.T) {
		a.wantProblem(t, a.upload(t, upload{token: live, parts: []formPart{file("a.mp4", []byte("abc"))}}),
			401, "authentication-invalid-upload-token", "token")
	})
}

// TestListBadQuery: unknown sorts and out-of-range pages are refused on
// both lists, naming the parameter.
func TestListBadQuery(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	tests := []struct {
		description string
		query       string
		name        string
	}{
		{"unknown sortBy", "sortBy=size", "sortBy"},
		{"sortBy in the wrong case", "sortBy=CreatedAt", "sortBy"},
		{"unknown sortOrder", "sortOrder=up", "sortOrder"},
		{"pageSize 0", "pageSize=0", "pageSize"},
		{"pageSize 101", "pageSize=101", "pageSize"},
		{"pageSize not a number", "pageSize=ten", "pageSize"},
		{"pageSize negative", "pageSize=-5", "pageSize"},
		{"currentPage 0", "currentPage=0", "currentPage"},
		{"currentPage not a number", "currentPage=1.5", "currentPage"},
	}
	for _, path := range []string{"/upload-tokens", "/videos"} {
		for _, tt := range tests {
			t.Run(path+" "+tt.description, func(t *testing.T) {
				a.wantProblem(t, a.do(t, "GET", path+"?"+tt.query, ""), 400, "request-invalid-query-parameter", tt.name)
			})
		}
	}
	// A sort that only the other list has.
	a.wantProblem(t, a.do(t, "GET", "/upload-tokens?sortBy=title", ""), 400, "request-invalid-query-parameter", "sortBy")
	a.wantProblem(t, a.do(t, "GET", "/videos?sortBy=ttl", ""), 400, "request-invalid-query-parameter", "sortBy")
	// The bounds themselves are fine.
	for _, q := range []string{"pageSize=1", "pageSize=100", "currentPage=1"} {
		if r := a.do(t, "GET", "/upload-tokens?"+q, ""); r.Code != 200 {
			t.Errorf("/upload-tokens?%s: %d %s", q, r.Code, clip(r.Body))
		}
		if r := a.do(t, "GET", "/videos?"+q, ""); r.Code != 200 {
			t.Errorf("/videos?%s: %d %s", q, r.Code, clip(r.Body))
		}
	}
}

package api_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/uplink-video/uplink/web/api"
	"github.com/uplink-video/uplink/web/webtest"
)

// The OpenAPI document (openapi.json, embedded and served at
// /openapi.json) is written by hand. These tests keep it honest: its
// routes are exactly the route table's, its references resolve, and real
// responses fit the schemas it gives for them.
//
// Decisions the route comparison encodes:
//   - Echo serves HEAD only where a route says so (elsewhere HEAD is 405),
//     so HEAD is compared like any other method: the document lists it
//     exactly where Register does (GET and HEAD /videos/{videoId}/source).
//   - CORS preflights (OPTIONS) are answered by middleware and by Echo for
//     any path, not by routes; they are described in the text, not listed.
//   - RouteNotFound routes are fallbacks, not operations, and are ignored,
//     as are catch-all paths ending in "*", which OpenAPI cannot express.
//     A route registered with Any on a concrete path is not ignored: it
//     would need PROPFIND and others documented, so it fails the test, and
//     the API's routes name their methods instead.

// openAPIMethods are the operations a path item may have in OpenAPI 3.0.
var openAPIMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// loadOpenAPI reads and parses the document as the server embeds it.
func loadOpenAPI(t *testing.T) (raw []byte, doc map[string]any) {
	t.Helper()
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	return raw, doc
}

func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	_, doc := loadOpenAPI(t)
	if got, want := doc["openapi"], "3.0.3"; got != want {
		t.Errorf("openapi=%v, want=%v", got, want)
	}
	info, _ := doc["info"].(map[string]any)
	if got, want := info["title"], "uplink API"; got != want {
		t.Errorf("info.title=%v, want=%v", got, want)
	}
	if v, _ := info["version"].(string); v == "" {
		t.Errorf("info.version is empty")
	}
	schemes, _ := at(doc, "components", "securitySchemes").(map[string]any)
	for name, scheme := range map[string]string{"apiKey": "basic", "bearerAuth": "bearer"} {
		s, _ := schemes[name].(map[string]any)
		if s["type"] != "http" || s["scheme"] != scheme {
			t.Errorf("securitySchemes.%s=%v, want http %s", name, s, scheme)
		}
	}

	// Every operation has a unique operationId and at least one success
	// response, and every {parameter} of a path is declared as a path
	// parameter of the path item or of the operation.
	ids := map[string]string{}
	paramRe := regexp.MustCompile(`\{([^}]+)\}`)
	for path, item := range asMap(doc["paths"]) {
		item := asMap(item)
		for method, op := range operations(item) {
			where := strings.ToUpper(method) + " " + path
			id, _ := op["operationId"].(string)
			if id == "" {
				t.Errorf("%s has no operationId", where)
			} else if other, dup := ids[id]; dup {
				t.Errorf("%s and %s share operationId %q", where, other, id)
			}
			ids[id] = where
			ok := false
			for status := range asMap(op["responses"]) {
				ok = ok || strings.HasPrefix(status, "2")
			}
			if !ok {
				t.Errorf("%s documents no success response", where)
			}
			declared := map[string]bool{}
			for _, ps := range []any{item["parameters"], op["parameters"]} {
				for _, p := range asSlice(ps) {
					p := asMap(resolve(t, doc, p))
					if p["in"] == "path" {
						declared[p["name"].(string)] = true
						if p["required"] != true {
							t.Errorf("%s: path parameter %v is not required", where, p["name"])
						}
					}
				}
			}
			for _, m := range paramRe.FindAllStringSubmatch(path, -1) {
				if !declared[m[1]] {
					t.Errorf("%s: path parameter {%s} is not declared", where, m[1])
				}
			}
		}
	}
}

// TestOpenAPIRoutes checks that the document lists exactly the routes of
// the API's route table: a route added to Register without being
// documented fails, and so does a documented route that does not exist.
func TestOpenAPIRoutes(t *testing.T) {
	t.Parallel()
	_, doc := loadOpenAPI(t)
	table := apiRoutes(t)
	documented := documentedRoutes(doc)
	if len(table) < 10 {
		t.Fatalf("the route table has only %d routes: %v; it was not read", len(table), table)
	}
	undocumented, missing := diffRoutes(table, documented)
	for _, r := range undocumented {
		t.Errorf("route %s is in the route table (Register) but not in openapi.json", r)
	}
	for _, r := range missing {
		t.Errorf("route %s is in openapi.json but not in the route table (Register)", r)
	}
	if !slices.Contains(table, "GET /openapi.json") {
		t.Errorf("the route table does not serve the document itself: %v", table)
	}

	// The comparison itself catches both kinds of drift.
	t.Run("detects drift", func(t *testing.T) {
		extra := append(slices.Clone(table), "POST /videos/{videoId}/captions/{language}")
		if u, _ := diffRoutes(extra, table); !slices.Equal(u, []string{"POST /videos/{videoId}/captions/{language}"}) {
			t.Errorf("an undocumented route gave undocumented=%v", u)
		}
		if _, m := diffRoutes(table[1:], table); !slices.Equal(m, table[:1]) {
			t.Errorf("a documented route missing from the table gave missing=%v, want %v", m, table[:1])
		}
	})
}

// apiRoutes returns the routes the API registers on a fresh Echo instance,
// as sorted "METHOD /path/{param}" strings.
func apiRoutes(t *testing.T) []string {
	t.Helper()
	w := webtest.Start(t)
	e := echo.New()
	api.New(api.Deps{Store: w.Store, Ingest: w.Ingest}).Register(e)

	paramRe := regexp.MustCompile(`:([^/]+)`)
	seen := map[string]bool{}
	var out []string
	for _, r := range e.Routes() {
		if r.Method == echo.RouteNotFound || strings.HasSuffix(r.Path, "*") {
			continue
		}
		k := r.Method + " " + paramRe.ReplaceAllString(r.Path, "{$1}")
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// documentedRoutes returns the document's operations as sorted
// "METHOD /path" strings.
func documentedRoutes(doc map[string]any) []string {
	var out []string
	for path, item := range asMap(doc["paths"]) {
		for method := range operations(asMap(item)) {
			out = append(out, strings.ToUpper(method)+" "+path)
		}
	}
	slices.Sort(out)
	return out
}

// diffRoutes returns the routes of the table that are not documented, and
// the documented ones that are not in the table.
func diffRoutes(table, documented []string) (undocumented, missing []string) {
	for _, r := range table {
		if !slices.Contains(documented, r) {
			undocumented = append(undocumented, r)
		}
	}
	for _, r := range documented {
		if !slices.Contains(table, r) {
			missing = append(missing, r)
		}
	}
	return undocumented, missing
}

// TestOpenAPIRefs checks that every $ref points at something in the
// document, and that every component is used.
func TestOpenAPIRefs(t *testing.T) {
	t.Parallel()
	_, doc := loadOpenAPI(t)
	used := map[string]bool{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if _, err := pointer(doc, ref); err != nil {
					t.Errorf("%s: $ref %q: %v", path, ref, err)
				}
				used[ref] = true
			}
			for k, x := range v {
				walk(path+"/"+k, x)
			}
		case []any:
			for i, x := range v {
				walk(fmt.Sprintf("%s/%d", path, i), x)
			}
		}
	}
	walk("#", doc)
	if len(used) < 20 {
		t.Fatalf("only %d distinct $refs found; the walk is broken", len(used))
	}
	for kind, comps := range asMap(doc["components"]) {
		if kind == "securitySchemes" {
			continue // Used by name in security requirements.
		}
		for name := range asMap(comps) {
			if ref := "#/components/" + kind + "/" + name; !used[ref] {
				t.Errorf("%s is never used", ref)
			}
		}
	}
}

// TestOpenAPIServed checks GET /openapi.json on the running app.
func TestOpenAPIServed(t *testing.T) {
	t.Parallel()
	raw, _ := loadOpenAPI(t)
	a := newApp(t)
	r := httpTest{
		Method: "GET",
		URL:    "/openapi.json",
		Code:   200,
		ResHeader: map[string]string{
			"Content-Type":                "application/json",
			"Access-Control-Allow-Origin": "*",
			"Cache-Control":               "public, max-age=3600",
		},
	}.Run(t, a)
	if string(r.Body) != string(raw) {
		t.Errorf("GET /openapi.json served %d bytes that differ from openapi.json (%d bytes)", len(r.Body), len(raw))
	}
	etag := r.Header.Get("ETag")
	if etag == "" {
		t.Fatalf("no ETag")
	}
	httpTest{
		Method:    "GET",
		URL:       "/openapi.json",
		ReqHeader: map[string]string{"If-None-Match": etag},
		Code:      304,
	}.Run(t, a)
}

// TestOpenAPIResponses checks real responses of the running app against
// the schemas the document gives for them: every key is a documented
// property, every required property is there, and values have the
// documented types.
func TestOpenAPIResponses(t *testing.T) {
	t.Parallel()
	_, doc := loadOpenAPI(t)
	a := newApp(t)
	check := func(r *response, method, path string) {
		t.Helper()
		a.checkResponse(t, doc, r, method, path)
	}

	check(a.do(t, "POST", "/upload-tokens", `{"ttl":3600}`), "post", "/upload-tokens")
	check(a.do(t, "POST", "/upload-tokens", ``), "post", "/upload-tokens")
	token := a.createToken(t, 0)
	check(a.do(t, "GET", "/upload-tokens/"+token, ""), "get", "/upload-tokens/{uploadToken}")
	check(a.do(t, "GET", "/upload-tokens?pageSize=1&currentPage=2", ""), "get", "/upload-tokens")

	// An upload in two parts: the first answer is an intermediate piece,
	// the second the complete video.
	data := randomData(1, partSize+1000)
	first := a.upload(t, upload{token: token, contentRange: "part 1/*", parts: []formPart{file("clip.mp4", data[:partSize])}})
	check(first, "post", "/upload")
	var v struct {
		VideoID string `json:"videoId"`
	}
	first.decode(t, &v)
	check(a.do(t, "GET", "/videos/"+v.VideoID+"/status", ""), "get", "/videos/{videoId}/status")
	last := a.upload(t, upload{token: token, contentRange: "part 2/2", parts: []formPart{file("clip.mp4", data[partSize:]), field("videoId", v.VideoID)}})
	check(last, "post", "/upload")
	check(a.do(t, "GET", "/videos/"+v.VideoID+"/status", ""), "get", "/videos/{videoId}/status")
	check(a.do(t, "PATCH", "/videos/"+v.VideoID, `{"language":"en","playerId":"pl45KFKdlddgk654dspkze","tags":["a"],"metadata":[{"key":"k","value":"v"}]}`), "patch", "/videos/{videoId}")

	created := a.do(t, "POST", "/videos", `{"title":"empty"}`)
	check(created, "post", "/videos")
	var empty struct {
		VideoID string `json:"videoId"`
	}
	created.decode(t, &empty)
	check(a.do(t, "GET", "/videos/"+empty.VideoID+"/status", ""), "get", "/videos/{videoId}/status")
	check(a.do(t, "GET", "/videos?pageSize=1&sortBy=title&tags[]=a&metadata[k]=v", ""), "get", "/videos")

	auth := httpTest{Method: "POST", URL: "/auth/api-key", ReqBody: fmt.Sprintf(`{"apiKey":%q}`, a.key)}.Run(t, a)
	check(auth, "post", "/auth/api-key")
	var pair struct {
		RefreshToken string `json:"refresh_token"`
	}
	auth.decode(t, &pair)
	check(httpTest{Method: "POST", URL: "/auth/refresh", ReqBody: fmt.Sprintf(`{"refreshToken":%q}`, pair.RefreshToken)}.Run(t, a), "post", "/auth/refresh")

	// Problems, with and without name and detail.
	check(a.do(t, "GET", "/videos/vi0000000000000000000000", ""), "get", "/videos/{videoId}")
	check(a.do(t, "GET", "/upload-tokens?pageSize=0", ""), "get", "/upload-tokens")
	check(httpTest{Method: "GET", URL: "/videos"}.Run(t, a), "get", "/videos")
	check(a.upload(t, upload{token: "to0000000000000000000000", parts: []formPart{file("x.mp4", data[:10])}}), "post", "/upload")
	check(a.upload(t, upload{token: token, contentRange: "part 0/2", parts: []formPart{file("x.mp4", data[:10])}}), "post", "/upload")
	check(httpTest{Method: "POST", URL: "/auth/api-key", ReqBody: `{"apiKey":"nope"}`}.Run(t, a), "post", "/auth/api-key")
}

// checkResponse finds the document's schema for a response (by operation,
// status and Content-Type, falling back on "default") and checks the body
// against it.
func (a *app) checkResponse(t *testing.T, doc map[string]any, r *response, method, path string) {
	t.Helper()
	where := fmt.Sprintf("%s %s %d", strings.ToUpper(method), path, r.Code)
	responses := asMap(at(doc, "paths", path, method, "responses"))
	if responses == nil {
		t.Fatalf("%s: the document has no such operation", where)
	}
	res, ok := responses[fmt.Sprint(r.Code)]
	if !ok {
		if res, ok = responses["default"]; !ok || r.Code < 400 {
			t.Fatalf("%s: status not documented; body: %s", where, clip(r.Body))
		}
	}
	ctype := r.Header.Get("Content-Type")
	media := asMap(asMap(resolve(t, doc, res))["content"])[ctype]
	if media == nil {
		t.Fatalf("%s: Content-Type %q not documented for this status", where, ctype)
	}
	var body any
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("%s: body is not JSON: %v", where, err)
	}
	for _, err := range validate(t, doc, asMap(media)["schema"], body, "body") {
		t.Errorf("%s: %s; body: %s", where, err, clip(r.Body))
	}
}

// validate checks v against an OpenAPI schema, for the keywords the
// document uses: $ref, type, nullable, enum, required, properties,
// additionalProperties and items. An object's keys must all be declared
// unless additionalProperties allows others.
func validate(t *testing.T, doc map[string]any, schema, v any, path string) []string {
	t.Helper()
	s := asMap(resolve(t, doc, schema))
	if v == nil {
		if s["nullable"] == true {
			return nil
		}
		return []string{path + " is null, which the schema does not allow"}
	}
	var errs []string
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, v) {
		errs = append(errs, fmt.Sprintf("%s=%v is not one of %v", path, v, enum))
	}
	switch typ := s["type"]; typ {
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			return append(errs, fmt.Sprintf("%s is %T, want an object", path, v))
		}
		props := asMap(s["properties"])
		for _, req := range asSlice(s["required"]) {
			if _, ok := obj[req.(string)]; !ok {
				errs = append(errs, fmt.Sprintf("%s lacks the required %q", path, req))
			}
		}
		for k, x := range obj {
			switch p, ok := props[k]; {
			case ok:
				errs = append(errs, validate(t, doc, p, x, path+"."+k)...)
			case s["additionalProperties"] != nil && s["additionalProperties"] != false:
				if extra, ok := s["additionalProperties"].(map[string]any); ok {
					errs = append(errs, validate(t, doc, extra, x, path+"."+k)...)
				}
			default:
				errs = append(errs, fmt.Sprintf("%s has %q, which the schema does not declare", path, k))
			}
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			return append(errs, fmt.Sprintf("%s is %T, want an array", path, v))
		}
		for i, x := range arr {
			errs = append(errs, validate(t, doc, s["items"], x, fmt.Sprintf("%s[%d]", path, i))...)
		}
	case "string":
		if _, ok := v.(string); !ok {
			errs = append(errs, fmt.Sprintf("%s is %T, want a string", path, v))
		}
	case "integer":
		if f, ok := v.(float64); !ok || f != float64(int64(f)) {
			errs = append(errs, fmt.Sprintf("%s=%v, want an integer", path, v))
		}
	case "number":
		if _, ok := v.(float64); !ok {
			errs = append(errs, fmt.Sprintf("%s is %T, want a number", path, v))
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			errs = append(errs, fmt.Sprintf("%s is %T, want a boolean", path, v))
		}
	default:
		t.Fatalf("%s: schema with type %v: the checker does not know it", path, typ)
	}
	return errs
}

// resolve follows $refs until it reaches a value that is not one.
func resolve(t *testing.T, doc map[string]any, v any) any {
	t.Helper()
	for range 10 {
		ref, ok := asMap(v)["$ref"].(string)
		if !ok {
			return v
		}
		var err error
		if v, err = pointer(doc, ref); err != nil {
			t.Fatalf("$ref %q: %v", ref, err)
		}
	}
	t.Fatalf("$ref chain too long at %v", v)
	return nil
}

// pointer resolves a local reference ("#/a/b~1c") in doc (RFC 6901).
func pointer(doc map[string]any, ref string) (any, error) {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("not a local reference")
	}
	var v any = doc
	for _, tok := range strings.Split(rest, "/") {
		tok, err := url.PathUnescape(tok)
		if err != nil {
			return nil, err
		}
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%q: not an object", tok)
		}
		if v, ok = m[tok]; !ok {
			return nil, fmt.Errorf("%q: no such key", tok)
		}
	}
	return v, nil
}

// operations returns the operations of a path item by lower-case method.
func operations(item map[string]any) map[string]map[string]any {
	ops := map[string]map[string]any{}
	for _, m := range openAPIMethods {
		if op, ok := item[m].(map[string]any); ok {
			ops[m] = op
		}
	}
	return ops
}

// at walks nested objects by key; it returns nil where a key is missing.
func at(v any, keys ...string) any {
	for _, k := range keys {
		v = asMap(v)[k]
	}
	return v
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

func asSlice(v any) []any { s, _ := v.([]any); return s }

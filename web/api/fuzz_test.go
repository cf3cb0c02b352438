package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/store/ingest"
	"github.com/uplink-video/uplink/store/storetest"
	"github.com/uplink-video/uplink/web/webtest"
)

// fuzzApp is the real application for fuzzing, started with
// webtest.Start (its clock at t0) but called in-process through its
// handler (no network), so that each input costs little. One is built per
// fuzzing process and shared by its inputs, which run one at a time.
type fuzzApp struct {
	handler http.Handler
	store   *store.Store
	ingest  *ingest.Service
	dir     *blob.Dir
	clock   *storetest.Clock
	auth    string // The Authorization header of an API key.
	token   string // A live upload token.
	mu      sync.Mutex
}

func newFuzzApp(tb testing.TB) *fuzzApp {
	tb.Helper()
	ctx := context.Background()
	w := webtest.Start(tb, webtest.WithClockAt(t0))
	_, key, err := w.Store.CreateAPIKey(ctx, "fuzz")
	if err != nil {
		tb.Fatal(err)
	}
	tok, err := w.Store.CreateUploadToken(ctx, 0)
	if err != nil {
		tb.Fatal(err)
	}
	return &fuzzApp{handler: w.Echo, store: w.Store, ingest: w.Ingest, dir: w.Blobs, clock: w.Clock, auth: basicAuth(key), token: tok.ID}
}

// serve runs one request through the handler.
func (a *fuzzApp) serve(req *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	a.handler.ServeHTTP(w, req)
	return w
}

// fuzzBoundary is the boundary of the seeds' multipart bodies.
const fuzzBoundary = "XyZ"

// fuzzBody builds a multipart body with the seeds' boundary from
// alternating part headers and contents.
func fuzzBody(parts ...string) []byte {
	var b bytes.Buffer
	for i := 0; i+1 < len(parts); i += 2 {
		fmt.Fprintf(&b, "--%s\r\n%s\r\n\r\n%s\r\n", fuzzBoundary, parts[i], parts[i+1])
	}
	fmt.Fprintf(&b, "--%s--\r\n", fuzzBoundary)
	return b.Bytes()
}

// fuzzVideoID stands, in a fuzzed body, for the ID of an empty video that
// exists when the request is sent.
const fuzzVideoID = "{vid}"

// FuzzUpload sends whole POST /upload requests built from the fuzzer's
// bytes (the Content-Range and Content-Type headers and the body, with a
// live token) through the real handler on a real store, and checks that
// the server never fails: every answer is a valid JSON document with an
// expected status, and afterwards the store holds together. Every
// upload's pieces are well-ordered and its source is exactly its appended
// pieces; the blob directory holds exactly the recorded blobs at their
// recorded lengths (a refused piece leaves no byte); and a recovery pass
// finds nothing to repair. Each input starts from the same state: the
// videos an input made are deleted after it. Its seeds are in
// testdata/fuzz/FuzzUpload.
//
// Run it with: go test -run='^$' -fuzz='^FuzzUpload$' ./web/api
func FuzzUpload(f *testing.F) {
	ctype := "multipart/form-data; boundary=" + fuzzBoundary
	file := func(name string) string {
		return `Content-Disposition: form-data; name="file"; filename="` + name + `"` + "\r\nContent-Type: video/mp4"
	}
	vid := `Content-Disposition: form-data; name="videoId"`
	for _, s := range []struct {
		cr, ct string
		body   []byte
	}{
		{"", ctype, fuzzBody(file("a.mp4"), "0123456789")},
		{"part 1/1", ctype, fuzzBody(file("a.mp4"), "0123456789")},
		{"part 1/*", ctype, fuzzBody(file("a.mp4"), "too small for a first part")},
		{"bytes 0-9/10", ctype, fuzzBody(file("a.mp4"), "0123456789")},
		{"bytes 0-9/11", ctype, fuzzBody(file("a.mp4"), "0123456789")},
		{"", ctype, fuzzBody(vid, fuzzVideoID, file("into.mp4"), "bytes of a container")},
		{"part 1/1", ctype, fuzzBody(file("after.mp4"), "bytes", vid, fuzzVideoID)},
		{"", ctype, fuzzBody(vid, "vi0000000000000000000000", file("x.mp4"), "x")},
		{"", ctype, fuzzBody(file("a.mp4"), "1", file("b.mp4"), "2")},
		{"", ctype, fuzzBody(`Content-Disposition: form-data; name="title"`, "no file")},
		{"", ctype, fuzzBody(`Content-Disposition: form-data; name="file"; filename*=UTF-8''..%2F..%2Fa%0D%0A.mp4`, "x")},
		{"", ctype, append([]byte("preamble\r\n"), fuzzBody(file("p.mp4"), "x")...)},
		{"", ctype, []byte("--" + fuzzBoundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cut.mp4\"\r\n\r\ncut short")},
		{"part 2/2", ctype, fuzzBody(file("a.mp4"), "later part, no video")},
		{"", "application/json", []byte(`{"file":"x"}`)},
		{"", "multipart/form-data", fuzzBody(file("a.mp4"), "x")},
	} {
		f.Add(s.cr, s.ct, s.body)
	}
	// The clock stays at t0.
	a := newFuzzApp(f)
	allowed := []int{201, 400, 401, 404, 409, 413}
	f.Fuzz(func(t *testing.T, contentRange, contentType string, body []byte) {
		a.mu.Lock()
		defer a.mu.Unlock()
		ctx := context.Background()
		container, err := a.store.CreateVideo(ctx, store.VideoCreate{Title: "container"})
		if err != nil {
			t.Fatal(err)
		}
		defer a.reset(t)
		body = bytes.ReplaceAll(body, []byte(fuzzVideoID), []byte(container.ID))
		req := httptest.NewRequest(http.MethodPost, "/upload", bytes.NewReader(body))
		req.URL.RawQuery = "token=" + a.token
		req.Header = http.Header{}
		if contentRange != "" {
			req.Header["Content-Range"] = []string{contentRange}
		}
		req.Header["Content-Type"] = []string{contentType}
		w := a.serve(req)

		if !slices.Contains(allowed, w.Code) {
			t.Fatalf("status %d, want one of %v; body: %.500s", w.Code, allowed, w.Body)
		}
		var doc map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
			t.Fatalf("status %d with a body that is not JSON: %v: %.500s", w.Code, err, w.Body)
		}
		if w.Code == 201 {
			if got := w.Header().Get("Content-Type"); got != "application/json" {
				t.Fatalf("Content-Type=%q, want application/json", got)
			}
			id, _ := doc["videoId"].(string)
			if _, err := a.store.FindUpload(ctx, id); err != nil {
				t.Fatalf("answered video %q, which has no upload: %v", id, err)
			}
		} else {
			if got := w.Header().Get("Content-Type"); got != "application/problem+json" {
				t.Fatalf("Content-Type=%q, want application/problem+json", got)
			}
			if doc["status"] != float64(w.Code) || doc["type"] == "" || doc["title"] == "" {
				t.Fatalf("problem %.500s does not match status %d", w.Body, w.Code)
			}
		}
		a.checkStore(t)
	})
}

// checkStore checks the invariants of every upload and of the blobs.
func (a *fuzzApp) checkStore(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	videos, _, err := a.store.ListVideos(ctx, store.VideoFilter{Sort: store.VideoSortCreatedAt, Page: store.Page{Number: 1, Size: 100}})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range videos {
		u, err := a.store.FindUpload(ctx, v.ID)
		if err != nil {
			continue // A video without an upload.
		}
		var total int64
		numbers := map[int]bool{}
		for i, p := range u.Parts {
			if i > 0 && p.Seq <= u.Parts[i-1].Seq {
				t.Fatalf("upload %s: pieces out of order: %+v", v.ID, u.Parts)
			}
			if p.Size < 0 || p.Size == 0 && p.Seq == 1 || numbers[p.Number] {
				t.Fatalf("upload %s: piece %+v is empty or shares its number", v.ID, p)
			}
			numbers[p.Number] = true
			total += p.Size
		}
		if total != u.SourceSize || len(u.Parts) != u.ReceivedParts {
			t.Fatalf("upload %s: recorded %d bytes in %d parts, but its pieces hold %d in %d", v.ID, u.SourceSize, u.ReceivedParts, total, len(u.Parts))
		}
		if u.Status == store.UploadUploaded && (u.TotalBytes != u.SourceSize || u.MultipartID != "") {
			t.Fatalf("upload %s: complete, yet %+v", v.ID, u)
		}
		if u.Status == store.UploadCompleting {
			t.Fatalf("upload %s: left completing", v.ID)
		}
	}
	refs, err := a.store.BlobRefs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	err = a.dir.List(ctx, func(i blob.Info) error { got[i.Key] = true; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, refs) {
		t.Fatalf("blobs on disk %v, want exactly the recorded ones %v", got, refs)
	}
	rep, err := a.ingest.Recover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Orphans != 0 || rep.Missing != 0 || rep.Finished != 0 || rep.Abandoned != 0 {
		t.Fatalf("recovery found something to repair: %+v", rep)
	}
}

// reset deletes every video, with its upload and bytes, so that the next
// input starts from the same state.
func (a *fuzzApp) reset(t *testing.T) {
	ctx := context.Background()
	videos, _, err := a.store.ListVideos(ctx, store.VideoFilter{Sort: store.VideoSortCreatedAt, Page: store.Page{Number: 1, Size: 100}})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range videos {
		if err := a.ingest.DeleteVideo(ctx, v.ID); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzListParams sends GET /videos and GET /upload-tokens with any query
// string through the real handler, over a fixed set of 7 videos and 5
// tokens, and checks the answer against a model of the paging and sorting
// parameters: a bad currentPage, pageSize, sortBy or sortOrder is a 400
// naming the first bad one (in that order); otherwise the page holds the
// right items in the right order, and the pagination object and its links
// add up. Its seeds are in testdata/fuzz/FuzzListParams.
//
// Run it with: go test -run='^$' -fuzz='^FuzzListParams$' ./web/api
func FuzzListParams(f *testing.F) {
	for _, s := range []struct {
		tokens bool
		query  string
	}{
		{false, ""},
		{false, "currentPage=2&pageSize=3"},
		{false, "pageSize=100&sortBy=title&sortOrder=desc"},
		{false, "currentPage=0"},
		{false, "pageSize=-1"},
		{false, "pageSize=99999999999999999999"},
		{false, "currentPage=2147483647&pageSize=100"},
		{false, "currentPage=+2&pageSize=007"},
		{false, "sortBy=title%3B%20DROP%20TABLE%20videos"},
		{false, "sortOrder=DESC"},
		{false, "pageSize=2&pageSize=abc"},
		{false, "title=%25&sortBy=title"},
		{false, "%zz=1&pageSize=2"},
		{true, "sortBy=ttl&sortOrder=asc&pageSize=2"},
		{true, "sortBy=title"},
	} {
		f.Add(s.tokens, s.query)
	}
	a := newFuzzApp(f)
	ctx := context.Background()
	// Titles sort differently from their creation order.
	titles := []string{"golf", "alpha", "echo", "charlie", "foxtrot", "bravo", "delta"}
	for _, title := range titles {
		a.clock.Advance(time.Minute)
		if _, err := a.store.CreateVideo(ctx, store.VideoCreate{Title: title}); err != nil {
			f.Fatal(err)
		}
	}
	ttls := []int{3000, 1000, 5000, 2000}
	for _, ttl := range ttls {
		a.clock.Advance(time.Minute)
		if _, err := a.store.CreateUploadToken(ctx, ttl); err != nil {
			f.Fatal(err)
		}
	}
	number := regexp.MustCompile(`^[+-]?[0-9]+$`)
	f.Fuzz(func(t *testing.T, tokens bool, rawQuery string) {
		path, total, sorts := "/videos", len(titles), []string{"title", "createdAt", "publishedAt", "updatedAt"}
		if tokens {
			// The token made with the app, and ttls.
			path, total, sorts = "/upload-tokens", len(ttls)+1, []string{"createdAt", "ttl"}
		}
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.URL.RawQuery = rawQuery
		req.Header.Set("Authorization", a.auth)
		w := a.serve(req)

		// The model: the first value of each parameter, as Go reads
		// the query.
		q, _ := url.ParseQuery(rawQuery)
		param := func(name string) (string, bool) {
			vs, ok := q[name]
			if !ok || len(vs) == 0 {
				return "", false
			}
			return vs[0], true
		}
		intParam := func(name string, def, lo, hi int64) (int64, bool) {
			v, ok := param(name)
			if !ok {
				return def, true
			}
			if !number.MatchString(v) {
				return 0, false
			}
			n, _ := new(big.Int).SetString(strings.TrimPrefix(v, "+"), 10)
			if n.Cmp(big.NewInt(lo)) < 0 || n.Cmp(big.NewInt(hi)) > 0 {
				return 0, false
			}
			return n.Int64(), true
		}
		var bad string
		page, ok := intParam("currentPage", 1, 1, math.MaxInt32)
		if !ok {
			bad = "currentPage"
		}
		size, ok := intParam("pageSize", 25, 1, 100)
		if !ok && bad == "" {
			bad = "pageSize"
		}
		sortBy, hasSort := param("sortBy")
		if hasSort && !slices.Contains(sorts, sortBy) && bad == "" {
			bad = "sortBy"
		}
		order, hasOrder := param("sortOrder")
		if hasOrder && order != "asc" && order != "desc" && bad == "" {
			bad = "sortOrder"
		}

		if bad != "" {
			var p problem
			if w.Code != 400 || json.Unmarshal(w.Body.Bytes(), &p) != nil || p.Name != bad || !strings.HasSuffix(p.Type, "request-invalid-query-parameter") {
				t.Fatalf("GET %s?%s: %d %.300s, want 400 naming %s", path, rawQuery, w.Code, w.Body, bad)
			}
			return
		}
		if w.Code != 200 {
			t.Fatalf("GET %s?%s: %d %.300s, want 200", path, rawQuery, w.Code, w.Body)
		}
		var l struct {
			Data []struct {
				Title     string  `json:"title"`
				TTL       int     `json:"ttl"`
				ExpiresAt *string `json:"expiresAt"`
			} `json:"data"`
			Pagination struct {
				CurrentPage, CurrentPageItems, PageSize, PagesTotal, ItemsTotal int
				Links                                                           []struct{ Rel, URI string }
			} `json:"pagination"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &l); err != nil {
			t.Fatalf("GET %s?%s: %v: %.300s", path, rawQuery, err, w.Body)
		}
		pg := l.Pagination
		filtered := !tokens && slices.ContainsFunc(slices.Collect(maps.Keys(q)), func(k string) bool {
			return k == "title" || k == "description" || k == "tags" || k == "tags[]" || k == "liveStreamId" || strings.HasPrefix(k, "metadata[")
		})
		if !filtered && pg.ItemsTotal != total {
			t.Fatalf("GET %s?%s: itemsTotal=%d, want=%d", path, rawQuery, pg.ItemsTotal, total)
		}
		wantItems := max(0, min(size, int64(pg.ItemsTotal)-(page-1)*size))
		if pg.CurrentPage != int(page) || pg.PageSize != int(size) || pg.CurrentPageItems != len(l.Data) || int64(len(l.Data)) != wantItems ||
			pg.PagesTotal != (pg.ItemsTotal+int(size)-1)/int(size) {
			t.Fatalf("GET %s?%s: pagination %+v with %d items, want page %d of size %d with %d items", path, rawQuery, pg, len(l.Data), page, size, wantItems)
		}
		for _, link := range pg.Links {
			u, err := url.Parse(link.URI)
			if err != nil || u.Path != path || link.Rel == "" {
				t.Fatalf("GET %s?%s: link %+v", path, rawQuery, link)
			}
			lq := u.Query()
			if lq.Get("pageSize") != fmt.Sprint(size) || lq.Get("currentPage") == "" {
				t.Fatalf("GET %s?%s: link %+v does not keep the page size", path, rawQuery, link)
			}
		}
		// The order, where the fixture makes it unambiguous.
		desc := order == "desc"
		var got []string
		for _, d := range l.Data {
			got = append(got, fmt.Sprint(d.Title, d.TTL))
		}
		var key func(i int) string
		switch {
		case !tokens && sortBy == "title":
			key = func(i int) string { return l.Data[i].Title }
		case tokens && sortBy == "ttl":
			// By how much longer each token stays active; a token that
			// never expires (no expiresAt) stays longest.
			key = func(i int) string {
				if e := l.Data[i].ExpiresAt; e != nil {
					return *e
				}
				return "~"
			}
		}
		for i := 1; key != nil && i < len(l.Data); i++ {
			if a, b := key(i-1), key(i); desc && a < b || !desc && a > b {
				t.Fatalf("GET %s?%s: items %v are not in order", path, rawQuery, got)
			}
		}
	})
}

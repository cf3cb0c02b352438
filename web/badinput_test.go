package web_test

// Bad input to the upload links' endpoints (the proxy the uploader script
// calls) and to the dashboard's forms and lists (issue 5, "Bad input").
// Each row sends one request to the real application and checks its
// status, its error body, and that nothing stored changed: videos, upload
// tokens, links, uploads through links, API keys, and the blob files on
// disk. Refusals through a link are recorded on the link's timeline by
// design, so the timeline is not part of the snapshot.
//
// POST /upload has its own table (web/api/badinput_test.go), the rest of
// the API another (web/api/badinput_more_test.go); headers over the
// server's limit are refused by the real binary (cmd/uplink).

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/PuerkitoBio/goquery"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/web/links"
)

// badFixture is what the bad requests are sent against.
type badFixture struct {
	limited store.Link       // Takes video files of up to 64 MiB.
	open    store.Link       // Takes any file, of any size.
	upload  store.LinkUpload // Started through open: a 6 MiB file in 2 parts, none sent.
	video   string           // A video made through the API, for the edit form.
	keyID   string           // An API key's ID.
}

// newBadFixture starts the application, signs in, and sets up a fixture.
func newBadFixture(t *testing.T) (*adminApp, badFixture) {
	t.Helper()
	a := newAdminApp(t)
	ctx := context.Background()
	var f badFixture
	var err error
	if f.limited, err = a.Links.Create(ctx, links.Spec{Label: "limited", MaxSize: 64 << 20}); err != nil {
		t.Fatal(err)
	}
	if f.open, err = a.Links.Create(ctx, links.Spec{Label: "open", Types: []string{"any"}}); err != nil {
		t.Fatal(err)
	}
	if f.upload, _, err = a.Links.Start(ctx, f.open.ID, links.StartRequest{Filename: "fixture.mp4", Size: 6 << 20, LastModified: 1}); err != nil {
		t.Fatal(err)
	}
	v, err := a.Store.CreateVideo(ctx, store.VideoCreate{Title: "fixture video"})
	if err != nil {
		t.Fatal(err)
	}
	f.video = v.ID
	k, _, err := a.Store.CreateAPIKey(ctx, "fixture key")
	if err != nil {
		t.Fatal(err)
	}
	f.keyID = k.ID
	return a, f
}

// badRequest is one request of the table.
type badRequest struct {
	method, path string
	header       map[string]string
	body         string
	// form, when set, is posted as application/x-www-form-urlencoded
	// with the session's CSRF token added.
	form url.Values
	// chunked hides the body's length, so that it is sent without a
	// Content-Length.
	chunked bool
}

// badUploader is a request as the upload page's script sends it: from the
// page's own origin.
func badUploader(method, path, body string) badRequest {
	return badRequest{method: method, path: path, body: body, header: map[string]string{"Content-Type": "application/json"}}
}

// badStartJSON is a start request's body with the given members replacing
// those of a valid one.
func badStartJSON(members string) string {
	return `{"filename":"a.mp4","size":1000,"lastModified":1` + members + `}`
}

// badMint is a mint form with the given fields replacing those of a valid one.
func badMint(kv ...string) badRequest {
	f := mintForm()
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return badRequest{method: http.MethodPost, path: "/admin/links", form: f}
}

// badManyFields is an url-encoded form of n tiny fields after the given ones.
func badManyFields(n int, first url.Values) string {
	var b strings.Builder
	b.WriteString(first.Encode())
	for i := range n {
		fmt.Fprintf(&b, "&f%d=x", i)
	}
	return b.String()
}

// badManyParts is a multipart/form-data body of n tiny fields after the given
// ones, and its Content-Type.
func badManyParts(n int, first url.Values) (string, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, k := range slices.Sorted(maps.Keys(first)) {
		mw.WriteField(k, first.Get(k))
	}
	for i := range n {
		mw.WriteField("f"+strconv.Itoa(i), "x")
	}
	mw.Close()
	return b.String(), mw.FormDataContentType()
}

// badCase is one row: a request, and the refusal it must get.
type badCase struct {
	description string
	req         func(a *adminApp, f badFixture) badRequest
	status      int
	// code is the "code" of the uploader's problem document, for the
	// upload link endpoints; "" for pages.
	code string
	// text must appear in the page or the problem's detail.
	text string
}

func TestBadInputProxyAndDashboard(t *testing.T) {
	t.Parallel()
	const partsPath = "/u/%s/uploads/%s/parts/%s"
	part := func(n string) func(a *adminApp, f badFixture) badRequest {
		return func(a *adminApp, f badFixture) badRequest {
			return badUploader(http.MethodPut, fmt.Sprintf(partsPath, f.open.ID, f.upload.VideoID, n), "x")
		}
	}
	start := func(body string) func(a *adminApp, f badFixture) badRequest {
		return func(a *adminApp, f badFixture) badRequest {
			return badUploader(http.MethodPost, "/u/"+f.open.ID+"/uploads", body)
		}
	}
	tests := []badCase{
		// Starting an upload through a link (POST /u/:id/uploads).
		{"start: JSON with wrong types", start(`{"filename":5,"size":"big","lastModified":1}`), 400, links.CodeInvalid, "JSON"},
		{"start: JSON with trailing garbage", start(badStartJSON(``) + `{"filename":"b.mp4"}`), 400, links.CodeInvalid, "JSON"},
		{"start: JSON with trailing text", start(badStartJSON(``) + ` xyz`), 400, links.CodeInvalid, "JSON"},
		{"start: empty body", start(``), 400, links.CodeInvalid, "JSON"},
		{"start: not JSON (a form)", func(a *adminApp, f badFixture) badRequest {
			r := badUploader(http.MethodPost, "/u/"+f.open.ID+"/uploads", "filename=a.mp4&size=1000")
			r.header["Content-Type"] = "application/x-www-form-urlencoded"
			return r
		}, 400, links.CodeInvalid, "JSON"},
		{"start: body over 64 KiB", start(badStartJSON(`,"title":"` + strings.Repeat("t", 70<<10) + `"`)), 400, links.CodeInvalid, "JSON"},
		{"start: negative size", start(`{"filename":"a.mp4","size":-1,"lastModified":1}`), 400, links.CodeInvalid, "size"},
		{"start: size overflowing int64", start(`{"filename":"a.mp4","size":9223372036854775808,"lastModified":1}`), 400, links.CodeInvalid, "JSON"},
		{"start: size of the largest int64", start(`{"filename":"a.mp4","size":9223372036854775807,"lastModified":1}`), 413, links.CodeFileTooLarge, "1.9 TiB"},
		{"start: size with a fraction", start(`{"filename":"a.mp4","size":1.5,"lastModified":1}`), 400, links.CodeInvalid, "JSON"},
		{"start: size over the link's limit", func(a *adminApp, f badFixture) badRequest {
			return badUploader(http.MethodPost, "/u/"+f.limited.ID+"/uploads", `{"filename":"a.mp4","size":67108865,"lastModified":1}`)
		}, 413, links.CodeFileTooLarge, "64 MiB"},
		{"start: zero size", start(`{"filename":"a.mp4","size":0,"lastModified":1}`), 400, links.CodeFileEmpty, ""},
		{"start: a filename of only NUL and RTL override", start(`{"filename":"\u0000\u202e","size":1000,"lastModified":1}`), 400, links.CodeInvalid, "no name"},
		{"start: title over 1024 characters", start(badStartJSON(`,"title":"` + strings.Repeat("é", 1025) + `"`)), 400, links.CodeInvalid, "title"},
		{"start: uploader email with CR/LF", start(badStartJSON(`,"uploaderName":"A","uploaderEmail":"a@example.com\r\nBcc: b@example.com"`)), 400, links.CodeInvalid, "email"},
		{"start: unknown link", func(a *adminApp, f badFixture) badRequest {
			return badUploader(http.MethodPost, "/u/"+store.RandomString(22)+"/uploads", badStartJSON(``))
		}, 404, links.CodeLinkNotFound, ""},
		{"start: link ID with path traversal", func(a *adminApp, f badFixture) badRequest {
			return badUploader(http.MethodPost, "/u/..%2F..%2Fetc%2Fpasswd/uploads", badStartJSON(``))
		}, 404, links.CodeLinkNotFound, ""},
		{"start: link ID with SQL", func(a *adminApp, f badFixture) badRequest {
			return badUploader(http.MethodPost, "/u/"+url.PathEscape("' OR 1=1 --")+"/uploads", badStartJSON(``))
		}, 404, links.CodeLinkNotFound, ""},
		{"start: from another origin", func(a *adminApp, f badFixture) badRequest {
			r := badUploader(http.MethodPost, "/u/"+f.open.ID+"/uploads", badStartJSON(``))
			r.header["Origin"] = "https://evil.example"
			r.header["Sec-Fetch-Site"] = "cross-site"
			return r
		}, 403, "request-refused", ""},

		// Sending a part through a link (PUT /u/:id/uploads/:videoId/parts/:n).
		{"part: number -1", part("-1"), 400, links.CodePartOutOfRange, ""},
		{"part: number 0", part("0"), 400, links.CodePartOutOfRange, ""},
		{"part: number overflowing int64", part("99999999999999999999"), 400, links.CodePartOutOfRange, ""},
		{"part: number in exponent form", part("1e3"), 400, links.CodePartOutOfRange, ""},
		{"part: number past the last part", part("3"), 400, links.CodePartOutOfRange, "1 to 2"},
		{"part: number of the largest int32 plus one", part("2147483648"), 400, links.CodePartOutOfRange, ""},
		{"part: the second before the first", part("2"), 409, links.CodePartOutOfOrder, "part 1"},
		{"part: fewer bytes than the part holds", part("1"), 400, links.CodePartSizeMismatch, "5242880"},
		{"part: no Content-Length", func(a *adminApp, f badFixture) badRequest {
			r := part("1")(a, f)
			r.body, r.chunked = strings.Repeat("x", 1000), true
			return r
		}, 411, links.CodeLengthRequired, ""},
		{"part: unknown video", func(a *adminApp, f badFixture) badRequest {
			return badUploader(http.MethodPut, fmt.Sprintf(partsPath, f.open.ID, store.NewID(store.PrefixVideo), "1"), "x")
		}, 404, links.CodeUploadNotFound, ""},
		{"part: video ID with path traversal", func(a *adminApp, f badFixture) badRequest {
			return badUploader(http.MethodPut, fmt.Sprintf(partsPath, f.open.ID, "..%2F..%2Fx", "1"), "x")
		}, 404, links.CodeUploadNotFound, ""},
		{"part: through another link", func(a *adminApp, f badFixture) badRequest {
			return badUploader(http.MethodPut, fmt.Sprintf(partsPath, f.limited.ID, f.upload.VideoID, "1"), "x")
		}, 404, links.CodeUploadNotFound, ""},
		{"part: from another origin", func(a *adminApp, f badFixture) badRequest {
			r := part("1")(a, f)
			r.header["Origin"] = "https://evil.example"
			r.header["Sec-Fetch-Site"] = "cross-site"
			return r
		}, 403, "request-refused", ""},
		{"cancel: unknown video", func(a *adminApp, f badFixture) badRequest {
			return badUploader(http.MethodDelete, "/u/"+f.open.ID+"/uploads/"+store.NewID(store.PrefixVideo), "")
		}, 404, links.CodeUploadNotFound, ""},

		// The mint form (POST /admin/links).
		{"mint: no label", func(*adminApp, badFixture) badRequest { return badMint("label", "  ") }, 422, "", "Give the link a label"},
		{"mint: label of 201 characters", func(*adminApp, badFixture) badRequest { return badMint("label", strings.Repeat("é", 201)) }, 422, "", "limited to 200"},
		{"mint: label that is not UTF-8", func(*adminApp, badFixture) badRequest { return badMint("label", "\xff\xfe") }, 422, "", "limited to 200"},
		{"mint: uploads -5", func(*adminApp, badFixture) badRequest { return badMint("uploadsN", "-5") }, 422, "", "from 1 to 10000"},
		{"mint: uploads overflowing int64", func(*adminApp, badFixture) badRequest { return badMint("uploadsN", "99999999999999999999") }, 422, "", "from 1 to 10000"},
		{"mint: uploads 10001", func(*adminApp, badFixture) badRequest { return badMint("uploadsN", "10001") }, 422, "", "from 1 to 10000"},
		{"mint: expiry -1 minutes", func(*adminApp, badFixture) badRequest { return badMint("expiryValue", "-1") }, 422, "", "whole number"},
		{"mint: expiry overflowing int64", func(*adminApp, badFixture) badRequest { return badMint("expiryValue", "99999999999999999999") }, 422, "", "whole number"},
		{"mint: expiry of the largest int64 in days", func(*adminApp, badFixture) badRequest {
			return badMint("expiryValue", strconv.FormatInt(math.MaxInt64, 10), "expiryUnit", "days")
		}, 422, "", "too far away"},
		{"mint: unknown expiry unit", func(*adminApp, badFixture) badRequest { return badMint("expiryUnit", "fortnights") }, 422, "", "minutes, hours or days"},
		{"mint: size -1", func(*adminApp, badFixture) badRequest { return badMint("maxSize", "-1") }, 422, "", "positive number"},
		{"mint: size 1e308 GB", func(*adminApp, badFixture) badRequest { return badMint("maxSize", "1e308") }, 422, "", "too large"},
		{"mint: size NaN", func(*adminApp, badFixture) badRequest { return badMint("maxSize", "NaN") }, 422, "", "positive number"},
		{"mint: size Inf", func(*adminApp, badFixture) badRequest { return badMint("maxSize", "Inf") }, 422, "", "positive number"},
		{"mint: size under 1 MiB", func(*adminApp, badFixture) badRequest { return badMint("maxSize", "0.5", "maxSizeUnit", "MiB") }, 422, "", "at least 1 MiB"},
		{"mint: unknown size unit", func(*adminApp, badFixture) badRequest { return badMint("maxSizeUnit", "PB") }, 422, "", "MiB or GiB"},
		{"mint: embed origin javascript:", func(*adminApp, badFixture) badRequest { return badMint("embedOrigins", "javascript:alert(1)") }, 422, "", "is not an origin"},
		// Origins become frame-ancestors sources (issue 10, item 9).
		{"mint: embed origin with ;script-src", func(*adminApp, badFixture) badRequest {
			return badMint("embedOrigins", "https://a.example;script-src")
		}, 422, "", "is not a host name"},
		{"mint: embed origin with a second directive", func(*adminApp, badFixture) badRequest {
			return badMint("embedOrigins", "https://a.example; script-src 'unsafe-inline'")
		}, 422, "", "is not a host name"},
		{"mint: embed origin with a comma", func(*adminApp, badFixture) badRequest { return badMint("embedOrigins", "https://a.example,b.example") }, 422, "", "is not a host name"},
		{"mint: embed origin with a quote", func(*adminApp, badFixture) badRequest { return badMint("embedOrigins", `https://a.example"`) }, 422, "", "is not a host name"},
		{"mint: embed origin with a star in the host", func(*adminApp, badFixture) badRequest { return badMint("embedOrigins", "https://*.example") }, 422, "", "is not a host name"},
		{"mint: embed origin with a path", func(*adminApp, badFixture) badRequest { return badMint("embedOrigins", "https://a.example/page") }, 422, "", "leave out the path"},
		{"mint: embed origin on port 0", func(*adminApp, badFixture) badRequest { return badMint("embedOrigins", "https://a.example:0") }, 422, "", "from 1 to 65535"},
		{"mint: without the CSRF token", func(*adminApp, badFixture) badRequest {
			return badRequest{method: http.MethodPost, path: "/admin/links", body: mintForm().Encode(),
				header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}
		}, 403, "", ""},
		{"mint: JSON instead of a form", func(a *adminApp, _ badFixture) badRequest {
			return badRequest{method: http.MethodPost, path: "/admin/links", body: `{"label":"Wedding","uploads":"one"}`,
				header: map[string]string{"Content-Type": "application/json", "X-CSRF-Token": a.csrfToken()}}
		}, 422, "", "Give the link a label"},
		// Go refuses to parse a form of more than 10,000 fields: the form
		// then has no CSRF token, or no label when the token comes in the
		// header. No dashboard form is multipart: one is refused unread.
		{"mint: 10,000 tiny fields after an empty label", func(a *adminApp, _ badFixture) badRequest {
			return badRequest{method: http.MethodPost, path: "/admin/links",
				body:   badManyFields(10000-5, url.Values{"_csrf": {a.csrfToken()}, "label": {""}, "uploads": {"one"}, "expiry": {"7d"}, "types": {"video"}}),
				header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}
		}, 422, "", "Give the link a label"},
		{"mint: 20,000 tiny fields", func(a *adminApp, _ badFixture) badRequest {
			return badRequest{method: http.MethodPost, path: "/admin/links",
				body:   badManyFields(20000, url.Values{"_csrf": {a.csrfToken()}, "label": {"many fields"}, "uploads": {"one"}, "expiry": {"7d"}, "types": {"video"}}),
				header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}
		}, 403, "", "This form has expired"},
		{"mint: 10,000 tiny multipart parts", func(a *adminApp, _ badFixture) badRequest {
			body, ctype := badManyParts(10000, url.Values{"label": {"many parts"}, "uploads": {"one"}, "expiry": {"7d"}, "types": {"video"}})
			return badRequest{method: http.MethodPost, path: "/admin/links", body: body,
				header: map[string]string{"Content-Type": ctype, "X-CSRF-Token": a.csrfToken()}}
		}, 415, "", "never upload files"},

		// The other dashboard forms.
		{"extend: expiry -1", func(a *adminApp, f badFixture) badRequest {
			return badRequest{method: http.MethodPost, path: "/admin/links/" + f.open.ID + "/extend",
				form: url.Values{"expiry": {"custom"}, "expiryValue": {"-1"}, "expiryUnit": {"hours"}}}
		}, 422, "", "whole number"},
		{"revoke: unknown link", func(a *adminApp, f badFixture) badRequest {
			return badRequest{method: http.MethodPost, path: "/admin/links/" + store.RandomString(22) + "/revoke", form: url.Values{}}
		}, 404, "", "Page not found"},
		{"video edit: title of 1025 characters", func(a *adminApp, f badFixture) badRequest {
			return badRequest{method: http.MethodPost, path: "/admin/videos/" + f.video, form: url.Values{"title": {strings.Repeat("t", 1025)}}}
		}, 422, "", "Title is limited to 1024 characters"},
		{"video edit: title with NUL", func(a *adminApp, f badFixture) badRequest {
			return badRequest{method: http.MethodPost, path: "/admin/videos/" + f.video, form: url.Values{"title": {"a\x00b"}}}
		}, 422, "", "NUL"},
		{"video edit: metadata line without =", func(a *adminApp, f badFixture) badRequest {
			return badRequest{method: http.MethodPost, path: "/admin/videos/" + f.video, form: url.Values{"metadata": {"'; DROP TABLE videos; --"}}}
		}, 422, "", "has no “=”"},
		{"video edit: unknown video", func(a *adminApp, f badFixture) badRequest {
			return badRequest{method: http.MethodPost, path: "/admin/videos/" + store.NewID(store.PrefixVideo), form: url.Values{"title": {"x"}}}
		}, 404, "", "Page not found"},
		{"video delete: malformed ID", func(a *adminApp, f badFixture) badRequest {
			return badRequest{method: http.MethodPost, path: "/admin/videos/..%2F..%2Fx/delete", form: url.Values{}}
		}, 404, "", "Page not found"},
		{"key create: empty name", func(*adminApp, badFixture) badRequest {
			return badRequest{method: http.MethodPost, path: "/admin/keys", form: url.Values{"name": {" "}}}
		}, 422, "", "Give the key a name"},
		{"key create: name with CR/LF", func(*adminApp, badFixture) badRequest {
			return badRequest{method: http.MethodPost, path: "/admin/keys", form: url.Values{"name": {"ci\r\nX-Injected: 1"}}}
		}, 422, "", "control characters"},
		{"key create: name of 201 bytes", func(*adminApp, badFixture) badRequest {
			return badRequest{method: http.MethodPost, path: "/admin/keys", form: url.Values{"name": {strings.Repeat("k", 201)}}}
		}, 422, "", "too long"},
		{"key revoke: malformed ID", func(*adminApp, badFixture) badRequest {
			return badRequest{method: http.MethodPost, path: "/admin/keys/" + url.PathEscape("ak' OR 1=1 --") + "/revoke", form: url.Values{}}
		}, 404, "", "Page not found"},
	}
	for _, tt := range tests {
		t.Run(tt.description, func(t *testing.T) {
			t.Parallel()
			a, f := newBadFixture(t)
			before := badState(t, a)
			status, ctype, body := a.badSend(t, tt.req(a, f))
			if status != tt.status {
				t.Errorf("status=%d, want=%d; body: %.300s", status, tt.status, body)
			}
			if tt.code != "" {
				var p struct{ Type, Title, Detail, Code string }
				if got, want := ctype, "application/problem+json"; got != want {
					t.Errorf("Content-Type=%q, want=%q", got, want)
				}
				if err := json.Unmarshal([]byte(body), &p); err != nil {
					t.Fatalf("problem body %.300s: %v", body, err)
				}
				if p.Code != tt.code {
					t.Errorf("code=%q, want=%q (%s %s)", p.Code, tt.code, p.Title, p.Detail)
				}
				if p.Title == "" {
					t.Error("the problem has no title")
				}
				if !strings.Contains(p.Title+" "+p.Detail, tt.text) {
					t.Errorf("problem %q %q does not say %q", p.Title, p.Detail, tt.text)
				}
			} else {
				if !strings.HasPrefix(ctype, "text/html") {
					t.Errorf("Content-Type=%q, want a page", ctype)
				}
				if text := parseHTML(t, body).Text(); !strings.Contains(text, tt.text) {
					t.Errorf("the page does not say %q:\n%.2000s", tt.text, text)
				}
			}
			badUnchanged(t, before, badState(t, a))
		})
	}
}

// badSend sends r and returns the status, Content-Type and body.
func (a *adminApp) badSend(t *testing.T, r badRequest) (int, string, string) {
	t.Helper()
	h := http.Header{}
	for k, v := range r.header {
		h.Set(k, v)
	}
	body := r.body
	if r.form != nil {
		f := url.Values{}
		maps.Copy(f, r.form)
		f.Set("_csrf", a.csrfToken())
		body = f.Encode()
		h.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	var rd io.Reader
	if body != "" || r.method == http.MethodPost || r.method == http.MethodPut {
		rd = strings.NewReader(body)
	}
	if r.chunked {
		rd = io.MultiReader(rd)
	}
	resp := a.do(t, r.method, r.path, rd, h)
	return resp.StatusCode, resp.Header.Get("Content-Type"), resp.body
}

// storeState is what a refused request must leave as it was.
type storeState struct {
	rows  []string
	blobs map[string]int64
}

// badUnchanged reports every row and blob that differs between two states.
func badUnchanged(t *testing.T, before, after storeState) {
	t.Helper()
	for _, r := range before.rows {
		if !slices.Contains(after.rows, r) {
			t.Errorf("the store changed: %.500s is gone or changed", r)
		}
	}
	for _, r := range after.rows {
		if !slices.Contains(before.rows, r) {
			t.Errorf("the store changed: %.500s is new", r)
		}
	}
	if !maps.Equal(before.blobs, after.blobs) {
		t.Errorf("the blob files changed: before %v, after %v", before.blobs, after.blobs)
	}
}

// badState reads every video, upload token, link, upload through a link
// and API key, and the blob files with their sizes.
func badState(t *testing.T, a *adminApp) storeState {
	t.Helper()
	ctx := context.Background()
	var s storeState
	videos, _, err := a.Store.ListVideos(ctx, store.VideoFilter{Sort: store.VideoSortCreatedAt, Page: store.Page{Number: 1, Size: 100}})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range videos {
		s.rows = append(s.rows, fmt.Sprintf("video %+v", v))
	}
	tokens, _, err := a.Store.FindTokenRows(ctx, store.TokenRowFilter{Page: store.Page{Number: 1, Size: 100}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range tokens {
		s.rows = append(s.rows, fmt.Sprintf("token %+v", tok))
	}
	ls, _, err := a.Store.FindLinks(ctx, store.LinkFilter{Page: store.Page{Number: 1, Size: 100}})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		s.rows = append(s.rows, fmt.Sprintf("link %+v", l))
		ups, err := a.Store.ListLinkUploads(ctx, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range ups {
			s.rows = append(s.rows, fmt.Sprintf("link upload %+v", u))
		}
	}
	keys, err := a.Store.ListAPIKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		s.rows = append(s.rows, fmt.Sprintf("key %+v", k))
	}
	s.blobs = map[string]int64{}
	err = a.Blobs.List(ctx, func(i blob.Info) error {
		s.blobs[i.Key] = i.Size
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// hostileNames are file names an uploader may send, with the name uplink
// must keep: the base name, without control or bidirectional formatting
// characters, at most 255 characters.
var hostileNames = []struct {
	description, sent, kept string
}{
	{"path traversal", "../../x.mp4", "x.mp4"},
	{"Windows path traversal", `..\..\windows\system32\x.mp4`, "x.mp4"},
	{"NUL", "a\x00b.mp4", "ab.mp4"},
	{"CR/LF header injection", "a\r\nSet-Cookie: pwned=1\r\n.mp4", "aSet-Cookie: pwned=1.mp4"},
	{"RTL override", "cod\u202egpj.exe", "codgpj.exe"},
	{"4 KB long", strings.Repeat("é", 2048) + ".mp4", strings.Repeat("é", 255)},
	{"HTML", `<img src=x onerror=alert(3)>.mp4`, `<img src=x onerror=alert(3)>.mp4`},
	{"quotes closing the header parameter", `"; filename="evil.exe`, `"; filename="evil.exe`},
}

// The label and message of the link the hostile names are sent through.
const (
	hostileLabel   = `<script>alert("label")</script><img src=x onerror=alert(1)>`
	hostileMessage = `</textarea></blockquote><script>alert(2)</script>`
)

// Hostile file names, sent through a link (as JSON) and to POST /upload (in
// the multipart header, RFC 2231-encoded so that any byte can be sent), are
// stored safely, become safe titles, are shown escaped on every page, and
// make a single, well-formed Content-Disposition header on both download
// routes. The link's HTML label and message are shown escaped too.
func TestHostileNamesAreShownSafely(t *testing.T) {
	t.Parallel()
	a := newAdminApp(t)
	ctx := context.Background()
	l, err := a.Links.Create(ctx, links.Spec{Label: hostileLabel, Message: hostileMessage, Types: []string{"any"}, EmbedOrigins: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := a.Store.CreateAPIKey(ctx, "hostile names")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := a.Store.CreateUploadToken(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("not a video, just bytes")
	var videos []string
	for i, n := range hostileNames {
		// Through the link, as the upload page sends it.
		body, _ := json.Marshal(map[string]any{"filename": n.sent, "size": len(data), "lastModified": i})
		status, _, resp := a.badSend(t, badUploader(http.MethodPost, "/u/"+l.ID+"/uploads", string(body)))
		if status != http.StatusCreated {
			t.Fatalf("%s: start: %d %s", n.description, status, resp)
		}
		var sess struct{ VideoID, Filename string }
		json.Unmarshal([]byte(resp), &sess)
		if sess.Filename != n.kept {
			t.Errorf("%s: the start's answer names the file %q, want %q", n.description, sess.Filename, n.kept)
		}
		status, _, resp = a.badSend(t, badUploader(http.MethodPut, "/u/"+l.ID+"/uploads/"+sess.VideoID+"/parts/1", string(data)))
		if status != http.StatusOK {
			t.Fatalf("%s: part: %d %s", n.description, status, resp)
		}
		// To the token endpoint, with the name in the part's header.
		var mb bytes.Buffer
		mw := multipart.NewWriter(&mb)
		h := make(map[string][]string)
		h["Content-Disposition"] = []string{`form-data; name="file"; filename*=UTF-8''` + badRFC2231(n.sent)}
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		mw.Close()
		resp2, err := http.Post(a.URL+"/upload?token="+tok.ID, mw.FormDataContentType(), &mb)
		if err != nil {
			t.Fatal(err)
		}
		var v struct{ VideoID, Title string }
		json.NewDecoder(resp2.Body).Decode(&v)
		resp2.Body.Close()
		if resp2.StatusCode != http.StatusCreated {
			t.Fatalf("%s: POST /upload: %d", n.description, resp2.StatusCode)
		}
		if v.Title != n.kept {
			t.Errorf("%s: POST /upload made the title %q, want %q", n.description, v.Title, n.kept)
		}
		for _, id := range []string{sess.VideoID, v.VideoID} {
			u, err := a.Store.FindUpload(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if u.Filename != n.kept {
				t.Errorf("%s: stored file name %q, want %q", n.description, u.Filename, n.kept)
			}
			vid, err := a.Store.FindVideo(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if vid.Title != n.kept {
				t.Errorf("%s: title %q, want %q", n.description, vid.Title, n.kept)
			}
			videos = append(videos, id)
		}
	}

	// Both download routes name the file in one safe header.
	for _, id := range videos {
		for _, src := range []struct{ path, auth string }{
			{"/videos/" + id + "/source", "Basic " + basicAuthValue(key)},
			{"/admin/videos/" + id + "/source?download=1", ""},
		} {
			h := http.Header{}
			if src.auth != "" {
				h.Set("Authorization", src.auth)
			}
			resp := a.do(t, http.MethodGet, src.path, nil, h)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %d", src.path, resp.StatusCode)
			}
			if resp.body != string(data) {
				t.Errorf("GET %s: the bytes differ", src.path)
			}
			badCheckDisposition(t, src.path, resp.Header.Values("Content-Disposition"))
		}
	}

	// Every page that shows the label, a title or a file name escapes it.
	pages := []string{"/admin/links", "/admin/links/" + l.ID, "/admin/videos", "/admin/tokens", "/u/" + l.ID, "/embed/" + l.ID}
	for _, id := range videos {
		pages = append(pages, "/admin/videos/"+id)
	}
	for _, p := range pages {
		resp := a.do(t, http.MethodGet, p, nil, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", p, resp.StatusCode)
		}
		for _, raw := range []string{"<script>alert", "<img src=x", "</textarea></blockquote>", "\u202e"} {
			if strings.Contains(resp.body, raw) {
				t.Errorf("GET %s: the page contains %q unescaped", p, raw)
			}
		}
		doc := parseHTML(t, resp.body)
		if n := doc.Find(`img[src="x"], [onerror]`).Length(); n != 0 {
			t.Errorf("GET %s: %d elements injected by a name", p, n)
		}
		doc.Find("script:not([src])").Each(func(_ int, s *goquery.Selection) {
			if strings.Contains(s.Text(), "alert(") {
				t.Errorf("GET %s: an inline script runs a name: %.200s", p, s.Text())
			}
		})
		if strings.HasPrefix(p, "/admin/links") && !strings.Contains(doc.Text(), hostileLabel) {
			t.Errorf("GET %s: the label is not shown as text", p)
		}
	}
	detail := parseHTML(t, a.do(t, http.MethodGet, "/admin/links/"+l.ID, nil, nil).body)
	if got := testID(detail, "link-message").Text(); got != hostileMessage {
		t.Errorf("link page message=%q, want=%q", got, hostileMessage)
	}
	var shown []string
	testID(detail, "upload-video").Each(func(_ int, s *goquery.Selection) { shown = append(shown, s.Text()) })
	for _, n := range hostileNames {
		if !slices.Contains(shown, n.kept) {
			t.Errorf("the link page does not list the upload %q as text; it lists %q", n.kept, shown)
		}
	}
}

// badCheckDisposition checks that a response names its file in exactly one
// Content-Disposition header that parses, as an attachment, with a plain
// base name: no path, no control or formatting character, no character
// Windows forbids, at most 200 bytes.
func badCheckDisposition(t *testing.T, path string, values []string) {
	t.Helper()
	if len(values) != 1 {
		t.Fatalf("GET %s: %d Content-Disposition headers %q, want 1", path, len(values), values)
	}
	d := values[0]
	if strings.ContainsAny(d, "\r\n\x00\u202e") {
		t.Errorf("GET %s: Content-Disposition %q holds a control or bidi character", path, d)
	}
	kind, params, err := mime.ParseMediaType(d)
	if err != nil {
		t.Fatalf("GET %s: Content-Disposition %q does not parse: %v", path, d, err)
	}
	if kind != "attachment" {
		t.Errorf("GET %s: Content-Disposition %q, want an attachment", path, d)
	}
	name := params["filename"]
	switch {
	case name == "":
		t.Errorf("GET %s: Content-Disposition %q names no file", path, d)
	case len(name) > 200:
		t.Errorf("GET %s: file name of %d bytes, want at most 200", path, len(name))
	case strings.ContainsAny(name, "/\\<>:\"|?*"):
		t.Errorf("GET %s: file name %q holds a path or a character Windows forbids", path, name)
	case strings.IndexFunc(name, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }) >= 0:
		t.Errorf("GET %s: file name %q holds a control or formatting character", path, name)
	}
}

// basicAuthValue is the credentials part of an API key's Basic header.
func basicAuthValue(key string) string {
	return base64.StdEncoding.EncodeToString([]byte(key + ":"))
}

// badRFC2231 percent-encodes s as the value of an RFC 2231 extended
// parameter: every byte but attr-char.
func badRFC2231(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// The dashboard's searches treat what is typed as text, never as SQL or a
// LIKE pattern; pages past the end or of a nonsensical number show a page
// of the list, never an error.
func TestDashboardSearchTreatsSQLAsText(t *testing.T) {
	t.Parallel()
	a := newAdminApp(t)
	ctx := context.Background()
	names := []string{"alpha", "100% sure", "snake_case", "O'Brien"}
	for _, n := range names {
		if _, err := a.Links.Create(ctx, links.Spec{Label: n}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Store.CreateVideo(ctx, store.VideoCreate{Title: n}); err != nil {
			t.Fatal(err)
		}
	}
	before := badState(t, a)
	for _, tt := range []struct {
		q    string
		want []string
	}{
		{"' OR 1=1 --", nil},
		{`" OR ""="`, nil},
		{"%", []string{"100% sure"}},
		{"_", []string{"snake_case"}},
		{"'", []string{"O'Brien"}},
		{`\`, nil},
		{"%_%", nil},
		{"alpha'; DROP TABLE links; --", nil},
	} {
		for _, list := range []struct{ path, row, cell string }{
			{"/admin/links?sort=label&dir=asc&q=", "link-row", "link-label"},
			{"/admin/videos?q=", "video-row", "video-title"},
		} {
			p := list.path + url.QueryEscape(tt.q)
			doc := a.getPage(t, p)
			var got []string
			testID(doc, list.row).Each(func(_ int, s *goquery.Selection) {
				got = append(got, strings.TrimSpace(s.Find(`[data-testid="`+list.cell+`"]`).Text()))
			})
			slices.Sort(got)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("GET %s: rows %q, want %q", p, got, tt.want)
			}
		}
	}
	for _, p := range []string{
		"/admin/links?page=-1", "/admin/links?page=99999999999999999999", "/admin/links?page=2147483648",
		"/admin/videos?page=-1", "/admin/videos?page=99999999999999999999", "/admin/videos?page=1e3",
		"/admin/tokens?page=-1", "/admin/tokens?page=99999999999999999999",
		"/admin/links?sort=" + url.QueryEscape("label; DROP TABLE links") + "&dir=sideways&state=" + url.QueryEscape("' OR 1=1 --"),
	} {
		resp := a.do(t, http.MethodGet, p, nil, nil)
		switch resp.StatusCode {
		case http.StatusOK:
		case http.StatusSeeOther:
			// A page past the end sends to the last page.
			if loc := resp.Header.Get("Location"); a.getPage(t, loc) == nil {
				t.Errorf("GET %s: redirected to %s", p, loc)
			}
		default:
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
	}
	badUnchanged(t, before, badState(t, a))
}

package api_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// Bad input to the API's calls other than a piece of an upload (issue 5,
// "Bad input"), and to POST /upload where the body or the request itself
// is malformed in ways TestUploadBadInput does not cover: a huge multipart
// preamble, 10,000 tiny parts, Content-Length tricks. Each row gets its
// status and problem document, and nothing stored changes.

// moreFixture is the state a bad request is sent against.
type moreFixture struct {
	tok string // A live upload token.
	vid string // An empty video.
}

// moreRequest is one request of the table. In path and body, {vid} and
// {tok} stand for the fixture's video and token.
type moreRequest struct {
	method, path string
	header       map[string]string // Added to (or replacing) the API key and JSON Content-Type.
	body         string
	// raw, when set, is sent as is on a new connection (after {vid} and
	// {tok} are replaced): for requests no HTTP client sends.
	raw string
}

func TestAPIBadInput(t *testing.T) {
	t.Parallel()
	tokens := func(body string) moreRequest { return moreRequest{method: "POST", path: "/upload-tokens", body: body} }
	list := func(path string) moreRequest { return moreRequest{method: "GET", path: path} }
	patch := func(body string) moreRequest { return moreRequest{method: "PATCH", path: "/videos/{vid}", body: body} }
	upload := func(ctype, body string) moreRequest {
		return moreRequest{method: "POST", path: "/upload?token={tok}", body: body, header: map[string]string{"Content-Type": ctype}}
	}
	tests := []struct {
		description string
		req         moreRequest
		status      int
		code, name  string
	}{
		// Creating an upload token: numbers and JSON.
		{"ttl -1", tokens(`{"ttl":-1}`), 400, "invalid-attribute", "ttl"},
		{"ttl overflowing int64", tokens(`{"ttl":9223372036854775808}`), 400, "invalid-attribute", "ttl"},
		{"ttl 1e30", tokens(`{"ttl":1e30}`), 400, "invalid-attribute", "ttl"},
		{"ttl with a fraction", tokens(`{"ttl":60.5}`), 400, "invalid-attribute", "ttl"},
		{"ttl as a string", tokens(`{"ttl":"60"}`), 400, "invalid-attribute", "ttl"},
		{"ttl of the largest int32 plus one", tokens(`{"ttl":2147483648}`), 400, "invalid-attribute", "ttl"},
		{"token JSON with trailing garbage", tokens(`{"ttl":60}{"ttl":61}`), 400, "invalid-payload", ""},
		{"token JSON with trailing text", tokens(`{"ttl":60} --`), 400, "invalid-payload", ""},
		{"token body as a form", tokens(`ttl=60`), 400, "invalid-payload", ""},
		{"token body as an array", tokens(`[60]`), 400, "invalid-attribute", ""},

		// Paging and sorting lists.
		{"pageSize -1", list("/videos?pageSize=-1"), 400, "request-invalid-query-parameter", "pageSize"},
		{"pageSize 0", list("/videos?pageSize=0"), 400, "request-invalid-query-parameter", "pageSize"},
		{"pageSize 101", list("/videos?pageSize=101"), 400, "request-invalid-query-parameter", "pageSize"},
		{"pageSize overflowing int64", list("/videos?pageSize=99999999999999999999"), 400, "request-invalid-query-parameter", "pageSize"},
		{"currentPage 0", list("/videos?currentPage=0"), 400, "request-invalid-query-parameter", "currentPage"},
		{"currentPage -1", list("/videos?currentPage=-1"), 400, "request-invalid-query-parameter", "currentPage"},
		{"currentPage of the largest int32 plus one", list("/videos?currentPage=2147483648"), 400, "request-invalid-query-parameter", "currentPage"},
		{"currentPage in exponent form", list("/videos?currentPage=1e3"), 400, "request-invalid-query-parameter", "currentPage"},
		{"currentPage NUL", list("/videos?currentPage=%00"), 400, "request-invalid-query-parameter", "currentPage"},
		{"sortBy unknown", list("/videos?sortBy=bogus"), 400, "request-invalid-query-parameter", "sortBy"},
		{"sortBy with SQL", list("/videos?sortBy=" + url.QueryEscape("title; DROP TABLE videos; --")), 400, "request-invalid-query-parameter", "sortBy"},
		{"sortOrder unknown", list("/videos?sortOrder=up"), 400, "request-invalid-query-parameter", "sortOrder"},
		{"token list pageSize -5", list("/upload-tokens?pageSize=-5"), 400, "request-invalid-query-parameter", "pageSize"},
		{"token list sortBy a video field", list("/upload-tokens?sortBy=title"), 400, "request-invalid-query-parameter", "sortBy"},

		// Updating and creating videos: JSON of the wrong shape.
		{"title a number", patch(`{"title":5}`), 400, "invalid-attribute", "title"},
		{"tags a string", patch(`{"tags":"a"}`), 400, "invalid-attribute", "tags"},
		{"metadata an object", patch(`{"metadata":{"a":"b"}}`), 400, "invalid-attribute", "metadata"},
		{"public a string", patch(`{"public":"yes"}`), 400, "invalid-attribute", "public"},
		{"video JSON with trailing garbage", patch(`{"title":"x"} garbage`), 400, "invalid-payload", ""},
		{"video JSON empty", patch(``), 400, "invalid-payload", ""},
		{"video JSON nested 20,000 deep", patch(strings.Repeat("[", 20000) + strings.Repeat("]", 20000)), 400, "invalid-payload", ""},
		{"video JSON over 1 MiB", patch(`{"description":"` + strings.Repeat("d", 1<<20) + `"}`), 413, "request-body-too-large", ""},
		{"title with NUL", patch(`{"title":"a\u0000b"}`), 400, "invalid-attribute", "title"},
		{"title of 1025 characters", patch(`{"title":"` + strings.Repeat("t", 1025) + `"}`), 400, "invalid-attribute", "title"},
		{"title empty", patch(`{"title":"  "}`), 400, "invalid-attribute", "title"},
		{"language unknown", patch(`{"language":"xx"}`), 400, "invalid-attribute", "language"},
		{"new video title an array", moreRequest{method: "POST", path: "/videos", body: `{"title":["a"]}`}, 400, "invalid-attribute", "title"},
		{"new video without title", moreRequest{method: "POST", path: "/videos", body: `{}`}, 400, "attribute-required", "title"},
		{"new video from a file URL", moreRequest{method: "POST", path: "/videos", body: `{"title":"x","source":"file:///etc/passwd"}`}, 400, "invalid-attribute", "source"},

		// IDs in paths.
		{"video ID with path traversal", list("/videos/..%2F..%2Fetc%2Fpasswd"), 404, "resource-not-found", "videoId"},
		{"video ID with SQL", list("/videos/" + url.PathEscape("vi' OR 1=1 --")), 404, "resource-not-found", "videoId"},
		{"delete of a token ID with NUL", moreRequest{method: "DELETE", path: "/upload-tokens/to%00" + strings.Repeat("A", 21)}, 404, "resource-not-found", "uploadToken"},
		{"token ID one character too long", list("/upload-tokens/to" + strings.Repeat("A", 23)), 404, "resource-not-found", "uploadToken"},

		// Authentication.
		{"apiKey a number", moreRequest{method: "POST", path: "/auth/api-key", body: `{"apiKey":5}`}, 400, "invalid-attribute", "apiKey"},
		{"apiKey JSON with trailing garbage", moreRequest{method: "POST", path: "/auth/api-key", body: `{"apiKey":"x"}]`}, 400, "invalid-payload", ""},
		{"Authorization that is not base64", moreRequest{method: "GET", path: "/videos", header: map[string]string{"Authorization": "Basic %%%"}}, 401, "authentication-invalid-authorization-header-value", ""},

		// POST /upload: the body and the request around it.
		{"10,000 tiny fields and no file", upload(moreTinyParts(10000)), 400, "uploaded-file-no-file", "file"},
		{"a multipart preamble of one 1 MiB line", upload("multipart/form-data; boundary=XYZ",
			strings.Repeat("p", 1<<20)+"\r\n--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.mp4\"\r\n\r\nabc\r\n--XYZ--\r\n"),
			400, "invalid-payload", ""},
		{"a multipart preamble of 16 MiB of lines and no part", upload("multipart/form-data; boundary=XYZ",
			strings.Repeat(strings.Repeat("p", 1000)+"\r\n", 16<<10)+"--XYZ--\r\n"), 400, "uploaded-file-no-file", "file"},
		{"multipart without a boundary", upload("multipart/form-data", "--XYZ\r\n\r\n"), 400, "uploaded-file-no-file", "file"},
		{"a boundary of 100 KiB", upload("multipart/form-data; boundary="+strings.Repeat("b", 100<<10), "--b\r\n"), 400, "uploaded-file-no-file", "file"},
		{"Content-Length overflowing int64", moreRequest{raw: "POST /upload?token={tok} HTTP/1.1\r\nHost: uplink\r\n" +
			"Content-Type: multipart/form-data; boundary=XYZ\r\nContent-Length: 99999999999999999999\r\n\r\n--XYZ\r\n"}, 400, "", ""},
		{"Content-Length negative", moreRequest{raw: "POST /upload?token={tok} HTTP/1.1\r\nHost: uplink\r\n" +
			"Content-Type: multipart/form-data; boundary=XYZ\r\nContent-Length: -5\r\n\r\n--XYZ\r\n"}, 400, "", ""},
		{"two different Content-Lengths", moreRequest{raw: "POST /upload?token={tok} HTTP/1.1\r\nHost: uplink\r\n" +
			"Content-Type: multipart/form-data; boundary=XYZ\r\nContent-Length: 10\r\nContent-Length: 20\r\n\r\n--XYZ\r\n"}, 400, "", ""},
		{"Content-Length shorter than the body", moreRequest{raw: moreRawUpload(30)}, 400, "invalid-payload", ""},
		{"Content-Length announcing more than one piece may hold", moreRequest{raw: "POST /upload?token={tok} HTTP/1.1\r\nHost: uplink\r\n" +
			"Content-Type: multipart/form-data; boundary=XYZ\r\nContent-Length: 9223372036854775807\r\n\r\n--XYZ\r\n"}, 413, "uploaded-file-too-large", "file"},
	}
	for _, tt := range tests {
		t.Run(tt.description, func(t *testing.T) {
			t.Parallel()
			a := newApp(t)
			f := moreFixture{tok: a.createToken(t, 0), vid: a.createVideo(t, `{"title":"fixture"}`).VideoID}
			before := a.snapshot(t, f.vid)
			expand := strings.NewReplacer("{vid}", f.vid, "{tok}", f.tok).Replace
			var r *response
			if tt.req.raw != "" {
				r = a.sendRaw(t, expand(tt.req.raw))
			} else {
				h := map[string]string{"Authorization": a.basic(), "Content-Type": "application/json"}
				for k, v := range tt.req.header {
					h[k] = v
				}
				r = httpTest{Method: tt.req.method, URL: expand(tt.req.path), ReqHeader: h, ReqBody: expand(tt.req.body)}.Run(t, a)
			}
			if tt.code != "" {
				a.wantProblem(t, r, tt.status, tt.code, tt.name)
			} else if r.Code != tt.status {
				// Refused by Go's HTTP server before any handler runs.
				t.Errorf("status=%d, want=%d; body: %s", r.Code, tt.status, clip(r.Body))
			}
			a.wantUnchanged(t, before)
		})
	}
}

// moreTinyParts is a multipart/form-data body of n one-byte fields, and
// its Content-Type.
func moreTinyParts(n int) (string, string) {
	var b strings.Builder
	mw := multipart.NewWriter(&b)
	for i := range n {
		mw.WriteField(fmt.Sprint("f", i), "x")
	}
	mw.Close()
	return mw.FormDataContentType(), b.String()
}

// moreRawUpload is a whole-file upload whose Content-Length stops cut
// bytes short of its body.
func moreRawUpload(cut int) string {
	body := "--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.mp4\"\r\n\r\n" +
		strings.Repeat("v", 100) + "\r\n--XYZ--\r\n"
	return "POST /upload?token={tok} HTTP/1.1\r\nHost: uplink\r\nConnection: close\r\n" +
		"Content-Type: multipart/form-data; boundary=XYZ\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)-cut) + body
}

// sendRaw writes a request as is on a new connection and reads the
// response.
func (a *app) sendRaw(t *testing.T, raw string) *response {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(a.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Every refusal here is answered at once; 20 seconds is far more
	// than any needs, and less than the server's idle read timeout.
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("no answer within 20 seconds: a refusal must not wait for the rest of a body the client has " +
			"not sent (see web/deadline.go, which hands net/http its own body back for that)")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &response{Code: res.StatusCode, Header: res.Header, Body: b}
}

// Search parameters are text, never SQL or LIKE patterns: each finds only
// the videos whose title holds it.
func TestAPISearchTreatsSQLAsText(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	for _, title := range []string{"alpha", "100% real", "snake_case", "O'Brien"} {
		a.createVideo(t, fmt.Sprintf(`{"title":%q,"tags":["t"],"metadata":[{"key":"k","value":%q}]}`, title, title))
	}
	before := a.snapshot(t)
	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"title=" + url.QueryEscape("' OR 1=1 --"), nil},
		{"title=" + url.QueryEscape("%"), []string{"100% real"}},
		{"title=" + url.QueryEscape("_"), []string{"snake_case"}},
		{"title=" + url.QueryEscape("'"), []string{"O'Brien"}},
		{"title=" + url.QueryEscape(`\`), nil},
		{"description=" + url.QueryEscape("%"), nil},
		{"tags=" + url.QueryEscape("' OR 1=1 --"), nil},
		{"tags=" + url.QueryEscape("%"), nil},
		{"metadata%5Bk%5D=" + url.QueryEscape("%"), nil},
		{"metadata%5B" + url.QueryEscape("' OR 1=1 --") + "%5D=alpha", nil},
		{"metadata%5Bk%5D=" + url.QueryEscape("O'Brien"), []string{"O'Brien"}},
	} {
		r := a.do(t, "GET", "/videos?sortBy=title&"+tt.query, "")
		if r.Code != 200 {
			t.Errorf("GET /videos?%s: %d %s", tt.query, r.Code, clip(r.Body))
			continue
		}
		var l struct{ Data []video }
		r.decode(t, &l)
		var got []string
		for _, v := range l.Data {
			got = append(got, v.Title)
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("GET /videos?%s: titles %q, want %q", tt.query, got, tt.want)
		}
	}
	a.wantUnchanged(t, before)
}

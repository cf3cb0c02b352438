package api_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// Replays of the exact request shapes of the official api.video clients
// (api-contract.md 3.3 and 6-8), as they were seen on the wire.

// nodeHeaders are the headers @api.video/nodejs-client 2.6.8 sends
// without an API key: note the Authorization header with an empty value.
var nodeHeaders = map[string]string{
	"Accept":           "application/json, */*;q=0.8",
	"AV-Origin-Client": "nodejs:2.6.8",
	"Authorization":    "",
	"User-Agent":       "axios/1.7.9",
	"Accept-Encoding":  "gzip, compress, deflate, br",
	"Connection":       "keep-alive",
}

// nodeFile is how the Node client sends a file: the field is named after
// the file's base name, with a type guessed from the extension.
func nodeFile(name string, data []byte) formPart {
	return formPart{name: name, filename: name, file: true, ctype: "video/mp4", data: data}
}

// TestNodeUploadWithUploadToken replays videos.uploadWithUploadToken(token,
// "my-video.mp4") with chunkSize 5 MiB on a 12 MiB file: three requests
// "part i/3", none with videoId. uplink joins them into one video
// (api-contract.md 11.5), where api.video makes three broken ones.
func TestNodeUploadWithUploadToken(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	tok := a.createToken(t, 0)
	data := randomData(200, 12*mib)

	var ids []string
	for i, c := range split(data, partSize) {
		r := a.upload(t, upload{
			token:        tok,
			contentRange: fmt.Sprintf("part %d/3", i+1),
			parts:        []formPart{nodeFile("my-video.mp4", c)},
			header:       nodeHeaders,
		})
		if h, ok := a.lastHeaders()["Authorization"]; !ok || len(h) != 1 || h[0] != "" {
			t.Fatalf("the replay did not send an empty Authorization header: %q", h)
		}
		ids = append(ids, wantVideo(t, r, 201).VideoID)
	}
	if ids[1] != ids[0] || ids[2] != ids[0] {
		t.Fatalf("the three chunks landed in videos %v, want one", ids)
	}
	v := wantVideo(t, a.do(t, "GET", "/videos/"+ids[0], ""), 200)
	if got, want := v.Title, "my-video.mp4"; got != want {
		t.Errorf("title=%q, want=%q", got, want)
	}
	if got, want := a.videoCount(t), 1; got != want {
		t.Errorf("videos=%d, want=%d", got, want)
	}
	a.wantSource(t, ids[0], data)
}

// TestNodeUploadSmallFile replays uploadWithUploadToken on a file smaller
// than the chunk size: one request without Content-Range.
func TestNodeUploadSmallFile(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	tok := a.createToken(t, 0)
	data := readTestdata(t, "h264-aac-faststart.mp4")
	v := a.uploadOK(t, upload{token: tok, parts: []formPart{nodeFile("h264-aac-faststart.mp4", data)}, header: nodeHeaders})
	if got, want := v.Title, "h264-aac-faststart.mp4"; got != want {
		t.Errorf("title=%q, want=%q", got, want)
	}
	a.wantSource(t, v.VideoID, data)
}

// TestNodeProgressiveSession replays
// createUploadWithUploadTokenProgressiveSession(token) with uploadPart,
// uploadPart, uploadLastPart on the pieces of a file: "part n/*" then
// "part 3/3", videoId appended after the file from the first response.
// The title is the first part's file name (the Node sandbox test expects
// "10m.mp4.part.a").
func TestNodeProgressiveSession(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	tok := a.createToken(t, 0)
	data := randomData(201, 2*partSize+3*mib)
	chunks := split(data, partSize)
	names := []string{"10m.mp4.part.a", "10m.mp4.part.b", "10m.mp4.part.c"}
	ranges := []string{"part 1/*", "part 2/*", "part 3/3"}

	id := ""
	for i, c := range chunks {
		p := []formPart{nodeFile(names[i], c)}
		if id != "" {
			p = append(p, field("videoId", id))
		}
		v := a.uploadOK(t, upload{token: tok, contentRange: ranges[i], parts: p, header: nodeHeaders})
		if id != "" && v.VideoID != id {
			t.Fatalf("%s: videoId=%q, want=%q", ranges[i], v.VideoID, id)
		}
		id = v.VideoID
		if got, want := v.Title, "10m.mp4.part.a"; got != want {
			t.Errorf("%s: title=%q, want=%q", ranges[i], got, want)
		}
	}
	a.wantSource(t, id, data)
}

// uplHeaders are the headers @api.video/video-uploader 1.1.6 adds to its
// XHR; the browser adds Origin (and no Accept or Authorization).
var uplHeaders = map[string]string{
	"AV-Origin-Client": "typescript-uploader:1.1.6",
	"Origin":           "https://www.example.com",
}

// TestBrowserUploader replays the browser uploader: a CORS preflight from
// another site, then VideoUploader.upload() with "part i/N" on every
// request (even "part 1/1" for a small file), videoId before the file
// from the second request on, and CORS headers on every answer.
func TestBrowserUploader(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	tok := a.createToken(t, 0)

	res := httpTest{
		Method: "OPTIONS",
		URL:    "/upload?token=" + tok,
		ReqHeader: map[string]string{
			"Origin":                         "https://www.example.com",
			"Access-Control-Request-Method":  "POST",
			"Access-Control-Request-Headers": "av-origin-client,content-range",
		},
		Code:      204,
		ResHeader: map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Credentials": ""},
	}.Run(t, a)
	allowHeaders := strings.ToLower(res.Header.Get("Access-Control-Allow-Headers"))
	for _, h := range []string{"content-range", "content-type", "authorization", "av-origin-client", "av-origin-app", "av-origin-sdk"} {
		if !strings.Contains(allowHeaders, h) {
			t.Errorf("Access-Control-Allow-Headers=%q, want it to list %s", allowHeaders, h)
		}
	}
	if m := res.Header.Get("Access-Control-Allow-Methods"); !strings.Contains(m, "POST") {
		t.Errorf("Access-Control-Allow-Methods=%q, want POST", m)
	}
	if len(res.Body) != 0 {
		t.Errorf("preflight body=%q, want none", res.Body)
	}

	t.Run("small file as part 1/1", func(t *testing.T) {
		data := readTestdata(t, "h264-aac-faststart.mp4")
		r := a.upload(t, upload{token: tok, contentRange: "part 1/1", parts: []formPart{file("holiday.mp4", data)}, header: uplHeaders})
		v := wantVideo(t, r, 201)
		if got := r.Header.Get("Access-Control-Allow-Origin"); got != "*" {
			t.Errorf("Access-Control-Allow-Origin=%q, want *", got)
		}
		if got, want := v.Title, "holiday.mp4"; got != want {
			t.Errorf("title=%q, want=%q", got, want)
		}
		a.wantSource(t, v.VideoID, data)
	})

	t.Run("chunked, videoId before the file", func(t *testing.T) {
		data := randomData(202, 2*partSize+2*mib)
		id := ""
		for i, c := range split(data, partSize) {
			var p []formPart
			if id != "" {
				p = append(p, field("videoId", id))
			}
			p = append(p, file("trip.mov", c))
			r := a.upload(t, upload{token: tok, contentRange: fmt.Sprintf("part %d/3", i+1), parts: p, header: uplHeaders})
			v := wantVideo(t, r, 201)
			if got := r.Header.Get("Access-Control-Allow-Origin"); got != "*" {
				t.Errorf("part %d: Access-Control-Allow-Origin=%q, want *", i+1, got)
			}
			if id != "" && v.VideoID != id {
				t.Fatalf("part %d: videoId=%q, want=%q", i+1, v.VideoID, id)
			}
			id = v.VideoID
		}
		a.wantSource(t, id, data)
	})

	t.Run("progressive uploader with an empty last part", func(t *testing.T) {
		// ProgressiveUploader names the file "file" unless given a
		// videoName, and with preventEmptyParts off its last part can be
		// empty.
		data := randomData(203, 2*partSize)
		chunks := split(data, partSize)
		v := a.uploadOK(t, upload{token: tok, contentRange: "part 1/*", parts: []formPart{file("file", chunks[0])}, header: uplHeaders})
		a.uploadOK(t, upload{token: tok, contentRange: "part 2/*", parts: []formPart{field("videoId", v.VideoID), file("file", chunks[1])}, header: uplHeaders})
		last := a.uploadOK(t, upload{token: tok, contentRange: "part 3/3", parts: []formPart{field("videoId", v.VideoID), file("file", nil)}, header: uplHeaders})
		if got, want := last.Title, "file"; got != want {
			t.Errorf("title=%q, want=%q", got, want)
		}
		a.wantSource(t, v.VideoID, data)
	})

	t.Run("errors carry CORS headers", func(t *testing.T) {
		for _, tt := range []struct {
			description string
			req         upload
			code        int
			problem     string
			name        string
		}{
			{"unknown token", upload{token: "to0000000000000000000000", contentRange: "part 1/1", parts: []formPart{file("a.mp4", []byte("x"))}}, 401, "authentication-invalid-upload-token", "token"},
			{"missing token", upload{query: "x=y", contentRange: "part 1/1", parts: []formPart{file("a.mp4", []byte("x"))}}, 401, "authentication-missing-upload-token", "token"},
			{"malformed Content-Range", upload{token: tok, contentRange: "part one/1", parts: []formPart{file("a.mp4", []byte("x"))}}, 400, "video-content-range-malformed", "Content-Range"},
			{"part too small", upload{token: tok, contentRange: "part 1/2", parts: []formPart{file("a.mp4", []byte("x"))}}, 400, "video-content-range-by-part-uploaded-file-too-small", "file"},
		} {
			tt.req.header = uplHeaders
			r := a.upload(t, tt.req)
			a.wantProblem(t, r, tt.code, tt.problem, tt.name)
			if got := r.Header.Get("Access-Control-Allow-Origin"); got != "*" {
				t.Errorf("%s: Access-Control-Allow-Origin=%q, want *", tt.description, got)
			}
		}
	})
}

// goHeaders are the headers api.video-go-client 1.4.5 sends on every
// request.
var goHeaders = map[string]string{
	"Accept":           "application/json",
	"Content-Type":     "application/json",
	"AV-Origin-Client": "go:1.4.5",
	"User-Agent":       "Go-http-client/1.1",
}

// goRequest is a Go client request: its headers plus the Bearer token.
func goRequest(method, url, bearer, body string) httpTest {
	h := map[string]string{}
	for k, v := range goHeaders {
		h[k] = v
	}
	if bearer != "" {
		h["Authorization"] = "Bearer " + bearer
	}
	return httpTest{Method: method, URL: url, ReqHeader: h, ReqBody: body}
}

// TestGoClient replays the Go client built with an API key: it trades the
// key for a bearer token at /auth/api-key, then sends the token on every
// call, /upload included, with "Content-Type: application/json" even on a
// GET or DELETE without a body.
func TestGoClient(t *testing.T) {
	t.Parallel()
	a := newApp(t)

	res := goRequest("POST", "/auth/api-key", "", `{"apiKey":"`+a.key+`"}`+"\n").Run(t, a)
	if res.Code != 200 {
		t.Fatalf("POST /auth/api-key: %d %s", res.Code, clip(res.Body))
	}
	if got, want := res.Header.Get("Content-Type"), "application/json"; got != want {
		t.Errorf("Content-Type=%q, want=%q", got, want)
	}
	var auth struct {
		AccessToken  string `json:"access_token"`
		TokenType    string `json:"token_type"`
		RefreshToken string `json:"refresh_token"`
		ExpiresIn    int    `json:"expires_in"`
	}
	res.decode(t, &auth)
	bearer := auth.AccessToken

	// CreateToken(TokenCreationPayload{Ttl: 3600})
	res = goRequest("POST", "/upload-tokens", bearer, `{"ttl":3600}`+"\n").Run(t, a)
	if res.Code != 200 {
		t.Fatalf("POST /upload-tokens: %d %s", res.Code, clip(res.Body))
	}
	var tok struct {
		Token string `json:"token"`
		TTL   int32  `json:"ttl"` // The Go client decodes into *int32.
	}
	res.decode(t, &tok)

	// List(ctx, UploadTokensApiListRequest{}.SortBy("ttl")...)
	res = goRequest("GET", "/upload-tokens?currentPage=1&pageSize=30&sortBy=ttl&sortOrder=asc", bearer, "").Run(t, a)
	if res.Code != 200 || !strings.Contains(string(res.Body), tok.Token) {
		t.Errorf("GET /upload-tokens: %d %s", res.Code, clip(res.Body))
	}
	goRequest("GET", "/upload-tokens/"+tok.Token, bearer, "").Run(t, a)

	// CreateUploadWithUploadTokenStream(token, nil): UploadPart, UploadPart,
	// UploadLastPart. The file name is passed as given, directories and
	// all; the videoId field follows the file.
	data := randomData(204, 2*partSize+100)
	id := ""
	for i, c := range split(data, partSize) {
		cr := fmt.Sprintf("part %d/*", i+1)
		if i == 2 {
			cr = "part 3/3"
		}
		p := []formPart{file("dir/my video.mp4", c)}
		if i > 0 {
			p = append(p, field("videoId", id))
		}
		h := map[string]string{"Accept": "application/json", "AV-Origin-Client": "go:1.4.5", "Authorization": "Bearer " + bearer}
		v := a.uploadOK(t, upload{token: tok.Token, contentRange: cr, parts: p, header: h})
		if id != "" && v.VideoID != id {
			t.Fatalf("%s: videoId=%q, want=%q", cr, v.VideoID, id)
		}
		id = v.VideoID
		if got, want := v.Title, "my video.mp4"; got != want {
			t.Errorf("%s: title=%q, want=%q", cr, got, want)
		}
	}
	a.wantSource(t, id, data)

	// GetStatus decodes filesize into an int32.
	res = goRequest("GET", "/videos/"+id+"/status", bearer, "").Run(t, a)
	var st struct {
		Ingest struct {
			Filesize int32 `json:"filesize"`
		} `json:"ingest"`
	}
	if err := json.Unmarshal(res.Body, &st); err != nil || st.Ingest.Filesize != int32(len(data)) {
		t.Errorf("status: %s (%v)", clip(res.Body), err)
	}

	// Update(videoId, VideoUpdatePayload{Title: ...}) sends omitempty JSON
	// with explicit nulls for playerId and language.
	res = goRequest("PATCH", "/videos/"+id, bearer, `{"title":"Renamed","playerId":null,"language":null}`+"\n").Run(t, a)
	if got := wantVideo(t, res, 200); got.Title != "Renamed" {
		t.Errorf("title after PATCH=%q, want Renamed", got.Title)
	}

	// DeleteToken sends no body and reads none.
	goRequest("DELETE", "/upload-tokens/"+tok.Token, bearer, "").Run(t, a)
	httpTest{
		Method:    "GET",
		URL:       "/upload-tokens/" + tok.Token,
		ReqHeader: map[string]string{"Authorization": "Bearer " + bearer},
		Code:      404,
	}.Run(t, a)
}

// TestGoUploadWithUploadToken replays the Go client's one-call upload:
// a file larger than the chunk size goes as "part i/N" without videoId,
// in one video; a smaller one goes in one request without Content-Range.
func TestGoUploadWithUploadToken(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	tok := a.createToken(t, 0)
	h := map[string]string{"Accept": "application/json", "AV-Origin-Client": "go:1.4.5"}

	data := randomData(205, partSize+partSize/2)
	var ids []string
	for i, c := range split(data, partSize) {
		v := a.uploadOK(t, upload{token: tok, contentRange: fmt.Sprintf("part %d/2", i+1), parts: []formPart{file("/home/me/videos/big.mp4", c)}, header: h})
		ids = append(ids, v.VideoID)
	}
	if ids[0] != ids[1] {
		t.Fatalf("the chunks landed in videos %v, want one", ids)
	}
	a.wantSource(t, ids[0], data)

	small := randomData(206, 4096)
	v := a.uploadOK(t, upload{token: tok, parts: []formPart{file("small.mp4", small)}, header: h})
	if v.VideoID == ids[0] {
		t.Errorf("a new upload joined the finished video %s", v.VideoID)
	}
	a.wantSource(t, v.VideoID, small)
}

// TestUploadIgnoresAuthorization: /upload ignores whatever Authorization
// header arrives; only the token counts.
func TestUploadIgnoresAuthorization(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	tok := a.createToken(t, 0)
	data := randomData(207, 500)
	for _, tt := range []struct {
		description string
		value       string
	}{
		{"empty", ""},
		{"valid Basic", a.basic()},
		{"wrong Basic", basicAuth("wrong")},
		{"garbage Bearer", "Bearer nope"},
		{"unknown scheme", "Digest x"},
	} {
		v := a.uploadOK(t, upload{token: tok, parts: []formPart{file(tt.description+".mp4", data)}, header: map[string]string{"Authorization": tt.value}})
		a.wantSource(t, v.VideoID, data)
	}
}

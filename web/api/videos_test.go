package api_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The video endpoints (api-contract.md 5 and 11.6).

func TestVideoCreateThenUploadInto(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	v := a.createVideo(t, `{"title":"Maths video","description":"String theory","public":false,"tags":["maths","video"],`+
		`"metadata":[{"key":"Author","value":"John Doe"}],"language":"en"}`)
	if v.Title != "Maths video" || v.Description != "String theory" || v.Public || !v.MP4Support ||
		fmt.Sprint(v.Tags) != "[maths video]" || fmt.Sprint(v.Metadata) != "[{Author John Doe}]" ||
		v.Language == nil || *v.Language != "en" || v.LanguageOrigin == nil || *v.LanguageOrigin != "api" {
		t.Errorf("created video=%+v", v)
	}
	if v.CreatedAt != atomT0 {
		t.Errorf("createdAt=%q, want=%q", v.CreatedAt, atomT0)
	}
	if v.Assets.MP4 != "" {
		t.Errorf("assets.mp4=%q on an empty video", v.Assets.MP4)
	}
	// No byte yet: no source, and no ingest in the status.
	a.wantProblem(t, a.do(t, "GET", "/videos/"+v.VideoID+"/source", ""), 404, "resource-not-found", "videoId")
	if st := a.status(t, v.VideoID); st.Ingest != nil || st.Encoding.Playable {
		t.Errorf("status of an empty video=%s playable=%v", st, st.Encoding.Playable)
	}

	// A token upload fills it through videoId; it keeps its own title.
	tok := a.createToken(t, 0)
	data := randomData(300, partSize+1234)
	a.clock.Advance(time.Minute)
	first := a.uploadOK(t, upload{token: tok, contentRange: "part 1/2", parts: []formPart{field("videoId", v.VideoID), file("upload.mp4", data[:partSize])}})
	last := a.uploadOK(t, upload{token: tok, contentRange: "part 2/2", parts: []formPart{file("upload.mp4", data[partSize:]), field("videoId", v.VideoID)}})
	for _, got := range []video{first, last} {
		if got.VideoID != v.VideoID || got.Title != "Maths video" || fmt.Sprint(got.Tags) != "[maths video]" {
			t.Errorf("after upload: %+v", got)
		}
	}
	if got, want := last.Assets.MP4, a.url+"/videos/"+v.VideoID+"/source"; got != want {
		t.Errorf("assets.mp4=%q, want=%q", got, want)
	}
	if got, want := a.videoCount(t), 1; got != want {
		t.Errorf("videos=%d, want=%d", got, want)
	}
	a.wantSource(t, v.VideoID, data)
}

func TestVideoCreateBadInput(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	before := a.snapshot(t)
	for _, tt := range []struct {
		description string
		body        string
		problem     string
		name        string
	}{
		{"no title", `{"description":"x"}`, "attribute-required", "title"},
		{"blank title", `{"title":"  "}`, "attribute-required", "title"},
		{"title not a string", `{"title":7}`, "invalid-attribute", "title"},
		{"tags not an array", `{"title":"x","tags":"a,b"}`, "invalid-attribute", "tags"},
		{"metadata as a map", `{"title":"x","metadata":{"k":"v"}}`, "invalid-attribute", "metadata"},
		{"unknown language", `{"title":"x","language":"xx"}`, "invalid-attribute", "language"},
		{"a source URL", `{"title":"x","source":"https://example.com/a.mp4"}`, "invalid-attribute", "source"},
		{"not JSON", `title=x`, "invalid-payload", ""},
	} {
		t.Run(tt.description, func(t *testing.T) {
			a.wantProblem(t, a.do(t, "POST", "/videos", tt.body), 400, tt.problem, tt.name)
		})
	}
	a.wantUnchanged(t, before)
}

func TestVideoGetUpdate(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	v := a.createVideo(t, `{"title":"Original","tags":["a","b"],"metadata":[{"key":"k1","value":"v1"},{"key":"k2","value":"v2"}]}`)
	path := "/videos/" + v.VideoID

	got := wantVideo(t, a.do(t, "GET", path, ""), 200)
	if got.Title != "Original" || fmt.Sprint(got.Tags) != "[a b]" || got.Language != nil {
		t.Errorf("GET=%+v", got)
	}

	a.clock.Advance(time.Hour)
	tests := []struct {
		description string
		body        string
		check       func(v video) string // Returns what is wrong, or "".
	}{
		{"title", `{"title":"New title"}`, func(v video) string {
			return unless(v.Title == "New title" && fmt.Sprint(v.Tags) == "[a b]", "title not set, or tags touched")
		}},
		{"description", `{"description":"About it"}`, func(v video) string {
			return unless(v.Description == "About it" && v.Title == "New title", "description not set, or title touched")
		}},
		{"tags replace the list", `{"tags":["c"]}`, func(v video) string {
			return unless(fmt.Sprint(v.Tags) == "[c]", "tags=%v", v.Tags)
		}},
		{"metadata replaces the list", `{"metadata":[{"key":"k3","value":"v3"}]}`, func(v video) string {
			return unless(fmt.Sprint(v.Metadata) == "[{k3 v3}]", "metadata=%v", v.Metadata)
		}},
		{"empty tags clear them", `{"tags":[]}`, func(v video) string {
			return unless(v.Tags != nil && len(v.Tags) == 0, "tags=%v", v.Tags)
		}},
		{"language", `{"language":"fr"}`, func(v video) string {
			return unless(v.Language != nil && *v.Language == "fr" && v.LanguageOrigin != nil && *v.LanguageOrigin == "api", "language=%v origin=%v", v.Language, v.LanguageOrigin)
		}},
		{"language null clears it", `{"language":null}`, func(v video) string {
			return unless(v.Language == nil, "language=%v", v.Language)
		}},
		{"booleans", `{"public":false,"panoramic":true,"mp4Support":false}`, func(v video) string {
			return unless(!v.Public && v.Panoramic && !v.MP4Support, "public=%v panoramic=%v mp4Support=%v", v.Public, v.Panoramic, v.MP4Support)
		}},
		{"empty object changes nothing", `{}`, func(v video) string {
			return unless(v.Title == "New title" && !v.Public, "video changed: %+v", v)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.description, func(t *testing.T) {
			r := a.do(t, "PATCH", path, tt.body)
			patched := wantVideo(t, r, 200)
			if msg := tt.check(patched); msg != "" {
				t.Errorf("PATCH %s: %s", tt.body, msg)
			}
			// GET reads back what PATCH answered.
			if g := a.do(t, "GET", path, ""); string(g.Body) != string(r.Body) {
				t.Errorf("GET after PATCH=%s\nwant=%s", g.Body, r.Body)
			}
		})
	}
	if got := wantVideo(t, a.do(t, "GET", path, ""), 200); got.UpdatedAt != atom(t0.Add(time.Hour)) || got.CreatedAt != atomT0 {
		t.Errorf("createdAt=%q updatedAt=%q, want %q and %q", got.CreatedAt, got.UpdatedAt, atomT0, atom(t0.Add(time.Hour)))
	}
}

func TestVideoUpdateBadInput(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	v := a.createVideo(t, `{"title":"Keep","tags":["t"]}`)
	path := "/videos/" + v.VideoID
	before := a.snapshot(t, v.VideoID)
	for _, tt := range []struct {
		description string
		body        string
		problem     string
		name        string
	}{
		{"title not a string", `{"title":5}`, "invalid-attribute", "title"},
		{"empty title", `{"title":""}`, "invalid-attribute", "title"},
		{"tags not an array", `{"tags":"x"}`, "invalid-attribute", "tags"},
		{"tags of numbers", `{"tags":[1,2]}`, "invalid-attribute", "tags"},
		{"metadata not an array", `{"metadata":{"k":"v"}}`, "invalid-attribute", "metadata"},
		{"metadata pair without key", `{"metadata":[{"value":"v"}]}`, "invalid-attribute", "metadata"},
		{"public not a boolean", `{"public":"yes"}`, "invalid-attribute", "public"},
		{"unknown language", `{"language":"klingon"}`, "invalid-attribute", "language"},
		{"language not a string", `{"language":3}`, "invalid-attribute", "language"},
		{"malformed playerId", `{"playerId":"x"}`, "invalid-attribute", "playerId"},
		{"title too long", `{"title":"` + strings.Repeat("t", 1025) + `"}`, "invalid-attribute", "title"},
		{"not JSON", `{"title":`, "invalid-payload", ""},
		{"empty body", ``, "invalid-payload", ""},
	} {
		t.Run(tt.description, func(t *testing.T) {
			a.wantProblem(t, a.do(t, "PATCH", path, tt.body), 400, tt.problem, tt.name)
		})
	}
	a.wantUnchanged(t, before)
}

func TestVideoNotFound(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	for _, id := range []string{"vi0000000000000000000000", "nope", "to0000000000000000000000"} {
		for _, route := range []struct{ method, path, body string }{
			{"GET", "/videos/" + id, ""},
			{"PATCH", "/videos/" + id, `{"title":"x"}`},
			{"DELETE", "/videos/" + id, ""},
			{"GET", "/videos/" + id + "/status", ""},
			{"GET", "/videos/" + id + "/source", ""},
		} {
			t.Run(route.method+" "+route.path, func(t *testing.T) {
				a.wantProblem(t, a.do(t, route.method, route.path, route.body), 404, "resource-not-found", "videoId")
			})
		}
	}
}

func TestVideoDelete(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	tok := a.createToken(t, 0)
	data := randomData(301, partSize+10)
	done := a.uploadOK(t, upload{token: tok, parts: []formPart{file("done.mp4", data)}})
	open := a.uploadOK(t, upload{token: tok, contentRange: "part 1/2", parts: []formPart{file("open.mp4", data[:partSize])}})
	empty := a.createVideo(t, `{"title":"empty"}`)
	if len(a.blobFiles(t)) == 0 {
		t.Fatal("no blob files after two uploads")
	}

	for _, v := range []video{done, open, empty} {
		httpTest{
			Method:    "DELETE",
			URL:       "/videos/" + v.VideoID,
			ReqHeader: map[string]string{"Authorization": a.basic(), "Content-Type": "application/json"},
			Code:      204,
			ResHeader: map[string]string{"Content-Type": ""},
			ResBody:   "",
		}.Run(t, a)
		a.wantProblem(t, a.do(t, "GET", "/videos/"+v.VideoID, ""), 404, "resource-not-found", "videoId")
		a.wantProblem(t, a.do(t, "GET", "/videos/"+v.VideoID+"/source", ""), 404, "resource-not-found", "videoId")
		a.wantProblem(t, a.do(t, "DELETE", "/videos/"+v.VideoID, ""), 404, "resource-not-found", "videoId")
	}
	if files := a.blobFiles(t); len(files) != 0 {
		t.Errorf("blob files left after deleting every video: %v", files)
	}
	if got := a.videoCount(t); got != 0 {
		t.Errorf("videos=%d, want 0", got)
	}
	// The deleted upload takes no further parts.
	r := a.upload(t, upload{token: tok, contentRange: "part 2/2", parts: []formPart{field("videoId", open.VideoID), file("open.mp4", data[partSize:])}})
	a.wantProblem(t, r, 404, "resource-not-found", "videoId")
	if files := a.blobFiles(t); len(files) != 0 {
		t.Errorf("blob files after a part for a deleted video: %v", files)
	}
}

func TestVideoList(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	mk := func(body string) string {
		id := a.createVideo(t, body).VideoID
		a.clock.Advance(time.Minute)
		return id
	}
	v1 := mk(`{"title":"Cooking pasta","tags":["food","italy"],"metadata":[{"key":"lang","value":"it"}]}`)
	v2 := mk(`{"title":"Alpine hiking","tags":["sport","italy"],"metadata":[{"key":"lang","value":"de"}]}`)
	v3 := mk(`{"title":"Baking bread","tags":["food"],"metadata":[{"key":"lang","value":"de"},{"key":"level","value":"easy"}],"description":"Sourdough"}`)
	// v4 comes from a token upload; its title is its file name.
	tok := a.createToken(t, 0)
	v4 := a.uploadOK(t, upload{token: tok, parts: []formPart{file("dir/zebra pasta.mp4", []byte("bytes"))}}).VideoID
	a.clock.Advance(time.Minute)
	// Renaming v1 later makes it the most recently updated.
	a.do(t, "PATCH", "/videos/"+v1, `{"description":"Updated"}`)
	names := map[string]string{v1: "1", v2: "2", v3: "3", v4: "4"}

	list := func(t *testing.T, query string) (string, paginationJSON) {
		t.Helper()
		r := a.do(t, "GET", "/videos"+query, "")
		if r.Code != 200 {
			t.Fatalf("GET /videos%s: %d %s", query, r.Code, clip(r.Body))
		}
		if got, want := r.Header.Get("Content-Type"), "application/json"; got != want {
			t.Errorf("Content-Type=%q, want=%q", got, want)
		}
		var l struct {
			Data       []video        `json:"data"`
			Pagination paginationJSON `json:"pagination"`
		}
		r.decode(t, &l)
		if l.Data == nil {
			t.Fatalf("data is not an array: %s", clip(r.Body))
		}
		out := ""
		for _, v := range l.Data {
			out += names[v.VideoID]
		}
		return out, l.Pagination
	}

	tests := []struct {
		description string
		query       string
		want        string
	}{
		{"default: oldest first", "", "1234"},
		{"title substring", "?title=pasta", "14"},
		{"title, case-insensitive", "?title=BAKING", "3"},
		{"description substring", "?description=dough", "3"},
		{"one tag", "?tags[]=food", "13"},
		{"all of two tags", "?tags[]=food&tags[]=italy", "1"},
		{"a tag nobody has", "?tags[]=cars", ""},
		{"metadata pair", "?metadata[lang]=de", "23"},
		{"two metadata pairs", "?metadata[lang]=de&metadata[level]=easy", "3"},
		{"metadata with the wrong value", "?metadata[level]=hard", ""},
		{"tag and title", "?tags[]=italy&title=hiking", "2"},
		{"sort by title", "?sortBy=title", "2314"},
		{"sort by title descending", "?sortBy=title&sortOrder=desc", "4132"},
		{"sort by createdAt descending", "?sortBy=createdAt&sortOrder=desc", "4321"},
		{"sort by updatedAt", "?sortBy=updatedAt", "2341"},
		{"sort by publishedAt", "?sortBy=publishedAt&sortOrder=asc", "1234"},
		{"page 2 of 2", "?pageSize=3&currentPage=2", "4"},
		{"a live stream", "?liveStreamId=li400mYKSgQ6xs7taUeSaEKr", ""},
	}
	for _, tt := range tests {
		t.Run(tt.description, func(t *testing.T) {
			if got, _ := list(t, tt.query); got != tt.want {
				t.Errorf("videos=%q, want=%q", got, tt.want)
			}
		})
	}

	t.Run("pagination", func(t *testing.T) {
		_, p := list(t, "?pageSize=2&currentPage=2&tags[]=italy")
		if p.CurrentPage != 2 || p.PageSize != 2 || p.ItemsTotal != 2 || p.PagesTotal != 1 || p.CurrentPageItems != 0 {
			t.Errorf("pagination=%+v", p)
		}
		_, p = list(t, "?pageSize=1&currentPage=2")
		var rels []string
		for _, l := range p.Links {
			rels = append(rels, l.Rel)
		}
		if got, want := strings.Join(rels, ","), "self,first,previous,next,last"; got != want {
			t.Errorf("rels=%q, want=%q", got, want)
		}
		if got, want := p.Links[len(p.Links)-1].URI, "/videos?currentPage=4&pageSize=1"; got != want {
			t.Errorf("last=%q, want=%q", got, want)
		}
		if p.ItemsTotal != 4 || p.PagesTotal != 4 || p.CurrentPageItems != 1 {
			t.Errorf("pagination=%+v", p)
		}
	})
}

func TestVideoStatusAndSource(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	tok := a.createToken(t, 0)
	data := randomData(302, partSize+300)
	v := a.uploadOK(t, upload{token: tok, contentRange: "part 1/*", parts: []formPart{file("range.mp4", data[:partSize])}})

	st := a.status(t, v.VideoID)
	if st.Ingest == nil || st.Ingest.Status != "uploading" || st.Ingest.Filesize != nil || st.Ingest.ReceivedBytes == nil ||
		st.Ingest.ReceivedParts == nil || st.Ingest.ReceivedParts.Total != nil || st.Encoding.Playable {
		t.Errorf("status while uploading=%s", st)
	}
	a.uploadOK(t, upload{token: tok, contentRange: "part 2/2", parts: []formPart{file("range.mp4", data[partSize:]), field("videoId", v.VideoID)}})
	st = a.status(t, v.VideoID)
	if got, want := st.String(), fmt.Sprintf("uploaded parts=[1 2]/2 filesize=%d", len(data)); got != want || !st.Encoding.Playable {
		t.Errorf("status=%q playable=%v, want=%q and playable", got, st.Encoding.Playable, want)
	}

	src := "/videos/" + v.VideoID + "/source"
	auth := map[string]string{"Authorization": a.basic()}
	res := httpTest{Method: "GET", URL: src, ReqHeader: auth, Code: 200, ResHeader: map[string]string{
		"Content-Type":        "video/mp4",
		"Content-Length":      fmt.Sprint(len(data)),
		"Accept-Ranges":       "bytes",
		"Content-Disposition": `attachment; filename=range.mp4`,
	}}.Run(t, a)
	if sha(res.Body) != sha(data) {
		t.Errorf("the source differs from the upload")
	}

	for _, tt := range []struct {
		description string
		rng         string
		from, to    int // Inclusive.
	}{
		{"first bytes", "bytes=0-99", 0, 99},
		{"across the part boundary", fmt.Sprintf("bytes=%d-%d", partSize-50, partSize+49), partSize - 50, partSize + 49},
		{"suffix", "bytes=-10", len(data) - 10, len(data) - 1},
		{"open end", fmt.Sprintf("bytes=%d-", len(data)-5), len(data) - 5, len(data) - 1},
	} {
		t.Run(tt.description, func(t *testing.T) {
			h := map[string]string{"Authorization": a.basic(), "Range": tt.rng}
			res := httpTest{Method: "GET", URL: src, ReqHeader: h, Code: http.StatusPartialContent, ResHeader: map[string]string{
				"Content-Range": fmt.Sprintf("bytes %d-%d/%d", tt.from, tt.to, len(data)),
			}}.Run(t, a)
			if sha(res.Body) != sha(data[tt.from:tt.to+1]) {
				t.Errorf("Range %s: got %d bytes that differ from the source", tt.rng, len(res.Body))
			}
		})
	}
	httpTest{Method: "GET", URL: src, ReqHeader: map[string]string{"Authorization": a.basic(), "Range": fmt.Sprintf("bytes=%d-", len(data))},
		Code: http.StatusRequestedRangeNotSatisfiable}.Run(t, a)

	// HEAD answers the headers only.
	req, _ := http.NewRequest("HEAD", a.url+src, nil)
	req.Header.Set("Authorization", a.basic())
	hr, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(hr.Body)
	hr.Body.Close()
	if hr.StatusCode != 200 || hr.ContentLength != int64(len(data)) || len(b) != 0 {
		t.Errorf("HEAD: %d, length %d, %d body bytes", hr.StatusCode, hr.ContentLength, len(b))
	}
}

// unless returns the formatted message if ok is false.
func unless(ok bool, format string, args ...any) string {
	if ok {
		return ""
	}
	return fmt.Sprintf(format, args...)
}

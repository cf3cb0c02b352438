package web_test

// Tests of the dashboard's video screens: the list, a video's page with
// its player, editing (seen through the API), deleting (the bytes go), and
// escaping. Videos get real bytes, through the token upload endpoint or
// through a link, as they would in production.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/store/ingest"
	"github.com/uplink-video/uplink/web/links"
)

// vidFile reads a real video from the sniffing tests' samples.
func vidFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("sniff/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// vidUploadWithToken uploads data in one request to POST /upload with a
// new upload token, as an API client would, and returns the video's ID.
func vidUploadWithToken(t *testing.T, a *adminApp, filename string, data []byte) string {
	t.Helper()
	tok, err := a.Store.CreateUploadToken(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", filename)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	resp, err := http.Post(a.URL+"/upload?token="+tok.ID, mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		VideoID string `json:"videoId"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /upload: %d, %v", resp.StatusCode, err)
	}
	return v.VideoID
}

// vidUploadThroughLink sends data through a new link as its uploader's
// browser would, part by part, stopping after `parts` parts (all when
// parts is 0). It returns the link and the video's ID.
func vidUploadThroughLink(t *testing.T, a *adminApp, label string, data []byte, parts int) (store.Link, string) {
	t.Helper()
	ctx := context.Background()
	l, err := a.Links.Create(ctx, links.Spec{Label: label, AskName: true})
	if err != nil {
		t.Fatal(err)
	}
	u, _, err := a.Links.Start(ctx, l.ID, links.StartRequest{
		Filename: "speech.mp4", Size: int64(len(data)), LastModified: 1700000000000,
		Name: "Ada Lovelace", Email: "ada@example.com",
	})
	if err != nil {
		t.Fatal(err)
	}
	if parts == 0 {
		parts = u.TotalParts
	}
	for n := 1; n <= parts; n++ {
		from := int64(n-1) * u.ChunkSize
		part := data[from:min(from+u.ChunkSize, int64(len(data)))]
		if _, err := a.Links.PutPart(ctx, l.ID, u.VideoID, n, int64(len(part)), bytes.NewReader(part)); err != nil {
			t.Fatalf("part %d: %v", n, err)
		}
	}
	return l, u.VideoID
}

// vidAPI calls the API with an API key, and decodes a JSON answer into out
// when out is not nil.
func vidAPI(t *testing.T, a *adminApp, key, method, path string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, a.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(key+":")))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

// vidRow returns the list row of the video with the given ID as
// "title | size | link | uploader | status".
func vidRow(t *testing.T, a *adminApp, path, id string) string {
	t.Helper()
	doc := a.getPage(t, path)
	row := doc.Find(`[data-testid="video-row"][data-video-id="` + id + `"]`)
	if row.Length() != 1 {
		t.Fatalf("GET %s: %d rows for %s, want 1", path, row.Length(), id)
	}
	var cells []string
	for _, f := range []string{"video-title", "video-size", "video-link", "video-uploader", "video-status"} {
		cells = append(cells, strings.Join(strings.Fields(row.Find(`[data-testid="`+f+`"]`).Text()), " "))
	}
	return strings.Join(cells, " | ")
}

func TestVideoListShowsUploads(t *testing.T) {
	a := newAdminApp(t)
	mp4 := vidFile(t, "h264-aac-faststart.mp4")
	direct := vidUploadWithToken(t, a, "direct.webm", vidFile(t, "vp9-opus.webm"))
	a.Clock.Advance(time.Minute)
	l, viaLink := vidUploadThroughLink(t, a, "Wedding guests", mp4, 0)
	a.Clock.Advance(time.Minute)
	// Two parts of 5 MiB, of which only the first arrives.
	big := make([]byte, 2*ingest.MinPartSize)
	rand.New(rand.NewSource(1)).Read(big)
	copy(big, mp4)
	_, partial := vidUploadThroughLink(t, a, "Big file", big, 1)
	a.Clock.Advance(time.Minute)
	empty, err := a.Store.CreateVideo(context.Background(), store.VideoCreate{Title: "Announced"})
	if err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		description string
		id          string
		want        string
	}{
		{"uploaded with a token", direct, "direct.webm | 85 KiB | API |  | Uploaded"},
		{"uploaded through a link", viaLink, "speech.mp4 | 126 KiB | Wedding guests | Ada Lovelace | Uploaded"},
		{"half uploaded through a link", partial, "speech.mp4 | 5.0 MiB of 10 MiB | Big file | Ada Lovelace | Uploading 50%"},
		{"no file yet", empty.ID, "Announced | — | API |  | Waiting for the file"},
	} {
		if got := vidRow(t, a, "/admin/videos", tt.id); got != tt.want {
			t.Errorf("%s: row=%q, want=%q", tt.description, got, tt.want)
		}
	}

	doc := a.getPage(t, "/admin/videos")
	if got, want := doc.Find("title").Text(), "Videos · uplink"; got != want {
		t.Errorf("title=%q, want=%q", got, want)
	}
	ids := doc.Find(`[data-testid="video-row"]`).Map(func(_ int, s *goquery.Selection) string {
		id, _ := s.Attr("data-video-id")
		return id
	})
	if got, want := fmt.Sprint(ids), fmt.Sprint([]string{empty.ID, partial, viaLink, direct}); got != want {
		t.Errorf("order=%s, want newest first %s", got, want)
	}
	row := doc.Find(`[data-video-id="` + viaLink + `"]`)
	if href, _ := row.Find(`[data-testid="video-link"] a`).Attr("href"); href != "/admin/links/"+l.ID {
		t.Errorf("link cell points to %q, want the link's page", href)
	}
	if href, _ := row.Find(`[data-testid="video-title"]`).Attr("href"); href != "/admin/videos/"+viaLink {
		t.Errorf("title points to %q, want the video's page", href)
	}
	if got := doc.Find(`progress`).Length(); got != 1 {
		t.Errorf("%d progress bars, want 1 (for the upload in progress)", got)
	}
}

func TestVideoListEmpty(t *testing.T) {
	a := newAdminApp(t)
	doc := a.getPage(t, "/admin/videos")
	empty := testID(doc, "empty")
	if got, want := strings.Join(strings.Fields(empty.Text()), " "), "No videos yet: share a link to receive one."; got != want {
		t.Errorf("empty state=%q, want=%q", got, want)
	}
	if href, _ := empty.Find("a").Attr("href"); href != "/admin/links/new" {
		t.Errorf("empty state links to %q, want /admin/links/new", href)
	}
}

func TestVideoListSearchAndPages(t *testing.T) {
	a := newAdminApp(t)
	ctx := context.Background()
	var ids []string // Oldest first.
	for i := range 30 {
		title := fmt.Sprintf("Clip %02d", i)
		if i%10 == 3 {
			title = fmt.Sprintf("Needle %02d 100%%", i)
		}
		v, err := a.Store.CreateVideo(ctx, store.VideoCreate{Title: title})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, v.ID)
		a.Clock.Advance(time.Second)
	}
	rowIDs := func(path string) (string, *goquery.Document) {
		doc := a.getPage(t, path)
		var got []string
		doc.Find(`[data-testid="video-row"]`).Each(func(_ int, s *goquery.Selection) {
			id, _ := s.Attr("data-video-id")
			got = append(got, id)
		})
		return strings.Join(got, " "), doc
	}
	newestFirst := func(from, to int) string {
		var want []string
		for i := to; i >= from; i-- {
			want = append(want, ids[i])
		}
		return strings.Join(want, " ")
	}

	got, doc := rowIDs("/admin/videos")
	if want := newestFirst(5, 29); got != want {
		t.Errorf("page 1:\n got=%s\nwant=%s", got, want)
	}
	if href, _ := testID(doc, "next-page").Attr("href"); href != "/admin/videos?page=2" {
		t.Errorf("next page link=%q", href)
	}
	if testID(doc, "prev-page").Length() != 0 {
		t.Error("page 1 has a previous page link")
	}
	got, doc = rowIDs("/admin/videos?page=2")
	if want := newestFirst(0, 4); got != want {
		t.Errorf("page 2:\n got=%s\nwant=%s", got, want)
	}
	if href, _ := testID(doc, "prev-page").Attr("href"); href != "/admin/videos" {
		t.Errorf("previous page link=%q", href)
	}
	if got, want := strings.Join(strings.Fields(testID(doc, "pager").Text()), " "), "Previous Page 2 of 2"; got != want {
		t.Errorf("pager=%q, want=%q", got, want)
	}

	got, doc = rowIDs("/admin/videos?q=" + url.QueryEscape("needle"))
	if want := strings.Join([]string{ids[23], ids[13], ids[3]}, " "); got != want {
		t.Errorf("search for needle:\n got=%s\nwant=%s", got, want)
	}
	if v, _ := doc.Find(`input[name="q"]`).Attr("value"); v != "needle" {
		t.Errorf("search field=%q, want what was typed", v)
	}
	if testID(doc, "pager").Length() != 0 {
		t.Error("one page of results has a pager")
	}
	if got, _ := rowIDs("/admin/videos?q=" + url.QueryEscape("0%")); got != strings.Join([]string{ids[23], ids[13], ids[3]}, " ") {
		t.Errorf("search for a literal %%: got=%s", got)
	}

	_, doc = rowIDs("/admin/videos?q=nothing")
	if got := strings.Join(strings.Fields(testID(doc, "empty").Text()), " "); !strings.Contains(got, "No video title contains “nothing”") {
		t.Errorf("no results: %q", got)
	}

	resp, _ := a.getResponse(t, "/admin/videos?page=9", nil)
	if got, want := resp.StatusCode, http.StatusSeeOther; got != want {
		t.Errorf("page past the end: status=%d, want=%d", got, want)
	}
	if got, want := resp.Header.Get("Location"), "/admin/videos?page=2"; got != want {
		t.Errorf("page past the end: Location=%q, want=%q", got, want)
	}
}

func TestVideoPlayerStreamsTheSourceWithRange(t *testing.T) {
	a := newAdminApp(t)
	webm := vidFile(t, "vp9-opus.webm")
	mp4 := vidFile(t, "h264-aac-faststart.mp4")
	// The name says MP4; the content decides the type.
	webmID := vidUploadWithToken(t, a, "clip.mp4", webm)
	_, mp4ID := vidUploadThroughLink(t, a, "Interviews", mp4, 0)

	for _, tt := range []struct {
		description string
		id          string
		data        []byte
		ctype       string
		filename    string
	}{
		{"webm named .mp4", webmID, webm, "video/webm", "clip.mp4"},
		{"mp4 through a link", mp4ID, mp4, "video/mp4", "speech.mp4"},
	} {
		doc := a.getPage(t, "/admin/videos/"+tt.id)
		player := testID(doc, "video-player")
		if player.Length() != 1 || player.Nodes[0].Data != "video" {
			t.Fatalf("%s: no <video> player", tt.description)
		}
		src, _ := player.Attr("src")
		if _, ok := player.Attr("controls"); !ok {
			t.Errorf("%s: the player has no controls", tt.description)
		}
		if p, _ := player.Attr("preload"); p != "metadata" {
			t.Errorf("%s: preload=%q, want metadata", tt.description, p)
		}
		if src != "/admin/videos/"+tt.id+"/source" {
			t.Errorf("%s: src=%q", tt.description, src)
		}

		resp, body := a.getResponse(t, src, http.Header{"Range": {"bytes=100-1099"}})
		if got, want := resp.StatusCode, http.StatusPartialContent; got != want {
			t.Fatalf("%s: Range request: status=%d, want=%d", tt.description, got, want)
		}
		if body != string(tt.data[100:1100]) {
			t.Errorf("%s: Range request: got %d bytes that differ from the file's 100-1099", tt.description, len(body))
		}
		for h, want := range map[string]string{
			"Content-Type":        tt.ctype,
			"Content-Range":       fmt.Sprintf("bytes 100-1099/%d", len(tt.data)),
			"Accept-Ranges":       "bytes",
			"Content-Disposition": `inline; filename=` + tt.filename,
		} {
			if got := resp.Header.Get(h); got != want {
				t.Errorf("%s: %s=%q, want=%q", tt.description, h, got, want)
			}
		}

		dl, _ := testID(doc, "video-download").Attr("href")
		resp, body = a.getResponse(t, dl, nil)
		if resp.StatusCode != http.StatusOK || body != string(tt.data) {
			t.Errorf("%s: download: status %d, %d bytes, want 200 and the whole file", tt.description, resp.StatusCode, len(body))
		}
		if got, want := resp.Header.Get("Content-Disposition"), `attachment; filename=`+tt.filename; got != want {
			t.Errorf("%s: download: Content-Disposition=%q, want=%q", tt.description, got, want)
		}
	}

	// The page shows what is known of the file.
	doc := a.getPage(t, "/admin/videos/"+mp4ID)
	for id, want := range map[string]string{
		"video-filename": "speech.mp4",
		"video-size":     "126 KiB",
		"video-sha256":   vidSHA256(mp4),
		"video-uploader": "Ada Lovelace ada@example.com",
		"video-link":     "Interviews",
		"video-status":   "Uploaded",
	} {
		if got := strings.Join(strings.Fields(testID(doc, id).Text()), " "); got != want {
			t.Errorf("detail %s=%q, want=%q", id, got, want)
		}
	}
	if got, want := doc.Find("title").Text(), "speech.mp4 · uplink"; got != want {
		t.Errorf("title=%q, want=%q", got, want)
	}

	// Without a session, the source is not served.
	resp, err := http.Get(a.URL + "/admin/videos/" + mp4ID + "/source")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if bytes.Contains(body, mp4[:1000]) {
		t.Error("the source was served without a session")
	}
}

func TestVideoSourceOfAnUnfinishedUpload(t *testing.T) {
	a := newAdminApp(t)
	big := make([]byte, 2*ingest.MinPartSize)
	copy(big, vidFile(t, "h264-aac-faststart.mp4"))
	_, id := vidUploadThroughLink(t, a, "Big file", big, 1)
	doc := a.getPage(t, "/admin/videos/"+id)
	if testID(doc, "video-player").Length() != 0 {
		t.Error("a half-uploaded video has a player")
	}
	if got := testID(doc, "video-not-ready").Text(); !strings.Contains(got, "still uploading (50%)") {
		t.Errorf("not-ready note=%q", got)
	}
	if status, _ := a.get(t, "/admin/videos/"+id+"/source"); status != http.StatusNotFound {
		t.Errorf("source of an unfinished upload: %d, want 404", status)
	}
}

func vidSHA256(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func TestVideoEditShowsInTheAPI(t *testing.T) {
	a := newAdminApp(t)
	id := vidUploadWithToken(t, a, "raw.webm", vidFile(t, "vp9-opus.webm"))
	_, key, err := a.Store.CreateAPIKey(context.Background(), "test")
	if err != nil {
		t.Fatal(err)
	}
	a.getPage(t, "/admin/videos/"+id)
	status, body, loc := a.postForm(t, "/admin/videos/"+id, url.Values{
		"title":       {"  Keynote 2026  "},
		"description": {"Line one\r\nLine two"},
		"tags":        {"conference, keynote\n  stage ,,\n"},
		"metadata":    {"speaker = Ada\r\n\r\nroom=B=2\n"},
	})
	if status != http.StatusSeeOther || loc != "/admin/videos/"+id+"?done=video-saved" {
		t.Fatalf("POST: %d to %q, want 303 to the video with a notice\n%s", status, loc, body)
	}
	doc := a.getPage(t, loc)
	if got := testID(doc, "flash").Text(); got != "The video's details were saved." {
		t.Errorf("flash=%q", got)
	}

	var v struct {
		Title       string           `json:"title"`
		Description string           `json:"description"`
		Tags        []string         `json:"tags"`
		Metadata    []store.Metadata `json:"metadata"`
	}
	if status := vidAPI(t, a, key, http.MethodGet, "/videos/"+id, &v); status != http.StatusOK {
		t.Fatalf("GET /videos/%s: %d", id, status)
	}
	for _, tt := range []struct {
		description string
		got, want   string
	}{
		{"title, trimmed", v.Title, "Keynote 2026"},
		{"description, with line feeds", v.Description, "Line one\nLine two"},
		{"tags, split at commas and lines", fmt.Sprint(v.Tags), "[conference keynote stage]"},
		{"metadata, split at the first =", fmt.Sprint(v.Metadata), "[{speaker Ada} {room B=2}]"},
	} {
		if tt.got != tt.want {
			t.Errorf("API %s=%q, want=%q", tt.description, tt.got, tt.want)
		}
	}

	// The form shows the saved values back.
	for name, want := range map[string]string{
		"title": "Keynote 2026", "description": "Line one\nLine two",
		"tags": "conference, keynote, stage", "metadata": "speaker=Ada\nroom=B=2",
	} {
		if got := vidField(doc, name); got != want {
			t.Errorf("form %s=%q, want=%q", name, got, want)
		}
	}
	if got := testID(doc, "video-heading").Text(); got != "Keynote 2026" {
		t.Errorf("heading=%q", got)
	}

	// Emptying tags and metadata clears them.
	a.postForm(t, "/admin/videos/"+id, url.Values{"title": {"Keynote 2026"}, "description": {""}, "tags": {""}, "metadata": {""}})
	vidAPI(t, a, key, http.MethodGet, "/videos/"+id, &v)
	if len(v.Tags) != 0 || len(v.Metadata) != 0 || v.Description != "" {
		t.Errorf("after clearing: tags=%v metadata=%v description=%q", v.Tags, v.Metadata, v.Description)
	}
}

// vidField returns the value of the form field with the given name (and
// data-testid): an input's value or a textarea's text.
func vidField(doc *goquery.Document, name string) string {
	f := testID(doc, name)
	if v, ok := f.Attr("value"); ok {
		return v
	}
	return f.Text()
}

func TestVideoEditRefusesInvalidValues(t *testing.T) {
	a := newAdminApp(t)
	id := vidUploadWithToken(t, a, "raw.webm", vidFile(t, "vp9-opus.webm"))
	tooManyTags := strings.Repeat("t,", 101)
	for _, tt := range []struct {
		description string
		form        url.Values
		field       string // The field with the error.
		wantError   string
	}{
		{"title too long", url.Values{"title": {strings.Repeat("é", 1025)}}, "title", "Title is limited to 1024 characters."},
		{"NUL in the description", url.Values{"description": {"a\x00b"}}, "description", "Description must not contain NUL characters."},
		{"too many tags", url.Values{"tags": {tooManyTags}}, "tags", "A video has at most 100 tags."},
		{"a tag too long", url.Values{"tags": {"ok, " + strings.Repeat("x", 256)}}, "tags", "Tags is limited to 255 characters."},
		{"metadata line without =", url.Values{"metadata": {"a=1\nno pair here"}}, "metadata", "Line 2 has no “=”: write each pair as key=value."},
		{"metadata without a key", url.Values{"metadata": {" = value"}}, "metadata", "Line 1 has no key before its “=”."},
		{"metadata value too long", url.Values{"metadata": {"k=" + strings.Repeat("v", 1025)}}, "metadata", "Metadata is limited to 1024 characters."},
	} {
		form := url.Values{"title": {"Kept title"}, "description": {"Kept description"}, "tags": {"kept"}, "metadata": {"kept=yes"}}
		for k, v := range tt.form {
			form[k] = v
		}
		a.getPage(t, "/admin/videos/"+id)
		status, body, _ := a.postForm(t, "/admin/videos/"+id, form)
		if status != http.StatusUnprocessableEntity {
			t.Errorf("%s: status=%d, want=422", tt.description, status)
			continue
		}
		doc := parseHTML(t, body)
		if got := testID(doc, tt.field+"-error").Text(); got != tt.wantError {
			t.Errorf("%s: error=%q, want=%q", tt.description, got, tt.wantError)
		}
		field := testID(doc, tt.field)
		if inv, _ := field.Attr("aria-invalid"); inv != "true" {
			t.Errorf("%s: the field is not marked invalid", tt.description)
		}
		if d, _ := field.Attr("aria-describedby"); !strings.Contains(d, tt.field+"-error") {
			t.Errorf("%s: aria-describedby=%q does not name the error", tt.description, d)
		}
		if n := doc.Find(".field-error").Length(); n != 1 {
			t.Errorf("%s: %d field errors, want 1", tt.description, n)
		}
		for name, v := range form {
			// HTML parsers read NUL as U+FFFD, as browsers do.
			want := strings.NewReplacer("\r\n", "\n", "\x00", "\uFFFD").Replace(v[0])
			if got := vidField(doc, name); got != want && !(name == "title" && got == strings.TrimSpace(want)) {
				t.Errorf("%s: field %s not kept: got %d characters, want %d", tt.description, name, len(got), len(want))
			}
		}
		if got := doc.Find("title").Text(); !strings.HasPrefix(got, "Error: ") {
			t.Errorf("%s: title=%q, want it to start with Error:", tt.description, got)
		}
	}
	v, err := a.Store.FindVideo(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if v.Title != "raw.webm" || len(v.Tags) != 0 {
		t.Errorf("refused edits changed the video: title=%q tags=%v", v.Title, v.Tags)
	}
}

func TestVideoEditKeepsValuesTheFormCannotShow(t *testing.T) {
	a := newAdminApp(t)
	ctx := context.Background()
	v, err := a.Store.CreateVideo(ctx, store.VideoCreate{
		Title: "Odd", Tags: []string{"a,b", "c"}, Metadata: []store.Metadata{{Key: "notes", Value: "line 1\nline 2"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	doc := a.getPage(t, "/admin/videos/"+v.ID)
	for _, name := range []string{"tags", "metadata"} {
		f := testID(doc, name)
		if _, ok := f.Attr("readonly"); !ok {
			t.Errorf("%s: not read-only", name)
		}
		if _, ok := f.Attr("name"); ok {
			t.Errorf("%s: sent with the form", name)
		}
	}
	status, _, _ := a.postForm(t, "/admin/videos/"+v.ID, url.Values{"title": {"Renamed"}, "description": {""}})
	if status != http.StatusSeeOther {
		t.Fatalf("POST: %d", status)
	}
	got, err := a.Store.FindVideo(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != "Renamed" || fmt.Sprint(got.Tags) != "[a,b c]" || fmt.Sprint(got.Metadata) != "[{notes line 1\nline 2}]" {
		t.Errorf("after saving: title=%q tags=%q metadata=%q", got.Title, got.Tags, got.Metadata)
	}
}

func TestVideoDeleteRemovesTheFile(t *testing.T) {
	a := newAdminApp(t)
	ctx := context.Background()
	keep := vidUploadWithToken(t, a, "keep.webm", vidFile(t, "vp9-opus.webm"))
	_, id := vidUploadThroughLink(t, a, "Doomed", vidFile(t, "h264-aac-faststart.mp4"), 0)
	u, err := a.Store.FindUpload(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !vidHasBlob(t, a, u.SourceKey) {
		t.Fatalf("the source %s is not on disk before deleting", u.SourceKey)
	}

	doc := a.getPage(t, "/admin/videos/"+id)
	form := testID(doc, "delete").Closest("form")
	if c, _ := form.Attr("data-confirm"); c == "" {
		t.Error("the delete form asks for no confirmation")
	}
	action, _ := form.Attr("action")
	if status, _, _ := a.post(t, action, url.Values{}); status != http.StatusForbidden {
		t.Errorf("delete without the CSRF token: %d, want 403", status)
	}
	status, body, loc := a.postForm(t, action, url.Values{})
	if status != http.StatusSeeOther || loc != "/admin/videos?done=video-deleted" {
		t.Fatalf("delete: %d to %q\n%s", status, loc, body)
	}
	if vidHasBlob(t, a, u.SourceKey) {
		t.Errorf("the source %s is still on disk", u.SourceKey)
	}
	if !vidHasBlob(t, a, mustUpload(t, a, keep).SourceKey) {
		t.Error("the other video's source went too")
	}
	for _, p := range []string{"/admin/videos/" + id, "/admin/videos/" + id + "/source"} {
		if status, _ := a.get(t, p); status != http.StatusNotFound {
			t.Errorf("GET %s after deleting: %d, want 404", p, status)
		}
	}
	doc = a.getPage(t, loc)
	if got := testID(doc, "flash").Text(); got != "The video and its file were deleted." {
		t.Errorf("flash=%q", got)
	}
	if n := doc.Find(`[data-video-id="` + id + `"]`).Length(); n != 0 {
		t.Error("the deleted video is still listed")
	}
	if n := doc.Find(`[data-testid="video-row"]`).Length(); n != 1 {
		t.Errorf("%d rows, want the other video's", n)
	}
	if status, _, _ := a.postForm(t, action, url.Values{}); status != http.StatusNotFound {
		t.Errorf("deleting again: %d, want 404", status)
	}
}

func mustUpload(t *testing.T, a *adminApp, id string) store.Upload {
	t.Helper()
	u, err := a.Store.FindUpload(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// vidHasBlob reports whether the blob store holds key.
func vidHasBlob(t *testing.T, a *adminApp, key string) bool {
	t.Helper()
	found := false
	err := a.Blobs.List(context.Background(), func(i blob.Info) error {
		found = found || i.Key == key
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func TestVideoPagesEscapeTitles(t *testing.T) {
	a := newAdminApp(t)
	const evil = `<script>alert("x")</script><img src=x onerror=alert(1)>`
	v, err := a.Store.CreateVideo(context.Background(), store.VideoCreate{
		Title: evil, Description: "</textarea><script>alert(2)</script>", Tags: []string{"<b>bold</b>"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/admin/videos", "/admin/videos?q=" + url.QueryEscape("<script>"), "/admin/videos/" + v.ID} {
		status, body := a.get(t, p)
		if status != http.StatusOK {
			t.Fatalf("GET %s: %d", p, status)
		}
		for _, raw := range []string{"<script>alert", "<img src=x", "<b>bold", "</textarea><script>"} {
			if strings.Contains(body, raw) {
				t.Errorf("GET %s: the page contains %q unescaped", p, raw)
			}
		}
		doc := parseHTML(t, body)
		if n := doc.Find("script:not([src])").Length(); n != 0 {
			t.Errorf("GET %s: %d inline scripts", p, n)
		}
		if !strings.Contains(doc.Text(), evil) {
			t.Errorf("GET %s: the title is not shown as text", p)
		}
	}
	doc := a.getPage(t, "/admin/videos/"+v.ID)
	if got := vidField(doc, "description"); got != "</textarea><script>alert(2)</script>" {
		t.Errorf("description field=%q", got)
	}
}

func TestVideoPagesNotFound(t *testing.T) {
	a := newAdminApp(t)
	for _, p := range []string{"/admin/videos/nope", "/admin/videos/" + store.NewID(store.PrefixVideo), "/admin/videos/nope/source"} {
		if status, _ := a.get(t, p); status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, status)
		}
	}
	a.getPage(t, "/admin/videos")
	if status, _, _ := a.postForm(t, "/admin/videos/"+store.NewID(store.PrefixVideo), url.Values{"title": {"x"}}); status != http.StatusNotFound {
		t.Errorf("editing an unknown video: %d, want 404", status)
	}
}

package web_test

import (
	"archive/zip"
	"bytes"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/web/links"
)

// videoRowIDs returns the video IDs of the list's rows, in order.
func videoRowIDs(doc *goquery.Document) []string {
	var ids []string
	testID(doc, "video-row").Each(func(_ int, s *goquery.Selection) { ids = append(ids, s.AttrOr("data-video-id", "")) })
	return ids
}

// TestVideoListFiltersAndSorts filters the video list by link and by
// status, and orders it by size and by date, both ways.
func TestVideoListFiltersAndSorts(t *testing.T) {
	a := newAdminApp(t)
	l := seedLink(t, a, links.Spec{Label: "Two files", MaxUploads: 2})
	small := uploadThrough(t, a, l, 3000)
	a.Clock.Advance(time.Second)
	big := uploadThrough(t, a, l, 9000)
	a.Clock.Advance(time.Second)
	v, err := a.Store.CreateVideo(t.Context(), store.VideoCreate{Title: "Waiting"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"", []string{v.ID, big.VideoID, small.VideoID}},
		{"dir=asc", []string{small.VideoID, big.VideoID, v.ID}},
		{"link=" + l.ID, []string{big.VideoID, small.VideoID}},
		{"link=none", []string{v.ID}},
		{"status=waiting", []string{v.ID}},
		{"status=uploaded&sort=size", []string{big.VideoID, small.VideoID}},
		{"status=uploaded&sort=size&dir=asc", []string{small.VideoID, big.VideoID}},
	} {
		doc := a.getPage(t, "/admin/videos?"+tt.query)
		if got := videoRowIDs(doc); !slices.Equal(got, tt.want) {
			t.Errorf("?%s: rows=%v, want=%v", tt.query, got, tt.want)
		}
	}
	doc := a.getPage(t, "/admin/videos?link="+l.ID)
	if got := testID(doc, "video-filter-link").Find("option[selected]").Text(); got != "Two files" {
		t.Errorf("the link menu shows %q chosen", got)
	}
}

// TestVideoBulkZipAndDelete ticks two videos: "Download as ZIP" streams
// one archive whose entries are stored, not compressed, under the
// uploaded names (made unique), byte for byte; "Delete" removes both.
func TestVideoBulkZipAndDelete(t *testing.T) {
	a := newAdminApp(t)
	l := seedLink(t, a, links.Spec{Label: "Two files", MaxUploads: 2})
	first := uploadThrough(t, a, l, 3000)
	second := uploadThrough(t, a, l, 9000)
	a.getPage(t, "/admin/videos")
	ticked := url.Values{"id": {first.VideoID, second.VideoID}, "_csrf": {a.csrfToken()}}
	r := a.do(t, http.MethodPost, "/admin/videos/zip", strings.NewReader(ticked.Encode()), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	if r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != "application/zip" || !strings.Contains(r.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("ZIP: %d %q %q", r.StatusCode, r.Header.Get("Content-Type"), r.Header.Get("Content-Disposition"))
	}
	zr, err := zip.NewReader(bytes.NewReader([]byte(r.body)), int64(len(r.body)))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{"clip.mp4": videoBytes(t, 3000), "clip (2).mp4": videoBytes(t, 9000)}
	if len(zr.File) != len(want) {
		t.Fatalf("entries=%d, want=%d", len(zr.File), len(want))
	}
	for _, f := range zr.File {
		if f.Method != zip.Store {
			t.Errorf("%s: method=%d, want Store", f.Name, f.Method)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, want[f.Name]) {
			t.Errorf("%s: %d bytes that differ from the upload", f.Name, len(b))
		}
	}

	status, _, loc := a.postForm(t, "/admin/videos/delete", url.Values{"id": {first.VideoID, second.VideoID}})
	if status != http.StatusSeeOther || loc != "/admin/videos?done=videos-deleted" {
		t.Fatalf("delete: %d to %q", status, loc)
	}
	if ids := videoRowIDs(a.getPage(t, loc)); len(ids) != 0 {
		t.Errorf("videos left after the bulk delete: %v", ids)
	}
	if status, _, _ := a.postForm(t, "/admin/videos/delete", url.Values{}); status != http.StatusBadRequest {
		t.Errorf("delete with nothing ticked: %d, want 400", status)
	}
}

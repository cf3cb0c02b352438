package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/media/mediatest"
	"github.com/uplink-video/uplink/web/webtest"
)

// runJobs runs the app's processing jobs until none is left.
func runJobs(t *testing.T, w *webtest.App) {
	t.Helper()
	for {
		ran, err := w.Processing.RunOne(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !ran {
			return
		}
	}
}

// TestVideoPagesShowProcessing uploads an AVI and checks the dashboard:
// its thumbnail in the list, its facts, the preview as the player (with
// the thumbnail as poster) and the note that the original is untouched.
func TestVideoPagesShowProcessing(t *testing.T) {
	a := newAdminApp(t, webtest.WithProcessing())
	id := vidUploadWithToken(t, a, "clip.avi", mediatest.Read(t, "mpeg4-mp3.avi"))

	doc := a.getPage(t, "/admin/videos/"+id)
	if got := strings.TrimSpace(testID(doc, "processing-state").Text()); !strings.Contains(got, "Processing") {
		t.Errorf("before the job runs: %q, want Processing", got)
	}
	runJobs(t, a.App)

	doc = a.getPage(t, "/admin/videos")
	thumb, ok := testID(doc, "video-thumbnail").Attr("src")
	if !ok {
		t.Fatal("no thumbnail in the video list")
	}
	code, body := a.get(t, thumb)
	if code != 200 {
		t.Fatalf("GET %s: %d", thumb, code)
	}
	mediatest.CheckPicture(t, []byte(body))
	if got := testID(doc, "video-processing").Text(); got != "Processed" {
		t.Errorf("list badge %q, want Processed", got)
	}

	doc = a.getPage(t, "/admin/videos/"+id)
	player := testID(doc, "video-player")
	src, _ := player.Attr("src")
	poster, _ := player.Attr("poster")
	if src != "/admin/videos/"+id+"/preview.mp4" || poster != thumb {
		t.Errorf("player src=%q poster=%q, want the preview and the thumbnail %q", src, poster, thumb)
	}
	if !strings.Contains(testID(doc, "preview-note").Text(), "original file is kept untouched") {
		t.Error("no note that the original is kept untouched")
	}
	facts := testID(doc, "video-facts").Text()
	for _, want := range []string{"0:03", "320 × 240 (4/3)", "25 fps", "mpeg4", "mp3, 44100 Hz", "avi"} {
		if !strings.Contains(facts, want) {
			t.Errorf("facts %q lack %q", facts, want)
		}
	}
	resp := a.do(t, "GET", src, nil, http.Header{"Range": {"bytes=0-99"}})
	if resp.StatusCode != http.StatusPartialContent || resp.Header.Get("Content-Type") != "video/mp4" {
		t.Errorf("preview: %d %s, want 206 video/mp4", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// TestVideoPageShowsFailedProcessingWithRetry uploads a text file named
// like a video: its page says why processing failed, and Retry queues it
// again.
func TestVideoPageShowsFailedProcessingWithRetry(t *testing.T) {
	a := newAdminApp(t, webtest.WithProcessing())
	id := vidUploadWithToken(t, a, "notes.mp4", mediatest.Read(t, "text-named.mp4"))
	runJobs(t, a.App)
	doc := a.getPage(t, "/admin/videos/"+id)
	failed := testID(doc, "processing-failed")
	if !strings.Contains(failed.Text(), "ffprobe could not read the file") {
		t.Errorf("failure %q, want ffprobe's reason", strings.TrimSpace(failed.Text()))
	}
	if testID(doc, "processing-retry").Length() != 1 {
		t.Fatal("no Retry button")
	}
	code, _, loc := a.postForm(t, "/admin/videos/"+id+"/process", url.Values{})
	if code != http.StatusSeeOther || !strings.Contains(loc, "done=video-processing") {
		t.Fatalf("retry: %d %s", code, loc)
	}
	j, err := a.Store.FindLatestJob(context.Background(), id, store.JobProcess)
	if err != nil || j.Status != store.JobQueued {
		t.Errorf("after Retry: %+v, %v, want a queued job", j, err)
	}
}

// TestDashboardSaysOnceWhatFFmpegAdds checks the note shown without
// ffmpeg, and that the pages work without processing.
func TestDashboardSaysOnceWhatFFmpegAdds(t *testing.T) {
	a := newAdminApp(t)
	id := vidUploadWithToken(t, a, "clip.mp4", mediatest.Read(t, "h264-aac-faststart.mp4"))
	doc := a.getPage(t, "/admin/videos")
	if n := testID(doc, "no-ffmpeg").Length(); n != 1 {
		t.Errorf("%d notes about ffmpeg on the list, want 1", n)
	}
	doc = a.getPage(t, "/admin/videos/"+id)
	if n := testID(doc, "no-ffmpeg").Length(); n != 1 {
		t.Errorf("%d notes about ffmpeg on the video page, want 1", n)
	}
	if src, _ := testID(doc, "video-player").Attr("src"); src != "/admin/videos/"+id+"/source" {
		t.Errorf("player src=%q, want the source", src)
	}
	resp := a.do(t, "GET", "/admin/videos/"+id+"/thumbnail.jpg", nil, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("thumbnail without one: %d, want 404", resp.StatusCode)
	}
}

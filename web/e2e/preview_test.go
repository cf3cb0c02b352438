package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/web/webtest"
)

// TestPreviewOfAnAVIPlays uploads an MPEG-4 Part 2 AVI, which Chromium
// cannot play, lets processing make its preview, and plays the video's
// page in Chromium: the player is the preview, with the thumbnail as
// poster, and its time advances.
func TestPreviewOfAnAVIPlays(t *testing.T) {
	a := newAdminApp(t, webtest.WithProcessingRunning())
	f := realFile(t, "mpeg4-mp3.avi")
	tok, err := a.store.CreateUploadToken(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", f.Name)
	fw.Write(f.data)
	mw.Close()
	resp, err := http.Post(a.URL+"/upload?token="+tok.ID, mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ VideoID string }
	json.NewDecoder(resp.Body).Decode(&v)
	resp.Body.Close()
	deadline := time.Now().Add(time.Minute)
	for {
		j, err := a.store.FindLatestJob(context.Background(), v.VideoID, store.JobProcess)
		if err == nil && j.Status == store.JobDone {
			break
		}
		if err == nil && j.Status == store.JobFailed || time.Now().After(deadline) {
			t.Fatalf("processing: %+v, %v", j, err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	ctx := newBrowser(t)
	signIn(t, ctx, a)
	run(t, ctx, "open the video's page", chromedp.Navigate(a.URL+"/admin/videos/"+v.VideoID))
	type player struct {
		Src, Poster string
		Preview     string
	}
	p := get(t, ctx, "read the player", chromedp.Evaluate[player](
		`(() => { const v = document.querySelector('[data-testid="video-player"]'); return {src: v.getAttribute('src'), poster: v.getAttribute('poster'), preview: v.dataset.preview || ''} })()`))
	if p.Src != "/admin/videos/"+v.VideoID+"/preview.mp4" || p.Poster == "" || p.Preview != "true" {
		t.Fatalf("player=%+v, want the preview with a poster", p)
	}
	played := get(t, ctx, "play the preview", chromedp.Evaluate[string](
		`document.querySelector('[data-testid="video-player"]').play().then(() => 'playing', e => e.name + ': ' + e.message)`,
		chromedp.EvalAwaitPromise, userGesture))
	if played != "playing" {
		t.Fatalf("play()=%q, want it to start", played)
	}
	type media struct {
		ReadyState  int     `json:"readyState"`
		CurrentTime float64 `json:"currentTime"`
		Width       int     `json:"width"`
		Error       string  `json:"error"`
	}
	m := waitJS[media](t, ctx, "the preview to play",
		`(() => { const v = document.querySelector('[data-testid="video-player"]')
			const m = {readyState: v.readyState, currentTime: v.currentTime, width: v.videoWidth, error: v.error ? String(v.error.code) + ' ' + v.error.message : ''}
			return (m.error || m.readyState >= 2 && m.currentTime > 0.5) && m })()`)
	t.Logf("player: %+v", m)
	if m.Error != "" || m.Width != 320 {
		t.Errorf("player=%+v, want no error and 320 px wide", m)
	}
}

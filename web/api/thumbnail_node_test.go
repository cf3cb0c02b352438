package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/media/mediatest"
	"github.com/uplink-video/uplink/web"
	"github.com/uplink-video/uplink/web/webtest"
)

// nodeClientDir holds the official Node client, installed by .ci/run
// (npm ci) for this test only.
const nodeClientDir = "testdata/nodeclient"

// TestNodeClientThumbnails runs the official @api.video/nodejs-client's
// videos.uploadThumbnail and videos.pickThumbnail against uplink, as an
// app would: the uploaded PNG becomes the thumbnail (as a JPEG), the
// picked frame replaces it once the processing queue took it, and a
// moment past the end is refused with a problem the client reports.
func TestNodeClientThumbnails(t *testing.T) {
	node := needNodeClient(t)
	const key = "node-client-test-key-0123456789ab"
	a := webtest.Start(t, webtest.WithDeps(func(d *web.Deps) { d.ExtraAPIKey = key }), webtest.WithProcessingRunning())
	ctx := context.Background()
	id := uploadForThumbnails(t, a, mediatest.Read(t, "h264-aac-faststart.mp4"))
	waitJob(t, a, id, store.JobProcess)
	before, _ := a.Store.FindVideoMedia(ctx, id)

	// A 64x48 PNG, half red and half blue.
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for y := range 48 {
		for x := range 64 {
			c := color.RGBA{200, 30, 30, 255}
			if x >= 32 {
				c = color.RGBA{30, 30, 200, 255}
			}
			img.Set(x, y, c)
		}
	}
	pngPath := filepath.Join(t.TempDir(), "poster.png")
	var buf bytes.Buffer
	png.Encode(&buf, img)
	os.WriteFile(pngPath, buf.Bytes(), 0o600)

	cmd := exec.Command(node, "thumbnails.mjs")
	cmd.Dir = nodeClientDir
	cmd.Env = append(os.Environ(), "UPLINK_URL="+a.URL, "UPLINK_API_KEY="+key, "VIDEO_ID="+id, "IMAGE="+pngPath)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var res struct {
		Uploaded, Picked struct{ VideoID, Thumbnail string }
		PastEnd          *struct {
			Status int
			Title  string
		}
		Error any
	}
	if err := json.Unmarshal(out, &res); err != nil || res.Error != nil {
		t.Fatalf("node said: %s (%v)", out, err)
	}
	want := a.URL + "/videos/" + id + "/thumbnail.jpg"
	if res.Uploaded.VideoID != id || res.Uploaded.Thumbnail != want || res.Picked.Thumbnail != want {
		t.Errorf("results %+v, want video %s with thumbnail %s", res, id, want)
	}
	if res.PastEnd == nil || res.PastEnd.Status != 400 {
		t.Errorf("a moment past the end gave %+v, want a 400 the client reports", res.PastEnd)
	}

	// The picked frame is taken by the queue; until then the uploaded
	// image stays.
	waitJob(t, a, id, store.JobThumbnail)
	after, _ := a.Store.FindVideoMedia(ctx, id)
	if after.Thumbnail == nil || after.Thumbnail.Origin != store.ThumbnailPicked || after.Thumbnail.Key == before.Thumbnail.Key {
		t.Fatalf("thumbnail after the pick: %+v", after.Thumbnail)
	}
	req, _ := http.NewRequest("GET", want, nil)
	req.SetBasicAuth(key, "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if w, h := mediatest.CheckPicture(t, data); w != 320 || h != 240 {
		t.Errorf("picked frame is %dx%d, want 320x240", w, h)
	}
	if resp.Header.Get("ETag") != `"`+after.Thumbnail.Key+`"` || resp.Header.Get("Cache-Control") != "private, no-cache" {
		t.Errorf("headers %v", resp.Header)
	}
}

// TestThumbnailUploadRefusesWhatIsNotAnImage replays the Node client's
// request shape (the file field named after the file) with a text file
// and with an oversized body.
func TestThumbnailUploadRefusesWhatIsNotAnImage(t *testing.T) {
	t.Parallel()
	const key = "thumbnail-test-key-0123456789abcd"
	a := webtest.Start(t, webtest.WithDeps(func(d *web.Deps) { d.ExtraAPIKey = key }))
	id := uploadForThumbnails(t, a, readTestdata(t, "h264-aac-faststart.mp4"))
	for _, c := range []struct {
		name   string
		data   []byte
		status int
	}{
		{"notes.png", []byte("not a picture at all"), 400},
		{"huge.png", bytes.Repeat([]byte{0}, 9<<20), 413},
	} {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile(c.name, c.name)
		fw.Write(c.data)
		mw.Close()
		req, _ := http.NewRequest("POST", a.URL+"/videos/"+id+"/thumbnail", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.SetBasicAuth(key, "")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.name, resp.StatusCode, c.status, msg)
		}
	}
	if m, err := a.Store.FindVideoMedia(context.Background(), id); err == nil && m.Thumbnail != nil {
		t.Errorf("a refused image became the thumbnail: %+v", m.Thumbnail)
	}
}

func uploadForThumbnails(t *testing.T, a *webtest.App, data []byte) string {
	t.Helper()
	tok, err := a.Store.CreateUploadToken(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "clip.mp4")
	fw.Write(data)
	mw.Close()
	resp, err := http.Post(a.URL+"/upload?token="+tok.ID, mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct{ VideoID string }
	json.NewDecoder(resp.Body).Decode(&v)
	return v.VideoID
}

func waitJob(t *testing.T, a *webtest.App, id, kind string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		j, err := a.Store.FindLatestJob(context.Background(), id, kind)
		if err == nil && (j.Status == store.JobDone || j.Status == store.JobFailed) {
			if j.Status == store.JobFailed {
				t.Fatalf("%s job failed: %s", kind, j.LastError)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the %s job did not finish", kind)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

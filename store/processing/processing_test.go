package processing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/media/mediatest"
	"github.com/uplink-video/uplink/store/processing"
	"github.com/uplink-video/uplink/web"
	"github.com/uplink-video/uplink/web/webtest"
)

const apiKey = "processing-test-api-key-0123456789"

func start(t *testing.T, opts ...webtest.Option) *webtest.App {
	t.Helper()
	return webtest.Start(t, append([]webtest.Option{webtest.WithDeps(func(d *web.Deps) { d.ExtraAPIKey = apiKey })}, opts...)...)
}

// call makes an API request with the test key and decodes a JSON answer
// into out (when not nil).
func call(t *testing.T, a *webtest.App, method, path string, body io.Reader, ctype string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, a.URL+path, body)
	req.SetBasicAuth(apiKey, "")
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
	return resp.StatusCode
}

// upload sends a whole file with a new upload token and returns its
// video's ID.
func upload(t *testing.T, a *webtest.App, name string, data []byte) string {
	t.Helper()
	var tok struct{ Token string }
	if code := call(t, a, "POST", "/upload-tokens", strings.NewReader(`{}`), "application/json", &tok); code != 201 && code != 200 {
		t.Fatalf("create token: %d", code)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(data)
	mw.Close()
	resp, err := http.Post(a.URL+"/upload?token="+tok.Token, mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct{ VideoID string }
	json.NewDecoder(resp.Body).Decode(&v)
	if resp.StatusCode != 201 || v.VideoID == "" {
		t.Fatalf("upload %s: %d", name, resp.StatusCode)
	}
	return v.VideoID
}

// drain runs the queue's jobs until none is due.
func drain(t *testing.T, a *webtest.App) {
	t.Helper()
	for range 20 {
		ran, err := a.Processing.RunOne(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !ran {
			return
		}
	}
	t.Fatal("the queue did not drain")
}

type status struct {
	Encoding struct {
		Playable bool
		Metadata struct {
			Width, Height, Duration, Framerate, Samplerate *int
			Bitrate                                        *float64
			VideoCodec, AudioCodec, AspectRatio            *string
		}
	}
}

// TestEveryContainer uploads every container of the test media and checks
// what processing learned against ffprobe: the API's metadata, a thumbnail
// that is a real picture, and a preview for those a browser cannot play.
func TestEveryContainer(t *testing.T) {
	a := start(t, webtest.WithProcessing())
	for _, name := range mediatest.Containers {
		t.Run(name, func(t *testing.T) {
			id := upload(t, a, name, mediatest.Read(t, name))
			drain(t, a)
			var st status
			if code := call(t, a, "GET", "/videos/"+id+"/status", nil, "", &st); code != 200 {
				t.Fatalf("status: %d", code)
			}
			var want struct {
				Format struct {
					Duration string `json:"duration"`
					BitRate  string `json:"bit_rate"`
				} `json:"format"`
				Streams []struct {
					CodecType  string `json:"codec_type"`
					CodecName  string `json:"codec_name"`
					Width      int    `json:"width"`
					Height     int    `json:"height"`
					SampleRate string `json:"sample_rate"`
				} `json:"streams"`
			}
			json.Unmarshal(mediatest.FFprobe(t, "-print_format", "json", "-show_format", "-show_streams", mediatest.Path(t, name)), &want)
			m := st.Encoding.Metadata
			d, _ := strconv.ParseFloat(want.Format.Duration, 64)
			br, _ := strconv.ParseFloat(want.Format.BitRate, 64)
			if m.Duration == nil || *m.Duration != int(math.Round(d)) || m.Bitrate == nil || *m.Bitrate != br/1000 {
				t.Errorf("duration=%v bitrate=%v, want %v s and %v kbps", m.Duration, m.Bitrate, math.Round(d), br/1000)
			}
			for _, s := range want.Streams {
				switch s.CodecType {
				case "video":
					if m.Width == nil || *m.Width != s.Width || *m.Height != s.Height || *m.VideoCodec != s.CodecName ||
						*m.Framerate != 25 || *m.AspectRatio != "4/3" {
						t.Errorf("video metadata %+v, want %s %dx%d 25 fps 4/3", m, s.CodecName, s.Width, s.Height)
					}
				case "audio":
					rate, _ := strconv.Atoi(s.SampleRate)
					if m.AudioCodec == nil || *m.AudioCodec != s.CodecName || *m.Samplerate != rate {
						t.Errorf("audio metadata %v %v, want %s %d", m.AudioCodec, m.Samplerate, s.CodecName, rate)
					}
				}
			}
			if !st.Encoding.Playable {
				t.Error("not playable")
			}
			var v struct{ Assets struct{ Thumbnail string } }
			call(t, a, "GET", "/videos/"+id, nil, "", &v)
			if want := a.URL + "/videos/" + id + "/thumbnail.jpg"; v.Assets.Thumbnail != want {
				t.Fatalf("assets.thumbnail=%q, want=%q", v.Assets.Thumbnail, want)
			}
			req, _ := http.NewRequest("GET", v.Assets.Thumbnail, nil)
			req.SetBasicAuth(apiKey, "")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			img, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" {
				t.Fatalf("thumbnail: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			mediatest.CheckPicture(t, img)
			media, err := a.Store.FindVideoMedia(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			wantPreview := name == "mpeg4-mp3.avi" || name == "h264-aac.ts" || name == "h264-aac.mkv"
			if got := media.Preview != nil; got != wantPreview {
				t.Errorf("preview=%v, want=%v", got, wantPreview)
			}
		})
	}
}

// TestHostileUploads uploads files that are not video: each job fails at
// once, with the reason, without retries, and the next job still runs.
func TestHostileUploads(t *testing.T) {
	a := start(t, webtest.WithProcessing())
	ctx := context.Background()
	good := mediatest.Read(t, "h264-aac-faststart.mp4")
	ids := map[string]string{}
	for _, name := range mediatest.NotMedia {
		ids[name] = upload(t, a, name, mediatest.Read(t, name))
	}
	ids["truncated.mp4"] = upload(t, a, "truncated.mp4", mediatest.Read(t, "h264-aac-moov-at-end.mp4")[:60000])
	goodID := upload(t, a, "good.mp4", good)
	drain(t, a)
	for name, id := range ids {
		j, err := a.Store.FindLatestJob(ctx, id, store.JobProcess)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status != store.JobFailed || j.Attempts != 1 || !strings.Contains(j.LastError, "ffprobe") {
			t.Errorf("%s: job %s after %d attempts (%q), want failed at once with ffprobe's reason", name, j.Status, j.Attempts, j.LastError)
		}
		var st status
		call(t, a, "GET", "/videos/"+id+"/status", nil, "", &st)
		if st.Encoding.Metadata.Width != nil {
			t.Errorf("%s: metadata %+v, want nulls", name, st.Encoding.Metadata)
		}
	}
	if j, _ := a.Store.FindLatestJob(ctx, goodID, store.JobProcess); j.Status != store.JobDone {
		t.Errorf("the good video's job is %s", j.Status)
	}
}

// TestRestartMidJob stops processing in the middle of a preview, as a
// graceful stop and as a crash, and checks that the job runs again and
// finishes once: one result, one video.processed event.
func TestRestartMidJob(t *testing.T) {
	a := start(t, webtest.WithProcessing())
	ctx := context.Background()
	if _, err := a.Store.CreateWebhookEndpoint(ctx, store.WebhookEndpointCreate{
		URL: "https://receiver.example/hook", Secret: "whsec_" + strings.Repeat("s", 32), Events: []string{"video.processed"},
	}); err != nil {
		t.Fatal(err)
	}
	long := mediatest.Generate(t, "-f", "lavfi", "-i", "testsrc2=s=640x480:r=25:d=40", "-c:v", "mpeg4", "-q:v", "8",
		filepath.Join(t.TempDir(), "long.avi"))
	id := upload(t, a, "long.avi", mustRead(t, long))

	// A graceful stop while the preview is being made: the attempt is
	// given back.
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); a.Processing.Run(runCtx) }()
	waitFor(t, func() bool {
		j, _ := a.Store.FindLatestJob(ctx, id, store.JobProcess)
		return j.Status == store.JobRunning
	})
	time.Sleep(500 * time.Millisecond)
	stop()
	<-done
	j, _ := a.Store.FindLatestJob(ctx, id, store.JobProcess)
	if j.Status != store.JobQueued || j.Attempts != 0 {
		t.Fatalf("after a stop: %s with %d attempts, want queued with 0", j.Status, j.Attempts)
	}

	// A crash: an attempt holds the job and never ends. The next start
	// takes it back.
	if _, err := a.Store.ClaimJob(ctx, "crashed-process", time.Hour); err != nil {
		t.Fatal(err)
	}
	if n, err := a.Processing.Recover(ctx); err != nil || n != 1 {
		t.Fatalf("Recover: %d, %v, want 1", n, err)
	}
	drain(t, a)
	j, _ = a.Store.FindLatestJob(ctx, id, store.JobProcess)
	if j.Status != store.JobDone {
		t.Fatalf("job %s (%s), want done", j.Status, j.LastError)
	}
	m, err := a.Store.FindVideoMedia(ctx, id)
	if err != nil || m.Preview == nil || m.Thumbnail == nil {
		t.Fatalf("media %+v, %v: want a preview and a thumbnail", m, err)
	}
	due, err := a.Store.ClaimDueWebhookDeliveries(ctx, 100, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range due {
		if d.EventType == "video.processed" {
			n++
			var env struct {
				Data struct {
					Status  string
					Preview bool
				}
			}
			json.Unmarshal(d.Payload, &env)
			if env.Data.Status != "done" || !env.Data.Preview {
				t.Errorf("event data %+v", env.Data)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d video.processed events, want 1", n)
	}
}

// TestPreviewsSetting checks --previews: all makes one for a playable
// MP4, off for none.
func TestPreviewsSetting(t *testing.T) {
	for mode, want := range map[string]bool{processing.PreviewsAll: true, processing.PreviewsOff: false} {
		a := start(t, webtest.WithProcessing(func(c *processing.Config) { c.Previews = mode }))
		name := "h264-aac-faststart.mp4"
		if !want {
			name = "mpeg4-mp3.avi"
		}
		id := upload(t, a, name, mediatest.Read(t, name))
		drain(t, a)
		m, _ := a.Store.FindVideoMedia(context.Background(), id)
		if got := m.Preview != nil; got != want {
			t.Errorf("--previews=%s, %s: preview=%v, want=%v", mode, name, got, want)
		}
		var st status
		call(t, a, "GET", "/videos/"+id+"/status", nil, "", &st)
		if st.Encoding.Playable != want {
			t.Errorf("--previews=%s, %s: playable=%v, want=%v", mode, name, st.Encoding.Playable, want)
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

package webhooks_test

// End-to-end tests of where events come from: a whole uplink started with
// webtest.Start (SQLite, blobs on disk, the ingest service, the API and
// links uploading to it in process), with the webhooks service wired in as
// cmd/uplink wires it.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/ingest"
	"github.com/uplink-video/uplink/web/links"
	"github.com/uplink-video/uplink/web/webhooks"
	"github.com/uplink-video/uplink/web/webtest"
)

// stack is a whole uplink around its webhooks service, with one endpoint
// that takes every event. Its env's helpers read the app's store and
// webhooks service; env.reopen is not for stacks, as the app's other
// services would keep the store it closes.
type stack struct {
	*env
	app    *webtest.App
	ingest *ingest.Service
	links  *links.Service
	ep     store.WebhookEndpoint
}

// newStack starts uplink with webtest.Start (a two-hour lease, 5 MiB
// parts). Its endpoint is never called: the tests read what is queued.
func newStack(t *testing.T) *stack {
	t.Helper()
	a := webtest.Start(t)
	e := &env{t: t, clock: a.Clock, dsn: a.DSN, store: a.Store, svc: a.Webhooks}
	s := &stack{env: e, app: a, ingest: a.Ingest, links: a.Links}
	s.ep = e.endpoint("https://hooks.example.com/uplink")
	return s
}

// events returns the endpoint's events, oldest first, decoded.
func (s *stack) events() []webhooks.Envelope {
	s.t.Helper()
	var out []webhooks.Envelope
	for _, d := range s.deliveries(s.ep.ID) {
		var env webhooks.Envelope
		if err := json.Unmarshal(d.Payload, &env); err != nil {
			s.t.Fatal(err)
		}
		out = append(out, env)
	}
	return out
}

func types(events []webhooks.Envelope) string {
	var out []string
	for _, e := range events {
		out = append(out, e.Type)
	}
	return strings.Join(out, " ")
}

func uploadData(t *testing.T, e webhooks.Envelope) webhooks.UploadData {
	t.Helper()
	var d webhooks.UploadData
	if err := json.Unmarshal(e.Data, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func linkData(t *testing.T, e webhooks.Envelope) webhooks.LinkData {
	t.Helper()
	var d webhooks.LinkData
	if err := json.Unmarshal(e.Data, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// videoFile returns size bytes that sniff as MP4 video.
func videoFile(t *testing.T, size int) []byte {
	t.Helper()
	head, err := os.ReadFile("../links/testdata/h264-aac-faststart.mp4")
	if err != nil {
		t.Fatal(err)
	}
	b := bytes.Repeat([]byte{7}, size)
	copy(b, head[:min(len(head), size)])
	return b
}

func (s *stack) link(t *testing.T, sp links.Spec) store.Link {
	t.Helper()
	l, err := s.links.Create(context.Background(), sp)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func (s *stack) start(t *testing.T, l store.Link, data []byte) store.LinkUpload {
	t.Helper()
	u, _, err := s.links.Start(context.Background(), l.ID, links.StartRequest{
		Filename: "holiday.mp4", Size: int64(len(data)), LastModified: 1_700_000_000_000,
		Name: "Ada Lovelace", Email: "ada@example.com",
	})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestUploadThroughALinkAnnouncesStartCompletionAndUsedUp(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	l := s.link(t, links.Spec{Label: "Wedding videos", MaxUploads: 1, AskName: true})
	data := videoFile(t, 200<<10)
	u := s.start(t, l, data)
	if _, err := s.links.PutPart(ctx, l.ID, u.VideoID, 1, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}

	events := s.events()
	if got, want := types(events), "upload.started upload.completed link.used_up"; got != want {
		t.Fatalf("events=%s, want=%s (exactly one upload.completed)", got, want)
	}
	started, completed := uploadData(t, events[0]), uploadData(t, events[1])
	wantLink := webhooks.LinkInfo{ID: l.ID, Label: "Wedding videos", URL: s.app.URL + "/u/" + l.ID, MaxUploads: 1,
		CreatedAt: "2024-07-14T12:00:00+00:00"}
	if got := *started.Link; got != wantLink {
		t.Errorf("started link=%+v, want=%+v", got, wantLink)
	}
	if got, want := started.Link.URL, s.links.URL(l); got != want {
		t.Errorf("link URL=%q, want the links service's %q", got, want)
	}
	wantLink.Completed = 1
	if got := *completed.Link; got != wantLink {
		t.Errorf("completed link=%+v, want=%+v", got, wantLink)
	}
	sum := sha256.Sum256(data)
	wantUpload := webhooks.UploadInfo{
		Filename: "holiday.mp4", Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]),
		UploaderName: "Ada Lovelace", UploaderEmail: "ada@example.com",
		StartedAt: "2024-07-14T12:00:00+00:00", CompletedAt: "2024-07-14T12:00:00+00:00",
	}
	if completed.Upload != wantUpload {
		t.Errorf("completed upload=%+v, want=%+v", completed.Upload, wantUpload)
	}
	if started.Upload.SHA256 != "" || started.Upload.CompletedAt != "" {
		t.Errorf("started upload=%+v, want no hash or completion yet", started.Upload)
	}
	if completed.VideoID != u.VideoID || completed.Video == nil || completed.Video.VideoID != u.VideoID {
		t.Fatalf("completed video=%+v, want %s", completed.Video, u.VideoID)
	}
	if got, want := completed.Video.Assets.MP4, s.app.URL+"/videos/"+u.VideoID+"/source"; got != want {
		t.Errorf("completed video mp4=%q, want=%q", got, want)
	}
	if started.Video == nil || started.Video.Assets.MP4 != "" || started.Video.Title != "holiday.mp4" {
		t.Errorf("started video=%+v, want the video, without a file yet", started.Video)
	}
	if used := linkData(t, events[2]); used.Link.ID != l.ID || used.Link.Completed != 1 {
		t.Errorf("used up link=%+v", used.Link)
	}
	// The upload's events share an order key; the link's has its own.
	list := s.deliveries(s.ep.ID)
	if list[0].OrderKey != "video:"+u.VideoID || list[1].OrderKey != list[0].OrderKey || list[2].OrderKey != "link:"+l.ID {
		t.Errorf("order keys=%q %q %q", list[0].OrderKey, list[1].OrderKey, list[2].OrderKey)
	}
	// Announcing used up again (a race between two last uploads) adds
	// nothing.
	s.svc.LinkUsedUp(ctx, l)
	if got := len(s.events()); got != 3 {
		t.Errorf("%d events after a second used-up, want 3", got)
	}
}

func TestUploadsThatStopAnnounceFailure(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	l := s.link(t, links.Spec{Label: "Open call"})
	data := videoFile(t, 100<<10)

	cancelled := s.start(t, l, data)
	if err := s.links.Cancel(ctx, l.ID, cancelled.VideoID); err != nil {
		t.Fatal(err)
	}
	refused := s.start(t, l, data)
	png := bytes.Repeat([]byte{0}, len(data))
	copy(png, "\x89PNG\r\n\x1a\n")
	if _, err := s.links.PutPart(ctx, l.ID, refused.VideoID, 1, int64(len(png)), bytes.NewReader(png)); err == nil {
		t.Fatal("a PNG went through a video link")
	}
	abandoned := s.start(t, l, data)
	s.clock.Advance(3 * time.Hour)
	// The upload service holds the upload, and abandons it.
	if r, err := s.ingest.Reclaim(ctx); err != nil || r.Abandoned != 1 {
		t.Fatalf("Reclaim=%+v, %v", r, err)
	}

	events := s.events()
	if got, want := types(events), "upload.started upload.failed upload.started upload.failed upload.started upload.failed"; got != want {
		t.Fatalf("events=%s, want=%s", got, want)
	}
	for i, want := range []struct {
		videoID, reason string
	}{
		{cancelled.VideoID, "cancelled"},
		{refused.VideoID, "refused"},
		{abandoned.VideoID, "abandoned"},
	} {
		d := uploadData(t, events[2*i+1])
		if d.VideoID != want.videoID || d.Reason != want.reason || d.Detail == "" || d.Video != nil ||
			d.Link == nil || d.Link.Label != "Open call" || d.Upload.Filename != "holiday.mp4" {
			t.Errorf("failure %d=%+v, want %s %s", i, d, want.videoID, want.reason)
		}
	}
}

func TestUploadThroughTheAPIAnnouncesCompletion(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	tok, err := s.store.CreateUploadToken(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	data := videoFile(t, 1000)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "clip.mp4")
	fw.Write(data)
	mw.Close()
	req := httptest.NewRequest(http.MethodPost, "/upload?token="+tok.ID, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	rec := httptest.NewRecorder()
	s.app.Echo.ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated && rec.Code != http.StatusOK {
		t.Fatalf("POST /upload: %d %s", rec.Code, rec.Body)
	}
	var v struct {
		VideoID string `json:"videoId"`
	}
	json.Unmarshal(rec.Body.Bytes(), &v)

	events := s.events()
	if got, want := types(events), "upload.completed"; got != want {
		t.Fatalf("events=%s, want=%s", got, want)
	}
	d := uploadData(t, events[0])
	if d.Link != nil || d.VideoID != v.VideoID || d.Video == nil || d.Video.Assets.MP4 == "" {
		t.Errorf("data=%+v, want the video and no link", d)
	}
	if d.Upload.Filename != "clip.mp4" || d.Upload.Size != 1000 || d.Upload.CompletedAt == "" {
		t.Errorf("upload=%+v", d.Upload)
	}
	var raw map[string]json.RawMessage
	json.Unmarshal(events[0].Data, &raw)
	if got := string(raw["link"]); got != "null" {
		t.Errorf(`"link"=%s, want null`, got)
	}
}

// The video in events is byte for byte what GET /videos/{videoId} says.
func TestVideoMatchesTheAPI(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	lang := "fr"
	v, err := s.store.CreateVideo(ctx, store.VideoCreate{
		Title: "Made first", Description: "with everything", Public: true, MP4Support: true, Language: &lang,
		Tags: []string{"a", "b"}, Metadata: []store.Metadata{{Key: "k", Value: "v"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.store.CreateUploadToken(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("videoId", v.ID)
	fw, _ := mw.CreateFormFile("file", "clip.mp4")
	fw.Write(videoFile(t, 500))
	mw.Close()
	req := httptest.NewRequest(http.MethodPost, "/upload?token="+tok.ID, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	rec := httptest.NewRecorder()
	s.app.Echo.ServeHTTP(rec, req)
	if rec.Code >= 300 {
		t.Fatalf("POST /upload: %d %s", rec.Code, rec.Body)
	}

	_, key, err := s.store.CreateAPIKey(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	req = httptest.NewRequest(http.MethodGet, "/videos/"+v.ID, nil)
	req.SetBasicAuth(key, "")
	rec = httptest.NewRecorder()
	s.app.Echo.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /videos: %d %s", rec.Code, rec.Body)
	}
	var fromAPI, fromEvent map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &fromAPI); err != nil {
		t.Fatal(err)
	}
	events := s.events()
	if len(events) != 1 {
		t.Fatalf("events=%s", types(events))
	}
	var data struct {
		Video json.RawMessage `json:"video"`
	}
	json.Unmarshal(events[0].Data, &data)
	if err := json.Unmarshal(data.Video, &fromEvent); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromEvent, fromAPI) {
		t.Errorf("the event's video differs from the API's:\nevent: %s\napi:   %s", data.Video, rec.Body)
	}
}

func TestExpiredLinksAreAnnouncedOncePerExpiry(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	soon, err := s.store.CreateLink(ctx, store.LinkCreate{Token: "t1", Label: "soon", TTL: 60})
	if err != nil {
		t.Fatal(err)
	}
	revoked, err := s.store.CreateLink(ctx, store.LinkCreate{Token: "t2", Label: "revoked first", TTL: 60})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.store.RevokeLink(ctx, revoked.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.store.CreateLink(ctx, store.LinkCreate{Token: "t3", Label: "forever"}); err != nil {
		t.Fatal(err)
	}
	expire := func() int {
		t.Helper()
		n, err := s.svc.ExpireLinks(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := expire(); got != 0 {
		t.Errorf("%d expired before the time, want 0", got)
	}
	s.clock.Advance(2 * time.Minute)
	if got := expire(); got != 1 {
		t.Errorf("%d expired, want 1", got)
	}
	if got := expire(); got != 0 {
		t.Errorf("%d expired on a second pass, want 0", got)
	}
	events := s.events()
	if got, want := types(events), "link.expired"; got != want {
		t.Fatalf("events=%s, want=%s", got, want)
	}
	l := linkData(t, events[0]).Link
	if l.ID != soon.ID || l.Label != "soon" || l.ExpiresAt == nil || *l.ExpiresAt != "2024-07-14T12:01:00+00:00" {
		t.Errorf("link=%+v", l)
	}

	// Extended after expiring, the link expires again: news again.
	if _, err := s.store.ExtendLink(ctx, soon.ID, time.Hour); err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(2 * time.Hour)
	if got := expire(); got != 1 {
		t.Errorf("%d expired after the extension ran out, want 1", got)
	}
	if got, want := types(s.events()), "link.expired link.expired"; got != want {
		t.Errorf("events=%s, want=%s", got, want)
	}
}

// An event nobody listens to leaves nothing behind, but a link fact is
// still noted, so that an endpoint added later is not sent old news.
func TestEventsWithoutSubscribersAreNotKept(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	l, err := e.store.CreateLink(ctx, store.LinkCreate{Token: "t1", Label: "soon", TTL: 60})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	if n, err := e.svc.ExpireLinks(ctx); err != nil || n != 1 {
		t.Fatalf("ExpireLinks=%d, %v", n, err)
	}
	e.svc.LinkUsedUp(ctx, l)
	ep := e.endpoint("https://hooks.example.com/")
	if n, err := e.svc.ExpireLinks(ctx); err != nil || n != 0 {
		t.Errorf("ExpireLinks after adding an endpoint=%d, %v; want 0", n, err)
	}
	e.svc.LinkUsedUp(ctx, l)
	if got := len(e.deliveries(ep.ID)); got != 0 {
		t.Errorf("the new endpoint has %d deliveries, want 0", got)
	}
}

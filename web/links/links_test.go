package links_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/web"
	"github.com/uplink-video/uplink/web/links"
	"github.com/uplink-video/uplink/web/webtest"
)

const chunk = 5 << 20

// upstreamKey is the API key of the remote uplink in upstream mode.
const upstreamKey = "upstream-test-api-key-0123456789"

// env is the links service of a running uplink, and the uplink that keeps
// the videos: the same one (links.Local), or a second one that the first
// reaches over HTTP (links.Upstream).
type env struct {
	*webtest.App
	store  *store.Store
	links  *links.Service
	videos *webtest.App // Where the videos and their bytes are.
}

// newEnv starts an uplink whose links store their uploads themselves.
func newEnv(t *testing.T) *env {
	t.Helper()
	a := webtest.Start(t, webtest.WithChunkSize(chunk))
	return &env{App: a, store: a.Store, links: a.Links, videos: a}
}

// newUpstreamEnv starts an uplink whose links send their uploads to a
// second uplink, as --upstream-url does.
func newUpstreamEnv(t *testing.T) *env {
	t.Helper()
	remote := webtest.Start(t, webtest.WithDeps(func(d *web.Deps) { d.ExtraAPIKey = upstreamKey }))
	a := webtest.Start(t, webtest.WithChunkSize(chunk), webtest.WithUpstream(remote.URL, upstreamKey))
	return &env{App: a, store: a.Store, links: a.Links, videos: remote}
}

// backends runs fn against links that store their uploads themselves, and
// against links that send them to a second uplink: both keep the same
// rules.
func backends(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Run("local", func(t *testing.T) { fn(t, newEnv(t)) })
	t.Run("upstream", func(t *testing.T) { fn(t, newUpstreamEnv(t)) })
}

// upstream reports whether the videos are on a second uplink.
func (e *env) upstream() bool { return e.videos != e.App }

// advance moves the clocks of both uplinks.
func (e *env) advance(d time.Duration) {
	e.Clock.Advance(d)
	if e.upstream() {
		e.videos.Clock.Advance(d)
	}
}

// reclaim runs the cleanup job of both uplinks, as cmd/uplink runs it: the
// upload service first, then the links.
func (e *env) reclaim(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for _, a := range []*webtest.App{e.videos, e.App} {
		if _, err := a.Ingest.Reclaim(ctx); err != nil {
			t.Fatalf("ingest Reclaim: %v", err)
		}
	}
	if _, err := e.links.Reclaim(ctx); err != nil {
		t.Fatalf("links Reclaim: %v", err)
	}
}

// findVideo looks the video up where the videos are.
func (e *env) findVideo(id string) (store.Video, error) {
	return e.videos.Store.FindVideo(context.Background(), id)
}

func (e *env) link(t *testing.T, sp links.Spec) store.Link {
	t.Helper()
	if sp.Label == "" {
		sp.Label = "test link"
	}
	l, err := e.links.Create(context.Background(), sp)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// videoFile returns size bytes that start with a real MP4 header, so that
// they sniff as video, followed by seeded random bytes.
func videoFile(t *testing.T, size int) []byte {
	t.Helper()
	head, err := os.ReadFile("testdata/h264-aac-faststart.mp4")
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, size)
	rand.New(rand.NewSource(int64(size))).Read(b)
	copy(b, head)
	return b
}

func start(t *testing.T, e *env, l store.Link, data []byte, name string) store.LinkUpload {
	t.Helper()
	u, _, err := e.links.Start(context.Background(), l.ID, links.StartRequest{Filename: name, Size: int64(len(data)), LastModified: 1700000000000})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func put(e *env, l store.Link, u store.LinkUpload, data []byte, n int) (store.LinkUpload, error) {
	from := int64(n-1) * u.ChunkSize
	to := min(from+u.ChunkSize, int64(len(data)))
	part := data[from:to]
	return e.links.PutPart(context.Background(), l.ID, u.VideoID, n, int64(len(part)), bytes.NewReader(part))
}

func uploadAll(t *testing.T, e *env, l store.Link, u store.LinkUpload, data []byte) store.LinkUpload {
	t.Helper()
	for n := u.NextPart; n <= u.TotalParts; n++ {
		var err error
		if u, err = put(e, l, u, data, n); err != nil {
			t.Fatalf("part %d: %v", n, err)
		}
	}
	return u
}

func refusalCode(err error) string {
	var r *links.Refusal
	if errors.As(err, &r) {
		return r.Code
	}
	if err != nil {
		return "error: " + err.Error()
	}
	return ""
}

func sourceSHA(t *testing.T, e *env, videoID string) string {
	t.Helper()
	f, err := e.videos.Ingest.OpenSource(context.Background(), videoID)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func TestUploadThroughLinkIsByteIdentical(t *testing.T) {
	backends(t, testUploadThroughLinkIsByteIdentical)
}

func testUploadThroughLinkIsByteIdentical(t *testing.T, e *env) {
	l := e.link(t, links.Spec{MaxUploads: 1})
	data := videoFile(t, 12<<20+12345)
	u := start(t, e, l, data, "holiday.mp4")
	if got, want := u.TotalParts, 3; got != want {
		t.Fatalf("TotalParts=%d, want=%d", got, want)
	}
	u = uploadAll(t, e, l, u, data)
	if got, want := u.Status, store.LinkUploadCompleted; got != want {
		t.Fatalf("Status=%q, want=%q", got, want)
	}
	if got, want := u.SHA256, sum(data); got != want {
		t.Errorf("receipt SHA256=%s, want=%s", got, want)
	}
	if got, want := sourceSHA(t, e, u.VideoID), sum(data); got != want {
		t.Errorf("stored SHA256=%s, want=%s", got, want)
	}
	v, err := e.findVideo(u.VideoID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := v.Title, "holiday.mp4"; got != want {
		t.Errorf("title=%q, want=%q", got, want)
	}
	l, _ = e.store.FindLink(context.Background(), l.ID)
	if got, want := l.State(e.Clock.Now()), store.LinkUsedUp; got != want {
		t.Errorf("one-time link state after an upload=%q, want=%q", got, want)
	}
}

func TestPartRules(t *testing.T) { backends(t, testPartRules) }

func testPartRules(t *testing.T, e *env) {
	l := e.link(t, links.Spec{MaxUploads: 0})
	data := videoFile(t, 11<<20)
	u := start(t, e, l, data, "a.mp4")

	// A later part before the first: refused with the part to send.
	_, err := put(e, l, u, data, 2)
	var r *links.Refusal
	if !errors.As(err, &r) || r.Code != links.CodePartOutOfOrder || r.NextPart != 1 {
		t.Fatalf("part 2 first: err=%v, want %s with NextPart 1", err, links.CodePartOutOfOrder)
	}
	// A part of the wrong size.
	_, err = e.links.PutPart(context.Background(), l.ID, u.VideoID, 1, 100, bytes.NewReader(data[:100]))
	if got, want := refusalCode(err), links.CodePartSizeMismatch; got != want {
		t.Errorf("short part: code=%q, want=%q", got, want)
	}
	_, err = e.links.PutPart(context.Background(), l.ID, u.VideoID, 1, -1, bytes.NewReader(data[:chunk]))
	if got, want := refusalCode(err), links.CodeLengthRequired; got != want {
		t.Errorf("no length: code=%q, want=%q", got, want)
	}
	_, err = e.links.PutPart(context.Background(), l.ID, u.VideoID, 4, 10, bytes.NewReader(data[:10]))
	if got, want := refusalCode(err), links.CodePartOutOfRange; got != want {
		t.Errorf("part 4 of 3: code=%q, want=%q", got, want)
	}
	if u, err = put(e, l, u, data, 1); err != nil {
		t.Fatal(err)
	}
	// Re-sending a held part succeeds and changes nothing.
	again, err := put(e, l, u, data, 1)
	if err != nil {
		t.Fatalf("re-send of part 1: %v", err)
	}
	if got, want := again.NextPart, 2; got != want {
		t.Errorf("NextPart after re-send=%d, want=%d", got, want)
	}
	u = uploadAll(t, e, l, again, data)
	if got, want := sourceSHA(t, e, u.VideoID), sum(data); got != want {
		t.Errorf("stored SHA256=%s, want=%s", got, want)
	}
}

func TestTypeIsCheckedByContent(t *testing.T) {
	png, err := os.ReadFile("testdata/image.png")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		description string
		types       []string
		head        []byte
		wantCode    string
	}{
		{"PNG named .mp4 on a video link", nil, png, links.CodeTypeNotAllowed},
		{"MP4 on a video link", nil, nil, ""},
		{"PNG on an any-file link", []string{"any"}, png, ""},
		{"MP4 on a WebM-only link", []string{"webm"}, nil, links.CodeTypeNotAllowed},
		{"MP4 on an mp4,webm link", []string{"mp4", "webm"}, nil, ""},
	} {
		t.Run(tc.description, func(t *testing.T) {
			backends(t, func(t *testing.T, e *env) {
				l := e.link(t, links.Spec{Types: tc.types, MaxUploads: 1})
				data := videoFile(t, 1<<20)
				if tc.head != nil {
					copy(data, tc.head)
				}
				u := start(t, e, l, data, "clip.mp4")
				_, err := put(e, l, u, data, 1)
				if got, want := refusalCode(err), tc.wantCode; got != want {
					t.Fatalf("code=%q, want=%q", got, want)
				}
				if tc.wantCode == "" {
					return
				}
				// The refused upload gives its slot back and leaves no video.
				if _, err := e.findVideo(u.VideoID); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("video of a refused upload: err=%v, want ErrNotFound", err)
				}
				l, _ = e.store.FindLink(context.Background(), l.ID)
				if got, want := l.Remaining(), 1; got != want {
					t.Errorf("Remaining=%d, want=%d", got, want)
				}
			})
		})
	}
}

func TestMaxSizeIsCheckedBeforeAnyByte(t *testing.T) { backends(t, testMaxSizeIsCheckedBeforeAnyByte) }

func testMaxSizeIsCheckedBeforeAnyByte(t *testing.T, e *env) {
	l := e.link(t, links.Spec{MaxSize: 8 << 20})
	_, _, err := e.links.Start(context.Background(), l.ID, links.StartRequest{Filename: "big.mp4", Size: 8<<20 + 1, LastModified: 1})
	if got, want := refusalCode(err), links.CodeFileTooLarge; got != want {
		t.Fatalf("code=%q, want=%q", got, want)
	}
	vs, total, err := e.videos.Store.ListVideos(context.Background(), store.VideoFilter{Sort: store.VideoSortCreatedAt, Page: store.Page{Number: 1, Size: 10}})
	if err != nil || total != 0 || len(vs) != 0 {
		t.Errorf("videos after a refused start: %d (err %v), want none", total, err)
	}
	// Bytes beyond the declared size never reach the store: a part must
	// have exactly its size.
	data := videoFile(t, 8<<20)
	u := start(t, e, l, data, "ok.mp4")
	big := append(append([]byte{}, data[:chunk]...), 0)
	_, err = e.links.PutPart(context.Background(), l.ID, u.VideoID, 1, int64(len(big)), bytes.NewReader(big))
	if got, want := refusalCode(err), links.CodePartSizeMismatch; got != want {
		t.Errorf("oversized part: code=%q, want=%q", got, want)
	}
}

func TestOneTimeLinkUnderConcurrentStarts(t *testing.T) {
	backends(t, testOneTimeLinkUnderConcurrentStarts)
}

func testOneTimeLinkUnderConcurrentStarts(t *testing.T, e *env) {
	l := e.link(t, links.Spec{MaxUploads: 1})
	var wins atomic.Int32
	var wg sync.WaitGroup
	codes := make(chan string, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := e.links.Start(context.Background(), l.ID, links.StartRequest{
				Filename: "f.mp4", Size: 1 << 20, LastModified: int64(i)})
			if err == nil {
				wins.Add(1)
				return
			}
			codes <- refusalCode(err)
		}()
	}
	wg.Wait()
	close(codes)
	if got, want := wins.Load(), int32(1); got != want {
		t.Fatalf("successful starts=%d, want=%d", got, want)
	}
	for c := range codes {
		if c != links.CodeLinkBusy {
			t.Errorf("losing start: code=%q, want=%q", c, links.CodeLinkBusy)
		}
	}
}

func TestSlotIsConsumedOnCompletionAndReleasedOnAbandon(t *testing.T) {
	backends(t, testSlotIsConsumedOnCompletionAndReleasedOnAbandon)
}

func testSlotIsConsumedOnCompletionAndReleasedOnAbandon(t *testing.T, e *env) {
	l := e.link(t, links.Spec{MaxUploads: 1})
	data := videoFile(t, 6<<20)
	u := start(t, e, l, data, "a.mp4")
	if _, err := put(e, l, u, data, 1); err != nil {
		t.Fatal(err)
	}
	// The uploader goes away for longer than the lease.
	e.advance(3 * time.Hour)
	e.reclaim(t)
	if got, err := e.store.FindLinkUpload(context.Background(), l.ID, u.VideoID); err != nil || got.Status != store.LinkUploadReleased {
		t.Fatalf("link upload after the cleanup = %q, %v; want released", got.Status, err)
	}
	if _, err := e.findVideo(u.VideoID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("abandoned upload's video: err=%v, want ErrNotFound", err)
	}
	_, err := put(e, l, u, data, 2)
	if got, want := refusalCode(err), links.CodeUploadAbandoned; got != want {
		t.Errorf("part after abandon: code=%q, want=%q", got, want)
	}
	// The slot is free again, and consumed for good on completion.
	u2 := start(t, e, l, data, "b.mp4")
	uploadAll(t, e, l, u2, data)
	_, _, err = e.links.Start(context.Background(), l.ID, links.StartRequest{Filename: "c.mp4", Size: 10, LastModified: 3})
	if got, want := refusalCode(err), links.CodeLinkUsedUp; got != want {
		t.Errorf("start after completion: code=%q, want=%q", got, want)
	}
}

func TestExpiryStopsNewUploadsButNotStartedOnes(t *testing.T) {
	backends(t, testExpiryStopsNewUploadsButNotStartedOnes)
}

func testExpiryStopsNewUploadsButNotStartedOnes(t *testing.T, e *env) {
	l := e.link(t, links.Spec{TTL: time.Hour, MaxUploads: 0})
	data := videoFile(t, 11<<20)
	u := start(t, e, l, data, "a.mp4")
	if _, err := put(e, l, u, data, 1); err != nil {
		t.Fatal(err)
	}
	e.advance(time.Hour + time.Minute)
	_, _, err := e.links.Start(context.Background(), l.ID, links.StartRequest{Filename: "b.mp4", Size: 10, LastModified: 2})
	if got, want := refusalCode(err), links.CodeLinkExpired; got != want {
		t.Errorf("start after expiry: code=%q, want=%q", got, want)
	}
	// The upload that started before the expiry finishes within its lease.
	u, err = e.links.Upload(context.Background(), l.ID, u.VideoID)
	if err != nil {
		t.Fatal(err)
	}
	u = uploadAll(t, e, l, u, data)
	if got, want := sourceSHA(t, e, u.VideoID), sum(data); got != want {
		t.Errorf("stored SHA256=%s, want=%s", got, want)
	}
}

func TestRevokeStopsUploadsInProgress(t *testing.T) { backends(t, testRevokeStopsUploadsInProgress) }

func testRevokeStopsUploadsInProgress(t *testing.T, e *env) {
	l := e.link(t, links.Spec{MaxUploads: 0})
	data := videoFile(t, 11<<20)
	u := start(t, e, l, data, "a.mp4")
	if _, err := put(e, l, u, data, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := e.links.Revoke(context.Background(), l.ID); err != nil {
		t.Fatal(err)
	}
	_, err := put(e, l, u, data, 2)
	if got, want := refusalCode(err), links.CodeLinkRevoked; got != want {
		t.Errorf("part after revoke: code=%q, want=%q", got, want)
	}
	_, _, err = e.links.Start(context.Background(), l.ID, links.StartRequest{Filename: "b.mp4", Size: 10, LastModified: 2})
	if got, want := refusalCode(err), links.CodeLinkRevoked; got != want {
		t.Errorf("start after revoke: code=%q, want=%q", got, want)
	}
	// The upload's token on the remote host is gone too; a link that
	// stores its uploads itself never had one.
	u, err = e.store.FindLinkUpload(context.Background(), l.ID, u.VideoID)
	if err != nil {
		t.Fatal(err)
	}
	if l.Token != "" || u.Token != "" {
		t.Errorf("tokens left after revoke: link %q, upload %q; want none", l.Token, u.Token)
	}
}

func TestResumeFindsTheSameUpload(t *testing.T) { backends(t, testResumeFindsTheSameUpload) }

func testResumeFindsTheSameUpload(t *testing.T, e *env) {
	l := e.link(t, links.Spec{MaxUploads: 1})
	data := videoFile(t, 11<<20)
	u := start(t, e, l, data, "a.mp4")
	if _, err := put(e, l, u, data, 1); err != nil {
		t.Fatal(err)
	}
	// The page reloads: the same file (name, size, mtime) finds its upload.
	r, resumed, err := e.links.Start(context.Background(), l.ID, links.StartRequest{Filename: "a.mp4", Size: int64(len(data)), LastModified: 1700000000000})
	if err != nil {
		t.Fatal(err)
	}
	if !resumed || r.VideoID != u.VideoID || r.NextPart != 2 {
		t.Fatalf("resume: resumed=%v video=%s next=%d, want true %s 2", resumed, r.VideoID, r.NextPart, u.VideoID)
	}
	r = uploadAll(t, e, l, r, data)
	if got, want := r.SHA256, sum(data); got != want {
		t.Errorf("SHA256=%s, want=%s", got, want)
	}
}

func TestCancelFreesTheSlot(t *testing.T) { backends(t, testCancelFreesTheSlot) }

func testCancelFreesTheSlot(t *testing.T, e *env) {
	l := e.link(t, links.Spec{MaxUploads: 1})
	data := videoFile(t, 6<<20)
	u := start(t, e, l, data, "a.mp4")
	if _, err := put(e, l, u, data, 1); err != nil {
		t.Fatal(err)
	}
	if err := e.links.Cancel(context.Background(), l.ID, u.VideoID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.findVideo(u.VideoID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("cancelled upload's video: err=%v, want ErrNotFound", err)
	}
	start(t, e, l, data, "b.mp4")
}

func TestSpecValidation(t *testing.T) {
	for _, tc := range []struct {
		description string
		spec        links.Spec
		field       string
	}{
		{"no label", links.Spec{}, "label"},
		{"bad origin", links.Spec{Label: "x", EmbedOrigins: []string{"site.example"}}, "embedOrigins"},
		{"origin with a path", links.Spec{Label: "x", EmbedOrigins: []string{"https://site.example/page"}}, "embedOrigins"},
		{"unknown type", links.Spec{Label: "x", Types: []string{"exe"}}, "types"},
		{"negative uploads", links.Spec{Label: "x", MaxUploads: -1}, "maxUploads"},
		{"tiny ttl", links.Spec{Label: "x", TTL: time.Second}, "ttl"},
		{"tiny max size", links.Spec{Label: "x", MaxSize: 10}, "maxSize"},
	} {
		t.Run(tc.description, func(t *testing.T) {
			err := tc.spec.Validate()
			var fe links.FieldErrors
			if !errors.As(err, &fe) || fe[tc.field] == "" {
				t.Errorf("Validate()=%v, want an error on %q", err, tc.field)
			}
		})
	}
	ok := links.Spec{Label: " x ", EmbedOrigins: []string{"https://site.example/", "*"}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("Validate()=%v, want nil", err)
	}
	if got, want := ok.EmbedOrigins[0], "https://site.example"; got != want {
		t.Errorf("normalised origin=%q, want=%q", got, want)
	}
}

// TestVisitsFoldAndAreCounted opens a link's page five times in a row:
// the timeline has one "opened" event that counts the five visits. A visit
// after the quiet period, or after another event, is a new one.
func TestVisitsFoldAndAreCounted(t *testing.T) {
	e := newEnv(t)
	l := e.link(t, links.Spec{})
	visits := func() []int {
		events, err := e.store.ListLinkEvents(context.Background(), l.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		var n []int
		for _, ev := range events {
			if ev.Kind == store.EventOpened {
				n = append(n, ev.Visits)
			}
		}
		return n
	}
	open := func() {
		t.Helper()
		if _, err := e.links.Open(context.Background(), l.ID); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		e.advance(time.Minute)
		open()
	}
	if got, want := visits(), []int{5}; !slices.Equal(got, want) {
		t.Errorf("visits of the opened events after 5 visits=%v, want=%v", got, want)
	}
	e.advance(11 * time.Minute)
	open()
	if got, want := visits(), []int{1, 5}; !slices.Equal(got, want) {
		t.Errorf("after a visit 11 minutes later=%v, want=%v", got, want)
	}
	if err := e.store.AddLinkEvent(context.Background(), store.LinkEvent{LinkID: l.ID, Kind: store.EventStarted}); err != nil {
		t.Fatal(err)
	}
	open()
	if got, want := visits(), []int{1, 1, 5}; !slices.Equal(got, want) {
		t.Errorf("after another event and a visit=%v, want=%v", got, want)
	}
}

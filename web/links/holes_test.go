package links_test

// Holes an adversarial review found in uploads through links (issue 10):
// a link's token that outlived the link, one part sent many times at
// once, a video deleted under an upload, and the three clocks of an
// upload disagreeing after a reload.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/web/links"
)

// A link's uploads need no upload token that anyone could use past the
// link's rules. A link that stores its uploads itself has none; one that
// sends them to another host has one per upload on that host, which lives
// at most an hour and is deleted once the upload ends.
func TestNoLinkTokenOutlivesItsUploads(t *testing.T) { backends(t, testNoLinkTokenOutlivesItsUploads) }

func testNoLinkTokenOutlivesItsUploads(t *testing.T, e *env) {
	ctx := context.Background()
	l := e.link(t, links.Spec{MaxUploads: 1})
	if l.Token != "" {
		t.Errorf("the link has the token %q, want none", l.Token)
	}
	data := videoFile(t, 6<<20)
	u := start(t, e, l, data, "a.mp4")
	tokens, _, err := e.videos.Store.ListUploadTokens(ctx, store.TokenFilter{Sort: store.TokenSortCreatedAt, Page: store.Page{Number: 1, Size: 10}})
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case !e.upstream() && (u.Token != "" || len(tokens) != 0):
		t.Fatalf("upload token %q, %d tokens listed; want none", u.Token, len(tokens))
	case e.upstream():
		if u.Token == "" || len(tokens) != 1 || tokens[0].ID != u.Token {
			t.Fatalf("upload token %q, tokens listed on the host %v; want the upload's own", u.Token, tokens)
		}
		if tokens[0].TTL <= 0 || tokens[0].TTL > 3600 {
			t.Errorf("the upload's token lives %d s, want at most an hour", tokens[0].TTL)
		}
	}
	uploadAll(t, e, l, u, data)
	u, err = e.store.FindLinkUpload(ctx, l.ID, u.VideoID)
	if err != nil {
		t.Fatal(err)
	}
	tokens, _, err = e.videos.Store.ListUploadTokens(ctx, store.TokenFilter{Sort: store.TokenSortCreatedAt, Page: store.Page{Number: 1, Size: 10}})
	if err != nil {
		t.Fatal(err)
	}
	if u.Token != "" || len(tokens) != 0 {
		t.Errorf("after the upload: its token %q, %d tokens on the host; want none", u.Token, len(tokens))
	}
}

// gate is a part's body that hands out its first bytes, then waits until
// it is opened; it records whether anything read it at all.
type gate struct {
	data    []byte
	off     int
	touched atomic.Bool
	started chan struct{}
	open    chan struct{}
	once    sync.Once
}

func newGate(data []byte, open chan struct{}) *gate {
	return &gate{data: data, started: make(chan struct{}), open: open}
}

func (g *gate) Read(p []byte) (int, error) {
	g.touched.Store(true)
	if g.off >= 1<<20 {
		g.once.Do(func() { close(g.started) })
		<-g.open
	}
	if g.off == len(g.data) {
		return 0, io.EOF
	}
	end := len(g.data)
	if g.off < 1<<20 {
		end = 1 << 20
	}
	n := copy(p, g.data[g.off:end])
	g.off += n
	return n, nil
}

// One part sent 30 times at once: the first request streams it, and every
// other is refused at once, before a byte of its body is read (issue 10).
// The part is then stored once, and sent again it is a repeat.
func TestSamePartSentManyTimesAtOnce(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	l := e.link(t, links.Spec{})
	data := videoFile(t, 2*chunk)
	u := start(t, e, l, data, "a.mp4")
	open := make(chan struct{})
	first := newGate(data[:chunk], open)
	done := make(chan error, 1)
	go func() {
		_, err := e.links.PutPart(ctx, l.ID, u.VideoID, 1, chunk, first)
		done <- err
	}()
	<-first.started
	const others = 29
	var refused atomic.Int32
	var wg sync.WaitGroup
	bodies := make([]*gate, others)
	for i := range others {
		bodies[i] = newGate(data[:chunk], open)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.links.PutPart(ctx, l.ID, u.VideoID, 1, chunk, bodies[i])
			if refusalCode(err) == links.CodePartInFlight {
				refused.Add(1)
			} else {
				t.Errorf("a second request for part 1: %v, want %s", err, links.CodePartInFlight)
			}
		}()
	}
	wg.Wait()
	for i, b := range bodies {
		if b.touched.Load() {
			t.Errorf("request %d's body was read, though it was refused", i+2)
		}
	}
	if got := refused.Load(); got != others {
		t.Errorf("%d of %d requests refused at once", got, others)
	}
	close(open)
	if err := <-done; err != nil {
		t.Fatalf("the first request: %v", err)
	}
	again, err := put(e, l, u, data, 1)
	if err != nil || again.NextPart != 2 {
		t.Fatalf("part 1 sent again: next part %d, %v; want 2 (a repeat)", again.NextPart, err)
	}
	u = uploadAll(t, e, l, again, data)
	if got, want := sourceSHA(t, e, u.VideoID), sum(data); got != want {
		t.Errorf("stored SHA256=%s, want=%s", got, want)
	}
}

// A link takes at most a few parts at once, across all its uploads:
// beyond that, a part is refused before its body is read, and goes
// through once another has ended.
func TestPartsInFlightPerLinkAreBounded(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	l := e.link(t, links.Spec{})
	open := make(chan struct{})
	const uploads = 9 // One more than the bound (ingest.DefaultLimits).
	var wg sync.WaitGroup
	var busy []*gate
	var mu sync.Mutex
	for i := range uploads {
		data := videoFile(t, chunk+i)
		u, _, err := e.links.Start(ctx, l.ID, links.StartRequest{Filename: "f.mp4", Size: int64(len(data)), LastModified: int64(i)})
		if err != nil {
			t.Fatal(err)
		}
		g := newGate(data[:chunk], open)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.links.PutPart(ctx, l.ID, u.VideoID, 1, chunk, g)
			if refusalCode(err) == links.CodeTooManyParts {
				mu.Lock()
				busy = append(busy, g)
				mu.Unlock()
			} else if err != nil {
				t.Errorf("upload %d: %v", i, err)
			}
		}()
		if i < uploads-1 {
			<-g.started
		}
	}
	// The last one is refused at once, while the others wait.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		mu.Lock()
		n := len(busy)
		mu.Unlock()
		if n > 0 {
			break
		}
	}
	mu.Lock()
	if len(busy) != 1 || busy[0].touched.Load() {
		t.Errorf("%d refused as too many (want 1), read: %v", len(busy), len(busy) > 0 && busy[0].touched.Load())
	}
	mu.Unlock()
	close(open)
	wg.Wait()
}

// Deleting the video of an upload in progress ends the upload: its slot
// is free again at once, its next part is refused as stopped, and the
// link's timeline says why (issue 10).
func TestDeletingTheVideoEndsTheUpload(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	l := e.link(t, links.Spec{MaxUploads: 1})
	data := videoFile(t, 2*chunk)
	u := start(t, e, l, data, "a.mp4")
	if _, err := put(e, l, u, data, 1); err != nil {
		t.Fatal(err)
	}
	if err := e.Ingest.DeleteVideo(ctx, u.VideoID); err != nil {
		t.Fatal(err)
	}
	if _, err := put(e, l, u, data, 2); refusalCode(err) != links.CodeUploadAbandoned {
		t.Errorf("part after the video was deleted: %v, want %s", err, links.CodeUploadAbandoned)
	}
	got, err := e.store.FindLinkUpload(ctx, l.ID, u.VideoID)
	if err != nil || got.Status != store.LinkUploadReleased || got.ReleasedReason != "the video was deleted" {
		t.Errorf("link upload = %q %q, %v; want released, the video was deleted", got.Status, got.ReleasedReason, err)
	}
	// Another recipient can use the one-time link at once.
	other := start(t, e, l, videoFile(t, 3000), "b.mp4")
	if other.VideoID == u.VideoID {
		t.Error("the new upload reuses the deleted one")
	}
}

// The three clocks of an upload through a link give the same answer on
// every route (issue 10): an upload started before the link expired
// resumes after a reload, and the same file chosen again after its upload
// completed (the answer to its last part was lost) gets its receipt, even
// on a one-time link that is now used up.
func TestResumeAndReceiptAfterTheLinkCloses(t *testing.T) {
	backends(t, testResumeAndReceiptAfterTheLinkCloses)
}

func testResumeAndReceiptAfterTheLinkCloses(t *testing.T, e *env) {
	ctx := context.Background()
	l := e.link(t, links.Spec{TTL: time.Hour, MaxUploads: 1})
	data := videoFile(t, 2*chunk)
	sr := links.StartRequest{Filename: "a.mp4", Size: int64(len(data)), LastModified: 1700000000000}
	u := start(t, e, l, data, "a.mp4")
	if _, err := put(e, l, u, data, 1); err != nil {
		t.Fatal(err)
	}
	e.advance(time.Hour + time.Minute)
	// A reload: the page starts the same file again.
	r, resumed, err := e.links.Start(ctx, l.ID, sr)
	if err != nil || !resumed || r.VideoID != u.VideoID || r.NextPart != 2 {
		t.Fatalf("resume after expiry = %s next %d resumed %v, %v; want %s next 2", r.VideoID, r.NextPart, resumed, err, u.VideoID)
	}
	// A new file is refused: the link expired.
	if _, _, err := e.links.Start(ctx, l.ID, links.StartRequest{Filename: "b.mp4", Size: 10, LastModified: 2}); refusalCode(err) != links.CodeLinkExpired {
		t.Errorf("a new file after expiry: %v, want %s", err, links.CodeLinkExpired)
	}
	done := uploadAll(t, e, l, r, data)
	// The answer to the last part was lost; the page reloads.
	again, resumed, err := e.links.Start(ctx, l.ID, sr)
	if err != nil || !resumed || again.Status != store.LinkUploadCompleted || again.SHA256 != done.SHA256 {
		t.Fatalf("the same file after completion = %q %s resumed %v, %v; want the completed upload with its receipt", again.Status, again.SHA256, resumed, err)
	}
	// A revoked link gives nothing back.
	if _, err := e.links.Revoke(ctx, l.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.links.Start(ctx, l.ID, sr); refusalCode(err) != links.CodeLinkRevoked {
		t.Errorf("the same file after revocation: %v, want %s", err, links.CodeLinkRevoked)
	}
}

// An upload whose start never finished (its process died between taking
// the slot and creating the video, in upstream mode) is settled when the
// server starts: the slot is free, and the video the start created on the
// remote host, found by its metadata, is deleted (issue 10).
func TestUnfinishedStartIsSettled(t *testing.T) {
	ctx := context.Background()
	e := newUpstreamEnv(t)
	l := e.link(t, links.Spec{MaxUploads: 1})
	// What a start leaves when its process dies after creating the video
	// on the host and before recording it: a starting row, and a video
	// that names it in its metadata.
	lu := store.LinkUpload{
		ID: store.RandomString(22), LinkID: l.ID, Filename: "a.mp4", Size: 10, ChunkSize: chunk, TotalParts: 1,
		HashState: []byte{0}, LeaseExpiresAt: e.Clock.Now().Add(2 * time.Minute),
	}
	if err := e.store.ReserveLinkUpload(ctx, lu); err != nil {
		t.Fatal(err)
	}
	v, err := e.videos.Store.CreateVideo(ctx, store.VideoCreate{Title: "a.mp4", Metadata: []store.Metadata{{Key: "uplink-link-upload", Value: lu.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.links.Start(ctx, l.ID, links.StartRequest{Filename: "b.mp4", Size: 10, LastModified: 2}); refusalCode(err) != links.CodeLinkBusy {
		t.Fatalf("a start while the slot is held: %v, want %s", err, links.CodeLinkBusy)
	}
	e.advance(time.Second)
	n, err := e.links.SettleStarts(ctx, e.Clock.Now())
	if err != nil || n != 1 {
		t.Fatalf("SettleStarts = %d, %v; want 1", n, err)
	}
	if _, err := e.videos.Store.FindVideo(ctx, v.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the video of the unfinished start: %v, want deleted", err)
	}
	start(t, e, l, videoFile(t, 3000), "b.mp4")
}

// The upload page's endpoints refuse a part of an upload of another link,
// whatever its ID looks like.
func TestPartOfAnotherLinksUploadIsRefused(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	a, b := e.link(t, links.Spec{}), e.link(t, links.Spec{})
	data := videoFile(t, chunk)
	u := start(t, e, a, data, "a.mp4")
	_, err := e.links.PutPart(ctx, b.ID, u.VideoID, 1, int64(len(data)), bytes.NewReader(data))
	if got, want := refusalCode(err), links.CodeUploadNotFound; got != want {
		t.Errorf("a part of link a's upload through link b: %q, want %q", got, want)
	}
}

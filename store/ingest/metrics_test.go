package ingest_test

import (
	"bytes"
	"context"
	"io"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store/ingest"
)

// counts records the calls of Config.Metrics.
type counts struct {
	mu        sync.Mutex
	started   int
	completed int
	failed    map[string]int
	parts     int
	bytes     int64
}

func (c *counts) UploadStarted()   { c.mu.Lock(); defer c.mu.Unlock(); c.started++ }
func (c *counts) UploadCompleted() { c.mu.Lock(); defer c.mu.Unlock(); c.completed++ }
func (c *counts) UploadFailed(reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failed[reason]++
}

func (c *counts) PartCommitted(n int64, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.parts++
	c.bytes += n
}

func (c *counts) check(t *testing.T, started, completed, parts int, bytes int64, failed map[string]int) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started != started || c.completed != completed || c.parts != parts || c.bytes != bytes {
		t.Errorf("started=%d completed=%d parts=%d bytes=%d, want=%d %d %d %d",
			c.started, c.completed, c.parts, c.bytes, started, completed, parts, bytes)
	}
	if !maps.Equal(c.failed, failed) {
		t.Errorf("failed=%v, want=%v", c.failed, failed)
	}
}

// withCounts replaces the env's service with one that counts into a new
// counts.
func withCounts(e *env) *counts {
	c := &counts{failed: map[string]int{}}
	e.svc = ingest.New(e.store, e.blobs, ingest.Config{Lease: e.lease, Metrics: c})
	return c
}

func TestMetricsCountAnUpload(t *testing.T) {
	e := newEnv(t)
	c := withCounts(e)
	tok := e.token(0)
	file := payload(11, 2*partSize+100)
	parts := split(file)
	id := e.mustSend(request{token: tok, contentRange: "part 1/3", data: parts[0]}).ID
	// The last part early, then a repeat of the first.
	e.mustSend(request{token: tok, contentRange: "part 3/3", videoBefore: id, data: parts[2]})
	e.mustSend(request{token: tok, contentRange: "part 1/3", videoBefore: id, data: parts[0]})
	c.check(t, 1, 0, 3, int64(2*partSize+100), map[string]int{})
	e.mustSend(request{token: tok, contentRange: "part 2/3", videoBefore: id, data: parts[1]})
	c.check(t, 1, 1, 4, int64(3*partSize+100), map[string]int{})
}

func TestMetricsCountFailures(t *testing.T) {
	ctx := context.Background()
	const lease = time.Hour
	e := newEnv(t, withLease(lease))
	c := withCounts(e)
	tok := e.token(0)
	parts := split(payload(12, 2*partSize+10))

	// Refusals: a piece that contradicts its upload, an unknown token.
	id := e.mustSend(request{token: tok, contentRange: "part 1/3", data: parts[0]}).ID
	if _, err := e.send(request{token: tok, contentRange: "part 2/4", videoBefore: id, data: parts[1]}); err == nil {
		t.Fatal("a piece with another total was accepted")
	}
	if _, err := e.send(request{token: "to" + "AAAAAAAAAAAAAAAAAAAAAA", contentRange: "part 1/1", data: parts[2]}); err == nil {
		t.Fatal("an unknown token was accepted")
	}
	c.check(t, 1, 0, 1, partSize, map[string]int{"refused": 2})

	// A body cut off, and a full disk.
	receive := func(err error) error {
		rng, _ := ingest.ParseContentRange("part 2/3")
		p, berr := e.svc.Begin(ctx, ingest.Request{Token: tok, Range: rng, VideoID: id})
		if berr != nil {
			t.Fatal(berr)
		}
		defer p.Close()
		return p.Receive(ctx, "clip.mp4", &halfThenFail{r: bytes.NewReader(parts[1]), left: 1000, err: err})
	}
	if err := receive(io.ErrUnexpectedEOF); err == nil {
		t.Fatal("a cut-off body was received")
	}
	if err := receive(noSpace); err == nil {
		t.Fatal("a piece was received on a full disk")
	}
	c.check(t, 1, 0, 1, partSize, map[string]int{"refused": 2, "interrupted": 1, "no_space": 1})

	// Deleting a video mid-upload cancels it; deleting a complete one
	// fails nothing.
	other := e.mustSend(request{token: tok, contentRange: "part 1/2", data: parts[0]}).ID
	if err := e.svc.DeleteVideo(ctx, other); err != nil {
		t.Fatal(err)
	}
	done := e.mustSend(request{token: tok, data: []byte("a whole file")}).ID
	if err := e.svc.DeleteVideo(ctx, done); err != nil {
		t.Fatal(err)
	}
	c.check(t, 3, 1, 3, 2*partSize+12, map[string]int{"refused": 2, "interrupted": 1, "no_space": 1, "cancelled": 1})

	// Past its lease the first upload is abandoned, once, however it is
	// found: by the next piece, then by the cleanup.
	e.clock.Advance(lease + time.Minute)
	if _, err := e.send(request{token: tok, contentRange: "part 2/3", videoBefore: id, data: parts[1]}); err == nil {
		t.Fatal("a piece of an abandoned upload was accepted")
	}
	if r, err := e.svc.Reclaim(ctx); err != nil || r.Abandoned != 0 {
		t.Fatalf("Reclaim: %+v, %v; want nothing left to abandon", r, err)
	}
	c.check(t, 3, 1, 3, 2*partSize+12, map[string]int{"refused": 2, "interrupted": 1, "no_space": 1, "cancelled": 1, "abandoned": 1})
}

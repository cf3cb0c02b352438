package ingest_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/store/ingest"
)

// sendAll sends the requests at once, each from its own goroutine, and
// returns their results in the same order. A request refused because its
// part was in flight, or too many were, is sent again a moment later, as
// a client does (the refusal says to): busy counts those refusals.
func (e *env) sendAll(reqs []request) (videos []store.Video, errs []error, busy int) {
	videos = make([]store.Video, len(reqs))
	errs = make([]error, len(reqs))
	var refused atomic.Int64
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for {
				videos[i], errs[i] = e.send(r)
				if c := code(errs[i]); c != ingest.CodePartInFlight && c != ingest.CodeTooManyParts {
					return
				}
				refused.Add(1)
				time.Sleep(time.Millisecond)
			}
		}()
	}
	close(start)
	wg.Wait()
	return videos, errs, int(refused.Load())
}

// The same part sent twice at once (a client retrying while its first
// attempt is still in flight) is stored once. Whichever request comes
// second is refused before its body is read, or, if the first is recorded
// by then, answered as a repeat; sent again, it succeeds.
func TestSamePartTwiceAtOnce(t *testing.T) {
	for _, k := range claimKinds {
		t.Run(k.name, func(t *testing.T) { testSamePartTwiceAtOnce(t, k.opts...) })
	}
}

func testSamePartTwiceAtOnce(t *testing.T, opts ...envOption) {
	for _, tt := range []struct {
		description string
		// setup prepares the video; req is the request sent twice.
		setup     func(e *env, tok string, parts [][]byte) string
		req       func(tok, id string, parts [][]byte) request
		wantParts int
	}{
		{
			description: "the only part of a video made beforehand",
			setup:       func(e *env, tok string, parts [][]byte) string { return e.emptyVideo() },
			req: func(tok, id string, parts [][]byte) request {
				return request{token: tok, contentRange: "part 1/1", videoBefore: id, data: slices.Concat(parts...)}
			},
			wantParts: 1,
		},
		{
			description: "the next part, videoId before the file",
			setup: func(e *env, tok string, parts [][]byte) string {
				return e.mustSend(request{token: tok, contentRange: "part 1/2", data: parts[0]}).ID
			},
			req: func(tok, id string, parts [][]byte) request {
				return request{token: tok, contentRange: "part 2/2", videoBefore: id, data: parts[1]}
			},
			wantParts: 2,
		},
		{
			description: "the next part, videoId after the file",
			setup: func(e *env, tok string, parts [][]byte) string {
				return e.mustSend(request{token: tok, contentRange: "part 1/2", data: parts[0]}).ID
			},
			req: func(tok, id string, parts [][]byte) request {
				return request{token: tok, contentRange: "part 2/2", videoAfter: id, data: parts[1]}
			},
			wantParts: 2,
		},
	} {
		t.Run(tt.description, func(t *testing.T) {
			e := newEnv(t, opts...)
			tok := e.token(0)
			file := payload(40, partSize+1000)
			parts := split(file)
			// Each round races the two requests anew; the interleavings
			// vary from round to round.
			for round := range 5 {
				id := tt.setup(e, tok, parts)
				req := tt.req(tok, id, parts)
				videos, errs, _ := e.sendAll([]request{req, req})
				for i := range 2 {
					if errs[i] != nil {
						t.Fatalf("round %d, request %d: %v", round, i, errs[i])
					}
					if got, want := videos[i].ID, id; got != want {
						t.Errorf("round %d, request %d went to %s, want %s", round, i, got, want)
					}
				}
				u, err := e.store.FindUpload(context.Background(), id)
				if err != nil {
					t.Fatalf("FindUpload: %v", err)
				}
				if got, want := len(u.Parts), tt.wantParts; got != want {
					t.Fatalf("round %d: %d parts, want %d", round, got, want)
				}
				e.checkSource(id, file)
			}
			e.checkNoStrayBlobs()
			if errs := e.logs.errors(); len(errs) != 0 {
				t.Errorf("errors logged: %q", errs)
			}
		})
	}
}

// Many parts of one upload sent at once, in random order, each of them
// twice, with videoId before or after the file, assemble byte for byte,
// and leave no stray blob; the requests beyond the bounds on parts in
// flight are refused and sent again.
func TestManyPartsAtOnce(t *testing.T) {
	for _, k := range claimKinds {
		t.Run(k.name, func(t *testing.T) { testManyPartsAtOnce(t, k.opts...) })
	}
}

func testManyPartsAtOnce(t *testing.T, opts ...envOption) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			e := newEnv(t, opts...)
			tok := e.token(0)
			file := payload(50+seed, 5*partSize+321)
			parts := split(file)
			id := e.emptyVideo()
			r := rand.New(rand.NewPCG(seed, 1))

			var reqs []request
			for i, data := range parts {
				for range 2 {
					req := request{token: tok, contentRange: fmt.Sprintf("part %d/%d", i+1, len(parts)), data: data}
					if r.IntN(2) == 0 {
						req.videoBefore = id
					} else {
						req.videoAfter = id
					}
					reqs = append(reqs, req)
				}
			}
			r.Shuffle(len(reqs), func(i, j int) { reqs[i], reqs[j] = reqs[j], reqs[i] })

			videos, errs, busy := e.sendAll(reqs)
			t.Logf("%d requests, %d refusals of a busy part or upload", len(reqs), busy)
			for i := range reqs {
				if errs[i] != nil {
					t.Errorf("%s (before %q, after %q): %v", reqs[i].contentRange, reqs[i].videoBefore, reqs[i].videoAfter, errs[i])
				} else if videos[i].ID != id {
					t.Errorf("%s went to %s, want %s", reqs[i].contentRange, videos[i].ID, id)
				}
			}
			e.checkSource(id, file)
			e.checkNoStrayBlobs()
			if errs := e.logs.errors(); len(errs) != 0 {
				t.Errorf("errors logged: %q", errs)
			}
		})
	}
}

// countWrites makes the env count every byte the service writes to blobs
// from a request. (Completing an upload copies the parts kept aside into
// place inside the blob store; those parts have ETags, which the test
// checks for.)
func countWrites(n *atomic.Int64) envOption {
	return withBlobs(func(d *blob.Dir) blob.Store {
		return &fakeBlobs{Dir: d,
			put: func(ctx context.Context, key string, size int64, r io.Reader) (int64, error) {
				return d.Put(ctx, key, size, countingReader{r, n})
			},
			writePart: func(ctx context.Context, u blob.Upload, p blob.Part, r io.Reader) (blob.Part, error) {
				return d.WritePart(ctx, u, p, countingReader{r, n})
			},
		}
	})
}

// checkInPlace checks that every part of the video's upload was written
// where it belongs in the source, none aside to be copied in later.
func (e *env) checkInPlace(videoID string) {
	e.t.Helper()
	u, err := e.store.FindUpload(context.Background(), videoID)
	if err != nil {
		e.t.Fatalf("FindUpload: %v", err)
	}
	for _, p := range u.Parts {
		if p.ETag != "" {
			e.t.Errorf("part %d was written aside (%s), then copied in", p.Seq, p.ETag)
		}
	}
}

// When parts arrive in order, each byte is written to disk once: every
// part is written in place in the source, with no staging and no
// concatenation.
func TestInOrderUploadWritesEachByteOnce(t *testing.T) {
	for _, tt := range []struct {
		description string
		header      func(k, n int) string
		before      bool
		after       bool
	}{
		{"videoId before the file", func(k, n int) string { return fmt.Sprintf("part %d/%d", k, n) }, true, false},
		{"videoId after the file", progressive, false, true},
		{"no videoId", func(k, n int) string { return fmt.Sprintf("part %d/%d", k, n) }, false, false},
	} {
		t.Run(tt.description, func(t *testing.T) {
			var written atomic.Int64
			e := newEnv(t, countWrites(&written))
			tok := e.token(0)
			file := payload(60, 3*partSize+17)
			parts := split(file)
			var id string
			for i, data := range parts {
				req := request{token: tok, contentRange: tt.header(i+1, len(parts)), data: data}
				if i > 0 && tt.before {
					req.videoBefore = id
				}
				if i > 0 && tt.after {
					req.videoAfter = id
				}
				id = e.mustSend(req).ID
			}
			e.checkSource(id, file)
			e.checkInPlace(id)
			if got, want := written.Load(), int64(len(file)); got != want {
				t.Errorf("bytes written = %d, want %d (the file size)", got, want)
			}
		})
	}

	// The same holds for bytes mode and for a whole file.
	var written atomic.Int64
	e := newEnv(t, countWrites(&written))
	tok := e.token(0)
	file := payload(61, 2*partSize+5)
	parts := split(file)
	id := e.mustSend(request{token: tok, contentRange: fmt.Sprintf("bytes 0-%d/%d", partSize-1, len(file)), data: parts[0]}).ID
	e.mustSend(request{token: tok, contentRange: fmt.Sprintf("bytes %d-%d/%d", partSize, 2*partSize-1, len(file)), videoBefore: id, data: parts[1]})
	e.mustSend(request{token: tok, contentRange: fmt.Sprintf("bytes %d-%d/%d", 2*partSize, len(file)-1, len(file)), data: parts[2]})
	single := e.mustSend(request{token: tok, data: parts[2]})
	e.checkSource(id, file)
	e.checkInPlace(id)
	e.checkSource(single.ID, parts[2])
	if got, want := written.Load(), int64(len(file)+len(parts[2])); got != want {
		t.Errorf("bytes written = %d, want %d", got, want)
	}
}

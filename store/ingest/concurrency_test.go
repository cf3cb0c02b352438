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

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/blob"
)

// sendAll sends the requests at once, each from its own goroutine, and
// returns their results in the same order.
func (e *env) sendAll(reqs []request) ([]store.Video, []error) {
	videos := make([]store.Video, len(reqs))
	errs := make([]error, len(reqs))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			videos[i], errs[i] = e.send(r)
		}()
	}
	close(start)
	wg.Wait()
	return videos, errs
}

// The same part sent twice at once (a client retrying while its first
// attempt is still in flight) is stored once, and both requests succeed.
func TestSamePartTwiceAtOnce(t *testing.T) {
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
			e := newEnv(t)
			tok := e.token(0)
			file := payload(40, partSize+1000)
			parts := split(file)
			// Each round races the two requests anew; the interleavings
			// vary from round to round.
			for round := range 5 {
				id := tt.setup(e, tok, parts)
				req := tt.req(tok, id, parts)
				videos, errs := e.sendAll([]request{req, req})
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
// and leave no piece aside and no stray blob.
func TestManyPartsAtOnce(t *testing.T) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			e := newEnv(t)
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

			videos, errs := e.sendAll(reqs)
			for i := range reqs {
				if errs[i] != nil {
					t.Errorf("%s (before %q, after %q): %v", reqs[i].contentRange, reqs[i].videoBefore, reqs[i].videoAfter, errs[i])
				} else if videos[i].ID != id {
					t.Errorf("%s went to %s, want %s", reqs[i].contentRange, videos[i].ID, id)
				}
			}
			e.checkSource(id, file)
			e.checkNoStrayBlobs()
			u, err := e.store.FindUpload(context.Background(), id)
			if err != nil {
				t.Fatalf("FindUpload: %v", err)
			}
			for _, p := range u.Parts {
				if p.Staged() {
					t.Errorf("part %d is still aside", p.Seq)
				}
			}
			if errs := e.logs.errors(); len(errs) != 0 {
				t.Errorf("errors logged: %q", errs)
			}
		})
	}
}

// countWrites makes the env count every byte the service writes to blobs.
func countWrites(n *atomic.Int64) envOption {
	return withBlobs(func(d *blob.Dir) blob.Store {
		return &fakeBlobs{Dir: d, append: func(ctx context.Context, key string, off int64, r io.Reader) (int64, error) {
			return d.Append(ctx, key, off, countingReader{r, n})
		}}
	})
}

// When parts arrive in order, each byte is written to disk once: the
// first part's blob becomes the source and the others are appended to it,
// with no staging and no concatenation.
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
	e.checkSource(single.ID, parts[2])
	if got, want := written.Load(), int64(len(file)+len(parts[2])); got != want {
		t.Errorf("bytes written = %d, want %d", got, want)
	}
}

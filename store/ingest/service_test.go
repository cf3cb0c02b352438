package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/ingest"
)

func TestDeleteVideo(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tok := e.token(0)
	file := payload(80, 2*partSize+10)
	parts := split(file)
	keep := e.mustSend(request{token: tok, data: parts[2]})
	v := e.mustSend(request{token: tok, contentRange: "part 1/3", data: parts[0]})
	e.mustSend(request{token: tok, contentRange: "part 3/3", videoBefore: v.ID, data: parts[2]})

	if err := e.svc.DeleteVideo(ctx, v.ID); err != nil {
		t.Fatalf("DeleteVideo: %v", err)
	}
	if _, err := e.store.FindVideo(ctx, v.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("FindVideo after delete: error = %v, want ErrNotFound", err)
	}
	// Only the other video's source is left.
	e.checkNoStrayBlobs()
	if got, want := len(e.blobSizes()), 1; got != want {
		t.Errorf("blobs = %d, want %d", got, want)
	}
	e.checkSource(keep.ID, parts[2])

	if err := e.svc.DeleteVideo(ctx, v.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteVideo twice: error = %v, want ErrNotFound", err)
	}
	// A part for the deleted video is refused and leaves nothing.
	_, err := e.send(request{token: tok, contentRange: "part 2/3", videoBefore: v.ID, data: parts[1]})
	if got, want := code(err), ingest.CodeVideoNotFound; got != want {
		t.Errorf("part for a deleted video: code = %s, want %s", got, want)
	}
	e.checkNoStrayBlobs()
}

func TestOpenSourceOfAnIncompleteUpload(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tok := e.token(0)
	v := e.mustSend(request{token: tok, contentRange: "part 1/2", data: payload(81, partSize)})
	if _, err := e.svc.OpenSource(ctx, v.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("OpenSource(incomplete) error = %v, want ErrNotFound", err)
	}
	if _, err := e.svc.OpenSource(ctx, e.emptyVideo()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("OpenSource(no upload) error = %v, want ErrNotFound", err)
	}
}

// A piece whose bytes are on disk but not yet recorded is not an orphan:
// Reclaim, which runs while uploads go on, must leave it alone.
func TestReclaimLeavesPiecesInFlightAlone(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tok := e.token(0)
	file := payload(82, partSize+10)
	parts := split(file)

	for _, tt := range []struct {
		description string
		header      string
		before      func(id string) string
		data        []byte
	}{
		{"a first piece in its own blob", "part 1/3", func(string) string { return "" }, parts[0]},
		{"an early piece in its own blob", "part 3/3", func(id string) string { return id }, parts[1]},
	} {
		t.Run(tt.description, func(t *testing.T) {
			id := ""
			if tt.header != "part 1/3" {
				id = e.mustSend(request{token: tok, contentRange: "part 1/3", data: parts[0]}).ID
			}
			rng, err := ingest.ParseContentRange(tt.header)
			if err != nil {
				t.Fatal(err)
			}
			p, err := e.svc.Begin(ctx, ingest.Request{Token: tok, Range: rng, VideoID: tt.before(id), Size: -1})
			if err != nil {
				t.Fatalf("Begin: %v", err)
			}
			defer p.Close()
			if err := p.Receive(ctx, "clip.mp4", bytesOf(tt.data)); err != nil {
				t.Fatalf("Receive: %v", err)
			}
			r, err := e.svc.Reclaim(ctx)
			if err != nil {
				t.Fatalf("Reclaim: %v", err)
			}
			if got, want := r.Orphans, 0; got != want {
				t.Errorf("orphans = %d, want %d", got, want)
			}
			v, err := p.Commit(ctx, "")
			if err != nil {
				t.Fatalf("Commit: %v", err)
			}
			e.checkNoStrayBlobs()
			if id != "" && v.ID != id {
				t.Errorf("piece went to %s, want %s", v.ID, id)
			}
		})
	}
}

// Reclaim running over and over while many pieces of an upload arrive at
// once neither deletes a piece nor disturbs the assembly.
func TestReclaimDuringUploads(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tok := e.token(0)
	file := payload(83, 4*partSize+99)
	parts := split(file)
	id := e.emptyVideo()
	var reqs []request
	for i, data := range parts {
		reqs = append(reqs, request{token: tok, contentRange: fmt.Sprintf("part %d/%d", i+1, len(parts)), videoAfter: id, data: data})
	}
	for i, j := range []int{3, 0, 4, 2, 1} {
		reqs[i], reqs[j] = reqs[j], reqs[i]
	}

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			if _, err := e.svc.Reclaim(ctx); err != nil {
				t.Errorf("Reclaim: %v", err)
				return
			}
		}
	}()
	_, errs, _ := e.sendAll(reqs)
	close(done)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("%s: %v", reqs[i].contentRange, err)
		}
	}
	e.checkSource(id, file)
	e.checkNoStrayBlobs()
}

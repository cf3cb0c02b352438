package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/store/ingest"
)

// A piece that starts an upload is written to an object that no row names
// until the piece is recorded. Among processes that share their stores,
// it holds a claim on that object meanwhile; when its process dies in the
// middle of the write, whoever ends the lapsed claim discards the object
// (on an object store, an open multipart upload) at once: the next
// request that takes a claim, or the cleanup job.
func TestDeadStartersObjectIsDiscarded(t *testing.T) {
	for _, by := range []string{"next claim", "cleanup"} {
		t.Run(by, func(t *testing.T) {
			var stalling, died atomic.Bool
			halfway, release := make(chan string, 1), make(chan struct{})
			e := newEnv(t, withStoreClaims(), withShared(), withBlobs(func(d *blob.Dir) blob.Store {
				return &fakeBlobs{Dir: d, writePart: func(ctx context.Context, u blob.Upload, p blob.Part, r io.Reader) (blob.Part, error) {
					if !stalling.CompareAndSwap(true, false) {
						return d.WritePart(ctx, u, p, r)
					}
					halfway <- u.Key
					<-release
					if died.Load() {
						return blob.Part{}, errors.New("the process died")
					}
					return d.WritePart(ctx, u, p, r)
				}}
			}))
			frozen := &freezableClaims{Claims: e.claims}
			e.claims = frozen
			e.restart()

			file := payload(71, 2*partSize)
			parts := split(file)
			tok := e.token(3600)
			frozen.frozen.Store(true)
			stalling.Store(true)
			done := make(chan error, 1)
			go func() {
				_, err := e.send(request{token: tok, contentRange: fmt.Sprintf("bytes 0-%d/%d", partSize-1, len(file)), data: parts[0]})
				done <- err
			}()
			var dead string
			select {
			case dead = <-halfway:
			case err := <-done:
				t.Fatalf("the first part meant to stall returned: %v", err)
			case <-time.After(time.Minute):
				t.Fatal("the first part meant to stall wrote nothing")
			}
			if _, err := os.Stat(e.blobPath(dead)); err != nil {
				t.Fatalf("the dying write left nothing under its key: %v", err)
			}
			frozen.frozen.Store(false)
			e.clock.Advance(ingest.DefaultClaimTTL)
			gone := func(when string) {
				t.Helper()
				if _, err := os.Stat(e.blobPath(dead)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s, the dead starter's object is still there: %v", when, err)
				}
			}
			if by == "cleanup" {
				if _, err := e.svc.Reclaim(context.Background()); err != nil {
					t.Fatalf("Reclaim: %v", err)
				}
				gone("after the cleanup")
			}
			// Another upload starts: its own claim ends the lapsed one.
			otherTok := e.token(3600)
			other := e.mustSend(request{token: otherTok, contentRange: fmt.Sprintf("bytes 0-%d/%d", partSize-1, len(file)), data: parts[0]}).ID
			gone("once another upload started")
			e.mustSend(request{token: otherTok, contentRange: fmt.Sprintf("bytes %d-%d/%d", partSize, len(file)-1, len(file)), videoAfter: other, data: parts[1]})
			e.checkSource(other, file)
			died.Store(true)
			close(release)
			<-done
			e.checkNoStrayBlobs()
		})
	}
}

// A starter that lived records its upload, and its claim on the object
// ends without discarding anything: the source stays whole even after
// the claim's time is up.
func TestLiveStarterKeepsItsObject(t *testing.T) {
	e := newEnv(t, withStoreClaims(), withShared())
	file := payload(72, partSize+100)
	parts := split(file)
	tok := e.token(3600)
	id := e.mustSend(request{token: tok, contentRange: "part 1/*", data: parts[0]}).ID
	e.clock.Advance(2 * ingest.DefaultClaimTTL)
	if _, err := e.svc.Reclaim(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.mustSend(request{token: tok, contentRange: "part 2/2", videoAfter: id, data: parts[1]})
	e.checkSource(id, file)
	e.checkNoStrayBlobs()
}

// The same, for a first part whose length is not known before it ends,
// on a blob store that needs it in advance: it goes to an object aside
// first (see writeAside), and both that object and the new upload's own
// are discarded once the dead starter's claims lapse.
func TestDeadStartersAsideWriteIsDiscarded(t *testing.T) {
	a := newAsideEnv(t, []envOption{withStoreClaims(), withShared()})
	file := payload(73, 2*partSize)
	parts := split(file)
	tok := a.e.token(3600)
	before := len(a.e.blobSizes())
	a.claims.frozen.Store(true)
	a.stalling.Store(true)
	done := make(chan error, 1)
	go func() {
		_, err := a.e.send(request{token: tok, contentRange: "part 1/*", data: parts[0]})
		done <- err
	}()
	var dead string
	select {
	case dead = <-a.halfway:
	case err := <-done:
		t.Fatalf("the first part meant to stall returned: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("the first part meant to stall wrote nothing aside")
	}
	left := a.e.blobSizes()
	if _, ok := left[dead]; len(left) != before+2 || !ok {
		t.Fatalf("the dying starter left %v, want its upload's object and %s", left, dead)
	}
	a.claims.frozen.Store(false)
	a.e.clock.Advance(ingest.DefaultClaimTTL)
	otherTok := a.e.token(3600)
	id := a.e.mustSend(request{token: otherTok, contentRange: "part 1/*", data: parts[0]}).ID
	a.e.mustSend(request{token: otherTok, contentRange: "part 2/2", videoAfter: id, data: parts[1]})
	a.e.checkSource(id, file)
	a.died.Store(true)
	close(a.release)
	<-done
	a.e.checkNoStrayBlobs()
}

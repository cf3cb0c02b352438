package ingest_test

import (
	"context"
	"errors"
	"io"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/store/ingest"
)

// A part of unknown length goes, on a blob store that needs the length in
// advance (an object store), to an object of its own named by the part's
// claim, before it is adopted into the upload. When its receiver dies in
// the middle, that write is left unfinished (on an object store, an upload
// of its own), and whoever ends the lapsed claim discards it at once: the
// request that takes the part over, or the cleanup job.
func TestDeadReceiversAsideWriteIsDiscarded(t *testing.T) {
	for _, kind := range claimKinds {
		for _, by := range []string{"takeover", "cleanup"} {
			t.Run(kind.name+"/"+by, func(t *testing.T) {
				a := newAsideEnv(t, kind.opts)
				file := payload(61, 2*partSize+1000)
				parts := split(file)
				tok := a.e.token(3600)
				id := a.e.mustSend(request{token: tok, contentRange: "part 1/*", data: parts[0]}).ID

				dead, done := a.stall(tok, id, parts[1])
				if _, err := os.Stat(a.e.blobPath(dead)); err != nil {
					t.Fatalf("the dying write left nothing under its aside key: %v", err)
				}
				a.e.clock.Advance(ingest.DefaultClaimTTL)
				if by == "cleanup" {
					r, err := a.e.svc.Reclaim(context.Background())
					if err != nil || r.Orphans != 1 {
						t.Fatalf("Reclaim = %+v, %v; want the one aside write discarded", r, err)
					}
				}
				a.e.mustSend(request{token: tok, contentRange: "part 2/*", videoAfter: id, data: parts[1]})
				if _, err := os.Stat(a.e.blobPath(dead)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("the dead receiver's aside write is still there: %v", err)
				}
				a.e.mustSend(request{token: tok, contentRange: "part 3/3", videoAfter: id, data: parts[2]})
				a.e.checkSource(id, file)
				a.e.checkNoStrayBlobs()
				// The process is dead: its write never returns. The test
				// ends the goroutine that stood for it.
				a.died.Store(true)
				close(a.release)
				<-done
			})
		}
	}
}

// A receiver that lost its claim while it wrote aside (it stalled for
// longer than a claim lasts, and another request took the part over and
// discarded the object it wrote to) must not record the part: the record
// would name an object that is gone, and a store that adopts the object
// without copying it (blob.Dir) would assemble the source without those
// bytes. It is refused as a part in flight, which the client sends again,
// and leaves nothing behind.
func TestReceiverThatLostItsClaimDoesNotRecordThePart(t *testing.T) {
	for _, kind := range claimKinds {
		t.Run(kind.name, func(t *testing.T) {
			a := newAsideEnv(t, kind.opts)
			file := payload(62, 2*partSize+1000)
			parts := split(file)
			tok := a.e.token(3600)
			id := a.e.mustSend(request{token: tok, contentRange: "part 1/*", data: parts[0]}).ID

			_, done := a.stall(tok, id, parts[1])
			a.e.clock.Advance(ingest.DefaultClaimTTL)
			a.e.mustSend(request{token: tok, contentRange: "part 2/*", videoAfter: id, data: parts[1]})
			a.claims.frozen.Store(false)
			close(a.release)
			if err := <-done; code(err) != ingest.CodePartInFlight {
				t.Errorf("the stalled receiver, once it goes on: %v, want %s", err, ingest.CodePartInFlight)
			}
			a.e.mustSend(request{token: tok, contentRange: "part 3/3", videoAfter: id, data: parts[2]})
			a.e.checkSource(id, file)
			a.e.checkNoStrayBlobs()
		})
	}
}

// asideEnv is an env whose blob store needs a part's length in advance,
// as an object store does, and whose claims stop being renewed while
// frozen, as those of a process that died or stalled do.
type asideEnv struct {
	e      *env
	claims *freezableClaims
	// stalling makes the next write aside stop halfway and report its key
	// on halfway, until release is closed; it then fails if died is set,
	// and finishes otherwise.
	stalling atomic.Bool
	halfway  chan string
	release  chan struct{}
	died     atomic.Bool
}

func newAsideEnv(t *testing.T, opts []envOption) *asideEnv {
	t.Helper()
	a := &asideEnv{halfway: make(chan string, 1), release: make(chan struct{})}
	opts = append(opts, withBlobs(func(d *blob.Dir) blob.Store {
		return &fakeBlobs{
			Dir: d,
			writePart: func(ctx context.Context, u blob.Upload, p blob.Part, r io.Reader) (blob.Part, error) {
				if p.Size < 0 {
					return blob.Part{}, blob.ErrLengthRequired
				}
				return d.WritePart(ctx, u, p, r)
			},
			put: func(ctx context.Context, key string, size int64, r io.Reader) (int64, error) {
				if size >= 0 || !a.stalling.CompareAndSwap(true, false) {
					return d.Put(ctx, key, size, r)
				}
				data, err := io.ReadAll(r)
				if err != nil {
					return 0, err
				}
				if _, err := d.Put(ctx, key, -1, bytesOf(data[:len(data)/2])); err != nil {
					return 0, err
				}
				a.halfway <- key
				<-a.release
				if a.died.Load() {
					return 0, errors.New("the process died")
				}
				return d.Put(ctx, key, -1, bytesOf(data))
			},
		}
	}))
	a.e = newEnv(t, opts...)
	base := a.e.claims
	if base == nil {
		base = ingest.NewMemoryClaims(a.e.clock.Now)
	}
	a.claims = &freezableClaims{Claims: base}
	a.e.claims = a.claims
	a.e.restart()
	return a
}

// stall sends a part of unknown length whose write aside stops halfway,
// as its receiver's death or a long stall leaves it, and whose claim is
// no longer renewed from then on. It returns the aside key once half the
// part is written there, and what the request returns once release is
// closed.
func (a *asideEnv) stall(tok, videoID string, data []byte) (string, <-chan error) {
	a.e.t.Helper()
	a.claims.frozen.Store(true)
	a.stalling.Store(true)
	done := make(chan error, 1)
	go func() {
		_, err := a.e.send(request{token: tok, contentRange: "part 2/*", videoAfter: videoID, data: data})
		done <- err
	}()
	select {
	case key := <-a.halfway:
		return key, done
	case err := <-done:
		a.e.t.Fatalf("the part meant to stall returned: %v", err)
	case <-time.After(time.Minute):
		a.e.t.Fatal("the part meant to stall wrote nothing aside")
	}
	return "", nil
}

// freezableClaims are claims whose renewals are dropped while frozen.
type freezableClaims struct {
	ingest.Claims
	frozen atomic.Bool
}

// Renew implements ingest.Claims.
func (f *freezableClaims) Renew(ctx context.Context, c ingest.Claim, received int64, expiresAt time.Time) error {
	if f.frozen.Load() {
		return nil
	}
	return f.Claims.Renew(ctx, c, received, expiresAt)
}

package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/store/ingest"
)

// blobPath is where blob.Dir keeps an object; tests write there directly
// to leave the debris a crash would.
func (e *env) blobPath(key string) string {
	return filepath.Join(e.root, key[:2], key)
}

// appendRaw appends bytes to a file behind the blob store's back.
func (e *env) appendRaw(key string, b []byte) {
	e.t.Helper()
	if err := os.MkdirAll(filepath.Dir(e.blobPath(key)), 0o750); err != nil {
		e.t.Fatal(err)
	}
	f, err := os.OpenFile(e.blobPath(key), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) upload(id string) store.Upload {
	e.t.Helper()
	u, err := e.store.FindUpload(context.Background(), id)
	if err != nil {
		e.t.Fatalf("FindUpload(%s): %v", id, err)
	}
	return u
}

// After a crash, the source may hold bytes past its recorded size (a piece
// whose write or commit the crash cut short) and there may be blobs no row
// refers to (a piece written aside but never committed). Recover cuts the
// first and deletes the second, and the upload then completes correctly.
func TestRecoverTrimsDebrisAndReclaimsOrphans(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tok := e.token(0)
	file := payload(70, 2*partSize+10)
	parts := split(file)
	v := e.mustSend(request{token: tok, contentRange: "part 1/3", data: parts[0]})
	u := e.upload(v.ID)

	// Part 2 was half written to the source when the process died.
	e.appendRaw(u.SourceKey, parts[1][:partSize/2])
	// Part 3 was written aside but never recorded.
	orphan := blob.NewKey()
	e.appendRaw(orphan, parts[2])

	e.restart()
	r, err := e.svc.Recover(ctx)
	if err != nil {
		t.Fatalf("Recover: %v", err)
	}
	if got, want := fmt.Sprintf("%+v", r), fmt.Sprintf("%+v", ingest.Report{Trimmed: 1, Orphans: 1}); got != want {
		t.Errorf("report = %s, want %s", got, want)
	}
	e.checkNoStrayBlobs()
	if _, err := os.Stat(e.blobPath(orphan)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("orphan blob still there: %v", err)
	}

	e.mustSend(request{token: tok, contentRange: "part 2/3", videoBefore: v.ID, data: parts[1]})
	e.mustSend(request{token: tok, contentRange: "part 3/3", videoBefore: v.ID, data: parts[2]})
	e.checkSource(v.ID, file)
	e.checkNoStrayBlobs()
}

// Without Recover, debris past the recorded size is still dropped by the
// next append, so it can never end up inside a source.
func TestDebrisIsDroppedByTheNextAppend(t *testing.T) {
	e := newEnv(t)
	tok := e.token(0)
	file := payload(71, partSize+10)
	parts := split(file)
	v := e.mustSend(request{token: tok, contentRange: "part 1/2", data: parts[0]})
	e.appendRaw(e.upload(v.ID).SourceKey, []byte("debris of a write cut short"))
	e.mustSend(request{token: tok, contentRange: "part 2/2", videoBefore: v.ID, data: parts[1]})
	e.checkSource(v.ID, file)
}

// stageCrash builds, through the store alone, the state a crash leaves
// when pieces were committed aside and the process died before moving
// them into the source: part 1 in the source, parts 2 and 3 aside, and
// part 2 half copied into the source.
func stageCrash(t *testing.T, e *env, tok string, parts [][]byte) string {
	t.Helper()
	ctx := context.Background()
	id := e.emptyVideo()
	source, staged2, staged3 := blob.NewKey(), blob.NewKey(), blob.NewKey()
	e.appendRaw(source, parts[0])
	e.appendRaw(staged2, parts[1])
	e.appendRaw(staged3, parts[2])
	now := e.store.Now()
	u := store.Upload{
		VideoID: id, TokenID: tok, Mode: store.ModePart, Status: store.UploadUploading,
		SourceKey: source, SourceSize: int64(len(parts[0])), AppendedParts: 1, TotalParts: 3,
		Filename: "clip.mp4", StartedAt: now, UpdatedAt: now, LeaseExpiresAt: now.Add(e.lease),
	}
	err := e.store.StartUpload(ctx, store.NewUpload{Upload: u, First: store.Part{Seq: 1, Size: int64(len(parts[0])), Offset: 0, ReceivedAt: now}})
	if err != nil {
		t.Fatalf("StartUpload: %v", err)
	}
	for i, key := range []string{staged2, staged3} {
		p := store.Part{Seq: int64(i + 2), Size: int64(len(parts[i+1])), Offset: -1, StagedKey: key, ReceivedAt: now}
		if err := e.store.SaveUpload(ctx, u, store.PartChange{Insert: &p}); err != nil {
			t.Fatalf("SaveUpload: %v", err)
		}
	}
	e.appendRaw(source, parts[1][:1000])
	return id
}

// Pieces committed aside whose move into the source a crash prevented are
// moved in by Recover, which completes the upload.
func TestRecoverDrainsStagedPieces(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tok := e.token(0)
	file := payload(72, 2*partSize+10)
	parts := split(file)
	id := stageCrash(t, e, tok, parts)

	e.restart()
	r, err := e.svc.Recover(ctx)
	if err != nil {
		t.Fatalf("Recover: %v", err)
	}
	if got, want := fmt.Sprintf("%+v", r), fmt.Sprintf("%+v", ingest.Report{Trimmed: 1, Drained: 1}); got != want {
		t.Errorf("report = %s, want %s", got, want)
	}
	e.checkSource(id, file)
	e.checkNoStrayBlobs()
	for _, p := range e.upload(id).Parts {
		if p.Staged() {
			t.Errorf("part %d is still aside", p.Seq)
		}
	}
}

// Recover reclaims uploads whose lease ran out while the process was down,
// and reports blobs that are shorter than recorded or gone, which it
// cannot repair.
func TestRecoverReclaimsLapsedAndReportsLostBytes(t *testing.T) {
	ctx := context.Background()
	const lease = time.Hour
	e := newEnv(t, withLease(lease))
	tok := e.token(0)
	file := payload(73, partSize+10)
	parts := split(file)
	lapsed := e.mustSend(request{token: tok, contentRange: "part 1/2", data: parts[0]})
	e.clock.Advance(lease)
	short := e.mustSend(request{token: tok, contentRange: "part 1/1", data: parts[1]})
	missing := e.mustSend(request{token: tok, data: parts[1]})

	if err := os.Truncate(e.blobPath(e.upload(short.ID).SourceKey), 3); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(e.blobPath(e.upload(missing.ID).SourceKey)); err != nil {
		t.Fatal(err)
	}

	e.restart()
	r, err := e.svc.Recover(ctx)
	if err != nil {
		t.Fatalf("Recover: %v", err)
	}
	if got, want := fmt.Sprintf("%+v", r), fmt.Sprintf("%+v", ingest.Report{Abandoned: 1, Unexpected: 2}); got != want {
		t.Errorf("report = %s, want %s", got, want)
	}
	if _, err := e.store.FindVideo(ctx, lapsed.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("lapsed upload's video: error = %v, want ErrNotFound", err)
	}
}

// noSpace is the error a write to a full disk returns.
var noSpace = &os.PathError{Op: "write", Path: "blob", Err: syscall.ENOSPC}

// fullDisk makes the env's disk "fill up" during the writes for which
// fill reports true: the real directory takes half the piece, then the
// write fails with ENOSPC, as a write(2) on a full disk would.
func fullDisk(fill func(key string, off int64) bool) envOption {
	return withBlobs(func(d *blob.Dir) blob.Store {
		return &fakeBlobs{Dir: d, append: func(ctx context.Context, key string, off int64, r io.Reader) (int64, error) {
			if !fill(key, off) {
				return d.Append(ctx, key, off, r)
			}
			half := &halfThenFail{r: r, left: partSize / 2, err: noSpace}
			return d.Append(ctx, key, off, half)
		}}
	})
}

// halfThenFail passes at most left bytes through from r, then fails with
// err; a piece shorter than that fails at its end instead of reaching EOF.
type halfThenFail struct {
	r    io.Reader
	left int
	err  error
}

func (h *halfThenFail) Read(p []byte) (int, error) {
	if h.left <= 0 {
		return 0, h.err
	}
	n, err := h.r.Read(p[:min(len(p), h.left)])
	h.left -= n
	if errors.Is(err, io.EOF) {
		err = h.err
	}
	return n, err
}

// A full disk refuses the piece with CodeNoSpace, keeps no byte of it,
// leaves the parts before it intact, and the piece can be sent again once
// there is room.
func TestFullDisk(t *testing.T) {
	for _, tt := range []struct {
		description string
		header      string
		before      bool
	}{
		{"a first piece, into a blob of its own", "part 1/3", false},
		{"the next piece, appended to the source", "part 2/3", true},
		{"the next piece, found without videoId", "part 2/3", false},
		{"an early piece, set aside", "part 3/3", true},
	} {
		t.Run(tt.description, func(t *testing.T) {
			var full atomic.Bool
			e := newEnv(t, fullDisk(func(string, int64) bool { return full.Load() }))
			tok := e.token(0)
			file := payload(74, 2*partSize+10)
			parts := split(file)
			var id string
			if tt.header != "part 1/3" {
				id = e.mustSend(request{token: tok, contentRange: "part 1/3", data: parts[0]}).ID
			}
			k := int(tt.header[5] - '0')
			req := request{token: tok, contentRange: tt.header, data: parts[k-1]}
			if tt.before {
				req.videoBefore = id
			}
			before := e.snapshot()

			full.Store(true)
			_, err := e.send(req)
			if got, want := code(err), ingest.CodeNoSpace; got != want {
				t.Fatalf("code = %s, want %s (%v)", got, want, err)
			}
			if got, want := e.snapshot(), before; got != want {
				t.Errorf("the refused piece changed the stored state:\n%s\nwant\n%s", got, want)
			}
			e.checkNoStrayBlobs()

			full.Store(false)
			v := e.mustSend(req)
			id = v.ID
			for i := range parts {
				if i+1 == k {
					continue
				}
				e.mustSend(request{token: tok, contentRange: fmt.Sprintf("part %d/3", i+1), videoBefore: id, data: parts[i]})
			}
			e.checkSource(id, file)
			e.checkNoStrayBlobs()
		})
	}
}

// When the disk fills up while a piece set aside is being moved into the
// source, every piece has already been acknowledged, so the client sends
// nothing more. The move must still happen once there is room again:
// Reclaim, which runs periodically, finishes it well before the lease
// could run out and take an upload whose every byte was acknowledged.
func TestFullDiskWhileMovingAPieceIn(t *testing.T) {
	ctx := context.Background()
	var full atomic.Bool
	var source atomic.Value
	source.Store("")
	e := newEnv(t, fullDisk(func(key string, off int64) bool {
		// Fill up when part 3 goes from aside into the source.
		return full.Load() && key == source.Load().(string) && off == 2*partSize
	}))
	tok := e.token(0)
	file := payload(75, 2*partSize+10)
	parts := split(file)
	id := e.mustSend(request{token: tok, contentRange: "part 1/3", data: parts[0]}).ID
	source.Store(e.upload(id).SourceKey)
	e.mustSend(request{token: tok, contentRange: "part 3/3", videoBefore: id, data: parts[2]})

	full.Store(true)
	v := e.mustSend(request{token: tok, contentRange: "part 2/3", videoBefore: id, data: parts[1]})
	if got, want := v.UploadStatus, store.UploadUploading; got != want {
		t.Fatalf("status = %q, want %q while part 3 could not be moved in", got, want)
	}
	e.checkNoStrayBlobs()

	full.Store(false)
	r, err := e.svc.Reclaim(ctx)
	if err != nil {
		t.Fatalf("Reclaim: %v", err)
	}
	if got, want := fmt.Sprintf("%+v", r), fmt.Sprintf("%+v", ingest.Report{Drained: 1}); got != want {
		t.Errorf("report = %s, want %s", got, want)
	}
	e.checkSource(id, file)
	e.checkNoStrayBlobs()

	// Once complete, the upload no longer has a lease to run out.
	e.clock.Advance(2 * e.lease)
	if _, err := e.svc.Reclaim(ctx); err != nil {
		t.Fatalf("Reclaim: %v", err)
	}
	e.checkSource(id, file)
}

// A piece first appended to the end of the token's open upload, then named
// for another video after the file, is copied out to a blob of its own. A
// full disk during that copy refuses the piece (the error still says
// ErrNoSpace, which the API answers with 507) and leaves both uploads
// exactly as they were.
func TestFullDiskWhileMovingAMisplacedPiece(t *testing.T) {
	var full atomic.Bool
	// The copy out is the only write at offset 0 here.
	e := newEnv(t, fullDisk(func(key string, off int64) bool { return full.Load() && off == 0 }))
	tok := e.token(0)
	fileA := payload(76, partSize+10)
	fileB := payload(77, partSize+20)
	a := e.mustSend(request{token: tok, contentRange: "part 1/2", data: fileA[:partSize]})
	b := e.emptyVideo()
	before := e.snapshot()

	full.Store(true)
	misplaced := request{token: tok, contentRange: "part 2/2", videoAfter: b, data: fileB[partSize:]}
	_, err := e.send(misplaced)
	if !errors.Is(err, blob.ErrNoSpace) {
		t.Fatalf("error = %v, want one matching blob.ErrNoSpace", err)
	}
	if got, want := e.snapshot(), before; got != want {
		t.Errorf("the refused piece changed the stored state:\n%s\nwant\n%s", got, want)
	}

	full.Store(false)
	e.mustSend(misplaced)
	e.mustSend(request{token: tok, contentRange: "part 1/2", videoBefore: b, data: fileB[:partSize]})
	e.mustSend(request{token: tok, contentRange: "part 2/2", videoBefore: a.ID, data: fileA[partSize:]})
	e.checkSource(a.ID, fileA)
	e.checkSource(b, fileB)
	e.checkNoStrayBlobs()
}

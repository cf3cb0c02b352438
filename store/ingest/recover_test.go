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
	"github.com/uplink-video/uplink/store/storetest"
)

// blobPath is where blob.Dir keeps an object; tests write there directly
// to leave the debris a crash would.
func (e *env) blobPath(key string) string {
	return filepath.Join(e.root, key[:2], key)
}

// writeRaw writes b at off in the file of an object, behind the blob
// store's back, and makes the file look as old as age.
func (e *env) writeRaw(key string, off int64, b []byte, age time.Duration) {
	e.t.Helper()
	if err := os.MkdirAll(filepath.Dir(e.blobPath(key)), 0o750); err != nil {
		e.t.Fatal(err)
	}
	f, err := os.OpenFile(e.blobPath(key), os.O_WRONLY|os.O_CREATE, 0o640)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := f.WriteAt(b, off); err != nil {
		e.t.Fatal(err)
	}
	f.Close()
	then := time.Now().Add(-age)
	if err := os.Chtimes(e.blobPath(key), then, then); err != nil {
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

// After a crash, a part's place in the source may hold the bytes of a
// write the crash cut short, and there may be objects no row refers to (a
// piece written aside, or a new upload's source, never recorded). The
// cleanup job, which runs while requests are in flight, removes those old
// enough to be nobody's work in progress; Recover, which runs before any
// request in a process that shares its stores with no other, removes them
// all. The upload then completes correctly.
func TestRecoverReclaimsOrphansAndIgnoresDebris(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tok := e.token(0)
	file := payload(70, 2*partSize+10)
	parts := split(file)
	v := e.mustSend(request{token: tok, contentRange: "part 1/3", data: parts[0]})
	u := e.upload(v.ID)

	// Part 2 was half written in place when the process died, and some
	// debris landed past the end.
	e.writeRaw(u.SourceKey, partSize, parts[1][:partSize/2], 0)
	e.writeRaw(u.SourceKey, 3*partSize, []byte("debris"), 0)
	// Part 3 was written aside but never recorded, long ago; another
	// object is as fresh as a request's that has yet to record it.
	old, fresh := blob.NewKey(), blob.NewKey()
	e.writeRaw(old, 0, parts[2], 2*ingest.OrphanAge)
	e.writeRaw(fresh, 0, parts[2], time.Minute)

	e.restart()
	r, err := e.svc.Reclaim(ctx)
	if err != nil {
		t.Fatalf("Reclaim: %v", err)
	}
	if got, want := fmt.Sprintf("%+v", r), fmt.Sprintf("%+v", ingest.Report{Orphans: 1}); got != want {
		t.Errorf("Reclaim report = %s, want %s", got, want)
	}
	if _, err := os.Stat(e.blobPath(old)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("old orphan still there: %v", err)
	}
	if _, err := os.Stat(e.blobPath(fresh)); err != nil {
		t.Errorf("fresh object removed by the cleanup job: %v", err)
	}
	r, err = e.svc.Recover(ctx)
	if err != nil {
		t.Fatalf("Recover: %v", err)
	}
	if got, want := fmt.Sprintf("%+v", r), fmt.Sprintf("%+v", ingest.Report{Orphans: 1}); got != want {
		t.Errorf("Recover report = %s, want %s", got, want)
	}
	if _, err := os.Stat(e.blobPath(fresh)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("fresh orphan still there after Recover: %v", err)
	}

	e.mustSend(request{token: tok, contentRange: "part 2/3", videoBefore: v.ID, data: parts[1]})
	e.mustSend(request{token: tok, contentRange: "part 3/3", videoBefore: v.ID, data: parts[2]})
	e.checkSource(v.ID, file)
	e.checkNoStrayBlobs()
}

// failingCompletion makes CompleteMultipart fail while fail is set, as a
// crash between the last part's commit and the assembly would leave it.
func failingCompletion(fail *atomic.Bool) envOption {
	return withBlobs(func(d *blob.Dir) blob.Store {
		return &fakeBlobs{Dir: d, complete: func(ctx context.Context, u blob.Upload, ps []blob.Part) error {
			if fail.Load() {
				return errors.New("assembly interrupted")
			}
			return d.CompleteMultipart(ctx, u, ps)
		}}
	})
}

// An upload whose every part is recorded but whose source was not
// assembled (the process died, or the disk failed) stays completing, and
// reads as uploading; Recover, or the cleanup job, assembles it, and the
// client's repeat of its last part finishes it too, as does Settle (a
// client asking about it) once the time a claim lasts has gone by.
func TestCompletingUploadsAreFinished(t *testing.T) {
	ctx := context.Background()
	for _, how := range []string{"Recover", "Reclaim", "the last part again", "Settle"} {
		t.Run(how, func(t *testing.T) {
			var fail atomic.Bool
			e := newEnv(t, failingCompletion(&fail))
			tok := e.token(0)
			file := payload(72, 2*partSize+10)
			parts := split(file)
			id := e.mustSend(request{token: tok, contentRange: "part 1/3", data: parts[0]}).ID
			// Part 3 first: it is written aside, and copied in at the end.
			e.mustSend(request{token: tok, contentRange: "part 3/3", videoBefore: id, data: parts[2]})
			fail.Store(true)
			v := e.mustSend(request{token: tok, contentRange: "part 2/3", videoBefore: id, data: parts[1]})
			if got, want := v.UploadStatus, store.UploadUploading; got != want {
				t.Fatalf("status = %q, want %q while the source is not assembled", got, want)
			}
			if got, want := e.upload(id).Status, store.UploadCompleting; got != want {
				t.Fatalf("upload status = %q, want %q", got, want)
			}
			fail.Store(false)
			switch how {
			case "Recover":
				e.restart()
				r, err := e.svc.Recover(ctx)
				if err != nil || r.Finished != 1 {
					t.Fatalf("Recover = %+v, %v; want 1 finished", r, err)
				}
			case "Reclaim":
				// The cleanup job leaves a fresh completion to whoever is
				// finishing it, then takes over.
				e.clock.Advance(time.Minute)
				r, err := e.svc.Reclaim(ctx)
				if err != nil || r.Finished != 1 {
					t.Fatalf("Reclaim = %+v, %v; want 1 finished", r, err)
				}
			case "Settle":
				// A client that asks about the upload finishes it, once
				// whoever recorded it complete has had the time a claim
				// lasts to do so.
				e.svc.Settle(ctx, id)
				if got, want := e.upload(id).Status, store.UploadCompleting; got != want {
					t.Fatalf("upload status after an early Settle = %q, want %q", got, want)
				}
				e.clock.Advance(ingest.DefaultClaimTTL)
				e.svc.Settle(ctx, id)
			default:
				e.mustSend(request{token: tok, contentRange: "part 3/3", videoBefore: id, data: parts[2]})
			}
			e.checkSource(id, file)
			e.checkNoStrayBlobs()
		})
	}
}

// Recover reclaims uploads whose lease ran out while the process was down,
// and reports sources that are shorter than recorded or gone, which it
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
	if got, want := fmt.Sprintf("%+v", r), fmt.Sprintf("%+v", ingest.Report{Abandoned: 1, Missing: 2}); got != want {
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
func fullDisk(fill func() bool) envOption {
	half := func(r io.Reader) io.Reader { return &halfThenFail{r: r, left: partSize / 2, err: noSpace} }
	return withBlobs(func(d *blob.Dir) blob.Store {
		return &fakeBlobs{Dir: d,
			put: func(ctx context.Context, key string, size int64, r io.Reader) (int64, error) {
				if fill() {
					r = half(r)
				}
				return d.Put(ctx, key, size, r)
			},
			writePart: func(ctx context.Context, u blob.Upload, p blob.Part, r io.Reader) (blob.Part, error) {
				if fill() {
					r = half(r)
				}
				return d.WritePart(ctx, u, p, r)
			},
		}
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

// A full disk refuses the piece with CodeNoSpace, records nothing of it,
// leaves the parts before it intact, and the piece can be sent again once
// there is room.
func TestFullDisk(t *testing.T) {
	for _, tt := range []struct {
		description string
		header      string
		before      bool
	}{
		{"a first piece, of a new upload", "part 1/3", false},
		{"the next piece, in place", "part 2/3", true},
		{"the next piece, found without videoId", "part 2/3", false},
		{"an early piece, set aside", "part 3/3", true},
	} {
		t.Run(tt.description, func(t *testing.T) {
			var full atomic.Bool
			e := newEnv(t, fullDisk(full.Load))
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
			before := e.records()

			full.Store(true)
			_, err := e.send(req)
			if got, want := code(err), ingest.CodeNoSpace; got != want {
				t.Fatalf("code = %s, want %s (%v)", got, want, err)
			}
			if got, want := e.records(), before; got != want {
				t.Errorf("the refused piece changed the records:\n%s\nwant\n%s", got, want)
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

// A piece written into the token's one open upload, then named for
// another video after the file (a video made by POST /videos, which had
// no upload to match), is copied out to start that video's upload, and
// leaves the first upload as it was.
func TestMisplacedPieceIsMovedToTheNamedVideo(t *testing.T) {
	e := newEnv(t)
	tok := e.token(0)
	fileA := payload(76, partSize+10)
	fileB := payload(77, partSize+20)
	a := e.mustSend(request{token: tok, contentRange: "part 1/2", data: fileA[:partSize]})
	b := e.emptyVideo()
	before := e.upload(a.ID)

	v := e.mustSend(request{token: tok, contentRange: "part 2/2", videoAfter: b, data: fileB[partSize:]})
	if got, want := v.ID, b; got != want {
		t.Fatalf("the piece went to %s, want %s", got, want)
	}
	if got, want := fmt.Sprintf("%+v", e.upload(a.ID)), fmt.Sprintf("%+v", before); got != want {
		t.Errorf("the first upload changed:\n%s\nwant\n%s", got, want)
	}
	e.mustSend(request{token: tok, contentRange: "part 1/2", videoBefore: b, data: fileB[:partSize]})
	e.mustSend(request{token: tok, contentRange: "part 2/2", videoBefore: a.ID, data: fileA[partSize:]})
	e.checkSource(a.ID, fileA)
	e.checkSource(b, fileB)
	e.checkNoStrayBlobs()
}

// Uploads in progress when the database was upgraded to the straight
// upload path (migration 0007) could be left in two states the new code
// never makes: a link upload with its video but no upload row (it had no
// part yet), and a token upload whose source was named but never created
// (only out-of-order pieces had arrived). Recover completes both, so that
// their next parts are taken, and does nothing the second time.
//
// SQLite only: PostgreSQL's schema starts after 0007.
func TestRecoverRepairsUploadsFromBeforeTheUpgrade(t *testing.T) {
	storetest.SQLiteOnly(t)
	ctx := context.Background()
	e := newEnv(t)

	// A token upload whose only piece went aside, its source then removed.
	tok := e.token(0)
	file := payload(91, partSize+10)
	parts := split(file)
	early := e.mustSend(request{token: tok, contentRange: "part 2/2", videoBefore: e.emptyVideo(), data: parts[1]})
	if err := os.Remove(e.blobPath(e.upload(early.ID).SourceKey)); err != nil {
		t.Fatal(err)
	}

	// A link upload started, its upload row then removed.
	l, err := e.store.CreateLink(ctx, store.LinkCreate{Label: "before", MaxUploads: 1, AllowedTypes: []string{"any"}})
	if err != nil {
		t.Fatal(err)
	}
	lu, err := e.svc.StartLink(ctx, store.LinkUpload{ID: store.RandomString(22), LinkID: l.ID, Filename: "a.bin",
		Size: 2 * partSize, ChunkSize: partSize, TotalParts: 2, HashState: []byte{1}},
		store.VideoCreate{Title: "a.bin", Public: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := storetest.RawDB(t, e.dsn).Exec(`DELETE FROM uploads WHERE video_id = ?`, lu.VideoID); err != nil {
		t.Fatal(err)
	}

	e.restart()
	r, err := e.svc.Recover(ctx)
	if err != nil {
		t.Fatalf("Recover: %v", err)
	}
	if r.Repaired != 2 {
		t.Errorf("report %+v: repaired %d, want 2", r, r.Repaired)
	}
	if r, err := e.svc.Recover(ctx); err != nil || r.Repaired != 0 {
		t.Errorf("second Recover: %+v, %v; want nothing repaired", r, err)
	}

	// The token upload takes its first piece and completes, whole.
	e.mustSend(request{token: tok, contentRange: "part 1/2", videoBefore: early.ID, data: parts[0]})
	e.checkSource(early.ID, file)

	// The link upload takes its first part.
	u := e.upload(lu.VideoID)
	if u.Status != store.UploadUploading || u.TotalParts != 2 || u.Mode != store.ModePart {
		t.Fatalf("the link upload's new row: %+v", u)
	}
	p, err := e.svc.BeginLinkPart(ctx, ingest.LinkPart{LinkID: l.ID, VideoID: lu.VideoID, Part: 1, TotalParts: 2, Size: partSize})
	if err != nil {
		t.Fatalf("part 1 of the link upload: %v", err)
	}
	p.Close()
	e.checkNoStrayBlobs()
}

package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/ingest"
)

// The three clocks of an upload (api-contract.md 11.4): the token's TTL
// decides whether a video may start; a started video may finish after the
// token expired; deleting the token stops everything it started.
func TestTokenTTLOnlyGatesTheStart(t *testing.T) {
	e := newEnv(t)
	tok := e.token(1)
	file := payload(30, 3*partSize+10)
	parts := split(file)

	v := e.mustSend(request{token: tok, contentRange: "part 1/4", data: parts[0]})
	e.clock.Advance(2 * time.Second)

	// The token has expired; the running upload goes on, with or without
	// videoId.
	e.mustSend(request{token: tok, contentRange: "part 2/4", videoBefore: v.ID, data: parts[1]})
	e.mustSend(request{token: tok, contentRange: "part 3/4", data: parts[2]})

	// A new video cannot start.
	_, err := e.send(request{token: tok, contentRange: "part 1/1", data: parts[3]})
	if got, want := code(err), ingest.CodeInvalidToken; got != want {
		t.Errorf("new video with an expired token: code = %s, want %s", got, want)
	}

	// Deleting the token stops the running upload.
	if err := e.store.DeleteUploadToken(context.Background(), tok); err != nil {
		t.Fatalf("DeleteUploadToken: %v", err)
	}
	for _, req := range []request{
		{token: tok, contentRange: "part 4/4", videoBefore: v.ID, data: parts[3]},
		{token: tok, contentRange: "part 4/4", videoAfter: v.ID, data: parts[3]},
		{token: tok, contentRange: "part 4/4", data: parts[3]},
	} {
		_, err := e.send(req)
		if got, want := code(err), ingest.CodeInvalidToken; got != want {
			t.Errorf("part after deletion: code = %s, want %s", got, want)
		}
	}
	u, err := e.store.FindUpload(context.Background(), v.ID)
	if err != nil {
		t.Fatalf("FindUpload: %v", err)
	}
	if got, want := len(u.Parts), 3; got != want {
		t.Errorf("parts = %d, want %d", got, want)
	}
	e.checkNoStrayBlobs()
}

// Deleting a token while a piece streams in refuses that piece at Commit:
// the check is made again once the bytes are in.
func TestTokenDeletedWhileAPieceStreams(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tok := e.token(0)
	file := payload(31, partSize+10)
	parts := split(file)
	v := e.mustSend(request{token: tok, contentRange: "part 1/2", data: parts[0]})
	before := e.snapshot()

	rng, err := ingest.ParseContentRange("part 2/2")
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.svc.Begin(ctx, ingest.Request{Token: tok, Range: rng, VideoID: v.ID})
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	defer p.Close()
	if err := p.Receive(ctx, "clip.mp4", bytesOf(parts[1])); err != nil {
		t.Fatalf("Receive: %v", err)
	}
	if err := e.store.DeleteUploadToken(ctx, tok); err != nil {
		t.Fatalf("DeleteUploadToken: %v", err)
	}
	_, err = p.Commit(ctx, "")
	if got, want := code(err), ingest.CodeInvalidToken; got != want {
		t.Errorf("Commit after deletion: code = %s, want %s", got, want)
	}
	p.Close()
	if got, want := e.snapshot(), before; got != want {
		t.Errorf("state changed:\n%s\nwant\n%s", got, want)
	}
}

// Each accepted piece renews the lease; when no piece arrives for a whole
// lease, the upload is abandoned, its bytes deleted, and the client told.
func TestLeaseExpiryAbandonsTheUpload(t *testing.T) {
	const lease = time.Hour
	for _, tt := range []struct {
		description string
		// next sends the piece that arrives after the lease ran out.
		next func(e *env, tok, id string, data []byte) (store.Video, error)
	}{
		{
			description: "videoId before the file",
			next: func(e *env, tok, id string, data []byte) (store.Video, error) {
				return e.send(request{token: tok, contentRange: "part 4/4", videoBefore: id, data: data})
			},
		},
		{
			description: "videoId after the file",
			next: func(e *env, tok, id string, data []byte) (store.Video, error) {
				return e.send(request{token: tok, contentRange: "part 4/4", videoAfter: id, data: data})
			},
		},
		{
			description: "no videoId",
			next: func(e *env, tok, id string, data []byte) (store.Video, error) {
				return e.send(request{token: tok, contentRange: "part 4/4", data: data})
			},
		},
	} {
		t.Run(tt.description, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, withLease(lease))
			tok := e.token(0)
			file := payload(32, 3*partSize+10)
			parts := split(file)
			v := e.mustSend(request{token: tok, contentRange: "part 1/4", data: parts[0]})
			// Pieces keep coming just within the lease, each renewing it;
			// part 3 arrives early and waits aside.
			e.clock.Advance(lease - time.Millisecond)
			e.mustSend(request{token: tok, contentRange: "part 3/4", videoBefore: v.ID, data: parts[2]})
			e.clock.Advance(lease - time.Millisecond)
			e.mustSend(request{token: tok, contentRange: "part 2/4", videoBefore: v.ID, data: parts[1]})

			e.clock.Advance(lease)
			_, err := tt.next(e, tok, v.ID, parts[3])
			if got, want := code(err), ingest.CodeUploadAbandoned; got != want {
				t.Errorf("piece after the lease: code = %s, want %s", got, want)
			}
			if _, err := e.store.FindVideo(ctx, v.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("FindVideo after abandon: error = %v, want ErrNotFound", err)
			}
			if got := e.blobSizes(); len(got) != 0 {
				t.Errorf("blobs after abandon = %v, want none", got)
			}
		})
	}
}

// Reclaim abandons the uploads whose lease ran out, and only those. A
// video made beforehand survives its abandoned upload, empty.
func TestReclaimAbandonsLapsedUploads(t *testing.T) {
	ctx := context.Background()
	const lease = time.Hour
	e := newEnv(t, withLease(lease))
	tok := e.token(0)
	file := payload(33, partSize+10)
	parts := split(file)

	owned := e.mustSend(request{token: tok, contentRange: "part 1/2", data: parts[0]})
	made := e.emptyVideo()
	e.mustSend(request{token: tok, contentRange: "part 1/2", videoBefore: made, data: parts[0]})
	e.mustSend(request{token: tok, contentRange: "part 3/3", videoBefore: e.emptyVideo(), data: parts[1]})
	done := e.mustSend(request{token: tok, data: parts[1]})

	e.clock.Advance(lease - time.Millisecond)
	// Another token, since a part 1/3 without videoId would join the
	// upload above that waits for its part 1.
	fresh := e.mustSend(request{token: e.token(0), contentRange: "part 1/3", data: parts[0]})

	r, err := e.svc.Reclaim(ctx)
	if err != nil {
		t.Fatalf("Reclaim: %v", err)
	}
	// Nothing has lapsed, nothing is orphaned, and the upload holding
	// part 3 aside cannot move it in before part 1 arrives.
	if got, want := fmt.Sprintf("%+v", r), fmt.Sprintf("%+v", ingest.Report{}); got != want {
		t.Errorf("report before the lease ran out = %s, want %s", got, want)
	}

	e.clock.Advance(time.Millisecond)
	r, err = e.svc.Reclaim(ctx)
	if err != nil {
		t.Fatalf("Reclaim: %v", err)
	}
	if got, want := fmt.Sprintf("%+v", r), fmt.Sprintf("%+v", ingest.Report{Abandoned: 3}); got != want {
		t.Errorf("report = %s, want %s", got, want)
	}
	if _, err := e.store.FindVideo(ctx, owned.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("video the upload created: error = %v, want ErrNotFound", err)
	}
	v, err := e.store.FindVideo(ctx, made)
	if err != nil {
		t.Fatalf("video made beforehand: %v", err)
	}
	if got, want := v.UploadStatus, ""; got != want {
		t.Errorf("video made beforehand: upload status = %q, want none", got)
	}
	for _, id := range []string{done.ID, fresh.ID} {
		if _, err := e.store.FindUpload(ctx, id); err != nil {
			t.Errorf("upload %s was reclaimed: %v", id, err)
		}
	}
	e.checkSource(done.ID, parts[1])
	e.checkNoStrayBlobs()

	// The video made beforehand can be uploaded again.
	e.mustSend(request{token: tok, contentRange: "part 1/1", videoBefore: made, data: parts[1]})
	e.checkSource(made, parts[1])
}

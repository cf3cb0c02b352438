package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/ingest"
)

// fixture is the state a refused request meets.
type fixture struct {
	e     *env
	tok   string // The token the request uses.
	id    string // The video the setup uploaded into, if any.
	other string // Another token.
}

// sendPart sends a part that must be accepted, into f.id.
func (f *fixture) sendPart(header string, data []byte) {
	f.e.t.Helper()
	v := f.e.mustSend(request{token: f.tok, contentRange: header, videoBefore: f.id, data: data})
	f.id = v.ID
}

// Every refusal gets its code, and leaves the stored state exactly as it
// was: no row, no blob, no byte. A refusal is the client's fault, so it is
// not logged as a server error either.
func TestRefusals(t *testing.T) {
	const total = 2*partSize + 100 // For bytes mode.
	big := payload(20, partSize)
	bytesRange := func(from, to int) string { return fmt.Sprintf("bytes %d-%d/%d", from, to, total) }

	for _, tt := range []struct {
		description string
		setup       func(f *fixture)
		req         func(f *fixture) request
		wantCode    string
	}{
		// Part mode.
		{
			description: "the total changes",
			setup:       func(f *fixture) { f.sendPart("part 1/3", big) },
			req: func(f *fixture) request {
				return request{contentRange: "part 2/4", videoBefore: f.id, data: big}
			},
			wantCode: ingest.CodeDifferentTotalParts,
		},
		{
			description: "the total changes, videoId after the file",
			setup:       func(f *fixture) { f.sendPart("part 1/3", big) },
			req: func(f *fixture) request {
				return request{contentRange: "part 2/4", videoAfter: f.id, data: big}
			},
			wantCode: ingest.CodeDifferentTotalParts,
		},
		{
			description: "a total lower than a part already received",
			setup: func(f *fixture) {
				f.id = f.e.emptyVideo()
				f.sendPart("part 1/*", big)
				f.sendPart("part 3/*", big)
			},
			req: func(f *fixture) request {
				return request{contentRange: "part 2/2", videoBefore: f.id, data: big}
			},
			wantCode: ingest.CodeTotalPartsTooLow,
		},
		{
			description: "a total lower than a part already received, on a re-sent part",
			setup: func(f *fixture) {
				f.sendPart("part 1/*", big)
				f.sendPart("part 2/*", big)
				f.sendPart("part 3/*", big)
			},
			req: func(f *fixture) request {
				return request{contentRange: "part 2/2", videoBefore: f.id, data: big}
			},
			wantCode: ingest.CodeTotalPartsTooLow,
		},
		{
			description: "a part beyond the upload's total",
			setup:       func(f *fixture) { f.sendPart("part 1/2", big) },
			req: func(f *fixture) request {
				return request{contentRange: "part 3/*", videoBefore: f.id, data: big}
			},
			wantCode: ingest.CodePartTooHighTotal,
		},
		{
			description: "a part under 5 MiB while the total is unknown",
			req: func(f *fixture) request {
				return request{contentRange: "part 1/*", data: big[:100]}
			},
			wantCode: ingest.CodePartTooSmall,
		},
		{
			description: "a part one byte under 5 MiB that is not the last",
			setup:       func(f *fixture) { f.sendPart("part 1/3", big) },
			req: func(f *fixture) request {
				return request{contentRange: "part 2/3", videoBefore: f.id, data: big[:partSize-1]}
			},
			wantCode: ingest.CodePartTooSmall,
		},
		{
			description: "an empty first part",
			req: func(f *fixture) request {
				return request{contentRange: "part 1/1", data: nil}
			},
			wantCode: ingest.CodeFileEmpty,
		},
		{
			description: "an empty single file",
			req:         func(f *fixture) request { return request{data: nil} },
			wantCode:    ingest.CodeFileEmpty,
		},

		// Bytes mode.
		{
			description: "overlapping byte ranges",
			setup: func(f *fixture) {
				f.id = f.e.emptyVideo()
				f.sendPart(bytesRange(0, partSize-1), big)
			},
			req: func(f *fixture) request {
				return request{contentRange: bytesRange(partSize-10, 2*partSize-11), videoBefore: f.id, data: big}
			},
			wantCode: ingest.CodeBytesOverlap,
		},
		{
			description: "a range overlapping one received later in the file",
			setup: func(f *fixture) {
				f.id = f.e.emptyVideo()
				f.sendPart(bytesRange(partSize, 2*partSize-1), big)
			},
			req: func(f *fixture) request {
				return request{contentRange: bytesRange(10, partSize+9), videoBefore: f.id, data: big}
			},
			wantCode: ingest.CodeBytesOverlap,
		},
		{
			description: "a range starting where another did, with another length",
			setup:       func(f *fixture) { f.sendPart(bytesRange(0, partSize-1), big) },
			req: func(f *fixture) request {
				return request{contentRange: bytesRange(0, partSize), videoBefore: f.id, data: append(big, 'x')}
			},
			wantCode: ingest.CodeBytesOverlap,
		},
		{
			description: "a body shorter than its range",
			req: func(f *fixture) request {
				return request{contentRange: bytesRange(0, partSize-1), data: big[:partSize-1]}
			},
			wantCode: ingest.CodeBytesMismatch,
		},
		{
			description: "a body longer than its range",
			req: func(f *fixture) request {
				return request{contentRange: bytesRange(0, partSize-1), data: append(big, 'x')}
			},
			wantCode: ingest.CodeBytesMismatch,
		},
		{
			description: "a body longer than its range, appended to a source",
			setup:       func(f *fixture) { f.sendPart(bytesRange(0, partSize-1), big) },
			req: func(f *fixture) request {
				return request{contentRange: bytesRange(partSize, 2*partSize-1), videoBefore: f.id, data: append(big, 'x')}
			},
			wantCode: ingest.CodeBytesMismatch,
		},
		{
			description: "the byte total changes",
			setup:       func(f *fixture) { f.sendPart(bytesRange(0, partSize-1), big) },
			req: func(f *fixture) request {
				return request{contentRange: fmt.Sprintf("bytes %d-%d/%d", partSize, 2*partSize-1, total+1), videoBefore: f.id, data: big}
			},
			wantCode: ingest.CodeBytesDifferentTotal,
		},

		// Mixed modes.
		{
			description: "part after bytes",
			setup:       func(f *fixture) { f.sendPart(bytesRange(0, partSize-1), big) },
			req: func(f *fixture) request {
				return request{contentRange: "part 2/3", videoBefore: f.id, data: big}
			},
			wantCode: ingest.CodeStartedWithBytes,
		},
		{
			description: "bytes after part",
			setup:       func(f *fixture) { f.sendPart("part 1/3", big) },
			req: func(f *fixture) request {
				return request{contentRange: bytesRange(partSize, 2*partSize-1), videoBefore: f.id, data: big}
			},
			wantCode: ingest.CodeStartedWithPart,
		},
		{
			description: "a whole file into a ranged upload",
			setup:       func(f *fixture) { f.sendPart("part 1/3", big) },
			req:         func(f *fixture) request { return request{videoBefore: f.id, data: big} },
			wantCode:    ingest.CodeAlreadyInitiated,
		},

		// Completed videos.
		{
			description: "a new part for a completed video",
			setup:       func(f *fixture) { f.sendPart("part 1/1", big[:10]) },
			req: func(f *fixture) request {
				return request{contentRange: "part 2/*", videoBefore: f.id, data: big}
			},
			wantCode: ingest.CodeSourceUploaded,
		},
		{
			description: "another whole file for a completed video",
			setup:       func(f *fixture) { f.sendPart("", big[:10]) },
			req:         func(f *fixture) request { return request{videoBefore: f.id, data: big[:11]} },
			wantCode:    ingest.CodeSourceUploaded,
		},
		{
			description: "a whole file for a video completed in parts",
			setup:       func(f *fixture) { f.sendPart("part 1/1", big[:10]) },
			req:         func(f *fixture) request { return request{videoAfter: f.id, data: big[:10]} },
			wantCode:    ingest.CodeSourceUploaded,
		},

		// Videos the token may not upload to.
		{
			description: "another token's video, videoId before the file",
			setup: func(f *fixture) {
				v := f.e.mustSend(request{token: f.other, contentRange: "part 1/2", data: big})
				f.id = v.ID
			},
			req: func(f *fixture) request {
				return request{contentRange: "part 2/2", videoBefore: f.id, data: big[:10]}
			},
			wantCode: ingest.CodeVideoNotFound,
		},
		{
			description: "another token's video, videoId after the file",
			setup: func(f *fixture) {
				v := f.e.mustSend(request{token: f.other, contentRange: "part 1/2", data: big})
				f.id = v.ID
			},
			req: func(f *fixture) request {
				return request{contentRange: "part 2/2", videoAfter: f.id, data: big[:10]}
			},
			wantCode: ingest.CodeVideoNotFound,
		},
		{
			description: "a video made beforehand that another token started filling",
			setup: func(f *fixture) {
				f.id = f.e.emptyVideo()
				f.e.mustSend(request{token: f.other, contentRange: "part 1/2", videoBefore: f.id, data: big})
			},
			req: func(f *fixture) request {
				return request{contentRange: "part 1/2", videoAfter: f.id, data: big}
			},
			wantCode: ingest.CodeVideoNotFound,
		},
		{
			description: "an unknown video",
			req: func(f *fixture) request {
				return request{contentRange: "part 1/1", videoBefore: "vi0000000000000000000000", data: big[:10]}
			},
			wantCode: ingest.CodeVideoNotFound,
		},
		{
			description: "an unknown video, after the file",
			req: func(f *fixture) request {
				return request{contentRange: "part 1/1", videoAfter: "vi0000000000000000000000", data: big[:10]}
			},
			wantCode: ingest.CodeVideoNotFound,
		},
		{
			description: "a malformed videoId after the file",
			req: func(f *fixture) request {
				return request{contentRange: "part 1/1", videoAfter: "../../etc/passwd", data: big[:10]}
			},
			wantCode: ingest.CodeVideoNotFound,
		},
		{
			description: "a later part without videoId and no upload waiting for it",
			setup:       func(f *fixture) { f.sendPart("part 1/1", big[:10]) },
			req: func(f *fixture) request {
				return request{contentRange: "part 2/2", data: big[:10]}
			},
			wantCode: ingest.CodeVideoIDRequired,
		},

		// Tokens.
		{
			description: "no token",
			setup:       func(f *fixture) { f.tok = "" },
			req:         func(f *fixture) request { return request{data: big[:10]} },
			wantCode:    ingest.CodeMissingToken,
		},
		{
			description: "an unknown token",
			setup:       func(f *fixture) { f.tok = "to0000000000000000000000" },
			req:         func(f *fixture) request { return request{data: big[:10]} },
			wantCode:    ingest.CodeInvalidToken,
		},
		{
			description: "a malformed token",
			setup:       func(f *fixture) { f.tok = "to' OR 1=1 --" },
			req:         func(f *fixture) request { return request{data: big[:10]} },
			wantCode:    ingest.CodeInvalidToken,
		},
		{
			description: "a deleted token, for a new video",
			setup: func(f *fixture) {
				if err := f.e.store.DeleteUploadToken(context.Background(), f.tok); err != nil {
					f.e.t.Fatal(err)
				}
			},
			req:      func(f *fixture) request { return request{data: big[:10]} },
			wantCode: ingest.CodeInvalidToken,
		},
		{
			description: "a deleted token, for its running upload",
			setup: func(f *fixture) {
				f.sendPart("part 1/2", big)
				if err := f.e.store.DeleteUploadToken(context.Background(), f.tok); err != nil {
					f.e.t.Fatal(err)
				}
			},
			req: func(f *fixture) request {
				return request{contentRange: "part 2/2", videoAfter: f.id, data: big[:10]}
			},
			wantCode: ingest.CodeInvalidToken,
		},
		{
			description: "an expired token, for a new video",
			setup: func(f *fixture) {
				f.tok = f.e.token(1)
				f.e.clock.Advance(time.Second)
			},
			req:      func(f *fixture) request { return request{contentRange: "part 1/1", data: big[:10]} },
			wantCode: ingest.CodeInvalidToken,
		},
		{
			description: "an expired token, for a video made beforehand",
			setup: func(f *fixture) {
				f.tok = f.e.token(1)
				f.id = f.e.emptyVideo()
				f.e.clock.Advance(2 * time.Second)
			},
			req: func(f *fixture) request {
				return request{contentRange: "part 1/1", videoBefore: f.id, data: big[:10]}
			},
			wantCode: ingest.CodeInvalidToken,
		},
		{
			description: "an expired token, for a video made beforehand named after the file",
			setup: func(f *fixture) {
				f.tok = f.e.token(1)
				f.id = f.e.emptyVideo()
				f.e.clock.Advance(2 * time.Second)
			},
			req: func(f *fixture) request {
				return request{contentRange: "part 1/1", videoAfter: f.id, data: big[:10]}
			},
			wantCode: ingest.CodeInvalidToken,
		},
		{
			description: "an expired token whose running upload has its first part, for another new video",
			setup: func(f *fixture) {
				f.tok = f.e.token(1)
				f.sendPart("part 1/2", big)
				f.e.clock.Advance(2 * time.Second)
			},
			req:      func(f *fixture) request { return request{contentRange: "part 1/2", data: big} },
			wantCode: ingest.CodeInvalidToken,
		},
	} {
		t.Run(tt.description, func(t *testing.T) {
			e := newEnv(t)
			f := &fixture{e: e, tok: e.token(0), other: e.token(0)}
			if tt.setup != nil {
				tt.setup(f)
			}
			before := e.snapshot()
			req := tt.req(f)
			req.token = f.tok
			_, err := e.send(req)
			if got, want := code(err), tt.wantCode; got != want {
				t.Errorf("code = %s, want %s (%v)", got, want, err)
			}
			if got, want := e.snapshot(), before; got != want {
				t.Errorf("the refused request changed the stored state:\n%s\nwant\n%s", got, want)
			}
			if errs := e.logs.errors(); len(errs) != 0 {
				t.Errorf("a refusal was logged as a server error: %q", errs)
			}
		})
	}
}

func TestNoFileAndTwoFiles(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tok := e.token(0)
	rng, err := ingest.ParseContentRange("")
	if err != nil {
		t.Fatal(err)
	}

	p, err := e.svc.Begin(ctx, ingest.Request{Token: tok, Range: rng})
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	_, err = p.Commit(ctx, "")
	p.Close()
	if got, want := code(err), ingest.CodeNoFile; got != want {
		t.Errorf("Commit without a file: code = %s, want %s", got, want)
	}

	p, err = e.svc.Begin(ctx, ingest.Request{Token: tok, Range: rng})
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	if err := p.Receive(ctx, "a.mp4", strings.NewReader("first")); err != nil {
		t.Fatalf("Receive: %v", err)
	}
	err = p.Receive(ctx, "b.mp4", strings.NewReader("second"))
	p.Close()
	if got, want := code(err), ingest.CodeMultipleFiles; got != want {
		t.Errorf("a second file: code = %s, want %s", got, want)
	}
	if got := e.blobSizes(); len(got) != 0 {
		t.Errorf("blobs = %v, want none", got)
	}
	list, _, err := e.store.ListVideos(ctx, store.VideoFilter{Sort: store.VideoSortCreatedAt, Page: store.Page{Number: 1, Size: 10}})
	if err != nil {
		t.Fatalf("ListVideos: %v", err)
	}
	if len(list) != 0 {
		t.Errorf("videos = %d, want none", len(list))
	}
}

// A request cut off midway (the client went away while the body streamed
// in) leaves nothing behind, and the part can be sent again.
func TestInterruptedPieceLeavesNoTrace(t *testing.T) {
	for _, tt := range []struct {
		description string
		header      string // The interrupted piece; parts before it arrived.
		before      bool   // The piece names its video before the file.
		first       bool   // Part 1 arrived before the interrupted piece.
	}{
		{"a first piece, into its own blob", "part 1/2", false, false},
		{"a next piece, appended to the source", "part 2/2", true, true},
		{"a next piece found without videoId", "part 2/2", false, true},
		{"an early piece, set aside", "part 3/3", true, true},
	} {
		t.Run(tt.description, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t)
			tok := e.token(0)
			var k, n int
			if _, err := fmt.Sscanf(tt.header, "part %d/%d", &k, &n); err != nil {
				t.Fatal(err)
			}
			file := payload(21, (n-1)*partSize+10)
			parts := split(file)
			header := func(i int) string { return fmt.Sprintf("part %d/%d", i, n) }
			var id string
			if tt.first {
				id = e.mustSend(request{token: tok, contentRange: header(1), data: parts[0]}).ID
			}
			before := e.snapshot()

			rng, err := ingest.ParseContentRange(tt.header)
			if err != nil {
				t.Fatal(err)
			}
			req := ingest.Request{Token: tok, Range: rng}
			if tt.before {
				req.VideoID = id
			}
			p, err := e.svc.Begin(ctx, req)
			if err != nil {
				t.Fatalf("Begin: %v", err)
			}
			err = p.Receive(ctx, "clip.mp4", &failingReader{data: parts[k-1][:len(parts[k-1])/2], err: errClientGone})
			if !errors.Is(err, errClientGone) {
				t.Fatalf("Receive of a cut-off body: error = %v, want %v", err, errClientGone)
			}
			p.Close()
			if got, want := e.snapshot(), before; got != want {
				t.Errorf("the cut-off request changed the stored state:\n%s\nwant\n%s", got, want)
			}
			e.checkNoStrayBlobs()

			// The client sends the piece again, then the rest.
			again := request{token: tok, contentRange: tt.header, data: parts[k-1]}
			if tt.before {
				again.videoBefore = id
			}
			id = e.mustSend(again).ID
			for i := range parts {
				if _, held := e.upload(id).Part(int64(i + 1)); !held {
					e.mustSend(request{token: tok, contentRange: header(i + 1), videoBefore: id, data: parts[i]})
				}
			}
			e.checkSource(id, file)
			e.checkNoStrayBlobs()
		})
	}
}

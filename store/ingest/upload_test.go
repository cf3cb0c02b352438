package ingest_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/ingest"
)

// The request shapes of the official clients (api-contract.md 3.3) all
// assemble one video, byte for byte, whatever they do with videoId.
func TestPartUploadClientShapes(t *testing.T) {
	for _, tt := range []struct {
		description string
		// header returns the Content-Range of part k of n.
		header func(k, n int) string
		// videoID says where the request for part k carries the videoId.
		videoID func(k int) (before, after bool)
	}{
		{
			description: "browser uploader: part k/N, videoId before the file from part 2",
			header:      func(k, n int) string { return fmt.Sprintf("part %d/%d", k, n) },
			videoID:     func(k int) (bool, bool) { return k > 1, false },
		},
		{
			description: "progressive session: part k/*, then N/N, videoId after the file",
			header:      progressive,
			videoID:     func(k int) (bool, bool) { return false, k > 1 },
		},
		{
			description: "one-call upload of Node and Go: part k/N and never a videoId",
			header:      func(k, n int) string { return fmt.Sprintf("part %d/%d", k, n) },
			videoID:     func(int) (bool, bool) { return false, false },
		},
		{
			description: "progressive without any videoId",
			header:      progressive,
			videoID:     func(int) (bool, bool) { return false, false },
		},
	} {
		t.Run(tt.description, func(t *testing.T) {
			e := newEnv(t)
			tok := e.token(0)
			file := payload(1, 2*partSize+1234)
			parts := split(file)
			var id string
			for i, data := range parts {
				k := i + 1
				req := request{token: tok, contentRange: tt.header(k, len(parts)), data: data, filename: "dir/my video.mp4"}
				before, after := tt.videoID(k)
				if before {
					req.videoBefore = id
				}
				if after {
					req.videoAfter = id
				}
				v := e.mustSend(req)
				if id == "" {
					id = v.ID
				}
				if got, want := v.ID, id; got != want {
					t.Fatalf("part %d went to video %s, want %s", k, got, want)
				}
				wantStatus := store.UploadUploading
				if k == len(parts) {
					wantStatus = store.UploadUploaded
				}
				if got, want := v.UploadStatus, wantStatus; got != want {
					t.Errorf("after part %d: status = %q, want %q", k, got, want)
				}
				if got, want := v.TokenID, tok; got != want {
					t.Errorf("token = %s, want %s", got, want)
				}
			}
			e.checkSource(id, file)
			e.checkNoStrayBlobs()
			v, err := e.store.FindVideo(context.Background(), id)
			if err != nil {
				t.Fatalf("FindVideo: %v", err)
			}
			if got, want := v.Title, "my video.mp4"; got != want {
				t.Errorf("title = %q, want the base name of the first part's file, %q", got, want)
			}
			u, err := e.store.FindUpload(context.Background(), id)
			if err != nil {
				t.Fatalf("FindUpload: %v", err)
			}
			if got, want := fmt.Sprint(u.Mode, u.TotalParts, u.ReceivedParts, u.TotalBytes), fmt.Sprint("part", 3, 3, len(file)); got != want {
				t.Errorf("mode, total parts, appended parts, total bytes = %s, want %s", got, want)
			}
			if len(e.logs.errors()) != 0 {
				t.Errorf("errors logged: %q", e.logs.errors())
			}
		})
	}
}

func progressive(k, n int) string {
	if k == n {
		return fmt.Sprintf("part %d/%d", k, n)
	}
	return fmt.Sprintf("part %d/*", k)
}

func TestSingleUpload(t *testing.T) {
	e := newEnv(t)
	tok := e.token(0)
	file := payload(2, 100_000)
	v := e.mustSend(request{token: tok, data: file, filename: `C:\Users\me\holiday.mov`})
	if got, want := v.UploadStatus, store.UploadUploaded; got != want {
		t.Errorf("status = %q, want %q", got, want)
	}
	if got, want := v.Title, "holiday.mov"; got != want {
		t.Errorf("title = %q, want %q", got, want)
	}
	e.checkSource(v.ID, file)
	e.checkNoStrayBlobs()

	// A second single upload with the same token starts another video.
	w := e.mustSend(request{token: tok, data: file[:10]})
	if w.ID == v.ID {
		t.Errorf("a second single upload went into the first video")
	}
	e.checkSource(w.ID, file[:10])
}

func TestTitleFromFilename(t *testing.T) {
	for _, tt := range []struct {
		description string
		filename    string
		want        string
	}{
		{"a plain name", "clip.mp4", "clip.mp4"},
		{"a slash path", "dir/sub/my video.mp4", "my video.mp4"},
		{"a backslash path", `C:\videos\clip.mp4`, "clip.mp4"},
		{"control and bidi characters are dropped", "cl\x00ip\u202e4pm.exe", "clip4pm.exe"},
		{"surrounding spaces are trimmed", "  clip.mp4  ", "clip.mp4"},
		{"no name at all", "", "Untitled video"},
		{"only a directory", "dir/", "dir"},
	} {
		t.Run(tt.description, func(t *testing.T) {
			e := newEnv(t)
			tok := e.token(0)
			rng, err := ingest.ParseContentRange("")
			if err != nil {
				t.Fatal(err)
			}
			p, err := e.svc.Begin(context.Background(), ingest.Request{Token: tok, Range: rng})
			if err != nil {
				t.Fatalf("Begin: %v", err)
			}
			defer p.Close()
			if err := p.Receive(context.Background(), tt.filename, strings.NewReader("x")); err != nil {
				t.Fatalf("Receive: %v", err)
			}
			v, err := p.Commit(context.Background(), "")
			if err != nil {
				t.Fatalf("Commit: %v", err)
			}
			if got, want := v.Title, tt.want; got != want {
				t.Errorf("title = %q, want %q", got, want)
			}
		})
	}
}

func TestBytesUpload(t *testing.T) {
	for _, tt := range []struct {
		description string
		order       []int
	}{
		{"in order", []int{0, 1, 2}},
		{"reversed", []int{2, 1, 0}},
		{"middle first", []int{1, 2, 0}},
	} {
		t.Run(tt.description, func(t *testing.T) {
			e := newEnv(t)
			tok := e.token(0)
			file := payload(3, 2*partSize+77)
			parts := split(file)
			id := e.emptyVideo()
			for _, i := range tt.order {
				from := i * partSize
				to := from + len(parts[i]) - 1
				e.mustSend(request{
					token:        tok,
					contentRange: fmt.Sprintf("bytes %d-%d/%d", from, to, len(file)),
					videoBefore:  id,
					data:         parts[i],
				})
			}
			e.checkSource(id, file)
			e.checkNoStrayBlobs()
		})
	}
}

// A bytes upload started without videoId is joined by later ranges with
// the same total, as part uploads are.
func TestBytesUploadWithoutVideoID(t *testing.T) {
	e := newEnv(t)
	tok := e.token(0)
	file := payload(4, partSize+10)
	parts := split(file)
	v := e.mustSend(request{token: tok, contentRange: fmt.Sprintf("bytes 0-%d/%d", partSize-1, len(file)), data: parts[0]})
	w := e.mustSend(request{token: tok, contentRange: fmt.Sprintf("bytes %d-%d/%d", partSize, len(file)-1, len(file)), data: parts[1]})
	if got, want := w.ID, v.ID; got != want {
		t.Fatalf("second range went to %s, want %s", got, want)
	}
	e.checkSource(v.ID, file)
}

// Parts may arrive in any order; the source is assembled in part order
// and no piece is left aside once the upload is complete.
func TestPartsInAnyOrder(t *testing.T) {
	orders := [][]int{
		{4, 3, 2, 1},
		{2, 4, 3, 1},
		{1, 3, 4, 2},
		{1, 4, 2, 3},
	}
	r := rand.New(rand.NewPCG(7, 7))
	perm := r.Perm(4)
	for i := range perm {
		perm[i]++
	}
	orders = append(orders, perm)
	for _, order := range orders {
		t.Run(fmt.Sprint(order), func(t *testing.T) {
			e := newEnv(t)
			tok := e.token(0)
			file := payload(5, 3*partSize+999)
			parts := split(file)
			id := e.emptyVideo()
			for n, k := range order {
				v := e.mustSend(request{token: tok, contentRange: fmt.Sprintf("part %d/%d", k, len(parts)), videoBefore: id, data: parts[k-1]})
				wantStatus := store.UploadUploading
				if n == len(order)-1 {
					wantStatus = store.UploadUploaded
				}
				if got, want := v.UploadStatus, wantStatus; got != want {
					t.Errorf("after %d parts: status = %q, want %q", n+1, got, want)
				}
			}
			e.checkSource(id, file)
			e.checkNoStrayBlobs()
			if got, want := len(e.logs.errors()), 0; got != want {
				t.Errorf("errors logged: %q", e.logs.errors())
			}
		})
	}
}

// The progressive uploader only learns the total with the last part, and
// that part may be the one that fills the last gap or come before it.
func TestTotalArrivesWithAnEarlyLastPart(t *testing.T) {
	e := newEnv(t)
	tok := e.token(0)
	file := payload(6, 2*partSize+5)
	parts := split(file)
	id := e.emptyVideo()
	e.mustSend(request{token: tok, contentRange: "part 1/*", videoBefore: id, data: parts[0]})
	e.mustSend(request{token: tok, contentRange: "part 3/3", videoBefore: id, data: parts[2]})
	v := e.mustSend(request{token: tok, contentRange: "part 2/*", videoBefore: id, data: parts[1]})
	if got, want := v.UploadStatus, store.UploadUploaded; got != want {
		t.Errorf("status = %q, want %q", got, want)
	}
	e.checkSource(id, file)
}

// videoId may follow the file; a first part then fills the named video
// (made by POST /videos) rather than starting a new one.
func TestVideoIDAfterTheFile(t *testing.T) {
	e := newEnv(t)
	tok := e.token(0)
	id := e.emptyVideo()
	file := payload(7, partSize+3)
	parts := split(file)
	v := e.mustSend(request{token: tok, contentRange: "part 1/2", videoAfter: id, data: parts[0], filename: "ignored.mp4"})
	if got, want := v.ID, id; got != want {
		t.Fatalf("part 1 went to %s, want %s", got, want)
	}
	e.mustSend(request{token: tok, contentRange: "part 2/2", videoAfter: id, data: parts[1]})
	e.checkSource(id, file)
	if got, want := v.Title, "made beforehand"; got != want {
		t.Errorf("title = %q, want the video's own %q", got, want)
	}
	e.checkNoStrayBlobs()
}

// A part without videoId before the file is first aimed at the token's one
// open upload (its bytes go to that upload's source); when a videoId after
// the file names another video, the bytes move there and the first
// upload's source is left exactly as it was.
func TestVideoIDAfterTheFileOverridesTheGuess(t *testing.T) {
	e := newEnv(t)
	tok := e.token(0)
	fileA := payload(8, partSize+100)
	fileB := payload(9, partSize+200)
	a := e.mustSend(request{token: tok, contentRange: "part 1/2", data: fileA[:partSize]})
	b := e.emptyVideo()

	e.mustSend(request{token: tok, contentRange: "part 2/2", videoAfter: b, data: fileB[partSize:]})
	e.checkNoStrayBlobs()
	u, err := e.store.FindUpload(context.Background(), a.ID)
	if err != nil {
		t.Fatalf("FindUpload(a): %v", err)
	}
	if got, want := fmt.Sprint(u.SourceSize, len(u.Parts)), fmt.Sprint(partSize, 1); got != want {
		t.Errorf("a's source size and parts = %s, want %s", got, want)
	}

	e.mustSend(request{token: tok, contentRange: "part 1/2", videoBefore: b, data: fileB[:partSize]})
	e.mustSend(request{token: tok, contentRange: "part 2/2", videoBefore: a.ID, data: fileA[partSize:]})
	e.checkSource(a.ID, fileA)
	e.checkSource(b, fileB)
	e.checkNoStrayBlobs()
	if len(e.logs.errors()) != 0 {
		t.Errorf("errors logged: %q", e.logs.errors())
	}
}

// A part without videoId joins the token's one open upload. With two
// candidates, the service cannot tell and asks for the videoId, keeping
// nothing of the piece.
func TestPartWithoutVideoID(t *testing.T) {
	e := newEnv(t)
	tok := e.token(0)
	other := e.token(0)
	file := payload(10, partSize+10)
	parts := split(file)

	first := e.mustSend(request{token: tok, contentRange: "part 1/2", data: parts[0]})
	// Another token's upload is never a candidate.
	e.mustSend(request{token: other, contentRange: "part 1/2", data: parts[0]})
	// An upload with another total is not a candidate either.
	e.mustSend(request{token: tok, contentRange: "part 1/3", data: parts[0]})

	v := e.mustSend(request{token: tok, contentRange: "part 2/2", data: parts[1]})
	if got, want := v.ID, first.ID; got != want {
		t.Fatalf("part 2 joined %s, want %s", got, want)
	}
	e.checkSource(first.ID, file)

	// Two uploads of the same token now wait for part 2 of an unknown
	// total: ambiguous.
	a := e.mustSend(request{token: tok, contentRange: "part 1/*", data: parts[0]})
	b := e.mustSend(request{token: tok, contentRange: "part 1/*", data: parts[0]})
	if a.ID == b.ID {
		t.Fatalf("two first parts without videoId went into one video")
	}
	before := e.snapshot()
	_, err := e.send(request{token: tok, contentRange: "part 2/*", data: parts[0]})
	if got, want := code(err), ingest.CodeVideoIDRequired; got != want {
		t.Errorf("ambiguous part: code = %s, want %s", got, want)
	}
	if got, want := e.snapshot(), before; got != want {
		t.Errorf("an ambiguous part changed the stored state:\n%s\nwant\n%s", got, want)
	}
	// Naming the video settles it.
	e.mustSend(request{token: tok, contentRange: "part 2/2", videoAfter: b.ID, data: parts[1]})
	e.checkSource(b.ID, file)
	if len(e.logs.errors()) != 0 {
		t.Errorf("errors logged: %q", e.logs.errors())
	}
}

// A part that is not the first, without videoId, for a token with no
// upload waiting for it, cannot start a video.
func TestLaterPartWithoutAnyUpload(t *testing.T) {
	e := newEnv(t)
	tok := e.token(0)
	_, err := e.send(request{token: tok, contentRange: "part 2/2", data: []byte("x")})
	if got, want := code(err), ingest.CodeVideoIDRequired; got != want {
		t.Errorf("code = %s, want %s", got, want)
	}
	e.checkNoStrayBlobs()
	if got := e.blobSizes(); len(got) != 0 {
		t.Errorf("blobs = %v, want none", got)
	}
}

// A re-sent part with the same length is a retry after a lost response:
// it succeeds and its bytes are thrown away. With another length it is a
// different part and is refused.
func TestResendingAPart(t *testing.T) {
	for _, tt := range []struct {
		description string
		// resend is sent after parts 1 and 2 of 3 arrived.
		resend   func(tok, id string, parts [][]byte) request
		wantCode string
	}{
		{
			description: "the same part with the same length, videoId before",
			resend: func(tok, id string, parts [][]byte) request {
				return request{token: tok, contentRange: "part 2/3", videoBefore: id, data: payload(99, partSize)}
			},
		},
		{
			description: "the same part with the same length, videoId after",
			resend: func(tok, id string, parts [][]byte) request {
				return request{token: tok, contentRange: "part 2/*", videoAfter: id, data: parts[1]}
			},
		},
		{
			description: "the first part with videoId",
			resend: func(tok, id string, parts [][]byte) request {
				return request{token: tok, contentRange: "part 1/3", videoBefore: id, data: parts[0]}
			},
		},
		{
			description: "the same part with another length",
			resend: func(tok, id string, parts [][]byte) request {
				return request{token: tok, contentRange: "part 2/3", videoBefore: id, data: payload(99, partSize+1)}
			},
			wantCode: ingest.CodePartAlreadySent,
		},
		{
			description: "the same part with another length, videoId after",
			resend: func(tok, id string, parts [][]byte) request {
				return request{token: tok, contentRange: "part 2/3", videoAfter: id, data: payload(99, partSize+1)}
			},
			wantCode: ingest.CodePartAlreadySent,
		},
	} {
		t.Run(tt.description, func(t *testing.T) {
			e := newEnv(t)
			tok := e.token(0)
			file := payload(11, 2*partSize+50)
			parts := split(file)
			v := e.mustSend(request{token: tok, contentRange: "part 1/3", data: parts[0]})
			e.mustSend(request{token: tok, contentRange: "part 2/3", videoBefore: v.ID, data: parts[1]})

			before := e.snapshot()
			got, err := e.send(tt.resend(tok, v.ID, parts))
			if got, want := code(err), or(tt.wantCode, "<nil>"); got != want {
				t.Fatalf("resend: code = %s, want %s", got, want)
			}
			if err == nil && got.ID != v.ID {
				t.Errorf("resend answered with video %s, want %s", got.ID, v.ID)
			}
			if got, want := e.snapshot(), before; got != want {
				t.Errorf("the resend changed the stored state:\n%s\nwant\n%s", got, want)
			}

			e.mustSend(request{token: tok, contentRange: "part 3/3", videoBefore: v.ID, data: parts[2]})
			e.checkSource(v.ID, file)
			e.checkNoStrayBlobs()
		})
	}
}

// Re-sending the last part after the upload completed is still a retry.
func TestResendingTheLastPartOfACompletedUpload(t *testing.T) {
	e := newEnv(t)
	tok := e.token(0)
	file := payload(12, partSize+10)
	parts := split(file)
	v := e.mustSend(request{token: tok, contentRange: "part 1/2", data: parts[0]})
	e.mustSend(request{token: tok, contentRange: "part 2/2", videoBefore: v.ID, data: parts[1]})
	before := e.snapshot()
	w := e.mustSend(request{token: tok, contentRange: "part 2/2", videoBefore: v.ID, data: parts[1]})
	if got, want := w.UploadStatus, store.UploadUploaded; got != want {
		t.Errorf("status = %q, want %q", got, want)
	}
	if got, want := e.snapshot(), before; got != want {
		t.Errorf("the resend changed the stored state:\n%s\nwant\n%s", got, want)
	}
	e.checkSource(v.ID, file)
}

// The total of a progressive upload may first arrive on a re-sent part,
// which then completes the upload.
func TestTotalOnAResentLastPart(t *testing.T) {
	e := newEnv(t)
	tok := e.token(0)
	file := payload(13, 2*partSize)
	v := e.mustSend(request{token: tok, contentRange: "part 1/*", data: file[:partSize]})
	w := e.mustSend(request{token: tok, contentRange: "part 2/*", videoBefore: v.ID, data: file[partSize:]})
	if got, want := w.UploadStatus, store.UploadUploading; got != want {
		t.Fatalf("status = %q, want %q", got, want)
	}
	w = e.mustSend(request{token: tok, contentRange: "part 2/2", videoBefore: v.ID, data: file[partSize:]})
	if got, want := w.UploadStatus, store.UploadUploaded; got != want {
		t.Errorf("status = %q, want %q", got, want)
	}
	e.checkSource(v.ID, file)
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

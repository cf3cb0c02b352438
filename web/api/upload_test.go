package api_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/uplink-video/uplink/web/webtest"
)

// The upload modes of POST /upload?token= (api-contract.md 3.2 and 11.5):
// every request is answered 201 with the full Video, and the assembled
// source is checked byte for byte.

func TestUploadSingle(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	tok := a.createToken(t, 0)
	data := readTestdata(t, "h264-aac-faststart.mp4")

	v := a.uploadOK(t, upload{token: tok, parts: []formPart{file("clip.mp4", data)}})

	if got, want := v.Title, "clip.mp4"; got != want {
		t.Errorf("title=%q, want=%q", got, want)
	}
	for name, d := range map[string]string{"createdAt": v.CreatedAt, "publishedAt": v.PublishedAt, "updatedAt": v.UpdatedAt} {
		if d != atomT0 {
			t.Errorf("%s=%q, want=%q", name, d, atomT0)
		}
	}
	if got, want := v.Assets.MP4, a.url+"/videos/"+v.VideoID+"/source"; got != want {
		t.Errorf("assets.mp4=%q, want=%q", got, want)
	}
	if !v.Public || v.Panoramic || !v.MP4Support || v.Discarded {
		t.Errorf("public=%v panoramic=%v mp4Support=%v discarded=%v, want true false true false", v.Public, v.Panoramic, v.MP4Support, v.Discarded)
	}
	if v.Tags == nil || v.Metadata == nil || len(v.Tags)+len(v.Metadata) != 0 {
		t.Errorf("tags=%v metadata=%v, want two empty arrays", v.Tags, v.Metadata)
	}
	if got, want := a.status(t, v.VideoID).String(), fmt.Sprintf("uploaded filesize=%d", len(data)); got != want {
		t.Errorf("status=%q, want=%q", got, want)
	}
	a.wantSource(t, v.VideoID, data)
	// GET /videos/{id} says the same as the upload's response.
	if got := wantVideo(t, a.do(t, "GET", "/videos/"+v.VideoID, ""), 200); got.Title != v.Title || got.Assets.MP4 != v.Assets.MP4 {
		t.Errorf("GET /videos/{id}=%+v, want it to match the upload response %+v", got, v)
	}
}

func TestUploadPartsInOrder(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	tok := a.createToken(t, 0)
	data := randomData(1, 2*partSize+12345)
	chunks := split(data, partSize)

	var id string
	for i, c := range chunks {
		u := upload{token: tok, contentRange: fmt.Sprintf("part %d/3", i+1), parts: []formPart{file("movie.mp4", c)}}
		if id != "" {
			u.parts = append(u.parts, field("videoId", id))
		}
		v := a.uploadOK(t, u)
		if id == "" {
			id = v.VideoID
		}
		if v.VideoID != id {
			t.Fatalf("part %d: videoId=%q, want=%q", i+1, v.VideoID, id)
		}
		wantStatus := []string{
			"uploading parts=[1]/3 filesize=null",
			"uploading parts=[1 2]/3 filesize=null",
			fmt.Sprintf("uploaded parts=[1 2 3]/3 filesize=%d", len(data)),
		}[i]
		if got := a.status(t, id).String(); got != wantStatus {
			t.Errorf("after part %d: status=%q, want=%q", i+1, got, wantStatus)
		}
		// The mp4 asset appears once the source is complete.
		if complete := i == 2; (v.Assets.MP4 != "") != complete {
			t.Errorf("after part %d: assets.mp4=%q", i+1, v.Assets.MP4)
		}
	}
	a.wantSource(t, id, data)
}

func TestUploadPartsAnyOrder(t *testing.T) {
	t.Parallel()
	data := randomData(2, 2*partSize+777)
	chunks := split(data, partSize)
	tests := []struct {
		description string
		// container makes the first request target a video made with
		// POST /videos, so that it need not be part 1.
		container bool
		order     []int
	}{
		{description: "part 1, then 3 and 2 joining without videoId", order: []int{1, 3, 2}},
		{description: "last part first into a container", container: true, order: []int{3, 1, 2}},
		{description: "reverse order into a container", container: true, order: []int{3, 2, 1}},
		{description: "middle first into a container", container: true, order: []int{2, 3, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.description, func(t *testing.T) {
			t.Parallel()
			a := newApp(t)
			tok := a.createToken(t, 0)
			id := ""
			if tt.container {
				id = a.createVideo(t, `{"title":"container"}`).VideoID
			}
			for _, n := range tt.order {
				u := upload{token: tok, contentRange: fmt.Sprintf("part %d/3", n), parts: []formPart{file("x.mp4", chunks[n-1])}}
				if id != "" {
					u.parts = append([]formPart{field("videoId", id)}, u.parts...)
				}
				v := a.uploadOK(t, u)
				if id == "" {
					id = v.VideoID
				}
				if v.VideoID != id {
					t.Fatalf("part %d: videoId=%q, want=%q", n, v.VideoID, id)
				}
			}
			if got, want := a.status(t, id).String(), fmt.Sprintf("uploaded parts=[1 2 3]/3 filesize=%d", len(data)); got != want {
				t.Errorf("status=%q, want=%q", got, want)
			}
			a.wantSource(t, id, data)
		})
	}
}

func TestUploadProgressive(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	tok := a.createToken(t, 0)
	data := randomData(3, 2*partSize+4096)
	chunks := split(data, partSize)
	ranges := []string{"part 1/*", "part 2/*", "part 3/3"}
	wantStatus := []string{
		"uploading parts=[1]/null filesize=null",
		"uploading parts=[1 2]/null filesize=null",
		fmt.Sprintf("uploaded parts=[1 2 3]/3 filesize=%d", len(data)),
	}
	id := ""
	for i, c := range chunks {
		u := upload{token: tok, contentRange: ranges[i], parts: []formPart{file("live.mp4", c)}}
		if id != "" {
			u.parts = append(u.parts, field("videoId", id))
		}
		v := a.uploadOK(t, u)
		id = v.VideoID
		if got := a.status(t, id).String(); got != wantStatus[i] {
			t.Errorf("after %q: status=%q, want=%q", ranges[i], got, wantStatus[i])
		}
	}
	a.wantSource(t, id, data)
}

func TestUploadBytes(t *testing.T) {
	t.Parallel()
	data := randomData(4, 2*partSize+999)
	total := len(data)
	chunks := split(data, partSize)
	rng := func(i int) string {
		from := i * partSize
		return fmt.Sprintf("bytes %d-%d/%d", from, from+len(chunks[i])-1, total)
	}
	tests := []struct {
		description string
		order       []int // Chunk indexes, from 0.
		withID      bool  // Later ranges name the video.
	}{
		{description: "in order, with videoId", order: []int{0, 1, 2}, withID: true},
		{description: "in order, joining without videoId", order: []int{0, 1, 2}},
		{description: "last range before the middle one", order: []int{0, 2, 1}, withID: true},
	}
	for _, tt := range tests {
		t.Run(tt.description, func(t *testing.T) {
			t.Parallel()
			a := newApp(t)
			tok := a.createToken(t, 0)
			id := ""
			for _, i := range tt.order {
				u := upload{token: tok, contentRange: rng(i), parts: []formPart{file("b.mp4", chunks[i])}}
				if tt.withID && id != "" {
					u.parts = append(u.parts, field("videoId", id))
				}
				v := a.uploadOK(t, u)
				if id == "" {
					id = v.VideoID
				}
				if v.VideoID != id {
					t.Fatalf("%s: videoId=%q, want=%q", rng(i), v.VideoID, id)
				}
			}
			st := a.status(t, id)
			if st.Ingest == nil || st.Ingest.Status != "uploaded" || st.Ingest.Filesize == nil || *st.Ingest.Filesize != int64(total) {
				t.Errorf("status=%s, want uploaded with filesize %d", st, total)
			}
			if got, want := len(st.Ingest.ReceivedBytes), 3; got != want {
				t.Fatalf("receivedBytes has %d ranges, want %d: %s", got, want, st)
			}
			for i, r := range st.Ingest.ReceivedBytes {
				from := int64(i * partSize)
				if r.From != from || r.To != from+int64(len(chunks[i]))-1 || r.Total != int64(total) {
					t.Errorf("receivedBytes[%d]=%+v, want %s", i, r, rng(i))
				}
			}
			if st.Ingest.ReceivedParts != nil {
				t.Errorf("receivedParts=%+v, want absent in bytes mode", st.Ingest.ReceivedParts)
			}
			a.wantSource(t, id, data)
		})
	}
}

func TestUploadBytesStatusWhileUploading(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	tok := a.createToken(t, 0)
	data := randomData(5, partSize+10)
	v := a.uploadOK(t, upload{token: tok, contentRange: fmt.Sprintf("bytes 0-%d/%d", partSize-1, len(data)), parts: []formPart{file("b.mp4", data[:partSize])}})
	if got, want := a.status(t, v.VideoID).String(), fmt.Sprintf("uploading bytes=0-%d/%d filesize=null", partSize-1, len(data)); got != want {
		t.Errorf("status=%q, want=%q", got, want)
	}
	if v.Assets.MP4 != "" {
		t.Errorf("assets.mp4=%q before the upload completed", v.Assets.MP4)
	}
	// The source is not served until it is complete.
	a.wantProblem(t, a.do(t, "GET", "/videos/"+v.VideoID+"/source", ""), 404, "resource-not-found", "videoId")

	a.uploadOK(t, upload{token: tok, contentRange: fmt.Sprintf("bytes %d-%d/%d", partSize, len(data)-1, len(data)),
		parts: []formPart{file("b.mp4", data[partSize:]), field("videoId", v.VideoID)}})
	a.wantSource(t, v.VideoID, data)
}

// TestUploadVideoIDPlacement sends videoId before the file, after it, and
// not at all, in one upload.
func TestUploadVideoIDPlacement(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	tok := a.createToken(t, 0)
	data := randomData(6, 3*partSize+1)
	chunks := split(data, partSize)

	v := a.uploadOK(t, upload{token: tok, contentRange: "part 1/4", parts: []formPart{file("p.mp4", chunks[0])}})
	id := v.VideoID
	for _, tt := range []struct {
		description string
		parts       []formPart
	}{
		{"videoId before the file", []formPart{field("videoId", id), file("p.mp4", chunks[1])}},
		{"videoId after the file", []formPart{file("p.mp4", chunks[2]), field("videoId", id)}},
		{"no videoId", []formPart{file("p.mp4", chunks[3])}},
	} {
		n := len(a.status(t, id).Ingest.ReceivedParts.Parts) + 1
		got := a.uploadOK(t, upload{token: tok, contentRange: fmt.Sprintf("part %d/4", n), parts: tt.parts})
		if got.VideoID != id {
			t.Errorf("%s: videoId=%q, want=%q", tt.description, got.VideoID, id)
		}
	}
	a.wantSource(t, id, data)
	if got, want := a.videoCount(t), 1; got != want {
		t.Errorf("videos=%d, want=%d", got, want)
	}
}

// TestUploadFileFieldName: the file part is found whatever its field name.
func TestUploadFileFieldName(t *testing.T) {
	t.Parallel()
	data := randomData(7, 1000)
	tests := []struct {
		description string
		part        formPart
		wantTitle   string
	}{
		{"field file", file("a.mp4", data), "a.mp4"},
		{"field named after the file (Node)", namedFile("my-video.mp4", "my-video.mp4", data), "my-video.mp4"},
		{"field blob", namedFile("blob", "b.webm", data), "b.webm"},
		{"field file without filename", formPart{name: "file", file: true, data: data}, "Untitled video"},
		{"empty filename", namedFile("upload", "", data), "Untitled video"},
		{"directories in the filename", file(`C:\Users\me\clip.mov`, data), "clip.mov"},
	}
	a := newApp(t)
	tok := a.createToken(t, 0)
	for _, tt := range tests {
		t.Run(tt.description, func(t *testing.T) {
			// Other text fields are ignored wherever they are.
			v := a.uploadOK(t, upload{token: tok, parts: []formPart{field("note", "x"), tt.part, field("other", "y")}})
			if v.Title != tt.wantTitle {
				t.Errorf("title=%q, want=%q", v.Title, tt.wantTitle)
			}
			a.wantSource(t, v.VideoID, data)
		})
	}
}

// TestUploadEmptyVideoID: an empty videoId is absent (the Go client's
// stream can send one).
func TestUploadEmptyVideoID(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	tok := a.createToken(t, 0)
	data := randomData(8, partSize+100)
	v := a.uploadOK(t, upload{token: tok, contentRange: "part 1/*", parts: []formPart{field("videoId", ""), file("e.mp4", data[:partSize])}})
	got := a.uploadOK(t, upload{token: tok, contentRange: "part 2/2", parts: []formPart{file("e.mp4", data[partSize:]), field("videoId", "")}})
	if got.VideoID != v.VideoID {
		t.Errorf("videoId=%q, want=%q", got.VideoID, v.VideoID)
	}
	a.wantSource(t, v.VideoID, data)
}

// TestUploadJoinsOpenUpload: a part without videoId joins the token's one
// open upload; with two candidates it must name the video.
func TestUploadJoinsOpenUpload(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	tok := a.createToken(t, 0)
	other := a.createToken(t, 0)
	d1, d2 := randomData(9, partSize+1), randomData(10, partSize+2)

	// An upload on another token must not attract this token's parts.
	a.uploadOK(t, upload{token: other, contentRange: "part 1/2", parts: []formPart{file("other.mp4", d2[:partSize])}})
	v1 := a.uploadOK(t, upload{token: tok, contentRange: "part 1/2", parts: []formPart{file("one.mp4", d1[:partSize])}})
	got := a.uploadOK(t, upload{token: tok, contentRange: "part 2/2", parts: []formPart{file("one.mp4", d1[partSize:])}})
	if got.VideoID != v1.VideoID {
		t.Fatalf("part 2 went to %q, want %q", got.VideoID, v1.VideoID)
	}
	a.wantSource(t, v1.VideoID, d1)

	// Two open uploads that could both take part 2/2: ambiguous.
	w1 := a.uploadOK(t, upload{token: tok, contentRange: "part 1/2", parts: []formPart{file("w1.mp4", d2[:partSize])}})
	w2 := a.uploadOK(t, upload{token: tok, contentRange: "part 1/2", parts: []formPart{file("w2.mp4", d2[:partSize])}})
	if w1.VideoID == w2.VideoID {
		t.Fatalf("two first parts landed in one video %s", w1.VideoID)
	}
	before := a.snapshot(t, w1.VideoID, w2.VideoID)
	p := a.wantProblem(t, a.upload(t, upload{token: tok, contentRange: "part 2/2", parts: []formPart{file("w.mp4", d2[partSize:])}}),
		400, "upload-video-id-required", "videoId")
	if p.Detail == "" {
		t.Errorf("the problem has no detail saying videoId is needed")
	}
	a.wantUnchanged(t, before)
	// Naming the video settles it.
	a.uploadOK(t, upload{token: tok, contentRange: "part 2/2", parts: []formPart{file("w.mp4", d2[partSize:]), field("videoId", w2.VideoID)}})
	a.wantSource(t, w2.VideoID, d2)
	if got := a.status(t, w1.VideoID).String(); got != "uploading parts=[1]/2 filesize=null" {
		t.Errorf("the other upload: status=%q", got)
	}
}

// TestUploadResend: a part sent again with the same length is a retry
// after a lost response (201, the new bytes dropped); a different length
// is refused.
func TestUploadResend(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	tok := a.createToken(t, 0)
	data := randomData(11, 2*partSize+50)
	chunks := split(data, partSize)
	other := randomData(12, partSize) // Same length as part 1, other bytes.

	v := a.uploadOK(t, upload{token: tok, contentRange: "part 1/3", parts: []formPart{file("r.mp4", chunks[0])}})
	id := v.VideoID
	a.uploadOK(t, upload{token: tok, contentRange: "part 2/3", parts: []formPart{file("r.mp4", chunks[1]), field("videoId", id)}})

	tests := []struct {
		description string
		req         upload
		wantCode    int
		wantProblem string
		wantName    string
	}{
		{"part 1 again, same length, with videoId", upload{contentRange: "part 1/3", parts: []formPart{field("videoId", id), file("r.mp4", other)}}, 201, "", ""},
		{"part 1 again, same length, videoId after", upload{contentRange: "part 1/3", parts: []formPart{file("r.mp4", chunks[0]), field("videoId", id)}}, 201, "", ""},
		{"part 2 again, other length", upload{contentRange: "part 2/3", parts: []formPart{file("r.mp4", chunks[1][:partSize-1]), field("videoId", id)}}, 400, "video-content-range-by-part-part-already-sent", "Content-Range"},
		{"part 1 again, longer", upload{contentRange: "part 1/3", parts: []formPart{field("videoId", id), file("r.mp4", append(other, 1))}}, 400, "video-content-range-by-part-part-already-sent", "Content-Range"},
		// Without videoId a part joins the open upload that lacks it
		// (api-contract.md 11.5) or, when none does, the one that holds
		// it with the same length: the Node client's retry of a part
		// whose answer was lost, which sends no videoId after part 1.
		{"part 2 again, same length, without videoId", upload{contentRange: "part 2/3", parts: []formPart{file("r.mp4", chunks[1])}}, 201, "", ""},
		{"part 2 again, other length, without videoId", upload{contentRange: "part 2/3", parts: []formPart{file("r.mp4", chunks[1][:partSize-1])}}, 400, "upload-video-id-required", "videoId"},
	}
	for _, tt := range tests {
		t.Run(tt.description, func(t *testing.T) {
			before := a.snapshot(t, id)
			tt.req.token = tok
			r := a.upload(t, tt.req)
			if tt.wantCode == 201 {
				if got := wantVideo(t, r, 201); got.VideoID != id {
					t.Errorf("videoId=%q, want=%q", got.VideoID, id)
				}
			} else {
				a.wantProblem(t, r, tt.wantCode, tt.wantProblem, tt.wantName)
			}
			a.wantUnchanged(t, before)
		})
	}
	a.uploadOK(t, upload{token: tok, contentRange: "part 3/3", parts: []formPart{file("r.mp4", chunks[2]), field("videoId", id)}})
	// The last part again, after completion, is still a retry.
	a.uploadOK(t, upload{token: tok, contentRange: "part 3/3", parts: []formPart{file("r.mp4", chunks[2]), field("videoId", id)}})
	a.wantSource(t, id, data)
}

func TestUploadResendSingleAndBytes(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	tok := a.createToken(t, 0)
	small := randomData(13, 3000)
	v := a.uploadOK(t, upload{token: tok, parts: []formPart{file("s.mp4", small)}})
	// A whole file again into the same video, same length: a retry.
	if got := a.uploadOK(t, upload{token: tok, parts: []formPart{field("videoId", v.VideoID), file("s.mp4", small)}}); got.VideoID != v.VideoID {
		t.Errorf("videoId=%q, want=%q", got.VideoID, v.VideoID)
	}
	a.wantSource(t, v.VideoID, small)

	data := randomData(14, partSize+5)
	r0 := fmt.Sprintf("bytes 0-%d/%d", partSize-1, len(data))
	b := a.uploadOK(t, upload{token: tok, contentRange: r0, parts: []formPart{file("b.mp4", data[:partSize])}})
	before := a.snapshot(t, b.VideoID)
	if got := a.uploadOK(t, upload{token: tok, contentRange: r0, parts: []formPart{file("b.mp4", data[:partSize]), field("videoId", b.VideoID)}}); got.VideoID != b.VideoID {
		t.Errorf("bytes retry: videoId=%q, want=%q", got.VideoID, b.VideoID)
	}
	a.wantUnchanged(t, before)
	a.uploadOK(t, upload{token: tok, contentRange: fmt.Sprintf("bytes %d-%d/%d", partSize, len(data)-1, len(data)),
		parts: []formPart{file("b.mp4", data[partSize:]), field("videoId", b.VideoID)}})
	a.wantSource(t, b.VideoID, data)
}

// TestUploadLease: the token's TTL only decides whether a video may start;
// a started video may finish after the token expired. Deleting the token
// stops it.
func TestUploadLease(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	tok := a.createToken(t, 1)
	data := randomData(15, 3*partSize+3)
	chunks := split(data, partSize)

	v := a.uploadOK(t, upload{token: tok, contentRange: "part 1/4", parts: []formPart{file("lease.mp4", chunks[0])}})
	a.clock.Advance(2 * time.Second)

	// The token has expired: it can no longer start a video...
	a.wantProblem(t, a.upload(t, upload{token: tok, parts: []formPart{file("new.mp4", []byte("x"))}}),
		401, "authentication-invalid-upload-token", "token")
	// ...but the started one goes on, with or without videoId.
	a.uploadOK(t, upload{token: tok, contentRange: "part 2/4", parts: []formPart{file("lease.mp4", chunks[1]), field("videoId", v.VideoID)}})
	a.uploadOK(t, upload{token: tok, contentRange: "part 3/4", parts: []formPart{file("lease.mp4", chunks[2])}})

	// Deleting the token revokes it: the next part is refused. An expired
	// token is not found to the API (api-contract.md 11.3), so DELETE
	// answers 404, but it still revokes the token (11.4).
	a.wantProblem(t, a.do(t, "DELETE", "/upload-tokens/"+tok, ""), 404, "resource-not-found", "uploadToken")
	before := a.snapshot(t, v.VideoID)
	a.wantProblem(t, a.upload(t, upload{token: tok, contentRange: "part 4/4", parts: []formPart{file("lease.mp4", chunks[3]), field("videoId", v.VideoID)}}),
		401, "authentication-invalid-upload-token", "token")
	a.wantUnchanged(t, before)
}

// TestUploadDeletedTokenMidUpload: deleting a live token stops the uploads
// it started, whatever the request looks like.
func TestUploadDeletedTokenMidUpload(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	tok := a.createToken(t, 3600)
	data := randomData(16, partSize+10)
	v := a.uploadOK(t, upload{token: tok, contentRange: "part 1/2", parts: []formPart{file("d.mp4", data[:partSize])}})
	a.do(t, "DELETE", "/upload-tokens/"+tok, "")
	before := a.snapshot(t, v.VideoID)
	for _, tt := range []struct {
		description string
		parts       []formPart
	}{
		{"videoId before", []formPart{field("videoId", v.VideoID), file("d.mp4", data[partSize:])}},
		{"videoId after", []formPart{file("d.mp4", data[partSize:]), field("videoId", v.VideoID)}},
		{"no videoId", []formPart{file("d.mp4", data[partSize:])}},
	} {
		t.Run(tt.description, func(t *testing.T) {
			a.wantProblem(t, a.upload(t, upload{token: tok, contentRange: "part 2/2", parts: tt.parts}),
				401, "authentication-invalid-upload-token", "token")
			a.wantUnchanged(t, before)
		})
	}
}

// TestUploadLeaseRunsOut: an upload idle for longer than the lease is
// abandoned; its bytes go, and so does the video it created.
func TestUploadLeaseRunsOut(t *testing.T) {
	t.Parallel()
	a := newApp(t, webtest.WithLease(time.Hour))
	tok := a.createToken(t, 0)
	data := randomData(17, partSize+10)
	v := a.uploadOK(t, upload{token: tok, contentRange: "part 1/2", parts: []formPart{file("l.mp4", data[:partSize])}})
	a.clock.Advance(59 * time.Minute)
	// Still inside the lease: a retry of part 1 renews nothing but is fine.
	a.uploadOK(t, upload{token: tok, contentRange: "part 1/2", parts: []formPart{file("l.mp4", data[:partSize]), field("videoId", v.VideoID)}})
	a.clock.Advance(2 * time.Hour)
	a.wantProblem(t, a.upload(t, upload{token: tok, contentRange: "part 2/2", parts: []formPart{field("videoId", v.VideoID), file("l.mp4", data[partSize:])}}),
		400, "upload-abandoned", "videoId")
	a.wantProblem(t, a.do(t, "GET", "/videos/"+v.VideoID, ""), 404, "resource-not-found", "videoId")
	if files := a.blobFiles(t); len(files) != 0 {
		t.Errorf("blob files left after abandoning: %v", files)
	}

	// A video made with POST /videos survives its abandoned upload, empty,
	// and can be filled again.
	c := a.createVideo(t, `{"title":"kept"}`)
	a.uploadOK(t, upload{token: tok, contentRange: "part 1/2", parts: []formPart{field("videoId", c.VideoID), file("l.mp4", data[:partSize])}})
	a.clock.Advance(2 * time.Hour)
	a.wantProblem(t, a.upload(t, upload{token: tok, contentRange: "part 2/2", parts: []formPart{file("l.mp4", data[partSize:]), field("videoId", c.VideoID)}}),
		400, "upload-abandoned", "videoId")
	if got := wantVideo(t, a.do(t, "GET", "/videos/"+c.VideoID, ""), 200); got.Title != "kept" || got.Assets.MP4 != "" {
		t.Errorf("container after abandonment=%+v", got)
	}
	if st := a.status(t, c.VideoID); st.Ingest != nil {
		t.Errorf("container status after abandonment=%s, want no ingest", st)
	}
	a.uploadOK(t, upload{token: tok, contentRange: "part 1/2", parts: []formPart{field("videoId", c.VideoID), file("l.mp4", data[:partSize])}})
	a.uploadOK(t, upload{token: tok, contentRange: "part 2/2", parts: []formPart{field("videoId", c.VideoID), file("l.mp4", data[partSize:])}})
	a.wantSource(t, c.VideoID, data)
}

// split cuts data into pieces of size n (the last one shorter).
func split(data []byte, n int) [][]byte {
	var out [][]byte
	for len(data) > n {
		out = append(out, data[:n])
		data = data[n:]
	}
	return append(out, data)
}

// TestUploadVideoIDAfterFileOverridesGuess: a part without videoId before
// the file looks like the next part of the token's open upload, but the
// videoId after the file names another video. The part goes there, and
// the open upload is left as it was.
func TestUploadVideoIDAfterFileOverridesGuess(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	tok := a.createToken(t, 0)
	dataA, dataB := randomData(18, 2*partSize+7), randomData(19, 2*partSize+9)
	chunksA, chunksB := split(dataA, partSize), split(dataB, partSize)

	open := a.uploadOK(t, upload{token: tok, contentRange: "part 1/3", parts: []formPart{file("a.mp4", chunksA[0])}})
	other := a.createVideo(t, `{"title":"B"}`)
	before := a.snapshot(t, open.VideoID)

	// Part 2/3 of B, named only after the file.
	got := a.uploadOK(t, upload{token: tok, contentRange: "part 2/3", parts: []formPart{file("b.mp4", chunksB[1]), field("videoId", other.VideoID)}})
	if got.VideoID != other.VideoID {
		t.Fatalf("videoId=%q, want=%q", got.VideoID, other.VideoID)
	}
	if after := a.snapshot(t, open.VideoID); after.statuses[open.VideoID] != before.statuses[open.VideoID] {
		t.Errorf("the open upload changed:\nbefore: %s\nafter:  %s", before.statuses[open.VideoID], after.statuses[open.VideoID])
	}
	if got := a.status(t, other.VideoID).String(); got != "uploading parts=[2]/3 filesize=null" {
		t.Errorf("B: status=%q", got)
	}

	// Both uploads complete with their own bytes.
	a.uploadOK(t, upload{token: tok, contentRange: "part 2/3", parts: []formPart{file("a.mp4", chunksA[1]), field("videoId", open.VideoID)}})
	a.uploadOK(t, upload{token: tok, contentRange: "part 3/3", parts: []formPart{field("videoId", open.VideoID), file("a.mp4", chunksA[2])}})
	a.uploadOK(t, upload{token: tok, contentRange: "part 1/3", parts: []formPart{field("videoId", other.VideoID), file("b.mp4", chunksB[0])}})
	a.uploadOK(t, upload{token: tok, contentRange: "part 3/3", parts: []formPart{field("videoId", other.VideoID), file("b.mp4", chunksB[2])}})
	a.wantSource(t, open.VideoID, dataA)
	a.wantSource(t, other.VideoID, dataB)
}

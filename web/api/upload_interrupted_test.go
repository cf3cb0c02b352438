package api_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
)

// Requests cut off midway, and parts sent at the same time (issue 2,
// items 4 and 6).

// cutOff sends an upload request on a raw connection, but only the first
// half of its body, then hangs up; it returns once the server is done
// with the request.
func (a *app) cutOff(t *testing.T, u upload) {
	t.Helper()
	body, n, ctype := multipartBody(t, u.parts)
	b, err := io.ReadAll(body)
	if err != nil || int64(len(b)) != n {
		t.Fatalf("building the body: %d of %d bytes, %v", len(b), n, err)
	}
	head := "POST /upload?token=" + u.token + " HTTP/1.1\r\nHost: uplink\r\n" +
		"Content-Type: " + ctype + "\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n", n)
	if u.contentRange != "" {
		head += "Content-Range: " + u.contentRange + "\r\n"
	}
	seen := a.requests()
	conn, err := net.Dial("tcp", strings.TrimPrefix(a.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(conn, io.MultiReader(strings.NewReader(head+"\r\n"), bytes.NewReader(b[:len(b)/2]))); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	a.waitIdle(seen)
}

func TestUploadCutOff(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	tok := a.createToken(t, 0)
	data := randomData(400, 2*partSize+mib)
	chunks := split(data, partSize)

	// A first request cut off creates nothing.
	before := a.snapshot(t)
	a.cutOff(t, upload{token: tok, contentRange: "part 1/3", parts: []formPart{file("cut.mp4", chunks[0])}})
	a.wantUnchanged(t, before)
	a.cutOff(t, upload{token: tok, parts: []formPart{file("cut.mp4", chunks[2])}})
	a.wantUnchanged(t, before)

	v := a.uploadOK(t, upload{token: tok, contentRange: "part 1/3", parts: []formPart{file("cut.mp4", chunks[0])}})
	for _, tt := range []struct {
		description string
		req         upload
	}{
		{"the next part, videoId before", upload{token: tok, contentRange: "part 2/3", parts: []formPart{field("videoId", v.VideoID), file("cut.mp4", chunks[1])}}},
		{"the next part, videoId after", upload{token: tok, contentRange: "part 2/3", parts: []formPart{file("cut.mp4", chunks[1]), field("videoId", v.VideoID)}}},
		{"the next part, no videoId", upload{token: tok, contentRange: "part 2/3", parts: []formPart{file("cut.mp4", chunks[1])}}},
		{"a later part", upload{token: tok, contentRange: "part 3/3", parts: []formPart{field("videoId", v.VideoID), file("cut.mp4", chunks[2])}}},
	} {
		t.Run(tt.description, func(t *testing.T) {
			before := a.snapshot(t, v.VideoID)
			a.cutOff(t, tt.req)
			a.wantUnchanged(t, before)
		})
	}
	// The parts can be sent again, in full.
	a.uploadOK(t, upload{token: tok, contentRange: "part 3/3", parts: []formPart{field("videoId", v.VideoID), file("cut.mp4", chunks[2])}})
	a.uploadOK(t, upload{token: tok, contentRange: "part 2/3", parts: []formPart{file("cut.mp4", chunks[1])}})
	a.wantSource(t, v.VideoID, data)
}

// TestUploadConcurrentParts sends the parts after the first all at once,
// as the Go client's documentation allows.
func TestUploadConcurrentParts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		description string
		withID      bool
	}{
		{"with videoId", true},
		{"without videoId", false},
	}
	for _, tt := range tests {
		t.Run(tt.description, func(t *testing.T) {
			t.Parallel()
			a := newApp(t)
			tok := a.createToken(t, 0)
			data := randomData(401, 3*partSize+100)
			chunks := split(data, partSize)
			v := a.uploadOK(t, upload{token: tok, contentRange: "part 1/4", parts: []formPart{file("c.mp4", chunks[0])}})

			var reqs []*upload
			for i := 1; i < len(chunks); i++ {
				u := upload{token: tok, contentRange: fmt.Sprintf("part %d/4", i+1), parts: []formPart{file("c.mp4", chunks[i])}}
				if tt.withID {
					u.parts = append(u.parts, field("videoId", v.VideoID))
				}
				reqs = append(reqs, &u)
			}
			results := make([]*response, len(reqs))
			errs := make([]error, len(reqs))
			var wg sync.WaitGroup
			for i, u := range reqs {
				req := a.uploadRequest(t, *u)
				wg.Add(1)
				go func() {
					defer wg.Done()
					results[i], errs[i] = roundTrip(req)
				}()
			}
			wg.Wait()
			for i, r := range results {
				if errs[i] != nil {
					t.Fatalf("%s: %v", reqs[i].contentRange, errs[i])
				}
				if got := wantVideo(t, r, 201); got.VideoID != v.VideoID {
					t.Errorf("%s: videoId=%q, want=%q", reqs[i].contentRange, got.VideoID, v.VideoID)
				}
			}
			if got, want := a.status(t, v.VideoID).String(), fmt.Sprintf("uploaded parts=[1 2 3 4]/4 filesize=%d", len(data)); got != want {
				t.Errorf("status=%q, want=%q", got, want)
			}
			a.wantSource(t, v.VideoID, data)
			// Nothing is left aside: one blob, the source.
			if files := a.blobFiles(t); len(files) != 1 {
				t.Errorf("blob files=%v, want only the source", files)
			}
		})
	}
}

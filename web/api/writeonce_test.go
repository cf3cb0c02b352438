package api_test

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"testing"

	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/web/webtest"
)

// countingBlobs is a blob.Store decorator that counts every byte written
// through Put and WritePart, the blob layer's write paths.
type countingBlobs struct {
	blob.Store
	written *atomic.Int64
}

func (c countingBlobs) Put(ctx context.Context, key string, size int64, r io.Reader) (int64, error) {
	return c.Store.Put(ctx, key, size, countingReader{r, c.written})
}

func (c countingBlobs) WritePart(ctx context.Context, u blob.Upload, p blob.Part, r io.Reader) (blob.Part, error) {
	return c.Store.WritePart(ctx, u, p, countingReader{r, c.written})
}

// countingReader counts the bytes read through it: the bytes written,
// whether or not the write succeeds.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// An upload whose parts arrive in order through POST /upload writes each
// byte to disk once (issue 6): no staging copy, no concatenation at the
// end. It holds in every way the official clients send their parts.
func TestInOrderUploadWritesEachByteOnce(t *testing.T) {
	for _, tt := range []struct {
		description string
		// parts returns the multipart fields of part k of n, given the
		// videoId returned by part 1 ("" for part 1 itself).
		parts        func(data []byte, videoID string) []formPart
		contentRange func(k, n int) string
	}{
		{
			"video-uploader: videoId before the file, part k/n",
			func(data []byte, id string) []formPart {
				if id == "" {
					return []formPart{file("clip.mp4", data)}
				}
				return []formPart{field("videoId", id), file("clip.mp4", data)}
			},
			func(k, n int) string { return fmt.Sprintf("part %d/%d", k, n) },
		},
		{
			"progressive uploader: part k/* then n/n",
			func(data []byte, id string) []formPart {
				if id == "" {
					return []formPart{file("clip.mp4", data)}
				}
				return []formPart{field("videoId", id), file("clip.mp4", data)}
			},
			func(k, n int) string {
				if k < n {
					return fmt.Sprintf("part %d/*", k)
				}
				return fmt.Sprintf("part %d/%d", k, n)
			},
		},
		{
			"nodejs-client: file named after the file, no videoId after part 1",
			func(data []byte, id string) []formPart {
				return []formPart{namedFile("clip.mp4", "clip.mp4", data)}
			},
			func(k, n int) string { return fmt.Sprintf("part %d/%d", k, n) },
		},
	} {
		t.Run(tt.description, func(t *testing.T) {
			var written atomic.Int64
			a := newApp(t, webtest.WithBlobs(func(d *blob.Dir) blob.Store { return countingBlobs{d, &written} }))
			tok := a.createToken(t, 0)
			data := randomData(6, 3*partSize+17)
			n := 4
			id := ""
			for k := 1; k <= n; k++ {
				part := data[(k-1)*partSize : min(k*partSize, len(data))]
				v := a.uploadOK(t, upload{token: tok, contentRange: tt.contentRange(k, n), parts: tt.parts(part, id)})
				id = v.VideoID
			}
			a.wantSource(t, id, data)
			if got, want := written.Load(), int64(len(data)); got != want {
				t.Errorf("bytes written by the blob layer=%d, want=%d (the file size)", got, want)
			}
			// One blob holds the file, and nothing else is left on disk.
			var total int64
			for _, size := range a.blobFiles(t) {
				total += size
			}
			if got, want := total, int64(len(data)); got != want {
				t.Errorf("bytes on disk in blobs=%d, want=%d", got, want)
			}
		})
	}
}

package links_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/web/links"
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

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// A file sent through a link's public endpoints, part by part in order,
// passes the proxy and the token endpoint and is written to disk once
// (issue 6).
func TestLinkUploadWritesEachByteOnce(t *testing.T) {
	ctx := context.Background()
	var written atomic.Int64
	w := webtest.Start(t, webtest.WithChunkSize(chunk), webtest.WithBlobs(func(d *blob.Dir) blob.Store {
		return countingBlobs{d, &written}
	}))
	// The link is minted the way "uplink link create" does it: by another
	// links service on the same store.
	minter := links.New(w.Store, links.Local{Ingest: w.Ingest, Store: w.Store}, links.Config{PublicURL: w.URL, ChunkSize: chunk})
	l, err := minter.Create(ctx, links.Spec{Label: "write once"})
	if err != nil {
		t.Fatal(err)
	}
	linkURL := minter.URL(l)

	data := videoFile(t, 3*chunk+17)
	startBody, _ := json.Marshal(map[string]any{"filename": "clip.mp4", "size": len(data), "lastModified": 1})
	var sess struct {
		VideoID    string `json:"videoId"`
		TotalParts int    `json:"totalParts"`
		Complete   bool   `json:"complete"`
		Receipt    *struct {
			SHA256 string `json:"sha256"`
		} `json:"receipt"`
	}
	sendJSON(t, http.MethodPost, linkURL+"/uploads", "application/json", startBody, http.StatusCreated, &sess)
	if got, want := sess.TotalParts, 4; got != want {
		t.Fatalf("totalParts=%d, want=%d", got, want)
	}
	for n := 1; n <= sess.TotalParts; n++ {
		part := data[(n-1)*chunk : min(n*chunk, len(data))]
		sendJSON(t, http.MethodPut, linkURL+"/uploads/"+sess.VideoID+"/parts/"+strconv.Itoa(n), "application/octet-stream", part, http.StatusOK, &sess)
	}
	want := sum(data)
	if !sess.Complete || sess.Receipt == nil || sess.Receipt.SHA256 != want {
		t.Fatalf("final session: complete=%v receipt=%+v, want complete with sha256 %s", sess.Complete, sess.Receipt, want)
	}
	if got := sourceSHA(t, &env{videos: w}, sess.VideoID); got != want {
		t.Errorf("stored source sha256=%s, want=%s", got, want)
	}
	if got, want := written.Load(), int64(len(data)); got != want {
		t.Errorf("bytes written by the blob layer=%d, want=%d (the file size)", got, want)
	}
}

// sendJSON makes one request with body and decodes the JSON answer into out.
func sendJSON(t *testing.T, method, url, ctype string, body []byte, want int, out any) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status=%d, want=%d: %s", method, req.URL.Path, resp.StatusCode, want, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s %s: %v: %s", method, req.URL.Path, err, b)
	}
}

package links_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/store/ingest"
	"github.com/uplink-video/uplink/web"
	"github.com/uplink-video/uplink/web/links"
)

// countingBlobs is a blob.Store decorator that counts every byte written
// through Append, the blob layer's one write path.
type countingBlobs struct {
	blob.Store
	written *atomic.Int64
}

func (c countingBlobs) Append(ctx context.Context, key string, off int64, r io.Reader) (int64, error) {
	return c.Store.Append(ctx, key, off, countingReader{r, c.written})
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
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "uplink.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	d, err := blob.NewDir(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	var written atomic.Int64
	ing := ingest.New(st, countingBlobs{d, &written}, ingest.Config{})

	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	deps := web.Deps{Store: st, Ingest: ing, PublicURL: base, ChunkSize: chunk}
	srv.Config.Handler = web.New(deps)
	srv.Start()
	t.Cleanup(srv.Close)
	// The link is minted the way "uplink link create" does it: by another
	// links service on the same store.
	minter := web.LocalLinks(st, web.NewAPI(deps), links.Config{PublicURL: base, ChunkSize: chunk})
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
	if got := sourceSHA(t, &env{ingest: ing}, sess.VideoID); got != want {
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

package e2e_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
)

// The same bad network for API clients: the requests of
// @api.video/nodejs-client's uploadWithUploadToken (web/api's
// upload_sdk_test.go replays them) through toxiproxy to POST /upload. The
// client sends "part k/M" one after another, parts after the first
// without videoId, and retries a part that met a network error after
// 200 ms (its DEFAULT_RETRY_STRATEGY), with the same request.

const (
	apiPart  = 8 << 20
	apiParts = 3
)

// nodeHeaders are the headers the Node client sends with an upload
// token: an empty Authorization header among them.
var nodeHeaders = map[string]string{
	"Accept":           "application/json, */*;q=0.8",
	"AV-Origin-Client": "nodejs:2.6.8",
	"Authorization":    "",
	"User-Agent":       "axios/1.7.9",
	"Accept-Encoding":  "gzip, compress, deflate, br",
	"Connection":       "keep-alive",
}

// TestBadNetworkAPI cuts the connection of part 2, once in the middle of
// its body and once after its body, before the answer; the client's
// retry of the part must land in the one video, with the file's bytes.
func TestBadNetworkAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("the bad network scenarios run without -short")
	}
	tests := []struct {
		description string
		// toxic is set on the connection just before part 2 is sent, and
		// taken away once it failed.
		stream string
		bytes  int64
	}{
		// The body of part 2 is cut after half a part.
		{"reset mid-part", "upstream", apiPart / 2},
		// All of part 2 arrives; the answer does not.
		{"answer lost", "downstream", 0},
	}
	for _, tt := range tests {
		t.Run(tt.description, func(t *testing.T) {
			a := newApp(t, withReadIdle(netReadIdle))
			n := newNetwork(t, strings.TrimPrefix(a.URL, "http://"))
			tok, err := a.store.CreateUploadToken(context.Background(), 0)
			if err != nil {
				t.Fatal(err)
			}
			data := make([]byte, apiPart*apiParts)
			rand.New(rand.NewSource(16)).Read(data)
			c := &nodeClient{url: n.URL + "/upload?token=" + tok.ID, http: &http.Client{Timeout: time.Minute}}

			var ids []string
			failed := 0
			for k := 1; k <= apiParts; k++ {
				if k == 2 {
					n.add(t, "cut", tt.stream, "limit_data", map[string]int64{"bytes": tt.bytes})
					c.onFailure = func(err error) {
						t.Logf("part 2: %v; the client tries again", err)
						failed++
						n.remove(t, "cut")
						c.onFailure = nil
					}
				}
				v := c.send(t, k, data[(k-1)*apiPart:k*apiPart])
				ids = append(ids, v.VideoID)
			}
			if failed != 1 {
				t.Fatalf("part 2 failed %d times, want once", failed)
			}
			for k, id := range ids {
				if id != ids[0] {
					t.Errorf("part %d landed in video %s, part 1 in %s: want one video", k+1, id, ids[0])
				}
			}
			if _, count, err := a.store.ListVideos(context.Background(), store.VideoFilter{Sort: store.VideoSortCreatedAt}); err != nil || count != 1 {
				t.Errorf("videos=%d (%v), want=1", count, err)
			}
			sum := sha256.Sum256(data)
			if got, size := a.storedSHA256(t, ids[0]); got != hex.EncodeToString(sum[:]) || size != int64(len(data)) {
				t.Errorf("stored source: %d bytes, SHA-256 %s; want %d bytes, %x", size, got, len(data), sum)
			}
			// The retry costs at most the part sent again.
			over := n.sent() - c.clean
			t.Logf("%s: %d bytes on the wire for %d bytes of requests sent once, %+d", tt.description, n.sent(), c.clean, over)
			if over > apiPart+netSlack {
				t.Errorf("the fault cost %d bytes on the wire, want at most one part (%d) and %d", over, apiPart, netSlack)
			}
		})
	}
}

// nodeClient sends parts as @api.video/nodejs-client does.
type nodeClient struct {
	url  string
	http *http.Client
	// clean counts the bytes of each request sent once.
	clean int64
	// onFailure hears of a try that failed on the network.
	onFailure func(error)
}

// nodeVideo is what the client reads of the answer.
type nodeVideo struct {
	VideoID string `json:"videoId"`
}

// send sends part k of the file until it is answered, as the Node client
// does: the file field named after the file, no videoId, and the same
// request again after a network error or a 5xx. Any other answer than
// 201 fails the test.
func (c *nodeClient) send(t *testing.T, k int, chunk []byte) nodeVideo {
	t.Helper()
	body, ctype := nodeBody(t, "my-video.mp4", chunk)
	for try := 0; ; try++ {
		req, err := http.NewRequest(http.MethodPost, c.url, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for h, v := range nodeHeaders {
			req.Header[textproto.CanonicalMIMEHeaderKey(h)] = []string{v}
		}
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Content-Range", fmt.Sprintf("part %d/%d", k, apiParts))
		if try == 0 {
			c.clean += requestBytes(req, body)
		}
		res, err := c.http.Do(req)
		if err == nil && res.StatusCode < 500 {
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			var v nodeVideo
			if res.StatusCode != http.StatusCreated || json.Unmarshal(b, &v) != nil || v.VideoID == "" {
				t.Fatalf("part %d/%d: %d %s", k, apiParts, res.StatusCode, b)
			}
			return v
		}
		if err == nil {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			err = fmt.Errorf("%d %s", res.StatusCode, b)
		}
		if c.onFailure != nil {
			c.onFailure(err)
		}
		if try == 5 {
			t.Fatalf("part %d/%d: %v, after %d tries", k, apiParts, err, try+1)
		}
		// DEFAULT_RETRY_STRATEGY: floor(200 + 2000·n·(n+1)) ms.
		time.Sleep(time.Duration(200+2000*try*(try+1)) * time.Millisecond)
	}
}

// requestBytes is the size on the wire of req with body.
func requestBytes(req *http.Request, body []byte) int64 {
	r := req.Clone(context.Background())
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	var n countWriter
	_ = r.Write(&n)
	return int64(n)
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}

// nodeBody is the multipart body of one part: a single file field named
// after the file, with the file's name and a type from its extension.
func nodeBody(t *testing.T, name string, chunk []byte) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", multipart.FileContentDisposition(name, name))
	h.Set("Content-Type", "video/mp4")
	w, err := mw.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(chunk)
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), mw.FormDataContentType()
}

package web_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/ingest"
	"github.com/uplink-video/uplink/web"
	"github.com/uplink-video/uplink/web/links"
	"github.com/uplink-video/uplink/web/webtest"
)

// Slow and dead clients, on real sockets against the real application:
// a client that stops sending mid-part is cut off by the idle read
// deadline, leaves nothing of the part behind and can send it again; a
// slow but steady client is never cut off. The durations here only pace
// the clients: every assertion is on an outcome, and the one bound on
// time (stallWait) only keeps a hang from stalling the test run.

// stallWait bounds how long a test waits for the server to end a stalled
// request.
const stallWait = 30 * time.Second

// idleApp is the application with a short idle read timeout.
type idleApp struct {
	URL   string
	Store *store.Store
	Links *links.Service
	root  string // The blobs' directory.
}

func newIdleApp(t *testing.T, idle time.Duration) *idleApp {
	t.Helper()
	w := webtest.Start(t, webtest.WithDeps(func(d *web.Deps) { d.ReadIdleTimeout = idle }))
	return &idleApp{URL: w.URL, Store: w.Store, Links: w.Links, root: w.BlobDir}
}

// blobFiles lists the files of the blobs on disk.
func (a *idleApp) blobFiles(t *testing.T) string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(a.root, func(_ string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			names = append(names, e.Name())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return strings.Join(names, " ")
}

// uploadRoute is one of the routes that take a part's bytes, driven the
// way its clients drive it.
type uploadRoute struct {
	description string
	// start begins an upload of data, sends every part before the last,
	// and returns the last part's request.
	start func(t *testing.T, a *idleApp, data []byte) lastPart
}

// lastPart is the final part of an upload, ready to be sent.
type lastPart struct {
	method, path string
	header       http.Header
	body         []byte // The whole request body.
	dataAt       int    // Where the part's bytes start in body.
	ok           int    // The status of success.
	// held reports how many bytes of the upload the server holds.
	held func(t *testing.T) int64
	// check verifies the completed upload holds data.
	check func(t *testing.T)
}

var uploadRoutes = []uploadRoute{
	{"the token upload endpoint", startTokenUpload},
	{"a part through a link", startLinkUpload},
}

// startTokenUpload sends part 1 of 2 to POST /upload, as the api.video
// clients do, and returns part 2.
func startTokenUpload(t *testing.T, a *idleApp, data []byte) lastPart {
	t.Helper()
	ctx := context.Background()
	tok, err := a.Store.CreateUploadToken(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	body, ctype, _ := multipartBody(t, "", data[:ingest.MinPartSize])
	req, _ := http.NewRequest(http.MethodPost, a.URL+"/upload?token="+tok.ID, bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Content-Range", "part 1/2")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	v := struct{ VideoID string }{}
	decodeOK(t, resp, http.StatusCreated, &v)

	body, ctype, at := multipartBody(t, v.VideoID, data[ingest.MinPartSize:])
	return lastPart{
		method: http.MethodPost, path: "/upload?token=" + tok.ID,
		header: http.Header{"Content-Type": {ctype}, "Content-Range": {"part 2/2"}},
		body:   body, dataAt: at, ok: http.StatusCreated,
		held: func(t *testing.T) int64 {
			u, err := a.Store.FindUpload(ctx, v.VideoID)
			if err != nil {
				t.Fatal(err)
			}
			var n int64
			for _, p := range u.Parts {
				n += p.Size
			}
			return n
		},
		check: func(t *testing.T) {
			u, err := a.Store.FindUpload(ctx, v.VideoID)
			if err != nil {
				t.Fatal(err)
			}
			if u.Status != store.UploadUploaded {
				t.Fatalf("upload status=%q, want=%q", u.Status, store.UploadUploaded)
			}
			b, err := os.ReadFile(filepath.Join(a.root, u.SourceKey[:2], u.SourceKey))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, data) {
				t.Errorf("the source (%d bytes) is not the file sent (%d bytes)", len(b), len(data))
			}
		},
	}
}

// startLinkUpload starts an upload through a link and sends part 1 of 2,
// as the uploader script does, and returns part 2.
func startLinkUpload(t *testing.T, a *idleApp, data []byte) lastPart {
	t.Helper()
	l, err := a.Links.Create(context.Background(), links.Spec{Label: "Idle", Types: []string{"any"}})
	if err != nil {
		t.Fatal(err)
	}
	linkURL := a.URL + "/u/" + l.ID
	start, _ := json.Marshal(map[string]any{"filename": "clip.bin", "size": len(data), "lastModified": 1})
	resp, err := http.Post(linkURL+"/uploads", "application/json", bytes.NewReader(start))
	if err != nil {
		t.Fatal(err)
	}
	var sess struct {
		VideoID       string
		TotalParts    int
		ChunkSize     int
		NextPart      int
		UploadedBytes int64
		Complete      bool
		Receipt       *struct{ SHA256 string }
	}
	decodeOK(t, resp, http.StatusCreated, &sess)
	if sess.TotalParts != 2 {
		t.Fatalf("the link cut %d bytes into %d parts, want 2", len(data), sess.TotalParts)
	}
	partURL := func(n int) string { return linkURL + "/uploads/" + sess.VideoID + "/parts/" + strconv.Itoa(n) }
	req, _ := http.NewRequest(http.MethodPut, partURL(1), bytes.NewReader(data[:sess.ChunkSize]))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	decodeOK(t, resp, http.StatusOK, &sess)
	session := func(t *testing.T) {
		resp, err := http.Get(linkURL + "/uploads/" + sess.VideoID)
		if err != nil {
			t.Fatal(err)
		}
		decodeOK(t, resp, http.StatusOK, &sess)
	}
	return lastPart{
		method: http.MethodPut, path: strings.TrimPrefix(partURL(2), a.URL),
		header: http.Header{"Content-Type": {"application/octet-stream"}},
		body:   data[sess.ChunkSize:], ok: http.StatusOK,
		held: func(t *testing.T) int64 {
			session(t)
			if got, want := int64(sess.NextPart-1)*int64(sess.ChunkSize), sess.UploadedBytes; got != want && !sess.Complete {
				t.Errorf("session: next part %d, but %d bytes uploaded", sess.NextPart, sess.UploadedBytes)
			}
			return sess.UploadedBytes
		},
		check: func(t *testing.T) {
			session(t)
			sum := sha256.Sum256(data)
			if !sess.Complete || sess.Receipt == nil || sess.Receipt.SHA256 != hex.EncodeToString(sum[:]) {
				t.Errorf("session after the last part: complete=%v, receipt=%+v; want complete with sha256 %x", sess.Complete, sess.Receipt, sum)
			}
		},
	}
}

// multipartBody is a POST /upload body: videoId (when given), then the
// file. It returns the body, its Content-Type and where data starts in it.
func multipartBody(t *testing.T, videoID string, data []byte) ([]byte, string, int) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if videoID != "" {
		mw.WriteField("videoId", videoID)
	}
	fw, err := mw.CreateFormFile("file", "clip.bin")
	if err != nil {
		t.Fatal(err)
	}
	at := b.Len()
	fw.Write(data)
	mw.Close()
	return b.Bytes(), mw.FormDataContentType(), at
}

func decodeOK(t *testing.T, resp *http.Response, want int, v any) {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status=%d, want=%d: %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, want, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
}

// send sends the part with the standard client, its body read from r.
func (p lastPart) send(t *testing.T, a *idleApp, r io.Reader) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(p.method, a.URL+p.path, r)
	req.ContentLength = int64(len(p.body))
	for k, v := range p.header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", p.method, p.path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A client that sends half of its last part and then goes silent is cut
// off once the idle timeout passes; the server keeps nothing of that part,
// and the part then goes through when sent again.
func TestStalledPartIsCutOffAndCanBeSentAgain(t *testing.T) {
	t.Parallel()
	for _, route := range uploadRoutes {
		t.Run(route.description, func(t *testing.T) {
			t.Parallel()
			a := newIdleApp(t, 300*time.Millisecond)
			data := randomBytes(ingest.MinPartSize + 1<<20)
			part := route.start(t, a, data)
			heldBefore, onDiskBefore := part.held(t), a.blobFiles(t)

			conn, err := net.Dial("tcp", strings.TrimPrefix(a.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			var head strings.Builder
			fmt.Fprintf(&head, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", part.method, part.path, strings.TrimPrefix(a.URL, "http://"), len(part.body))
			for k, v := range part.header {
				fmt.Fprintf(&head, "%s: %s\r\n", k, v[0])
			}
			head.WriteString("\r\n")
			half := part.dataAt + (len(part.body)-part.dataAt)/2
			if _, err := io.WriteString(conn, head.String()); err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Write(part.body[:half]); err != nil {
				t.Fatal(err)
			}

			// Now silence. The server must end the request and close
			// the connection.
			conn.SetReadDeadline(time.Now().Add(stallWait))
			answer, err := io.ReadAll(conn)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the server was still waiting for the stalled part after %s", stallWait)
			}
			if strings.HasPrefix(string(answer), "HTTP/1.1 2") {
				t.Errorf("the stalled part was answered with success:\n%s", answer)
			}

			if got, want := part.held(t), heldBefore; got != want {
				t.Errorf("after the stall the server holds %d bytes of the upload, want=%d", got, want)
			}
			// The part was written where it goes in the source, which
			// holds its partial bytes until the part is written again;
			// no other object was left.
			if got, want := a.blobFiles(t), onDiskBefore; got != want {
				t.Errorf("after the stall the blobs are %q, want=%q", got, want)
			}

			status, body := part.send(t, a, bytes.NewReader(part.body))
			if status != part.ok {
				t.Fatalf("sending the part again: status=%d, want=%d: %s", status, part.ok, body)
			}
			part.check(t)
		})
	}
}

// A client that sends its part slowly but steadily, taking several times
// the idle timeout in all but never pausing that long, is never cut off.
func TestSteadySlowPartIsNeverCutOff(t *testing.T) {
	t.Parallel()
	for _, route := range uploadRoutes {
		t.Run(route.description, func(t *testing.T) {
			t.Parallel()
			// The gaps between pieces are a tenth of the idle timeout, so
			// that a loaded machine (a stalled scheduler, a slow disk) does
			// not stretch one of them past it.
			const idle = 1500 * time.Millisecond
			a := newIdleApp(t, idle)
			data := randomBytes(ingest.MinPartSize + 200<<10)
			part := route.start(t, a, data)
			// 50 pieces, one every idle/10: five times the idle timeout
			// in all.
			r := &steadyReader{b: part.body, piece: len(part.body)/50 + 1, every: idle / 10}
			status, body := part.send(t, a, r)
			if status != part.ok {
				t.Fatalf("a slow, steady part: status=%d, want=%d: %s", status, part.ok, body)
			}
			part.check(t)
		})
	}
}

// steadyReader hands out b a piece at a time, one piece per interval.
type steadyReader struct {
	b     []byte
	piece int
	every time.Duration
}

func (s *steadyReader) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	time.Sleep(s.every)
	n := copy(p[:min(len(p), s.piece)], s.b)
	s.b = s.b[n:]
	return n, nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{7})
	r.Read(b)
	return b
}

package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sourceFile is a file of reproducible pseudo-random bytes on disk, sent
// in parts read straight from it: the test never holds it in memory.
type sourceFile struct {
	f        *os.File
	size     int64
	partSize int64
	sha256   string
}

// newSourceFile writes size bytes from seed to a file in a temporary
// directory, starting with an MP4 header so that a link that takes videos
// takes it, and cut into parts of partSize.
func newSourceFile(t *testing.T, size, partSize int64, seed uint64) *sourceFile {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "source.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	h := sha256.New()
	w := io.MultiWriter(f, h)
	head := []byte("\x00\x00\x00\x20ftypisom")
	if _, err := w.Write(head); err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(w, rand.NewChaCha8(s), size-int64(len(head))); err != nil {
		t.Fatal(err)
	}
	return &sourceFile{f: f, size: size, partSize: partSize, sha256: hex.EncodeToString(h.Sum(nil))}
}

// parts returns how many parts the file has.
func (s *sourceFile) parts() int {
	return int((s.size + s.partSize - 1) / s.partSize)
}

// part returns a reader of part n, and its size.
func (s *sourceFile) part(n int) (*io.SectionReader, int64) {
	off := int64(n-1) * s.partSize
	size := min(s.partSize, s.size-off)
	return io.NewSectionReader(s.f, off, size), size
}

// session is one upload of a file through the front proxy, in one of the
// two protocols: POST /upload as the official clients send it, or a link
// as its uploader page does.
type session interface {
	// send makes one attempt at part n, of size bytes read from body, and
	// returns the status and body of the answer, or the error if there
	// was none. With report, the front proxy tells which instance got it.
	send(n int, body io.Reader, size int64, report bool) (int, string, error)
	// resend sends part n, whole, until the upload holds it, as a client
	// does after a failure: while the claim of an instance that died on
	// it lasts, the others refuse it as in flight.
	resend(t *testing.T, n int)
	// finish waits until the upload is complete, after its last part was
	// sent, as a client does.
	finish(t *testing.T)
	videoID() string
}

// apiSession uploads through POST /upload?token= in the framing of the
// official Go client's progressive upload
// (api.video-go-client: prepareProgressiveUploadRequest): a multipart
// body written by mime/multipart with its Content-Length, the file field
// "file" with a filename first, a videoId field after it on every part
// but the first, and "Content-Range: part n/*" on every part but the
// last, which says "part N/N".
type apiSession struct {
	c     *cluster
	f     *sourceFile
	url   string
	video string
}

func newAPISession(t *testing.T, c *cluster, f *sourceFile) *apiSession {
	t.Helper()
	status, body := do(t, c.client, "POST", c.front.URL+"/upload-tokens", c.auth, map[string]int{"ttl": 3600})
	if status != http.StatusOK {
		t.Fatalf("POST /upload-tokens: %d %s", status, body)
	}
	return &apiSession{c: c, f: f, url: c.front.URL + "/upload?token=" + mustDecode[struct{ Token string }](t, body).Token}
}

func (s *apiSession) videoID() string { return s.video }

func (s *apiSession) send(n int, data io.Reader, size int64, report bool) (int, string, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if _, err := mw.CreateFormFile("file", "clip.mp4"); err != nil {
		return 0, "", err
	}
	head := bytes.Clone(buf.Bytes())
	buf.Reset()
	if n > 1 {
		if err := mw.WriteField("videoId", s.video); err != nil {
			return 0, "", err
		}
	}
	if err := mw.Close(); err != nil {
		return 0, "", err
	}
	tail := buf.Bytes()
	req, err := http.NewRequest(http.MethodPost, s.url, io.MultiReader(bytes.NewReader(head), data, bytes.NewReader(tail)))
	if err != nil {
		return 0, "", err
	}
	req.ContentLength = int64(len(head)) + size + int64(len(tail))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if n == s.f.parts() {
		req.Header.Set("Content-Range", fmt.Sprintf("part %d/%d", n, n))
	} else {
		req.Header.Set("Content-Range", fmt.Sprintf("part %d/*", n))
	}
	status, body, err := s.c.roundTrip(req, report)
	if status == http.StatusCreated && n == 1 {
		var v struct{ VideoID string }
		if err := json.Unmarshal([]byte(body), &v); err != nil || v.VideoID == "" {
			return status, body, fmt.Errorf("no videoId in %s: %v", body, err)
		}
		s.video = v.VideoID
	}
	return status, body, err
}

func (s *apiSession) resend(t *testing.T, n int) {
	t.Helper()
	for attempt, deadline := 1, time.Now().Add(readyWait); ; attempt++ {
		data, size := s.f.part(n)
		status, body, err := s.send(n, data, size, false)
		if status == http.StatusCreated {
			t.Logf("part %d taken at attempt %d", n, attempt)
			return
		}
		// A 502 is the front proxy's, for a request that reached the
		// dying instance.
		retry := err != nil || status == http.StatusBadGateway ||
			status == http.StatusServiceUnavailable && strings.Contains(body, "upload-part-in-flight")
		if !retry || time.Now().After(deadline) {
			t.Fatalf("part %d again: %d %.200s (%v)", n, status, body, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// finish has nothing to wait for: the answer to the last part comes once
// the source is assembled.
func (s *apiSession) finish(t *testing.T) {}

// linkSession uploads through a link as the uploader page does
// (static/js/session.js): POST {link}/uploads opens a session, each part
// is PUT {link}/uploads/{videoId}/parts/{n} with the raw bytes, and after
// a failure the page asks GET {link}/uploads/{videoId} which part the
// server needs next; once every part is sent it asks that until the
// upload is complete, with its receipt.
type linkSession struct {
	c     *cluster
	f     *sourceFile
	api   string // {link}/uploads
	video string
}

// uploadState is what the link's endpoints say of an upload.
type uploadState struct {
	VideoID    string          `json:"videoId"`
	ChunkSize  int64           `json:"chunkSize"`
	TotalParts int             `json:"totalParts"`
	NextPart   int             `json:"nextPart"`
	Complete   bool            `json:"complete"`
	Receipt    json.RawMessage `json:"receipt"`
}

func newLinkSession(t *testing.T, c *cluster, linkURL string, f *sourceFile) *linkSession {
	t.Helper()
	s := &linkSession{c: c, f: f, api: linkURL + "/uploads"}
	body := fmt.Sprintf(`{"filename":"clip.mp4","size":%d,"lastModified":1}`, f.size)
	req, err := http.NewRequest(http.MethodPost, s.api, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	status, answer, err := c.roundTrip(req, false)
	if status != http.StatusCreated {
		t.Fatalf("POST %s: %d %s (%v)", s.api, status, answer, err)
	}
	st := mustDecode[uploadState](t, []byte(answer))
	if st.ChunkSize != f.partSize || st.TotalParts != f.parts() {
		t.Fatalf("the link cuts the file into %d parts of %d bytes, want %d of %d", st.TotalParts, st.ChunkSize, f.parts(), f.partSize)
	}
	s.video = st.VideoID
	return s
}

func (s *linkSession) videoID() string { return s.video }

func (s *linkSession) send(n int, data io.Reader, size int64, report bool) (int, string, error) {
	req, err := http.NewRequest(http.MethodPut, fmt.Sprintf("%s/%s/parts/%d", s.api, s.video, n), data)
	if err != nil {
		return 0, "", err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	return s.c.roundTrip(req, report)
}

// state asks the server what it holds of the upload.
func (s *linkSession) state(t *testing.T) (uploadState, bool) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.api+"/"+s.video, nil)
	if err != nil {
		t.Fatal(err)
	}
	status, body, err := s.c.roundTrip(req, false)
	if err != nil || status != http.StatusOK {
		return uploadState{}, false
	}
	return mustDecode[uploadState](t, []byte(body)), true
}

func (s *linkSession) resend(t *testing.T, n int) {
	t.Helper()
	for attempt, deadline := 1, time.Now().Add(readyWait); ; attempt++ {
		data, size := s.f.part(n)
		status, body, err := s.send(n, data, size, false)
		if status == http.StatusOK {
			t.Logf("part %d taken at attempt %d", n, attempt)
			return
		}
		// The page retries network failures, 5xx and part-in-flight
		// (static/js/codes.js), asking the server what it holds first.
		retry := err != nil || status >= 500 || status == http.StatusConflict && strings.Contains(body, "part-in-flight")
		if !retry || time.Now().After(deadline) {
			t.Fatalf("part %d again: %d %.200s (%v)", n, status, body, err)
		}
		time.Sleep(500 * time.Millisecond)
		if st, ok := s.state(t); ok && st.NextPart > n {
			t.Logf("part %d held, as the server said at attempt %d", n, attempt)
			return
		}
	}
}

func (s *linkSession) finish(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(readyWait); ; {
		st, ok := s.state(t)
		if ok && st.Complete && len(st.Receipt) > 0 && string(st.Receipt) != "null" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the upload through the link is not complete: %+v", st)
		}
		time.Sleep(time.Second)
	}
}

// roundTrip sends a request through the front proxy with the page's
// Origin, and returns the status and body of the answer.
func (c *cluster) roundTrip(req *http.Request, report bool) (int, string, error) {
	req.Header.Set("Origin", c.front.URL)
	if report {
		req.Header.Set(pickHeader, "1")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/store/blob/s3store"
	"github.com/uplink-video/uplink/store/blob/s3store/s3test"
	"github.com/uplink-video/uplink/web/webtest"
)

// s3Calls counts the S3 calls a store makes, by operation.
type s3Calls struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *s3Calls) observe(op string, _ time.Duration, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil {
		c.n[op]++
	}
}

func (c *s3Calls) get(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[op]
}

// startOnS3 starts uplink with the upload service writing to a bucket of
// a real S3 server (versitygw), and returns the app, the store on the
// bucket, and its call counts.
func startOnS3(t *testing.T, opts ...webtest.Option) (*app, *s3store.Store, *s3Calls) {
	t.Helper()
	srv := s3test.Versitygw(t)
	calls := &s3Calls{n: map[string]int{}}
	cfg := srv.Config(t)
	cfg.Observe = calls.observe
	s3, err := s3store.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	opts = append(opts, webtest.WithBlobs(func(*blob.Dir) blob.Store { return s3 }))
	return newApp(t, opts...), s3, calls
}

// sourceSum returns the SHA-256 of the video's source as the bucket holds
// it.
func sourceSum(t *testing.T, a *app, s3 *s3store.Store, videoID string) string {
	t.Helper()
	ctx := context.Background()
	u, err := a.store.FindUpload(ctx, videoID)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s3.Open(ctx, u.SourceKey)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestNodeClientOnS3 runs the official Node client's two token uploads
// against uplink with its bytes in S3, in 5 MiB chunks of a 12 MiB file:
// uploadWithUploadToken ("part i/3", no videoId) and the progressive
// session ("part n/*", then "part 3/3", videoId after the file). Each
// part's length is guessed from its request (ingest.GuessSize), so it goes
// to the bucket as one UploadPart, except the one-call upload's last part,
// whose framing does not tell: that one is written aside and copied
// (UploadPartCopy). No guess is wrong, and both sources are the file.
func TestNodeClientOnS3(t *testing.T) {
	node := needNodeClient(t)
	a, s3, calls := startOnS3(t)
	tok := a.createToken(t, 0)

	data := randomData(31, 12*mib+123)
	dir := t.TempDir()
	file := filepath.Join(dir, "my-video.mp4")
	os.WriteFile(file, data, 0o600)
	var chunks []string
	for i, c := range split(data, 5*mib) {
		p := filepath.Join(dir, fmt.Sprintf("chunk%d.mp4", i))
		os.WriteFile(p, c, 0o600)
		chunks = append(chunks, p)
	}

	cmd := exec.Command(node, "upload.mjs")
	cmd.Dir = nodeClientDir
	cmd.Env = append(os.Environ(), "UPLINK_URL="+a.url, "TOKEN="+tok, "FILE="+file, "CHUNKS="+strings.Join(chunks, ","))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var res struct {
		OneCall, Progressive string
		Error                any
	}
	if err := json.Unmarshal(out, &res); err != nil || res.Error != nil || res.OneCall == "" || res.Progressive == "" {
		t.Fatalf("node said: %s (%v)", out, err)
	}
	for _, id := range []string{res.OneCall, res.Progressive} {
		if got, want := sourceSum(t, a, s3, id), sha(data); got != want {
			t.Errorf("source of %s: SHA-256 %s, want %s", id, got, want)
		}
	}
	if got := calls.get("UploadPart"); got != 5 {
		t.Errorf("%d UploadPart calls, want 5: every part but the one-call upload's last", got)
	}
	if got := calls.get("UploadPartCopy"); got != 1 {
		t.Errorf("%d UploadPartCopy calls, want 1: the one-call upload's last part", got)
	}
	tk, err := a.store.FindUploadToken(context.Background(), tok)
	if err != nil || !tk.GuessSizes {
		t.Errorf("the token's guesses stopped (%v): a guess was wrong", err)
	}
}

// needNodeClient returns node's path, or skips the test (fails it under
// CI) when the official Node client is not installed.
func needNodeClient(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(nodeClientDir, "node_modules", "@api.video", "nodejs-client")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the Node client is not installed in %s (.ci/run runs npm ci there): %v", nodeClientDir, err)
		}
		t.Skipf("the Node client is not installed: run npm ci in web/api/%s", nodeClientDir)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed")
	}
	return node
}

// TestWrongGuessIsSentAgain sends a part in a framing no official client
// writes: a field after the videoId that follows the file. The guess of
// its length is then wrong: the request gets 503 upload-send-again, the
// bucket keeps nothing of it, and the token takes no more guesses, so the
// same request sent again is written aside and copied, and the source is
// the file.
func TestWrongGuessIsSentAgain(t *testing.T) {
	a, s3, calls := startOnS3(t)
	tok := a.createToken(t, 0)
	data := randomData(32, 10*mib+7)
	chunks := split(data, 5*mib)
	id := a.uploadOK(t, upload{token: tok, contentRange: "part 1/*", parts: []formPart{file("a.mp4", chunks[0])}}).VideoID
	if got := calls.get("UploadPart"); got != 1 {
		t.Fatalf("part 1: %d UploadPart calls, want 1", got)
	}
	odd := upload{token: tok, contentRange: "part 2/*", parts: []formPart{file("a.mp4", chunks[1]), field("videoId", id), field("note", "hello")}}
	a.wantProblem(t, a.upload(t, odd), 503, "upload-send-again", "file")
	if got := calls.get("UploadPart"); got != 1 {
		t.Errorf("the wrong guess stored a part: %d UploadPart calls, want 1", got)
	}
	if tk, _ := a.store.FindUploadToken(context.Background(), tok); tk.GuessSizes {
		t.Error("the token still takes guesses after a wrong one")
	}
	a.uploadOK(t, odd)
	if got := calls.get("UploadPartCopy"); got != 1 {
		t.Errorf("the part sent again: %d UploadPartCopy calls, want 1 (written aside)", got)
	}
	a.uploadOK(t, upload{token: tok, contentRange: "part 3/3", parts: []formPart{file("a.mp4", chunks[2]), field("videoId", id)}})
	if got, want := sourceSum(t, a, s3, id), sha(data); got != want {
		t.Errorf("source SHA-256 %s, want %s", got, want)
	}
}

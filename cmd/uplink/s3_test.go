package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/uplink-video/uplink/store/blob/s3store/s3test"
	"github.com/uplink-video/uplink/web/metrics/metricstest"
)

// uplink serve with its bytes in an S3 bucket (versitygw, started by the
// test): a chunked upload in the official clients' format and an upload
// through a link both land in the bucket, are read back whole and by
// ranges, leave no multipart upload open, and survive a restart.
func TestServeOnS3(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary and an S3 server")
	}
	s3srv := s3test.Versitygw(t)
	bucket := s3srv.Config(t).Bucket
	client := &http.Client{Timeout: readyWait}
	dir := t.TempDir()
	const key = "s3-test-api-key-0123456789"
	env := []string{
		"UPLINK_API_KEY=" + key,
		"AWS_ENDPOINT_URL=" + s3srv.Endpoint, "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=" + s3test.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s3test.SecretKey,
	}
	args := []string{"--data", dir, "--blobs", "s3://" + bucket + "/uplink", "--s3-path-style", "--chunk-size", "5MiB"}
	srv := startServer(t, client, env, append([]string{"--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0"}, args...)...)
	metricsLink := metricsURL(t, srv)
	auth := basicAuth(key)

	// 12 MiB in three parts, videoId after the file, as the Node client
	// sends them.
	file := make([]byte, 12<<20+123)
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range file {
		file[i] = byte(rng.Uint32())
	}
	copy(file, "\x00\x00\x00\x20ftypisom")
	status, body := do(t, client, "POST", srv.URL+"/upload-tokens", auth, map[string]int{"ttl": 3600})
	if status != http.StatusOK {
		t.Fatalf("POST /upload-tokens: %d %s", status, body)
	}
	token := mustDecode[struct{ Token string }](t, body).Token
	apiVideo := ""
	for i, off := 0, 0; off < len(file); i, off = i+1, off+5<<20 {
		end := min(off+5<<20, len(file))
		apiVideo = postPart(t, client, srv.URL+"/upload?token="+token, fmt.Sprintf("part %d/3", i+1), apiVideo, file[off:end])
	}

	// The same bytes through a link.
	stdout, stderr, code := runBinary(t, env, append([]string{"link", "create", "--label", "On S3", "--public-url", srv.URL}, args...)...)
	if code != 0 {
		t.Fatalf("link create: %d %s", code, stderr)
	}
	linkURL := strings.TrimSpace(stdout)
	linkVideo := linkStart(t, client, linkURL, "onS3.mp4", len(file))
	for n, off := 1, 0; off < len(file); n, off = n+1, off+5<<20 {
		end := min(off+5<<20, len(file))
		req, _ := http.NewRequest(http.MethodPut, fmt.Sprintf("%s/uploads/%s/parts/%d", linkURL, linkVideo, n), bytes.NewReader(file[off:end]))
		req.Header.Set("Origin", srv.URL)
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("link part %d: %d %s", n, resp.StatusCode, b)
		}
	}

	sum := sha256.Sum256(file)
	want := hex.EncodeToString(sum[:])
	check := func(base string) {
		t.Helper()
		for _, id := range []string{apiVideo, linkVideo} {
			if got := sha256Source(t, client, base, auth, id); got != want {
				t.Errorf("source of %s: SHA-256 %s, want %s", id, got, want)
			}
			req, _ := http.NewRequest(http.MethodGet, base+"/videos/"+id+"/source", nil)
			req.Header.Set("Authorization", auth)
			req.Header.Set("Range", "bytes=5242870-5242899")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(got, file[5242870:5242900]) {
				t.Errorf("range of %s across a part boundary: %d, %d bytes, equal %v", id, resp.StatusCode, len(got), bytes.Equal(got, file[5242870:5242900]))
			}
		}
	}
	check(srv.URL)
	if status, body := do(t, client, "GET", srv.URL+"/readyz", "", nil); status != http.StatusOK || !strings.Contains(string(body), "blob store: ok") {
		t.Errorf("/readyz: %d %q, want 200 with the bucket checked", status, body)
	}
	// The metrics count the bucket's calls: each of the link's parts is
	// one UploadPart, and so are the API's first two, whose lengths are
	// guessed from their requests (ingest.GuessSize). The API's last
	// part's framing does not tell its length ("part 3/3", videoId after
	// the file), so it is written as an object and then adopted as a part
	// (PutObject, UploadPartCopy). Each upload has one completion.
	_, scrape := getMetrics(t, client, metricsLink, "")
	s := metricstest.Parse(t, strings.NewReader(scrape))
	for _, tt := range []struct {
		operation string
		atLeast   float64
		exact     bool
	}{{"UploadPart", 5, true}, {"PutObject", 1, true}, {"UploadPartCopy", 1, true}, {"CompleteMultipartUpload", 2, true}, {"HeadBucket", 2, false}, {"GetObject", 4, false}} {
		got := s.Value(t, "uplink_s3_requests_total", "operation", tt.operation, "outcome", "ok")
		if got < tt.atLeast || tt.exact && got != tt.atLeast {
			t.Errorf("uplink_s3_requests_total{operation=%s,outcome=ok}=%v, want %v (exactly: %v)", tt.operation, got, tt.atLeast, tt.exact)
		}
	}
	if !s.Has("uplink_s3_request_duration_seconds", "operation", "UploadPart") {
		t.Error("no uplink_s3_request_duration_seconds{operation=UploadPart} in the scrape")
	}

	// The bucket holds the two sources under the prefix, and no upload
	// is left open.
	ctx := context.Background()
	objects, err := s3srv.Client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket})
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int64
	for _, o := range objects.Contents {
		if !strings.HasPrefix(*o.Key, "uplink/") {
			t.Errorf("object %s outside the prefix", *o.Key)
		}
		sizes = append(sizes, *o.Size)
	}
	if len(sizes) != 2 || sizes[0] != int64(len(file)) || sizes[1] != int64(len(file)) {
		t.Errorf("objects in the bucket: sizes %v, want two of %d", sizes, len(file))
	}
	ups, err := s3srv.Client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &bucket})
	if err != nil {
		t.Fatal(err)
	}
	if len(ups.Uploads) != 0 {
		t.Errorf("%d multipart uploads left open", len(ups.Uploads))
	}

	// A restart finds everything in place.
	if code := srv.stop(t); code != 0 {
		t.Fatalf("stop: exit %d", code)
	}
	srv = startServer(t, client, env, append([]string{"--addr", "127.0.0.1:0"}, args...)...)
	if m := recoveredLine.FindString(srv.stderr.String()); !strings.Contains(m, "missing=0") || !strings.Contains(m, "orphans=0") {
		t.Errorf("after the restart: %q, want nothing missing or orphaned", m)
	}
	check(srv.URL)
}

// postPart sends one part of a file to POST /upload in multipart, with
// videoId after the file when there is one, and returns the video ID.
func postPart(t *testing.T, client *http.Client, url, contentRange, videoID string, data []byte) string {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "clip.mp4")
	fw.Write(data)
	if videoID != "" {
		mw.WriteField("videoId", videoID)
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, url, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Content-Range", contentRange)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /upload %s: %d %s", contentRange, resp.StatusCode, b)
	}
	return mustDecode[struct{ VideoID string }](t, b).VideoID
}

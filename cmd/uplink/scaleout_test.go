package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/uplink-video/uplink/store/blob/s3store/s3test"
	"github.com/uplink-video/uplink/store/storetest"
)

// pickHeader marks a request whose backend the round-robin proxy reports
// on its picked channel, so that the test knows which instance to kill.
const pickHeader = "X-Test-Report-Backend"

// roundRobin is a load balancer in front of several instances: each
// request goes to the next instance that is not marked down, with the
// client's Host kept, as a reverse proxy in production would keep it.
type roundRobin struct {
	mu       sync.Mutex
	backends []*url.URL
	down     []bool
	next     int
	served   []int    // Requests sent to each backend.
	picked   chan int // The backend of each request marked with pickHeader.
}

// pick returns the next backend that is up, and its index.
func (p *roundRobin) pick() (*url.URL, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for range p.backends {
		i := p.next % len(p.backends)
		p.next++
		if !p.down[i] {
			p.served[i]++
			return p.backends[i], i
		}
	}
	panic("roundRobin: every backend is down")
}

// add appends a backend.
func (p *roundRobin) add(base string) {
	u, err := url.Parse(base)
	if err != nil {
		panic(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.backends = append(p.backends, u)
	p.down = append(p.down, false)
	p.served = append(p.served, 0)
}

// markDown stops sending requests to backend i.
func (p *roundRobin) markDown(i int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down[i] = true
}

// counts returns the requests sent to each backend so far.
func (p *roundRobin) counts() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int(nil), p.served...)
}

// newRoundRobin starts the proxy, with no backends yet; the test adds
// them once they listen, since they need the proxy's URL first.
func newRoundRobin(t *testing.T) (*roundRobin, *httptest.Server) {
	p := &roundRobin{picked: make(chan int, 1)}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			backend, i := p.pick()
			pr.SetURL(backend)
			pr.Out.Host = pr.In.Host
			if pr.In.Header.Get(pickHeader) != "" {
				p.picked <- i
			}
		},
		// Bodies and answers stream through as they come.
		FlushInterval: -1,
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return p, srv
}

// Three instances of the binary on one PostgreSQL database and one S3
// bucket (versitygw), each with a data directory of its own, behind a
// round-robin proxy: 50 starts at once on a one-time link, spread across
// them, leave exactly one upload; and an upload in 16 MiB parts through
// POST /upload?token=, whose instance is killed in the middle of a part,
// finishes through the others, reads back whole through another, and
// leaves no multipart upload open in the bucket. It runs when the tests
// run on PostgreSQL (storetest.EnvPostgres).
func TestServeThreeInstances(t *testing.T) {
	if !storetest.Postgres() {
		t.Skipf("runs on PostgreSQL only: set %s=1", storetest.EnvPostgres)
	}
	if testing.Short() {
		t.Skip("starts three instances of the binary and an S3 server")
	}
	s3srv := s3test.Versitygw(t)
	bucket := s3srv.Config(t).Bucket
	lb, front := newRoundRobin(t)
	client := &http.Client{Timeout: readyWait}
	const key = "scale-out-test-api-key-0123"
	auth := basicAuth(key)
	dsn := storetest.NewEmptyDSN(t)
	env := []string{
		"UPLINK_API_KEY=" + key, "UPLINK_DATABASE=" + dsn,
		"AWS_ENDPOINT_URL=" + s3srv.Endpoint, "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=" + s3test.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s3test.SecretKey,
	}
	common := []string{"--blobs", "s3://" + bucket + "/uplink", "--s3-path-style", "--public-url", front.URL}
	// The first instance makes the schema; the others find it.
	var servers [3]*server
	for i := range servers {
		args := append([]string{"--addr", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "data")}, common...)
		servers[i] = startServer(t, client, env, args...)
		lb.add(servers[i].URL)
	}

	t.Run("one-time link", func(t *testing.T) {
		args := append([]string{"link", "create", "--label", "Once", "--max-uploads", "1", "--data", t.TempDir()}, common...)
		stdout, stderr, code := runBinary(t, env, args...)
		if code != 0 {
			t.Fatalf("link create: exit %d: %s", code, stderr)
		}
		linkURL := strings.TrimSpace(stdout)
		before := lb.counts()
		statuses := make([]int, 50)
		var wg sync.WaitGroup
		for i := range statuses {
			wg.Go(func() {
				body := fmt.Sprintf(`{"filename":"clip%d.mp4","size":%d,"lastModified":1}`, i, 20<<20)
				req, _ := http.NewRequest(http.MethodPost, linkURL+"/uploads", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Origin", front.URL)
				resp, err := client.Do(req)
				if err != nil {
					t.Errorf("start %d: %v", i, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				statuses[i] = resp.StatusCode
			})
		}
		wg.Wait()
		byStatus := map[int]int{}
		for _, s := range statuses {
			byStatus[s]++
		}
		if byStatus[http.StatusCreated] != 1 {
			t.Errorf("50 starts at once: %d created, want 1 (statuses %v)", byStatus[http.StatusCreated], byStatus)
		}
		for s, n := range byStatus {
			if s >= 500 || s == 0 {
				t.Errorf("%d starts answered %d, want none: statuses %v", n, s, byStatus)
			}
		}
		after := lb.counts()
		for i := range after {
			if after[i] == before[i] {
				t.Errorf("instance %d received none of the starts: %v then %v", i, before, after)
			}
		}
		t.Logf("50 starts at once across 3 instances: statuses %v", byStatus)
	})

	t.Run("killed mid-part", func(t *testing.T) {
		const partSize, parts = 16 << 20, 5
		file := make([]byte, (parts-1)*partSize+3<<20+123)
		rng := rand.New(rand.NewPCG(12, 3))
		for i := range file {
			file[i] = byte(rng.Uint32())
		}
		copy(file, "\x00\x00\x00\x20ftypisom")
		part := func(n int) []byte { return file[(n-1)*partSize : min(n*partSize, len(file))] }
		// The link upload that won above is still open, as it should be:
		// what this upload leaves open is what is open after it and not
		// before.
		openBefore := openMultipart(t, s3srv, bucket)
		status, body := do(t, client, "POST", front.URL+"/upload-tokens", auth, map[string]int{"ttl": 3600})
		if status != http.StatusOK {
			t.Fatalf("POST /upload-tokens: %d %s", status, body)
		}
		upload := front.URL + "/upload?token=" + mustDecode[struct{ Token string }](t, body).Token
		rangeOf := func(n int) string { return fmt.Sprintf("part %d/%d", n, parts) }
		videoID := postPart(t, client, upload, rangeOf(1), "", part(1))
		postPart(t, client, upload, rangeOf(2), videoID, part(2))

		// Part 3: half its bytes reach an instance, which is then killed.
		pr, pw := io.Pipe()
		done := make(chan string, 1)
		go func() {
			status, body, err := sendPart(client, upload, rangeOf(3), videoID, pr, len(part(3)), true)
			done <- fmt.Sprintf("status %d %.80s (%v)", status, body, err)
		}()
		victim := <-lb.picked
		if _, err := pw.Write(part(3)[:partSize/2]); err != nil {
			t.Fatalf("streaming part 3: %v", err)
		}
		// The instance is receiving the part once its claim on it is in
		// the database.
		db := storetest.RawDB(t, dsn)
		for deadline := time.Now().Add(readyWait); ; {
			var claims int
			if err := db.QueryRow(`SELECT count(*) FROM part_claims WHERE video_id = $1`, videoID).Scan(&claims); err != nil {
				t.Fatal(err)
			}
			if claims > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no claim on part 3 in the database")
			}
			time.Sleep(10 * time.Millisecond)
		}
		lb.markDown(victim)
		if err := servers[victim].cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-servers[victim].done
		pw.CloseWithError(errors.New("the instance was killed"))
		t.Logf("part 3 half sent to instance %d, killed: %s", victim, <-done)

		// The part again, through the others: refused as in flight (503,
		// upload-part-in-flight) while the dead instance's claim on it
		// lasts (ingest.DefaultClaimTTL), then taken.
		for attempt, deadline := 1, time.Now().Add(readyWait); ; attempt++ {
			status, body, err := sendPart(client, upload, rangeOf(3), videoID, bytes.NewReader(part(3)), len(part(3)), false)
			if err != nil {
				t.Fatal(err)
			}
			if status == http.StatusCreated {
				t.Logf("part 3 taken by another instance at attempt %d", attempt)
				break
			}
			if status != http.StatusServiceUnavailable || !strings.Contains(body, "upload-part-in-flight") || time.Now().After(deadline) {
				t.Fatalf("part 3 again: %d %s", status, body)
			}
			time.Sleep(500 * time.Millisecond)
		}
		for n := 4; n <= parts; n++ {
			postPart(t, client, upload, rangeOf(n), videoID, part(n))
		}

		sum := sha256.Sum256(file)
		want := hex.EncodeToString(sum[:])
		for i, srv := range servers {
			if i == victim {
				continue
			}
			if got := sha256Source(t, client, srv.URL, auth, videoID); got != want {
				t.Errorf("source through instance %d: SHA-256 %s, want %s", i, got, want)
			}
		}
		objects, err := s3srv.Client.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: &bucket})
		if err != nil {
			t.Fatal(err)
		}
		if len(objects.Contents) != 1 || *objects.Contents[0].Size != int64(len(file)) {
			var got []string
			for _, o := range objects.Contents {
				got = append(got, fmt.Sprintf("%s (%d bytes)", *o.Key, *o.Size))
			}
			t.Fatalf("objects in the bucket: %v, want the one source of %d bytes", got, len(file))
		}
		// The upload's own multipart upload is completed. The killed
		// instance may have been writing the part aside (a part of
		// POST /upload goes to an object of its own before it is copied
		// into the upload): the request that took the part over found
		// that write in the dead instance's claim, and aborted it.
		for key := range openMultipart(t, s3srv, bucket) {
			if !openBefore[key] {
				t.Errorf("multipart upload of %s left open in the bucket", key)
			}
		}
	})

	for _, srv := range servers {
		select {
		case <-srv.done:
			continue // The killed one.
		default:
		}
		if code := srv.stop(t); code != 0 {
			t.Errorf("exit code after SIGTERM=%d, want=0; stderr:\n%s", code, srv.stderr)
		}
	}
}

// sendPart posts one part to POST /upload in multipart, its size bytes
// read from data and videoId after the file, and returns the status and
// body, or the error if the request failed. With report, the proxy tells
// the test which instance the request went to.
func sendPart(client *http.Client, url, contentRange, videoID string, data io.Reader, size int, report bool) (int, string, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if _, err := mw.CreateFormFile("file", "clip.mp4"); err != nil {
		return 0, "", err
	}
	head := bytes.Clone(buf.Bytes())
	buf.Reset()
	mw.WriteField("videoId", videoID)
	mw.Close()
	tail := buf.Bytes()
	req, err := http.NewRequest(http.MethodPost, url, io.MultiReader(bytes.NewReader(head), data, bytes.NewReader(tail)))
	if err != nil {
		return 0, "", err
	}
	req.ContentLength = int64(len(head) + size + len(tail))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Content-Range", contentRange)
	if report {
		req.Header.Set(pickHeader, "1")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// openMultipart returns the keys of the multipart uploads open in bucket.
func openMultipart(t *testing.T, srv *s3test.Server, bucket string) map[string]bool {
	t.Helper()
	ups, err := srv.Client.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: &bucket})
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, u := range ups.Uploads {
		keys[*u.Key] = true
	}
	return keys
}

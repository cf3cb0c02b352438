package s3store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/store/blob/blobtest"
	"github.com/uplink-video/uplink/store/blob/s3store"
	"github.com/uplink-video/uplink/store/blob/s3store/s3test"
)

const mib = 1 << 20

// putRaw writes an object behind the store's back.
func putRaw(t *testing.T, srv *s3test.Server, bucket, key, body string) {
	t.Helper()
	_, err := srv.Client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: strings.NewReader(body)})
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

// objectsAndUploads lists every object and unfinished upload of the
// bucket, behind the store's back.
func objectsAndUploads(t *testing.T, srv *s3test.Server, bucket string) (objects, uploads []string) {
	t.Helper()
	ctx := context.Background()
	pages := s3.NewListObjectsV2Paginator(srv.Client, &s3.ListObjectsV2Input{Bucket: &bucket})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatalf("list objects: %v", err)
		}
		for _, o := range page.Contents {
			objects = append(objects, aws.ToString(o.Key))
		}
	}
	ups, err := srv.Client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &bucket})
	if err != nil {
		t.Fatalf("list uploads: %v", err)
	}
	for _, u := range ups.Uploads {
		uploads = append(uploads, aws.ToString(u.Key))
	}
	return objects, uploads
}

func mustCreate(t *testing.T, s blob.Store) blob.Upload {
	t.Helper()
	u, err := s.CreateMultipart(context.Background(), blob.NewKey())
	if err != nil {
		t.Fatalf("CreateMultipart: %v", err)
	}
	return u
}

func mustWrite(t *testing.T, s blob.Store, u blob.Upload, number int, data []byte) blob.Part {
	t.Helper()
	p, err := s.WritePart(context.Background(), u, blob.Part{Number: number, Size: int64(len(data)), Offset: -1}, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("WritePart(%d): %v", number, err)
	}
	return p
}

// mustAdopt writes data as an object and adopts it as part number.
func mustAdopt(t *testing.T, s blob.Store, u blob.Upload, number int, data []byte) (blob.Part, string) {
	t.Helper()
	ctx := context.Background()
	aside := blob.NewKey()
	if _, err := s.Put(ctx, aside, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	etag, err := s.AdoptPart(ctx, u, blob.Part{Number: number, Size: int64(len(data)), Offset: -1}, aside)
	if err != nil {
		t.Fatalf("AdoptPart(%d): %v", number, err)
	}
	return blob.Part{Number: number, Size: int64(len(data)), ETag: etag}, aside
}

func equalBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s: %d bytes that differ from the %d expected", what, len(got), len(want))
	}
}

// A part sent twice, with other bytes and another length the second time,
// is the second send in the object: completion goes by the recorded ETag,
// whatever the server's part listing holds (SeaweedFS lists both sends).
func testResentPart(t *testing.T, srv *s3test.Server, cfg s3store.Config) {
	ctx := context.Background()
	s := open(t, cfg)
	u := mustCreate(t, s)
	mustWrite(t, s, u, 1, blobtest.Payload(1, 6*mib))
	second := blobtest.Payload(2, 5*mib)
	p1 := mustWrite(t, s, u, 1, second)
	last := blobtest.Payload(3, 1000)
	p2 := mustWrite(t, s, u, 2, last)
	k := cfg.Prefix + u.Key
	if parts, err := srv.Client.ListParts(ctx, &s3.ListPartsInput{Bucket: &cfg.Bucket, Key: &k, UploadId: &u.ID}); err == nil {
		var listed []string
		for _, p := range parts.Parts {
			listed = append(listed, fmt.Sprintf("%d (%d bytes, ETag %s)", aws.ToInt32(p.PartNumber), aws.ToInt64(p.Size), aws.ToString(p.ETag)))
		}
		t.Logf("the server lists parts %s; the recorded ETags are %s and %s", strings.Join(listed, ", "), p1.ETag, p2.ETag)
	}
	if err := s.CompleteMultipart(ctx, u, []blob.Part{p1, p2}); err != nil {
		t.Fatalf("CompleteMultipart: %v", err)
	}
	equalBytes(t, "object after part 1 was sent again", blobtest.Read(t, s, u.Key), append(second, last...))
}

// generator yields n pseudo-random bytes without holding them, and hashes
// what it yields.
type generator struct {
	rnd  *rand.ChaCha8
	left int64
	sum  hashWriter
}

type hashWriter interface {
	io.Writer
	Sum([]byte) []byte
}

func newGenerator(seed byte, n int64) *generator {
	return &generator{rnd: rand.NewChaCha8([32]byte{seed}), left: n, sum: sha256.New()}
}

func (g *generator) Read(p []byte) (int, error) {
	if g.left == 0 {
		return 0, io.EOF
	}
	// A request body's Read hands out a few KiB at a time.
	p = p[:min(int64(len(p)), g.left, 32<<10)]
	g.rnd.Read(p)
	g.sum.Write(p)
	g.left -= int64(len(p))
	return len(p), nil
}

// heapPeak samples the bytes of live and unswept heap objects until stop
// is closed, and returns the highest.
func heapPeak(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		var peak uint64
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-stop:
				out <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return out
}

// A body of unknown length is streamed through bounded buffers: the heap
// never holds it whole. The figures are reported, not asserted, but for
// the bound that is the contract (less than half the body).
func testUnknownLengthPut(t *testing.T, s *s3store.Store) {
	ctx := context.Background()
	for _, size := range []int64{96 * mib, 2*8*mib + 5} {
		t.Run(fmt.Sprintf("%d bytes", size), func(t *testing.T) {
			key := blob.NewKey()
			g := newGenerator(7, size)
			runtime.GC()
			base := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
			metrics.Read(base)
			stop := make(chan struct{})
			peak := heapPeak(stop)
			began := time.Now()
			n, err := s.Put(ctx, key, -1, g)
			took := time.Since(began)
			close(stop)
			grew := int64(<-peak) - int64(base[0].Value.Uint64())
			if err != nil || n != size {
				t.Fatalf("Put(-1) = %d, %v; want %d", n, err, size)
			}
			t.Logf("Put of %d MiB of unknown length: heap grew by at most %.1f MiB; %v (%.0f MiB/s)",
				size/mib, float64(grew)/mib, took.Round(time.Millisecond), float64(size)/mib/took.Seconds())
			if size >= 64*mib && grew > size/2 {
				t.Errorf("the heap grew by %d bytes during a Put of %d: the body was held, not streamed", grew, size)
			}
			r, err := s.Open(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			h := sha256.New()
			if m, err := io.Copy(h, r); err != nil || m != size {
				t.Fatalf("read back %d bytes, %v; want %d", m, err, size)
			}
			if !bytes.Equal(h.Sum(nil), g.sum.Sum(nil)) {
				t.Error("the object differs from the body put")
			}
		})
	}
}

// countingTransport counts the requests sent and the response body bytes
// read through it.
type countingTransport struct {
	requests, bytes atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet {
		c.requests.Add(1)
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		resp.Body = countingBody{resp.Body, &c.bytes}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// http.ServeContent serves Range requests from Open's reader, which reads
// only what is asked for, from where it is asked for.
func testRangedReads(t *testing.T, cfg s3store.Config) {
	ctx := context.Background()
	counted := &countingTransport{}
	cfg.HTTPClient = &http.Client{Transport: counted}
	s := open(t, cfg)
	data := blobtest.Payload(5, 16*mib)
	key := blob.NewKey()
	if _, err := s.Put(ctx, key, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		obj, err := s.Open(r.Context(), key)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer obj.Close()
		w.Header().Set("Content-Type", "video/mp4")
		http.ServeContent(w, r, "", time.Time{}, obj)
	}))
	defer web.Close()
	for _, tt := range []struct {
		description string
		rangeHeader string
		status      int
		from, to    int // The bytes expected: data[from:to].
	}{
		{"whole", "", http.StatusOK, 0, len(data)},
		{"a kilobyte in the middle", "bytes=9000000-9000999", http.StatusPartialContent, 9000000, 9001000},
		{"the last 100 bytes", "bytes=-100", http.StatusPartialContent, len(data) - 100, len(data)},
		{"from an offset to the end", "bytes=16000000-", http.StatusPartialContent, 16000000, len(data)},
	} {
		t.Run(tt.description, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, web.URL, nil)
			if tt.rangeHeader != "" {
				req.Header.Set("Range", tt.rangeHeader)
			}
			gets, read := counted.requests.Load(), counted.bytes.Load()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != tt.status {
				t.Fatalf("status %d, %v; want %d", resp.StatusCode, err, tt.status)
			}
			equalBytes(t, "body", body, data[tt.from:tt.to])
			gets, read = counted.requests.Load()-gets, counted.bytes.Load()-read
			t.Logf("%d bytes served with %d GET requests reading %d bytes from the server", len(body), gets, read)
			if want := int64(tt.to-tt.from) + 1*mib; read > want {
				t.Errorf("read %d bytes from the server to serve %d", read, tt.to-tt.from)
			}
		})
	}
}

// An upload nobody completes or aborts is listed by ListMultipart, with
// its start time; List does not show it, and an abort removes it.
func testListMultipartAfterAbandon(t *testing.T, srv *s3test.Server, cfg s3store.Config) {
	ctx := context.Background()
	s := open(t, cfg)
	began := time.Now()
	u := mustCreate(t, s)
	mustWrite(t, s, u, 1, blobtest.Payload(8, 5*mib))
	// Another store, on another prefix of the bucket, has an upload too.
	other := cfg
	other.Prefix = "other/"
	mustCreate(t, open(t, other))
	var got []blob.Upload
	var started time.Time
	if err := s.ListMultipart(ctx, func(up blob.Upload, at time.Time) error {
		got, started = append(got, up), at
		return nil
	}); err != nil {
		t.Fatalf("ListMultipart: %v", err)
	}
	if len(got) != 1 || got[0] != u {
		t.Fatalf("ListMultipart = %+v, want only %+v", got, u)
	}
	if d := started.Sub(began); d < -time.Minute || d > time.Minute {
		t.Errorf("upload started at %v, not within a minute of %v", started, began)
	}
	if err := s.List(ctx, func(i blob.Info) error {
		t.Errorf("List shows %s while only an unfinished upload exists", i.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.AbortMultipart(ctx, u, nil); err != nil {
		t.Fatal(err)
	}
	_, uploads := objectsAndUploads(t, srv, cfg.Bucket)
	for _, k := range uploads {
		if strings.HasPrefix(k, cfg.Prefix) {
			t.Errorf("upload of %s left after the abort", k)
		}
	}
}

// Completing again after a success succeeds while the object is there
// with the parts' size, and fails otherwise; so does completing an
// aborted upload.
func testCompleteIsIdempotent(t *testing.T, s *s3store.Store) {
	ctx := context.Background()
	first, last := blobtest.Payload(9, 5*mib), blobtest.Payload(10, 10)
	u := mustCreate(t, s)
	ps := []blob.Part{mustWrite(t, s, u, 1, first), mustWrite(t, s, u, 3, last)}
	for i := range 3 {
		if err := s.CompleteMultipart(ctx, u, ps); err != nil {
			t.Fatalf("CompleteMultipart, call %d: %v", i+1, err)
		}
	}
	equalBytes(t, "object completed thrice", blobtest.Read(t, s, u.Key), append(first, last...))
	wrong := []blob.Part{ps[0], ps[1]}
	wrong[1].Size++
	if err := s.CompleteMultipart(ctx, u, wrong); err == nil {
		t.Error("CompleteMultipart again with another total succeeded")
	}
	aborted := mustCreate(t, s)
	p := mustWrite(t, s, aborted, 1, last)
	if err := s.AbortMultipart(ctx, aborted, []blob.Part{p}); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteMultipart(ctx, aborted, []blob.Part{p}); err == nil {
		t.Error("CompleteMultipart of an aborted upload succeeded")
	}
}

// Aborting an upload deletes the objects adopted as its parts, and the
// parts written aside (equal-part mode): nothing is left in the bucket.
func testAbortDeletesAdopted(t *testing.T, srv *s3test.Server, cfg s3store.Config) {
	ctx := context.Background()
	s := open(t, cfg)
	u := mustCreate(t, s)
	ps := []blob.Part{mustWrite(t, s, u, 1, blobtest.Payload(11, 5*mib))}
	var adopted []string
	for n := 2; n <= 3; n++ {
		p, aside := mustAdopt(t, s, u, n, blobtest.Payload(uint64(10+n), 5*mib))
		ps, adopted = append(ps, p), append(adopted, aside)
	}
	if err := s.AbortMultipart(ctx, u, ps); err != nil {
		t.Fatalf("AbortMultipart: %v", err)
	}
	for _, k := range adopted {
		if _, err := s.Open(ctx, k); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("adopted object %s after the abort: %v, want ErrNotFound", k, err)
		}
	}
	objects, uploads := objectsAndUploads(t, srv, cfg.Bucket)
	if len(objects)+len(uploads) > 0 {
		t.Errorf("left after the abort: objects %v, uploads %v", objects, uploads)
	}
}

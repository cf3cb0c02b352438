package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/store/blob/s3store/s3test"
)

// An S3 call's moment that a trap waits for.
const (
	// afterPart: the server has stored a part (UploadPart, or
	// UploadPartCopy of an object written aside) and answered; the
	// instance has not heard the answer, so it has not recorded the part.
	afterPart = "after the part is stored"
	// inCompletion: the server has assembled the object
	// (CompleteMultipartUpload) and answered; the instance has not heard
	// it, so the database still says the upload is completing.
	inCompletion = "after the object is assembled"
)

// trap is an S3 call at which the instance that makes it is killed: the
// call reaches the server, which answers, and the instance is killed
// before the answer reaches it.
type trap struct {
	moment string
	path   string // The object's path on the server, /bucket/key, or "" for any.
	part   string // The part's number, for afterPart.
}

// matches reports whether the S3 request r, answered with status, is the
// call the trap waits for.
func (tr trap) matches(r *http.Request, status int) bool {
	q := r.URL.Query()
	if status != http.StatusOK || tr.path != "" && r.URL.Path != tr.path || q.Get("uploadId") == "" {
		return false
	}
	switch tr.moment {
	case afterPart:
		return r.Method == http.MethodPut && q.Get("partNumber") == tr.part
	case inCompletion:
		return r.Method == http.MethodPost && !q.Has("uploads")
	}
	return false
}

// traps relays the S3 calls of each instance to the server through a
// reverse proxy of its own (each instance's AWS_ENDPOINT_URL points at
// its proxy, so that the proxy knows which instance makes a call), and
// kills the instance that makes the call of the one trap armed.
type traps struct {
	mu    sync.Mutex
	armed *trap
	// kill kills instance i; set before any trap is armed.
	kill func(i int)
	// fired receives the instance that each trap killed.
	fired chan int
}

// errKilled ends a trapped call's relay: its instance is dead.
var errKilled = errors.New("the instance that made this call was killed")

// newTraps starts one proxy per instance in front of the S3 server at
// endpoint, and returns the traps and the proxies' URLs.
func newTraps(t *testing.T, endpoint string, instances int) (*traps, []string) {
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	ts := &traps{fired: make(chan int, 1)}
	var urls []string
	for i := range instances {
		proxy := &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(target)
				// The request is signed for the host the instance
				// called.
				pr.Out.Host = pr.In.Host
			},
			FlushInterval: -1,
			ModifyResponse: func(resp *http.Response) error {
				if !ts.take(resp.Request, resp.StatusCode) {
					return nil
				}
				// The whole answer, so that the server is done with the
				// call whatever it streams.
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				ts.kill(i)
				ts.fired <- i
				return errKilled
			},
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				if errors.Is(err, errKilled) {
					panic(http.ErrAbortHandler)
				}
				w.WriteHeader(http.StatusBadGateway)
			},
		}
		srv := httptest.NewServer(proxy)
		t.Cleanup(srv.Close)
		urls = append(urls, srv.URL)
	}
	return ts, urls
}

// arm sets the trap; the next call that it matches, by any instance,
// springs it.
func (ts *traps) arm(tr trap) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.armed = &tr
}

// take disarms and reports the armed trap if r, answered with status, is
// its call.
func (ts *traps) take(r *http.Request, status int) bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.armed == nil || !ts.armed.matches(r, status) {
		return false
	}
	ts.armed = nil
	return true
}

// checkAgreement checks that the database and the bucket agree, with
// nothing left over on either side: the bucket's objects are exactly
// those the database refers to (blob keys under prefix), each complete
// source as long as recorded, and the multipart uploads open in the
// bucket are exactly those of the unfinished uploads.
func checkAgreement(t *testing.T, st *store.Store, srv *s3test.Server, bucket, prefix string) {
	t.Helper()
	ctx := context.Background()
	objects, open := bucketContents(t, srv, bucket)
	refs, err := st.BlobRefs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sources, err := st.CompleteSources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	multiparts, err := st.MultipartRefs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Some references are not objects: the part ETags an object store
	// gives (quoted), and the source of an unfinished upload, which is a
	// multipart upload until it is complete.
	want := map[string]int64{}
	for k := range refs {
		if _, unfinished := multiparts[k]; blob.ValidKey(k) && !unfinished {
			want[prefix+k] = -1
		}
	}
	for k, size := range sources {
		want[prefix+k] = size
	}
	for k, size := range objects {
		wantSize, ok := want[k]
		switch {
		case !ok:
			t.Errorf("object %s (%d bytes) is in the bucket, and the database refers to no such object", k, size)
		case wantSize >= 0 && size != wantSize:
			t.Errorf("object %s holds %d bytes, and the database records %d", k, size, wantSize)
		}
	}
	for k := range want {
		if _, ok := objects[k]; !ok {
			t.Errorf("object %s is recorded in the database, and missing from the bucket", k)
		}
	}
	wantOpen := map[string]string{}
	for k, id := range multiparts {
		wantOpen[prefix+k] = id
	}
	if !maps.Equal(open, wantOpen) {
		t.Errorf("multipart uploads open in the bucket: %v, want those of the unfinished uploads: %v", open, wantOpen)
	}
}

// bucketContents returns every object in the bucket with its size, and
// every multipart upload open in it, by key.
func bucketContents(t *testing.T, srv *s3test.Server, bucket string) (objects map[string]int64, open map[string]string) {
	t.Helper()
	ctx := context.Background()
	objects, open = map[string]int64{}, map[string]string{}
	pages := s3.NewListObjectsV2Paginator(srv.Client, &s3.ListObjectsV2Input{Bucket: &bucket})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			objects[aws.ToString(o.Key)] = aws.ToInt64(o.Size)
		}
	}
	ups := s3.NewListMultipartUploadsPaginator(srv.Client, &s3.ListMultipartUploadsInput{Bucket: &bucket})
	for ups.HasMorePages() {
		page, err := ups.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page.Uploads {
			k := aws.ToString(u.Key)
			if _, twice := open[k]; twice {
				t.Errorf("two multipart uploads of %s are open", k)
			}
			open[k] = aws.ToString(u.UploadId)
		}
	}
	return objects, open
}

// describeOpen lists the multipart uploads open in the bucket, for the
// log.
func describeOpen(t *testing.T, srv *s3test.Server, bucket string) string {
	t.Helper()
	_, open := bucketContents(t, srv, bucket)
	keys := slices.Sorted(maps.Keys(open))
	return fmt.Sprintf("%d open (%s)", len(keys), strings.Join(keys, ", "))
}

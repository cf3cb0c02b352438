package s3store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/store/blob/blobtest"
	"github.com/uplink-video/uplink/store/blob/s3store"
	"github.com/uplink-video/uplink/store/blob/s3store/s3test"
)

// In the equal-part mode, parts of unequal sizes (written, adopted, sent
// again) make an object whose parts, but the last, are all of one size,
// as R2 requires; and nothing is left behind but the object.
func testUnequalParts(t *testing.T, srv *s3test.Server, equal func(*testing.T) s3store.Config) {
	for _, tt := range []struct {
		description string
		sizes       []int64 // The parts' sizes, in order.
		partSize    int64   // Config.EqualPartSize.
		wantPart    int64   // The size of the object's parts, but the last.
	}{
		{"equal already", []int64{5 * mib, 5 * mib, 1000}, 0, 5 * mib},
		{"the last longer", []int64{5 * mib, 5 * mib, 7 * mib}, 0, 5 * mib},
		{"unequal, the smallest part size", []int64{6 * mib, 5*mib + 123, 7 * mib, 9 * mib, 1 * mib}, 0, 5*mib + 123},
		{"parts straddling several ends", []int64{5 * mib, 5 * mib, 6 * mib, 3 * mib}, 12 * mib, 12 * mib},
		{"one part", []int64{3 * mib}, 0, 0},
	} {
		t.Run(tt.description, func(t *testing.T) {
			ctx := context.Background()
			cfg := equal(t)
			cfg.EqualPartSize = tt.partSize
			s := open(t, cfg)
			u := mustCreate(t, s)
			var (
				ps   []blob.Part
				want []byte
				// Parts sent again leave their first send behind,
				// for the owner's cleanup of orphans.
				orphans = map[string]bool{}
			)
			for i, size := range tt.sizes {
				data := blobtest.Payload(uint64(100+i), int(size))
				var p blob.Part
				switch i % 3 {
				case 0:
					p = mustWrite(t, s, u, i+1, data)
				case 1:
					p, _ = mustAdopt(t, s, u, i+1, data)
				case 2:
					// Sent twice, first with other bytes.
					first := mustWrite(t, s, u, i+1, blobtest.Payload(99, int(size)+mib))
					orphans[cfg.Prefix+first.ETag] = true
					p = mustWrite(t, s, u, i+1, data)
				}
				ps, want = append(ps, p), append(want, data...)
			}
			began := time.Now()
			if err := s.CompleteMultipart(ctx, u, ps); err != nil {
				t.Fatalf("CompleteMultipart: %v", err)
			}
			t.Logf("assembled %d parts (%.1f MiB) in %v", len(ps), float64(len(want))/mib, time.Since(began).Round(time.Millisecond))
			equalBytes(t, "assembled object", blobtest.Read(t, s, u.Key), want)
			if tt.wantPart > 0 {
				checkPartSizes(t, srv, cfg.Bucket, cfg.Prefix+u.Key, int64(len(want)), tt.wantPart)
			}
			objects, uploads := objectsAndUploads(t, srv, cfg.Bucket)
			left := objects[:0]
			for _, k := range objects {
				if k != cfg.Prefix+u.Key && !orphans[k] {
					left = append(left, k)
				}
			}
			if len(left) > 0 || len(uploads) > 0 {
				t.Errorf("left after completion: objects %v, uploads %v", left, uploads)
			}
		})
	}
}

// checkPartSizes checks, with HEAD requests for each part of the object
// k, that its parts hold size bytes each but the last.
func checkPartSizes(t *testing.T, srv *s3test.Server, bucket, k string, total, size int64) {
	t.Helper()
	ctx := context.Background()
	head := func(n int32) (*s3.HeadObjectOutput, error) {
		return srv.Client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &k, PartNumber: &n})
	}
	first, err := head(1)
	if err != nil || first.PartsCount == nil {
		t.Logf("the server tells no part sizes (%v); the object's parts are not checked", err)
		return
	}
	count := aws.ToInt32(first.PartsCount)
	if want := int32((total + size - 1) / size); count != want {
		t.Errorf("the object has %d parts, want %d of %d bytes", count, want, size)
	}
	var sizes []int64
	for n := int32(1); n <= count; n++ {
		h, err := head(n)
		if err != nil {
			t.Fatalf("HEAD part %d: %v", n, err)
		}
		sizes = append(sizes, aws.ToInt64(h.ContentLength))
	}
	for i, got := range sizes[:len(sizes)-1] {
		if got != size {
			t.Errorf("part %d holds %d bytes, want %d: the parts are %v", i+1, got, size, sizes)
			break
		}
	}
	if last := sizes[len(sizes)-1]; last > size {
		t.Errorf("the last part holds %d bytes, more than the others' %d", last, size)
	}
	t.Logf("the object's parts: %s", fmt.Sprint(sizes))
}

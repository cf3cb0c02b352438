package links_test

// Benchmark of a part through a link. It runs only with -bench:
//
//	go test -run '^$' -bench . -benchmem ./web/links

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/ingest"
	"github.com/uplink-video/uplink/web/links"
	"github.com/uplink-video/uplink/web/webtest"
)

// BenchmarkPutPart sends in-order 16 MiB parts of one upload through a
// link: the link's checks, the SHA-256 of the file, and the upload
// service, down to a real blob directory and SQLite file.
func BenchmarkPutPart(b *testing.B) {
	const size = 16 << 20
	ctx := context.Background()
	svc := webtest.Start(b, webtest.WithChunkSize(size), webtest.WithLease(time.Hour)).Links
	l, err := svc.Create(ctx, links.Spec{Label: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	head, err := os.ReadFile("testdata/h264-aac-faststart.mp4")
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*7 + i>>13)
	}
	copy(data, head)

	var u store.LinkUpload
	n := 0
	b.SetBytes(size)
	for b.Loop() {
		if n == 0 || n > u.TotalParts {
			// A new upload, long enough for the rest of the run (at
			// most the protocol's part limit).
			u, _, err = svc.Start(ctx, l.ID, links.StartRequest{Filename: "bench.mp4", Size: ingest.MaxParts * size, LastModified: time.Now().UnixNano()})
			if err != nil {
				b.Fatal(err)
			}
			n = 1
		}
		if u, err = svc.PutPart(ctx, l.ID, u.VideoID, n, size, bytes.NewReader(data)); err != nil {
			b.Fatalf("part %d: %v", n, err)
		}
		n++
	}
}

package blob_test

// Benchmark of the blob layer's write path. It runs only with -bench:
//
//	go test -run '^$' -bench . ./store/blob

import (
	"context"
	"io"
	"strconv"
	"testing"

	"github.com/uplink-video/uplink/store/blob"
)

// BenchmarkWritePart writes 16 MiB parts in place, fsync included, from a
// reader that returns at most reads bytes per Read. 4 KiB is what a
// multipart part hands out; 1 MiB is a reader that fills any buffer.
func BenchmarkWritePart(b *testing.B) {
	const size = 16 << 20
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i ^ i>>9)
	}
	for _, reads := range []int{4 << 10, 1 << 20} {
		b.Run("reads="+strconv.Itoa(reads>>10)+"KiB", func(b *testing.B) {
			ctx := context.Background()
			d, err := blob.NewDir(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			u, err := d.CreateMultipart(ctx, blob.NewKey())
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			b.SetBytes(size)
			for b.Loop() {
				// Cycle over 64 parts (1 GiB) to keep the disk use bounded.
				p := blob.Part{Number: n%64 + 1, Size: size, Offset: int64(n%64) * size}
				if _, err := d.WritePart(ctx, u, p, &chunkReader{data: data, chunk: reads}); err != nil {
					b.Fatal(err)
				}
				n++
			}
		})
	}
}

// chunkReader yields data at most chunk bytes per Read.
type chunkReader struct {
	data  []byte
	chunk int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.chunk)], r.data)
	r.data = r.data[n:]
	return n, nil
}

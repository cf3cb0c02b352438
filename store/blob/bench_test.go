package blob_test

// Benchmark of the blob layer's write path (issue 6). It runs only with
// -bench:
//
//	go test -run '^$' -bench . ./store/blob

import (
	"context"
	"io"
	"strconv"
	"testing"

	"github.com/uplink-video/uplink/store/blob"
)

// BenchmarkAppend appends 16 MiB pieces to one object, fsync included, from
// a reader that returns at most reads bytes per Read. 4 KiB is what a
// multipart part hands out; 1 MiB is a reader that fills any buffer.
func BenchmarkAppend(b *testing.B) {
	const size = 16 << 20
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i ^ i>>9)
	}
	for _, reads := range []int{4 << 10, 1 << 20} {
		b.Run("reads="+strconv.Itoa(reads>>10)+"KiB", func(b *testing.B) {
			d, err := blob.NewDir(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			key := blob.NewKey()
			var off int64
			b.SetBytes(size)
			for b.Loop() {
				n, err := d.Append(context.Background(), key, off, &chunkReader{data: data, chunk: reads})
				if err != nil {
					b.Fatal(err)
				}
				off += n
				if off >= 1<<30 {
					// Keep the disk use bounded on long runs.
					d.Truncate(context.Background(), key, 0)
					off = 0
				}
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

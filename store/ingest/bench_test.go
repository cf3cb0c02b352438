package ingest_test

// Benchmarks of the upload engine's hot paths (issue 6). They run only
// with -bench:
//
//	go test -run '^$' -bench . -benchmem ./store/ingest

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/store/ingest"
	"github.com/uplink-video/uplink/store/storetest"
)

// benchPart is the part size of the benchmarks: the benchmark command's
// and the links' default.
const benchPart = 16 << 20

func BenchmarkParseContentRange(b *testing.B) {
	for _, h := range []string{"part 17/128", "part 17/*", "bytes 16777216-33554431/2147483648", ""} {
		b.Run(strconv.Quote(h), func(b *testing.B) {
			b.SetBytes(int64(len(h)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ingest.ParseContentRange(h); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReceivePart streams in-order 16 MiB parts to disk through
// Begin, Receive and Commit: the whole of the engine's work for a part,
// on a real blob directory (fsync included) and a real SQLite file. The
// reader returns at most chunk bytes per Read; 4 KiB is what the
// multipart reader hands out.
func BenchmarkReceivePart(b *testing.B) {
	for _, chunk := range []int{4 << 10, 1 << 20} {
		b.Run("reads="+strconv.Itoa(chunk>>10)+"KiB", func(b *testing.B) {
			dir := b.TempDir()
			blobs, err := blob.NewDir(filepath.Join(dir, "blobs"))
			if err != nil {
				b.Fatal(err)
			}
			bu := newBenchUpload(b, blobs)
			data := payload(1, benchPart)
			b.SetBytes(benchPart)
			for b.Loop() {
				bu.send(b, func(p *ingest.Piece) error {
					return p.Receive(context.Background(), "bench.bin", &chunkReader{data: data, chunk: chunk})
				})
			}
		})
	}
}

// BenchmarkCommitPart measures Commit of an in-order part alone: the
// metadata transaction that makes a received part count. The bytes go to
// a blob store that discards them, and Begin and Receive run with the
// timer stopped. SetBytes is the part size, so the figure reads as the
// throughput at which commits alone would become the limit.
func BenchmarkCommitPart(b *testing.B) {
	bu := newBenchUpload(b, discardBlobs{})
	data := payload(2, benchPart)
	b.SetBytes(benchPart)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		p := bu.begin(b)
		if err := p.Receive(context.Background(), "bench.bin", bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		bu.commit(b, p)
	}
}

// benchUpload feeds in-order parts ("part n/*", videoId before the file
// from part 2 on) into one upload, starting another when the protocol's
// part limit is near.
type benchUpload struct {
	svc     *ingest.Service
	token   string
	videoID string
	next    int
}

func newBenchUpload(b *testing.B, blobs blob.Store) *benchUpload {
	st := storetest.OpenDSN(b, storetest.NewDSN(b), storetest.NewClock())
	tok, err := st.CreateUploadToken(context.Background(), 0)
	if err != nil {
		b.Fatal(err)
	}
	return &benchUpload{svc: ingest.New(st, blobs, ingest.Config{}), token: tok.ID, next: 1}
}

func (u *benchUpload) begin(b *testing.B) *ingest.Piece {
	if u.next > ingest.MaxParts-1 {
		u.videoID, u.next = "", 1
	}
	rng, err := ingest.ParseContentRange("part " + strconv.Itoa(u.next) + "/*")
	if err != nil {
		b.Fatal(err)
	}
	p, err := u.svc.Begin(context.Background(), ingest.Request{Token: u.token, Range: rng, VideoID: u.videoID, Size: -1})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func (u *benchUpload) commit(b *testing.B, p *ingest.Piece) {
	defer p.Close()
	v, err := p.Commit(context.Background(), "")
	if err != nil {
		b.Fatal(err)
	}
	u.videoID = v.ID
	u.next++
}

func (u *benchUpload) send(b *testing.B, receive func(*ingest.Piece) error) {
	p := u.begin(b)
	if err := receive(p); err != nil {
		p.Close()
		b.Fatal(err)
	}
	u.commit(b, p)
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

// discardBlobs is a blob.Store that keeps nothing.
type discardBlobs struct{}

func (discardBlobs) Put(ctx context.Context, key string, size int64, r io.Reader) (int64, error) {
	return io.Copy(io.Discard, r)
}

func (discardBlobs) Open(ctx context.Context, key string) (io.ReadSeekCloser, error) {
	return nil, blob.ErrNotFound
}

func (discardBlobs) Delete(ctx context.Context, key string) error             { return nil }
func (discardBlobs) Discard(ctx context.Context, key string) error            { return nil }
func (discardBlobs) List(ctx context.Context, fn func(blob.Info) error) error { return nil }
func (discardBlobs) CreateMultipart(ctx context.Context, key string) (blob.Upload, error) {
	return blob.Upload{Key: key, ID: key}, nil
}

func (discardBlobs) WritePart(ctx context.Context, u blob.Upload, p blob.Part, r io.Reader) (blob.Part, error) {
	n, err := io.Copy(io.Discard, r)
	p.Size = n
	return p, err
}

func (discardBlobs) AdoptPart(ctx context.Context, u blob.Upload, p blob.Part, src string) (string, error) {
	return src, nil
}

func (discardBlobs) CompleteMultipart(ctx context.Context, u blob.Upload, ps []blob.Part) error {
	return nil
}

func (discardBlobs) AbortMultipart(ctx context.Context, u blob.Upload, ps []blob.Part) error {
	return nil
}

func (discardBlobs) ListMultipart(ctx context.Context, fn func(blob.Upload, time.Time) error) error {
	return nil
}

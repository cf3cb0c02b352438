package links_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand"
	"runtime"
	"testing"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/web/links"
	"github.com/uplink-video/uplink/web/webtest"
)

// fileReader yields size deterministic bytes that start with a video
// header, without holding them in memory.
type fileReader struct {
	head []byte
	rnd  *rand.Rand
	left int64
	off  int64
}

func newFileReader(head []byte, size int64) *fileReader {
	return &fileReader{head: head, rnd: rand.New(rand.NewSource(size)), left: size}
}

func (f *fileReader) Read(p []byte) (int, error) {
	if f.left == 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), f.left)]
	f.rnd.Read(p)
	if f.off < int64(len(f.head)) {
		copy(p, f.head[f.off:])
	}
	f.off += int64(len(p))
	f.left -= int64(len(p))
	return len(p), nil
}

// allocatedDuring returns the bytes allocated on the heap while fn ran.
func allocatedDuring(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestPartsAreStreamed sends one part of 8 MiB and one of 96 MiB through a
// link, the proxy and the token endpoint to disk, and checks that the
// memory allocated does not grow with the part: no layer holds a part.
func TestPartsAreStreamed(t *testing.T) {
	head := videoFile(t, 4096)[:4096]
	measure := func(size int64) uint64 {
		svc := webtest.Start(t, webtest.WithChunkSize(128<<20)).Links
		l, err := svc.Create(context.Background(), links.Spec{Label: "stream"})
		if err != nil {
			t.Fatal(err)
		}
		u, _, err := svc.Start(context.Background(), l.ID, links.StartRequest{Filename: "big.mp4", Size: size, LastModified: 1})
		if err != nil {
			t.Fatal(err)
		}
		var done store.LinkUpload
		alloc := allocatedDuring(func() {
			done, err = svc.PutPart(context.Background(), l.ID, u.VideoID, 1, size, newFileReader(head, size))
		})
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		io.Copy(h, newFileReader(head, size))
		if got, want := done.SHA256, hex.EncodeToString(h.Sum(nil)); got != want {
			t.Fatalf("sha256=%s, want=%s", got, want)
		}
		return alloc
	}
	small, large := measure(8<<20), measure(96<<20)
	t.Logf("allocated: %d KiB for an 8 MiB part, %d KiB for a 96 MiB part", small>>10, large>>10)
	// A part held in memory would add at least 88 MiB; allow a few MiB of
	// noise from the runtime and SQLite.
	if large > small+4<<20 {
		t.Errorf("a 96 MiB part allocated %d KiB, an 8 MiB part %d KiB: memory grows with the part", large>>10, small>>10)
	}
}

// Package blobtest is the contract every blob.Store must meet, as a test
// suite that each implementation runs against itself: the local directory
// (blob.Dir) and the S3 store, so that both keep the same promises.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store/blob"
)

// PartSize is the size of the parts the suite writes, but the last: the
// smallest an object store takes.
const PartSize = 5 << 20

// Run runs the contract against the stores that open returns, a fresh and
// empty one for each test.
func Run(t *testing.T, open func(t *testing.T) blob.Store) {
	t.Run("PutOpenDelete", func(t *testing.T) { testPutOpenDelete(t, open(t)) })
	t.Run("PutUnknownLength", func(t *testing.T) { testPutUnknownLength(t, open(t)) })
	t.Run("PutWrongLength", func(t *testing.T) { testPutWrongLength(t, open(t)) })
	t.Run("RangeReads", func(t *testing.T) { testRangeReads(t, open(t)) })
	t.Run("MultipartInOrder", func(t *testing.T) { testMultipart(t, open(t), []int{1, 2, 3}) })
	t.Run("MultipartOutOfOrder", func(t *testing.T) { testMultipart(t, open(t), []int{3, 1, 2}) })
	t.Run("PartWrittenTwice", func(t *testing.T) { testPartWrittenTwice(t, open(t)) })
	t.Run("PartWrongLength", func(t *testing.T) { testPartWrongLength(t, open(t)) })
	t.Run("AdoptPart", func(t *testing.T) { testAdoptPart(t, open(t)) })
	t.Run("CompleteTwice", func(t *testing.T) { testCompleteTwice(t, open(t)) })
	t.Run("Abort", func(t *testing.T) { testAbort(t, open(t)) })
	t.Run("List", func(t *testing.T) { testList(t, open(t)) })
}

// Payload returns n reproducible pseudo-random bytes.
func Payload(seed uint64, n int) []byte {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	b := make([]byte, n)
	rand.NewChaCha8(s).Read(b)
	return b
}

// Read returns the whole object key.
func Read(t *testing.T, s blob.Store, key string) []byte {
	t.Helper()
	r, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open(%s): %v", key, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return b
}

func same(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if len(got) != len(want) || sha256.Sum256(got) != sha256.Sum256(want) {
		t.Errorf("%s: %d bytes that differ from the %d written", what, len(got), len(want))
	}
}

func mustPut(t *testing.T, s blob.Store, key string, data []byte) {
	t.Helper()
	if _, err := s.Put(context.Background(), key, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatalf("Put(%s): %v", key, err)
	}
}

func testPutOpenDelete(t *testing.T, s blob.Store) {
	ctx := context.Background()
	key := blob.NewKey()
	data := Payload(1, 3<<20+17)
	n, err := s.Put(ctx, key, int64(len(data)), bytes.NewReader(data))
	if err != nil || n != int64(len(data)) {
		t.Fatalf("Put = %d, %v; want %d, nil", n, err, len(data))
	}
	same(t, "object", Read(t, s, key), data)
	if err := s.Delete(ctx, key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Open(ctx, key); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Open after Delete: %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, key); err != nil {
		t.Errorf("Delete of a missing key: %v, want nil", err)
	}
}

func testPutUnknownLength(t *testing.T, s blob.Store) {
	key := blob.NewKey()
	data := Payload(2, 7<<20+3)
	n, err := s.Put(context.Background(), key, -1, bytes.NewReader(data))
	if err != nil || n != int64(len(data)) {
		t.Fatalf("Put(-1) = %d, %v; want %d, nil", n, err, len(data))
	}
	same(t, "object", Read(t, s, key), data)
}

func testPutWrongLength(t *testing.T, s blob.Store) {
	ctx := context.Background()
	data := Payload(3, 1<<20)
	for _, size := range []int64{int64(len(data)) - 1, int64(len(data)) + 1} {
		key := blob.NewKey()
		if _, err := s.Put(ctx, key, size, bytes.NewReader(data)); !errors.Is(err, blob.ErrLength) {
			t.Errorf("Put(size %d) of %d bytes: %v, want ErrLength", size, len(data), err)
		}
		if _, err := s.Open(ctx, key); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Open after a refused Put: %v, want ErrNotFound", err)
		}
	}
}

func testRangeReads(t *testing.T, s blob.Store) {
	key := blob.NewKey()
	data := Payload(4, 2<<20)
	mustPut(t, s, key, data)
	r, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, off := range []int64{0, 1, 1 << 20, int64(len(data)) - 10} {
		if _, err := r.Seek(off, io.SeekStart); err != nil {
			t.Fatalf("Seek(%d): %v", off, err)
		}
		got := make([]byte, 10)
		if _, err := io.ReadFull(r, got); err != nil {
			t.Fatalf("read at %d: %v", off, err)
		}
		if !bytes.Equal(got, data[off:off+10]) {
			t.Errorf("bytes at %d differ", off)
		}
	}
	if n, err := r.Seek(0, io.SeekEnd); err != nil || n != int64(len(data)) {
		t.Errorf("Seek(0, End) = %d, %v; want %d", n, err, len(data))
	}
}

// parts cuts data into parts of PartSize and a shorter last one.
func parts(data []byte) [][]byte {
	var ps [][]byte
	for len(data) > PartSize {
		ps = append(ps, data[:PartSize])
		data = data[PartSize:]
	}
	return append(ps, data)
}

// writeParts writes the parts of data whose numbers are given, in that
// order, with their offsets known only when the parts before them were
// written already (as package ingest does), and returns them.
func writeParts(t *testing.T, s blob.Store, u blob.Upload, data []byte, order []int) []blob.Part {
	t.Helper()
	ps := parts(data)
	written := make([]blob.Part, len(ps))
	done := map[int]bool{}
	for _, n := range order {
		off := int64(-1)
		if n == 1 || done[n-1] && written[n-2].Offset >= 0 {
			off = int64(n-1) * PartSize
		}
		p, err := s.WritePart(context.Background(), u, blob.Part{Number: n, Size: int64(len(ps[n-1])), Offset: off}, bytes.NewReader(ps[n-1]))
		if err != nil {
			t.Fatalf("WritePart(%d): %v", n, err)
		}
		if p.Size != int64(len(ps[n-1])) || p.Number != n {
			t.Fatalf("WritePart(%d) = %+v, want number %d and size %d", n, p, n, len(ps[n-1]))
		}
		p.Offset = int64(n-1) * PartSize
		written[n-1], done[n] = p, true
	}
	return written
}

func testMultipart(t *testing.T, s blob.Store, order []int) {
	ctx := context.Background()
	data := Payload(5, 2*PartSize+12345)
	u, err := s.CreateMultipart(ctx, blob.NewKey())
	if err != nil {
		t.Fatalf("CreateMultipart: %v", err)
	}
	ps := writeParts(t, s, u, data, order)
	if err := s.CompleteMultipart(ctx, u, ps); err != nil {
		t.Fatalf("CompleteMultipart: %v", err)
	}
	same(t, "assembled object", Read(t, s, u.Key), data)
}

func testPartWrittenTwice(t *testing.T, s blob.Store) {
	ctx := context.Background()
	data := Payload(6, PartSize+100)
	u, err := s.CreateMultipart(ctx, blob.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	// The first write of part 1 carries other bytes; the second, which
	// is the one recorded, carries the right ones.
	wrong := Payload(7, PartSize)
	if _, err := s.WritePart(ctx, u, blob.Part{Number: 1, Size: PartSize, Offset: 0}, bytes.NewReader(wrong)); err != nil {
		t.Fatal(err)
	}
	ps := writeParts(t, s, u, data, []int{1, 2})
	if err := s.CompleteMultipart(ctx, u, ps); err != nil {
		t.Fatalf("CompleteMultipart: %v", err)
	}
	same(t, "object after a part was written twice", Read(t, s, u.Key), data)
}

func testPartWrongLength(t *testing.T, s blob.Store) {
	ctx := context.Background()
	u, err := s.CreateMultipart(ctx, blob.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	data := Payload(8, PartSize)
	for _, size := range []int64{PartSize - 1, PartSize + 1} {
		_, err := s.WritePart(ctx, u, blob.Part{Number: 1, Size: size, Offset: 0}, bytes.NewReader(data))
		if !errors.Is(err, blob.ErrLength) {
			t.Errorf("WritePart(size %d) of %d bytes: %v, want ErrLength", size, len(data), err)
		}
	}
	if err := s.AbortMultipart(ctx, u, nil); err != nil {
		t.Errorf("AbortMultipart: %v", err)
	}
}

func testAdoptPart(t *testing.T, s blob.Store) {
	ctx := context.Background()
	data := Payload(9, 2*PartSize+10)
	ps := parts(data)
	u, err := s.CreateMultipart(ctx, blob.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	written := writeParts(t, s, u, data, []int{1, 3})
	aside := blob.NewKey()
	mustPut(t, s, aside, ps[1])
	etag, err := s.AdoptPart(ctx, u, blob.Part{Number: 2, Size: int64(len(ps[1])), Offset: -1}, aside)
	if err != nil {
		t.Fatalf("AdoptPart: %v", err)
	}
	all := []blob.Part{written[0], {Number: 2, Size: int64(len(ps[1])), Offset: PartSize, ETag: etag}, written[2]}
	if err := s.CompleteMultipart(ctx, u, all); err != nil {
		t.Fatalf("CompleteMultipart: %v", err)
	}
	same(t, "object with an adopted part", Read(t, s, u.Key), data)
	if _, err := s.Open(ctx, aside); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("the adopted object is still there after completion: %v", err)
	}
}

func testCompleteTwice(t *testing.T, s blob.Store) {
	ctx := context.Background()
	data := Payload(10, PartSize+5)
	u, err := s.CreateMultipart(ctx, blob.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	ps := writeParts(t, s, u, data, []int{2, 1})
	for i := range 2 {
		if err := s.CompleteMultipart(ctx, u, ps); err != nil {
			t.Fatalf("CompleteMultipart, call %d: %v", i+1, err)
		}
	}
	same(t, "object completed twice", Read(t, s, u.Key), data)
}

func testAbort(t *testing.T, s blob.Store) {
	ctx := context.Background()
	data := Payload(11, 2*PartSize)
	u, err := s.CreateMultipart(ctx, blob.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	ps := writeParts(t, s, u, data, []int{2, 1})
	if err := s.AbortMultipart(ctx, u, ps); err != nil {
		t.Fatalf("AbortMultipart: %v", err)
	}
	if err := s.AbortMultipart(ctx, u, ps); err != nil {
		t.Errorf("AbortMultipart again: %v, want nil", err)
	}
	if _, err := s.Open(ctx, u.Key); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Open of an aborted upload's key: %v, want ErrNotFound", err)
	}
	var left []string
	_ = s.List(ctx, func(i blob.Info) error { left = append(left, i.Key); return nil })
	if len(left) > 0 {
		t.Errorf("objects left after an abort: %s", strings.Join(left, ", "))
	}
}

func testList(t *testing.T, s blob.Store) {
	ctx := context.Background()
	want := map[string]int64{}
	for i := range 3 {
		key := blob.NewKey()
		data := Payload(uint64(20+i), 1000*(i+1))
		mustPut(t, s, key, data)
		want[key] = int64(len(data))
	}
	got := map[string]int64{}
	before := time.Now().Add(-time.Hour)
	err := s.List(ctx, func(i blob.Info) error {
		got[i.Key] = i.Size
		if i.Modified.Before(before) {
			t.Errorf("%s modified at %v, long before it was written", i.Key, i.Modified)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("List: %s has %d bytes, want %d", k, got[k], n)
		}
	}
}

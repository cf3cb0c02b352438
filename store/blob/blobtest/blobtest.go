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
	t.Run("EmptyObject", func(t *testing.T) { testEmptyObject(t, open(t)) })
	t.Run("PutReplaces", func(t *testing.T) { testPutReplaces(t, open(t)) })
	t.Run("MultipartWithGaps", func(t *testing.T) { testMultipartWithGaps(t, open(t)) })
	t.Run("PartRewrittenWithOtherSize", func(t *testing.T) { testPartRewrittenWithOtherSize(t, open(t)) })
	t.Run("PartOfUnknownLength", func(t *testing.T) { testPartOfUnknownLength(t, open(t)) })
	t.Run("AbortAfterAdopt", func(t *testing.T) { testAbortAfterAdopt(t, open(t)) })
	t.Run("UnfinishedUploadIsListed", func(t *testing.T) { testUnfinishedUploadIsListed(t, open(t)) })
	t.Run("Discard", func(t *testing.T) { testDiscard(t, open(t)) })
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
	if n, err := r.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Errorf("Read at the end = %d, %v; want 0, io.EOF", n, err)
	}
	if _, err := r.Seek(int64(len(data))+100, io.SeekStart); err != nil {
		t.Errorf("Seek past the end: %v", err)
	}
	if n, err := r.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Errorf("Read past the end = %d, %v; want 0, io.EOF", n, err)
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

func testEmptyObject(t *testing.T, s blob.Store) {
	key := blob.NewKey()
	mustPut(t, s, key, nil)
	if got := Read(t, s, key); len(got) != 0 {
		t.Errorf("empty object reads as %d bytes", len(got))
	}
	r, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if n, err := r.Seek(0, io.SeekEnd); err != nil || n != 0 {
		t.Errorf("Seek(0, End) of an empty object = %d, %v; want 0", n, err)
	}
}

// Put replaces the object of its key, whole.
func testPutReplaces(t *testing.T, s blob.Store) {
	key := blob.NewKey()
	mustPut(t, s, key, Payload(30, 100000))
	second := Payload(31, 1000)
	mustPut(t, s, key, second)
	same(t, "object put twice", Read(t, s, key), second)
}

package blobtest

// The multipart half of the contract.

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store/blob"
)

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

// writeAt writes data as part number of u, at off when that is known (-1
// otherwise), and returns the part as CompleteMultipart takes it.
func writeAt(t *testing.T, s blob.Store, u blob.Upload, number int, off int64, data []byte) blob.Part {
	t.Helper()
	p, err := s.WritePart(context.Background(), u, blob.Part{Number: number, Size: int64(len(data)), Offset: off}, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("WritePart(%d): %v", number, err)
	}
	return p
}

// Part numbers may have gaps (package ingest maps byte ranges to numbers):
// the object is the parts in ascending order of number.
func testMultipartWithGaps(t *testing.T, s blob.Store) {
	ctx := context.Background()
	data := Payload(40, 2*PartSize+777)
	u, err := s.CreateMultipart(ctx, blob.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	ps := parts(data)
	numbers := []int{2, 5, 9}
	var written []blob.Part
	for i, n := range numbers {
		p := writeAt(t, s, u, n, int64(i)*PartSize, ps[i])
		p.Offset = int64(i) * PartSize
		written = append(written, p)
	}
	if err := s.CompleteMultipart(ctx, u, written); err != nil {
		t.Fatalf("CompleteMultipart: %v", err)
	}
	same(t, "object of parts 2, 5 and 9", Read(t, s, u.Key), data)
}

// A part sent again may have another length than its first send: the
// write recorded (the last) is the one the object holds.
func testPartRewrittenWithOtherSize(t *testing.T, s blob.Store) {
	ctx := context.Background()
	u, err := s.CreateMultipart(ctx, blob.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	writeAt(t, s, u, 1, 0, Payload(41, PartSize+4096))
	first := Payload(42, PartSize)
	last := Payload(43, 1000)
	p1 := writeAt(t, s, u, 1, 0, first)
	p2 := writeAt(t, s, u, 2, PartSize, last)
	p1.Offset, p2.Offset = 0, PartSize
	if err := s.CompleteMultipart(ctx, u, []blob.Part{p1, p2}); err != nil {
		t.Fatalf("CompleteMultipart: %v", err)
	}
	same(t, "object after part 1 was sent again, shorter", Read(t, s, u.Key), append(first, last...))
}

// A part of unknown length is either written, or refused with
// ErrLengthRequired before a byte is read; then the caller writes it as
// an object of its own and adopts that, as package ingest does.
func testPartOfUnknownLength(t *testing.T, s blob.Store) {
	ctx := context.Background()
	data := Payload(44, PartSize+300)
	ps := parts(data)
	u, err := s.CreateMultipart(ctx, blob.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	p1 := writeAt(t, s, u, 1, 0, ps[0])
	body := bytes.NewReader(ps[1])
	p2, err := s.WritePart(ctx, u, blob.Part{Number: 2, Size: -1, Offset: PartSize}, body)
	if errors.Is(err, blob.ErrLengthRequired) {
		if body.Len() != len(ps[1]) {
			t.Fatalf("WritePart read %d bytes before refusing a part of unknown length", len(ps[1])-body.Len())
		}
		aside := blob.NewKey()
		n, err := s.Put(ctx, aside, -1, body)
		if err != nil || n != int64(len(ps[1])) {
			t.Fatalf("Put(-1) = %d, %v; want %d", n, err, len(ps[1]))
		}
		etag, err := s.AdoptPart(ctx, u, blob.Part{Number: 2, Size: n, Offset: PartSize}, aside)
		if err != nil {
			t.Fatalf("AdoptPart: %v", err)
		}
		p2 = blob.Part{Number: 2, Size: n, ETag: etag}
	} else if err != nil {
		t.Fatalf("WritePart(size -1): %v, want success or ErrLengthRequired", err)
	}
	if p2.Size != int64(len(ps[1])) {
		t.Fatalf("part of unknown length: size %d, want %d", p2.Size, len(ps[1]))
	}
	p1.Offset, p2.Offset = 0, PartSize
	if err := s.CompleteMultipart(ctx, u, []blob.Part{p1, p2}); err != nil {
		t.Fatalf("CompleteMultipart: %v", err)
	}
	same(t, "object with a part of unknown length", Read(t, s, u.Key), data)
}

// An abort removes the objects adopted as parts as well.
func testAbortAfterAdopt(t *testing.T, s blob.Store) {
	ctx := context.Background()
	data := Payload(45, PartSize+10)
	ps := parts(data)
	u, err := s.CreateMultipart(ctx, blob.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	p1 := writeAt(t, s, u, 1, 0, ps[0])
	aside := blob.NewKey()
	mustPut(t, s, aside, ps[1])
	etag, err := s.AdoptPart(ctx, u, blob.Part{Number: 2, Size: int64(len(ps[1])), Offset: PartSize}, aside)
	if err != nil {
		t.Fatalf("AdoptPart: %v", err)
	}
	all := []blob.Part{p1, {Number: 2, Size: int64(len(ps[1])), Offset: PartSize, ETag: etag}}
	if err := s.AbortMultipart(ctx, u, all); err != nil {
		t.Fatalf("AbortMultipart: %v", err)
	}
	if _, err := s.Open(ctx, aside); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("the adopted object is still there after the abort: %v", err)
	}
	var left []string
	if err := s.List(ctx, func(i blob.Info) error { left = append(left, i.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("objects left after an abort: %s", strings.Join(left, ", "))
	}
}

// An upload that is neither completed nor aborted (its request died) is
// listed, by List (a store whose uploads are objects) or by
// ListMultipart, so that its owner can remove it; an aborted one is not.
func testUnfinishedUploadIsListed(t *testing.T, s blob.Store) {
	ctx := context.Background()
	u, err := s.CreateMultipart(ctx, blob.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	writeAt(t, s, u, 1, 0, Payload(46, 1000))
	listed := func() (bool, time.Time) {
		t.Helper()
		var keys []string
		if err := s.List(ctx, func(i blob.Info) error { keys = append(keys, i.Key); return nil }); err != nil {
			t.Fatalf("List: %v", err)
		}
		if slices.Contains(keys, u.Key) {
			return true, time.Time{}
		}
		found, started := false, time.Time{}
		if err := s.ListMultipart(ctx, func(got blob.Upload, at time.Time) error {
			if got == u {
				found, started = true, at
			}
			return nil
		}); err != nil {
			t.Fatalf("ListMultipart: %v", err)
		}
		return found, started
	}
	found, started := listed()
	if !found {
		t.Fatalf("unfinished upload %+v is in neither List nor ListMultipart", u)
	}
	if !started.IsZero() && time.Since(started).Abs() > time.Hour {
		t.Errorf("unfinished upload started at %v, an hour or more from now", started)
	}
	if err := s.AbortMultipart(ctx, u, nil); err != nil {
		t.Fatalf("AbortMultipart: %v", err)
	}
	if found, _ := listed(); found {
		t.Errorf("aborted upload %+v is still listed", u)
	}
}

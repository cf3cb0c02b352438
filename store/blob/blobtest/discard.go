package blobtest

// Discard: what a dead writer of a key left goes, whatever it was.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store/blob"
)

// Discard removes a whole object, and an upload of the key that never
// ended (as a process that died in the middle of a write leaves it), and
// nothing of a longer key that starts with the same characters. A key
// with nothing under it is no error.
func testDiscard(t *testing.T, s blob.Store) {
	ctx := context.Background()
	whole := blob.NewKey()
	mustPut(t, s, whole, Payload(50, 1000))
	if err := s.Discard(ctx, whole); err != nil {
		t.Fatalf("Discard of an object: %v", err)
	}
	if _, err := s.Open(ctx, whole); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Open after Discard: %v, want ErrNotFound", err)
	}
	if err := s.Discard(ctx, blob.NewKey()); err != nil {
		t.Errorf("Discard of a key with nothing under it: %v, want nil", err)
	}

	unended := blob.NewKey()
	u, err := s.CreateMultipart(ctx, unended)
	if err != nil {
		t.Fatal(err)
	}
	writeAt(t, s, u, 1, 0, Payload(51, 1000))
	longer, err := s.CreateMultipart(ctx, unended+"x")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Discard(ctx, unended); err != nil {
		t.Fatalf("Discard of an upload that never ended: %v", err)
	}
	if left(t, s, unended) {
		t.Errorf("the upload of %s is still there after Discard", unended)
	}
	if !left(t, s, longer.Key) {
		t.Errorf("Discard(%s) removed the upload of the longer key %s", unended, longer.Key)
	}
	if err := s.AbortMultipart(ctx, longer, nil); err != nil {
		t.Fatal(err)
	}
}

// left reports whether anything is stored under key: an object, or an
// unfinished upload.
func left(t *testing.T, s blob.Store, key string) bool {
	t.Helper()
	ctx := context.Background()
	found := false
	if err := s.List(ctx, func(i blob.Info) error {
		found = found || i.Key == key
		return nil
	}); err != nil {
		t.Fatalf("List: %v", err)
	}
	if err := s.ListMultipart(ctx, func(u blob.Upload, _ time.Time) error {
		found = found || u.Key == key
		return nil
	}); err != nil {
		t.Fatalf("ListMultipart: %v", err)
	}
	return found
}

package blob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/store/blob/blobtest"
)

func newDir(t *testing.T) (*blob.Dir, string) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "blobs")
	d, err := blob.NewDir(root)
	if err != nil {
		t.Fatalf("NewDir: %v", err)
	}
	return d, root
}

// TestDirContract runs the blob store contract on a local directory.
func TestDirContract(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		d, _ := newDir(t)
		return d
	})
}

// files lists the files under root, by name.
func files(t *testing.T, root string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			names = append(names, e.Name())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// Parts whose offsets are known are written into the object's file in
// place: nothing is written anywhere else, and completing copies nothing.
func TestPartsInOrderAreWrittenInPlace(t *testing.T) {
	ctx := context.Background()
	d, root := newDir(t)
	data := blobtest.Payload(1, 2*blobtest.PartSize+99)
	u, err := d.CreateMultipart(ctx, blob.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	var ps []blob.Part
	for i, off := 0, int64(0); off < int64(len(data)); i++ {
		end := min(off+blobtest.PartSize, int64(len(data)))
		p, err := d.WritePart(ctx, u, blob.Part{Number: i + 1, Size: end - off, Offset: off}, bytes.NewReader(data[off:end]))
		if err != nil {
			t.Fatalf("WritePart(%d): %v", i+1, err)
		}
		if p.ETag != "" {
			t.Errorf("part %d has ETag %q, want none: written in place", i+1, p.ETag)
		}
		ps = append(ps, blob.Part{Number: i + 1, Size: end - off, Offset: off})
		off = end
	}
	if got := files(t, root); len(got) != 1 || got[0] != u.Key {
		t.Errorf("files = %v, want only the object %s", got, u.Key)
	}
	if err := d.CompleteMultipart(ctx, u, ps); err != nil {
		t.Fatalf("CompleteMultipart: %v", err)
	}
	if got := blobtest.Read(t, d, u.Key); !bytes.Equal(got, data) {
		t.Errorf("object differs from the parts written")
	}
}

// A write cut off midway (a crash, a client gone) leaves debris where its
// part goes, or past the end; the part written again, and completion,
// leave exactly the recorded parts.
func TestDebrisOfAnInterruptedWrite(t *testing.T) {
	ctx := context.Background()
	d, _ := newDir(t)
	data := blobtest.Payload(2, blobtest.PartSize+1000)
	u, err := d.CreateMultipart(ctx, blob.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	cut := errors.New("client went away")
	// The last part is cut off after 600 of its 1000 bytes, and then some
	// debris lands past the end of the object.
	last := blob.Part{Number: 2, Size: 1000, Offset: blobtest.PartSize}
	if _, err := d.WritePart(ctx, u, last, io.MultiReader(bytes.NewReader(data[blobtest.PartSize:blobtest.PartSize+600]), errReader{cut})); !errors.Is(err, cut) {
		t.Fatalf("cut-off WritePart: %v, want %v", err, cut)
	}
	if _, err := d.WritePart(ctx, u, blob.Part{Number: 3, Size: 4096, Offset: blobtest.PartSize + 1000}, bytes.NewReader(make([]byte, 4096))); err != nil {
		t.Fatalf("debris write: %v", err)
	}
	ps := []blob.Part{{Number: 1, Size: blobtest.PartSize, Offset: 0}, {Number: 2, Size: 1000, Offset: blobtest.PartSize}}
	for _, p := range ps {
		if _, err := d.WritePart(ctx, u, p, bytes.NewReader(data[p.Offset:p.Offset+p.Size])); err != nil {
			t.Fatalf("WritePart(%d): %v", p.Number, err)
		}
	}
	if err := d.CompleteMultipart(ctx, u, ps); err != nil {
		t.Fatalf("CompleteMultipart: %v", err)
	}
	if got := blobtest.Read(t, d, u.Key); !bytes.Equal(got, data) {
		t.Errorf("object = %d bytes that differ from the %d recorded", len(got), len(data))
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// A part of unknown length (size -1) is written whole.
func TestPartOfUnknownLength(t *testing.T) {
	ctx := context.Background()
	d, _ := newDir(t)
	data := blobtest.Payload(3, blobtest.PartSize+3)
	u, err := d.CreateMultipart(ctx, blob.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	var ps []blob.Part
	for i, off := range []int64{0, blobtest.PartSize} {
		end := min(off+blobtest.PartSize, int64(len(data)))
		known := off
		if i == 1 {
			known = -1 // Written aside, as a part out of order.
		}
		p, err := d.WritePart(ctx, u, blob.Part{Number: i + 1, Size: -1, Offset: known}, bytes.NewReader(data[off:end]))
		if err != nil || p.Size != end-off {
			t.Fatalf("WritePart(%d) = %+v, %v; want size %d", i+1, p, err, end-off)
		}
		ps = append(ps, p)
	}
	if err := d.CompleteMultipart(ctx, u, ps); err != nil {
		t.Fatalf("CompleteMultipart: %v", err)
	}
	if got := blobtest.Read(t, d, u.Key); !bytes.Equal(got, data) {
		t.Errorf("object differs from the parts written")
	}
}

func TestWriteStopsWhenContextIsDone(t *testing.T) {
	d, _ := newDir(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.Put(ctx, blob.NewKey(), 10, strings.NewReader("0123456789")); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with a done context: %v, want context.Canceled", err)
	}
}

// Keys name files, so a key that could name a path outside the root is
// refused by every method before it touches the disk.
func TestInvalidKeysAreRefused(t *testing.T) {
	ctx := context.Background()
	parent := t.TempDir()
	root := filepath.Join(parent, "blobs")
	d, err := blob.NewDir(root)
	if err != nil {
		t.Fatalf("NewDir: %v", err)
	}
	if err := os.WriteFile(filepath.Join(parent, "victim"), []byte("keep me"), 0o600); err != nil {
		t.Fatalf("write victim: %v", err)
	}
	for _, key := range []string{
		"", "ab", "../victim", "..", "../../etc/passwd", "ab/cd", "ab\\cd", "/abs", "ab cd", "abc.", "abc\x00",
		strings.Repeat("a", 65),
	} {
		t.Run(key, func(t *testing.T) {
			if _, err := d.Put(ctx, key, 1, strings.NewReader("x")); err == nil {
				t.Errorf("Put(%q) succeeded", key)
			}
			if r, err := d.Open(ctx, key); err == nil {
				r.Close()
				t.Errorf("Open(%q) succeeded", key)
			}
			if err := d.Delete(ctx, key); err == nil {
				t.Errorf("Delete(%q) succeeded", key)
			}
			if _, err := d.CreateMultipart(ctx, key); err == nil {
				t.Errorf("CreateMultipart(%q) succeeded", key)
			}
			if _, err := d.AdoptPart(ctx, blob.Upload{Key: "abcdef", ID: "abcdef"}, blob.Part{Number: 1}, key); err == nil {
				t.Errorf("AdoptPart(%q) succeeded", key)
			}
		})
	}
	b, err := os.ReadFile(filepath.Join(parent, "victim"))
	if err != nil || string(b) != "keep me" {
		t.Errorf("file outside the root = %q, %v; want it untouched", b, err)
	}
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatalf("ReadDir: %v", err)
	}
	if got, want := len(entries), 2; got != want {
		t.Errorf("entries next to the root = %d, want %d (root and victim)", got, want)
	}
}

func TestNewKeyIsValidAndFresh(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		k := blob.NewKey()
		if seen[k] || !blob.ValidKey(k) || len(k) != 26 {
			t.Fatalf("NewKey = %q: repeated, invalid or not 26 characters", k)
		}
		seen[k] = true
	}
}

// Exact hands out exactly the announced bytes, and holds back the last
// one until the reader under it has ended.
func TestExact(t *testing.T) {
	for _, tt := range []struct {
		description string
		data        string
		size        int64
		want        error
	}{
		{"exactly the size", "hello", 5, nil},
		{"one byte short", "hell", 5, blob.ErrLength},
		{"one byte over", "hello!", 5, blob.ErrLength},
		{"empty and expected empty", "", 0, nil},
		{"unknown size", "anything", -1, nil},
	} {
		t.Run(tt.description, func(t *testing.T) {
			got, err := io.ReadAll(blob.Exact(&oneByteReader{s: tt.data}, tt.size))
			if !errors.Is(err, tt.want) {
				t.Fatalf("ReadAll = %q, %v; want error %v", got, err, tt.want)
			}
			if tt.want == nil && string(got) != tt.data {
				t.Errorf("ReadAll = %q, want %q", got, tt.data)
			}
			if tt.want != nil && int64(len(got)) >= tt.size {
				t.Errorf("handed out %d bytes of a body of the wrong length; the last must be held back", len(got))
			}
		})
	}
}

// oneByteReader returns its bytes one per Read, and io.EOF on its own.
type oneByteReader struct{ s string }

func (r *oneByteReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	p[0] = r.s[0]
	r.s = r.s[1:]
	return 1, nil
}

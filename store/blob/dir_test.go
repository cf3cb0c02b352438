package blob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/uplink-video/uplink/store/blob"
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

// content reads a whole object, or returns "<missing>".
func content(t *testing.T, d *blob.Dir, key string) string {
	t.Helper()
	r, err := d.Open(context.Background(), key)
	if errors.Is(err, blob.ErrNotFound) {
		return "<missing>"
	}
	if err != nil {
		t.Fatalf("Open(%s): %v", key, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return string(b)
}

func mustAppend(t *testing.T, d *blob.Dir, key string, off int64, s string) {
	t.Helper()
	n, err := d.Append(context.Background(), key, off, strings.NewReader(s))
	if err != nil {
		t.Fatalf("Append(%s, %d, %q): %v", key, off, s, err)
	}
	if got, want := n, int64(len(s)); got != want {
		t.Fatalf("Append(%s, %d, %q) wrote %d bytes, want %d", key, off, s, got, want)
	}
}

func TestAppend(t *testing.T) {
	for _, tt := range []struct {
		description string
		before      string // "<missing>" for no object
		off         int64
		data        string
		wantN       int64
		wantErr     error
		after       string
	}{
		{
			description: "creates a missing object",
			before:      "<missing>",
			off:         0,
			data:        "hello",
			wantN:       5,
			after:       "hello",
		},
		{
			description: "appends at the recorded length",
			before:      "hello",
			off:         5,
			data:        " world",
			wantN:       6,
			after:       "hello world",
		},
		{
			description: "drops the debris past the recorded length first",
			before:      "hello-debris",
			off:         5,
			data:        "!",
			wantN:       1,
			after:       "hello!",
		},
		{
			description: "rewrites from 0 over debris",
			before:      "debris",
			off:         0,
			data:        "new",
			wantN:       3,
			after:       "new",
		},
		{
			description: "an empty append only cuts the debris",
			before:      "hello-debris",
			off:         5,
			data:        "",
			wantN:       0,
			after:       "hello",
		},
		{
			description: "refuses an object shorter than the recorded length, and leaves it alone",
			before:      "hel",
			off:         5,
			data:        "lo",
			wantErr:     blob.ErrCorrupt,
			after:       "hel",
		},
	} {
		t.Run(tt.description, func(t *testing.T) {
			d, _ := newDir(t)
			key := blob.NewKey()
			if tt.before != "<missing>" {
				mustAppend(t, d, key, 0, tt.before)
			}
			n, err := d.Append(context.Background(), key, tt.off, strings.NewReader(tt.data))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("Append error = %v, want %v", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatalf("Append: %v", err)
			} else if got, want := n, tt.wantN; got != want {
				t.Errorf("Append wrote %d bytes, want %d", got, want)
			}
			if got, want := content(t, d, key), tt.after; got != want {
				t.Errorf("object = %q, want %q", got, want)
			}
		})
	}
}

func TestAppendToMissingObjectAtOffsetIsCorrupt(t *testing.T) {
	d, _ := newDir(t)
	_, err := d.Append(context.Background(), blob.NewKey(), 10, strings.NewReader("x"))
	if got, want := err, blob.ErrCorrupt; !errors.Is(got, want) {
		t.Errorf("Append(missing, 10) error = %v, want %v", got, want)
	}
}

// failingReader yields n bytes, then fails with err.
type failingReader struct {
	n   int
	err error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, r.err
	}
	k := min(len(p), r.n)
	for i := range p[:k] {
		p[i] = 'x'
	}
	r.n -= k
	return k, nil
}

// A write that fails midway leaves the object exactly at its recorded
// length: no partial piece and no debris. The error says why, and a full
// disk is recognisable as ErrNoSpace whatever layer reported it.
func TestAppendFailureLeavesObjectAtOffset(t *testing.T) {
	for _, tt := range []struct {
		description string
		err         error
		wantNoSpace bool
	}{
		{"disk full", syscall.ENOSPC, true},
		{"disk full, wrapped in a PathError", &fs.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}, true},
		{"quota exhausted", syscall.EDQUOT, true},
		{"I/O error", syscall.EIO, false},
		{"client went away", io.ErrUnexpectedEOF, false},
	} {
		t.Run(tt.description, func(t *testing.T) {
			d, _ := newDir(t)
			key := blob.NewKey()
			mustAppend(t, d, key, 0, "hello-debris")
			// More than one copy buffer, so that bytes reach the file
			// before the failure.
			n, err := d.Append(context.Background(), key, 5, &failingReader{n: 3 << 20, err: tt.err})
			if err == nil {
				t.Fatalf("Append succeeded, want an error")
			}
			if got, want := n, int64(0); got != want {
				t.Errorf("Append reported %d bytes written, want %d", got, want)
			}
			if got, want := errors.Is(err, blob.ErrNoSpace), tt.wantNoSpace; got != want {
				t.Errorf("errors.Is(%v, ErrNoSpace) = %v, want %v", err, got, want)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("error %v does not wrap the cause %v", err, tt.err)
			}
			if got, want := content(t, d, key), "hello"; got != want {
				t.Errorf("object = %q (%d bytes), want %q", clip(got), len(got), want)
			}
		})
	}
}

func TestAppendStopsWhenContextIsDone(t *testing.T) {
	d, _ := newDir(t)
	key := blob.NewKey()
	mustAppend(t, d, key, 0, "hello")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := d.Append(ctx, key, 5, strings.NewReader("more"))
	if got, want := err, context.Canceled; !errors.Is(got, want) {
		t.Errorf("Append error = %v, want %v", got, want)
	}
	if got, want := content(t, d, key), "hello"; got != want {
		t.Errorf("object = %q, want %q", got, want)
	}
}

// Moving a staged piece into a source appends from a file that Open
// returned; that takes a different copy path (the kernel copies), which
// must honour the offset and drop debris too.
func TestAppendFromAnOpenedObject(t *testing.T) {
	ctx := context.Background()
	d, _ := newDir(t)
	src, dst := blob.NewKey(), blob.NewKey()
	piece := bytes.Repeat([]byte("0123456789"), 300_000)
	if _, err := d.Append(ctx, src, 0, bytes.NewReader(piece)); err != nil {
		t.Fatalf("Append(src): %v", err)
	}
	mustAppend(t, d, dst, 0, "head-debris")
	r, err := d.Open(ctx, src)
	if err != nil {
		t.Fatalf("Open(src): %v", err)
	}
	defer r.Close()
	n, err := d.Append(ctx, dst, 4, r)
	if err != nil {
		t.Fatalf("Append(dst, 4, src): %v", err)
	}
	if got, want := n, int64(len(piece)); got != want {
		t.Errorf("Append wrote %d bytes, want %d", got, want)
	}
	if got, want := content(t, d, dst), "head"+string(piece); got != want {
		t.Errorf("dst = %q… (%d bytes), want %q… (%d bytes)", clip(got), len(got), clip(want), len(want))
	}
}

func TestOpenAndSeek(t *testing.T) {
	ctx := context.Background()
	d, _ := newDir(t)
	key := blob.NewKey()
	mustAppend(t, d, key, 0, "hello world")
	r, err := d.Open(ctx, key)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer r.Close()
	size, err := r.Seek(0, io.SeekEnd)
	if err != nil {
		t.Fatalf("Seek(end): %v", err)
	}
	if got, want := size, int64(11); got != want {
		t.Errorf("size = %d, want %d", got, want)
	}
	if _, err := r.Seek(6, io.SeekStart); err != nil {
		t.Fatalf("Seek(6): %v", err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	if got, want := string(b), "world"; got != want {
		t.Errorf("read after Seek(6) = %q, want %q", got, want)
	}

	if _, err := d.Open(ctx, blob.NewKey()); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Open(missing) error = %v, want ErrNotFound", err)
	}
}

func TestTruncate(t *testing.T) {
	for _, tt := range []struct {
		description string
		size        int64
		want        string
	}{
		{"cuts to a shorter size", 5, "hello"},
		{"cuts to empty", 0, ""},
		{"the same size is a no-op", 11, "hello world"},
		{"never grows an object", 100, "hello world"},
	} {
		t.Run(tt.description, func(t *testing.T) {
			d, _ := newDir(t)
			key := blob.NewKey()
			mustAppend(t, d, key, 0, "hello world")
			if err := d.Truncate(context.Background(), key, tt.size); err != nil {
				t.Fatalf("Truncate(%d): %v", tt.size, err)
			}
			if got, want := content(t, d, key), tt.want; got != want {
				t.Errorf("object = %q, want %q", got, want)
			}
		})
	}
	d, _ := newDir(t)
	if err := d.Truncate(context.Background(), blob.NewKey(), 0); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Truncate(missing) error = %v, want ErrNotFound", err)
	}
}

func TestDelete(t *testing.T) {
	ctx := context.Background()
	d, _ := newDir(t)
	key, other := blob.NewKey(), blob.NewKey()
	mustAppend(t, d, key, 0, "x")
	mustAppend(t, d, other, 0, "y")
	if err := d.Delete(ctx, key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if got, want := content(t, d, key), "<missing>"; got != want {
		t.Errorf("deleted object = %q, want %q", got, want)
	}
	if got, want := content(t, d, other), "y"; got != want {
		t.Errorf("other object = %q, want %q", got, want)
	}
	if err := d.Delete(ctx, key); err != nil {
		t.Errorf("Delete(already deleted) = %v, want nil", err)
	}
	if err := d.Delete(ctx, blob.NewKey()); err != nil {
		t.Errorf("Delete(never created) = %v, want nil", err)
	}
}

// List reports exactly the objects: every key once, and no file that is
// not an object (stray files in the root or in a fan-out directory).
func TestList(t *testing.T) {
	ctx := context.Background()
	d, root := newDir(t)
	var want []string
	for range 20 {
		k := blob.NewKey()
		mustAppend(t, d, k, 0, k)
		want = append(want, k)
	}
	// Keys sharing their first two characters share a directory.
	for _, k := range []string{"AAone", "AAtwo", "ABC"} {
		mustAppend(t, d, k, 0, k)
		want = append(want, k)
	}
	gone := blob.NewKey()
	mustAppend(t, d, gone, 0, "x")
	if err := d.Delete(ctx, gone); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	for _, stray := range []string{
		filepath.Join(root, "README"),
		filepath.Join(root, "AA", "AAone.swp"),
		filepath.Join(root, "AA", "ZZnotmine"),
	} {
		if err := os.WriteFile(stray, []byte("stray"), 0o600); err != nil {
			t.Fatalf("write stray file: %v", err)
		}
	}

	var got []string
	if err := d.List(ctx, func(k string) error { got = append(got, k); return nil }); err != nil {
		t.Fatalf("List: %v", err)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("List =\n%v\nwant\n%v", got, want)
	}

	stop := errors.New("stop")
	calls := 0
	err := d.List(ctx, func(string) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("List with a failing callback: error = %v after %d calls, want %v after 1", err, calls, stop)
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
		"",
		"ab",
		"../victim",
		"..",
		"../../etc/passwd",
		"ab/cd",
		"ab\\cd",
		"/abs",
		"ab cd",
		"abc.",
		"abc\x00",
		strings.Repeat("a", 65),
	} {
		t.Run(key, func(t *testing.T) {
			if _, err := d.Append(ctx, key, 0, strings.NewReader("x")); err == nil {
				t.Errorf("Append(%q) succeeded", key)
			}
			if r, err := d.Open(ctx, key); err == nil {
				r.Close()
				t.Errorf("Open(%q) succeeded", key)
			}
			if err := d.Truncate(ctx, key, 0); err == nil {
				t.Errorf("Truncate(%q) succeeded", key)
			}
			if err := d.Delete(ctx, key); err == nil {
				t.Errorf("Delete(%q) succeeded", key)
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
	ctx := context.Background()
	d, _ := newDir(t)
	seen := map[string]bool{}
	for range 1000 {
		k := blob.NewKey()
		if seen[k] {
			t.Fatalf("NewKey repeated %s", k)
		}
		seen[k] = true
	}
	k := blob.NewKey()
	if got, want := len(k), 26; got != want {
		t.Errorf("len(NewKey()) = %d, want %d", got, want)
	}
	if _, err := d.Append(ctx, k, 0, strings.NewReader("x")); err != nil {
		t.Errorf("Append(NewKey()): %v", err)
	}
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40]
	}
	return s
}

package blob

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// Dir stores each object as a file under a root directory, fanned out by
// the first two characters of the key.
type Dir struct {
	root string
	// bufs holds copy buffers. A 1 MiB buffer turns a part into a few
	// hundred large writes instead of tens of thousands of 32 KiB ones.
	bufs sync.Pool
}

var _ Store = (*Dir)(nil)

// copyBufferSize is the size of the buffers used to copy into files.
const copyBufferSize = 1 << 20

// NewDir returns a Dir rooted at root, creating it if needed.
func NewDir(root string) (*Dir, error) {
	if err := os.MkdirAll(root, 0o750); err != nil {
		return nil, fmt.Errorf("blob: create %s: %w", root, err)
	}
	d := &Dir{root: root}
	d.bufs.New = func() any { b := make([]byte, copyBufferSize); return &b }
	return d, nil
}

// NewKey returns a fresh random object key: 26 base32 characters, 128 bits
// from crypto/rand.
func NewKey() string { return rand.Text() }

// validKey reports whether key is one NewKey could have made. Checking it
// keeps keys from ever naming a path outside the root.
func validKey(key string) bool {
	if len(key) < 3 || len(key) > 64 {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

func (d *Dir) path(key string) (string, error) {
	if !validKey(key) {
		return "", fmt.Errorf("blob: invalid key %q", key)
	}
	return filepath.Join(d.root, key[:2], key), nil
}

// Append implements Store.
func (d *Dir) Append(ctx context.Context, key string, off int64, r io.Reader) (int64, error) {
	p, err := d.path(key)
	if err != nil {
		return 0, err
	}
	created, err := d.ensureParent(p)
	if err != nil {
		return 0, wrapErr("append", key, err)
	}
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return 0, wrapErr("append", key, err)
	}
	n, err := d.appendFile(ctx, f, off, r)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err == nil && (created || off == 0) {
		// A new file is durable only once its directory entry is.
		err = syncDir(filepath.Dir(p))
	}
	if err != nil {
		return 0, wrapErr("append", key, err)
	}
	return n, nil
}

func (d *Dir) appendFile(ctx context.Context, f *os.File, off int64, r io.Reader) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if st.Size() < off {
		return 0, fmt.Errorf("%w: %d bytes, want %d", ErrCorrupt, st.Size(), off)
	}
	if st.Size() > off {
		if err := f.Truncate(off); err != nil {
			return 0, err
		}
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return 0, err
	}
	n, err := d.copy(ctx, f, r)
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		// Cut the partial write off so the object is exactly as it was.
		if terr := f.Truncate(off); terr == nil {
			_ = f.Sync()
		}
		return 0, err
	}
	return n, nil
}

// copy streams r into f. When r is itself a file (moving a staged piece
// into a source), the kernel copies the bytes without them passing through
// user space.
func (d *Dir) copy(ctx context.Context, f *os.File, r io.Reader) (int64, error) {
	if src, ok := r.(*os.File); ok {
		return f.ReadFrom(src)
	}
	bp := d.bufs.Get().(*[]byte)
	defer d.bufs.Put(bp)
	// Hiding f's ReadFrom makes io.CopyBuffer use our large buffer instead
	// of os.File's generic 32 KiB fallback.
	return io.CopyBuffer(writerOnly{f}, ctxReader{ctx, r}, *bp)
}

type writerOnly struct{ io.Writer }

// ctxReader stops a copy once its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// ensureParent creates the fan-out directory of p if needed and reports
// whether it did.
func (d *Dir) ensureParent(p string) (bool, error) {
	dir := filepath.Dir(p)
	if _, err := os.Stat(dir); err == nil {
		return false, nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return false, err
	}
	return true, syncDir(d.root)
}

// Open implements Store.
func (d *Dir) Open(ctx context.Context, key string) (io.ReadSeekCloser, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, wrapErr("open", key, err)
	}
	return f, nil
}

// Truncate implements Store.
func (d *Dir) Truncate(ctx context.Context, key string, size int64) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return wrapErr("truncate", key, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return wrapErr("truncate", key, err)
	}
	if st.Size() <= size {
		return nil
	}
	if err := f.Truncate(size); err != nil {
		return wrapErr("truncate", key, err)
	}
	return wrapErr("truncate", key, f.Sync())
}

// Delete implements Store.
func (d *Dir) Delete(ctx context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return wrapErr("delete", key, err)
	}
	return nil
}

// List implements Store. Files whose names are not valid keys (editor
// backups, say) are skipped rather than reported.
func (d *Dir) List(ctx context.Context, fn func(key string) error) error {
	return filepath.WalkDir(d.root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.IsDir() || !validKey(e.Name()) || !strings.HasPrefix(e.Name(), filepath.Base(filepath.Dir(p))) {
			return nil
		}
		return fn(e.Name())
	})
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// wrapErr adds context and maps OS errors onto the package's sentinels.
func wrapErr(op, key string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("blob: %s %s: %w", op, key, ErrNotFound)
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("blob: %s %s: %w (%w)", op, key, ErrNoSpace, err)
	}
	return fmt.Errorf("blob: %s %s: %w", op, key, err)
}

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
	"syscall"
)

// Dir stores each object as a file under a root directory, fanned out by
// the first two characters of the key.
type Dir struct {
	root string
	// bufs holds idle copy buffers. A 1 MiB buffer, filled before it is
	// written, turns a 16 MiB part into 16 writes. It is a free list
	// rather than a sync.Pool: a pool drops its buffers at every other
	// garbage collection, and allocating them again makes the heap, and
	// so the server's RSS, creep up during a long upload.
	bufs chan *[]byte
}

var _ Store = (*Dir)(nil)

// copyBufferSize is the size of the buffers used to copy into files.
const copyBufferSize = 1 << 20

// idleBuffers is how many copy buffers are kept between appends; more
// appends at once allocate more, which are dropped after use.
const idleBuffers = 4

// NewDir returns a Dir rooted at root, creating it if needed.
func NewDir(root string) (*Dir, error) {
	if err := os.MkdirAll(root, 0o750); err != nil {
		return nil, fmt.Errorf("blob: create %s: %w", root, err)
	}
	d := &Dir{root: root, bufs: make(chan *[]byte, idleBuffers)}
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
	n, err := d.copy(ctx, f, off, r)
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

// copy streams r into f, which is positioned at off. When r is itself a
// file (moving a staged piece into a source), the kernel copies the bytes
// without them passing through user space.
//
// Otherwise each buffer is filled before it is written: request bodies
// hand out a few KiB per Read (a multipart part never more than 4 KiB),
// and writing what each Read returns would cost hundreds of thousands of
// small write calls per GiB. While the bytes arrive, the kernel is asked
// to start writing them out (startWriteback), so that the fsync ending
// the append finds little left to do: the disk works while the network
// does, instead of after it.
func (d *Dir) copy(ctx context.Context, f *os.File, off int64, r io.Reader) (int64, error) {
	if src, ok := r.(*os.File); ok {
		return f.ReadFrom(src)
	}
	bp := d.getBuffer()
	defer d.putBuffer(bp)
	buf := *bp
	r = ctxReader{ctx, r}
	var written, flushed int64
	for {
		n, rerr := fill(r, buf)
		if n > 0 {
			if _, err := f.Write(buf[:n]); err != nil {
				return written, err
			}
			written += int64(n)
			if written-flushed >= writebackEvery {
				startWriteback(f, off+flushed, written-flushed)
				flushed = written
			}
		}
		switch {
		case rerr == io.EOF:
			return written, nil
		case rerr != nil:
			return written, rerr
		}
	}
}

// getBuffer returns an idle copy buffer, or a new one.
func (d *Dir) getBuffer() *[]byte {
	select {
	case b := <-d.bufs:
		return b
	default:
		b := make([]byte, copyBufferSize)
		return &b
	}
}

// putBuffer keeps b for the next append, unless enough are idle.
func (d *Dir) putBuffer(b *[]byte) {
	select {
	case d.bufs <- b:
	default:
	}
}

// writebackEvery is how many bytes an append writes between requests to
// the kernel to start writing them out.
const writebackEvery = 2 << 20

// fill reads from r until buf is full or r returns an error (io.EOF at
// its end), and returns the number of bytes read.
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

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

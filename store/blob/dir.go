package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Dir stores each object as a file under a root directory, fanned out by
// the first two characters of the key.
//
// A multipart upload is built in the file of its object, so that a part
// whose offset is known is written straight into place, once: in the usual
// case (parts in order) every byte of an upload is written to disk exactly
// once, and completing it costs an fsync. A part whose offset is not known
// yet is written to an object of its own, named by its ETag, and copied in
// by CompleteMultipart. The upload's ID is its key.
//
// Until it completes, an upload's file holds whatever its parts' writes
// left, including the debris of writes a crash interrupted; readers see it
// only once the metadata store records it complete.
type Dir struct {
	root string
	// bufs holds idle copy buffers. A buffer, filled before it is
	// written, turns a 16 MiB part into a few dozen writes. It is a free
	// list rather than a sync.Pool: a pool drops its buffers at every
	// other garbage collection, and allocating them again makes the heap,
	// and so the server's RSS, creep up during a long upload.
	bufs chan *[]byte
}

var _ Store = (*Dir)(nil)

// copyBufferSize is the size of the buffers used to copy into files.
const copyBufferSize = 512 << 10

// idleBuffers is how many copy buffers are kept between writes; more
// writes at once allocate more, which are dropped after use.
const idleBuffers = 4

// NewDir returns a Dir rooted at root, creating it if needed.
func NewDir(root string) (*Dir, error) {
	if err := os.MkdirAll(root, 0o750); err != nil {
		return nil, fmt.Errorf("blob: create %s: %w", root, err)
	}
	return &Dir{root: root, bufs: make(chan *[]byte, idleBuffers)}, nil
}

func (d *Dir) path(key string) (string, error) {
	if !ValidKey(key) {
		return "", fmt.Errorf("blob: invalid key %q", key)
	}
	return filepath.Join(d.root, key[:2], key), nil
}

// Put implements Objects. The object is written under its own name: until
// Put returns, a reader may see part of it, which is why the metadata
// store records an object only once Put has returned.
func (d *Dir) Put(ctx context.Context, key string, size int64, r io.Reader) (int64, error) {
	p, err := d.path(key)
	if err != nil {
		return 0, err
	}
	if err := d.ensureParent(p); err != nil {
		return 0, wrapErr("put", key, err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return 0, wrapErr("put", key, err)
	}
	n, err := d.write(ctx, f, 0, size, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// A new file is durable only once its directory entry is.
		err = syncDir(filepath.Dir(p))
	}
	if err != nil {
		_ = os.Remove(p)
		return 0, wrapErr("put", key, err)
	}
	return n, nil
}

// write copies size bytes of r (all of them when size is -1) into f at
// off, makes them durable, and returns how many it wrote.
func (d *Dir) write(ctx context.Context, f *os.File, off, size int64, r io.Reader) (int64, error) {
	n, err := d.copy(ctx, f, off, Exact(r, size))
	if err == nil && size >= 0 && n != size {
		err = fmt.Errorf("%w: wrote %d of %d bytes", ErrLength, n, size)
	}
	if err != nil {
		return n, err
	}
	return n, f.Sync()
}

// copy streams r into f from off. When r is itself a file (a staged part
// copied into place), the kernel copies the bytes without them passing
// through user space.
//
// Otherwise each buffer is filled before it is written: request bodies
// hand out a few KiB per Read, and writing what each Read returns would
// cost hundreds of thousands of small write calls per GiB. While the bytes
// arrive, the kernel is asked to start writing them out (startWriteback),
// so that the fsync ending the write finds little left to do: the disk
// works while the network does, instead of after it.
func (d *Dir) copy(ctx context.Context, f *os.File, off int64, r io.Reader) (int64, error) {
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return 0, err
	}
	if lr, ok := r.(*io.LimitedReader); ok {
		if _, isFile := lr.R.(*os.File); isFile {
			return f.ReadFrom(lr)
		}
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

// putBuffer keeps b for the next write, unless enough are idle.
func (d *Dir) putBuffer(b *[]byte) {
	select {
	case d.bufs <- b:
	default:
	}
}

// writebackEvery is how many bytes a write copies between requests to the
// kernel to start writing them out.
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

// ensureParent creates the fan-out directory of p if needed, durably.
func (d *Dir) ensureParent(p string) error {
	dir := filepath.Dir(p)
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	return syncDir(d.root)
}

// Open implements Objects.
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

// Delete implements Objects.
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

// Discard implements Objects. A write to a Dir, ended or not, is the
// object's own file, which Delete removes.
func (d *Dir) Discard(ctx context.Context, key string) error {
	return d.Delete(ctx, key)
}

// List implements Objects. Files whose names are not valid keys (editor
// backups, say) are skipped rather than reported.
func (d *Dir) List(ctx context.Context, fn func(Info) error) error {
	return filepath.WalkDir(d.root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.IsDir() || !ValidKey(e.Name()) || !strings.HasPrefix(e.Name(), filepath.Base(filepath.Dir(p))) {
			return nil
		}
		st, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // Deleted since the directory was read.
		}
		if err != nil {
			return err
		}
		return fn(Info{Key: e.Name(), Size: st.Size(), Modified: st.ModTime()})
	})
}

// CreateMultipart implements Multipart: it creates the object's file,
// empty, and returns the key as the upload's ID.
func (d *Dir) CreateMultipart(ctx context.Context, key string) (Upload, error) {
	p, err := d.path(key)
	if err != nil {
		return Upload{}, err
	}
	if err := d.ensureParent(p); err != nil {
		return Upload{}, wrapErr("create", key, err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return Upload{}, wrapErr("create", key, err)
	}
	if err := f.Close(); err != nil {
		return Upload{}, wrapErr("create", key, err)
	}
	if err := syncDir(filepath.Dir(p)); err != nil {
		return Upload{}, wrapErr("create", key, err)
	}
	return Upload{Key: key, ID: key}, nil
}

// WritePart implements Multipart. A part with a known offset is written in
// place and gets the empty ETag; any other is written to an object of its
// own, whose key is its ETag. It takes parts of unknown length.
func (d *Dir) WritePart(ctx context.Context, u Upload, part Part, r io.Reader) (Part, error) {
	if part.Offset < 0 {
		key := NewKey()
		n, err := d.Put(ctx, key, part.Size, r)
		if err != nil {
			return Part{}, err
		}
		part.Size, part.ETag = n, key
		return part, nil
	}
	p, err := d.path(u.Key)
	if err != nil {
		return Part{}, err
	}
	// The file exists from CreateMultipart on; a missing one means the
	// upload was aborted.
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		return Part{}, wrapErr("write part of", u.Key, err)
	}
	n, err := d.write(ctx, f, part.Offset, part.Size, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Part{}, wrapErr("write part of", u.Key, err)
	}
	part.Size, part.ETag = n, ""
	return part, nil
}

// OpenPart implements PartOpener: a part written in place is read from
// the object's file, and one written aside from its own object.
func (d *Dir) OpenPart(ctx context.Context, u Upload, part Part) (io.ReadCloser, error) {
	key, off := u.Key, part.Offset
	if part.ETag != "" {
		key, off = part.ETag, 0
	}
	r, err := d.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	if _, err := r.Seek(off, io.SeekStart); err != nil {
		r.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(r, part.Size), r}, nil
}

// AdoptPart implements Multipart: the object itself becomes the part,
// without a copy, until CompleteMultipart copies it into place.
func (d *Dir) AdoptPart(ctx context.Context, u Upload, part Part, src string) (string, error) {
	if !ValidKey(src) {
		return "", fmt.Errorf("blob: invalid key %q", src)
	}
	return src, nil
}

// CompleteMultipart implements Multipart. It copies the parts that wait in
// objects of their own into place, cuts the file to the parts' total
// length (dropping debris past the end), makes it durable, and only then
// deletes the copied objects. A part object missing on a second call was
// copied in by the first, which deleted it only after the file was
// durable. Two calls at once are safe too: a part object is deleted only
// after the fsync of the call that deleted it, so a call that finds it
// missing finds its bytes in place and durable.
func (d *Dir) CompleteMultipart(ctx context.Context, u Upload, parts []Part) error {
	p, err := d.path(u.Key)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return wrapErr("complete", u.Key, err)
	}
	defer f.Close()
	var (
		off    int64
		staged []string
	)
	for _, part := range parts {
		if part.ETag != "" {
			if err := d.copyIn(ctx, f, off, part); err != nil {
				return wrapErr("complete", u.Key, err)
			}
			staged = append(staged, part.ETag)
		}
		off += part.Size
	}
	if err := f.Truncate(off); err != nil {
		return wrapErr("complete", u.Key, err)
	}
	if err := f.Sync(); err != nil {
		return wrapErr("complete", u.Key, err)
	}
	for _, k := range staged {
		if err := d.Delete(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

// copyIn copies a part that waits in an object of its own into f at off.
func (d *Dir) copyIn(ctx context.Context, f *os.File, off int64, part Part) error {
	src, err := d.Open(ctx, part.ETag)
	if errors.Is(err, ErrNotFound) {
		return nil // Copied in by an earlier call; see CompleteMultipart.
	}
	if err != nil {
		return err
	}
	defer src.Close()
	n, err := d.copy(ctx, f, off, &io.LimitedReader{R: src, N: part.Size})
	if err == nil && n != part.Size {
		err = fmt.Errorf("%w: part %d holds %d bytes, want %d", ErrLength, part.Number, n, part.Size)
	}
	return err
}

// AbortMultipart implements Multipart: it deletes the file and the parts
// that wait in objects of their own.
func (d *Dir) AbortMultipart(ctx context.Context, u Upload, parts []Part) error {
	var errs []error
	for _, part := range parts {
		if part.ETag != "" {
			errs = append(errs, d.Delete(ctx, part.ETag))
		}
	}
	errs = append(errs, d.Delete(ctx, u.Key))
	return errors.Join(errs...)
}

// ListMultipart implements Multipart. A Dir's unfinished uploads are the
// files of their objects, which List lists.
func (d *Dir) ListMultipart(ctx context.Context, fn func(Upload, time.Time) error) error {
	return nil
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

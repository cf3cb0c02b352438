package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/uplink-video/uplink/store/blob"
)

// streamPartSize is the size of the parts in which Put sends a body of
// unknown length: it holds at most two of them at a time, one being sent
// while the next fills. All but the last are of this size, so that R2
// takes them as they are. 10,000 of them make 78 GiB, the largest such
// body Put takes; uplink's pieces are at most 200 MiB.
const streamPartSize = 8 << 20

// Put implements blob.Objects. With a known size it is one PutObject
// request carrying the body as it arrives, with its Content-Length set:
// a body of the wrong length fails before the server has the announced
// number of bytes, so no object is made. With size -1 see putStream.
func (s *Store) Put(ctx context.Context, key string, size int64, r io.Reader) (int64, error) {
	k, err := s.objectKey(key)
	if err != nil {
		return 0, err
	}
	if size < 0 {
		return s.putStream(ctx, k, r)
	}
	if err := s.putObject(ctx, k, size, r); err != nil {
		return 0, wrapErr("put", key, err)
	}
	return size, nil
}

// putObject sends exactly size bytes of r as the object k.
func (s *Store) putObject(ctx context.Context, k string, size int64, r io.Reader) error {
	body := &watched{r: blob.Exact(r, size)}
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        &s.bucket,
		Key:           &k,
		ContentLength: aws.Int64(size),
		Body:          body,
	}, unsigned)
	return body.cause(err)
}

// putStream sends a body of unknown length. A body that fits in one
// streamPartSize buffer is one PutObject; a longer one goes up as a
// multipart upload of streamPartSize parts, each sent while the next is
// read. Nothing touches a local disk, and at most two buffers are held.
func (s *Store) putStream(ctx context.Context, k string, r io.Reader) (int64, error) {
	buf := make([]byte, streamPartSize)
	n, err := io.ReadFull(r, buf)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		if err := s.putObject(ctx, k, int64(n), bytes.NewReader(buf[:n])); err != nil {
			return 0, wrapErr("put", k, err)
		}
		return int64(n), nil
	}
	if err != nil {
		return 0, wrapErr("put", k, err)
	}
	up, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &s.bucket, Key: &k})
	if err != nil {
		return 0, wrapErr("put", k, err)
	}
	total, err := s.sendStream(ctx, k, *up.UploadId, buf, r)
	if err != nil {
		// The upload is dropped even when ctx is done; a failure to drop
		// it leaves it to the owner's cleanup of old uploads.
		_, _ = s.client.AbortMultipartUpload(context.WithoutCancel(ctx), &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: &k, UploadId: up.UploadId})
		return 0, wrapErr("put", k, err)
	}
	return total, nil
}

// sendStream sends first, full, and then the rest of r as the parts of
// upload id, and completes it.
func (s *Store) sendStream(ctx context.Context, k, id string, first []byte, r io.Reader) (int64, error) {
	type sent struct {
		part types.CompletedPart
		err  error
	}
	var (
		parts   []types.CompletedPart
		total   int64
		cur     = first
		n       = len(first)
		spare   []byte
		end     bool
		pending chan sent
	)
	send := func(number int32, b []byte) chan sent {
		c := make(chan sent, 1)
		go func() {
			out, err := s.client.UploadPart(ctx, &s3.UploadPartInput{
				Bucket: &s.bucket, Key: &k, UploadId: &id, PartNumber: &number,
				ContentLength: aws.Int64(int64(len(b))),
				Body:          bytes.NewReader(b),
			}, unsigned)
			if err != nil {
				c <- sent{err: err}
				return
			}
			c <- sent{part: types.CompletedPart{PartNumber: &number, ETag: out.ETag}}
		}()
		return c
	}
	wait := func() error {
		res := <-pending
		pending = nil
		if res.err != nil {
			return res.err
		}
		parts = append(parts, res.part)
		return nil
	}
	for number := int32(1); ; number++ {
		if number > blob.MaxParts {
			if pending != nil {
				_ = wait()
			}
			return 0, fmt.Errorf("a body of unknown length is longer than %d parts of %d bytes", blob.MaxParts, streamPartSize)
		}
		pending = send(number, cur[:n])
		total += int64(n)
		if end {
			break
		}
		if spare == nil {
			spare = make([]byte, streamPartSize)
		}
		var err error
		n, err = io.ReadFull(r, spare)
		switch {
		case errors.Is(err, io.EOF):
			// The body ended exactly at the end of the part in flight.
			if err := wait(); err != nil {
				return 0, err
			}
			return total, s.completeStream(ctx, k, id, parts)
		case errors.Is(err, io.ErrUnexpectedEOF):
			end = true
		case err != nil:
			_ = wait()
			return 0, err
		}
		if err := wait(); err != nil {
			return 0, err
		}
		cur, spare = spare, cur
	}
	if err := wait(); err != nil {
		return 0, err
	}
	return total, s.completeStream(ctx, k, id, parts)
}

// completeStream completes the upload of a body of unknown length.
func (s *Store) completeStream(ctx context.Context, k, id string, parts []types.CompletedPart) error {
	_, err := s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &s.bucket, Key: &k, UploadId: &id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	return err
}

// Open implements blob.Objects. It sends a HEAD request for the size, and
// reads with ranged GET requests, lazily: each Read after a Seek to a new
// offset starts one GET from there to the end, read as far as the caller
// reads. http.ServeContent thus serves a Range request with one GET of
// that range's start. The reader's requests use ctx.
func (s *Store) Open(ctx context.Context, key string) (io.ReadSeekCloser, error) {
	k, err := s.objectKey(key)
	if err != nil {
		return nil, err
	}
	size, err := s.size(ctx, k)
	if err != nil {
		return nil, wrapErr("open", key, err)
	}
	return &reader{ctx: ctx, s: s, key: k, size: size}, nil
}

// size returns the length of the object k.
func (s *Store) size(ctx context.Context, k string) (int64, error) {
	h, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &k})
	if err != nil {
		return 0, err
	}
	return aws.ToInt64(h.ContentLength), nil
}

// reader reads an object with ranged GET requests.
type reader struct {
	ctx  context.Context
	s    *Store
	key  string
	size int64
	// off is where the next Read reads.
	off int64
	// body, when not nil, is the body of a GET response whose next byte
	// is at bodyOff.
	body    io.ReadCloser
	bodyOff int64
	closed  bool
}

func (r *reader) Read(p []byte) (int, error) {
	if r.closed {
		return 0, errors.New("s3store: read of a closed object")
	}
	if r.off >= r.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if r.body != nil && r.bodyOff != r.off {
		r.body.Close()
		r.body = nil
	}
	if r.body == nil {
		out, err := r.s.client.GetObject(r.ctx, &s3.GetObjectInput{
			Bucket: &r.s.bucket,
			Key:    &r.key,
			Range:  aws.String("bytes=" + strconv.FormatInt(r.off, 10) + "-"),
		})
		if err != nil {
			return 0, wrapErr("read", r.key, err)
		}
		r.body, r.bodyOff = out.Body, r.off
	}
	if left := r.size - r.off; int64(len(p)) > left {
		p = p[:left]
	}
	n, err := r.body.Read(p)
	r.off += int64(n)
	r.bodyOff += int64(n)
	if errors.Is(err, io.EOF) {
		r.body.Close()
		r.body = nil
		if r.off < r.size {
			return n, fmt.Errorf("s3store: read %s: %w at %d of %d bytes", r.key, io.ErrUnexpectedEOF, r.off, r.size)
		}
		err = nil
	}
	if err != nil {
		return n, wrapErr("read", r.key, err)
	}
	return n, nil
}

// Seek only moves the offset: the next Read starts a GET from there if
// the open one is elsewhere.
func (r *reader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.size
	default:
		return r.off, fmt.Errorf("s3store: seek: invalid whence %d", whence)
	}
	if offset < 0 {
		return r.off, fmt.Errorf("s3store: seek to %d, before the start", offset)
	}
	r.off = offset
	return offset, nil
}

func (r *reader) Close() error {
	r.closed = true
	if r.body != nil {
		err := r.body.Close()
		r.body = nil
		return err
	}
	return nil
}

// Delete implements blob.Objects.
func (s *Store) Delete(ctx context.Context, key string) error {
	k, err := s.objectKey(key)
	if err != nil {
		return err
	}
	return s.deleteObject(ctx, k)
}

// Discard implements blob.Objects: it aborts every unfinished multipart
// upload of the key (a Put of unknown length in progress makes one, see
// putStream), then deletes the object.
func (s *Store) Discard(ctx context.Context, key string) error {
	k, err := s.objectKey(key)
	if err != nil {
		return err
	}
	// The listing is by prefix, which longer keys may share: only the
	// key's own uploads are aborted.
	pages := s3.NewListMultipartUploadsPaginator(s.client, &s3.ListMultipartUploadsInput{Bucket: &s.bucket, Prefix: &k})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return wrapErr("list the uploads of", key, err)
		}
		for _, up := range page.Uploads {
			if aws.ToString(up.Key) != k {
				continue
			}
			_, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: &k, UploadId: up.UploadId})
			if err != nil && !isNoSuchUpload(err) {
				return wrapErr("abort an upload of", key, err)
			}
		}
	}
	return s.deleteObject(ctx, k)
}

// deleteObject deletes the object k; a missing one is not an error (S3
// answers 204 to it anyway, but some servers answer 404).
func (s *Store) deleteObject(ctx context.Context, k string) error {
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &k})
	if err != nil && !isNotFound(err) {
		return wrapErr("delete", k, err)
	}
	return nil
}

// List implements blob.Objects: it lists the objects directly under the
// prefix, a page of up to 1,000 at a time, and skips those whose names
// are not blob keys (nothing uplink wrote).
func (s *Store) List(ctx context.Context, fn func(blob.Info) error) error {
	in := &s3.ListObjectsV2Input{Bucket: &s.bucket, Delimiter: aws.String("/")}
	if s.prefix != "" {
		in.Prefix = &s.prefix
	}
	pages := s3.NewListObjectsV2Paginator(s.client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return wrapErr("list", s.prefix, err)
		}
		for _, o := range page.Contents {
			key, ok := s.blobKey(aws.ToString(o.Key))
			if !ok {
				continue
			}
			if err := fn(blob.Info{Key: key, Size: aws.ToInt64(o.Size), Modified: aws.ToTime(o.LastModified)}); err != nil {
				return err
			}
		}
	}
	return nil
}

// watched is a request body that remembers the error its reader returned,
// other than io.EOF: when the request fails, that error is the cause
// (blob.ErrLength, or a client's body cut off), whatever the HTTP client
// made of it.
//
// Each Read fills p as far as the reader goes. The HTTP client writes the
// bytes of each Read to the socket with a system call of their own, and
// the reader under a part is often a multipart reader, which returns at
// most 4 KiB per call: filling the client's 32 KiB reads makes eight
// times fewer writes, which is most of what uplink's hop costs in CPU.
type watched struct {
	r   io.Reader
	err error
}

func (w *watched) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := w.r.Read(p[n:])
		n += m
		if err != nil {
			if !errors.Is(err, io.EOF) && w.err == nil {
				w.err = err
			}
			return n, err
		}
		if m == 0 {
			break // A reader with nothing now; return what there is.
		}
	}
	return n, nil
}

// cause returns the error of a request that sent w: the body's own error
// first, when it had one.
func (w *watched) cause(err error) error {
	if err != nil && w.err != nil {
		return fmt.Errorf("%w (%w)", w.err, err)
	}
	return err
}

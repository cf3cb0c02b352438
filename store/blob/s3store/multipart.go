package s3store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/uplink-video/uplink/store/blob"
)

// A part's ETag, as the metadata store records it, is one of three forms:
//
//   - the server's ETag of a part written by UploadPart, such as
//     `"9b2cf535f27731c974343645a3985328"`;
//   - adoptedMark + the blob key of an adopted object + ":" + the
//     server's ETag of the part copied from it, so that completing or
//     aborting the upload deletes the object if AdoptPart could not;
//   - in the equal-part mode, the blob key of an object that holds the
//     part (written aside, or adopted as it is). Being the object's own
//     key, it is among the keys the metadata store refers to (its
//     BlobRefs), so the owner's cleanup of orphans leaves the object
//     alone while the upload is unfinished.
//
// Blob keys hold only letters and digits, so the forms never mix up.
const adoptedMark = "adopted:"

// CreateMultipart implements blob.Multipart: it starts an S3 multipart
// upload of the object, whose ID is the upload's.
func (s *Store) CreateMultipart(ctx context.Context, key string) (blob.Upload, error) {
	k, err := s.objectKey(key)
	if err != nil {
		return blob.Upload{}, err
	}
	out, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &s.bucket, Key: &k})
	if err != nil {
		return blob.Upload{}, wrapErr("create", key, err)
	}
	return blob.Upload{Key: key, ID: aws.ToString(out.UploadId)}, nil
}

// WritePart implements blob.Multipart. A part is one UploadPart request
// that carries the body as it arrives, with its Content-Length set; a
// body of the wrong length fails before the server has all the announced
// bytes (see blob.Exact), so the server never commits it. A part of
// unknown length gets blob.ErrLengthRequired, before any byte is read.
// In the equal-part mode the part is written as an object of its own.
func (s *Store) WritePart(ctx context.Context, u blob.Upload, p blob.Part, r io.Reader) (blob.Part, error) {
	if p.Size < 0 {
		return blob.Part{}, blob.ErrLengthRequired
	}
	if p.Number < 1 || p.Number > blob.MaxParts {
		return blob.Part{}, fmt.Errorf("s3store: part number %d is outside 1 to %d", p.Number, blob.MaxParts)
	}
	k, err := s.objectKey(u.Key)
	if err != nil {
		return blob.Part{}, err
	}
	if s.equal {
		aside := blob.NewKey()
		if _, err := s.Put(ctx, aside, p.Size, r); err != nil {
			return blob.Part{}, err
		}
		p.ETag = aside
		return p, nil
	}
	body := &watched{r: blob.Exact(r, p.Size)}
	out, err := s.client.UploadPart(ctx, &s3.UploadPartInput{
		Bucket:        &s.bucket,
		Key:           &k,
		UploadId:      &u.ID,
		PartNumber:    aws.Int32(int32(p.Number)),
		ContentLength: aws.Int64(p.Size),
		Body:          body,
	}, unsigned)
	if err = body.cause(err); err != nil {
		return blob.Part{}, wrapErr(fmt.Sprintf("write part %d of", p.Number), u.Key, err)
	}
	p.ETag = quoted(aws.ToString(out.ETag))
	return p, nil
}

// quoted returns etag in double quotes, as S3 sends ETags. Some servers
// send them bare, and a bare hexadecimal ETag could pass for a blob key,
// which in a recorded ETag names an object (see adoptedMark).
func quoted(etag string) string {
	if strings.HasPrefix(etag, `"`) {
		return etag
	}
	return `"` + etag + `"`
}

// AdoptPart implements blob.Multipart with UploadPartCopy: the server
// copies the object into the part, and the object is then deleted. If
// that delete fails, the ETag still names the object, and completing or
// aborting the upload deletes it. In the equal-part mode the object
// itself becomes the part, as WritePart's are.
func (s *Store) AdoptPart(ctx context.Context, u blob.Upload, p blob.Part, src string) (string, error) {
	srcKey, err := s.objectKey(src)
	if err != nil {
		return "", err
	}
	k, err := s.objectKey(u.Key)
	if err != nil {
		return "", err
	}
	size, err := s.size(ctx, srcKey)
	if err != nil {
		return "", wrapErr("adopt", src, err)
	}
	if size != p.Size {
		return "", fmt.Errorf("s3store: adopt %s: %w: it holds %d bytes, not %d", src, blob.ErrLength, size, p.Size)
	}
	if s.equal {
		return src, nil
	}
	out, err := s.client.UploadPartCopy(ctx, &s3.UploadPartCopyInput{
		Bucket:     &s.bucket,
		Key:        &k,
		UploadId:   &u.ID,
		PartNumber: aws.Int32(int32(p.Number)),
		CopySource: aws.String(s.copySource(srcKey)),
	})
	if err != nil {
		return "", wrapErr(fmt.Sprintf("adopt %s as part %d of", src, p.Number), u.Key, err)
	}
	etag := ""
	if out.CopyPartResult != nil {
		etag = aws.ToString(out.CopyPartResult.ETag)
	}
	// The copy is made; the object is debris from here on, which the
	// owner's cleanup removes if this delete fails.
	_ = s.deleteObject(ctx, srcKey)
	return adoptedMark + src + ":" + etag, nil
}

// copySource is the x-amz-copy-source of the object k in the bucket.
func (s *Store) copySource(k string) string {
	return s.bucket + "/" + url.PathEscape(k)
}

// partETag splits a recorded ETag into the ETag the server knows the part
// by and the blob key of the object it names, if any.
func partETag(etag string) (serverETag, object string) {
	if rest, ok := strings.CutPrefix(etag, adoptedMark); ok {
		object, serverETag, _ = strings.Cut(rest, ":")
		return serverETag, object
	}
	if blob.ValidKey(etag) {
		return "", etag
	}
	return etag, ""
}

// CompleteMultipart implements blob.Multipart: CompleteMultipartUpload
// with the recorded parts and ETags (the equal-part mode assembles the
// object first, see completeEqual). A second call after a success finds
// the upload gone (NoSuchUpload) and succeeds if the object is there with
// the parts' total size. The objects that adopted parts came from are
// deleted once the object is complete.
func (s *Store) CompleteMultipart(ctx context.Context, u blob.Upload, parts []blob.Part) error {
	k, err := s.objectKey(u.Key)
	if err != nil {
		return err
	}
	var (
		total     int64
		completed = make([]types.CompletedPart, 0, len(parts))
		objects   []string
		asObjects int
	)
	for i, p := range parts {
		if i > 0 && p.Number <= parts[i-1].Number {
			return fmt.Errorf("s3store: complete %s: parts out of order (%d after %d)", u.Key, p.Number, parts[i-1].Number)
		}
		total += p.Size
		etag, object := partETag(p.ETag)
		if object != "" {
			objects = append(objects, object)
		}
		if etag == "" {
			asObjects++
			continue
		}
		completed = append(completed, types.CompletedPart{PartNumber: aws.Int32(int32(p.Number)), ETag: aws.String(etag)})
	}
	switch {
	case asObjects > 0 && asObjects < len(parts):
		return fmt.Errorf("s3store: complete %s: some parts are objects of their own (equal-part mode) and some are not", u.Key)
	case asObjects > 0 || len(parts) == 0:
		err = s.completeEqual(ctx, u, k, parts, total)
	default:
		_, err = s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
			Bucket: &s.bucket, Key: &k, UploadId: &u.ID,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: completed},
		})
		switch {
		case isNoSuchUpload(err):
			err = s.completedBefore(ctx, k, total, err)
		case err == nil:
			// Some servers (versitygw) answer a repeated completion with
			// success whatever parts it names: check what was made.
			err = s.checkSize(ctx, k, total)
		}
	}
	if err != nil {
		return wrapErr("complete", u.Key, err)
	}
	return s.deleteObjects(ctx, objects)
}

// completedBefore returns nil if the object k is there with total bytes:
// the upload that was to make it was completed already, by an earlier
// call. Otherwise it returns gone, the error that found the upload gone.
func (s *Store) completedBefore(ctx context.Context, k string, total int64, gone error) error {
	size, err := s.size(ctx, k)
	if err == nil && size == total {
		return nil
	}
	if err == nil {
		return fmt.Errorf("the upload or its parts are gone, and the object holds %d bytes rather than the parts' %d: %w", size, total, gone)
	}
	if isNotFound(err) {
		return fmt.Errorf("the upload or its parts are gone, and no object was made of them: %w", gone)
	}
	return err
}

// checkSize returns an error unless the object k holds total bytes.
func (s *Store) checkSize(ctx context.Context, k string, total int64) error {
	size, err := s.size(ctx, k)
	if err == nil && size != total {
		err = fmt.Errorf("the completed object holds %d bytes, not the parts' %d", size, total)
	}
	return err
}

// AbortMultipart implements blob.Multipart: it aborts the S3 upload (a
// missing one is not an error) and deletes the objects that parts' ETags
// name (adopted objects, and parts written aside in the equal-part mode).
func (s *Store) AbortMultipart(ctx context.Context, u blob.Upload, parts []blob.Part) error {
	k, err := s.objectKey(u.Key)
	if err != nil {
		return err
	}
	_, err = s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: &k, UploadId: &u.ID})
	if err != nil && !isNoSuchUpload(err) {
		return wrapErr("abort", u.Key, err)
	}
	var objects []string
	for _, p := range parts {
		if _, object := partETag(p.ETag); object != "" {
			objects = append(objects, object)
		}
	}
	return s.deleteObjects(ctx, objects)
}

// deleteObjects deletes the objects of the blob keys given.
func (s *Store) deleteObjects(ctx context.Context, keys []string) error {
	var errs []error
	for _, key := range keys {
		errs = append(errs, s.Delete(ctx, key))
	}
	return errors.Join(errs...)
}

// ListMultipart implements blob.Multipart: it lists the unfinished S3
// multipart uploads of keys directly under the prefix, with the time each
// was started. Those of a Put of unknown length in progress are among
// them.
func (s *Store) ListMultipart(ctx context.Context, fn func(blob.Upload, time.Time) error) error {
	in := &s3.ListMultipartUploadsInput{Bucket: &s.bucket}
	if s.prefix != "" {
		in.Prefix = &s.prefix
	}
	pages := s3.NewListMultipartUploadsPaginator(s.client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return wrapErr("list uploads under", s.prefix, err)
		}
		for _, up := range page.Uploads {
			key, ok := s.blobKey(aws.ToString(up.Key))
			if !ok {
				continue
			}
			if err := fn(blob.Upload{Key: key, ID: aws.ToString(up.UploadId)}, aws.ToTime(up.Initiated)); err != nil {
				return err
			}
		}
	}
	return nil
}

// LengthFirst reports true: S3 takes a part or an object as one request
// of a known length, and one of unknown length only as a multipart upload
// of its own (Put with size -1) that must then be copied. Package ingest
// guesses a part's length for a store that says so.
func (s *Store) LengthFirst() bool { return true }

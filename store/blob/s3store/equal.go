package s3store

// The equal-part mode, for servers (Cloudflare R2) that complete a
// multipart upload only if its parts, but the last, are all of one size.
//
// uplink cannot promise that: its clients choose their pieces' sizes, and
// a piece sent again may differ from the first send. The parts of an S3
// upload cannot be read back or copied before the upload completes, so a
// store that wrote them with UploadPart would be stuck with unequal parts.
// In this mode WritePart therefore writes each part as an object of its
// own (named by a fresh key, which is also the part's ETag), AdoptPart
// takes the adopted object as it is, and CompleteMultipart assembles the
// object with server-side copies:
//
//   - it picks a part size C (Config.EqualPartSize, or the smallest part
//     but the last, raised if 10,000 parts of it would not hold the
//     object) and cuts the object into parts of C bytes and a last one;
//   - a part that lies within one written part is an UploadPartCopy of
//     that range of its object (x-amz-copy-source-range); when all parts
//     but the last have C bytes, every part is;
//   - a part that straddles the end of a written part is first copied
//     into a bridge: an object made by a multipart upload of two parts,
//     the first at least 5 MiB (the tail of the written part, reaching
//     back before the straddling part's start if need be), the second of
//     any size (what follows, up to the part's end). A bridge has only one
//     part but its last, so it is of equal parts by definition. A part
//     that straddles several ends (only when C exceeds some written part)
//     folds them in one at a time, each bridge the first part of the next.
//     The part is then an UploadPartCopy of its range of the bridge, and
//     the bridge is deleted;
//   - CompleteMultipartUpload, and then the written parts are deleted.
//
// The trade-off: every byte is stored twice until the object completes
// (the parts, then the object), and the server copies every byte once at
// completion, plus about C + 5 MiB for each straddling part (twice that
// for its bridge). Completion takes the server's copying time, spread
// over copyWorkers requests at once, inside the request of the last
// piece. In exchange, parts of any size, sent in any order and re-sent,
// make an object that R2 takes, and no byte passes through uplink twice.
//
// A crash midway leaves bridges and unfinished bridge uploads behind:
// they are named by fresh keys that no row refers to, so the owner's
// cleanup of orphans removes them (List, ListMultipart); the next call
// copies again from the written parts, which stay until the object is
// complete.

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"

	"github.com/uplink-video/uplink/store/blob"
)

// copyWorkers is how many copy requests one completion sends at once.
const copyWorkers = 4

// source is a written part: its object and where it lies in the object
// being assembled.
type source struct {
	key        string // S3 key of its object.
	start, end int64  // [start, end) in the assembled object.
}

// piece is a range of an object.
type piece struct {
	key      string
	from, to int64 // [from, to) in the object key.
}

// completeEqual assembles the object k of upload u from parts that are
// objects of their own, total bytes in all, and completes u.
func (s *Store) completeEqual(ctx context.Context, u blob.Upload, k string, parts []blob.Part, total int64) error {
	// An earlier call may have completed it already: the key is fresh, so
	// an object there of the right size is this upload's.
	switch size, err := s.size(ctx, k); {
	case err == nil && size == total:
		return s.dropUpload(ctx, k, u.ID)
	case err != nil && !isNotFound(err):
		return err
	}
	if len(parts) == 0 {
		if err := s.putObject(ctx, k, 0, bytes.NewReader(nil)); err != nil {
			return err
		}
		return s.dropUpload(ctx, k, u.ID)
	}
	srcs := make([]source, len(parts))
	var off int64
	for i, p := range parts {
		if i < len(parts)-1 && p.Size < minPartSize {
			return fmt.Errorf("part %d holds %d bytes: only the last part may be smaller than %d", p.Number, p.Size, minPartSize)
		}
		_, object := partETag(p.ETag)
		srcs[i] = source{key: s.prefix + object, start: off, end: off + p.Size}
		off += p.Size
	}
	size, err := partSize(srcs, s.equalSize)
	if err != nil {
		return err
	}
	n := int((total + size - 1) / size)
	done := make([]types.CompletedPart, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(copyWorkers)
	for i := range n {
		a, e := int64(i)*size, min(int64(i+1)*size, total)
		g.Go(func() error {
			p, err := s.copyChunk(gctx, k, u.ID, int32(i+1), srcs, a, e)
			done[i] = p
			return err
		})
	}
	err = g.Wait()
	if err == nil {
		_, err = s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
			Bucket: &s.bucket, Key: &k, UploadId: &u.ID,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: done},
		})
	}
	if isNoSuchUpload(err) || isNotFound(err) {
		// Completed meanwhile by another call, which may have deleted
		// the written parts too.
		return s.completedBefore(ctx, k, total, err)
	}
	return err
}

// dropUpload aborts the upload id of k, which may be gone already.
func (s *Store) dropUpload(ctx context.Context, k, id string) error {
	_, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: &k, UploadId: &id})
	if err != nil && !isNoSuchUpload(err) {
		return err
	}
	return nil
}

// partSize returns the size of the equal parts to assemble srcs from:
// want if set, or the smallest source but the last (at least 5 MiB),
// raised until 10,000 parts hold them all.
func partSize(srcs []source, want int64) (int64, error) {
	total := srcs[len(srcs)-1].end
	size := want
	if size == 0 {
		size = srcs[0].end - srcs[0].start
		for _, src := range srcs[:len(srcs)-1] {
			size = min(size, src.end-src.start)
		}
		size = max(size, minPartSize)
	}
	if need := (total + blob.MaxParts - 1) / blob.MaxParts; size < need {
		size = need
	}
	if size > maxCopySize-minPartSize {
		return 0, fmt.Errorf("an object of %d bytes needs parts larger than one copy can make", total)
	}
	return size, nil
}

// copyChunk copies the bytes [a, e) of the object assembled from srcs into
// part number of upload id of k.
func (s *Store) copyChunk(ctx context.Context, k, id string, number int32, srcs []source, a, e int64) (types.CompletedPart, error) {
	j := 0
	for srcs[j].end <= a {
		j++
	}
	if e <= srcs[j].end {
		return s.copyPart(ctx, k, id, number, piece{srcs[j].key, a - srcs[j].start, e - srcs[j].start})
	}
	// The chunk straddles the end of srcs[j]: bridge it. The bridge's
	// first part ends there and holds at least 5 MiB.
	from := min(a, srcs[j].end-minPartSize)
	pieces := []piece{{srcs[j].key, from - srcs[j].start, srcs[j].end - srcs[j].start}}
	for _, src := range srcs[j+1:] {
		if src.start >= e {
			break
		}
		pieces = append(pieces, piece{src.key, 0, min(src.end, e) - src.start})
	}
	bridge, err := s.bridge(ctx, pieces)
	if err != nil {
		return types.CompletedPart{}, err
	}
	p, err := s.copyPart(ctx, k, id, number, piece{bridge, a - from, e - from})
	if derr := s.deleteObject(context.WithoutCancel(ctx), bridge); err == nil {
		err = derr
	}
	return p, err
}

// bridge makes an object of the pieces, in order, by folding them in one
// at a time with two-part uploads, and returns its S3 key. The first
// piece must hold at least 5 MiB.
func (s *Store) bridge(ctx context.Context, pieces []piece) (string, error) {
	first := pieces[0]
	for _, next := range pieces[1:] {
		k := s.prefix + blob.NewKey()
		if err := s.join(ctx, k, first, next); err != nil {
			return "", err
		}
		if first.key != pieces[0].key {
			// A bridge of the previous fold, now within this one.
			if err := s.deleteObject(ctx, first.key); err != nil {
				return "", err
			}
		}
		first = piece{k, 0, first.to - first.from + next.to - next.from}
	}
	return first.key, nil
}

// join makes the object k of two pieces.
func (s *Store) join(ctx context.Context, k string, first, second piece) error {
	up, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &s.bucket, Key: &k})
	if err != nil {
		return err
	}
	id := aws.ToString(up.UploadId)
	parts := make([]types.CompletedPart, 2)
	var (
		wg   sync.WaitGroup
		errs [2]error
	)
	for i, p := range []piece{first, second} {
		wg.Go(func() { parts[i], errs[i] = s.copyPart(ctx, k, id, int32(i+1), p) })
	}
	wg.Wait()
	if err = errs[0]; err == nil {
		err = errs[1]
	}
	if err == nil {
		_, err = s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
			Bucket: &s.bucket, Key: &k, UploadId: &id,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
		})
	}
	if err != nil {
		_ = s.dropUpload(context.WithoutCancel(ctx), k, id)
	}
	return err
}

// copyPart copies the piece p into part number of upload id of k.
func (s *Store) copyPart(ctx context.Context, k, id string, number int32, p piece) (types.CompletedPart, error) {
	out, err := s.client.UploadPartCopy(ctx, &s3.UploadPartCopyInput{
		Bucket:          &s.bucket,
		Key:             &k,
		UploadId:        &id,
		PartNumber:      &number,
		CopySource:      aws.String(s.copySource(p.key)),
		CopySourceRange: aws.String("bytes=" + strconv.FormatInt(p.from, 10) + "-" + strconv.FormatInt(p.to-1, 10)),
	})
	if err != nil {
		return types.CompletedPart{}, fmt.Errorf("copy bytes %d-%d of %s into part %d: %w", p.from, p.to-1, p.key, number, err)
	}
	var etag *string
	if out.CopyPartResult != nil {
		etag = out.CopyPartResult.ETag
	}
	return types.CompletedPart{PartNumber: &number, ETag: etag}, nil
}

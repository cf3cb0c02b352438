package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/blob"
)

// releaseTail drains the video's staged pieces into its source and lets go
// of the tail, draining again if a piece was committed meanwhile.
func (s *Service) releaseTail(videoID string, l *videoLock) {
	completed := false
	for {
		if s.drain(context.Background(), videoID, l) {
			completed = true
		}
		if l.releaseTail() {
			break
		}
	}
	if completed {
		s.onComplete(videoID)
	}
}

// drain appends, in order, the staged pieces that are next in line to the
// video's source, and reports whether that completed the upload. The
// caller holds the tail.
func (s *Service) drain(ctx context.Context, videoID string, l *videoLock) (completed bool) {
	for {
		u, err := s.store.FindUpload(ctx, videoID)
		if err != nil || u.Status != store.UploadUploading {
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				s.log.ErrorContext(ctx, "draining an upload", "video", videoID, "err", err)
			}
			return
		}
		next, ok := u.Part(nextSeq(u))
		if !ok || !next.Staged() {
			return
		}
		if err := s.appendStaged(ctx, u, next); err != nil {
			s.log.ErrorContext(ctx, "moving a staged piece into its source", "video", videoID, "seq", next.Seq, "err", err)
			return
		}
		s.afterSync()
		l.state.Lock()
		done, err := s.recordAppended(ctx, videoID, u, next)
		l.state.Unlock()
		if err != nil {
			s.log.ErrorContext(ctx, "recording a moved piece", "video", videoID, "seq", next.Seq, "err", err)
			return
		}
		if err := s.blobs.Delete(ctx, next.StagedKey); err != nil {
			s.log.WarnContext(ctx, "deleting a moved piece's blob", "key", next.StagedKey, "err", err)
		}
		completed = completed || done
	}
}

func (s *Service) appendStaged(ctx context.Context, u store.Upload, p store.Part) error {
	r, err := s.blobs.Open(ctx, p.StagedKey)
	if err != nil {
		return err
	}
	defer r.Close()
	n, err := s.blobs.Append(ctx, u.SourceKey, u.SourceSize, r)
	if err == nil && n != p.Size {
		_ = s.blobs.Truncate(ctx, u.SourceKey, u.SourceSize)
		err = fmt.Errorf("staged piece holds %d bytes, want %d", n, p.Size)
	}
	return err
}

// recordAppended records that piece p now sits at the end of the source,
// where before holds the upload as it was when the copy started. It
// reports whether that completed the upload.
func (s *Service) recordAppended(ctx context.Context, videoID string, before store.Upload, p store.Part) (bool, error) {
	u, err := s.store.FindUpload(ctx, videoID)
	if errors.Is(err, store.ErrNotFound) {
		// Deleted or abandoned while the bytes were copied, after its
		// blobs were removed: remove the source the copy recreated.
		return false, s.blobs.Delete(ctx, before.SourceKey)
	}
	if err != nil {
		return false, err
	}
	if u.SourceSize != before.SourceSize {
		return false, fmt.Errorf("source moved from %d to %d bytes during a drain", before.SourceSize, u.SourceSize)
	}
	now := s.store.Now()
	p.Offset = u.SourceSize
	u.SourceSize += p.Size
	if u.Mode == store.ModePart {
		u.AppendedParts++
	}
	u.UpdatedAt = now
	done := complete(&u, now)
	if err := s.store.SaveUpload(ctx, u, store.PartChange{Appended: &p}); err != nil {
		return false, err
	}
	return done, nil
}

// abandon gives up an upload whose lease ran out: its rows go, its bytes
// are reclaimed, and the client is told to start again.
func (s *Service) abandon(ctx context.Context, videoID string) error {
	l := s.locks.get(videoID)
	defer s.locks.put(videoID, l)
	l.state.Lock()
	defer l.state.Unlock()
	u, err := s.store.FindUpload(ctx, videoID)
	if err != nil {
		return videoErr(videoID, err)
	}
	if !lapsed(u, s.store.Now()) {
		return refuse(CodeUploadAbandoned, "videoId", "The upload changed state; send the piece again.")
	}
	return s.abandonLocked(ctx, u)
}

// abandonLocked is abandon for a caller that holds the state lock and has
// checked that the lease ran out. It always returns an error for the
// client, unless reclaiming itself failed.
func (s *Service) abandonLocked(ctx context.Context, u store.Upload) error {
	keys, err := s.store.AbandonUpload(ctx, u.VideoID)
	if err != nil {
		return err
	}
	s.deleteBlobs(ctx, keys)
	s.metrics.UploadFailed("abandoned")
	s.log.InfoContext(ctx, "abandoned an upload whose lease ran out", "video", u.VideoID, "lease_expired_at", u.LeaseExpiresAt)
	return refuse(CodeUploadAbandoned, "videoId",
		"No piece of this upload arrived for %s, so it was abandoned and its bytes were deleted. Start the upload again.", s.lease)
}

// DeleteVideo deletes a video, its upload state and its bytes. Returns
// store.ErrNotFound if there is no such video.
func (s *Service) DeleteVideo(ctx context.Context, videoID string) error {
	l := s.locks.get(videoID)
	defer s.locks.put(videoID, l)
	l.state.Lock()
	u, uerr := s.store.FindUpload(ctx, videoID)
	keys, err := s.store.DeleteVideo(ctx, videoID)
	l.state.Unlock()
	if err != nil {
		return err
	}
	if uerr == nil && u.Status == store.UploadUploading {
		s.metrics.UploadFailed("cancelled")
	}
	s.deleteBlobs(ctx, keys)
	return nil
}

// OpenSource opens a completely uploaded video's source for reading.
// Returns store.ErrNotFound if the video has no complete source.
func (s *Service) OpenSource(ctx context.Context, videoID string) (io.ReadSeekCloser, error) {
	u, err := s.store.FindUpload(ctx, videoID)
	if err != nil {
		return nil, err
	}
	if u.Status != store.UploadUploaded {
		return nil, fmt.Errorf("ingest: source of %s is incomplete: %w", videoID, store.ErrNotFound)
	}
	return s.blobs.Open(ctx, u.SourceKey)
}

func (s *Service) deleteBlobs(ctx context.Context, keys []string) {
	for _, k := range keys {
		if err := s.blobs.Delete(ctx, k); err != nil {
			s.log.ErrorContext(ctx, "deleting a blob", "key", k, "err", err)
		}
	}
}

// Report counts what a maintenance pass reclaimed.
type Report struct {
	Abandoned  int // Uploads whose lease ran out.
	Orphans    int // Blobs no row referred to.
	Trimmed    int // Blobs cut back to their recorded length.
	Drained    int // Uploads whose staged pieces were moved in.
	Unexpected int // Blobs shorter than recorded, or missing: lost bytes.
}

// Reclaim abandons every upload whose lease ran out, deletes blobs that
// no row refers to, and moves in staged pieces that are ready. That last
// step retries a move that failed (a full disk, say) after every piece
// was acknowledged, when no further request would trigger it. It is safe
// to run while uploads are in progress.
func (s *Service) Reclaim(ctx context.Context) (Report, error) {
	var r Report
	lapsedUploads, err := s.store.FindLapsedUploads(ctx, s.store.Now())
	if err != nil {
		return r, err
	}
	for _, u := range lapsedUploads {
		err := s.abandon(ctx, u.VideoID)
		var ie *Error
		if errors.As(err, &ie) && ie.Code == CodeUploadAbandoned {
			r.Abandoned++
		} else if err != nil && !errors.As(err, &ie) {
			return r, err
		}
	}
	var keys []string
	if err := s.blobs.List(ctx, func(k string) error { keys = append(keys, k); return nil }); err != nil {
		return r, err
	}
	var orphans []string
	err = s.inflight.frozen(func(busy func(string) bool) error {
		refs, err := s.store.BlobRefs(ctx)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if _, ok := refs[k]; !ok && !busy(k) {
				orphans = append(orphans, k)
			}
		}
		return nil
	})
	if err != nil {
		return r, err
	}
	s.deleteBlobs(ctx, orphans)
	r.Orphans = len(orphans)
	r.Drained, err = s.drainReady(ctx)
	return r, err
}

// drainReady moves in the staged pieces of every upload whose next piece
// waits aside, and returns how many uploads it drained. An upload whose
// tail is held is left to the holder, which is told to drain.
func (s *Service) drainReady(ctx context.Context) (int, error) {
	drainable, err := s.store.FindDrainableUploads(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, u := range drainable {
		if next, ok := u.Part(nextSeq(u)); !ok || !next.Staged() {
			continue
		}
		l := s.locks.get(u.VideoID)
		if l.tryTail() {
			s.releaseTail(u.VideoID, l)
			n++
		}
		s.locks.put(u.VideoID, l)
	}
	return n, nil
}

// Recover brings blobs in line with the metadata after a restart: it cuts
// every blob back to its recorded length (dropping the debris of writes a
// crash interrupted), reclaims orphans and lapsed uploads, and moves in
// staged pieces that became ready just before the crash. Call it before
// serving requests.
func (s *Service) Recover(ctx context.Context) (Report, error) {
	refs, err := s.store.BlobRefs(ctx)
	if err != nil {
		return Report{}, err
	}
	var trimmed, unexpected int
	for k, size := range refs {
		actual, err := s.blobSize(ctx, k)
		switch {
		case errors.Is(err, blob.ErrNotFound) && size == 0:
			// A source that no piece has reached yet.
		case errors.Is(err, blob.ErrNotFound):
			unexpected++
			s.log.ErrorContext(ctx, "a recorded blob is missing", "key", k, "size", size)
		case err != nil:
			return Report{}, err
		case actual < size:
			unexpected++
			s.log.ErrorContext(ctx, "a recorded blob is shorter than its recorded length", "key", k, "size", size, "actual", actual)
		case actual > size:
			if err := s.blobs.Truncate(ctx, k, size); err != nil {
				return Report{}, err
			}
			trimmed++
		}
	}
	// Reclaim also moves in the staged pieces that became ready just
	// before the crash.
	r, err := s.Reclaim(ctx)
	r.Unexpected = unexpected
	r.Trimmed = trimmed
	return r, err
}

func (s *Service) blobSize(ctx context.Context, key string) (int64, error) {
	f, err := s.blobs.Open(ctx, key)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return f.Seek(0, io.SeekEnd)
}

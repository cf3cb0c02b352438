package ingest

import (
	"context"
	"errors"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/blob"
)

// finish assembles the object of an upload recorded completing and marks
// it uploaded. A failure is logged and leaves the upload completing, for
// the next call (the client's repeat of its last piece, or Reclaim).
func (s *Service) finish(ctx context.Context, videoID string) {
	ctx = context.WithoutCancel(ctx)
	call(s.hooks.BeforeFinish)
	u, err := s.store.FindUpload(ctx, videoID)
	if err == nil && u.Status != store.UploadCompleting {
		return // Finished meanwhile, by another caller.
	}
	if err == nil {
		err = s.blobs.CompleteMultipart(ctx, blob.Upload{Key: u.SourceKey, ID: u.MultipartID}, blobParts(u.Parts))
	}
	if err == nil {
		err = s.store.FinishUpload(ctx, videoID)
		if errors.Is(err, store.ErrConflict) {
			return // Finished meanwhile, by another caller.
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return // Deleted meanwhile.
	}
	if err != nil {
		s.log.ErrorContext(ctx, "assembling an uploaded source; the cleanup job tries again", "video", videoID, "err", err)
		return
	}
	s.completed(ctx, u)
}

// Settle finishes the upload of videoID if its every piece was recorded
// longer ago than a claim lasts and its source is still not assembled:
// the process that recorded the last piece died, or failed, before it
// assembled the source. A client that asks about an upload while its
// source is assembled (the page of a link does, every few seconds) thus
// finishes it at once, rather than the cleanup job at its next pass; an
// upload recorded complete a moment ago is left to the request assembling
// it.
func (s *Service) Settle(ctx context.Context, videoID string) {
	u, err := s.store.FindUpload(ctx, videoID)
	if err != nil || u.Status != store.UploadCompleting || u.UpdatedAt.After(s.store.Now().Add(-s.claim)) {
		return
	}
	s.finish(ctx, videoID)
}

// completed tells the metrics and the events that u's source is whole.
func (s *Service) completed(ctx context.Context, u store.Upload) {
	s.metricsOf(u).UploadCompleted()
	s.events.UploadCompleted(context.WithoutCancel(ctx), u.VideoID)
}

// tryAbandon abandons u if its lease ran out and no request is receiving
// a part of it: its rows go and its bytes are reclaimed. It reports
// whether it did.
func (s *Service) tryAbandon(ctx context.Context, u store.Upload) (bool, error) {
	if ps, err := s.claims.InFlight(ctx, u.VideoID); err != nil || len(ps) > 0 {
		return false, err
	}
	gone, err := s.store.AbandonUpload(ctx, u.VideoID, "no part arrived for "+s.lease.String())
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		return false, nil // Renewed, finished or deleted meanwhile.
	}
	if err != nil {
		return false, err
	}
	s.dropBytes(ctx, gone)
	s.metricsOf(u).UploadFailed("abandoned")
	s.events.UploadFailed(context.WithoutCancel(ctx), u.VideoID, store.EventAbandoned, "no part arrived for "+s.lease.String())
	s.log.InfoContext(ctx, "abandoned an upload whose lease ran out", "video", u.VideoID, "lease_expired_at", u.LeaseExpiresAt)
	return true, nil
}

// abandon is tryAbandon for a request that found u lapsed: it returns the
// refusal the request gets.
func (s *Service) abandon(ctx context.Context, u store.Upload) error {
	done, err := s.tryAbandon(ctx, u)
	if err != nil {
		return err
	}
	if !done {
		return changedMeanwhile()
	}
	return refuse(CodeUploadAbandoned, "videoId",
		"No piece of this upload arrived for %s, so it was abandoned and its bytes were deleted. Start the upload again.", s.lease)
}

// Report counts what a maintenance pass did.
type Report struct {
	Abandoned int // Uploads whose lease ran out.
	Orphans   int // Objects and blob store uploads no row referred to, and what dead claimants wrote aside.
	Finished  int // Uploads whose assembly a crash or a failure interrupted.
	Missing   int // Sources recorded complete whose object is gone or short: lost bytes.
	// Repaired counts uploads started before migration 0007 that
	// Recover completed (see repairUpgraded).
	Repaired int
}

// OrphanAge is how old an object or blob store upload must be before
// Reclaim removes it for want of a row: a request may have written it a
// moment ago and not yet recorded it. A write in progress keeps its
// object's modification time fresh, and a body that stops arriving is
// cut off long before this.
const OrphanAge = time.Hour

// Reclaim ends the lapsed part claims and discards what their claimants
// wrote aside, abandons every upload whose lease ran out, finishes the
// uploads left completing, and removes the objects and blob store uploads
// that no row refers to and that are older than OrphanAge. It is safe to
// run while uploads are in progress, from any process.
func (s *Service) Reclaim(ctx context.Context) (Report, error) {
	var r Report
	// A part's claimant that died is known by its lapsed claim long
	// before its debris is old enough to be taken for an orphan.
	lapsed, err := s.claims.Sweep(ctx)
	if err != nil {
		return r, err
	}
	r.Orphans = s.discard(ctx, lapsed)
	lapsedUploads, err := s.store.FindLapsedUploads(ctx, s.store.Now())
	if err != nil {
		return r, err
	}
	for _, u := range lapsedUploads {
		done, err := s.tryAbandon(ctx, u)
		if err != nil {
			return r, err
		}
		if done {
			r.Abandoned++
		}
	}
	if r.Finished, err = s.finishStuck(ctx, s.store.Now().Add(-s.claim)); err != nil {
		return r, err
	}
	// The blob store's times come from its own clock (the file system's,
	// or the object store's), which is real time.
	orphans, err := s.removeOrphans(ctx, time.Now().Add(-OrphanAge))
	r.Orphans += orphans
	return r, err
}

// finishStuck finishes the uploads left completing since before t.
func (s *Service) finishStuck(ctx context.Context, t time.Time) (int, error) {
	stuck, err := s.store.FindCompletingUploads(ctx, t)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, u := range stuck {
		s.finish(ctx, u.VideoID)
		if cur, err := s.store.FindUpload(ctx, u.VideoID); err == nil && cur.Status == store.UploadUploaded {
			n++
		}
	}
	return n, nil
}

// removeOrphans removes the objects and blob store uploads that no row
// refers to, last changed before t.
func (s *Service) removeOrphans(ctx context.Context, t time.Time) (int, error) {
	var objects []blob.Info
	if err := s.blobs.List(ctx, func(i blob.Info) error {
		if i.Modified.Before(t) {
			objects = append(objects, i)
		}
		return nil
	}); err != nil {
		return 0, err
	}
	var uploads []blob.Upload
	if err := s.blobs.ListMultipart(ctx, func(u blob.Upload, started time.Time) error {
		if started.Before(t) {
			uploads = append(uploads, u)
		}
		return nil
	}); err != nil {
		return 0, err
	}
	// The rows are read after the listings: an object recorded in
	// between is in the rows, and one listed but not recorded is old.
	refs, err := s.store.BlobRefs(ctx)
	if err != nil {
		return 0, err
	}
	multiparts, err := s.store.MultipartRefs(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, o := range objects {
		if refs[o.Key] {
			continue
		}
		if err := s.blobs.Delete(ctx, o.Key); err != nil {
			return n, err
		}
		n++
	}
	for _, u := range uploads {
		if multiparts[u.Key] == u.ID {
			continue
		}
		if err := s.blobs.AbortMultipart(ctx, u, nil); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Recover brings the blobs in line with the metadata after a restart: it
// finishes the uploads a crash left completing, abandons lapsed ones, and
// removes orphans: all of them when no other process shares the stores
// (Config.Shared), and those old enough otherwise (see Reclaim). It also checks that every
// complete source is there, whole. Call it before serving requests.
func (s *Service) Recover(ctx context.Context) (Report, error) {
	repaired, err := s.repairUpgraded(ctx)
	if err != nil {
		return Report{}, err
	}
	// A crash left these completing; a process that shares the store may
	// be finishing some, which finish copes with.
	finished, err := s.finishStuck(ctx, s.store.Now())
	if err != nil {
		return Report{}, err
	}
	r, err := s.Reclaim(ctx)
	if err != nil {
		return r, err
	}
	r.Finished += finished
	r.Repaired = repaired
	if !s.shared {
		// No other process writes to these stores, and this one serves
		// no request yet: whatever no row refers to is the debris of
		// the crash, however fresh.
		n, err := s.removeOrphans(ctx, time.Now().Add(time.Second))
		if err != nil {
			return r, err
		}
		r.Orphans += n
	}
	sizes := map[string]int64{}
	if err := s.blobs.List(ctx, func(i blob.Info) error { sizes[i.Key] = i.Size; return nil }); err != nil {
		return r, err
	}
	complete, err := s.store.CompleteSources(ctx)
	if err != nil {
		return r, err
	}
	for k, want := range complete {
		if got, ok := sizes[k]; !ok || got < want {
			r.Missing++
			s.log.ErrorContext(ctx, "a recorded source is missing from the blob store, or shorter than recorded", "key", k, "size", want, "found", got)
		}
	}
	return r, nil
}

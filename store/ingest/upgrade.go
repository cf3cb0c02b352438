package ingest

import (
	"context"
	"errors"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/blob"
)

// repairUpgraded completes, at startup, the uploads that were in progress
// when the database was upgraded to one straight upload path (migration
// 0007) and that the migration, being SQL, could not complete:
//
//   - an upload through a link that had received no part yet had its
//     video but no upload row (the code of the time created the row with
//     the first part): it gets an upload row and a blob store upload now,
//     so that its first part is taken instead of being refused until its
//     lease runs out;
//   - an upload by token whose only pieces had arrived out of order had
//     its source named but never created (the code of the time created the
//     file with the first in-order piece), while the migration records the
//     source as the upload's blob store upload: the empty file is created
//     now, so that its first piece can be written in place.
//
// Both are idempotent, and safe when several processes start at once.
// It returns how many uploads it repaired.
func (s *Service) repairUpgraded(ctx context.Context) (int, error) {
	n := 0
	links, err := s.store.FindLocalLinkUploadsWithoutUpload(ctx)
	if err != nil {
		return 0, err
	}
	for _, lu := range links {
		ok, err := s.adoptLinkUpload(ctx, lu)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	open, err := s.store.FindUnfinishedUploads(ctx)
	if err != nil {
		return n, err
	}
	for _, u := range open {
		ok, err := s.createMissingSource(ctx, u)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// adoptLinkUpload gives lu an upload row and a blob store upload. It
// reports false when another process did it first, or the video is gone
// (the link upload then lapses with its lease).
func (s *Service) adoptLinkUpload(ctx context.Context, lu store.LinkUpload) (bool, error) {
	key := blob.NewKey()
	mp, err := s.blobs.CreateMultipart(ctx, key)
	if err != nil {
		return false, s.storageErr(ctx, err)
	}
	now := s.store.Now()
	err = s.store.StartUpload(ctx, store.NewUpload{Upload: store.Upload{
		VideoID: lu.VideoID, Mode: store.ModePart, Status: store.UploadUploading,
		SourceKey: key, MultipartID: mp.ID, TotalParts: lu.TotalParts, Filename: lu.Filename,
		StartedAt: lu.StartedAt, UpdatedAt: now, LeaseExpiresAt: lu.LeaseExpiresAt,
	}})
	if err == nil {
		s.log.InfoContext(ctx, "gave an upload row to a link upload started before the upgrade", "video", lu.VideoID)
		return true, nil
	}
	if aerr := s.blobs.AbortMultipart(context.WithoutCancel(ctx), mp, nil); aerr != nil {
		s.log.ErrorContext(ctx, "dropping a blob store upload no row needs", "key", key, "err", aerr)
	}
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return false, err
}

// createMissingSource creates the empty source of an upload whose blob
// store upload is its source itself (the disk store's way) when the
// source does not exist and nothing was written in place yet.
func (s *Service) createMissingSource(ctx context.Context, u store.Upload) (bool, error) {
	if u.MultipartID != u.SourceKey {
		return false, nil // An object store's upload: not from before 0007.
	}
	for _, p := range u.Parts {
		if p.ETag == "" {
			return false, nil // Written in place: the source exists.
		}
	}
	f, err := s.blobs.Open(ctx, u.SourceKey)
	if err == nil {
		f.Close()
		return false, nil
	}
	if !errors.Is(err, blob.ErrNotFound) {
		return false, err
	}
	mp, err := s.blobs.CreateMultipart(ctx, u.SourceKey)
	if err != nil {
		if _, oerr := s.blobs.Open(ctx, u.SourceKey); oerr == nil {
			return false, nil // Another process created it meanwhile.
		}
		return false, s.storageErr(ctx, err)
	}
	if mp.ID != u.MultipartID {
		return false, errors.New("ingest: the blob store names the recreated source's upload differently")
	}
	s.log.InfoContext(ctx, "created the missing source of an upload started before the upgrade", "video", u.VideoID)
	return true, nil
}

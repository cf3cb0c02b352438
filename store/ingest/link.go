package ingest

import (
	"context"
	"errors"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/blob"
)

// Uploads through links come here straight from package links, with typed
// values: the link has been checked there, so no upload token is involved,
// and each part's length is known before its first byte.

// StartLink starts an upload through a link: in one transaction it takes
// one of the link's slots, creates the video and the upload that fills
// it, and records lu (whose VideoID it sets). The blob store upload is
// created first, and dropped if the transaction fails. Returns the
// store's errors: store.ErrNoSlot, store.ErrLinkClosed, store.ErrNotFound.
func (s *Service) StartLink(ctx context.Context, lu store.LinkUpload, v store.VideoCreate) (store.LinkUpload, error) {
	key := blob.NewKey()
	mp, err := s.blobs.CreateMultipart(ctx, key)
	if err != nil {
		return store.LinkUpload{}, s.storageErr(ctx, err)
	}
	now := s.store.Now()
	lu.VideoID = store.NewID(store.PrefixVideo)
	lu.LeaseExpiresAt = now.Add(s.lease)
	u := store.Upload{
		VideoID:        lu.VideoID,
		Mode:           store.ModePart,
		Status:         store.UploadUploading,
		SourceKey:      key,
		MultipartID:    mp.ID,
		TotalParts:     lu.TotalParts,
		Filename:       lu.Filename,
		StartedAt:      now,
		UpdatedAt:      now,
		LeaseExpiresAt: lu.LeaseExpiresAt,
	}
	if err := s.store.StartLinkUpload(ctx, lu, store.NewUpload{Upload: u, Video: &v}); err != nil {
		if aerr := s.blobs.AbortMultipart(context.WithoutCancel(ctx), mp, nil); aerr != nil {
			s.log.ErrorContext(ctx, "dropping the blob store upload of a start that failed", "key", key, "err", aerr)
		}
		return store.LinkUpload{}, err
	}
	return lu, nil
}

// LinkPart is part Part (of TotalParts) of the upload through link LinkID
// that fills VideoID: exactly Size bytes, starting at Offset in the file.
type LinkPart struct {
	LinkID, VideoID  string
	Part, TotalParts int
	Size, Offset     int64
}

// ErrPartRecorded is returned by BeginLinkPart for a part the upload
// holds already, or an upload that no longer takes parts: the caller
// answers from the upload's state.
var ErrPartRecorded = errors.New("ingest: the part is recorded, or the upload takes no more parts")

// BeginLinkPart claims a part of an upload through a link, before any of
// its bytes is read. Besides ErrPartRecorded, it returns refusals for a
// part another request is receiving (CodePartInFlight), too many parts in
// flight on the link (CodeTooManyParts), and an upload whose lease ran
// out, which it abandons (CodeUploadAbandoned).
func (s *Service) BeginLinkPart(ctx context.Context, lp LinkPart) (*Piece, error) {
	r := Range{Mode: Parts, Part: lp.Part, TotalParts: lp.TotalParts}
	p := &Piece{s: s, req: Request{Range: r, Size: lp.Size}, linkID: lp.LinkID, metrics: s.linkMetrics, begun: time.Now(), offset: lp.Offset}
	c, u, err := s.claimPart(ctx, lp.VideoID, lp.LinkID, r, lp.Size, "")
	switch {
	case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound):
		return nil, ErrPartRecorded
	case err != nil:
		s.refused(p.metrics, err)
		return nil, err
	}
	p.dest, p.target, p.claim = toPart, lp.VideoID, c
	p.upload = blob.Upload{Key: u.SourceKey, ID: u.MultipartID}
	if lapsed(u, s.store.Now()) {
		c.release(ctx)
		p.claim = nil
		return nil, s.abandon(ctx, u)
	}
	return p, nil
}

// CommitLink records a part begun by BeginLinkPart, and moves its upload
// through a link on by adv in the same transaction: one commit, one
// fsync of the database, per part. When the part completes the upload,
// the source is assembled before CommitLink returns (or by the cleanup
// job, after a failure).
func (p *Piece) CommitLink(ctx context.Context, adv store.LinkAdvance) error {
	if !p.received {
		return refuse(CodeNoFile, "file", "The part's body was not read.")
	}
	err := p.commitPart(ctx, p.target, &adv)
	if errors.Is(err, store.ErrNoSpace) {
		p.s.log.ErrorContext(ctx, "disk full while recording a part", "err", err)
		err = noSpace()
	}
	if err != nil {
		p.s.refused(p.metrics, err)
		return err
	}
	p.metrics.PartCommitted(p.part.Size, time.Since(p.begun))
	return nil
}

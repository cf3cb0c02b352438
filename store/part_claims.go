package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// PartClaim is a request's claim on one part of an upload while it
// receives the part's bytes (see ingest.Claims, which this backs when
// several processes share the database).
type PartClaim struct {
	VideoID string
	Seq     int64
	ClaimID string
	LinkID  string // The link the upload came through, or "".
	Size    int64  // The part's length, or -1 while unknown.
	// Received is the part's bytes received so far, as of the last
	// renewal.
	Received  int64
	ExpiresAt time.Time
	// AsideKey is the blob key of the object the claimant writes the
	// part to if it cannot write it into the upload directly, or "". A
	// lapsed claim's aside key is handed to whoever ends the claim, to
	// discard what its dead claimant left there.
	AsideKey string
}

// Errors of the part claims.
var (
	// ErrPartClaimed: a live claim of another request holds the part.
	ErrPartClaimed = errors.New("store: the part is claimed by another request")
	// ErrTooManyClaims: the upload or its link holds as many claims as
	// it may.
	ErrTooManyClaims = errors.New("store: too many parts in flight")
)

// ClaimPart records c unless a live claim holds the same part
// (ErrPartClaimed), or the upload already holds maxPerUpload live claims or
// its link maxPerLink (ErrTooManyClaims; 0 is no bound). Lapsed claims are
// deleted on the way, and the aside keys they held are returned (see
// sweepClaims): the caller discards what their claimants left there. The
// check and the insert are one write transaction, so that however many
// requests for a part arrive at once, at whichever process, one wins.
func (s *Store) ClaimPart(ctx context.Context, c PartClaim, maxPerUpload, maxPerLink int) (lapsed []string, err error) {
	now := millis(s.Now())
	err = s.inWrite(ctx, func(tx *txn) error {
		var err error
		if lapsed, err = sweepClaims(ctx, tx, now); err != nil {
			return err
		}
		var held, perUpload, perLink int
		err = tx.QueryRowContext(ctx, `
			SELECT
				(SELECT count(*) FROM part_claims WHERE video_id = ? AND seq = ?),
				(SELECT count(*) FROM part_claims WHERE video_id = ?),
				(SELECT count(*) FROM part_claims WHERE link_id = ? AND link_id <> '')`,
			c.VideoID, c.Seq, c.VideoID, c.LinkID).Scan(&held, &perUpload, &perLink)
		switch {
		case err != nil:
			return err
		case held > 0:
			return ErrPartClaimed
		case maxPerUpload > 0 && perUpload >= maxPerUpload, c.LinkID != "" && maxPerLink > 0 && perLink >= maxPerLink:
			return ErrTooManyClaims
		}
		_, err = tx.ExecContext(ctx, `
			INSERT INTO part_claims (video_id, seq, claim_id, link_id, size, received, expires_at, aside_key)
			VALUES (?, ?, ?, ?, ?, 0, ?, ?)`,
			c.VideoID, c.Seq, c.ClaimID, c.LinkID, c.Size, millis(c.ExpiresAt), c.AsideKey)
		return err
	})
	if err != nil {
		// The transaction rolled back: no lapsed claim was deleted.
		lapsed = nil
	}
	if err != nil && !errors.Is(err, ErrPartClaimed) && !errors.Is(err, ErrTooManyClaims) {
		return nil, fmt.Errorf("store: claim part %d of %s: %w", c.Seq, c.VideoID, err)
	}
	return lapsed, err
}

// SweepPartClaims deletes every lapsed claim and returns the aside keys
// they held (see sweepClaims). The cleanup job calls it, so that a
// claimant's debris is discarded even when nobody claims a part again.
func (s *Store) SweepPartClaims(ctx context.Context) ([]string, error) {
	var lapsed []string
	err := s.inWrite(ctx, func(tx *txn) error {
		var err error
		lapsed, err = sweepClaims(ctx, tx, millis(s.Now()))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: end the lapsed part claims: %w", err)
	}
	return lapsed, nil
}

// sweepClaims deletes the claims lapsed at now and returns the aside keys
// they held, but those a part of their upload records as its ETag and
// those an upload records as its source: a blob store that adopts an
// object as a part without copying it (blob.Dir, s3store's equal-part
// mode) names the part by the object's key, a new upload's claim on its
// object (package ingest, birth.go) names the upload's source, and the
// claimant may have died after recording either and before ending its
// claim.
func sweepClaims(ctx context.Context, tx *txn, now int64) ([]string, error) {
	keys, err := queryRows(ctx, tx, scanString, `
		SELECT c.aside_key FROM part_claims c
		WHERE c.expires_at <= ? AND c.aside_key <> ''
		  AND NOT EXISTS (SELECT 1 FROM upload_parts p WHERE p.video_id = c.video_id AND p.etag = c.aside_key)
		  AND NOT EXISTS (SELECT 1 FROM uploads u WHERE u.source_key = c.aside_key)`, now)
	if err != nil {
		return nil, err
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM part_claims WHERE expires_at <= ?`, now)
	return keys, err
}

// RenewPartClaim extends the claim claimID on a part until expiresAt, with
// the bytes received so far. Returns ErrNotFound if the claim is not there
// any more: it lapsed and another request took the part, or it ended.
func (s *Store) RenewPartClaim(ctx context.Context, videoID string, seq int64, claimID string, received int64, expiresAt time.Time) error {
	var n int64
	err := s.inWrite(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE part_claims SET received = ?, expires_at = ?
			WHERE video_id = ? AND seq = ? AND claim_id = ?`,
			received, millis(expiresAt), videoID, seq, claimID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	switch {
	case err != nil:
		return fmt.Errorf("store: renew the claim on part %d of %s: %w", seq, videoID, err)
	case n == 0:
		return ErrNotFound
	}
	return nil
}

// ReleasePartClaim ends the claim claimID on a part, if it is still there.
func (s *Store) ReleasePartClaim(ctx context.Context, videoID string, seq int64, claimID string) error {
	err := s.inWrite(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM part_claims WHERE video_id = ? AND seq = ? AND claim_id = ?`, videoID, seq, claimID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: release the claim on part %d of %s: %w", seq, videoID, err)
	}
	return nil
}

// LivePartClaims returns the live claims on the parts of a video, by
// position.
func (s *Store) LivePartClaims(ctx context.Context, videoID string) ([]PartClaim, error) {
	var cs []PartClaim
	err := s.inRead(ctx, func(tx *txn) error {
		var err error
		cs, err = queryRows(ctx, tx, scanPartClaim, `
			SELECT video_id, seq, claim_id, link_id, size, received, expires_at, aside_key
			FROM part_claims WHERE video_id = ? AND expires_at > ? ORDER BY seq`, videoID, millis(s.Now()))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: find the claims on the parts of %s: %w", videoID, err)
	}
	return cs, nil
}

func scanPartClaim(r rowScanner) (PartClaim, error) {
	var c PartClaim
	var expires int64
	err := r.Scan(&c.VideoID, &c.Seq, &c.ClaimID, &c.LinkID, &c.Size, &c.Received, &expires, &c.AsideKey)
	c.ExpiresAt = fromMillis(expires)
	return c, err
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Link upload statuses.
const (
	LinkUploadStarting  = "starting"  // A slot is reserved; the video is being created.
	LinkUploadUploading = "uploading" // Parts are arriving.
	LinkUploadCompleted = "completed"
	LinkUploadReleased  = "released" // Cancelled, refused or abandoned: the slot is free again.
)

// LinkUpload is one file uploaded through a link.
type LinkUpload struct {
	ID           string
	LinkID       string
	VideoID      string // Empty while starting.
	Status       string
	Filename     string
	Size         int64
	LastModified int64 // The browser's File.lastModified, part of the resume fingerprint.
	ChunkSize    int64
	TotalParts   int
	// NextPart is the first part not yet received; parts before it were
	// received in order and hashed into HashState.
	NextPart       int
	HashState      []byte
	SHA256         string // Hex, once completed.
	Title          string
	Description    string
	UploaderName   string
	UploaderEmail  string
	StartedAt      time.Time
	UpdatedAt      time.Time
	LeaseExpiresAt time.Time
	CompletedAt    *time.Time
	ReleasedReason string
}

// Received returns the number of bytes received in order so far.
func (u LinkUpload) Received() int64 {
	return min(int64(u.NextPart-1)*u.ChunkSize, u.Size)
}

// ErrNoSlot is returned when a link has no upload slot left: every slot is
// taken by a finished upload or by one in progress.
var ErrNoSlot = errors.New("no upload slot left")

// ErrLinkClosed is returned when a link is revoked or expired.
var ErrLinkClosed = errors.New("link closed")

// ReserveLinkUpload takes one of the link's upload slots for u, atomically:
// of any number of concurrent calls on a link with one slot left, exactly
// one succeeds. u.ID must be set. Returns ErrNotFound for an unknown link,
// ErrLinkClosed if the link is revoked or expired, and ErrNoSlot if it has
// no slot left.
func (s *Store) ReserveLinkUpload(ctx context.Context, u LinkUpload) error {
	err := s.inWrite(ctx, func(tx *sql.Tx) error {
		now := s.Now()
		l, err := findLink(ctx, tx, u.LinkID, now)
		if err != nil {
			return err
		}
		switch l.State(now) {
		case LinkRevoked, LinkExpired:
			return ErrLinkClosed
		case LinkUsedUp:
			return ErrNoSlot
		}
		if l.Remaining() == 0 {
			return ErrNoSlot
		}
		_, err = tx.ExecContext(ctx, `
			INSERT INTO link_uploads (id, link_id, status, filename, size, last_modified, chunk_size,
				total_parts, next_part, hash_state, title, description, uploader_name, uploader_email,
				started_at, updated_at, lease_expires_at)
			VALUES (?, ?, 'starting', ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.LinkID, u.Filename, u.Size, u.LastModified, u.ChunkSize, u.TotalParts, u.HashState,
			u.Title, u.Description, u.UploaderName, u.UploaderEmail,
			millis(now), millis(now), millis(u.LeaseExpiresAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: reserve upload on link %s: %w", u.LinkID, err)
	}
	return nil
}

// ActivateLinkUpload attaches the video created for a reserved upload and
// marks it uploading, and records the start on the link's timeline.
func (s *Store) ActivateLinkUpload(ctx context.Context, id, videoID string) error {
	err := s.inWrite(ctx, func(tx *sql.Tx) error {
		var linkID string
		err := tx.QueryRowContext(ctx, `
			UPDATE link_uploads SET video_id = ?, status = 'uploading', updated_at = ?
			WHERE id = ? AND status = 'starting'
			RETURNING link_id`, videoID, millis(s.Now()), id).Scan(&linkID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		return addLinkEvent(ctx, tx, LinkEvent{LinkID: linkID, At: s.Now(), Kind: EventStarted, VideoID: videoID})
	})
	if err != nil {
		return fmt.Errorf("store: activate link upload %s: %w", id, err)
	}
	return nil
}

const linkUploadColumns = `
	id, link_id, coalesce(video_id, ''), status, filename, size, last_modified, chunk_size,
	total_parts, next_part, hash_state, coalesce(sha256, ''), title, description,
	uploader_name, uploader_email, started_at, updated_at, lease_expires_at, completed_at,
	released_reason`

func scanLinkUpload(r rowScanner) (LinkUpload, error) {
	var (
		u                         LinkUpload
		started, updated, leaseTo int64
		completed                 sql.NullInt64
	)
	err := r.Scan(&u.ID, &u.LinkID, &u.VideoID, &u.Status, &u.Filename, &u.Size, &u.LastModified,
		&u.ChunkSize, &u.TotalParts, &u.NextPart, &u.HashState, &u.SHA256, &u.Title, &u.Description,
		&u.UploaderName, &u.UploaderEmail, &started, &updated, &leaseTo, &completed, &u.ReleasedReason)
	if err != nil {
		return LinkUpload{}, err
	}
	u.StartedAt, u.UpdatedAt, u.LeaseExpiresAt = fromMillis(started), fromMillis(updated), fromMillis(leaseTo)
	u.CompletedAt = nullMillis(completed)
	return u, nil
}

func (s *Store) findLinkUploads(ctx context.Context, where string, args ...any) ([]LinkUpload, error) {
	var us []LinkUpload
	err := s.inRead(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+linkUploadColumns+` FROM link_uploads `+where, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			u, err := scanLinkUpload(rows)
			if err != nil {
				return err
			}
			us = append(us, u)
		}
		return rows.Err()
	})
	return us, err
}

// FindLinkUpload returns the upload of a video through a link. Returns
// ErrNotFound if the video was not uploaded through that link.
func (s *Store) FindLinkUpload(ctx context.Context, linkID, videoID string) (LinkUpload, error) {
	us, err := s.findLinkUploads(ctx, `WHERE link_id = ? AND video_id = ?`, linkID, videoID)
	if err == nil && len(us) == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return LinkUpload{}, fmt.Errorf("store: find upload %s on link %s: %w", videoID, linkID, err)
	}
	return us[0], nil
}

// FindResumableLinkUpload returns the unfinished upload of the same file
// (by name, size and modification time) on the link whose lease still
// runs. Returns ErrNotFound if there is none.
func (s *Store) FindResumableLinkUpload(ctx context.Context, linkID, filename string, size, lastModified int64) (LinkUpload, error) {
	us, err := s.findLinkUploads(ctx, `
		WHERE link_id = ? AND status = 'uploading' AND filename = ? AND size = ? AND last_modified = ?
		  AND lease_expires_at > ?
		ORDER BY started_at DESC LIMIT 1`, linkID, filename, size, lastModified, millis(s.Now()))
	if err == nil && len(us) == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return LinkUpload{}, fmt.Errorf("store: find resumable upload on link %s: %w", linkID, err)
	}
	return us[0], nil
}

// ListLinkUploads returns the uploads of a link, newest first.
func (s *Store) ListLinkUploads(ctx context.Context, linkID string) ([]LinkUpload, error) {
	us, err := s.findLinkUploads(ctx, `WHERE link_id = ? ORDER BY started_at DESC, id`, linkID)
	if err != nil {
		return nil, fmt.Errorf("store: list uploads of link %s: %w", linkID, err)
	}
	return us, nil
}

// FindLapsedLinkUploads returns unfinished uploads whose lease ran out.
func (s *Store) FindLapsedLinkUploads(ctx context.Context) ([]LinkUpload, error) {
	us, err := s.findLinkUploads(ctx, `
		WHERE status IN ('starting', 'uploading') AND lease_expires_at <= ?`, millis(s.Now()))
	if err != nil {
		return nil, fmt.Errorf("store: find lapsed link uploads: %w", err)
	}
	return us, nil
}

// AdvanceLinkUpload records that part `from` was received and hashed:
// NextPart moves from `from` to from+1 and the lease is renewed until
// leaseTo. When the part is the last, the upload is completed with the
// given SHA-256. Returns ErrConflict if NextPart was not `from` (another
// request recorded the part first).
func (s *Store) AdvanceLinkUpload(ctx context.Context, id string, from int, hashState []byte, sha256 string, leaseTo time.Time) error {
	err := s.inWrite(ctx, func(tx *sql.Tx) error {
		now := millis(s.Now())
		var linkID, videoID string
		var next, total int
		err := tx.QueryRowContext(ctx, `
			UPDATE link_uploads SET next_part = next_part + 1, hash_state = ?, updated_at = ?, lease_expires_at = ?
			WHERE id = ? AND next_part = ? AND status = 'uploading'
			RETURNING link_id, video_id, next_part, total_parts`,
			hashState, now, millis(leaseTo), id, from).Scan(&linkID, &videoID, &next, &total)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrConflict
		}
		if err != nil {
			return err
		}
		if next <= total {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE link_uploads SET status = 'completed', sha256 = ?, completed_at = ? WHERE id = ?`,
			sha256, now, id); err != nil {
			return err
		}
		return addLinkEvent(ctx, tx, LinkEvent{LinkID: linkID, At: fromMillis(now), Kind: EventCompleted, VideoID: videoID})
	})
	if err != nil {
		return fmt.Errorf("store: advance link upload %s: %w", id, err)
	}
	return nil
}

// RenewLinkUploadLease extends an unfinished upload's lease, when a part
// it already had is sent again.
func (s *Store) RenewLinkUploadLease(ctx context.Context, id string, leaseTo time.Time) error {
	err := s.inWrite(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
			UPDATE link_uploads SET lease_expires_at = max(lease_expires_at, ?), updated_at = ?
			WHERE id = ? AND status = 'uploading'`, millis(leaseTo), millis(s.Now()), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: renew link upload lease %s: %w", id, err)
	}
	return nil
}

// ReleaseLinkUpload gives an unfinished upload's slot back and records why
// on the link's timeline (kind is EventCancelled, EventRefused or
// EventAbandoned). Returns ErrConflict if the upload is no longer
// unfinished.
func (s *Store) ReleaseLinkUpload(ctx context.Context, id, kind, reason string) error {
	err := s.inWrite(ctx, func(tx *sql.Tx) error {
		var linkID, videoID string
		err := tx.QueryRowContext(ctx, `
			UPDATE link_uploads SET status = 'released', released_reason = ?, updated_at = ?
			WHERE id = ? AND status IN ('starting', 'uploading')
			RETURNING link_id, coalesce(video_id, '')`, reason, millis(s.Now()), id).Scan(&linkID, &videoID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrConflict
		}
		if err != nil {
			return err
		}
		return addLinkEvent(ctx, tx, LinkEvent{LinkID: linkID, At: s.Now(), Kind: kind, VideoID: videoID, Detail: reason})
	})
	if err != nil {
		return fmt.Errorf("store: release link upload %s: %w", id, err)
	}
	return nil
}

// DeleteLinkUpload removes a reservation whose video could not be created.
func (s *Store) DeleteLinkUpload(ctx context.Context, id string) error {
	err := s.inWrite(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM link_uploads WHERE id = ? AND status = 'starting'`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete link upload %s: %w", id, err)
	}
	return nil
}

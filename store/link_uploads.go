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
	NextPart      int
	HashState     []byte
	SHA256        string // Hex, once completed.
	Title         string
	Description   string
	UploaderName  string
	UploaderEmail string
	// Token is the upload's own upload token on a remote host (upstream
	// mode) until it is deleted there; empty otherwise.
	Token          string
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
// one succeeds. The upload is starting until ActivateLinkUpload gives it
// its video; its slot is held only until u.LeaseExpiresAt, which the
// caller sets short, so that a start that never finishes (its process
// died) frees the slot by itself. u.ID must be set. Returns ErrNotFound
// for an unknown link, ErrLinkClosed if the link is revoked or expired,
// and ErrNoSlot if it has no slot left.
func (s *Store) ReserveLinkUpload(ctx context.Context, u LinkUpload) error {
	err := s.inWrite(ctx, func(tx *txn) error {
		if err := reserveSlot(ctx, tx, u.LinkID, s.Now()); err != nil {
			return err
		}
		return insertLinkUpload(ctx, tx, u, LinkUploadStarting, s.Now())
	})
	if err != nil {
		return fmt.Errorf("store: reserve upload on link %s: %w", u.LinkID, err)
	}
	return nil
}

// StartLinkUpload takes one of the link's upload slots for lu atomically,
// as ReserveLinkUpload does, and in the same transaction creates its
// video and the upload that fills it (n, whose Video must be set): an
// upload through a link handled by this server starts whole or not at
// all. lu.VideoID must be n's. Returns the errors of ReserveLinkUpload.
func (s *Store) StartLinkUpload(ctx context.Context, lu LinkUpload, n NewUpload) error {
	err := s.inWrite(ctx, func(tx *txn) error {
		now := s.Now()
		if err := reserveSlot(ctx, tx, lu.LinkID, now); err != nil {
			return err
		}
		if err := startUpload(ctx, tx, n); err != nil {
			return err
		}
		if err := insertLinkUpload(ctx, tx, lu, LinkUploadUploading, now); err != nil {
			return err
		}
		return addLinkEvent(ctx, tx, LinkEvent{LinkID: lu.LinkID, At: now, Kind: EventStarted, VideoID: lu.VideoID})
	})
	if err != nil {
		return fmt.Errorf("store: start upload on link %s: %w", lu.LinkID, err)
	}
	return nil
}

// reserveSlot checks that the link takes a new upload now.
func reserveSlot(ctx context.Context, tx *txn, linkID string, now time.Time) error {
	l, err := findLink(ctx, tx, linkID, now)
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
	return nil
}

func insertLinkUpload(ctx context.Context, tx *txn, u LinkUpload, status string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO link_uploads (id, link_id, video_id, status, filename, size, last_modified, chunk_size,
			total_parts, next_part, hash_state, title, description, uploader_name, uploader_email, token,
			started_at, updated_at, lease_expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.LinkID, nullIfEmpty(u.VideoID), status, u.Filename, u.Size, u.LastModified, u.ChunkSize, u.TotalParts,
		u.HashState, u.Title, u.Description, u.UploaderName, u.UploaderEmail, u.Token,
		millis(now), millis(now), millis(u.LeaseExpiresAt))
	return err
}

// ActivateLinkUpload attaches the video (and the remote token) created for
// a reserved upload, marks it uploading with its lease running until
// leaseTo, and records the start on the link's timeline. Returns
// ErrNotFound if the upload is no longer starting.
func (s *Store) ActivateLinkUpload(ctx context.Context, id, videoID, token string, leaseTo time.Time) error {
	err := s.inWrite(ctx, func(tx *txn) error {
		var linkID string
		err := tx.QueryRowContext(ctx, `
			UPDATE link_uploads SET video_id = ?, token = ?, status = 'uploading', updated_at = ?, lease_expires_at = ?
			WHERE id = ? AND status = 'starting'
			RETURNING link_id`, videoID, token, millis(s.Now()), millis(leaseTo), id).Scan(&linkID)
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
	uploader_name, uploader_email, token, started_at, updated_at, lease_expires_at, completed_at,
	released_reason`

func scanLinkUpload(r rowScanner) (LinkUpload, error) {
	var (
		u                         LinkUpload
		started, updated, leaseTo int64
		completed                 sql.NullInt64
	)
	err := r.Scan(&u.ID, &u.LinkID, &u.VideoID, &u.Status, &u.Filename, &u.Size, &u.LastModified,
		&u.ChunkSize, &u.TotalParts, &u.NextPart, &u.HashState, &u.SHA256, &u.Title, &u.Description,
		&u.UploaderName, &u.UploaderEmail, &u.Token, &started, &updated, &leaseTo, &completed, &u.ReleasedReason)
	if err != nil {
		return LinkUpload{}, err
	}
	u.StartedAt, u.UpdatedAt, u.LeaseExpiresAt = fromMillis(started), fromMillis(updated), fromMillis(leaseTo)
	u.CompletedAt = nullMillis(completed)
	return u, nil
}

func (s *Store) findLinkUploads(ctx context.Context, where string, args ...any) ([]LinkUpload, error) {
	var us []LinkUpload
	err := s.inRead(ctx, func(tx *txn) error {
		var err error
		us, err = queryRows(ctx, tx, scanLinkUpload, `SELECT `+linkUploadColumns+` FROM link_uploads `+where, args...)
		return err
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

// FindResumableLinkUpload returns the upload of the same file (by name,
// size and modification time) on the link that the uploader may come back
// to: the unfinished one whose lease still runs, or else the completed
// one, whose receipt the uploader gets again. Returns ErrNotFound if
// there is none.
func (s *Store) FindResumableLinkUpload(ctx context.Context, linkID, filename string, size, lastModified int64) (LinkUpload, error) {
	us, err := s.findLinkUploads(ctx, `
		WHERE link_id = ? AND filename = ? AND size = ? AND last_modified = ?
		  AND (status = 'uploading' AND lease_expires_at > ? OR status = 'completed')
		ORDER BY started_at DESC, id`, linkID, filename, size, lastModified, millis(s.Now()))
	if err == nil && len(us) == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return LinkUpload{}, fmt.Errorf("store: find resumable upload on link %s: %w", linkID, err)
	}
	for _, u := range us {
		if u.Status == LinkUploadUploading {
			return u, nil
		}
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

// FindLapsedLinkUploads returns the unfinished uploads through links whose
// lease ran out and that this server does not receive: those a remote
// host receives (upstream mode), and those whose start never finished.
// The upload service abandons the others (AbandonUpload), and releases
// their link uploads with them.
func (s *Store) FindLapsedLinkUploads(ctx context.Context) ([]LinkUpload, error) {
	us, err := s.findLinkUploads(ctx, `
		WHERE status IN ('starting', 'uploading') AND lease_expires_at <= ?
		  AND NOT EXISTS (SELECT 1 FROM uploads u WHERE u.video_id = link_uploads.video_id)`, millis(s.Now()))
	if err != nil {
		return nil, fmt.Errorf("store: find lapsed link uploads: %w", err)
	}
	return us, nil
}

// FindLocalLinkUploadsWithoutUpload returns the unfinished uploads
// through links that this server receives (no remote token) but that have
// no upload row. Only uploads started before migration 0007 can be so: the
// code of the time created the upload row with the first part. The upload
// service gives them one (ingest Recover).
func (s *Store) FindLocalLinkUploadsWithoutUpload(ctx context.Context) ([]LinkUpload, error) {
	us, err := s.findLinkUploads(ctx, `
		WHERE status = 'uploading' AND token = ''
		  AND NOT EXISTS (SELECT 1 FROM uploads u WHERE u.video_id = link_uploads.video_id)`)
	if err != nil {
		return nil, fmt.Errorf("store: find link uploads without an upload: %w", err)
	}
	return us, nil
}

// AdvanceLinkUpload records that part adv.From of an upload through a
// link was received by a remote host and hashed (upstream mode): NextPart
// moves on and the lease is renewed until leaseTo, and after the last part
// the upload is completed, with an event on the link's timeline. (An
// upload this server receives is moved on by CommitPart instead, in the
// transaction that records the part.) Returns ErrConflict if NextPart was
// not adv.From: another request recorded the part first.
func (s *Store) AdvanceLinkUpload(ctx context.Context, adv LinkAdvance, leaseTo time.Time) error {
	err := s.inWrite(ctx, func(tx *txn) error {
		now := millis(s.Now())
		if err := advanceLinkUpload(ctx, tx, adv, now, millis(leaseTo)); err != nil {
			return err
		}
		var videoID string
		if err := tx.QueryRowContext(ctx, `SELECT video_id FROM link_uploads WHERE id = ?`, adv.ID).Scan(&videoID); err != nil {
			return err
		}
		return completeLinkUpload(ctx, tx, videoID, now)
	})
	if err != nil {
		return fmt.Errorf("store: advance link upload %s: %w", adv.ID, err)
	}
	return nil
}

// advanceLinkUpload moves an upload through a link past part adv.From and
// renews its lease until leaseTo.
func advanceLinkUpload(ctx context.Context, tx *txn, adv LinkAdvance, now, leaseTo int64) error {
	res, err := tx.ExecContext(ctx, `
		UPDATE link_uploads SET next_part = next_part + 1, hash_state = ?, sha256 = nullif(?, ''), updated_at = ?,
			lease_expires_at = `+tx.d.greatest("lease_expires_at", "?")+`
		WHERE id = ? AND next_part = ? AND status = 'uploading'`,
		adv.HashState, adv.SHA256, now, leaseTo, adv.ID, adv.From)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrConflict
	}
	return nil
}

// completeLinkUpload completes the upload through a link of a video once
// it holds every part, with an event on its link's timeline. A video not
// uploaded through a link is left alone.
func completeLinkUpload(ctx context.Context, tx *txn, videoID string, now int64) error {
	var linkID string
	err := tx.QueryRowContext(ctx, `
		UPDATE link_uploads SET status = 'completed', completed_at = ?, updated_at = ?
		WHERE video_id = ? AND status = 'uploading' AND next_part > total_parts
		RETURNING link_id`, now, now, videoID).Scan(&linkID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return addLinkEvent(ctx, tx, LinkEvent{LinkID: linkID, At: fromMillis(now), Kind: EventCompleted, VideoID: videoID})
}

// releaseLinkUploadOf releases the unfinished upload through a link of a
// video, if there is one, recording why on the link's timeline, and
// reports whether there was one.
func releaseLinkUploadOf(ctx context.Context, tx *txn, videoID, kind, reason string, now time.Time) (bool, error) {
	var linkID string
	err := tx.QueryRowContext(ctx, `
		UPDATE link_uploads SET status = 'released', released_reason = ?, updated_at = ?
		WHERE video_id = ? AND status IN ('starting', 'uploading')
		RETURNING link_id`, reason, millis(now), videoID).Scan(&linkID)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, addLinkEvent(ctx, tx, LinkEvent{LinkID: linkID, At: now, Kind: kind, VideoID: videoID, Detail: reason})
}

// FindStartingLinkUploads returns the uploads through links still
// starting since before t.
func (s *Store) FindStartingLinkUploads(ctx context.Context, t time.Time) ([]LinkUpload, error) {
	us, err := s.findLinkUploads(ctx, `WHERE status = 'starting' AND updated_at < ?`, millis(t))
	if err != nil {
		return nil, fmt.Errorf("store: find starting link uploads: %w", err)
	}
	return us, nil
}

// ClearLinkUploadToken forgets an upload's remote token, once deleted.
func (s *Store) ClearLinkUploadToken(ctx context.Context, id string) error {
	err := s.inWrite(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `UPDATE link_uploads SET token = '' WHERE id = ?`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: clear the token of link upload %s: %w", id, err)
	}
	return nil
}

// FindEndedLinkUploadsWithToken returns the ended uploads through links
// whose remote token is not deleted yet.
func (s *Store) FindEndedLinkUploadsWithToken(ctx context.Context) ([]LinkUpload, error) {
	us, err := s.findLinkUploads(ctx, `WHERE token <> '' AND status IN ('completed', 'released')`)
	if err != nil {
		return nil, fmt.Errorf("store: find ended link uploads with a token: %w", err)
	}
	return us, nil
}

// RenewLinkUploadLease extends an unfinished upload's lease, when a part
// it already had is sent again.
func (s *Store) RenewLinkUploadLease(ctx context.Context, id string, leaseTo time.Time) error {
	err := s.inWrite(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `
			UPDATE link_uploads SET lease_expires_at = `+tx.d.greatest("lease_expires_at", "?")+`, updated_at = ?
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
	err := s.inWrite(ctx, func(tx *txn) error {
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
	err := s.inWrite(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM link_uploads WHERE id = ? AND status = 'starting'`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete link upload %s: %w", id, err)
	}
	return nil
}

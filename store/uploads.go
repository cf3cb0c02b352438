package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Upload modes: how the client splits the source (api.video's three ways).
const (
	ModeSingle = "single" // One request, no Content-Range.
	ModePart   = "part"   // Content-Range: part N/M or part N/*.
	ModeBytes  = "bytes"  // Content-Range: bytes a-b/total.
)

// Upload statuses, as api.video's ingest.status reports them.
const (
	UploadUploading = "uploading"
	UploadUploaded  = "uploaded"
)

// Upload is the ingest state of one video's source.
type Upload struct {
	VideoID        string
	TokenID        string
	Mode           string
	Status         string
	SourceKey      string // Blob holding the assembled source.
	SourceSize     int64  // Durable, contiguous bytes at the start of SourceKey.
	AppendedParts  int    // Part mode: parts 1..AppendedParts are in the source.
	TotalParts     int    // Part mode: 0 until a part carries the total.
	TotalBytes     int64  // Bytes mode: the declared total; otherwise set on completion.
	Filename       string
	OwnsVideo      bool // The upload created the video (rather than filling one made by POST /videos).
	StartedAt      time.Time
	UpdatedAt      time.Time
	LeaseExpiresAt time.Time
	CompletedAt    *time.Time
	Parts          []Part // Ordered by Seq.
}

// Part is one accepted piece of an upload.
type Part struct {
	// Seq is the part number (part mode), the first byte (bytes mode), or
	// 1 (single mode).
	Seq  int64
	Size int64
	// Offset is the piece's position in the source once appended, or -1
	// while it waits aside in StagedKey.
	Offset    int64
	StagedKey string
	// ReceivedAt is when the piece was accepted.
	ReceivedAt time.Time
}

// Staged reports whether the part waits aside rather than in the source.
func (p Part) Staged() bool { return p.StagedKey != "" }

// Part returns the piece with the given seq, if the upload has it.
func (u Upload) Part(seq int64) (Part, bool) {
	for _, p := range u.Parts {
		if p.Seq == seq {
			return p, true
		}
	}
	return Part{}, false
}

// NewUpload describes the first accepted piece of an upload, and the video
// to create for it when the upload does not fill an existing video.
type NewUpload struct {
	Upload Upload
	First  Part
	// Video is created along with the upload when not nil; otherwise the
	// upload fills the existing video Upload.VideoID.
	Video *VideoCreate
}

// StartUpload records a new upload and its first piece, creating the video
// too if asked. Returns ErrConflict if the video already has an upload, and
// ErrNotFound if it should exist and does not.
func (s *Store) StartUpload(ctx context.Context, n NewUpload) error {
	u := n.Upload
	err := s.inWrite(ctx, func(tx *sql.Tx) error {
		if n.Video != nil {
			if err := createVideo(ctx, tx, u.VideoID, *n.Video, u.StartedAt); err != nil {
				return err
			}
		} else {
			var exists int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM videos WHERE id = ?`, u.VideoID).Scan(&exists); err != nil {
				return err
			}
			if exists == 0 {
				return ErrNotFound
			}
			var started int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM uploads WHERE video_id = ?`, u.VideoID).Scan(&started); err != nil {
				return err
			}
			if started > 0 {
				return ErrConflict
			}
		}
		_, err := tx.ExecContext(ctx, `
			INSERT INTO uploads (video_id, token_id, mode, status, source_key, source_size,
				appended_parts, total_parts, total_bytes, filename, owns_video,
				started_at, updated_at, lease_expires_at, completed_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			u.VideoID, u.TokenID, u.Mode, u.Status, u.SourceKey, u.SourceSize,
			u.AppendedParts, nullInt(int64(u.TotalParts)), nullInt(u.TotalBytes), u.Filename, n.Video != nil,
			millis(u.StartedAt), millis(u.UpdatedAt), millis(u.LeaseExpiresAt), nullTime(u.CompletedAt))
		if err != nil {
			return err
		}
		return insertPart(ctx, tx, u.VideoID, n.First)
	})
	if err != nil {
		return fmt.Errorf("store: start upload of %s: %w", u.VideoID, err)
	}
	return nil
}

// PartChange is what a progress update does to an upload's pieces.
type PartChange struct {
	// Insert records a newly accepted piece.
	Insert *Part
	// Appended moves a staged piece into the source at its Offset.
	Appended *Part
}

// SaveUpload writes u's progress (sizes, totals, status, lease) together
// with the piece change, in one transaction. Returns ErrNotFound if the
// upload no longer exists, and ErrConflict if the inserted piece was
// recorded meanwhile.
func (s *Store) SaveUpload(ctx context.Context, u Upload, c PartChange) error {
	err := s.inWrite(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE uploads SET
				status = ?, source_size = ?, appended_parts = ?, total_parts = ?,
				total_bytes = ?, updated_at = ?, lease_expires_at = ?, completed_at = ?
			WHERE video_id = ?`,
			u.Status, u.SourceSize, u.AppendedParts, nullInt(int64(u.TotalParts)),
			nullInt(u.TotalBytes), millis(u.UpdatedAt), millis(u.LeaseExpiresAt), nullTime(u.CompletedAt),
			u.VideoID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if c.Insert != nil {
			if err := insertPart(ctx, tx, u.VideoID, *c.Insert); err != nil {
				return err
			}
		}
		if c.Appended != nil {
			res, err := tx.ExecContext(ctx, `
				UPDATE upload_parts SET offset = ?, staged_key = NULL
				WHERE video_id = ? AND seq = ? AND staged_key IS NOT NULL`,
				c.Appended.Offset, u.VideoID, c.Appended.Seq)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return ErrConflict
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: save upload of %s: %w", u.VideoID, err)
	}
	return nil
}

func insertPart(ctx context.Context, tx *sql.Tx, videoID string, p Part) error {
	var offset sql.NullInt64
	var staged sql.NullString
	if p.Staged() {
		staged = sql.NullString{String: p.StagedKey, Valid: true}
	} else {
		offset = sql.NullInt64{Int64: p.Offset, Valid: true}
	}
	res, err := tx.ExecContext(ctx, `
		INSERT INTO upload_parts (video_id, seq, size, offset, staged_key, received_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (video_id, seq) DO NOTHING`,
		videoID, p.Seq, p.Size, offset, staged, millis(p.ReceivedAt))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrConflict
	}
	return nil
}

// FindUpload returns the upload of a video with its pieces. Returns
// ErrNotFound if no byte of the video was accepted yet.
func (s *Store) FindUpload(ctx context.Context, videoID string) (Upload, error) {
	var u Upload
	err := s.inRead(ctx, func(tx *sql.Tx) error {
		us, err := findUploads(ctx, tx, `WHERE video_id = ?`, videoID)
		if err != nil {
			return err
		}
		if len(us) == 0 {
			return ErrNotFound
		}
		u = us[0]
		return nil
	})
	if err != nil {
		return Upload{}, fmt.Errorf("store: find upload of %s: %w", videoID, err)
	}
	return u, nil
}

// FindOpenUploads returns the unfinished uploads started with a token.
func (s *Store) FindOpenUploads(ctx context.Context, tokenID string) ([]Upload, error) {
	var us []Upload
	err := s.inRead(ctx, func(tx *sql.Tx) error {
		var err error
		us, err = findUploads(ctx, tx, `WHERE token_id = ? AND status = 'uploading'`, tokenID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: find open uploads of a token: %w", err)
	}
	return us, nil
}

// FindLapsedUploads returns every unfinished upload whose lease ran out
// at or before t.
func (s *Store) FindLapsedUploads(ctx context.Context, t time.Time) ([]Upload, error) {
	var us []Upload
	err := s.inRead(ctx, func(tx *sql.Tx) error {
		var err error
		us, err = findUploads(ctx, tx, `WHERE status = 'uploading' AND lease_expires_at <= ?`, millis(t))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: find lapsed uploads: %w", err)
	}
	return us, nil
}

// FindDrainableUploads returns the unfinished uploads that have pieces
// waiting aside. After a crash, some of them may be ready to append.
func (s *Store) FindDrainableUploads(ctx context.Context) ([]Upload, error) {
	var us []Upload
	err := s.inRead(ctx, func(tx *sql.Tx) error {
		var err error
		us, err = findUploads(ctx, tx, `WHERE status = 'uploading' AND EXISTS (
			SELECT 1 FROM upload_parts p WHERE p.video_id = uploads.video_id AND p.staged_key IS NOT NULL)`)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: find drainable uploads: %w", err)
	}
	return us, nil
}

func findUploads(ctx context.Context, tx *sql.Tx, where string, args ...any) ([]Upload, error) {
	rows, err := tx.QueryContext(ctx, `
		SELECT video_id, token_id, mode, status, source_key, source_size, appended_parts,
			coalesce(total_parts, 0), coalesce(total_bytes, 0), filename, owns_video,
			started_at, updated_at, lease_expires_at, completed_at
		FROM uploads `+where+` ORDER BY started_at, video_id`, args...)
	if err != nil {
		return nil, err
	}
	var us []Upload
	for rows.Next() {
		var (
			u                         Upload
			started, updated, leaseTo int64
			completed                 sql.NullInt64
		)
		if err := rows.Scan(&u.VideoID, &u.TokenID, &u.Mode, &u.Status, &u.SourceKey, &u.SourceSize,
			&u.AppendedParts, &u.TotalParts, &u.TotalBytes, &u.Filename, &u.OwnsVideo,
			&started, &updated, &leaseTo, &completed); err != nil {
			rows.Close()
			return nil, err
		}
		u.StartedAt, u.UpdatedAt, u.LeaseExpiresAt = fromMillis(started), fromMillis(updated), fromMillis(leaseTo)
		u.CompletedAt = nullMillis(completed)
		us = append(us, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range us {
		parts, err := findParts(ctx, tx, us[i].VideoID)
		if err != nil {
			return nil, err
		}
		us[i].Parts = parts
	}
	return us, nil
}

func findParts(ctx context.Context, tx *sql.Tx, videoID string) ([]Part, error) {
	rows, err := tx.QueryContext(ctx, `
		SELECT seq, size, coalesce(offset, -1), coalesce(staged_key, ''), received_at
		FROM upload_parts WHERE video_id = ? ORDER BY seq`, videoID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var parts []Part
	for rows.Next() {
		var p Part
		var received int64
		if err := rows.Scan(&p.Seq, &p.Size, &p.Offset, &p.StagedKey, &received); err != nil {
			return nil, err
		}
		p.ReceivedAt = fromMillis(received)
		parts = append(parts, p)
	}
	return parts, rows.Err()
}

// AbandonUpload forgets an unfinished upload and returns the blob keys that
// held its bytes. A video that the upload itself created is deleted with
// it; a video created beforehand (POST /videos) is kept, empty, so that it
// can be uploaded again. Returns ErrNotFound if there is no such upload,
// and ErrConflict if it has completed meanwhile.
func (s *Store) AbandonUpload(ctx context.Context, videoID string) ([]string, error) {
	var keys []string
	err := s.inWrite(ctx, func(tx *sql.Tx) error {
		var status string
		var ownsVideo bool
		err := tx.QueryRowContext(ctx, `SELECT status, owns_video FROM uploads WHERE video_id = ?`, videoID).Scan(&status, &ownsVideo)
		if isNoRows(err) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if status != UploadUploading {
			return ErrConflict
		}
		if keys, err = uploadKeys(ctx, tx, videoID); err != nil {
			return err
		}
		if ownsVideo {
			_, err = tx.ExecContext(ctx, `DELETE FROM videos WHERE id = ?`, videoID)
		} else {
			_, err = tx.ExecContext(ctx, `DELETE FROM uploads WHERE video_id = ?`, videoID)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: abandon upload of %s: %w", videoID, err)
	}
	return keys, nil
}

// uploadKeys lists the blobs that hold a video's bytes: its source and any
// staged pieces.
func uploadKeys(ctx context.Context, tx *sql.Tx, videoID string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `
		SELECT source_key FROM uploads WHERE video_id = ?
		UNION ALL
		SELECT staged_key FROM upload_parts WHERE video_id = ? AND staged_key IS NOT NULL`,
		videoID, videoID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// BlobRefs returns every blob key the database refers to, with the size of
// its durable content: the source size for sources, the piece size for
// staged pieces. Recovery uses it to cut debris and reclaim orphans.
func (s *Store) BlobRefs(ctx context.Context) (map[string]int64, error) {
	refs := map[string]int64{}
	err := s.inRead(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `
			SELECT source_key, source_size FROM uploads
			UNION ALL
			SELECT staged_key, size FROM upload_parts WHERE staged_key IS NOT NULL`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			var n int64
			if err := rows.Scan(&k, &n); err != nil {
				return err
			}
			refs[k] = n
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: list blob references: %w", err)
	}
	return refs, nil
}

func nullInt(v int64) sql.NullInt64 {
	return sql.NullInt64{Int64: v, Valid: v != 0}
}

func nullTime(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: millis(*t), Valid: true}
}

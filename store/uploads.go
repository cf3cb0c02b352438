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

// Upload statuses, as api.video's ingest.status reports them, plus the
// short step between the last part and the assembled object.
const (
	UploadUploading = "uploading"
	// UploadCompleting: every part is recorded and the object is being
	// assembled from them. Whoever finds an upload in this state may
	// finish it (ingest.Service); clients still see "uploading".
	UploadCompleting = "completing"
	UploadUploaded   = "uploaded"
)

// Upload is the ingest state of one video's source.
type Upload struct {
	VideoID string
	// TokenID is the upload token that started the upload; empty for an
	// upload through a link, which needs none.
	TokenID string
	Mode    string
	Status  string
	// SourceKey is the blob the source is assembled in, by the blob
	// store's multipart upload MultipartID until it is complete.
	SourceKey   string
	MultipartID string
	// SourceSize and ReceivedParts count what was recorded so far.
	SourceSize    int64
	ReceivedParts int
	TotalParts    int   // Part mode: 0 until a part carries the total.
	TotalBytes    int64 // Bytes mode: the declared total; otherwise set on completion.
	Filename      string
	// OwnsVideo: the upload created the video (rather than filling one
	// made by POST /videos, or by a link's start).
	OwnsVideo      bool
	StartedAt      time.Time
	UpdatedAt      time.Time
	LeaseExpiresAt time.Time
	CompletedAt    *time.Time
	Parts          []Part // Ordered by Seq.
}

// Part is one recorded piece of an upload.
type Part struct {
	// Seq is the part number (part mode), the first byte (bytes mode), or
	// 1 (single mode).
	Seq int64
	// Number is the blob store's part number (see blob.Part).
	Number int
	Size   int64
	// ETag is what the blob store returned for the write of the part the
	// source is assembled from.
	ETag string
	// ReceivedAt is when the part was recorded.
	ReceivedAt time.Time
}

// Part returns the piece with the given seq, if the upload has it.
func (u Upload) Part(seq int64) (Part, bool) {
	for _, p := range u.Parts {
		if p.Seq == seq {
			return p, true
		}
	}
	return Part{}, false
}

// Open reports whether the upload still takes parts.
func (u Upload) Open() bool { return u.Status == UploadUploading }

// NewUpload describes a new upload: with its first part, or none yet (an
// upload through a link, started before any byte), and the video to create
// for it when it does not fill an existing video.
type NewUpload struct {
	Upload Upload
	First  *Part
	// Video is created along with the upload when not nil; otherwise the
	// upload fills the existing video Upload.VideoID.
	Video *VideoCreate
}

// StartUpload records a new upload (complete already when its first part
// is the whole of it), creating the video too if asked. Returns
// ErrConflict if the video already has an upload, and ErrNotFound if it
// should exist and does not.
func (s *Store) StartUpload(ctx context.Context, n NewUpload) error {
	err := s.inWrite(ctx, func(tx *txn) error { return startUpload(ctx, tx, n) })
	if err != nil {
		return fmt.Errorf("store: start upload of %s: %w", n.Upload.VideoID, err)
	}
	return nil
}

func startUpload(ctx context.Context, tx *txn, n NewUpload) error {
	u := n.Upload
	if n.Video != nil {
		if err := createVideo(ctx, tx, u.VideoID, *n.Video, u.StartedAt); err != nil {
			return err
		}
	} else {
		var exists, started int
		err := tx.QueryRowContext(ctx, `
			SELECT (SELECT count(*) FROM videos WHERE id = ?), (SELECT count(*) FROM uploads WHERE video_id = ?)`,
			u.VideoID, u.VideoID).Scan(&exists, &started)
		switch {
		case err != nil:
			return err
		case exists == 0:
			return ErrNotFound
		case started > 0:
			return ErrConflict
		}
	}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO uploads (video_id, token_id, mode, status, source_key, multipart_id,
			source_size, received_parts, total_parts, total_bytes, filename, owns_video,
			started_at, updated_at, lease_expires_at, completed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.VideoID, nullIfEmpty(u.TokenID), u.Mode, u.Status, u.SourceKey, nullIfEmpty(u.MultipartID),
		u.SourceSize, u.ReceivedParts, nullInt(int64(u.TotalParts)), nullInt(u.TotalBytes), u.Filename, n.Video != nil,
		millis(u.StartedAt), millis(u.UpdatedAt), millis(u.LeaseExpiresAt), nullTime(u.CompletedAt))
	if err != nil {
		return err
	}
	if n.First != nil {
		return insertPart(ctx, tx, u.VideoID, *n.First)
	}
	return nil
}

func insertPart(ctx context.Context, tx *txn, videoID string, p Part) error {
	res, err := tx.ExecContext(ctx, `
		INSERT INTO upload_parts (video_id, seq, number, size, etag, received_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`,
		videoID, p.Seq, p.Number, p.Size, p.ETag, millis(p.ReceivedAt))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrConflict
	}
	return nil
}

// PartCommit records a received part of an upload in progress.
type PartCommit struct {
	VideoID string
	// Filename is the part's file name, which the upload takes if it has
	// none yet (it was started before its first part arrived).
	Filename string
	Part     Part
	// TotalParts and TotalBytes set the upload's totals when not 0.
	TotalParts int
	TotalBytes int64
	// LeaseExpiresAt is the upload's new lease.
	LeaseExpiresAt time.Time
	// Link, when set, records the part on the upload through a link that
	// the video belongs to, in the same transaction.
	Link *LinkAdvance
}

// LinkAdvance records on an upload through a link that part From was
// received and hashed: NextPart moves from From to From+1, with the
// SHA-256 state after it, and the full SHA-256 once the last part is in.
type LinkAdvance struct {
	ID        string
	From      int
	HashState []byte
	SHA256    string
}

// CommitPart records a part and, when the upload then holds every part,
// marks it completing; it reports whether it did. In one transaction it
// inserts the part, adds it to the upload's counts and moves the link
// upload on. Returns ErrNotFound if the upload is gone, and ErrConflict if
// the part (or, in bytes mode, an overlapping range) was recorded
// meanwhile, the totals disagree, the link upload did not expect the
// part, or the upload no longer takes parts.
func (s *Store) CommitPart(ctx context.Context, c PartCommit) (completing bool, err error) {
	err = s.inWrite(ctx, func(tx *txn) error {
		now := millis(s.Now())
		// PostgreSQL types a parameter by where it is used: the CASTs
		// type those that are first used where any type would do.
		res, err := tx.ExecContext(ctx, `
			UPDATE uploads SET
				source_size = source_size + :size, received_parts = received_parts + 1,
				total_parts = coalesce(:parts, total_parts), total_bytes = coalesce(:bytes, total_bytes),
				updated_at = :now, lease_expires_at = `+tx.d.greatest("lease_expires_at", ":lease")+`,
				filename = CASE filename WHEN '' THEN :filename ELSE filename END
			WHERE video_id = :video AND status = 'uploading'
			  AND (CAST(:parts AS BIGINT) IS NULL OR coalesce(total_parts, :parts) = :parts)
			  AND (CAST(:bytes AS BIGINT) IS NULL OR coalesce(total_bytes, :bytes) = :bytes)
			  AND NOT EXISTS (SELECT 1 FROM upload_parts p WHERE p.video_id = :video AND uploads.mode = 'bytes'
				AND p.seq < CAST(:seq AS BIGINT) + :size AND :seq < p.seq + p.size)`,
			sql.Named("size", c.Part.Size), sql.Named("parts", nullInt(int64(c.TotalParts))), sql.Named("bytes", nullInt(c.TotalBytes)),
			sql.Named("now", now), sql.Named("lease", millis(c.LeaseExpiresAt)), sql.Named("video", c.VideoID), sql.Named("seq", c.Part.Seq), sql.Named("filename", c.Filename))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if _, err := findUpload(ctx, tx, c.VideoID); err != nil {
				return err
			}
			return ErrConflict
		}
		if err := insertPart(ctx, tx, c.VideoID, c.Part); err != nil {
			return err
		}
		if c.Link != nil {
			if err := advanceLinkUpload(ctx, tx, *c.Link, now, millis(c.LeaseExpiresAt)); err != nil {
				return err
			}
		}
		completing, err = markCompleting(ctx, tx, c.VideoID, now)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: commit part %d of %s: %w", c.Part.Seq, c.VideoID, err)
	}
	return completing, nil
}

// markCompleting moves an upload that holds every part to completing.
func markCompleting(ctx context.Context, tx *txn, videoID string, now int64) (bool, error) {
	res, err := tx.ExecContext(ctx, `
		UPDATE uploads SET status = 'completing', updated_at = ?
		WHERE video_id = ? AND status = 'uploading' AND (
			mode = 'part' AND total_parts = received_parts OR
			mode = 'bytes' AND total_bytes = source_size)`, now, videoID)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// SetUploadTotal records a part total that a repeated part carried for
// the first time, and marks the upload completing if that made it
// complete; it reports whether it did. Returns ErrConflict if the upload
// has a different total, or no longer takes parts.
func (s *Store) SetUploadTotal(ctx context.Context, videoID string, total int) (completing bool, err error) {
	err = s.inWrite(ctx, func(tx *txn) error {
		now := millis(s.Now())
		res, err := tx.ExecContext(ctx, `
			UPDATE uploads SET total_parts = ?, updated_at = ?
			WHERE video_id = ? AND status = 'uploading' AND coalesce(total_parts, ?) = ?`,
			total, now, videoID, total, total)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrConflict
		}
		completing, err = markCompleting(ctx, tx, videoID, now)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: set the total of %s: %w", videoID, err)
	}
	return completing, nil
}

// FinishUpload records that a completing upload's source is assembled:
// the upload is uploaded, and an upload through a link that holds every
// part is completed, with an event on its link's timeline. Returns
// ErrNotFound if the upload is gone and ErrConflict if it was not
// completing (another caller finished it first).
func (s *Store) FinishUpload(ctx context.Context, videoID string) error {
	err := s.inWrite(ctx, func(tx *txn) error {
		now := millis(s.Now())
		res, err := tx.ExecContext(ctx, `
			UPDATE uploads SET status = 'uploaded', completed_at = ?, updated_at = ?, multipart_id = NULL,
				total_bytes = source_size
			WHERE video_id = ? AND status = 'completing'`, now, now, videoID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if _, err := findUpload(ctx, tx, videoID); err != nil {
				return err
			}
			return ErrConflict
		}
		return completeLinkUpload(ctx, tx, videoID, now)
	})
	if err != nil {
		return fmt.Errorf("store: finish upload of %s: %w", videoID, err)
	}
	return nil
}

// FindUpload returns the upload of a video with its pieces. Returns
// ErrNotFound if no byte of the video was accepted yet.
func (s *Store) FindUpload(ctx context.Context, videoID string) (Upload, error) {
	var u Upload
	err := s.inRead(ctx, func(tx *txn) error {
		var err error
		u, err = findUpload(ctx, tx, videoID)
		return err
	})
	if err != nil {
		return Upload{}, fmt.Errorf("store: find upload of %s: %w", videoID, err)
	}
	return u, nil
}

func findUpload(ctx context.Context, tx *txn, videoID string) (Upload, error) {
	us, err := findUploads(ctx, tx, `WHERE video_id = ?`, videoID)
	if err != nil {
		return Upload{}, err
	}
	if len(us) == 0 {
		return Upload{}, ErrNotFound
	}
	return us[0], nil
}

// FindOpenUploads returns the unfinished uploads started with a token.
func (s *Store) FindOpenUploads(ctx context.Context, tokenID string) ([]Upload, error) {
	return s.readUploads(ctx, "find open uploads of a token", `WHERE token_id = ? AND status = 'uploading'`, tokenID)
}

// FindUnfinishedUploads returns every upload still taking pieces.
func (s *Store) FindUnfinishedUploads(ctx context.Context) ([]Upload, error) {
	return s.readUploads(ctx, "find unfinished uploads", `WHERE status = 'uploading'`)
}

// FindLapsedUploads returns every unfinished upload whose lease ran out at
// or before t.
func (s *Store) FindLapsedUploads(ctx context.Context, t time.Time) ([]Upload, error) {
	return s.readUploads(ctx, "find lapsed uploads", `WHERE status = 'uploading' AND lease_expires_at <= ?`, millis(t))
}

// FindCompletingUploads returns the uploads left completing since before
// t: their assembly failed or its process died.
func (s *Store) FindCompletingUploads(ctx context.Context, t time.Time) ([]Upload, error) {
	return s.readUploads(ctx, "find completing uploads", `WHERE status = 'completing' AND updated_at <= ?`, millis(t))
}

func (s *Store) readUploads(ctx context.Context, what, where string, args ...any) ([]Upload, error) {
	var us []Upload
	err := s.inRead(ctx, func(tx *txn) error {
		var err error
		us, err = findUploads(ctx, tx, where, args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return us, nil
}

const uploadColumns = `
	video_id, coalesce(token_id, ''), mode, status, source_key, coalesce(multipart_id, ''),
	source_size, received_parts, coalesce(total_parts, 0), coalesce(total_bytes, 0), filename, owns_video,
	started_at, updated_at, lease_expires_at, completed_at`

func scanUpload(r rowScanner) (Upload, error) {
	var (
		u                         Upload
		started, updated, leaseTo int64
		completed                 sql.NullInt64
	)
	err := r.Scan(&u.VideoID, &u.TokenID, &u.Mode, &u.Status, &u.SourceKey, &u.MultipartID,
		&u.SourceSize, &u.ReceivedParts, &u.TotalParts, &u.TotalBytes, &u.Filename, &u.OwnsVideo,
		&started, &updated, &leaseTo, &completed)
	u.StartedAt, u.UpdatedAt, u.LeaseExpiresAt = fromMillis(started), fromMillis(updated), fromMillis(leaseTo)
	u.CompletedAt = nullMillis(completed)
	return u, err
}

func scanPart(r rowScanner) (Part, error) {
	var p Part
	var received int64
	err := r.Scan(&p.Seq, &p.Number, &p.Size, &p.ETag, &received)
	p.ReceivedAt = fromMillis(received)
	return p, err
}

func findUploads(ctx context.Context, tx *txn, where string, args ...any) ([]Upload, error) {
	us, err := queryRows(ctx, tx, scanUpload, `SELECT `+uploadColumns+` FROM uploads `+where+` ORDER BY started_at, video_id`, args...)
	if err != nil {
		return nil, err
	}
	for i := range us {
		us[i].Parts, err = queryRows(ctx, tx, scanPart, `
			SELECT seq, number, size, etag, received_at FROM upload_parts WHERE video_id = ? ORDER BY seq`, us[i].VideoID)
		if err != nil {
			return nil, err
		}
	}
	return us, nil
}

// Unfinished is an unfinished upload that was given up: its blob store
// upload, with the parts it holds, to abort.
type Unfinished struct {
	Key         string
	MultipartID string
	Parts       []Part
}

// AbandonUpload forgets an upload whose lease ran out and returns what its
// bytes are in. A video that the upload itself created is deleted with
// it; a video created beforehand (POST /videos) is kept, empty, so that it
// can be uploaded again; an upload through a link is released, with
// reason on its link's timeline. Returns ErrNotFound if there is no such
// upload, and ErrConflict if it is no longer open or its lease runs.
func (s *Store) AbandonUpload(ctx context.Context, videoID, reason string) (Unfinished, error) {
	var gone Unfinished
	err := s.inWrite(ctx, func(tx *txn) error {
		now := s.Now()
		u, err := findUpload(ctx, tx, videoID)
		if err != nil {
			return err
		}
		if u.Status != UploadUploading || now.Before(u.LeaseExpiresAt) {
			return ErrConflict
		}
		gone = Unfinished{Key: u.SourceKey, MultipartID: u.MultipartID, Parts: u.Parts}
		if _, err := releaseLinkUploadOf(ctx, tx, videoID, EventAbandoned, reason, now); err != nil {
			return err
		}
		if u.OwnsVideo {
			_, err = tx.ExecContext(ctx, `DELETE FROM videos WHERE id = ?`, videoID)
		} else {
			_, err = tx.ExecContext(ctx, `DELETE FROM uploads WHERE video_id = ?`, videoID)
		}
		return err
	})
	if err != nil {
		return Unfinished{}, fmt.Errorf("store: abandon upload of %s: %w", videoID, err)
	}
	return gone, nil
}

// BlobRefs returns every blob key the database refers to: the sources,
// and the ETags of the parts of unfinished uploads, which name objects
// with some blob stores (blob.Dir; completing an upload consumes them).
// Recovery uses it to find orphans.
func (s *Store) BlobRefs(ctx context.Context) (map[string]bool, error) {
	refs := map[string]bool{}
	err := s.inRead(ctx, func(tx *txn) error {
		keys, err := queryRows(ctx, tx, scanString, `
			SELECT source_key FROM uploads
			UNION ALL
			SELECT p.etag FROM upload_parts p JOIN uploads u ON u.video_id = p.video_id
			WHERE p.etag <> '' AND u.status <> 'uploaded'
			UNION ALL
			SELECT thumbnail_key FROM video_media WHERE thumbnail_key IS NOT NULL
			UNION ALL
			SELECT preview_key FROM video_media WHERE preview_key IS NOT NULL`)
		for _, k := range keys {
			refs[k] = true
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: list blob references: %w", err)
	}
	return refs, nil
}

// CompleteSources returns the sources recorded complete, with their sizes.
func (s *Store) CompleteSources(ctx context.Context) (map[string]int64, error) {
	sources := map[string]int64{}
	err := s.inRead(ctx, func(tx *txn) error {
		list, err := queryRows(ctx, tx, scanSized, `SELECT source_key, source_size FROM uploads WHERE status = 'uploaded'`)
		for _, src := range list {
			sources[src.key] = src.size
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: list complete sources: %w", err)
	}
	return sources, nil
}

// sized is a blob key with a size.
type sized struct {
	key  string
	size int64
}

func scanSized(r rowScanner) (sized, error) {
	var s sized
	return s, r.Scan(&s.key, &s.size)
}

// MultipartRefs returns the blob store upload IDs of the unfinished
// uploads, by source key.
func (s *Store) MultipartRefs(ctx context.Context) (map[string]string, error) {
	refs := map[string]string{}
	err := s.inRead(ctx, func(tx *txn) error {
		pairs, err := queryRows(ctx, tx, scanStringPair, `SELECT source_key, multipart_id FROM uploads WHERE multipart_id IS NOT NULL`)
		for _, p := range pairs {
			refs[p[0]] = p[1]
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: list multipart uploads: %w", err)
	}
	return refs, nil
}

func nullInt(v int64) sql.NullInt64 {
	return sql.NullInt64{Int64: v, Valid: v != 0}
}

func nullIfEmpty(v string) sql.NullString {
	return sql.NullString{String: v, Valid: v != ""}
}

func nullTime(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: millis(*t), Valid: true}
}

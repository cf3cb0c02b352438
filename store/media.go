package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Origins of a thumbnail.
const (
	ThumbnailAuto     = "auto"     // Processing chose a frame.
	ThumbnailPicked   = "picked"   // An API client picked a moment.
	ThumbnailUploaded = "uploaded" // An API client uploaded an image.
)

// MediaFacts are what ffprobe tells about a source. Zero fields are
// unknown: the file does not tell them.
type MediaFacts struct {
	Container   string
	Duration    time.Duration
	Width       int
	Height      int
	FrameRate   float64
	Bitrate     int64 // Bits per second.
	VideoCodec  string
	AudioCodec  string
	SampleRate  int
	AspectRatio string // "16/9".
	Rotation    int    // Degrees clockwise: 0, 90, 180 or 270.
	// Playable says whether a browser plays the source as it is.
	Playable bool
}

// Thumbnail is a video's poster image, a blob.
type Thumbnail struct {
	Key    string
	Type   string // "image/jpeg" or "image/png".
	Origin string // ThumbnailAuto, ThumbnailPicked or ThumbnailUploaded.
	At     time.Time
}

// Preview is a copy of a source that a browser plays, a blob.
type Preview struct {
	Key  string
	Size int64
}

// VideoMedia is what processing learned about a video.
type VideoMedia struct {
	VideoID   string
	Probed    bool // Facts holds ffprobe's facts.
	Facts     MediaFacts
	Thumbnail *Thumbnail
	Preview   *Preview
}

// FindVideoMedia returns what processing learned about a video. Returns
// ErrNotFound if it learned nothing yet.
func (s *Store) FindVideoMedia(ctx context.Context, videoID string) (VideoMedia, error) {
	var m VideoMedia
	err := s.inRead(ctx, func(tx *txn) error {
		var err error
		m, err = findVideoMedia(ctx, tx, videoID)
		return err
	})
	if err != nil {
		return VideoMedia{}, fmt.Errorf("store: find media of %s: %w", videoID, err)
	}
	return m, nil
}

func findVideoMedia(ctx context.Context, tx *txn, videoID string) (VideoMedia, error) {
	var (
		m                              VideoMedia
		probed, dur, bitrate           sql.NullInt64
		width, height, rate            sql.NullInt64
		fps                            sql.NullFloat64
		vcodec, acodec, aspect         sql.NullString
		thumbKey, thumbType, thumbFrom sql.NullString
		thumbAt                        sql.NullInt64
		prevKey                        sql.NullString
		prevSize                       sql.NullInt64
	)
	err := tx.QueryRowContext(ctx, `
		SELECT video_id, probed_at, container, duration_ms, width, height, framerate, bitrate,
			video_codec, audio_codec, samplerate, aspect_ratio, rotation, playable,
			thumbnail_key, thumbnail_type, thumbnail_origin, thumbnail_at, preview_key, preview_size
		FROM video_media WHERE video_id = ?`, videoID).Scan(
		&m.VideoID, &probed, &m.Facts.Container, &dur, &width, &height, &fps, &bitrate,
		&vcodec, &acodec, &rate, &aspect, &m.Facts.Rotation, &m.Facts.Playable,
		&thumbKey, &thumbType, &thumbFrom, &thumbAt, &prevKey, &prevSize)
	if errors.Is(err, sql.ErrNoRows) {
		return VideoMedia{}, ErrNotFound
	}
	if err != nil {
		return VideoMedia{}, err
	}
	m.Probed = probed.Valid
	f := &m.Facts
	f.Duration = time.Duration(dur.Int64) * time.Millisecond
	f.Width, f.Height, f.SampleRate = int(width.Int64), int(height.Int64), int(rate.Int64)
	f.FrameRate, f.Bitrate = fps.Float64, bitrate.Int64
	f.VideoCodec, f.AudioCodec, f.AspectRatio = vcodec.String, acodec.String, aspect.String
	if thumbKey.Valid {
		m.Thumbnail = &Thumbnail{Key: thumbKey.String, Type: thumbType.String, Origin: thumbFrom.String, At: fromMillis(thumbAt.Int64)}
	}
	if prevKey.Valid {
		m.Preview = &Preview{Key: prevKey.String, Size: prevSize.Int64}
	}
	return m, nil
}

// JobResult is what an attempt at a job produced; nil fields are left as
// they were.
type JobResult struct {
	Facts     *MediaFacts
	Thumbnail *Thumbnail
	Preview   *Preview
	// NoPreview drops the preview a previous run made (the setting
	// changed, or the source plays as it is).
	NoPreview bool
}

// CompleteJob records the result of the attempt claimID at job id and
// marks the job done, in one transaction, so that a job's result counts
// once. An automatic thumbnail does not replace one a client uploaded or
// picked. It returns the keys of the blobs no longer referred to (those
// replaced, and those of r not used), for the caller to delete. Returns
// ErrConflict if the attempt no longer holds the job (its claim lapsed
// and another attempt took it), and then nothing is recorded.
func (s *Store) CompleteJob(ctx context.Context, id int64, claimID string, r JobResult) ([]string, error) {
	var unused []string
	err := s.inWrite(ctx, func(tx *txn) error {
		unused = nil
		now := s.Now()
		var videoID string
		err := tx.QueryRowContext(ctx, `
			UPDATE processing_jobs
			SET status = 'done', claim_id = NULL, claim_expires_at = NULL, last_error = '',
				finished_at = :now, updated_at = :now
			WHERE id = :id AND claim_id = :claim AND status = 'running'
			RETURNING video_id`,
			sql.Named("now", millis(now)), sql.Named("id", id), sql.Named("claim", claimID)).Scan(&videoID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrConflict
		}
		if err != nil {
			return err
		}
		// Older finished jobs of the video of the same kind are history
		// nobody reads.
		if _, err := tx.ExecContext(ctx, `
			DELETE FROM processing_jobs
			WHERE video_id = ? AND id < ? AND status IN ('done', 'failed')
			  AND kind = (SELECT kind FROM processing_jobs WHERE id = ?)`, videoID, id, id); err != nil {
			return err
		}
		unused, err = saveMedia(ctx, tx, videoID, r, now)
		return err
	})
	if err != nil {
		if r.Thumbnail != nil || r.Preview != nil {
			unused = unusedKeys(r)
		}
		return unused, fmt.Errorf("store: complete processing job %d: %w", id, err)
	}
	return unused, nil
}

// SetThumbnail makes t the video's thumbnail, whatever it had, and returns
// the key of the one it replaces ("" if none). Returns ErrNotFound if
// there is no such video.
func (s *Store) SetThumbnail(ctx context.Context, videoID string, t Thumbnail) (string, error) {
	var old string
	err := s.inWrite(ctx, func(tx *txn) error {
		old = ""
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM videos WHERE id = ?)`, videoID).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return ErrNotFound
		}
		t.At = s.Now()
		unused, err := saveMedia(ctx, tx, videoID, JobResult{Thumbnail: &t}, t.At)
		if len(unused) > 0 {
			old = unused[0]
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("store: set thumbnail of %s: %w", videoID, err)
	}
	return old, nil
}

// saveMedia writes r into the video's media row, creating it if needed,
// and returns the keys of the blobs it no longer refers to.
func saveMedia(ctx context.Context, tx *txn, videoID string, r JobResult, now time.Time) ([]string, error) {
	if _, err := tx.ExecContext(ctx, `INSERT INTO video_media (video_id) VALUES (?) ON CONFLICT DO NOTHING`, videoID); err != nil {
		return nil, err
	}
	cur, err := findVideoMedia(ctx, tx, videoID)
	if err != nil {
		return nil, err
	}
	var unused []string
	if f := r.Facts; f != nil {
		if _, err := tx.ExecContext(ctx, `
			UPDATE video_media
			SET probed_at = ?, container = ?, duration_ms = ?, width = ?, height = ?, framerate = ?,
				bitrate = ?, video_codec = ?, audio_codec = ?, samplerate = ?, aspect_ratio = ?,
				rotation = ?, playable = ?
			WHERE video_id = ?`,
			millis(now), f.Container, positive(f.Duration.Milliseconds()), positive(int64(f.Width)), positive(int64(f.Height)),
			positiveFloat(f.FrameRate), positive(f.Bitrate), nonEmpty(f.VideoCodec), nonEmpty(f.AudioCodec),
			positive(int64(f.SampleRate)), nonEmpty(f.AspectRatio), f.Rotation, f.Playable, videoID); err != nil {
			return nil, err
		}
	}
	if t := r.Thumbnail; t != nil {
		keep := t.Origin == ThumbnailAuto && cur.Thumbnail != nil && cur.Thumbnail.Origin != ThumbnailAuto
		if keep {
			unused = append(unused, t.Key)
		} else {
			if _, err := tx.ExecContext(ctx, `
				UPDATE video_media SET thumbnail_key = ?, thumbnail_type = ?, thumbnail_origin = ?, thumbnail_at = ?
				WHERE video_id = ?`, t.Key, t.Type, t.Origin, millis(now), videoID); err != nil {
				return nil, err
			}
			if cur.Thumbnail != nil && cur.Thumbnail.Key != t.Key {
				unused = append(unused, cur.Thumbnail.Key)
			}
		}
	}
	if p := r.Preview; p != nil || r.NoPreview {
		key, size := sql.NullString{}, sql.NullInt64{}
		if p != nil {
			key, size = sql.NullString{String: p.Key, Valid: true}, sql.NullInt64{Int64: p.Size, Valid: true}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE video_media SET preview_key = ?, preview_size = ? WHERE video_id = ?`,
			key, size, videoID); err != nil {
			return nil, err
		}
		if cur.Preview != nil && (p == nil || cur.Preview.Key != p.Key) {
			unused = append(unused, cur.Preview.Key)
		}
	}
	return unused, nil
}

// unusedKeys are the blobs of a result that was not recorded.
func unusedKeys(r JobResult) []string {
	var keys []string
	if r.Thumbnail != nil {
		keys = append(keys, r.Thumbnail.Key)
	}
	if r.Preview != nil {
		keys = append(keys, r.Preview.Key)
	}
	return keys
}

func positive(n int64) any {
	if n <= 0 {
		return nil
	}
	return n
}

func positiveFloat(f float64) any {
	if f <= 0 {
		return nil
	}
	return f
}

func nonEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// FindThumbnails returns, of the given videos, those that have a
// thumbnail, with when it last changed.
func (s *Store) FindThumbnails(ctx context.Context, videoIDs []string) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	if len(videoIDs) == 0 {
		return out, nil
	}
	err := s.inRead(ctx, func(tx *txn) error {
		inIDs, list, err := tx.d.inStrings("video_id", videoIDs)
		if err != nil {
			return err
		}
		at, err := queryRows(ctx, tx, scanThumbnailAt, `
			SELECT video_id, thumbnail_at FROM video_media
			WHERE thumbnail_at IS NOT NULL AND `+inIDs, list)
		for _, a := range at {
			out[a.videoID] = a.at
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: find thumbnails: %w", err)
	}
	return out, nil
}

// thumbnailAt is when a video's thumbnail last changed.
type thumbnailAt struct {
	videoID string
	at      time.Time
}

func scanThumbnailAt(r rowScanner) (thumbnailAt, error) {
	var t thumbnailAt
	var at int64
	err := r.Scan(&t.videoID, &at)
	t.at = fromMillis(at)
	return t, err
}

// FindVideosHeld returns which of the videos this server holds (those
// not deleted, and not on a remote host).
func (s *Store) FindVideosHeld(ctx context.Context, videoIDs []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(videoIDs) == 0 {
		return out, nil
	}
	err := s.inRead(ctx, func(tx *txn) error {
		inIDs, list, err := tx.d.inStrings("id", videoIDs)
		if err != nil {
			return err
		}
		ids, err := queryRows(ctx, tx, scanString, `SELECT id FROM videos WHERE `+inIDs, list)
		for _, id := range ids {
			out[id] = true
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: find videos held: %w", err)
	}
	return out, nil
}

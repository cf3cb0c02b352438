package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Video is a video and its api.video-visible attributes.
type Video struct {
	ID             string
	Title          string
	Description    string
	Public         bool
	Panoramic      bool
	MP4Support     bool
	Language       *string
	LanguageOrigin *string
	PlayerID       *string
	Tags           []string
	Metadata       []Metadata
	CreatedAt      time.Time
	UpdatedAt      time.Time
	PublishedAt    time.Time

	// UploadStatus is "" while no byte was accepted, then UploadUploading
	// or UploadUploaded.
	UploadStatus string
	// SourceSize is the number of bytes of the source held so far.
	SourceSize int64
	// TokenID is the upload token whose upload filled the video, if any.
	TokenID string
	// ThumbnailAt is when the video's thumbnail last changed; nil while
	// it has none.
	ThumbnailAt *time.Time
}

// thumbnailAtColumn selects Video.ThumbnailAt for the video v.
const thumbnailAtColumn = `(SELECT m.thumbnail_at FROM video_media m WHERE m.video_id = v.id)`

// Metadata is one key/value pair of a video's metadata. api.video models
// metadata as an ordered list of pairs, not as a map.
type Metadata struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// VideoCreate holds the attributes of a new video.
type VideoCreate struct {
	Title       string
	Description string
	Public      bool
	Panoramic   bool
	MP4Support  bool
	Language    *string
	PlayerID    *string
	Tags        []string
	Metadata    []Metadata
}

// Nullable is an update of a nullable attribute. Set reports whether the
// update touches the attribute at all; a nil Value sets it to null.
type Nullable[T any] struct {
	Set   bool
	Value *T
}

// VideoUpdate is a partial update of a video: nil fields are left alone.
// Tags and Metadata replace the whole list.
type VideoUpdate struct {
	Title       *string
	Description *string
	Public      *bool
	Panoramic   *bool
	MP4Support  *bool
	Tags        *[]string
	Metadata    *[]Metadata
	Language    Nullable[string]
	PlayerID    Nullable[string]
}

// CreateVideo creates an empty video, which a token upload can fill later.
func (s *Store) CreateVideo(ctx context.Context, c VideoCreate) (Video, error) {
	id := NewID(PrefixVideo)
	err := s.inWrite(ctx, func(tx *txn) error {
		return createVideo(ctx, tx, id, c, s.Now())
	})
	if err != nil {
		return Video{}, fmt.Errorf("store: create video: %w", err)
	}
	return s.FindVideo(ctx, id)
}

func createVideo(ctx context.Context, tx *txn, id string, c VideoCreate, now time.Time) error {
	var origin *string
	if c.Language != nil {
		api := "api"
		origin = &api
	}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO videos (id, title, description, public, panoramic, mp4_support,
			language, language_origin, player_id, created_at, updated_at, published_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, c.Title, c.Description, c.Public, c.Panoramic, c.MP4Support,
		c.Language, origin, c.PlayerID, millis(now), millis(now), millis(now))
	if err != nil {
		return err
	}
	if err := replaceTags(ctx, tx, id, c.Tags); err != nil {
		return err
	}
	return replaceMetadata(ctx, tx, id, c.Metadata)
}

// FindVideo returns the video with the given ID. Returns ErrNotFound if
// there is none.
func (s *Store) FindVideo(ctx context.Context, id string) (Video, error) {
	var v Video
	err := s.inRead(ctx, func(tx *txn) error {
		vs, err := findVideos(ctx, tx, `WHERE v.id = ?`, []any{id})
		if err != nil {
			return err
		}
		if len(vs) == 0 {
			return ErrNotFound
		}
		v = vs[0]
		return nil
	})
	if err != nil {
		return Video{}, fmt.Errorf("store: find video %s: %w", id, err)
	}
	return v, nil
}

// VideoSort names an order for ListVideos.
type VideoSort string

// The orders api.video documents for GET /videos.
const (
	VideoSortTitle       VideoSort = "title"
	VideoSortCreatedAt   VideoSort = "createdAt"
	VideoSortPublishedAt VideoSort = "publishedAt"
	VideoSortUpdatedAt   VideoSort = "updatedAt"
)

var videoSortColumns = map[VideoSort]string{
	VideoSortTitle:       "v.title",
	VideoSortCreatedAt:   "v.created_at",
	VideoSortPublishedAt: "v.published_at",
	VideoSortUpdatedAt:   "v.updated_at",
}

// VideoFilter selects and orders videos. Empty fields do not filter.
type VideoFilter struct {
	Title       string     // Substring of the title, case-insensitive for ASCII.
	Description string     // Substring of the description.
	Tags        []string   // Videos that have all of these tags.
	Metadata    []Metadata // Videos that have all of these pairs.
	Sort        VideoSort
	Desc        bool
	Page        Page
}

// ListVideos returns one page of the videos matching f, and how many
// videos match in all.
func (s *Store) ListVideos(ctx context.Context, f VideoFilter) ([]Video, int, error) {
	col, ok := videoSortColumns[f.Sort]
	if !ok {
		return nil, 0, fmt.Errorf("store: unknown video sort %q", f.Sort)
	}
	dir := ""
	if f.Desc {
		dir = " DESC"
	}
	var (
		where []string
		args  []any
	)
	if f.Title != "" {
		where, args = append(where, `v.title `+s.d.like()+` ? ESCAPE '\'`), append(args, "%"+escapeLike(f.Title)+"%")
	}
	if f.Description != "" {
		where, args = append(where, `v.description `+s.d.like()+` ? ESCAPE '\'`), append(args, "%"+escapeLike(f.Description)+"%")
	}
	for _, t := range f.Tags {
		where, args = append(where, `EXISTS (SELECT 1 FROM video_tags t WHERE t.video_id = v.id AND t.tag = ?)`), append(args, t)
	}
	for _, m := range f.Metadata {
		where = append(where, `EXISTS (SELECT 1 FROM video_metadata m WHERE m.video_id = v.id AND m.key = ? AND m.value = ?)`)
		args = append(args, m.Key, m.Value)
	}
	cond := ""
	if len(where) > 0 {
		cond = "WHERE " + strings.Join(where, " AND ")
	}
	var (
		videos []Video
		total  int
	)
	err := s.inRead(ctx, func(tx *txn) error {
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM videos v `+cond, args...).Scan(&total); err != nil {
			return err
		}
		var err error
		videos, err = findVideos(ctx, tx,
			cond+` ORDER BY `+col+dir+`, v.id`+dir+` LIMIT ? OFFSET ?`,
			append(args, f.Page.Size, f.Page.offset()))
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("store: list videos: %w", err)
	}
	return videos, total, nil
}

// findVideos loads the videos selected by the SQL tail (WHERE, ORDER BY,
// LIMIT) with their tags, metadata and upload state.
func findVideos(ctx context.Context, tx *txn, tail string, args []any) ([]Video, error) {
	videos, err := queryRows(ctx, tx, scanVideo, `
		SELECT v.id, v.title, v.description, v.public, v.panoramic, v.mp4_support,
			v.language, v.language_origin, v.player_id,
			v.created_at, v.updated_at, v.published_at,
			replace(coalesce(u.status, ''), 'completing', 'uploading'), coalesce(u.source_size, 0), coalesce(u.token_id, ''),
			`+thumbnailAtColumn+`
		FROM videos v
		LEFT JOIN uploads u ON u.video_id = v.id
		`+tail, args...)
	if err != nil || len(videos) == 0 {
		return nil, err
	}
	ids := make([]string, len(videos))
	for i, v := range videos {
		ids[i] = v.ID
	}
	tags, meta, err := findTagsAndMetadata(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	for i := range videos {
		videos[i].Tags = tags[videos[i].ID]
		videos[i].Metadata = meta[videos[i].ID]
	}
	return videos, nil
}

func scanVideo(r rowScanner) (Video, error) {
	var (
		v                         Video
		lang, origin, player      sql.NullString
		created, updated, publish int64
		thumbAt                   sql.NullInt64
	)
	err := r.Scan(&v.ID, &v.Title, &v.Description, &v.Public, &v.Panoramic, &v.MP4Support,
		&lang, &origin, &player, &created, &updated, &publish,
		&v.UploadStatus, &v.SourceSize, &v.TokenID, &thumbAt)
	if err != nil {
		return Video{}, err
	}
	v.Language, v.LanguageOrigin, v.PlayerID = nullString(lang), nullString(origin), nullString(player)
	v.CreatedAt, v.UpdatedAt, v.PublishedAt = fromMillis(created), fromMillis(updated), fromMillis(publish)
	v.ThumbnailAt = nullMillis(thumbAt)
	return v, nil
}

// videoTag and videoPair are a tag and a metadata pair with the video
// they belong to, as findTagsAndMetadata reads them.
type (
	videoTag struct {
		videoID, tag string
	}
	videoPair struct {
		videoID string
		pair    Metadata
	}
)

func findTagsAndMetadata(ctx context.Context, tx *txn, ids []string) (map[string][]string, map[string][]Metadata, error) {
	inIDs, list, err := tx.d.inStrings("video_id", ids)
	if err != nil {
		return nil, nil, err
	}
	tagRows, err := queryRows(ctx, tx, func(r rowScanner) (videoTag, error) {
		var t videoTag
		return t, r.Scan(&t.videoID, &t.tag)
	}, `
		SELECT video_id, tag FROM video_tags
		WHERE `+inIDs+`
		ORDER BY video_id, position`, list)
	if err != nil {
		return nil, nil, err
	}
	pairRows, err := queryRows(ctx, tx, func(r rowScanner) (videoPair, error) {
		var p videoPair
		return p, r.Scan(&p.videoID, &p.pair.Key, &p.pair.Value)
	}, `
		SELECT video_id, key, value FROM video_metadata
		WHERE `+inIDs+`
		ORDER BY video_id, position`, list)
	if err != nil {
		return nil, nil, err
	}
	tags := make(map[string][]string, len(ids))
	for _, t := range tagRows {
		tags[t.videoID] = append(tags[t.videoID], t.tag)
	}
	meta := make(map[string][]Metadata, len(ids))
	for _, p := range pairRows {
		meta[p.videoID] = append(meta[p.videoID], p.pair)
	}
	return tags, meta, nil
}

// UpdateVideo applies u to the video and returns the result. Returns
// ErrNotFound if there is no such video.
func (s *Store) UpdateVideo(ctx context.Context, id string, u VideoUpdate) (Video, error) {
	var v Video
	err := s.inWrite(ctx, func(tx *txn) error {
		var set []string
		var args []any
		add := func(col string, v any) { set, args = append(set, col+" = ?"), append(args, v) }
		if u.Title != nil {
			add("title", *u.Title)
		}
		if u.Description != nil {
			add("description", *u.Description)
		}
		if u.Public != nil {
			add("public", *u.Public)
		}
		if u.Panoramic != nil {
			add("panoramic", *u.Panoramic)
		}
		if u.MP4Support != nil {
			add("mp4_support", *u.MP4Support)
		}
		if u.Language.Set {
			add("language", u.Language.Value)
			var origin *string
			if u.Language.Value != nil {
				api := "api"
				origin = &api
			}
			add("language_origin", origin)
		}
		if u.PlayerID.Set {
			add("player_id", u.PlayerID.Value)
		}
		add("updated_at", millis(s.Now()))
		res, err := tx.ExecContext(ctx, `UPDATE videos SET `+strings.Join(set, ", ")+` WHERE id = ?`, append(args, id)...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if u.Tags != nil {
			if err := replaceTags(ctx, tx, id, *u.Tags); err != nil {
				return err
			}
		}
		if u.Metadata != nil {
			if err := replaceMetadata(ctx, tx, id, *u.Metadata); err != nil {
				return err
			}
		}
		// Read the video back in the same transaction: read after the
		// commit, it could already hold a concurrent update instead.
		vs, err := findVideos(ctx, tx, `WHERE v.id = ?`, []any{id})
		if err != nil {
			return err
		}
		if len(vs) == 0 {
			return ErrNotFound
		}
		v = vs[0]
		return nil
	})
	if err != nil {
		return Video{}, fmt.Errorf("store: update video %s: %w", id, err)
	}
	return v, nil
}

// DeleteVideo deletes a video and its upload state, and returns what its
// bytes are in: its source, or, while it uploads, the blob store's upload
// and the parts it holds. An upload through a link still in progress is
// released in the same transaction, which frees its slot, with the event
// kind (EventCancelled or EventRefused) and reason on its link's
// timeline; DeleteVideo reports whether it released one. Returns
// ErrNotFound if there is no such video.
func (s *Store) DeleteVideo(ctx context.Context, id, kind, reason string) (Unfinished, bool, error) {
	var (
		gone     Unfinished
		released bool
	)
	err := s.inWrite(ctx, func(tx *txn) error {
		gone, released = Unfinished{}, false
		u, err := findUpload(ctx, tx, id)
		switch {
		case err == nil:
			gone = Unfinished{Key: u.SourceKey, MultipartID: u.MultipartID, Parts: u.Parts}
		case !errors.Is(err, ErrNotFound):
			return err
		}
		if released, err = releaseLinkUploadOf(ctx, tx, id, kind, reason, s.Now()); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM videos WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return Unfinished{}, false, fmt.Errorf("store: delete video %s: %w", id, err)
	}
	return gone, released, nil
}

func replaceTags(ctx context.Context, tx *txn, id string, tags []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM video_tags WHERE video_id = ?`, id); err != nil {
		return err
	}
	for i, t := range tags {
		if _, err := tx.ExecContext(ctx, `INSERT INTO video_tags (video_id, position, tag) VALUES (?, ?, ?)`, id, i, t); err != nil {
			return err
		}
	}
	return nil
}

func replaceMetadata(ctx context.Context, tx *txn, id string, meta []Metadata) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM video_metadata WHERE video_id = ?`, id); err != nil {
		return err
	}
	for i, m := range meta {
		if _, err := tx.ExecContext(ctx, `INSERT INTO video_metadata (video_id, position, key, value) VALUES (?, ?, ?, ?)`, id, i, m.Key, m.Value); err != nil {
			return err
		}
	}
	return nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func nullString(v sql.NullString) *string {
	if !v.Valid {
		return nil
	}
	return &v.String
}

// errorsIsNotFound reports whether err is ErrNotFound; a helper for callers
// inside this package that translate sql.ErrNoRows.
func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

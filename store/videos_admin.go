package store

import (
	"context"
	"fmt"
	"strings"
)

// VideoRow is a video as the dashboard shows it: the video with its tags
// and metadata, its upload's state, and, when it came through a link, the
// link and what the uploader gave.
type VideoRow struct {
	Video Video
	// Filename is the name of the uploaded file, from the upload or else
	// from the link upload; empty before any byte arrived.
	Filename string
	// ExpectedSize is the size the source will have once uploaded, when
	// known: the upload's declared or final total, or else the size the
	// uploader's browser announced to the link. 0 when unknown.
	ExpectedSize int64
	// TotalParts and ReceivedParts are the upload's part counts (part
	// mode); TotalParts is 0 until a part carries the total.
	TotalParts    int
	ReceivedParts int

	// The link the video came through, if any.
	LinkID        string
	LinkLabel     string
	UploaderName  string
	UploaderEmail string
	// SHA256 is the hex SHA-256 of the file that the link computed as it
	// passed, once the upload through the link completed.
	SHA256 string
	// Processing is the status of the video's latest processing job
	// (JobQueued, JobRunning, JobDone, JobFailed), "" if it never had one;
	// ProcessingError says why it failed.
	Processing      string
	ProcessingError string
}

// Percent returns how much of the source has arrived, from 0 to 100, and
// false when the expected size is unknown.
func (r VideoRow) Percent() (int, bool) {
	switch {
	case r.Video.UploadStatus == UploadUploaded:
		return 100, true
	case r.ExpectedSize > 0:
		return int(min(r.Video.SourceSize*100/r.ExpectedSize, 100)), true
	case r.TotalParts > 0:
		return min(r.ReceivedParts*100/r.TotalParts, 100), true
	}
	return 0, false
}

// VideoRowFilter selects videos for the dashboard's list, newest first.
type VideoRowFilter struct {
	Query string // Substring of the title, case-insensitive for ASCII.
	// LinkID keeps the videos that came through that link; VideoNoLink
	// keeps those that came through no link (the API).
	LinkID string
	// Status keeps the videos whose upload is in that state:
	// UploadUploaded, UploadUploading, or VideoWaiting (no byte yet).
	Status string
	Sort   VideoRowSort // VideoRowByCreated when empty.
	Asc    bool         // Oldest or smallest first; newest first by default.
	Page   Page
}

// VideoNoLink is VideoRowFilter.LinkID for the videos of no link.
const VideoNoLink = "none"

// VideoWaiting is VideoRowFilter.Status for videos waiting for their file.
const VideoWaiting = "waiting"

// VideoRowSort orders the dashboard's list of videos.
type VideoRowSort string

// Orders of the dashboard's list of videos; ties go newest first.
const (
	VideoRowByCreated VideoRowSort = "created"
	VideoRowBySize    VideoRowSort = "size"
)

// where returns the filter's WHERE clause and its arguments.
func (f VideoRowFilter) where(d dialect) (string, []any) {
	var (
		conds []string
		args  []any
	)
	if f.Query != "" {
		conds, args = append(conds, `v.title `+d.like()+` ? ESCAPE '\'`), append(args, "%"+escapeLike(f.Query)+"%")
	}
	switch f.LinkID {
	case "":
	case VideoNoLink:
		conds = append(conds, `lu.link_id IS NULL`)
	default:
		conds, args = append(conds, `lu.link_id = ?`), append(args, f.LinkID)
	}
	switch f.Status {
	case UploadUploaded:
		conds = append(conds, `u.status = 'uploaded'`)
	case UploadUploading:
		conds = append(conds, `u.status IN ('uploading', 'completing')`)
	case VideoWaiting:
		conds = append(conds, `coalesce(u.status, '') NOT IN ('uploaded', 'uploading', 'completing')`)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return "WHERE " + strings.Join(conds, " AND "), args
}

// videoRowQuery selects the columns scanVideoRow reads. A video has at
// most one upload and at most one link upload (link_uploads.video_id is
// unique), so the joins never repeat a video.
const videoRowQuery = `
	SELECT v.id, v.title, v.description, v.public, v.panoramic, v.mp4_support,
		v.language, v.language_origin, v.player_id,
		v.created_at, v.updated_at, v.published_at,
		replace(coalesce(u.status, ''), 'completing', 'uploading'), coalesce(u.source_size, 0), coalesce(u.token_id, ''),
		` + thumbnailAtColumn + `,
		coalesce(nullif(u.filename, ''), lu.filename, ''),
		coalesce(u.total_bytes, lu.size, 0),
		coalesce(u.total_parts, 0), coalesce(u.received_parts, 0),
		coalesce(lu.link_id, ''), coalesce(l.label, ''),
		coalesce(lu.uploader_name, ''), coalesce(lu.uploader_email, ''),
		coalesce(lu.sha256, ''),
		coalesce(j.status, ''), coalesce(j.last_error, '')
	FROM videos v
	LEFT JOIN uploads u ON u.video_id = v.id
	LEFT JOIN link_uploads lu ON lu.video_id = v.id
	LEFT JOIN links l ON l.id = lu.link_id
	LEFT JOIN processing_jobs j ON j.id = (
		SELECT max(pj.id) FROM processing_jobs pj WHERE pj.video_id = v.id AND pj.kind = 'process')
	`

// FindVideoRows returns one page of the videos that f keeps, in its
// order, and how many it keeps in all.
func (s *Store) FindVideoRows(ctx context.Context, f VideoRowFilter) ([]VideoRow, int, error) {
	cond, args := f.where(s.d)
	dir := "DESC"
	if f.Asc {
		dir = "ASC"
	}
	order := "v.created_at " + dir + ", v.id " + dir
	if f.Sort == VideoRowBySize {
		order = "coalesce(u.source_size, 0) " + dir + ", v.created_at DESC, v.id DESC"
	}
	var (
		rows  []VideoRow
		total int
	)
	err := s.inRead(ctx, func(tx *txn) error {
		if err := tx.QueryRowContext(ctx, `
			SELECT count(*) FROM videos v
			LEFT JOIN uploads u ON u.video_id = v.id
			LEFT JOIN link_uploads lu ON lu.video_id = v.id
			`+cond, args...).Scan(&total); err != nil {
			return err
		}
		var err error
		rows, err = findVideoRows(ctx, tx, cond+`
			ORDER BY `+order+`
			LIMIT ? OFFSET ?`, append(args, f.Page.Size, f.Page.offset())...)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("store: find video rows: %w", err)
	}
	return rows, total, nil
}

// FindVideoRow returns the dashboard's view of one video. Returns
// ErrNotFound if there is no such video.
func (s *Store) FindVideoRow(ctx context.Context, id string) (VideoRow, error) {
	var row VideoRow
	err := s.inRead(ctx, func(tx *txn) error {
		rows, err := findVideoRows(ctx, tx, `WHERE v.id = ?`, id)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return ErrNotFound
		}
		row = rows[0]
		return nil
	})
	if err != nil {
		return VideoRow{}, fmt.Errorf("store: find video row %s: %w", id, err)
	}
	return row, nil
}

// findVideoRows loads the rows selected by the SQL tail (WHERE, ORDER BY,
// LIMIT), with their videos' tags and metadata.
func findVideoRows(ctx context.Context, tx *txn, tail string, args ...any) ([]VideoRow, error) {
	rows, err := queryRows(ctx, tx, scanVideoRow, videoRowQuery+tail, args...)
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.Video.ID
	}
	tags, meta, err := findTagsAndMetadata(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	for i := range rows {
		rows[i].Video.Tags = tags[rows[i].Video.ID]
		rows[i].Video.Metadata = meta[rows[i].Video.ID]
	}
	return rows, nil
}

// scanVideoRow reads the columns of videoRowQuery: scanVideo reads the
// video's, and the row's own follow them.
func scanVideoRow(rs rowScanner) (VideoRow, error) {
	var r VideoRow
	v, err := scanVideo(extraColumns{rs, []any{
		&r.Filename, &r.ExpectedSize, &r.TotalParts, &r.ReceivedParts,
		&r.LinkID, &r.LinkLabel, &r.UploaderName, &r.UploaderEmail, &r.SHA256,
		&r.Processing, &r.ProcessingError,
	}})
	r.Video = v
	return r, err
}

// extraColumns is a rowScanner that scans the columns after a table's own
// into extra, so that a query joining more columns can reuse the table's
// scan function.
type extraColumns struct {
	r     rowScanner
	extra []any
}

func (e extraColumns) Scan(dest ...any) error {
	return e.r.Scan(append(dest, e.extra...)...)
}

// LinkChoice is a link as a menu offers it.
type LinkChoice struct {
	ID    string
	Label string
}

// FindVideoLinks returns the links that videos came through, newest
// first, at most limit of them: the choices of the video list's link
// filter.
func (s *Store) FindVideoLinks(ctx context.Context, limit int) ([]LinkChoice, error) {
	var out []LinkChoice
	err := s.inRead(ctx, func(tx *txn) error {
		var err error
		out, err = queryRows(ctx, tx, scanLinkChoice, `
			SELECT l.id, l.label
			FROM links l
			WHERE EXISTS (
				SELECT 1 FROM link_uploads lu
				JOIN videos v ON v.id = lu.video_id
				WHERE lu.link_id = l.id)
			ORDER BY l.created_at DESC, l.id DESC
			LIMIT ?`, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: find the links of videos: %w", err)
	}
	return out, nil
}

func scanLinkChoice(r rowScanner) (LinkChoice, error) {
	var c LinkChoice
	err := r.Scan(&c.ID, &c.Label)
	return c, err
}

// videoLink is a video and the link it came through.
type videoLink struct {
	videoID string
	link    LinkChoice
}

func scanVideoLink(r rowScanner) (videoLink, error) {
	var v videoLink
	err := r.Scan(&v.videoID, &v.link.ID, &v.link.Label)
	return v, err
}

// FindLinksOfVideos returns, for each of the videos that came through a
// link, that link: in upstream mode the videos are on a remote host, and
// only their link uploads are here.
func (s *Store) FindLinksOfVideos(ctx context.Context, videoIDs []string) (map[string]LinkChoice, error) {
	out := map[string]LinkChoice{}
	if len(videoIDs) == 0 {
		return out, nil
	}
	err := s.inRead(ctx, func(tx *txn) error {
		inIDs, list, err := tx.d.inStrings("lu.video_id", videoIDs)
		if err != nil {
			return err
		}
		links, err := queryRows(ctx, tx, scanVideoLink, `
			SELECT lu.video_id, l.id, l.label
			FROM link_uploads lu
			JOIN links l ON l.id = lu.link_id
			WHERE `+inIDs, list)
		for _, l := range links {
			out[l.videoID] = l.link
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: find the links of videos: %w", err)
	}
	return out, nil
}

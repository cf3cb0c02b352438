package links

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/ingest"
)

// StartRequest describes a file an uploader wants to send through a link.
type StartRequest struct {
	Filename     string
	Size         int64
	LastModified int64 // The browser's File.lastModified, in milliseconds.
	Title        string
	Description  string
	Name         string // The uploader's name, when the link asks for it.
	Email        string
}

// Start begins an upload through a link, or resumes the unfinished upload
// of the same file (same name, size and modification time). A new upload
// takes one of the link's slots atomically and has its video created; it
// needs the link open. Resuming needs only the link not revoked: an upload
// started before the link expired may finish after (api-contract.md
// 11.4), and the same file sent again after its upload completed gets
// that upload back, with its receipt, rather than a refusal. It reports
// whether the upload existed already.
func (s *Service) Start(ctx context.Context, linkID string, r StartRequest) (store.LinkUpload, bool, error) {
	l, err := s.find(ctx, linkID)
	if err != nil {
		return store.LinkUpload{}, false, err
	}
	if l.RevokedAt != nil {
		return store.LinkUpload{}, false, s.refuse(ctx, l.ID, "", s.closed(l, false))
	}
	// The same file resumes without the rest of the form: the page of a
	// link that has closed since asks only for the file.
	r.Filename = ingest.CleanFilename(r.Filename)
	if u, err := s.store.FindResumableLinkUpload(ctx, l.ID, r.Filename, r.Size, r.LastModified); err == nil {
		kind := store.EventResumed
		if u.Status == store.LinkUploadCompleted {
			kind = ""
		}
		if kind != "" {
			if err := s.store.AddLinkEvent(ctx, store.LinkEvent{LinkID: l.ID, Kind: kind, VideoID: u.VideoID}); err != nil {
				s.log.WarnContext(ctx, "recording a resumed upload", "err", err)
			}
		}
		return u, true, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.LinkUpload{}, false, err
	}
	if ref := s.closed(l, false); ref != nil {
		return store.LinkUpload{}, false, s.refuse(ctx, l.ID, "", ref)
	}
	if err := s.checkStart(l, &r); err != nil {
		return store.LinkUpload{}, false, s.refuse(ctx, l.ID, "", err)
	}
	chunk, parts, ref := s.partition(r.Size)
	if ref != nil {
		return store.LinkUpload{}, false, s.refuse(ctx, l.ID, "", ref)
	}
	u := store.LinkUpload{
		ID:            store.RandomString(22),
		LinkID:        l.ID,
		Filename:      r.Filename,
		Size:          r.Size,
		LastModified:  r.LastModified,
		ChunkSize:     chunk,
		TotalParts:    parts,
		HashState:     newHashState(),
		Title:         r.Title,
		Description:   r.Description,
		UploaderName:  r.Name,
		UploaderEmail: r.Email,
	}
	u, err = s.backend.start(ctx, l, u, videoOf(l, r))
	switch {
	case errors.Is(err, store.ErrNoSlot), errors.Is(err, store.ErrLinkClosed):
		l, ferr := s.store.FindLink(ctx, l.ID)
		if ferr != nil {
			return store.LinkUpload{}, false, ferr
		}
		return store.LinkUpload{}, false, s.refuse(ctx, l.ID, "", s.closed(l, true))
	case err != nil:
		err = s.partRefusal(ctx, l, store.LinkUpload{}, err)
		if reason := failReason(err, false); reason != "" {
			s.metrics.UploadFailed(reason)
		}
		return store.LinkUpload{}, false, err
	}
	s.metrics.UploadStarted()
	s.events.UploadStarted(context.WithoutCancel(ctx), u.VideoID)
	u, err = s.store.FindLinkUpload(ctx, l.ID, u.VideoID)
	return u, false, err
}

// videoOf is the video an upload through link l creates: titled after the
// file unless the uploader gave a title, with metadata that says where it
// came from.
func videoOf(l store.Link, r StartRequest) store.VideoCreate {
	title := r.Title
	if title == "" {
		title = r.Filename
	}
	meta := []store.Metadata{{Key: "uplink-link", Value: l.ID}, {Key: "uplink-filename", Value: r.Filename}}
	if r.Name != "" {
		meta = append(meta, store.Metadata{Key: "uploader-name", Value: r.Name}, store.Metadata{Key: "uploader-email", Value: r.Email})
	}
	return store.VideoCreate{Title: title, Description: r.Description, Metadata: meta, Public: true, MP4Support: true}
}

// checkStart validates a start request against the link's limits.
func (s *Service) checkStart(l store.Link, r *StartRequest) *Refusal {
	r.Title, r.Description = strings.TrimSpace(r.Title), strings.TrimSpace(r.Description)
	r.Name, r.Email = strings.TrimSpace(r.Name), strings.TrimSpace(r.Email)
	switch {
	case r.Filename == "":
		return refusal(400, CodeInvalid, "The file has no name.", "Choose the file again.")
	case r.Size == 0:
		return refusal(400, CodeFileEmpty, "The file is empty.", "Choose a file that has something in it.")
	case r.Size < 0:
		return refusal(400, CodeInvalid, "The file size is invalid.", "Choose the file again.")
	case l.MaxSize > 0 && r.Size > l.MaxSize:
		return refusal(413, CodeFileTooLarge, "The file is too large.",
			fmt.Sprintf("This link takes files up to %s; this one is %s.", FormatBytes(l.MaxSize), FormatBytes(r.Size)))
	case !utf8.ValidString(r.Title) || utf8.RuneCountInString(r.Title) > 1024:
		return refusal(400, CodeInvalid, "The title is too long.", "Keep the title under 1024 characters.")
	case !utf8.ValidString(r.Description) || utf8.RuneCountInString(r.Description) > 10000:
		return refusal(400, CodeInvalid, "The description is too long.", "Keep the description under 10000 characters.")
	}
	if l.AskName || r.Name != "" || r.Email != "" {
		if r.Name == "" || utf8.RuneCountInString(r.Name) > 200 {
			return refusal(400, CodeInvalid, "Your name is needed.", "Enter your name (up to 200 characters).")
		}
		if a, err := mail.ParseAddress(r.Email); err != nil || a.Address != r.Email || len(r.Email) > 254 {
			return refusal(400, CodeInvalid, "Your email address is needed.", "Enter an email address such as name@example.com.")
		}
	}
	return nil
}

// partition picks the part size for a file: the configured chunk size, or
// larger when the file would need more parts than the protocol allows.
func (s *Service) partition(size int64) (int64, int, *Refusal) {
	chunk := s.chunkSize
	if ceilDiv(size, chunk) > ingest.MaxParts {
		const mib = 1 << 20
		chunk = ceilDiv(ceilDiv(size, ingest.MaxParts), mib) * mib
	}
	if chunk > ingest.MaxPieceSize {
		return 0, 0, refusal(413, CodeFileTooLarge, "The file is too large.", "uplink takes files of up to 1.9 TiB.")
	}
	return chunk, int(ceilDiv(size, chunk)), nil
}

// ceilDiv is a/b rounded up, for a >= 0 and b > 0. Unlike (a+b-1)/b, it
// cannot overflow: a start request may declare any size up to the largest
// int64.
func ceilDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 {
		q++
	}
	return q
}

// Upload returns an upload through the link linkID, for resuming it: the
// server is the source of truth for which parts it holds. An upload that
// holds every part and is not complete yet waits for its source to be
// assembled, which the uploader's page asks about until it is; if the
// process that recorded the last part died before assembling it, the
// backend assembles it now (see backend.settle).
func (s *Service) Upload(ctx context.Context, linkID, videoID string) (store.LinkUpload, error) {
	l, err := s.find(ctx, linkID)
	if err != nil {
		return store.LinkUpload{}, err
	}
	u, err := s.store.FindLinkUpload(ctx, l.ID, videoID)
	if err == nil && u.Status == store.LinkUploadUploading && u.NextPart > u.TotalParts {
		s.backend.settle(ctx, u)
		u, err = s.store.FindLinkUpload(ctx, l.ID, videoID)
	}
	if errors.Is(err, store.ErrNotFound) {
		return store.LinkUpload{}, refusal(404, CodeUploadNotFound, "Upload not found.", "Start the upload again.")
	}
	return u, err
}

// PartSize returns the size of part n of an upload.
func PartSize(u store.LinkUpload, n int) int64 {
	if n < u.TotalParts {
		return u.ChunkSize
	}
	return u.Size - int64(u.TotalParts-1)*u.ChunkSize
}

// Cancel stops an unfinished upload at the uploader's request: its slot is
// freed and its partial video deleted.
func (s *Service) Cancel(ctx context.Context, linkID, videoID string) error {
	u, err := s.Upload(ctx, linkID, videoID)
	if err != nil {
		return err
	}
	if u.Status == store.LinkUploadCompleted {
		return refusal(409, CodeUploadComplete, "This upload is already complete.", "A finished upload cannot be cancelled.")
	}
	if u.Status == store.LinkUploadReleased {
		return nil
	}
	return s.release(ctx, u, store.EventCancelled, "cancelled by the uploader")
}

// Reclaim frees the slots of the uploads through links whose lease ran out
// and that the upload service does not hold (it abandons its own), deletes
// their partial videos, and settles what the backend keeps. It returns how
// many uploads it freed.
func (s *Service) Reclaim(ctx context.Context) (int, error) {
	lapsed, err := s.store.FindLapsedLinkUploads(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, u := range lapsed {
		reason := "no part arrived for " + s.lease.String()
		if u.Status == store.LinkUploadStarting {
			reason = "its start did not finish"
		}
		released, err := s.backend.release(ctx, u, store.EventAbandoned, reason)
		if err != nil {
			return n, err
		}
		if released {
			n++
			s.released(ctx, u, store.EventAbandoned, reason)
		}
	}
	m, err := s.backend.maintain(ctx)
	return n + m, err
}

// SettleStarts releases the uploads through links whose start began
// before t and never finished: their process died between taking a slot
// and creating the video (only in upstream mode, where that takes
// requests to the remote host, or with an older uplink). Whatever video
// the start created is deleted. It returns how many it released; a
// server calls it when it starts, with its start time, as long as no
// other process shares its database.
func (s *Service) SettleStarts(ctx context.Context, t time.Time) (int, error) {
	us, err := s.store.FindStartingLinkUploads(ctx, t)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, u := range us {
		const reason = "its start did not finish"
		released, err := s.backend.release(ctx, u, store.EventAbandoned, reason)
		if err != nil {
			return n, err
		}
		if released {
			n++
			s.released(ctx, u, store.EventAbandoned, reason)
		}
	}
	return n, nil
}

// release stops an unfinished upload for good, and counts and announces
// it if it was still unfinished.
func (s *Service) release(ctx context.Context, u store.LinkUpload, kind, reason string) error {
	ctx = context.WithoutCancel(ctx)
	released, err := s.backend.release(ctx, u, kind, reason)
	if err != nil {
		s.log.ErrorContext(ctx, "releasing a link upload", "upload", u.ID, "err", err)
		return err
	}
	if released {
		s.released(ctx, u, kind, reason)
	}
	return nil
}

// released counts and announces an upload that was released.
func (s *Service) released(ctx context.Context, u store.LinkUpload, kind, reason string) {
	s.metrics.UploadFailed(releaseReasons[kind])
	if u.VideoID != "" {
		s.events.UploadFailed(context.WithoutCancel(ctx), u.VideoID, kind, reason)
	}
}

// releaseReasons are the Metrics.UploadFailed reasons of a released
// upload, by the event that released it. The only refusal that releases
// an upload is that of its file type (checkType).
var releaseReasons = map[string]string{
	store.EventCancelled: "cancelled",
	store.EventAbandoned: "abandoned",
	store.EventRefused:   "wrong_type",
}

// refuse records a refusal on the link's timeline, counts it, and returns
// it.
func (s *Service) refuse(ctx context.Context, linkID, videoID string, r *Refusal) error {
	if reason := failReason(r, false); reason != "" {
		s.metrics.UploadFailed(reason)
	}
	if err := s.store.AddLinkEvent(ctx, store.LinkEvent{LinkID: linkID, Kind: store.EventRefused, VideoID: videoID, Detail: r.Title}); err != nil {
		s.log.WarnContext(ctx, "recording a refusal", "err", err)
	}
	return r
}

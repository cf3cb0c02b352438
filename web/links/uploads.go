package links

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/ingest"
	"github.com/uplink-video/uplink/web/apivideo"
	"github.com/uplink-video/uplink/web/sniff"
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
// takes one of the link's slots atomically and creates its video on the
// backend. It reports whether the upload was resumed.
func (s *Service) Start(ctx context.Context, linkID string, r StartRequest) (store.LinkUpload, bool, error) {
	l, err := s.find(ctx, linkID)
	if err != nil {
		return store.LinkUpload{}, false, err
	}
	if ref := s.closed(l, false); ref != nil && ref.Code != CodeLinkUsedUp {
		return store.LinkUpload{}, false, s.refuse(ctx, l.ID, "", ref)
	}
	r.Filename = ingest.CleanFilename(r.Filename)
	if err := s.checkStart(l, &r); err != nil {
		return store.LinkUpload{}, false, s.refuse(ctx, l.ID, "", err)
	}
	if u, err := s.store.FindResumableLinkUpload(ctx, l.ID, r.Filename, r.Size, r.LastModified); err == nil {
		if err := s.store.AddLinkEvent(ctx, store.LinkEvent{LinkID: l.ID, Kind: store.EventResumed, VideoID: u.VideoID}); err != nil {
			s.log.WarnContext(ctx, "recording a resumed upload", "err", err)
		}
		return u, true, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.LinkUpload{}, false, err
	}

	chunk, parts, ref := s.partition(r.Size)
	if ref != nil {
		return store.LinkUpload{}, false, s.refuse(ctx, l.ID, "", ref)
	}
	u := store.LinkUpload{
		ID:             store.RandomString(22),
		LinkID:         l.ID,
		Filename:       r.Filename,
		Size:           r.Size,
		LastModified:   r.LastModified,
		ChunkSize:      chunk,
		TotalParts:     parts,
		HashState:      newHashState(),
		Title:          r.Title,
		Description:    r.Description,
		UploaderName:   r.Name,
		UploaderEmail:  r.Email,
		LeaseExpiresAt: s.store.Now().Add(s.lease),
	}
	if err := s.store.ReserveLinkUpload(ctx, u); err != nil {
		switch {
		case errors.Is(err, store.ErrNoSlot), errors.Is(err, store.ErrLinkClosed):
			l, ferr := s.store.FindLink(ctx, l.ID)
			if ferr != nil {
				return store.LinkUpload{}, false, ferr
			}
			return store.LinkUpload{}, false, s.refuse(ctx, l.ID, "", s.closed(l, true))
		}
		return store.LinkUpload{}, false, err
	}
	title := r.Title
	if title == "" {
		title = r.Filename
	}
	meta := []apivideo.Metadata{{Key: "uplink-link", Value: l.ID}, {Key: "uplink-filename", Value: r.Filename}}
	if r.Name != "" {
		meta = append(meta, apivideo.Metadata{Key: "uploader-name", Value: r.Name}, apivideo.Metadata{Key: "uploader-email", Value: r.Email})
	}
	v, err := s.backend.CreateVideo(ctx, apivideo.NewVideo{Title: title, Description: r.Description, Metadata: meta})
	if err != nil {
		if derr := s.store.DeleteLinkUpload(context.WithoutCancel(ctx), u.ID); derr != nil {
			s.log.ErrorContext(ctx, "freeing the slot of an upload whose video could not be created", "err", derr)
		}
		s.metrics.UploadFailed("upstream_error")
		return store.LinkUpload{}, false, s.backendErr(ctx, err)
	}
	if err := s.store.ActivateLinkUpload(ctx, u.ID, v.VideoID); err != nil {
		return store.LinkUpload{}, false, err
	}
	s.metrics.UploadStarted()
	u, err = s.store.FindLinkUpload(ctx, l.ID, v.VideoID)
	if err == nil && s.events != nil {
		s.events.UploadStarted(ctx, l, u)
	}
	return u, false, err
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

// Session returns an upload through a link, for resuming it: the server is
// the source of truth for which parts it holds.
func (s *Service) Session(ctx context.Context, linkID, videoID string) (store.LinkUpload, error) {
	l, err := s.find(ctx, linkID)
	if err != nil {
		return store.LinkUpload{}, err
	}
	u, err := s.store.FindLinkUpload(ctx, l.ID, videoID)
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

// PutPart checks part n of an upload and streams it to the backend.
// length is the request's Content-Length (-1 if unknown). Parts must come
// in order: n may be the next part, or one already held (a re-send after a
// lost response, answered without storing it again).
func (s *Service) PutPart(ctx context.Context, linkID, videoID string, n int, length int64, body io.Reader) (store.LinkUpload, error) {
	begun := time.Now()
	l, err := s.find(ctx, linkID)
	if err != nil {
		return store.LinkUpload{}, err
	}
	if l.RevokedAt != nil {
		return store.LinkUpload{}, s.closed(l, false)
	}
	u, err := s.Session(ctx, linkID, videoID)
	if err != nil {
		return u, err
	}
	switch u.Status {
	case store.LinkUploadCompleted:
		return u, nil
	case store.LinkUploadReleased:
		return u, refusal(410, CodeUploadAbandoned, "This upload was stopped.", "It was cancelled, refused or left idle too long. Start it again.")
	}
	if !s.store.Now().Before(u.LeaseExpiresAt) {
		s.release(ctx, u, store.EventAbandoned, "no part arrived for "+s.lease.String())
		return u, refusal(410, CodeUploadAbandoned, "This upload was abandoned.", "No part arrived for "+s.lease.String()+", so it was stopped. Start it again.")
	}
	switch {
	case n < 1 || n > u.TotalParts:
		return u, refusal(400, CodePartOutOfRange, "There is no such part.", fmt.Sprintf("This upload has parts 1 to %d.", u.TotalParts))
	case n > u.NextPart:
		r := refusal(409, CodePartOutOfOrder, "Parts must be sent in order.", fmt.Sprintf("Send part %d next.", u.NextPart))
		r.NextPart = u.NextPart
		return u, r
	}
	want := PartSize(u, n)
	switch {
	case length < 0:
		return u, refusal(411, CodeLengthRequired, "The part's length is missing.", "Send the part with a Content-Length header.")
	case length != want:
		return u, refusal(400, CodePartSizeMismatch, "The part has the wrong size.", fmt.Sprintf("Part %d must hold %d bytes; this one holds %d.", n, want, length))
	}

	// Once all of the part has arrived, the uploader going away (its
	// network died at the last byte) no longer cancels storing it.
	ctx, arrived := keepOnceArrived(ctx, body, want)
	defer arrived.release()
	var r io.Reader = arrived
	if n == 1 && u.NextPart == 1 {
		br := bufio.NewReaderSize(r, sniff.HeaderSize)
		head, err := br.Peek(int(min(sniff.HeaderSize, want)))
		if err != nil && !errors.Is(err, io.EOF) {
			return u, err
		}
		if ref := checkType(l, head); ref != nil {
			s.release(ctx, u, store.EventRefused, ref.Title)
			return u, ref
		}
		r = br
	}
	var bh *backgroundHash
	if n == u.NextPart {
		h := sha256.New()
		if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(u.HashState); err != nil {
			return u, fmt.Errorf("links: restore hash of %s: %w", u.ID, err)
		}
		bh = newBackgroundHash(h)
		defer bh.Wait()
		r = io.TeeReader(r, bh)
		var done func()
		r, done = s.inFlight.track(u.ID, n, r)
		defer done()
	}
	_, err = s.backend.UploadPart(ctx, apivideo.Part{
		Token: l.Token, VideoID: u.VideoID, Filename: u.Filename,
		Number: n, Total: u.TotalParts, Size: want, Body: r,
	})
	if err != nil {
		err = s.partErr(ctx, l, u, err)
		if reason := failReason(err, true); reason != "" {
			s.metrics.UploadFailed(reason)
		}
		return u, err
	}
	leaseTo := s.store.Now().Add(s.lease)
	done := false
	if bh == nil {
		err = s.store.RenewLinkUploadLease(ctx, u.ID, leaseTo)
	} else {
		h := bh.Wait()
		state, merr := h.(encoding.BinaryMarshaler).MarshalBinary()
		if merr != nil {
			return u, merr
		}
		sum := ""
		if n == u.TotalParts {
			sum = hex.EncodeToString(h.Sum(nil))
		}
		err = s.store.AdvanceLinkUpload(ctx, u.ID, n, state, sum, leaseTo)
		done = err == nil && sum != ""
		if errors.Is(err, store.ErrConflict) {
			// A concurrent re-send of the same part recorded it first.
			err = nil
		}
	}
	if err != nil {
		return u, err
	}
	s.metrics.PartCommitted(want, time.Since(begun))
	if done {
		s.metrics.UploadCompleted()
	}
	if done && s.events != nil {
		s.completed(ctx, l.ID, u.VideoID)
	}
	return s.store.FindLinkUpload(ctx, l.ID, u.VideoID)
}

// completed tells the event sink that an upload completed, and that its
// link is used up if it is.
func (s *Service) completed(ctx context.Context, linkID, videoID string) {
	ctx = context.WithoutCancel(ctx)
	l, err := s.store.FindLink(ctx, linkID)
	if err == nil {
		var u store.LinkUpload
		if u, err = s.store.FindLinkUpload(ctx, linkID, videoID); err == nil {
			s.events.UploadCompleted(ctx, l, u)
			if l.State(s.store.Now()) == store.LinkUsedUp {
				s.events.LinkUsedUp(ctx, l)
			}
		}
	}
	if err != nil {
		s.log.ErrorContext(ctx, "reading a completed upload for its events", "link", linkID, "video", videoID, "err", err)
	}
}

// checkType refuses a file whose first bytes are not of a type the link
// takes.
func checkType(l store.Link, head []byte) *Refusal {
	f, known := sniff.Detect(head)
	for _, t := range l.AllowedTypes {
		if t == "any" || t == "video" && known && f.Video || known && t == f.Name {
			return nil
		}
	}
	what := "a file of a type uplink does not recognise"
	if known {
		what = "a " + f.Label + " file"
	}
	return refusal(415, CodeTypeNotAllowed, "This type of file is not accepted.",
		fmt.Sprintf("This is %s. This link takes %s.", what, TypesText(l.AllowedTypes)))
}

// Cancel stops an unfinished upload at the uploader's request: its slot is
// freed and its partial video deleted.
func (s *Service) Cancel(ctx context.Context, linkID, videoID string) error {
	u, err := s.Session(ctx, linkID, videoID)
	if err != nil {
		return err
	}
	if u.Status == store.LinkUploadCompleted {
		return refusal(409, CodeUploadComplete, "This upload is already complete.", "A finished upload cannot be cancelled.")
	}
	if u.Status == store.LinkUploadReleased {
		return nil
	}
	s.release(ctx, u, store.EventCancelled, "cancelled by the uploader")
	return nil
}

// Reclaim frees the slots of uploads whose lease ran out and deletes their
// partial videos. It returns how many it freed.
func (s *Service) Reclaim(ctx context.Context) (int, error) {
	lapsed, err := s.store.FindLapsedLinkUploads(ctx)
	if err != nil {
		return 0, err
	}
	for _, u := range lapsed {
		s.release(ctx, u, store.EventAbandoned, "no part arrived for "+s.lease.String())
	}
	return len(lapsed), nil
}

// release frees an unfinished upload's slot, then deletes its video.
func (s *Service) release(ctx context.Context, u store.LinkUpload, kind, reason string) {
	ctx = context.WithoutCancel(ctx)
	if err := s.store.ReleaseLinkUpload(ctx, u.ID, kind, reason); err != nil {
		if !errors.Is(err, store.ErrConflict) {
			s.log.ErrorContext(ctx, "releasing a link upload", "upload", u.ID, "err", err)
		}
		return
	}
	s.metrics.UploadFailed(releaseReasons[kind])
	if s.events != nil {
		if l, err := s.store.FindLink(ctx, u.LinkID); err == nil {
			s.events.UploadFailed(ctx, l, u, kind, reason)
		} else {
			s.log.ErrorContext(ctx, "reading the link of a stopped upload for its events", "upload", u.ID, "err", err)
		}
	}
	if u.VideoID == "" {
		return
	}
	if err := s.backend.DeleteVideo(ctx, u.VideoID); err != nil {
		s.log.ErrorContext(ctx, "deleting the video of a stopped upload", "video", u.VideoID, "err", err)
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

// failReason is the Metrics.UploadFailed reason of a refused start, or
// of a part (part) that partErr refused, or "" for one that release
// counts.
func failReason(err error, part bool) string {
	var r *Refusal
	if !errors.As(err, &r) {
		return "interrupted" // The uploader went away (see partErr).
	}
	switch r.Code {
	case CodeFileTooLarge:
		return "too_large"
	case CodeLinkRevoked, CodeLinkExpired, CodeLinkUsedUp, CodeLinkBusy:
		return "link_closed"
	case CodeInvalid, CodeFileEmpty:
		if part {
			return "interrupted" // partErr's one CodeInvalid: the part was cut off.
		}
		return "invalid"
	case CodeNoSpace:
		return "no_space"
	case CodeUploadRefused:
		return "refused"
	case CodeUpstreamUnavailable:
		return "upstream_error"
	}
	return ""
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

// partErr turns a backend failure on a part into the uploader's refusal.
func (s *Service) partErr(ctx context.Context, l store.Link, u store.LinkUpload, err error) error {
	var e *apivideo.Error
	if !errors.As(err, &e) {
		if ctx.Err() != nil {
			return err // The uploader went away; nobody reads the answer.
		}
		return s.backendErr(ctx, err)
	}
	switch code := e.Code(); {
	case code == ingest.CodeInvalidToken:
		return refusal(410, CodeLinkRevoked, "This link was revoked.", "The person who sent it has closed it. Ask them for a new link.")
	case code == ingest.CodeUploadAbandoned:
		s.release(ctx, u, store.EventAbandoned, e.Title)
		return refusal(410, CodeUploadAbandoned, "This upload was abandoned.", "It was left idle too long. Start it again.")
	case e.Status == 507:
		return refusal(507, CodeNoSpace, "The server is out of space.", "Nothing of this part was kept. The upload goes on by itself once there is space again.")
	case e.Status >= 500:
		return s.backendErr(ctx, err)
	case code == "invalid-payload":
		// The uploader's request was cut off (pause, reload, lost
		// network, or a body idle for longer than the server's read
		// timeout); the part is sent again later. The status is 408,
		// not 400: after a stall the answer reaches the uploader once
		// the network recovers, and an uploader must read it as "send
		// it again", which HTTP says of 408, rather than as a request
		// that can never succeed, which 400 says.
		s.log.InfoContext(ctx, "a part was cut off", "link", l.ID, "video", u.VideoID, "part", u.NextPart)
		return refusal(408, CodeInvalid, "The part was cut off.", "Send it again.")
	}
	s.log.WarnContext(ctx, "the token endpoint refused a part", "link", l.ID, "video", u.VideoID, "err", err)
	return refusal(422, CodeUploadRefused, "The upload was refused.", strings.TrimSpace(e.Title+" "+e.Detail))
}

func (s *Service) backendErr(ctx context.Context, err error) error {
	s.log.ErrorContext(ctx, "the token upload endpoint failed", "err", err)
	return refusal(502, CodeUpstreamUnavailable, "The video server is not answering.", "Nothing is lost: the upload goes on by itself in a moment.")
}

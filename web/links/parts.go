package links

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/ingest"
	"github.com/uplink-video/uplink/web/sniff"
)

// PutPart checks part n of an upload and hands its bytes to the backend.
// length is the request's Content-Length (-1 if unknown). Parts must come
// in order: n may be the next part, or one already held (a re-send after
// a lost response, answered from the upload's state without reading the
// body). A part another request is sending is refused at once.
func (s *Service) PutPart(ctx context.Context, linkID, videoID string, n int, length int64, body io.Reader) (store.LinkUpload, error) {
	begun := time.Now()
	l, u, err := s.checkPart(ctx, linkID, videoID, n, length)
	if err != nil || n < u.NextPart || u.Status == store.LinkUploadCompleted {
		return u, err
	}
	want := PartSize(u, n)
	pw, err := s.backend.beginPart(ctx, l, u, n, want)
	if errors.Is(err, ingest.ErrPartRecorded) {
		return s.recorded(ctx, l, u, n)
	}
	if err != nil {
		return u, s.partFailed(ctx, l, u, err)
	}
	defer pw.close()

	// Once all of the part has arrived, the uploader going away (its
	// network died at the last byte) no longer cancels storing it.
	ctx, arrived := keepOnceArrived(ctx, body, want)
	defer arrived.release()
	var r io.Reader = arrived
	if n == 1 {
		br := bufio.NewReaderSize(r, sniff.HeaderSize)
		head, err := br.Peek(int(min(sniff.HeaderSize, want)))
		if err != nil && !errors.Is(err, io.EOF) {
			return u, s.partFailed(ctx, l, u, err)
		}
		if ref := checkType(l, head); ref != nil {
			pw.close()
			_ = s.release(ctx, u, store.EventRefused, ref.Title)
			return u, ref
		}
		r = br
	}
	h := sha256.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(u.HashState); err != nil {
		return u, fmt.Errorf("links: restore hash of %s: %w", u.ID, err)
	}
	bh := newBackgroundHash(h)
	defer bh.Wait()
	r, done := s.inFlight.track(u.ID, n, io.TeeReader(r, bh))
	defer done()
	if err := pw.write(ctx, r); err != nil {
		return u, s.partFailed(ctx, l, u, err)
	}
	adv, err := advance(u, n, bh.Wait())
	if err != nil {
		return u, err
	}
	completed, err := pw.commit(ctx, adv)
	if errors.Is(err, ingest.ErrPartRecorded) {
		return s.recorded(ctx, l, u, n)
	}
	if err != nil {
		return u, s.partFailed(ctx, l, u, err)
	}
	if s.upstream() {
		// The upload service counts and announces the parts it records
		// itself.
		s.metrics.PartCommitted(want, time.Since(begun))
		if completed {
			s.metrics.UploadCompleted()
			s.events.UploadCompleted(context.WithoutCancel(ctx), u.VideoID)
		}
	}
	return s.store.FindLinkUpload(ctx, l.ID, u.VideoID)
}

// checkPart loads the link and the upload, and checks that part n of
// length bytes may be sent now. It returns the upload without an error
// when the part is held already (n before NextPart, or the upload
// complete): the caller answers from it.
func (s *Service) checkPart(ctx context.Context, linkID, videoID string, n int, length int64) (store.Link, store.LinkUpload, error) {
	l, err := s.find(ctx, linkID)
	if err != nil {
		return l, store.LinkUpload{}, err
	}
	if l.RevokedAt != nil {
		return l, store.LinkUpload{}, s.closed(l, false)
	}
	u, err := s.Upload(ctx, linkID, videoID)
	if err != nil {
		return l, u, err
	}
	switch u.Status {
	case store.LinkUploadCompleted:
		return l, u, nil
	case store.LinkUploadReleased:
		return l, u, refusal(410, CodeUploadAbandoned, "This upload was stopped.", "It was cancelled, refused or left idle too long. Start it again.")
	}
	if !s.store.Now().Before(u.LeaseExpiresAt) {
		_ = s.release(ctx, u, store.EventAbandoned, "no part arrived for "+s.lease.String())
		return l, u, refusal(410, CodeUploadAbandoned, "This upload was abandoned.", "No part arrived for "+s.lease.String()+", so it was stopped. Start it again.")
	}
	switch {
	case n < 1 || n > u.TotalParts:
		return l, u, refusal(400, CodePartOutOfRange, "There is no such part.", fmt.Sprintf("This upload has parts 1 to %d.", u.TotalParts))
	case n > u.NextPart:
		r := refusal(409, CodePartOutOfOrder, "Parts must be sent in order.", fmt.Sprintf("Send part %d next.", u.NextPart))
		r.NextPart = u.NextPart
		return l, u, r
	case n < u.NextPart:
		return l, u, nil
	}
	want := PartSize(u, n)
	switch {
	case length < 0:
		return l, u, refusal(411, CodeLengthRequired, "The part's length is missing.", "Send the part with a Content-Length header.")
	case length != want:
		return l, u, refusal(400, CodePartSizeMismatch, "The part has the wrong size.", fmt.Sprintf("Part %d must hold %d bytes; this one holds %d.", n, want, length))
	}
	return l, u, nil
}

// recorded answers part n once the backend says it is recorded: a
// concurrent re-send got there first, or the upload ended meanwhile.
func (s *Service) recorded(ctx context.Context, l store.Link, u store.LinkUpload, n int) (store.LinkUpload, error) {
	cur, err := s.store.FindLinkUpload(ctx, l.ID, u.VideoID)
	switch {
	case err != nil:
		return u, err
	case cur.Status == store.LinkUploadReleased:
		return cur, refusal(410, CodeUploadAbandoned, "This upload was stopped.", "It was cancelled, refused or left idle too long. Start it again.")
	case n < cur.NextPart || cur.Status == store.LinkUploadCompleted:
		return cur, nil
	}
	return cur, refusal(409, CodePartInFlight, "This part is being sent already.", "Another request is sending it. It is sent again by itself in a moment.")
}

// advance is the progress that recording part n of u makes, with the hash
// h of every byte up to the part's end: the hash's state, and the file's
// SHA-256 after the last part.
func advance(u store.LinkUpload, n int, h hash.Hash) (store.LinkAdvance, error) {
	state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return store.LinkAdvance{}, err
	}
	adv := store.LinkAdvance{ID: u.ID, From: n, HashState: state}
	if n == u.TotalParts {
		adv.SHA256 = hex.EncodeToString(h.Sum(nil))
	}
	return adv, nil
}

// partFailed turns what went wrong with a part into the uploader's
// refusal, counts it, and releases the upload when the failure ends it.
func (s *Service) partFailed(ctx context.Context, l store.Link, u store.LinkUpload, err error) error {
	err = s.partRefusal(ctx, l, u, err)
	var r *Refusal
	if errors.As(err, &r) && r.Code == CodeUploadAbandoned {
		_ = s.release(ctx, u, store.EventAbandoned, r.Title)
	}
	// The upload service counts what it refuses itself; a remote host's
	// refusals are counted here.
	if reason := failReason(err, true); reason != "" && s.upstream() {
		s.metrics.UploadFailed(reason)
	}
	return err
}

// upstream reports whether the links' uploads go to a remote host.
func (s *Service) upstream() bool {
	_, ok := s.backend.(*Upstream)
	return ok
}

// partRefusal maps what a backend (Local or Upstream) reports, as
// ingest.Error codes, to the uploader's refusal: the one switch for both.
func (s *Service) partRefusal(ctx context.Context, l store.Link, u store.LinkUpload, err error) error {
	var (
		ie  *ingest.Error
		ref *Refusal
	)
	switch {
	case errors.As(err, &ref):
		return ref
	case errors.Is(err, errUnavailable):
		s.log.ErrorContext(ctx, "the upstream host failed", "err", err)
		return refusal(502, CodeUpstreamUnavailable, "The video server is not answering.", "Nothing is lost: the upload goes on by itself in a moment.")
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.Canceled):
		// The uploader's request was cut off (pause, reload, lost
		// network), or stopped sending for longer than the idle timeout;
		// the part is sent again later. The status is 408, not 400:
		// after a stall the answer reaches the uploader once the network
		// recovers, and it must read it as "send it again", which HTTP
		// says of 408, rather than as a request that can never succeed.
		s.log.InfoContext(ctx, "a part was cut off", "link", l.ID, "video", u.VideoID, "part", u.NextPart)
		return refusal(408, CodeInvalid, "The part was cut off.", "Send it again.")
	case !errors.As(err, &ie):
		return err
	}
	switch ie.Code {
	case ingest.CodeInvalidToken:
		return refusal(410, CodeLinkRevoked, "This link was revoked.", "The person who sent it has closed it. Ask them for a new link.")
	case ingest.CodeUploadAbandoned, ingest.CodeVideoNotFound:
		return refusal(410, CodeUploadAbandoned, "This upload was stopped.", "It was cancelled or left idle too long. Start it again.")
	case ingest.CodeNoSpace:
		return refusal(507, CodeNoSpace, "The server is out of space.", "Nothing of this part was kept. The upload goes on by itself once there is space again.")
	case ingest.CodePartInFlight:
		return refusal(409, CodePartInFlight, "This part is being sent already.", "Another request is sending it. It is sent again by itself in a moment.")
	case ingest.CodeTooManyParts:
		return refusal(429, CodeTooManyParts, "Too many files are being sent through this link at once.", "This one goes on by itself in a moment.")
	case "invalid-payload":
		return refusal(400, CodeInvalid, "The part was cut off.", "Send it again.")
	}
	s.log.WarnContext(ctx, "a part was refused", "link", l.ID, "video", u.VideoID, "err", err)
	return refusal(422, CodeUploadRefused, "The upload was refused.", strings.TrimSpace(ie.Detail))
}

// failReason is the Metrics.UploadFailed reason of a refused start, or
// of a part (part) that partRefusal refused, or "" for one that release
// counts.
func failReason(err error, part bool) string {
	var r *Refusal
	if !errors.As(err, &r) {
		return "interrupted" // The uploader went away (see partFailed).
	}
	switch r.Code {
	case CodeFileTooLarge:
		return "too_large"
	case CodeLinkRevoked, CodeLinkExpired, CodeLinkUsedUp, CodeLinkBusy:
		return "link_closed"
	case CodeInvalid, CodeFileEmpty:
		if part {
			return "interrupted" // partRefusal's one CodeInvalid: the part was cut off.
		}
		return "invalid"
	case CodeNoSpace:
		return "no_space"
	case CodeUploadRefused:
		return "refused"
	case CodeUpstreamUnavailable:
		return "upstream_error"
	case CodePartInFlight, CodeTooManyParts:
		return "busy"
	}
	return ""
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
		what = article(f.Label) + " " + f.Label + " file"
	}
	return refusal(415, CodeTypeNotAllowed, "This type of file is not accepted.",
		fmt.Sprintf("This is %s. This link takes %s.", what, TypesText(l.AllowedTypes)))
}

// article is "an" before a format label said with a vowel sound ("an
// MP4", "an MP3 audio", "an Ogg video"), and "a" before the others. Every
// label of package sniff starts with a word or with letters spelt out,
// and of the letters only M is said with a vowel sound before a consonant
// in them (MP4, MPEG). The uploader's script has the same rule
// (static/js/sniff.js).
func article(label string) string {
	if label != "" && (strings.ContainsRune("AEIOUaeiou", rune(label[0])) || strings.HasPrefix(label, "MP")) {
		return "an"
	}
	return "a"
}

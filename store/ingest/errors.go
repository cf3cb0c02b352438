package ingest

import (
	"context"
	"errors"
	"fmt"
)

// Error is a refusal of an upload request that the client can act on. The
// API layer maps Code to an HTTP status and an api.video problem document.
type Error struct {
	// Code is the api.video problem slug (the last segment of the problem
	// type URL), or one of uplink's own codes below.
	Code string
	// Name is the request element at fault: "Content-Range", "file",
	// "videoId" or "token".
	Name string
	// Detail says what went wrong with this request and what to do.
	Detail string
}

func (e *Error) Error() string { return fmt.Sprintf("ingest: %s: %s", e.Code, e.Detail) }

func refuse(code, name, format string, args ...any) *Error {
	return &Error{Code: code, Name: name, Detail: fmt.Sprintf(format, args...)}
}

// Problem codes. Most are api.video's own (docs.api.video/reference/<code>);
// the ones marked "uplink" are additions for cases api.video does not have.
const (
	CodeMissingToken        = "authentication-missing-upload-token"
	CodeInvalidToken        = "authentication-invalid-upload-token"
	CodeRangeMalformed      = "video-content-range-malformed"
	CodePartZero            = "video-content-range-by-part-part-zero"
	CodePartTooHighAllowed  = "video-content-range-by-part-part-too-high-allowed"
	CodePartTooHighTotal    = "video-content-range-by-part-part-too-high-total"
	CodeTotalPartsZero      = "video-content-range-by-part-total-parts-zero"
	CodeTotalPartsTooHigh   = "video-content-range-by-part-total-parts-too-high"
	CodeTotalPartsTooLow    = "video-content-range-by-part-total-parts-too-low"
	CodeDifferentTotalParts = "video-content-range-by-part-different-total-parts"
	CodePartAlreadySent     = "video-content-range-by-part-part-already-sent"
	CodePartTooSmall        = "video-content-range-by-part-uploaded-file-too-small"
	CodeBytesTotalZero      = "video-content-range-by-bytes-total-bytes-zero"
	CodeBytesTotalTooHigh   = "video-content-range-by-bytes-total-bytes-too-high"
	CodeBytesToTooHighTotal = "video-content-range-by-bytes-to-byte-too-high-total"
	CodeBytesToTooHigh      = "video-content-range-by-bytes-to-byte-too-high-allowed"
	CodeBytesFromTooHigh    = "video-content-range-by-bytes-from-byte-too-high"
	CodeBytesDifferentTotal = "video-content-range-by-bytes-different-total-bytes"
	CodeBytesMismatch       = "video-content-range-by-bytes-range-mismatch"
	CodeBytesOverlap        = "video-content-range-by-bytes-range-overlap"
	CodeBytesTooSmall       = "video-content-range-by-bytes-range-too-small"
	CodeBytesTooLarge       = "video-content-range-by-bytes-range-too-large"
	CodeStartedWithPart     = "video-content-range-started-with-part"
	CodeStartedWithBytes    = "video-content-range-started-with-bytes"
	CodeAlreadyInitiated    = "video-content-range-already-initiated"
	CodeSourceUploaded      = "video-source-already-uploaded"
	CodeFileEmpty           = "uploaded-file-empty"
	CodeFileTooLarge        = "uploaded-file-too-large"
	CodeNoFile              = "uploaded-file-no-file"
	CodeMultipleFiles       = "uploaded-file-multiple-files"
	CodeVideoNotFound       = "resource-not-found"

	// CodeVideoIDRequired (uplink): a piece that is not the first one came
	// without videoId and does not match exactly one open upload.
	CodeVideoIDRequired = "upload-video-id-required"
	// CodeUploadAbandoned (uplink): the upload's lease ran out, so its
	// bytes were reclaimed; the client must start again.
	CodeUploadAbandoned = "upload-abandoned"
	// CodeNoSpace (uplink): the disk is full; the piece was not kept and
	// can be sent again once there is space.
	CodeNoSpace = "insufficient-storage"
	// CodePartInFlight (uplink): another request is receiving the same
	// part; this one was refused before its body was read, and can be
	// sent again once the other ends (a client that gave up on a
	// connection the server still reads from).
	CodePartInFlight = "upload-part-in-flight"
	// CodeTooManyParts (uplink): the upload, or its link, has as many
	// parts in flight as it may; send this one again later.
	CodeTooManyParts = "upload-too-many-parts"
	// CodeSendAgain (uplink): the file part's length, guessed from the
	// request's framing for an object store, was wrong; nothing of it
	// was kept, and the same request sent again is written without a
	// guess (see GuessSize).
	CodeSendAgain = "upload-send-again"
)

// refused counts a refused piece with m by the reason its error gives,
// unless it is the refusal of an abandoned upload, which tryAbandon
// counted once when it abandoned the upload.
func (s *Service) refused(m Metrics, err error) {
	var e *Error
	switch {
	case errors.As(err, &e) && e.Code == CodeUploadAbandoned:
	case errors.As(err, &e) && e.Code == CodeFileTooLarge:
		m.UploadFailed("too_large")
	case errors.As(err, &e) && e.Code == CodeNoSpace:
		m.UploadFailed("no_space")
	case errors.As(err, &e) && (e.Code == CodePartInFlight || e.Code == CodeTooManyParts):
		m.UploadFailed("busy")
	case errors.As(err, &e):
		m.UploadFailed("refused")
	case errors.Is(err, context.Canceled):
		m.UploadFailed("interrupted")
	default:
		m.UploadFailed("error")
	}
}

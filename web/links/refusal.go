package links

import "fmt"

// Refusal is why a link or an upload through it was refused, in words for
// the uploader. Status is the HTTP status to answer with.
type Refusal struct {
	Status int
	Code   string
	Title  string
	Detail string
	// NextPart is set with CodePartOutOfOrder: the part to send next.
	NextPart int
}

func (r *Refusal) Error() string {
	return fmt.Sprintf("links: %s (%d): %s", r.Code, r.Status, r.Detail)
}

func refusal(status int, code, title, detail string) *Refusal {
	return &Refusal{Status: status, Code: code, Title: title, Detail: detail}
}

// Codes of refusals. They are stable: the uploader and embedding pages
// may act on them.
const (
	CodeLinkNotFound        = "link-not-found"
	CodeLinkExpired         = "link-expired"
	CodeLinkRevoked         = "link-revoked"
	CodeLinkUsedUp          = "link-used-up"
	CodeLinkBusy            = "link-busy"
	CodeInvalid             = "invalid-request"
	CodeFileEmpty           = "file-empty"
	CodeFileTooLarge        = "file-too-large"
	CodeTypeNotAllowed      = "file-type-not-allowed"
	CodeUploadNotFound      = "upload-not-found"
	CodeUploadAbandoned     = "upload-abandoned"
	CodeUploadComplete      = "upload-complete"
	CodePartOutOfRange      = "part-out-of-range"
	CodePartOutOfOrder      = "part-out-of-order"
	CodePartSizeMismatch    = "part-size-mismatch"
	CodeLengthRequired      = "length-required"
	CodeNoSpace             = "insufficient-storage"
	CodeUploadRefused       = "upload-refused"
	CodeUpstreamUnavailable = "upstream-unavailable"
	// CodePartInFlight: another request is sending the same part (an
	// uploader that gave up on a connection the server still reads).
	// The uploader sends the part again a little later.
	CodePartInFlight = "part-in-flight"
	// CodeTooManyParts: the link has as many parts in flight as it may
	// take at once; the uploader tries again a little later.
	CodeTooManyParts = "too-many-parts"
)

func refusalNotFound() *Refusal {
	return refusal(404, CodeLinkNotFound, "Link not found.", "There is no upload link at this address. Check that you copied the whole link.")
}

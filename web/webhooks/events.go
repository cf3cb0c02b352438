package webhooks

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/uplink-video/uplink/store"
)

// Event types.
const (
	EventUploadStarted   = "upload.started"
	EventUploadCompleted = "upload.completed"
	EventUploadFailed    = "upload.failed"
	EventLinkUsedUp      = "link.used_up"
	EventLinkExpired     = "link.expired"
	EventVideoProcessed  = "video.processed"
)

// EventTypes lists every event type, in the order the dashboard shows them.
var EventTypes = []string{EventUploadStarted, EventUploadCompleted, EventUploadFailed, EventVideoProcessed, EventLinkUsedUp, EventLinkExpired}

// knownType reports whether t is an event type.
func knownType(t string) bool { return slices.Contains(EventTypes, t) }

// Event is something to tell the subscribed endpoints about.
type Event struct {
	Type string
	// OrderKey groups events whose deliveries go out in order: those of
	// one video, or of one link.
	OrderKey string
	// Data is the event's "data" object: UploadData or LinkData.
	Data any

	// notice, when set, makes the event announced once (see
	// store.LinkNotice).
	notice *store.LinkNotice
}

// Envelope is the JSON body of every delivery. Receivers decode Data by
// Type: UploadData for upload.*, ProcessedData for video.processed,
// LinkData for link.*.
type Envelope struct {
	// ID identifies the event: the same for every endpoint, retry and
	// resend. It is also in the Uplink-Event-Id header.
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	CreatedAt string          `json:"createdAt"`
	Data      json.RawMessage `json:"data"`
}

// envelope is Envelope for encoding.
type envelope struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	CreatedAt string `json:"createdAt"`
	Data      any    `json:"data"`
}

// UploadData is the data of upload.started, upload.completed and
// upload.failed.
type UploadData struct {
	VideoID string `json:"videoId"`
	// Video is the video as the API's GET /videos/{videoId} returns it.
	// It is null for upload.failed (the partial video is deleted) and when
	// links upload to an upstream api.video host, of whose videos uplink
	// keeps no copy.
	Video *Video `json:"video"`
	// Link is the link the file came through; null for uploads made
	// straight through the API with an upload token.
	Link   *LinkInfo  `json:"link"`
	Upload UploadInfo `json:"upload"`
	// Reason says why an upload failed: "cancelled" (by the uploader),
	// "refused" (the file's type is not allowed), or "abandoned" (no part
	// arrived for the lease). Detail says more, in words.
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// UploadInfo describes the uploaded file.
type UploadInfo struct {
	Filename string `json:"filename"`
	// Size is the file's size in bytes: as declared when the upload
	// started through a link, as received when it completed.
	Size int64 `json:"size"`
	// SHA256 is the file's hex SHA-256, computed as it passed; set for
	// uploads completed through a link.
	SHA256 string `json:"sha256,omitempty"`
	// UploaderName and UploaderEmail are what the uploader gave, when the
	// link asks for them.
	UploaderName  string `json:"uploaderName,omitempty"`
	UploaderEmail string `json:"uploaderEmail,omitempty"`
	StartedAt     string `json:"startedAt"`
	CompletedAt   string `json:"completedAt,omitempty"`
}

// LinkData is the data of link.used_up and link.expired.
type LinkData struct {
	Link LinkInfo `json:"link"`
}

// LinkInfo describes an upload link.
type LinkInfo struct {
	ID    string `json:"id"`
	Label string `json:"label"`
	// URL is the link's shareable address.
	URL string `json:"url"`
	// MaxUploads is how many files the link takes; 0 is unlimited.
	MaxUploads int `json:"maxUploads"`
	// Completed is how many uploads through it completed so far.
	Completed int     `json:"completed"`
	ExpiresAt *string `json:"expiresAt"`
	CreatedAt string  `json:"createdAt"`
}

// linkInfo describes l for an event.
func (s *Service) linkInfo(l store.Link) LinkInfo {
	info := LinkInfo{
		ID: l.ID, Label: l.Label, URL: s.publicURL + "/u/" + l.ID,
		MaxUploads: l.MaxUploads, Completed: l.Completed, CreatedAt: atom(l.CreatedAt),
	}
	if l.ExpiresAt != nil {
		t := atom(*l.ExpiresAt)
		info.ExpiresAt = &t
	}
	return info
}

// linkUploadInfo describes an upload through a link.
func linkUploadInfo(u store.LinkUpload) UploadInfo {
	info := UploadInfo{
		Filename: u.Filename, Size: u.Size, SHA256: u.SHA256,
		UploaderName: u.UploaderName, UploaderEmail: u.UploaderEmail,
		StartedAt: atom(u.StartedAt),
	}
	if u.CompletedAt != nil {
		info.CompletedAt = atom(*u.CompletedAt)
	}
	return info
}

// atom formats a moment as the API does: "2024-07-14T12:00:00+00:00".
func atom(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05+00:00") }

// videoKey and linkKey are the order keys of a video's and a link's
// events.
func videoKey(id string) string { return "video:" + id }
func linkKey(id string) string  { return "link:" + id }

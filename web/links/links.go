// Package links implements delegated upload links: minting a link backed
// by an upload token, and the rules every upload through a link passes
// before its bytes reach the token upload endpoint.
//
// A link's token never leaves the server. The uploader's browser talks to
// the link's endpoints; this package checks the link, then streams each
// part to the token upload endpoint with the token attached. The endpoint
// is uplink's own by default, or a remote api.video-compatible host.
//
// Parts go through in order, one at a time per upload. That lets the
// server check the file type on the first bytes before anything else is
// stored, count every byte against the declared size, and compute the
// file's SHA-256 as it passes, without reading anything back.
package links

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/ingest"
	"github.com/uplink-video/uplink/web/apivideo"
	"github.com/uplink-video/uplink/web/sniff"
)

// backend is the token upload endpoint behind the links, with the calls
// needed to manage its tokens and videos.
type backend interface {
	CreateToken(ctx context.Context, ttl int) (string, error)
	DeleteToken(ctx context.Context, token string) error
	CreateVideo(ctx context.Context, v apivideo.NewVideo) (apivideo.Video, error)
	DeleteVideo(ctx context.Context, videoID string) error
	UploadPart(ctx context.Context, p apivideo.Part) (apivideo.Video, error)
}

// Service mints links and runs uploads through them.
type Service struct {
	store     *store.Store
	backend   backend
	publicURL string
	chunkSize int64
	lease     time.Duration
	log       *slog.Logger
	events    EventSink // May be nil.
	metrics   Metrics   // Never nil.
	inFlight  progressTable
}

// Metrics hears what happens to uploads through links, to count it. Its
// methods must be safe for concurrent use and must not block.
type Metrics interface {
	// UploadStarted is called when a new upload has its video.
	UploadStarted()
	// UploadCompleted is called when the last part of an upload is in.
	UploadCompleted()
	// UploadFailed is called when an unfinished upload is released
	// ("cancelled", "abandoned", or "wrong_type" when its first bytes
	// were refused), when a start is refused ("too_large", "link_closed",
	// "invalid"), and when a part is refused or lost on its way
	// ("link_closed", "no_space", "refused", "interrupted",
	// "upstream_error").
	UploadFailed(reason string)
	// PartCommitted is called for each part accepted, with its size and
	// the time from the start of PutPart to the part's commit.
	PartCommitted(bytes int64, d time.Duration)
}

type noMetrics struct{}

func (noMetrics) UploadStarted()                     {}
func (noMetrics) UploadCompleted()                   {}
func (noMetrics) UploadFailed(string)                {}
func (noMetrics) PartCommitted(int64, time.Duration) {}

// EventSink hears what happens to uploads through links, to tell other
// systems (the webhooks). Its methods are called after the change is
// committed, on the request's goroutine; they report their own failures
// and must not block for long.
type EventSink interface {
	// UploadStarted is called when a new upload has its video.
	UploadStarted(ctx context.Context, l store.Link, u store.LinkUpload)
	// UploadCompleted is called when the last part of an upload is in.
	UploadCompleted(ctx context.Context, l store.Link, u store.LinkUpload)
	// UploadFailed is called when an unfinished upload is released:
	// reason is "cancelled", "refused" or "abandoned", detail says more.
	UploadFailed(ctx context.Context, l store.Link, u store.LinkUpload, reason, detail string)
	// LinkUsedUp is called when a completed upload used up the link; it
	// may be called more than once for a link.
	LinkUsedUp(ctx context.Context, l store.Link)
}

// Config tunes a Service.
type Config struct {
	// PublicURL is the base of the links' URLs.
	PublicURL string
	// ChunkSize is the size of the parts uploaders send; at least 5 MiB.
	ChunkSize int64
	// Lease is how long an upload may go without a part before it is
	// abandoned and its slot freed. It should match the token endpoint's.
	Lease  time.Duration
	Logger *slog.Logger
	// Events, when set, hears about uploads starting, completing and
	// failing, and links being used up.
	Events EventSink
	// Metrics, when set, counts uploads and parts.
	Metrics Metrics
}

// DefaultChunkSize is the default part size for uploads through links.
const DefaultChunkSize = 16 << 20

// New returns a Service that keeps links in st and sends uploads to b.
func New(st *store.Store, b backend, cfg Config) *Service {
	if cfg.ChunkSize < ingest.MinPartSize {
		cfg.ChunkSize = DefaultChunkSize
	}
	if cfg.Lease <= 0 {
		cfg.Lease = ingest.DefaultLease
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = noMetrics{}
	}
	return &Service{
		store:     st,
		backend:   b,
		publicURL: strings.TrimRight(cfg.PublicURL, "/"),
		chunkSize: cfg.ChunkSize,
		lease:     cfg.Lease,
		log:       cfg.Logger,
		events:    cfg.Events,
		metrics:   cfg.Metrics,
	}
}

// URL returns the link's shareable URL.
func (s *Service) URL(l store.Link) string { return s.publicURL + "/u/" + l.ID }

// EmbedURL returns the URL to put in an iframe's src.
func (s *Service) EmbedURL(l store.Link) string { return s.publicURL + "/embed/" + l.ID }

// Spec describes a link to mint.
type Spec struct {
	Label   string
	Message string
	// TTL is how long the link takes new uploads; 0 is forever.
	TTL time.Duration
	// MaxUploads is how many files the link takes; 0 is unlimited.
	MaxUploads int
	// MaxSize is the largest file in bytes; 0 is no limit.
	MaxSize int64
	// Types are "video" (the default), "any", or format names from
	// package sniff such as "mp4" and "webm".
	Types []string
	// EmbedOrigins may embed the uploader (scheme://host[:port]), or "*".
	EmbedOrigins []string
	AskName      bool
}

// FieldErrors maps the fields of a Spec to what is wrong with them.
type FieldErrors map[string]string

func (f FieldErrors) Error() string {
	var parts []string
	for k, v := range f {
		parts = append(parts, k+": "+v)
	}
	return "invalid link: " + strings.Join(parts, "; ")
}

// Limits on link attributes.
const (
	maxLabel       = 200
	maxMessage     = 4000
	maxLinkUploads = 10000
	maxTTL         = store.MaxTokenTTL * time.Second
)

// Validate checks a spec and normalises it (trimmed text, default types,
// origins without trailing slashes). It returns FieldErrors naming every
// field that is wrong.
func (sp *Spec) Validate() error {
	fe := FieldErrors{}
	sp.Label = strings.TrimSpace(sp.Label)
	sp.Message = strings.TrimSpace(sp.Message)
	switch {
	case sp.Label == "":
		fe["label"] = "Give the link a label, so you can recognise it later."
	case !utf8.ValidString(sp.Label) || utf8.RuneCountInString(sp.Label) > maxLabel:
		fe["label"] = fmt.Sprintf("The label is limited to %d characters.", maxLabel)
	}
	if !utf8.ValidString(sp.Message) || utf8.RuneCountInString(sp.Message) > maxMessage {
		fe["message"] = fmt.Sprintf("The message is limited to %d characters.", maxMessage)
	}
	if sp.TTL < 0 || sp.TTL > maxTTL || sp.TTL > 0 && sp.TTL < time.Minute {
		fe["ttl"] = "The expiry must be at least one minute, or never."
	}
	if sp.MaxUploads < 0 || sp.MaxUploads > maxLinkUploads {
		fe["maxUploads"] = fmt.Sprintf("The number of uploads must be from 1 to %d, or unlimited.", maxLinkUploads)
	}
	if sp.MaxSize < 0 {
		fe["maxSize"] = "The maximum size must be positive, or no limit."
	} else if sp.MaxSize > 0 && sp.MaxSize < 1<<20 {
		fe["maxSize"] = "The maximum size must be at least 1 MiB."
	}
	if len(sp.Types) == 0 {
		sp.Types = []string{"video"}
	}
	for _, t := range sp.Types {
		if _, ok := sniff.Lookup(t); !ok && t != "video" && t != "any" {
			fe["types"] = fmt.Sprintf("Unknown file type %q; use video, any, or formats such as mp4, mov, webm, mkv.", t)
		}
	}
	origins := sp.EmbedOrigins[:0:0]
	for _, o := range sp.EmbedOrigins {
		o = strings.TrimRight(strings.TrimSpace(o), "/")
		if o == "" {
			continue
		}
		if o != "*" && !validOrigin(o) {
			fe["embedOrigins"] = fmt.Sprintf("%q is not an origin such as https://site.example or https://site.example:8443.", o)
			continue
		}
		origins = append(origins, o)
	}
	sp.EmbedOrigins = origins
	if len(fe) > 0 {
		return fe
	}
	return nil
}

func validOrigin(o string) bool {
	_, err := ParseOrigin(o)
	return err == nil
}

// Create mints a link: a fresh upload token on the backend, and the link
// that fronts it. The token itself never expires; the link decides when
// uploads may start, and revoking the link deletes the token.
func (s *Service) Create(ctx context.Context, sp Spec) (store.Link, error) {
	if err := sp.Validate(); err != nil {
		return store.Link{}, err
	}
	token, err := s.backend.CreateToken(ctx, 0)
	if err != nil {
		return store.Link{}, fmt.Errorf("links: mint upload token: %w", err)
	}
	l, err := s.store.CreateLink(ctx, store.LinkCreate{
		Token:        token,
		Label:        sp.Label,
		Message:      sp.Message,
		TTL:          int(sp.TTL / time.Second),
		MaxUploads:   sp.MaxUploads,
		MaxSize:      sp.MaxSize,
		AllowedTypes: sp.Types,
		EmbedOrigins: sp.EmbedOrigins,
		AskName:      sp.AskName,
	})
	if err != nil {
		if derr := s.backend.DeleteToken(context.WithoutCancel(ctx), token); derr != nil {
			s.log.ErrorContext(ctx, "deleting the token of a link that could not be saved", "err", derr)
		}
		return store.Link{}, err
	}
	return l, nil
}

// Revoke closes a link for good: uploads in progress stop at their next
// part, and the token behind it is deleted.
func (s *Service) Revoke(ctx context.Context, id string) (store.Link, error) {
	l, err := s.store.RevokeLink(ctx, id)
	if err != nil {
		return store.Link{}, err
	}
	if err := s.backend.DeleteToken(ctx, l.Token); err != nil {
		// The link is revoked either way: every part is checked against
		// the link before it is forwarded.
		s.log.ErrorContext(ctx, "deleting the token of a revoked link", "link", id, "err", err)
	}
	return l, nil
}

// Open returns an active link for its public page, and records the visit.
// A link that cannot take uploads is returned with a *Refusal saying why.
func (s *Service) Open(ctx context.Context, id string) (store.Link, error) {
	l, err := s.find(ctx, id)
	if err != nil {
		return l, err
	}
	s.recordVisit(ctx, id)
	// A link whose every slot is held by uploads in progress still shows
	// its page: the uploader of one of them may be coming back to resume
	// (the page finds an unfinished upload by its file), while a new file
	// is refused as busy when it starts.
	if r := s.closed(l, false); r != nil {
		return l, r
	}
	return l, nil
}

// visitQuiet is how long after a recorded visit further visits of the
// same link are not recorded, so that reloads and busy links do not bury
// the rest of the timeline.
const visitQuiet = 10 * time.Minute

func (s *Service) recordVisit(ctx context.Context, linkID string) {
	seen, err := s.store.HasLinkEventSince(ctx, linkID, store.EventOpened, s.store.Now().Add(-visitQuiet))
	if err == nil && !seen {
		err = s.store.AddLinkEvent(ctx, store.LinkEvent{LinkID: linkID, Kind: store.EventOpened})
	}
	if err != nil {
		s.log.WarnContext(ctx, "recording a link visit", "err", err)
	}
}

// find loads a link, refusing IDs of the wrong shape before any lookup.
func (s *Service) find(ctx context.Context, id string) (store.Link, error) {
	if !validLinkID(id) {
		return store.Link{}, refusalNotFound()
	}
	l, err := s.store.FindLink(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Link{}, refusalNotFound()
	}
	return l, err
}

func validLinkID(id string) bool {
	if len(id) != 22 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// closed returns why a link takes no new uploads, or nil. With
// countInFlight, a link whose every slot is held by uploads in progress
// counts as busy.
func (s *Service) closed(l store.Link, countInFlight bool) *Refusal {
	switch l.State(s.store.Now()) {
	case store.LinkRevoked:
		return refusal(410, CodeLinkRevoked, "This link was revoked.", "The person who sent it has closed it. Ask them for a new link.")
	case store.LinkExpired:
		return refusal(410, CodeLinkExpired, "This link has expired.", "It no longer takes uploads. Ask the person who sent it for a new link.")
	case store.LinkUsedUp:
		return refusal(410, CodeLinkUsedUp, "This link has been used.", usedUpDetail(l))
	}
	if countInFlight && l.Remaining() == 0 {
		return refusal(409, CodeLinkBusy, "This link is in use.", "Every upload this link allows is in progress. If one of them is abandoned, the link takes a new one; try again later.")
	}
	return nil
}

func usedUpDetail(l store.Link) string {
	if l.MaxUploads == 1 {
		return "It was a one-time link and a file was already uploaded with it. Ask the person who sent it for a new link."
	}
	return fmt.Sprintf("It took the %d uploads it allows. Ask the person who sent it for a new link.", l.MaxUploads)
}

// newHashState is the marshalled state of an empty SHA-256.
func newHashState() []byte {
	b, err := sha256.New().(interface{ MarshalBinary() ([]byte, error) }).MarshalBinary()
	if err != nil {
		panic("links: sha256 state cannot be marshalled: " + err.Error())
	}
	return b
}

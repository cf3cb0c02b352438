// Package links implements delegated upload links: minting a link, and
// the rules every upload through a link passes before its bytes are
// stored.
//
// The uploader's browser talks to the link's endpoints; this package
// checks the link and the part, then hands the bytes to a backend: this
// server's upload service, called in process with typed values (Local),
// or a remote api.video-compatible host, reached over HTTP with an upload
// token of the upload's own that never leaves the server (Upstream).
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
	"github.com/uplink-video/uplink/web/sniff"
)

// Service mints links and runs uploads through them.
type Service struct {
	store     *store.Store
	backend   backend
	publicURL string
	chunkSize int64
	lease     time.Duration
	log       *slog.Logger
	events    ingest.Events  // Never nil.
	metrics   ingest.Metrics // Never nil.
	inFlight  progressTable
}

type noMetrics = ingest.NoMetrics

type noEvents = ingest.NoEvents

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
	// Events, when set, hears about uploads through links starting,
	// completing and failing; the upload service tells it about those
	// this server receives completing.
	Events ingest.Events
	// Metrics, when set, counts uploads and parts through links.
	Metrics ingest.Metrics
}

// DefaultChunkSize is the default part size for uploads through links.
const DefaultChunkSize = 16 << 20

// New returns a Service that keeps links in st and sends uploads to b,
// which is Local or an *Upstream.
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
	if cfg.Events == nil {
		cfg.Events = noEvents{}
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
	// EmailReceipt emails the uploader a receipt when an upload
	// completes, at the address they gave (AskName) or the one the link
	// was made for; only when uplink sends email.
	EmailReceipt bool
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

// Create mints a link. It has no upload token: the link itself is the
// recipient's credential, checked on every request, and an upload token
// exists only in upstream mode, per upload, on the remote host.
func (s *Service) Create(ctx context.Context, sp Spec) (store.Link, error) {
	if err := sp.Validate(); err != nil {
		return store.Link{}, err
	}
	return s.store.CreateLink(ctx, store.LinkCreate{
		Label:        sp.Label,
		Message:      sp.Message,
		TTL:          int(sp.TTL / time.Second),
		MaxUploads:   sp.MaxUploads,
		MaxSize:      sp.MaxSize,
		AllowedTypes: sp.Types,
		EmbedOrigins: sp.EmbedOrigins,
		AskName:      sp.AskName,
		EmailReceipt: sp.EmailReceipt,
	})
}

// Revoke closes a link for good: uploads in progress stop at their next
// part (every part is checked against the link before it is stored), and
// in upstream mode their tokens are deleted on the remote host.
func (s *Service) Revoke(ctx context.Context, id string) (store.Link, error) {
	l, err := s.store.RevokeLink(ctx, id)
	if err != nil {
		return store.Link{}, err
	}
	s.backend.revoked(context.WithoutCancel(ctx), l)
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

// visitQuiet is how long after a visit the next one of the same link
// folds into it on the timeline ("Page opened 3 times"), so that reloads
// and busy links do not bury the rest of the timeline while every visit
// is counted.
const visitQuiet = 10 * time.Minute

func (s *Service) recordVisit(ctx context.Context, linkID string) {
	if err := s.store.RecordLinkVisit(ctx, linkID, s.store.Now().Add(-visitQuiet)); err != nil {
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

package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/uplink-video/uplink/store"
)

// Service queues events for the registered endpoints and delivers them.
// It is safe for concurrent use. Its methods that announce something
// (UploadStarted, VideoCompleted, ...) never fail the caller: an event
// that cannot be queued is logged.
type Service struct {
	store        *store.Store
	client       *http.Client
	publicURL    string
	allowPrivate bool
	retryFor     time.Duration
	poll         time.Duration
	parallel     int
	claimFor     time.Duration
	keep         time.Duration
	userAgent    string
	log          *slog.Logger
	wake         chan struct{}
}

// Config tunes a Service.
type Config struct {
	// PublicURL is the base of the URLs in events (links, video files).
	PublicURL string
	// AllowPrivateTargets lets endpoints be on loopback, private and
	// link-local addresses. It is off by default, so that whoever can
	// register an endpoint cannot make uplink call the services next to
	// it (SSRF); turn it on for receivers on the same host or network,
	// and in tests, whose receivers listen on loopback.
	AllowPrivateTargets bool
	// Timeout bounds one attempt, from dialling to the end of the
	// answer's headers. Defaults to DefaultTimeout.
	Timeout time.Duration
	// RetryFor is how long a failing delivery is retried before it is
	// given up. Defaults to DefaultRetryFor.
	RetryFor time.Duration
	// PollInterval is how often Run looks for deliveries that became due;
	// Emit wakes it at once. Defaults to DefaultPollInterval.
	PollInterval time.Duration
	// Parallel is how many deliveries are sent at once; at most one per
	// video and endpoint. Defaults to 4.
	Parallel int
	// Keep is how long delivered and failed deliveries stay in the log.
	// Defaults to DefaultKeep.
	Keep time.Duration
	// Version goes in the User-Agent header.
	Version string
	Logger  *slog.Logger
}

// Defaults of Config.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultRetryFor     = 24 * time.Hour
	DefaultPollInterval = 5 * time.Second
	DefaultKeep         = 30 * 24 * time.Hour
)

// claimFor is how long a worker keeps the deliveries it claims before
// another may send them: as long as the attempts of a whole batch take at
// most, one after the other in parallel runs of their timeout, and a
// minute to record them. A worker that dies holds its deliveries that
// long.
func claimFor(timeout time.Duration, parallel int) time.Duration {
	rounds := (batchSize + parallel - 1) / parallel
	return time.Duration(rounds)*timeout + time.Minute
}

// New returns a Service that keeps its queue in st. Call Run to deliver.
func New(st *store.Store, cfg Config) *Service {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.RetryFor <= 0 {
		cfg.RetryFor = DefaultRetryFor
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 4
	}
	if cfg.Keep <= 0 {
		cfg.Keep = DefaultKeep
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ua := "uplink-webhooks"
	if cfg.Version != "" {
		ua += "/" + cfg.Version
	}
	return &Service{
		store:        st,
		client:       newClient(cfg.Timeout, cfg.AllowPrivateTargets),
		publicURL:    strings.TrimRight(cfg.PublicURL, "/"),
		allowPrivate: cfg.AllowPrivateTargets,
		retryFor:     cfg.RetryFor,
		poll:         cfg.PollInterval,
		parallel:     cfg.Parallel,
		claimFor:     claimFor(cfg.Timeout, cfg.Parallel),
		keep:         cfg.Keep,
		userAgent:    ua,
		log:          cfg.Logger,
		wake:         make(chan struct{}, 1),
	}
}

// Emit queues e for every endpoint subscribed to its type and wakes the
// worker. It returns how many deliveries it queued. An event about a
// link fact that was already announced queues nothing.
func (s *Service) Emit(ctx context.Context, e Event) (int, error) {
	if !knownType(e.Type) {
		return 0, fmt.Errorf("webhooks: unknown event type %q", e.Type)
	}
	id := store.NewID(store.PrefixWebhookEvent)
	body, err := json.Marshal(envelope{ID: id, Type: e.Type, CreatedAt: atom(s.store.Now()), Data: e.Data})
	if err != nil {
		return 0, fmt.Errorf("webhooks: encode %s: %w", e.Type, err)
	}
	// The event happened whether or not the caller is still there.
	ctx = context.WithoutCancel(ctx)
	n, err := s.store.EnqueueWebhookEvent(ctx, store.WebhookEvent{
		ID: id, Type: e.Type, OrderKey: e.OrderKey, Payload: body, Notice: e.notice,
	}, s.retryFor)
	if errors.Is(err, store.ErrConflict) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if n > 0 {
		s.Wake()
	}
	return n, nil
}

// Wake makes Run look for due deliveries now.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// emit is Emit for the announcing methods, which log instead of failing.
func (s *Service) emit(ctx context.Context, e Event) {
	if _, err := s.Emit(ctx, e); err != nil {
		s.log.Error("queueing a webhook event", "type", e.Type, "key", e.OrderKey, "err", err)
	}
}

// subscribed reports whether any endpoint takes events of the type, so
// that the data of an event nobody receives is not gathered.
func (s *Service) subscribed(ctx context.Context, eventType string) bool {
	yes, err := s.store.WebhookSubscribed(ctx, eventType)
	if err != nil {
		s.log.Error("finding webhook subscribers", "err", err)
		return true // Let Emit try, and report what fails.
	}
	return yes
}

// video returns a video as the API shows it, or nil when uplink has no
// copy of it (links uploading to an upstream host).
func (s *Service) video(ctx context.Context, id string) *Video {
	v, err := s.store.FindVideo(ctx, id)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.Error("reading a video for a webhook event", "video", id, "err", err)
		}
		return nil
	}
	return s.videoJSON(v)
}

// UploadStarted announces that an upload through a link began: it has
// its video, videoID. Uploads through the API are not announced until
// they complete.
func (s *Service) UploadStarted(ctx context.Context, videoID string) {
	ctx = context.WithoutCancel(ctx)
	if !s.subscribed(ctx, EventUploadStarted) {
		return
	}
	l, u, ok := s.linkUpload(ctx, videoID)
	if !ok {
		return
	}
	link := s.linkInfo(l)
	s.emit(ctx, Event{Type: EventUploadStarted, OrderKey: videoKey(videoID), Data: UploadData{
		VideoID: videoID, Video: s.video(ctx, videoID), Link: &link, Upload: linkUploadInfo(u),
	}})
}

// UploadCompleted announces that the upload filling videoID completed,
// through the API or a link; for a link, also that the link is used up
// if it is.
func (s *Service) UploadCompleted(ctx context.Context, videoID string) {
	ctx = context.WithoutCancel(ctx)
	l, u, ok := s.linkUpload(ctx, videoID)
	if ok && l.State(s.store.Now()) == store.LinkUsedUp {
		defer s.LinkUsedUp(ctx, l)
	}
	if !s.subscribed(ctx, EventUploadCompleted) {
		return
	}
	if ok {
		link := s.linkInfo(l)
		s.emit(ctx, Event{Type: EventUploadCompleted, OrderKey: videoKey(videoID), Data: UploadData{
			VideoID: videoID, Video: s.video(ctx, videoID), Link: &link, Upload: linkUploadInfo(u),
		}})
		return
	}
	v, err := s.store.FindVideo(ctx, videoID)
	if err != nil {
		s.log.Error("reading a completed video for a webhook event", "video", videoID, "err", err)
		return
	}
	data := UploadData{VideoID: videoID, Video: s.videoJSON(v), Upload: UploadInfo{Size: v.SourceSize}}
	if up, err := s.store.FindUpload(ctx, videoID); err == nil {
		data.Upload = UploadInfo{Filename: up.Filename, Size: up.SourceSize, StartedAt: atom(up.StartedAt)}
		if up.CompletedAt != nil {
			data.Upload.CompletedAt = atom(*up.CompletedAt)
		}
	}
	s.emit(ctx, Event{Type: EventUploadCompleted, OrderKey: videoKey(videoID), Data: data})
}

// UploadFailed announces that an upload through a link stopped for good:
// reason is "cancelled", "refused" or "abandoned", detail says more.
// Uploads through the API are not announced.
func (s *Service) UploadFailed(ctx context.Context, videoID, reason, detail string) {
	ctx = context.WithoutCancel(ctx)
	if !s.subscribed(ctx, EventUploadFailed) {
		return
	}
	l, u, ok := s.linkUpload(ctx, videoID)
	if !ok {
		return
	}
	link := s.linkInfo(l)
	s.emit(ctx, Event{Type: EventUploadFailed, OrderKey: videoKey(videoID), Data: UploadData{
		VideoID: videoID, Link: &link, Upload: linkUploadInfo(u), Reason: reason, Detail: detail,
	}})
}

// linkUpload returns the upload through a link that fills videoID, and
// its link; ok is false for a video that did not come through a link.
func (s *Service) linkUpload(ctx context.Context, videoID string) (store.Link, store.LinkUpload, bool) {
	u, err := s.store.FindLinkUploadByVideo(ctx, videoID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Link{}, store.LinkUpload{}, false
	}
	var l store.Link
	if err == nil {
		l, err = s.store.FindLink(ctx, u.LinkID)
	}
	if err != nil {
		s.log.Error("reading the link upload of a video for a webhook event", "video", videoID, "err", err)
		return store.Link{}, store.LinkUpload{}, false
	}
	return l, u, true
}

// LinkUsedUp announces that link l took the last upload it allows, once
// per link however often it is called.
func (s *Service) LinkUsedUp(ctx context.Context, l store.Link) {
	s.emit(ctx, Event{
		Type: EventLinkUsedUp, OrderKey: linkKey(l.ID), Data: LinkData{Link: s.linkInfo(l)},
		notice: &store.LinkNotice{LinkID: l.ID, Kind: store.NoticeUsedUp},
	})
}

// ExpireLinks announces every link whose expiry passed since it was last
// called (or ever, for links that expired while uplink was stopped), once
// per expiry, and returns how many it found.
func (s *Service) ExpireLinks(ctx context.Context) (int, error) {
	expired, err := s.store.FindUnnoticedExpiredLinks(ctx)
	if err != nil {
		return 0, err
	}
	for _, l := range expired {
		_, err := s.Emit(ctx, Event{
			Type: EventLinkExpired, OrderKey: linkKey(l.ID), Data: LinkData{Link: s.linkInfo(l)},
			notice: &store.LinkNotice{LinkID: l.ID, Kind: store.NoticeExpired, At: *l.ExpiresAt},
		})
		if err != nil {
			return 0, err
		}
	}
	return len(expired), nil
}

// FieldErrors maps the fields of an endpoint ("url", "events") to what is
// wrong with them.
type FieldErrors map[string]string

func (f FieldErrors) Error() string {
	var parts []string
	for k, v := range f {
		parts = append(parts, k+": "+v)
	}
	return "invalid webhook endpoint: " + strings.Join(parts, "; ")
}

// CreateEndpoint registers an endpoint for the given event types, with a
// new secret. It returns FieldErrors when the URL or the events are not
// acceptable (see CheckURL).
func (s *Service) CreateEndpoint(ctx context.Context, rawURL string, events []string) (store.WebhookEndpoint, error) {
	fe := FieldErrors{}
	u, err := CheckURL(rawURL, s.allowPrivate)
	if err != nil {
		fe["url"] = err.Error()
	}
	var picked []string
	for _, t := range EventTypes {
		if slices.Contains(events, t) {
			picked = append(picked, t)
		}
	}
	switch {
	case len(picked) == 0:
		fe["events"] = "Choose at least one event to send."
	case slices.ContainsFunc(events, func(e string) bool { return !knownType(e) }):
		fe["events"] = "Choose events from the list."
	}
	if len(fe) > 0 {
		return store.WebhookEndpoint{}, fe
	}
	return s.store.CreateWebhookEndpoint(ctx, store.WebhookEndpointCreate{URL: u, Secret: NewSecret(), Events: picked})
}

// NewSecret returns a new endpoint secret: "whsec_" and 32 random
// characters (190 bits). The whole string is the HMAC key.
func NewSecret() string { return "whsec_" + store.RandomString(32) }

// Resend sends a delivery's event to its endpoint again, and wakes the
// worker: a pending delivery is retried now, a delivered or failed one is
// queued again as a new delivery (see store.ResendWebhookDelivery).
// Returns store.ErrNotFound if the endpoint has no such delivery.
func (s *Service) Resend(ctx context.Context, endpointID string, deliveryID int64) (store.WebhookDelivery, error) {
	d, err := s.store.ResendWebhookDelivery(ctx, endpointID, deliveryID, s.retryFor)
	if err != nil {
		return store.WebhookDelivery{}, err
	}
	s.Wake()
	return d, nil
}

// Package ingest assembles uploaded pieces into video sources, durably.
//
// One upload request carries one piece: a whole file, a numbered part, or a
// byte range. An upload is a multipart object in the blob store, one blob
// part per piece, so each piece is written once, as it arrives, wherever it
// belongs; the object is assembled from the pieces the metadata store
// records once they are all there. A piece whose upload is not known until
// its request ends (a videoId after the file, or a token with several
// uploads open) is written to an object of its own and adopted as a part
// once its upload is known.
//
// Nothing that matters lives in this process, so several processes may
// share the metadata store and the blob store, and the pieces of one
// upload may reach any of them, in any order, at once:
//   - At most one request receives a given part: it claims the part in a
//     short transaction before reading its first byte, renews the claim
//     while the bytes stream, and ends it in the transaction that records
//     the part. A second request for the part is refused at once, without
//     its body being read. A claim whose holder died expires, and
//     whoever ends it discards what the holder was writing aside.
//   - A piece counts only once its bytes are durable in the blob store and
//     its row is committed, in that order, so a crash can leave bytes
//     without a row (removed by Recover and Reclaim once old enough) but
//     never a row without its bytes.
//   - The transaction that records the last piece marks the upload
//     completing; whoever then finds it so (the request, or the cleanup
//     job after a crash) assembles the object and marks it uploaded.
package ingest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/blob"
)

// Service receives upload pieces. It is safe for concurrent use, and
// several Services (in several processes) may share one metadata store
// and one blob store.
type Service struct {
	store *store.Store
	blobs blob.Store
	// lengthFirst: blobs writes best with a part's length known in
	// advance, so guesses of it are used (see GuessSize).
	lengthFirst bool
	claims      Claims
	shared      bool
	lease       time.Duration
	claim       time.Duration
	limits      Limits
	log         *slog.Logger
	hooks       Hooks
	events      Events // Never nil.
	// metrics count uploads through the API; linkMetrics those through
	// links. Neither is nil.
	metrics, linkMetrics Metrics
}

// Config tunes a Service.
type Config struct {
	// Lease is how long an unfinished upload may go without receiving a
	// piece before it is abandoned. Defaults to DefaultLease.
	Lease time.Duration
	// ClaimTTL is how long a part's claim lasts unless renewed; a
	// request renews its claim every third of it while the bytes stream.
	// It bounds how long a part whose receiver died stays locked.
	// Defaults to DefaultClaimTTL.
	ClaimTTL time.Duration
	// Limits bound the parts in flight; zero fields take DefaultLimits.
	Limits Limits
	// Claims record the parts being received. A metadata store shared by
	// several processes needs claims they share; by default they are
	// kept in this process (MemoryClaims), which suits SQLite.
	Claims Claims
	// Shared says that other processes use the same stores (PostgreSQL
	// and an object store), so that Recover must not take their uploads
	// in progress for debris of this process's crash.
	Shared bool
	Logger *slog.Logger
	// Hooks are for crash tests only; see Hooks.
	Hooks Hooks
	// Events, when set, hears about completed uploads.
	Events Events
	// Metrics and LinkMetrics, when set, count uploads through the API
	// and through links.
	Metrics, LinkMetrics Metrics
}

// Limits bound how many parts may be received at once, so that one
// client cannot make the server hold an unbounded number of bodies (and
// their buffers) open.
type Limits struct {
	// PartsPerUpload bounds the parts of one upload in flight.
	PartsPerUpload int
	// PartsPerLink bounds the parts in flight of all the uploads through
	// one link.
	PartsPerLink int
}

// DefaultLimits are the limits a Service applies unless told otherwise.
// Clients send parts one at a time, or a few at once.
var DefaultLimits = Limits{PartsPerUpload: 4, PartsPerLink: 8}

// Metrics hears what happens to uploads, to count it. Its methods are
// called on the goroutine of the request (or maintenance pass) concerned:
// they must be safe for concurrent use and must not block. Package links
// counts what happens to uploads through links with the same interface.
type Metrics interface {
	// UploadStarted is called when an upload begins: with its first
	// piece through the API, at its start through a link.
	UploadStarted()
	// UploadCompleted is called once for each upload whose source is
	// assembled.
	UploadCompleted()
	// UploadFailed is called when an upload is abandoned ("abandoned") or
	// deleted before its end ("cancelled"), and when a piece is refused,
	// with the reason: "too_large", "no_space", "refused" (any other
	// refusal the client can act on), "interrupted" (its body stopped
	// arriving) or "error" (the server failed). Package links adds its
	// own reasons.
	UploadFailed(reason string)
	// PartCommitted is called for each piece accepted, a repeat of one
	// already held included, with its size and the time from the start
	// of its request to the end of its commit.
	PartCommitted(bytes int64, d time.Duration)
}

type noMetrics struct{}

func (noMetrics) UploadStarted()                     {}
func (noMetrics) UploadCompleted()                   {}
func (noMetrics) UploadFailed(string)                {}
func (noMetrics) PartCommitted(int64, time.Duration) {}

// Events hears about uploads, to tell other systems (the webhooks). Its
// methods are called after the change is committed, on the goroutine of
// the request (or maintenance pass) that made it; they report their own
// failures and must not block for long. Package links tells the same
// interface about uploads through links.
type Events interface {
	// UploadStarted is called when an upload through a link has its
	// video.
	UploadStarted(ctx context.Context, videoID string)
	// UploadCompleted is called once for each upload whose source is
	// assembled, whether it came through the API or a link.
	UploadCompleted(ctx context.Context, videoID string)
	// UploadFailed is called when an unfinished upload is stopped for
	// good: reason is "cancelled", "refused" or "abandoned", detail says
	// more.
	UploadFailed(ctx context.Context, videoID, reason, detail string)
}

// NoEvents is an Events that hears nothing.
type NoEvents struct{}

func (NoEvents) UploadStarted(context.Context, string)                {}
func (NoEvents) UploadCompleted(context.Context, string)              {}
func (NoEvents) UploadFailed(context.Context, string, string, string) {}

// NoMetrics is a Metrics that counts nothing.
type NoMetrics = noMetrics

// Hooks are callbacks at points of a piece's life that crash tests must
// reach deterministically. They exist only for tests: cmd/uplink sets them
// from UPLINK_TEST_CRASHPOINT alone, and a production server leaves them
// nil.
type Hooks struct {
	// AfterSync, when set, is called each time a piece's bytes are
	// durable and the row that records them is not yet committed: a
	// crash here leaves bytes without a record, which Recover must
	// reclaim.
	AfterSync func()
	// BeforeFinish, when set, is called when an upload is recorded
	// completing and its object is not yet assembled: a crash here
	// leaves an upload that Recover must finish.
	BeforeFinish func()
}

func call(hook func()) {
	if hook != nil {
		hook()
	}
}

// Defaults of Config.
const (
	DefaultLease = 24 * time.Hour
	// DefaultClaimTTL is short because it is how long the other instances
	// refuse a part whose receiver died (SIGKILL, a lost machine) before
	// one of them takes it over; the claim is renewed every 2 s, so a
	// live receiver misses five renewals before it loses it.
	DefaultClaimTTL = 10 * time.Second
)

// New returns a Service that keeps metadata in st and bytes in blobs.
func New(st *store.Store, blobs blob.Store, cfg Config) *Service {
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.ClaimTTL <= 0 {
		cfg.ClaimTTL = DefaultClaimTTL
	}
	if cfg.Limits.PartsPerUpload <= 0 {
		cfg.Limits.PartsPerUpload = DefaultLimits.PartsPerUpload
	}
	if cfg.Limits.PartsPerLink <= 0 {
		cfg.Limits.PartsPerLink = DefaultLimits.PartsPerLink
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Events == nil {
		cfg.Events = NoEvents{}
	}
	if cfg.Metrics == nil {
		cfg.Metrics = noMetrics{}
	}
	if cfg.LinkMetrics == nil {
		cfg.LinkMetrics = noMetrics{}
	}
	if cfg.Claims == nil {
		cfg.Claims = NewMemoryClaims(st.Now)
	}
	return &Service{
		store: st, blobs: blobs, lengthFirst: lengthFirstStore(blobs), claims: cfg.Claims, shared: cfg.Shared, lease: cfg.Lease, claim: cfg.ClaimTTL, limits: cfg.Limits,
		log: cfg.Logger, hooks: cfg.Hooks, events: cfg.Events, metrics: cfg.Metrics, linkMetrics: cfg.LinkMetrics,
	}
}

// Lease returns how long an upload may idle between pieces.
func (s *Service) Lease() time.Duration { return s.lease }

// Request is what an upload request through the API says before its file
// part.
type Request struct {
	Token string
	Range Range
	// VideoID is the videoId field if it came before the file part.
	VideoID string
	// Size is the file part's exact length when the request tells it in
	// advance (a byte range does, and is never empty), and 0 otherwise:
	// a multipart body may carry fields after the file, so its
	// Content-Length does not give the file's length.
	Size int64
}

// CheckToken refuses, before any byte of a request is read, a token that
// is missing, unknown or deleted. An expired token passes: it may still
// finish an upload it started (see Begin).
func (s *Service) CheckToken(ctx context.Context, id string) error {
	_, err := s.findToken(ctx, id)
	return err
}

func (s *Service) findToken(ctx context.Context, id string) (store.UploadToken, error) {
	if id == "" {
		return store.UploadToken{}, refuse(CodeMissingToken, "token", "Add the upload token to the URL: /upload?token=<token>.")
	}
	if !store.ValidID(store.PrefixUploadToken, id) {
		return store.UploadToken{}, invalidToken()
	}
	tok, err := s.store.FindUploadToken(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && tok.Deleted() {
		return store.UploadToken{}, invalidToken()
	}
	return tok, err
}

// OpenSource opens a completely uploaded video's source for reading.
// Returns store.ErrNotFound if the video has no complete source.
func (s *Service) OpenSource(ctx context.Context, videoID string) (io.ReadSeekCloser, error) {
	u, err := s.store.FindUpload(ctx, videoID)
	if err != nil {
		return nil, err
	}
	if u.Status != store.UploadUploaded {
		return nil, fmt.Errorf("ingest: source of %s is incomplete: %w", videoID, store.ErrNotFound)
	}
	return s.blobs.Open(ctx, u.SourceKey)
}

// DeleteVideo deletes a video, its upload state and its bytes; an upload
// through a link in progress is cancelled, which frees its slot. Returns
// store.ErrNotFound if there is no such video.
func (s *Service) DeleteVideo(ctx context.Context, videoID string) error {
	u, uerr := s.store.FindUpload(ctx, videoID)
	const reason = "the video was deleted"
	gone, released, err := s.store.DeleteVideo(ctx, videoID, store.EventCancelled, reason)
	if err != nil {
		return err
	}
	if uerr == nil && u.Status != store.UploadUploaded {
		s.metricsOf(u).UploadFailed("cancelled")
	}
	if released {
		s.events.UploadFailed(context.WithoutCancel(ctx), videoID, store.EventCancelled, reason)
	}
	s.dropBytes(ctx, gone)
	return nil
}

// Cancel stops the unfinished upload through a link that fills videoID:
// the video, its upload and its bytes are deleted, and the link upload is
// released with kind (store.EventCancelled or EventRefused) and reason, in
// one transaction. It reports whether it released the link upload (false
// if it had ended meanwhile). The caller, package links, counts and
// announces it. Returns store.ErrNotFound if there is no such video.
func (s *Service) Cancel(ctx context.Context, videoID, kind, reason string) (bool, error) {
	gone, released, err := s.store.DeleteVideo(ctx, videoID, kind, reason)
	if err != nil {
		return false, err
	}
	s.dropBytes(ctx, gone)
	return released, nil
}

// dropBytes removes the bytes of an upload that is gone from the store:
// its unfinished blob store upload, or its object.
func (s *Service) dropBytes(ctx context.Context, gone store.Unfinished) {
	if gone.Key == "" {
		return
	}
	var err error
	if gone.MultipartID != "" {
		err = s.blobs.AbortMultipart(ctx, blob.Upload{Key: gone.Key, ID: gone.MultipartID}, blobParts(gone.Parts))
	} else {
		err = s.blobs.Delete(ctx, gone.Key)
	}
	if err != nil {
		// Recover and Reclaim remove it later, as an orphan.
		s.log.ErrorContext(ctx, "removing the bytes of a deleted upload", "key", gone.Key, "err", err)
	}
}

// metricsOf returns the metrics that count u: those of links for an upload
// through a link (it has no token).
func (s *Service) metricsOf(u store.Upload) Metrics {
	if u.TokenID == "" {
		return s.linkMetrics
	}
	return s.metrics
}

// blobParts turns recorded parts into the blob store's, in its order.
func blobParts(ps []store.Part) []blob.Part {
	out := make([]blob.Part, 0, len(ps))
	var off int64
	for _, p := range ps {
		out = append(out, blob.Part{Number: p.Number, Size: p.Size, Offset: off, ETag: p.ETag})
		off += p.Size
	}
	return out
}

// newClaimID returns a random claim ID.
func newClaimID() string { return rand.Text() }

// InFlight returns the parts of a video being received now, with how much
// of each has arrived (as of its claim's last renewal), for live progress.
func (s *Service) InFlight(ctx context.Context, videoID string) ([]PartInFlight, error) {
	return s.claims.InFlight(ctx, videoID)
}

// CleanFilename keeps the base name of a multipart filename (some clients
// send directories, with either slash), without control or bidirectional
// formatting characters, and at most 255 characters long.
func CleanFilename(name string) string {
	name = strings.ReplaceAll(name, `\`, "/")
	name = path.Base(name)
	if name == "." || name == "/" {
		name = ""
	}
	name = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > 255 {
		name = string([]rune(name)[:255])
	}
	return name
}

// titleFrom is the title of a video created by an upload: its file name,
// as api.video does.
func titleFrom(filename string) string {
	if filename == "" {
		return "Untitled video"
	}
	return filename
}

func lapsed(u store.Upload, now time.Time) bool {
	return u.Status == store.UploadUploading && !now.Before(u.LeaseExpiresAt)
}

func noSpace() error {
	return refuse(CodeNoSpace, "file", "The server ran out of disk space; nothing of this piece was kept. Send it again later.")
}

func invalidToken() error {
	return refuse(CodeInvalidToken, "token", "The upload token is invalid or was deleted. Ask for a new one.")
}

func expiredToken() error {
	return refuse(CodeInvalidToken, "token", "The upload token has expired, so it cannot start a new upload. Ask for a new one.")
}

func videoNotFound(id string) error {
	return refuse(CodeVideoNotFound, "videoId", "There is no video %q that this token can upload to.", clip(id, 40))
}

func videoErr(id string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return videoNotFound(id)
	}
	return err
}

func changedMeanwhile() error {
	return refuse(CodeUploadAbandoned, "file", "This upload changed state while the piece was being received; send the piece again.")
}

// Package processing learns what each uploaded video holds, once its
// source is whole: it probes it, takes a poster frame, and makes a preview
// a browser plays when the source is not one (package media does the
// work, sandboxed). It also picks a thumbnail at a moment on request.
//
// Jobs are rows of the metadata store (store.EnqueueJob), so they survive
// a restart. A worker claims one in one atomic UPDATE (store.ClaimJob),
// with a deadline of the job's time limit and a margin, so that several
// processes may share the queue; a job whose worker died is taken back
// once its claim lapses, and every running job at the start of a process
// that shares the store with nobody (Recover). Only the attempt holding a
// job may record its result, in the transaction that marks it done
// (store.CompleteJob), so that a job counts once.
//
// A failure the file caused (media.FileError: it is not a video, it
// crashes ffmpeg, it overruns a limit) fails the job at once with the
// reason; any other failure (a disk, the database) is retried with
// backoff, up to Config.MaxAttempts attempts.
package processing

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/store/media"
)

// Previews modes, the values of --previews.
const (
	PreviewsUnplayable = "unplayable" // Only for sources a browser cannot play.
	PreviewsAll        = "all"        // For every video.
	PreviewsOff        = "off"        // Never.
)

// Sources opens a completely uploaded video's source (ingest.Service).
type Sources interface {
	OpenSource(ctx context.Context, videoID string) (io.ReadSeekCloser, error)
}

// Announcer tells other systems that a video was processed, or that its
// processing failed for good (webhooks.Service). It reports its own
// failures.
type Announcer interface {
	VideoProcessed(ctx context.Context, videoID string)
}

// Metrics counts jobs. JobFinished is called once per attempt, with its
// kind, its outcome ("done", "failed" for good, "retry", or
// "interrupted" by a stop) and how long it ran.
type Metrics interface {
	JobFinished(kind, outcome string, d time.Duration)
}

// Config tunes a Service.
type Config struct {
	// Tool runs ffmpeg. Nil means ffmpeg is not installed: no job is
	// queued, and everything else works as without processing.
	Tool *media.Tool
	// Workers is how many jobs run at once. Defaults to 1.
	Workers int
	// Previews is PreviewsUnplayable (the default), PreviewsAll or
	// PreviewsOff.
	Previews string
	// JobTimeout is the time limit of one attempt at a job. Defaults to
	// DefaultJobTimeout.
	JobTimeout time.Duration
	// MaxAttempts bounds the attempts at a job. Defaults to 3.
	MaxAttempts int
	// TempDir holds a job's files while it runs. Defaults to the
	// system's temporary directory.
	TempDir string
	// PollInterval is how often Run looks for jobs that came due; an
	// enqueue wakes it at once. Defaults to 5 seconds.
	PollInterval time.Duration
	Announcer    Announcer
	Metrics      Metrics
	Logger       *slog.Logger
}

// DefaultJobTimeout bounds one attempt at a job: a preview of a long
// film at low priority on a small server takes a while.
const DefaultJobTimeout = 2 * time.Hour

// claimMargin is how much longer than its time limit a job's claim
// lasts, so that a live attempt never loses its claim.
const claimMargin = 2 * time.Minute

// Service runs the processing jobs. It is safe for concurrent use.
type Service struct {
	store   *store.Store
	blobs   blob.Objects
	sources Sources
	cfg     Config
	log     *slog.Logger
	wake    chan struct{}
}

// New returns a Service over the store, the blobs (where thumbnails and
// previews go) and the sources.
func New(st *store.Store, blobs blob.Objects, sources Sources, cfg Config) *Service {
	if cfg.Workers <= 0 {
		cfg.Workers = 1
	}
	if cfg.Previews == "" {
		cfg.Previews = PreviewsUnplayable
	}
	if cfg.JobTimeout <= 0 {
		cfg.JobTimeout = DefaultJobTimeout
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = noMetrics{}
	}
	return &Service{store: st, blobs: blobs, sources: sources, cfg: cfg, log: cfg.Logger, wake: make(chan struct{}, 1)}
}

type noMetrics struct{}

func (noMetrics) JobFinished(string, string, time.Duration) {}

// Available reports whether ffmpeg is installed, so that jobs run.
func (s *Service) Available() bool { return s.cfg.Tool != nil }

// UploadStarted, UploadCompleted and UploadFailed make the Service an
// ingest.Events: a completed upload queues its video's processing.
func (s *Service) UploadStarted(context.Context, string)                {}
func (s *Service) UploadFailed(context.Context, string, string, string) {}

// UploadCompleted queues the processing of the video whose source is
// whole. A failure to queue it is logged: the upload itself succeeded,
// and the dashboard's Retry queues it again.
func (s *Service) UploadCompleted(ctx context.Context, videoID string) {
	if _, err := s.Process(context.WithoutCancel(ctx), videoID); err != nil && s.Available() {
		s.log.ErrorContext(ctx, "queueing a video's processing", "video", videoID, "err", err)
	}
}

// ErrUnavailable is returned when a job is asked for and ffmpeg is not
// installed.
var ErrUnavailable = errors.New("processing: ffmpeg is not installed")

// Process queues the processing of a video (again: the dashboard's
// Retry), and wakes a worker. Returns ErrUnavailable without ffmpeg, and
// store.ErrNotFound if there is no such video.
func (s *Service) Process(ctx context.Context, videoID string) (store.ProcessingJob, error) {
	return s.enqueue(ctx, videoID, store.JobProcess, 0)
}

// PickThumbnail queues the choice of the frame at moment at as the
// video's thumbnail. Returns ErrUnavailable without ffmpeg, and
// store.ErrNotFound if there is no such video.
func (s *Service) PickThumbnail(ctx context.Context, videoID string, at time.Duration) (store.ProcessingJob, error) {
	return s.enqueue(ctx, videoID, store.JobThumbnail, at)
}

func (s *Service) enqueue(ctx context.Context, videoID, kind string, at time.Duration) (store.ProcessingJob, error) {
	if !s.Available() {
		return store.ProcessingJob{}, ErrUnavailable
	}
	j, err := s.store.EnqueueJob(ctx, videoID, kind, at, s.cfg.MaxAttempts)
	if err != nil {
		return store.ProcessingJob{}, err
	}
	s.Wake()
	return j, nil
}

// Wake makes an idle worker look for a job now.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Recover takes back every running job: at the start of a process that
// shares the store with nobody, they are what a crash or a stop
// interrupted. Call it before Run. It returns how many it took back.
func (s *Service) Recover(ctx context.Context) (int, error) {
	return s.store.RequeueLapsedJobs(ctx, time.Time{})
}

// Run runs Config.Workers workers until ctx is done; a job cut off by
// ctx is given back to the queue, due at once on the next start. It
// returns when every worker has stopped.
func (s *Service) Run(ctx context.Context) {
	if !s.Available() {
		return
	}
	var wg sync.WaitGroup
	for range s.cfg.Workers {
		wg.Go(func() { s.work(ctx) })
	}
	wg.Wait()
}

func (s *Service) work(ctx context.Context) {
	t := time.NewTicker(s.cfg.PollInterval)
	defer t.Stop()
	for ctx.Err() == nil {
		ran, err := s.RunOne(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Error("running a processing job", "err", err)
		}
		if ran && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
		case <-s.wake:
			// Another worker may be idle too: pass the wake on.
			s.Wake()
		case <-t.C:
		}
	}
}

// RunOne takes back lapsed claims, then claims one due job and runs it;
// it reports whether there was one. Run calls it; tests call it to step
// the queue.
func (s *Service) RunOne(ctx context.Context) (bool, error) {
	if n, err := s.store.RequeueLapsedJobs(ctx, s.store.Now()); err != nil {
		return false, err
	} else if n > 0 {
		s.log.Warn("took back processing jobs whose attempt lapsed", "count", n)
	}
	claimID := store.RandomString(22)
	j, err := s.store.ClaimJob(ctx, claimID, s.cfg.JobTimeout+claimMargin)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, s.runJob(ctx, j)
}

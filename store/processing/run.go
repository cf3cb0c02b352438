package processing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/store/media"
)

// Job outcomes, for Metrics.
const (
	OutcomeDone        = "done"
	OutcomeFailed      = "failed"
	OutcomeRetry       = "retry"
	OutcomeInterrupted = "interrupted"
)

// runJob runs one attempt at a claimed job under its time limit and
// records what came of it.
func (s *Service) runJob(ctx context.Context, j store.ProcessingJob) error {
	start := time.Now()
	jctx, cancel := context.WithTimeout(ctx, s.cfg.JobTimeout)
	defer cancel()
	res, err := s.attempt(jctx, j)
	// What happened is recorded even when stopping.
	rctx := context.WithoutCancel(ctx)
	d := time.Since(start)
	if err == nil {
		unused, cerr := s.store.CompleteJob(rctx, j.ID, j.ClaimID, res)
		s.drop(rctx, unused)
		if cerr != nil {
			if errors.Is(cerr, store.ErrConflict) {
				// The claim lapsed and another attempt holds the job:
				// that one records it.
				return nil
			}
			err = cerr
		} else {
			s.cfg.Metrics.JobFinished(j.Kind, OutcomeDone, d)
			s.log.Info("processed a video", "video", j.VideoID, "job", j.Kind, "attempt", j.Attempts, "took", d.Round(time.Millisecond))
			if s.cfg.Announcer != nil && j.Kind == store.JobProcess {
				s.cfg.Announcer.VideoProcessed(rctx, j.VideoID)
			}
			return nil
		}
	}
	if ctx.Err() != nil {
		// Stopping: the attempt is given back, and runs again on the
		// next start.
		s.cfg.Metrics.JobFinished(j.Kind, OutcomeInterrupted, d)
		if rerr := s.store.ReleaseJob(rctx, j.ID, j.ClaimID); rerr != nil && !errors.Is(rerr, store.ErrConflict) {
			return rerr
		}
		return nil
	}
	var fe *media.FileError
	var retryAt *time.Time
	reason := err.Error()
	if errors.As(err, &fe) {
		reason = fe.Reason
	} else {
		t := s.store.Now().Add(backoff(j.Attempts))
		retryAt = &t
		reason = "uplink failed while processing the file: " + reason
	}
	final, ferr := s.store.FailJob(rctx, j.ID, j.ClaimID, reason, retryAt)
	if errors.Is(ferr, store.ErrConflict) {
		return nil
	}
	if ferr != nil {
		return ferr
	}
	if final {
		s.cfg.Metrics.JobFinished(j.Kind, OutcomeFailed, d)
		s.log.Warn("processing a video failed", "video", j.VideoID, "job", j.Kind, "attempts", j.Attempts, "reason", reason)
		if s.cfg.Announcer != nil && j.Kind == store.JobProcess {
			s.cfg.Announcer.VideoProcessed(rctx, j.VideoID)
		}
	} else {
		s.cfg.Metrics.JobFinished(j.Kind, OutcomeRetry, d)
		s.log.Warn("processing a video failed; it is tried again", "video", j.VideoID, "job", j.Kind,
			"attempt", j.Attempts, "retry_at", retryAt, "err", err)
	}
	return nil
}

// backoff is how long to wait after the n-th failed attempt: about a
// minute, then doubling, with jitter.
func backoff(n int) time.Duration {
	d := time.Minute << min(max(n-1, 0), 6)
	return d/2 + rand.N(d/2+1)
}

// attempt does the work of a job and returns its result, with its blobs
// written.
func (s *Service) attempt(ctx context.Context, j store.ProcessingJob) (res store.JobResult, err error) {
	dir, err := os.MkdirTemp(s.cfg.TempDir, "uplink-job-")
	if err != nil {
		return res, fmt.Errorf("make a work directory: %w", err)
	}
	defer os.RemoveAll(dir)
	// Blobs written by an attempt that then fails are deleted.
	defer func() {
		if err != nil {
			s.drop(context.WithoutCancel(ctx), unusedKeys(res))
		}
	}()
	src, err := s.sources.OpenSource(ctx, j.VideoID)
	if err != nil {
		return res, fmt.Errorf("open the source: %w", err)
	}
	defer src.Close()
	path, err := localPath(src, dir)
	if err != nil {
		return res, err
	}
	tool := s.cfg.Tool
	info, err := tool.Probe(ctx, path)
	if err != nil {
		return res, err
	}
	if j.Kind == store.JobThumbnail {
		out := filepath.Join(dir, "frame.jpg")
		if err := tool.Frame(ctx, path, info, j.At, out); err != nil {
			return res, err
		}
		res.Thumbnail, err = s.putThumbnail(ctx, out, store.ThumbnailPicked)
		return res, err
	}
	facts := factsOf(info)
	res.Facts = &facts
	if info.Video != nil {
		out := filepath.Join(dir, "thumbnail.jpg")
		var fe *media.FileError
		switch err := tool.Thumbnail(ctx, path, info, out); {
		case errors.As(err, &fe):
			// A file whose frames cannot be decoded keeps its facts,
			// without a thumbnail; a preview would fail too.
			s.log.Warn("no thumbnail for a video", "video", j.VideoID, "reason", fe.Reason)
			res.NoPreview = true
			return res, nil
		case err != nil:
			return res, err
		}
		if res.Thumbnail, err = s.putThumbnail(ctx, out, store.ThumbnailAuto); err != nil {
			return res, err
		}
	}
	if !s.wantsPreview(info) {
		res.NoPreview = true
		return res, nil
	}
	out := filepath.Join(dir, "preview.mp4")
	if err := tool.Preview(ctx, path, info, out); err != nil {
		return res, err
	}
	key, size, err := s.put(ctx, out)
	if err != nil {
		return res, err
	}
	res.Preview = &store.Preview{Key: key, Size: size}
	return res, nil
}

// wantsPreview says whether the source gets a preview, by the setting.
func (s *Service) wantsPreview(info media.Info) bool {
	if info.Video == nil || info.Video.Still {
		return false
	}
	switch s.cfg.Previews {
	case PreviewsAll:
		return true
	case PreviewsOff:
		return false
	}
	return !info.Playable()
}

func (s *Service) putThumbnail(ctx context.Context, path, origin string) (*store.Thumbnail, error) {
	key, _, err := s.put(ctx, path)
	if err != nil {
		return nil, err
	}
	return &store.Thumbnail{Key: key, Type: "image/jpeg", Origin: origin}, nil
}

// put stores a file as a new blob.
func (s *Service) put(ctx context.Context, path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	key := blob.NewKey()
	n, err := s.blobs.Put(ctx, key, -1, f)
	if err != nil {
		return "", 0, fmt.Errorf("store %s: %w", filepath.Base(path), err)
	}
	return key, n, nil
}

// drop deletes blobs nothing refers to; what it cannot delete the
// cleanup job removes later, as orphans.
func (s *Service) drop(ctx context.Context, keys []string) {
	for _, k := range keys {
		if err := s.blobs.Delete(ctx, k); err != nil {
			s.log.Error("deleting an unused processing blob", "key", k, "err", err)
		}
	}
}

func unusedKeys(r store.JobResult) []string {
	var keys []string
	if r.Thumbnail != nil {
		keys = append(keys, r.Thumbnail.Key)
	}
	if r.Preview != nil {
		keys = append(keys, r.Preview.Key)
	}
	return keys
}

// localPath returns a path ffmpeg can read the source at: the blob's own
// file when the blob store is a local directory, and otherwise a copy in
// dir.
func localPath(src io.ReadSeekCloser, dir string) (string, error) {
	if f, ok := src.(*os.File); ok {
		return f.Name(), nil
	}
	p := filepath.Join(dir, "source")
	f, err := os.Create(p)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(f, src); err != nil {
		f.Close()
		return "", fmt.Errorf("copy the source: %w", err)
	}
	return p, f.Close()
}

// factsOf turns ffprobe's facts into the store's.
func factsOf(i media.Info) store.MediaFacts {
	f := store.MediaFacts{Container: i.Container, Duration: i.Duration, Bitrate: i.Bitrate, Playable: i.Playable()}
	if v := i.Video; v != nil {
		f.Width, f.Height, f.FrameRate, f.VideoCodec = v.Width, v.Height, v.FrameRate, v.Codec
		f.AspectRatio, f.Rotation = v.AspectRatio(), v.Rotation
	}
	if a := i.Audio; a != nil {
		f.AudioCodec, f.SampleRate = a.Codec, a.SampleRate
	}
	if len(f.Container) > 100 {
		f.Container = f.Container[:100]
	}
	return f
}

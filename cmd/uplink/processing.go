package main

import (
	"context"
	"io"
	"os"
	"path/filepath"

	"github.com/uplink-video/uplink/store/media"
	"github.com/uplink-video/uplink/store/processing"
)

// newProcessing builds the processing service: on ffmpeg when it is found
// (in --ffmpeg-dir or PATH), and otherwise one that queues nothing, so
// that uplink works as without processing and says so once, here and on
// the dashboard.
func (m *Main) newProcessing() *processing.Service {
	c := m.cfg.processing
	cfg := processing.Config{
		Workers: c.workers, Previews: c.previews, JobTimeout: c.timeout,
		TempDir:   filepath.Join(m.cfg.dataDir, "tmp"),
		Announcer: m.webhooks, Metrics: m.metrics.Processing(), Logger: m.log,
	}
	tool, err := media.Find(media.Config{Dir: c.ffmpegDir, Memory: c.memory, Threads: c.threads})
	if err != nil {
		m.log.Warn("videos will not be processed (no metadata, thumbnails or previews): install ffmpeg to add them", "reason", err)
	} else if err := os.MkdirAll(cfg.TempDir, 0o750); err != nil {
		m.log.Error("videos will not be processed: cannot make the processing directory", "dir", cfg.TempDir, "err", err)
	} else {
		cfg.Tool = tool
		m.log.Info("processing videos with ffmpeg", "workers", c.workers, "threads", c.threads, "previews", c.previews, "time_limit", c.timeout)
	}
	return processing.New(m.store, m.blobs, sources{m}, cfg)
}

// sources reads sources from the upload service, which is built after
// the processing service that it tells about completed uploads.
type sources struct{ m *Main }

func (s sources) OpenSource(ctx context.Context, videoID string) (io.ReadSeekCloser, error) {
	return s.m.ingest.OpenSource(ctx, videoID)
}

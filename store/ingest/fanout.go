package ingest

import "context"

// Fanout is an Events that tells each of its Events in turn: cmd/uplink
// tells both the webhooks and processing about completed uploads.
type Fanout []Events

// UploadStarted implements Events.
func (f Fanout) UploadStarted(ctx context.Context, videoID string) {
	for _, e := range f {
		e.UploadStarted(ctx, videoID)
	}
}

// UploadCompleted implements Events.
func (f Fanout) UploadCompleted(ctx context.Context, videoID string) {
	for _, e := range f {
		e.UploadCompleted(ctx, videoID)
	}
}

// UploadFailed implements Events.
func (f Fanout) UploadFailed(ctx context.Context, videoID, reason, detail string) {
	for _, e := range f {
		e.UploadFailed(ctx, videoID, reason, detail)
	}
}

package webhooks

import (
	"context"
	"errors"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/web/api"
)

// ProcessedData is the data of video.processed.
type ProcessedData struct {
	VideoID string `json:"videoId"`
	// Video is the video as the API's GET /videos/{videoId} returns it,
	// with its thumbnail in assets.thumbnail.
	Video *Video `json:"video"`
	// Status is "done", or "failed" when processing gave up; Reason then
	// says why, in words.
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	// Metadata is what GET /videos/{videoId}/status reports as
	// encoding.metadata.
	Metadata api.EncodingMetadata `json:"metadata"`
	// Playable is true when a browser plays the source or its preview.
	Playable bool `json:"playable"`
	// Thumbnail is the thumbnail's URL (it needs API credentials, as the
	// source does); empty when there is none.
	Thumbnail string `json:"thumbnail,omitempty"`
	// Preview is true when uplink made a browser-playable copy.
	Preview bool `json:"preview"`
}

// VideoProcessed announces that the processing of a video finished, or
// gave up for good.
func (s *Service) VideoProcessed(ctx context.Context, videoID string) {
	ctx = context.WithoutCancel(ctx)
	if !s.subscribed(ctx, EventVideoProcessed) {
		return
	}
	v, err := s.store.FindVideo(ctx, videoID)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.Error("reading a processed video for a webhook event", "video", videoID, "err", err)
		}
		return
	}
	j, err := s.store.FindLatestJob(ctx, videoID, store.JobProcess)
	if err != nil {
		s.log.Error("reading a video's processing for a webhook event", "video", videoID, "err", err)
		return
	}
	m, err := s.store.FindVideoMedia(ctx, videoID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Error("reading a video's media for a webhook event", "video", videoID, "err", err)
		return
	}
	video := s.videoJSON(v)
	data := ProcessedData{
		VideoID: videoID, Video: video, Status: j.Status, Metadata: api.MetadataJSON(m),
		Playable: api.Playable(v, m), Thumbnail: video.Assets.Thumbnail, Preview: m.Preview != nil,
	}
	if j.Status == store.JobFailed {
		data.Reason = j.LastError
	}
	s.emit(ctx, Event{Type: EventVideoProcessed, OrderKey: videoKey(videoID), Data: data})
}

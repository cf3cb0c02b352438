package web

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/templates"
	"github.com/uplink-video/uplink/web/api"
)

// What processing added to the dashboard: thumbnails, the probed facts,
// previews, and the state of each video's processing with Retry.

// canProcess reports whether this server processes videos (ffmpeg is
// installed).
func (s *Server) canProcess() bool { return s.processing != nil && s.processing.Available() }

// thumbnailURL is the dashboard's URL of a video's thumbnail, with its
// moment so that a new thumbnail is fetched at once; "" without one.
func thumbnailURL(id string, at *time.Time) string {
	if at == nil {
		return ""
	}
	return "/admin/videos/" + id + "/thumbnail.jpg?v=" + strconv.FormatInt(at.UnixMilli(), 36)
}

// processingView says where a video's processing stands.
func processingView(r store.VideoRow) templates.VideoProcessing {
	p := templates.VideoProcessing{Code: r.Processing}
	switch r.Processing {
	case store.JobQueued, store.JobRunning:
		p.Label = "Processing"
	case store.JobDone:
		p.Label = "Processed"
	case store.JobFailed:
		p.Label, p.Reason = "Processing failed", r.ProcessingError
		p.RetryURL = "/admin/videos/" + r.Video.ID + "/process"
	}
	return p
}

// mediaView builds what a video's page shows of its processing.
func (s *Server) mediaView(c echo.Context, r store.VideoRow) (templates.VideoMediaView, error) {
	v := templates.VideoMediaView{Processing: processingView(r), NoFFmpeg: !s.canProcess()}
	switch {
	case !s.canProcess():
		v.Processing.RetryURL = ""
	case r.Processing == "" && r.Video.UploadStatus == store.UploadUploaded:
		// Uploaded before ffmpeg was installed: it can be processed now.
		v.Processing.RetryURL = "/admin/videos/" + r.Video.ID + "/process"
	}
	v.PosterURL = thumbnailURL(r.Video.ID, r.Video.ThumbnailAt)
	m, err := s.store.FindVideoMedia(c.Request().Context(), r.Video.ID)
	if errors.Is(err, store.ErrNotFound) {
		return v, nil
	}
	if err != nil {
		return v, err
	}
	if m.Preview != nil {
		v.PreviewURL = "/admin/videos/" + r.Video.ID + "/preview.mp4"
	}
	if m.Probed {
		v.Unplayable = !m.Facts.Playable && m.Preview == nil
		v.Facts = factRows(m.Facts)
	}
	return v, nil
}

// factRows lists the probed facts a person reads.
func factRows(f store.MediaFacts) []templates.Setting {
	var out []templates.Setting
	add := func(term, value string) {
		if value != "" {
			out = append(out, templates.Setting{Term: term, Value: value})
		}
	}
	if f.Duration > 0 {
		add("Duration", formatDuration(f.Duration))
	}
	if f.Width > 0 {
		res := fmt.Sprintf("%d × %d", f.Width, f.Height)
		if f.AspectRatio != "" {
			res += " (" + f.AspectRatio + ")"
		}
		add("Resolution", res)
	}
	if f.Rotation != 0 {
		add("Rotation", strconv.Itoa(f.Rotation)+"° clockwise")
	}
	if f.FrameRate > 0 {
		add("Frame rate", strconv.FormatFloat(math.Round(f.FrameRate*100)/100, 'f', -1, 64)+" fps")
	}
	add("Video codec", f.VideoCodec)
	audio := f.AudioCodec
	if audio != "" && f.SampleRate > 0 {
		audio += fmt.Sprintf(", %d Hz", f.SampleRate)
	}
	add("Audio codec", audio)
	if f.Bitrate > 0 {
		add("Bitrate", fmt.Sprintf("%.0f kbit/s", float64(f.Bitrate)/1000))
	}
	add("Container", f.Container)
	return out
}

// formatDuration shows a duration as h:mm:ss.
func formatDuration(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// handleVideoThumbnail handles "GET /admin/videos/:id/thumbnail.jpg".
func (s *Server) handleVideoThumbnail(c echo.Context) error {
	m, err := s.findVideoMedia(c)
	if err != nil {
		return err
	}
	if m.Thumbnail == nil {
		return echo.ErrNotFound
	}
	return api.ServeThumbnail(c.Response(), c.Request(), s.blobs, *m.Thumbnail)
}

// handleVideoPreview handles "GET /admin/videos/:id/preview.mp4": the
// browser-playable copy of a source, with Range support, for the player.
func (s *Server) handleVideoPreview(c echo.Context) error {
	m, err := s.findVideoMedia(c)
	if err != nil {
		return err
	}
	if m.Preview == nil {
		return echo.ErrNotFound
	}
	f, err := s.blobs.Open(c.Request().Context(), m.Preview.Key)
	if err != nil {
		return err
	}
	defer f.Close()
	h := c.Response().Header()
	h.Set("Content-Type", "video/mp4")
	h.Set("Content-Disposition", "inline")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox; frame-ancestors 'none'")
	http.ServeContent(c.Response(), c.Request(), "", time.Time{}, f)
	return nil
}

// handleVideoProcess handles "POST /admin/videos/:id/process": the
// dashboard's Retry, which queues the video's processing again.
func (s *Server) handleVideoProcess(c echo.Context) error {
	id := c.Param("id")
	if !store.ValidID(store.PrefixVideo, id) {
		return echo.ErrNotFound
	}
	if !s.canProcess() {
		return echo.NewHTTPError(http.StatusConflict, "This server cannot process videos: install ffmpeg.")
	}
	if _, err := s.processing.Process(c.Request().Context(), id); err != nil {
		return err
	}
	s.log.InfoContext(c.Request().Context(), "video processing queued again from the dashboard", "video", id, "admin", adminSession(c).AdminID)
	return c.Redirect(http.StatusSeeOther, "/admin/videos/"+id+"?done=video-processing")
}

func (s *Server) findVideoMedia(c echo.Context) (store.VideoMedia, error) {
	id := c.Param("id")
	if !store.ValidID(store.PrefixVideo, id) || s.blobs == nil {
		return store.VideoMedia{}, echo.ErrNotFound
	}
	return s.store.FindVideoMedia(c.Request().Context(), id)
}

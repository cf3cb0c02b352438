package api

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/jpeg"
	_ "image/png" // Uploaded thumbnails may be PNG.
	"io"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/store/ingest"
)

// ThumbnailPicker queues the choice of a video's thumbnail at a moment
// (processing.Service). It returns store.ErrNotFound for an unknown
// video, and another error when ffmpeg is not installed.
type ThumbnailPicker interface {
	PickThumbnail(ctx context.Context, videoID string, at time.Duration) (store.ProcessingJob, error)
}

// codeNoProcessing is uplink's problem for a request that needs ffmpeg on
// a server without it.
const codeNoProcessing = "processing-unavailable"

func init() {
	problemKinds[codeNoProcessing] = problemKind{400, "This server cannot process videos.", true}
}

// EncodingMetadata is api.video's encoding.metadata of a video's status:
// what the video is, as ffprobe told it. Every field is null until the
// video is processed, and those the file does not tell stay null.
type EncodingMetadata struct {
	Width  *int `json:"width"`
	Height *int `json:"height"`
	// Bitrate is in kilobits per second, as api.video reports it.
	Bitrate *float64 `json:"bitrate"`
	// Duration is in whole seconds, rounded.
	Duration    *int    `json:"duration"`
	Framerate   *int    `json:"framerate"`
	Samplerate  *int    `json:"samplerate"`
	VideoCodec  *string `json:"videoCodec"`
	AudioCodec  *string `json:"audioCodec"`
	AspectRatio *string `json:"aspectRatio"`
}

// MetadataJSON returns m's facts as api.video's encoding.metadata.
func MetadataJSON(m store.VideoMedia) EncodingMetadata {
	var e EncodingMetadata
	if !m.Probed {
		return e
	}
	f := m.Facts
	intp := func(n int) *int {
		if n <= 0 {
			return nil
		}
		return &n
	}
	strp := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	e.Width, e.Height, e.Samplerate = intp(f.Width), intp(f.Height), intp(f.SampleRate)
	e.Duration = intp(int(math.Round(f.Duration.Seconds())))
	e.Framerate = intp(int(math.Round(f.FrameRate)))
	if f.Bitrate > 0 {
		kbps := math.Round(float64(f.Bitrate)) / 1000
		e.Bitrate = &kbps
	}
	e.VideoCodec, e.AudioCodec, e.AspectRatio = strp(f.VideoCodec), strp(f.AudioCodec), strp(f.AspectRatio)
	return e
}

// Playable reports api.video's encoding.playable: the source is whole
// and, once processing has told, a browser plays it or its preview.
func Playable(v store.Video, m store.VideoMedia) bool {
	if v.UploadStatus != store.UploadUploaded {
		return false
	}
	return !m.Probed || m.Facts.Playable || m.Preview != nil
}

// thumbnailPath is where the API serves a video's thumbnail.
func thumbnailPath(videoID string) string { return "/videos/" + videoID + "/thumbnail.jpg" }

// Limits of an uploaded thumbnail.
const (
	maxThumbnailUpload = 8 << 20
	// maxThumbnailPixels bounds the picture's area, read from its header
	// before it is decoded, so that a small file cannot claim a huge
	// picture.
	maxThumbnailPixels = 50_000_000
)

// handleThumbnailUpload handles "POST /videos/:videoId/thumbnail": a JPEG
// or PNG as the multipart field "file" (any single file part is taken,
// whatever its name). The body is read as a stream and capped; the
// picture is decoded, checked and stored as a JPEG, so that what is
// served is always a plain image.
func (a *API) handleThumbnailUpload(c echo.Context) error {
	v, err := a.findVideo(c)
	if err != nil {
		return err
	}
	r := c.Request()
	r.Body = http.MaxBytesReader(c.Response(), r.Body, maxThumbnailUpload+64<<10)
	mr, err := r.MultipartReader()
	if err != nil {
		return a.problem(codeInvalidPayload, "file", "Send the image as multipart/form-data, in the field \"file\".")
	}
	var data []byte
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return a.problem(codeBodyTooLarge, "file", "A thumbnail is at most 8 MiB.")
			}
			return a.problem(codeInvalidPayload, "file", "The multipart body could not be read.")
		}
		if p.FileName() == "" {
			p.Close()
			continue
		}
		if data != nil {
			return a.problem(ingest.CodeMultipleFiles, "file", "Send one image.")
		}
		data, err = io.ReadAll(io.LimitReader(p, maxThumbnailUpload+1))
		p.Close()
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe) || len(data) > maxThumbnailUpload:
			return a.problem(codeBodyTooLarge, "file", "A thumbnail is at most 8 MiB.")
		case err != nil:
			return a.problem(codeInvalidPayload, "file", "The multipart body could not be read.")
		}
	}
	if data == nil {
		return a.problem(ingest.CodeNoFile, "file", "Send the image in the field \"file\".")
	}
	img, err := decodePicture(data)
	if err != nil {
		return a.problem(codeInvalidAttribute, "file", err.Error())
	}
	var out bytes.Buffer
	if err := jpeg.Encode(&out, img, &jpeg.Options{Quality: 90}); err != nil {
		return err
	}
	ctx := r.Context()
	key := blob.NewKey()
	if _, err := a.blobs.Put(ctx, key, int64(out.Len()), &out); err != nil {
		return err
	}
	old, err := a.store.SetThumbnail(ctx, v.ID, store.Thumbnail{Key: key, Type: "image/jpeg", Origin: store.ThumbnailUploaded})
	if err != nil {
		a.deleteBlob(ctx, key)
		return a.videoErr(err)
	}
	if old != "" {
		a.deleteBlob(ctx, old)
	}
	return a.writeVideo(c, v.ID, 200)
}

// decodePicture decodes a JPEG or PNG of a sensible size.
func decodePicture(data []byte) (image.Image, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || (format != "jpeg" && format != "png") {
		return nil, errors.New("The thumbnail must be a JPEG or PNG image.")
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxThumbnailPixels {
		return nil, errors.New("The thumbnail is too large a picture: at most 50 megapixels.")
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, errors.New("The thumbnail image is damaged: " + err.Error())
	}
	return img, nil
}

// timecodePattern is api.video's thumbnail timecode: "hh:mm:ss",
// "hh:mm:ss.mmm" (or a frame number after the dot, read as a fraction
// here), or a number of seconds.
var timecodePattern = regexp.MustCompile(`^(?:(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?|(\d{1,6})(?:\.(\d{1,3}))?)$`)

// parseTimecode reads a timecode as a duration.
func parseTimecode(s string) (time.Duration, bool) {
	m := timecodePattern.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
	frac := func(s string) time.Duration {
		for len(s) < 3 && s != "" {
			s += "0"
		}
		return time.Duration(atoi(s)) * time.Millisecond
	}
	if m[5] != "" {
		return time.Duration(atoi(m[5]))*time.Second + frac(m[6]), true
	}
	if atoi(m[2]) > 59 || atoi(m[3]) > 59 {
		return 0, false
	}
	return time.Duration(atoi(m[1]))*time.Hour + time.Duration(atoi(m[2]))*time.Minute +
		time.Duration(atoi(m[3]))*time.Second + frac(m[4]), true
}

// handleThumbnailPick handles "PATCH /videos/:videoId/thumbnail" with
// {"timecode": "00:00:05.000"}: the frame at that moment becomes the
// thumbnail. The frame is taken by the processing queue, in the
// background; the answer is the video, whose assets.thumbnail shows the
// new frame once it is taken.
func (a *API) handleThumbnailPick(c echo.Context) error {
	v, err := a.findVideo(c)
	if err != nil {
		return err
	}
	var in struct {
		Timecode *string `json:"timecode"`
	}
	if err := a.decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Timecode == nil {
		return a.problem(codeAttributeRequired, "timecode", `Send {"timecode": "00:00:05.000"}.`)
	}
	at, ok := parseTimecode(*in.Timecode)
	if !ok {
		return a.problem(codeInvalidAttribute, "timecode", `timecode must be a moment such as "00:01:30.000" (hh:mm:ss.ms) or a number of seconds.`)
	}
	ctx := c.Request().Context()
	if v.UploadStatus != store.UploadUploaded {
		return a.problem(codeInvalidAttribute, "timecode", "The video's source is not completely uploaded yet: pick its thumbnail once it is.")
	}
	if m, err := a.store.FindVideoMedia(ctx, v.ID); err == nil && m.Probed && m.Facts.Duration > 0 && at >= m.Facts.Duration {
		return a.problem(codeInvalidAttribute, "timecode", "timecode is past the end of the video, which lasts "+m.Facts.Duration.Round(time.Millisecond).String()+".")
	}
	if a.thumbnails == nil {
		return a.problem(codeNoProcessing, "timecode", "Picking a frame needs ffmpeg, which is not installed on this server. Upload a thumbnail with POST /videos/{videoId}/thumbnail instead.")
	}
	if _, err := a.thumbnails.PickThumbnail(ctx, v.ID, at); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return a.videoNotFound()
		}
		return a.problem(codeNoProcessing, "timecode", "Picking a frame needs ffmpeg, which is not installed on this server. Upload a thumbnail with POST /videos/{videoId}/thumbnail instead.")
	}
	return a.writeVideo(c, v.ID, 200)
}

// handleThumbnailGet handles "GET /videos/:videoId/thumbnail.jpg": the
// video's thumbnail, revalidated on every use (no-cache, with an ETag) so
// that the stable URL shows a new one at once.
func (a *API) handleThumbnailGet(c echo.Context) error {
	v, err := a.findVideo(c)
	if err != nil {
		return err
	}
	m, err := a.store.FindVideoMedia(c.Request().Context(), v.ID)
	if errors.Is(err, store.ErrNotFound) || err == nil && m.Thumbnail == nil {
		return a.problem("resource-not-found", "videoId", "This video has no thumbnail yet.")
	}
	if err != nil {
		return err
	}
	return ServeThumbnail(c.Response(), c.Request(), a.blobs, *m.Thumbnail)
}

// ServeThumbnail serves a stored thumbnail as an image that runs nothing,
// with an ETag, revalidated on every use.
func ServeThumbnail(w http.ResponseWriter, r *http.Request, blobs blob.Objects, t store.Thumbnail) error {
	f, err := blobs.Open(r.Context(), t.Key)
	if err != nil {
		return err
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", t.Type)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, no-cache")
	h.Set("ETag", `"`+t.Key+`"`)
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox; frame-ancestors 'none'")
	http.ServeContent(w, r, "", t.At, f)
	return nil
}

// writeVideo answers with the video as it now is.
func (a *API) writeVideo(c echo.Context, id string, status int) error {
	v, err := a.store.FindVideo(c.Request().Context(), id)
	if err != nil {
		return a.videoErr(err)
	}
	return writeJSON(c, status, a.videoJSON(v))
}

func (a *API) deleteBlob(ctx context.Context, key string) {
	if err := a.blobs.Delete(context.WithoutCancel(ctx), key); err != nil {
		// The cleanup job removes it later, as an orphan.
		a.log.ErrorContext(ctx, "deleting a replaced thumbnail", "key", key, "err", err)
	}
}

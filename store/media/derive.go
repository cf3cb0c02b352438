package media

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Sizes of what Tool makes.
const (
	// A thumbnail's longer side is at most ThumbnailMax pixels.
	ThumbnailMax = 1280
	// A preview is at most 720p: its shorter side at most PreviewShort
	// and its longer side at most PreviewLong pixels.
	PreviewShort = 720
	PreviewLong  = 1280
	// maxThumbnailBytes caps a thumbnail file.
	maxThumbnailBytes = 32 << 20
	// thumbnailFrames is how many frames ffmpeg's thumbnail filter
	// compares to choose the most representative one, which is never a
	// fade from black when there is anything else to show.
	thumbnailFrames = 50
)

// ThumbnailMoment is where Thumbnail starts looking for a poster frame:
// a tenth into the video, at most 10 seconds, past the black frames and
// titles most videos open with.
func ThumbnailMoment(d time.Duration) time.Duration {
	return min(d/10, 10*time.Second)
}

// Thumbnail writes a poster frame of the file at path, described by info,
// to out as a JPEG: the most representative of the frames that follow
// ThumbnailMoment. A file without video gives a *FileError.
func (t *Tool) Thumbnail(ctx context.Context, path string, info Info, out string) error {
	if info.Video == nil {
		return &FileError{Reason: "The file has no video to take a thumbnail from."}
	}
	filter := "thumbnail=" + strconv.Itoa(thumbnailFrames) + "," + fitScale(*info.Video, ThumbnailMax, ThumbnailMax)
	if info.Video.Still {
		filter = fitScale(*info.Video, ThumbnailMax, ThumbnailMax)
	}
	return t.frame(ctx, path, ThumbnailMoment(info.Duration), filter, out)
}

// Frame writes the frame of the file at path shown at moment at to out,
// as a JPEG. A moment past the end gives a *FileError.
func (t *Tool) Frame(ctx context.Context, path string, info Info, at time.Duration, out string) error {
	if info.Video == nil {
		return &FileError{Reason: "The file has no video to take a thumbnail from."}
	}
	if info.Duration > 0 && at >= info.Duration {
		return &FileError{Reason: fmt.Sprintf("The video is %s long: there is no frame at %s.", info.Duration.Round(time.Millisecond), at)}
	}
	return t.frame(ctx, path, at, fitScale(*info.Video, ThumbnailMax, ThumbnailMax), out)
}

// frame grabs one frame from moment at through filter. It seeks in the
// input first, which is fast; a file whose index does not allow that (an
// MPEG-TS with one keyframe, say) gives no frame, and is then decoded
// from its start up to the moment instead.
func (t *Tool) frame(ctx context.Context, path string, at time.Duration, filter, out string) error {
	for _, inputSeek := range []bool{true, false} {
		args := []string{"-nostdin", "-v", "error", "-y"}
		if at > 0 && inputSeek {
			args = append(args, "-ss", seconds3(at))
		}
		args = append(args, inputArgs()...)
		args = append(args, "-i", "file:"+path)
		if at > 0 && !inputSeek {
			args = append(args, "-ss", seconds3(at))
		}
		args = append(args, "-map", "0:v:0", "-an", "-sn", "-dn", "-vf", filter,
			"-frames:v", "1", "-q:v", "3", "-c:v", "mjpeg", "-f", "image2", "-update", "1", "file:"+out)
		if _, err := t.run(ctx, filepath.Dir(out), t.ffmpeg, t.cfg.FrameTimeout, maxThumbnailBytes, args...); err != nil {
			return err
		}
		if fi, err := os.Stat(out); err == nil && fi.Size() > 0 {
			return nil
		}
		if at == 0 {
			break
		}
	}
	return &FileError{Reason: fmt.Sprintf("ffmpeg found no frame to decode at %s.", at.Round(time.Millisecond))}
}

// Preview writes to out an H.264/AAC MP4 of the file at path, described
// by info, that every browser plays: at most 720p, at most 60 frames per
// second, with its index first (faststart) so that it plays while it
// downloads. It runs until ctx ends.
func (t *Tool) Preview(ctx context.Context, path string, info Info, out string) error {
	if info.Video == nil || info.Video.Still {
		return &FileError{Reason: "The file has no moving video to make a preview of."}
	}
	args := []string{"-nostdin", "-v", "error", "-y"}
	args = append(args, inputArgs()...)
	if t.cfg.Threads > 0 {
		// The decoder's threads too, and the filters': all of the
		// preview's work stays on that many cores.
		args = append(args, "-threads", strconv.Itoa(t.cfg.Threads), "-filter_threads", strconv.Itoa(t.cfg.Threads))
	}
	args = append(args, "-i", "file:"+path,
		"-map", "0:v:0", "-map", "0:a:0?", "-sn", "-dn", "-map_metadata", "-1", "-map_chapters", "-1",
		"-vf", fitScale(*info.Video, PreviewLong, PreviewShort)+",format=yuv420p", "-fpsmax", "60",
		"-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-profile:v", "high",
		"-c:a", "aac", "-b:a", "128k")
	if a := info.Audio; a != nil && a.Channels > 2 {
		args = append(args, "-ac", "2")
	}
	if t.cfg.Threads > 0 {
		args = append(args, "-threads", strconv.Itoa(t.cfg.Threads))
	}
	args = append(args, "-max_muxing_queue_size", "4096", "-movflags", "+faststart", "-f", "mp4", "file:"+out)
	_, err := t.run(ctx, filepath.Dir(out), t.ffmpeg, 0, t.cfg.MaxOutput, args...)
	return err
}

// fitScale is a scale filter that fits the upright, square-pixel picture
// in long x short pixels (either way round), never enlarging it, with
// even sides as H.264 needs. ffmpeg turns the picture upright before the
// filter, as the file's rotation says.
func fitScale(v VideoStream, long, short int) string {
	w, h := v.DisplaySize()
	boxW, boxH := long, short
	if h > w {
		boxW, boxH = short, long
	}
	f := math.Min(1, math.Min(float64(boxW)/float64(max(w, 1)), float64(boxH)/float64(max(h, 1))))
	even := func(x float64) int { return max(2, int(math.Round(x/2))*2) }
	return fmt.Sprintf("scale=%d:%d,setsar=1", even(float64(w)*f), even(float64(h)*f))
}

// seconds3 formats a moment for -ss: seconds with milliseconds.
func seconds3(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}

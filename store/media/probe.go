package media

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// Info is what ffprobe tells about a file. Zero fields are unknown.
type Info struct {
	// Container is ffprobe's name for the format, such as
	// "mov,mp4,m4a,3gp,3g2,mj2" or "avi".
	Container string
	Duration  time.Duration
	Bitrate   int64 // Bits per second, of the whole file.
	Video     *VideoStream
	Audio     *AudioStream
}

// VideoStream is the first video stream of a file (a cover picture
// aside).
type VideoStream struct {
	Codec     string // "h264", "hevc", "mpeg4", "vp9"...
	Profile   string
	PixFmt    string
	Width     int // Coded size, as ffprobe reports it.
	Height    int
	FrameRate float64
	// SARNum and SARDen are the sample (pixel) aspect ratio; 1:1 when
	// the file does not say.
	SARNum, SARDen int
	// Rotation is how far the picture must turn clockwise to be shown
	// upright: 0, 90, 180 or 270 degrees.
	Rotation int
	// Still is true for a single picture rather than a moving video.
	Still bool
}

// AudioStream is the first audio stream of a file.
type AudioStream struct {
	Codec      string
	SampleRate int
	Channels   int
}

// DisplaySize is the size the picture is shown at: with square pixels,
// turned upright.
func (v VideoStream) DisplaySize() (int, int) {
	w, h := v.Width, v.Height
	if v.SARNum > 0 && v.SARDen > 0 && v.SARNum != v.SARDen {
		w = int(math.Round(float64(w) * float64(v.SARNum) / float64(v.SARDen)))
	}
	if v.Rotation == 90 || v.Rotation == 270 {
		w, h = h, w
	}
	return w, h
}

// AspectRatio is the shown picture's aspect ratio, reduced, as api.video
// writes it: "16/9", "4/3", "9/16".
func (v VideoStream) AspectRatio() string {
	w, h := v.DisplaySize()
	if w <= 0 || h <= 0 {
		return ""
	}
	g := gcd(w, h)
	return strconv.Itoa(w/g) + "/" + strconv.Itoa(h/g)
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Probe runs ffprobe on the file at path. A file that ffprobe cannot read,
// or in which it finds neither audio nor video, gives a *FileError.
func (t *Tool) Probe(ctx context.Context, path string) (Info, error) {
	args := append(inputArgs(), "-v", "error", "-print_format", "json", "-show_format", "-show_streams", "file:"+path)
	out, err := t.run(ctx, os.TempDir(), t.ffprobe, t.cfg.ProbeTimeout, 1<<20, args...)
	if err != nil {
		return Info{}, err
	}
	info, err := parseProbe(out)
	if err != nil {
		return Info{}, err
	}
	if info.Video == nil && info.Audio == nil {
		return Info{}, &FileError{Reason: "ffprobe found neither audio nor video in the file."}
	}
	return info, nil
}

// probeJSON is the part of ffprobe's JSON that Probe reads.
type probeJSON struct {
	Format struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
		BitRate    string `json:"bit_rate"`
	} `json:"format"`
	Streams []struct {
		CodecType    string `json:"codec_type"`
		CodecName    string `json:"codec_name"`
		Profile      string `json:"profile"`
		PixFmt       string `json:"pix_fmt"`
		Width        int    `json:"width"`
		Height       int    `json:"height"`
		SAR          string `json:"sample_aspect_ratio"`
		AvgFrameRate string `json:"avg_frame_rate"`
		RFrameRate   string `json:"r_frame_rate"`
		SampleRate   string `json:"sample_rate"`
		Channels     int    `json:"channels"`
		Duration     string `json:"duration"`
		NbFrames     string `json:"nb_frames"`
		Disposition  struct {
			AttachedPic int `json:"attached_pic"`
		} `json:"disposition"`
		Tags struct {
			Rotate string `json:"rotate"`
		} `json:"tags"`
		SideData []struct {
			Type     string  `json:"side_data_type"`
			Rotation float64 `json:"rotation"`
		} `json:"side_data_list"`
	} `json:"streams"`
}

func parseProbe(out []byte) (Info, error) {
	var p probeJSON
	if err := json.Unmarshal(out, &p); err != nil {
		return Info{}, &FileError{Reason: "ffprobe's report on the file could not be read: " + err.Error()}
	}
	info := Info{Container: p.Format.FormatName}
	info.Duration = seconds(p.Format.Duration)
	info.Bitrate, _ = strconv.ParseInt(p.Format.BitRate, 10, 64)
	for _, s := range p.Streams {
		switch {
		case s.CodecType == "video" && info.Video == nil && s.Disposition.AttachedPic == 0 && s.Width > 0 && s.Height > 0:
			v := &VideoStream{Codec: s.CodecName, Profile: s.Profile, PixFmt: s.PixFmt, Width: s.Width, Height: s.Height, SARNum: 1, SARDen: 1}
			if n, d, ok := ratio(s.SAR, ":"); ok && n > 0 && d > 0 {
				v.SARNum, v.SARDen = n, d
			}
			v.FrameRate = rate(s.AvgFrameRate)
			if v.FrameRate == 0 {
				v.FrameRate = rate(s.RFrameRate)
			}
			v.Rotation = rotation(s.Tags.Rotate, s.SideData)
			frames, _ := strconv.ParseInt(s.NbFrames, 10, 64)
			v.Still = strings.HasSuffix(p.Format.FormatName, "_pipe") || p.Format.FormatName == "image2" || frames == 1
			info.Video = v
			if info.Duration == 0 {
				info.Duration = seconds(s.Duration)
			}
		case s.CodecType == "audio" && info.Audio == nil:
			rate, _ := strconv.Atoi(s.SampleRate)
			info.Audio = &AudioStream{Codec: s.CodecName, SampleRate: rate, Channels: s.Channels}
			if info.Duration == 0 {
				info.Duration = seconds(s.Duration)
			}
		}
	}
	if info.Video != nil && info.Video.Still {
		info.Duration = 0
	}
	return info, nil
}

// seconds parses ffprobe's "3.040000"; anything else is 0.
func seconds(s string) time.Duration {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 || math.IsInf(f, 0) || f > 1e7 {
		return 0
	}
	return time.Duration(f * float64(time.Second))
}

// ratio parses "a<sep>b".
func ratio(s, sep string) (int, int, bool) {
	a, b, ok := strings.Cut(s, sep)
	if !ok {
		return 0, 0, false
	}
	n, err1 := strconv.Atoi(a)
	d, err2 := strconv.Atoi(b)
	return n, d, err1 == nil && err2 == nil
}

// rate parses a frame rate such as "30000/1001"; 0 when unknown or absurd.
func rate(s string) float64 {
	n, d, ok := ratio(s, "/")
	if !ok || n <= 0 || d <= 0 {
		return 0
	}
	f := float64(n) / float64(d)
	if f > 1000 {
		return 0
	}
	return f
}

// rotation reads a stream's rotation, from its display matrix (ffmpeg 5
// and later, counter-clockwise degrees) or its rotate tag (older muxers,
// clockwise), as clockwise degrees: 0, 90, 180 or 270.
func rotation(tag string, side []struct {
	Type     string  `json:"side_data_type"`
	Rotation float64 `json:"rotation"`
}) int {
	deg := 0
	if r, err := strconv.Atoi(tag); err == nil {
		deg = r
	}
	for _, sd := range side {
		if sd.Type == "Display Matrix" {
			deg = -int(math.Round(sd.Rotation))
		}
	}
	deg = ((deg%360)+360)%360 + 45
	return deg / 90 % 4 * 90
}

// Playable reports whether Chromium (and so most browsers) plays the file
// as it is: a container it demuxes holding codecs it decodes. Anything
// else gets a preview.
func (i Info) Playable() bool {
	c := i.Container
	var videoOK, audioOK bool
	switch {
	case strings.HasPrefix(c, "mov,mp4"):
		videoOK = i.Video == nil || i.Video.Codec == "h264" && h264Decodable(i.Video) || i.Video.Codec == "av1" || i.Video.Codec == "vp9"
		audioOK = i.Audio == nil || in(i.Audio.Codec, "aac", "mp3", "opus", "flac")
	case strings.HasPrefix(c, "matroska"):
		// Chromium demuxes Matroska as WebM: WebM's codecs only.
		videoOK = i.Video == nil || in(i.Video.Codec, "vp8", "vp9", "av1")
		audioOK = i.Audio == nil || in(i.Audio.Codec, "opus", "vorbis")
	case c == "ogg":
		videoOK = i.Video == nil || in(i.Video.Codec, "theora", "vp8")
		audioOK = i.Audio == nil || in(i.Audio.Codec, "opus", "vorbis", "flac")
	case c == "mp3" || c == "wav" || c == "flac":
		videoOK, audioOK = i.Video == nil, true
	}
	return videoOK && audioOK && (i.Video == nil || !i.Video.Still)
}

// h264Decodable reports whether a browser decodes this H.264: 8-bit 4:2:0,
// which excludes the High 10 and 4:2:2/4:4:4 profiles that cameras use.
func h264Decodable(v *VideoStream) bool {
	return in(v.PixFmt, "yuv420p", "yuvj420p", "nv12", "")
}

func in(s string, set ...string) bool {
	for _, x := range set {
		if s == x {
			return true
		}
	}
	return false
}

// String describes the facts for a log line.
func (i Info) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s, %s", i.Container, i.Duration.Round(time.Millisecond))
	if v := i.Video; v != nil {
		fmt.Fprintf(&b, ", %s %dx%d", v.Codec, v.Width, v.Height)
	}
	if a := i.Audio; a != nil {
		fmt.Fprintf(&b, ", %s %d Hz", a.Codec, a.SampleRate)
	}
	return b.String()
}

package media_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store/media"
	"github.com/uplink-video/uplink/store/media/mediatest"
)

// TestProbeEveryContainer checks Probe's facts against what ffprobe
// itself reports of every container of the test media.
func TestProbeEveryContainer(t *testing.T) {
	t.Parallel()
	tool := mediatest.Tool(t, media.Config{})
	for _, name := range mediatest.Containers {
		t.Run(name, func(t *testing.T) {
			path := mediatest.Path(t, name)
			info, err := tool.Probe(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			var want struct {
				Format struct {
					FormatName string `json:"format_name"`
					Duration   string `json:"duration"`
					BitRate    string `json:"bit_rate"`
				} `json:"format"`
				Streams []struct {
					CodecType  string `json:"codec_type"`
					CodecName  string `json:"codec_name"`
					Width      int    `json:"width"`
					Height     int    `json:"height"`
					AvgRate    string `json:"avg_frame_rate"`
					SampleRate string `json:"sample_rate"`
				} `json:"streams"`
			}
			if err := json.Unmarshal(mediatest.FFprobe(t, "-print_format", "json", "-show_format", "-show_streams", path), &want); err != nil {
				t.Fatal(err)
			}
			if info.Container != want.Format.FormatName {
				t.Errorf("container=%q, want=%q", info.Container, want.Format.FormatName)
			}
			d, _ := strconv.ParseFloat(want.Format.Duration, 64)
			if got := info.Duration.Seconds(); math.Abs(got-d) > 0.001 {
				t.Errorf("duration=%.3fs, want=%.3fs", got, d)
			}
			if br, _ := strconv.ParseInt(want.Format.BitRate, 10, 64); info.Bitrate != br {
				t.Errorf("bitrate=%d, want=%d", info.Bitrate, br)
			}
			for _, s := range want.Streams {
				switch s.CodecType {
				case "video":
					v := info.Video
					if v == nil || v.Codec != s.CodecName || v.Width != s.Width || v.Height != s.Height {
						t.Errorf("video=%+v, want %s %dx%d", v, s.CodecName, s.Width, s.Height)
						continue
					}
					if v.FrameRate != 25 || v.Rotation != 0 || v.AspectRatio() != "4/3" {
						t.Errorf("framerate=%v rotation=%d aspect=%s, want 25, 0, 4/3", v.FrameRate, v.Rotation, v.AspectRatio())
					}
				case "audio":
					a := info.Audio
					rate, _ := strconv.Atoi(s.SampleRate)
					if a == nil || a.Codec != s.CodecName || a.SampleRate != rate {
						t.Errorf("audio=%+v, want %s %d Hz", a, s.CodecName, rate)
					}
				}
			}
			wantPlayable := name != "mpeg4-mp3.avi" && name != "h264-aac.ts" && name != "h264-aac.mkv"
			if info.Playable() != wantPlayable {
				t.Errorf("playable=%v, want=%v", info.Playable(), wantPlayable)
			}
		})
	}
}

// TestThumbnailOfEveryContainer checks that every container gives a
// poster frame that is a real picture, not black.
func TestThumbnailOfEveryContainer(t *testing.T) {
	t.Parallel()
	tool := mediatest.Tool(t, media.Config{})
	for _, name := range mediatest.Containers {
		t.Run(name, func(t *testing.T) {
			path := mediatest.Path(t, name)
			info, err := tool.Probe(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "thumb.jpg")
			if err := tool.Thumbnail(context.Background(), path, info, out); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if w, h := mediatest.CheckPicture(t, data); w != 320 || h != 240 {
				t.Errorf("thumbnail is %dx%d, want 320x240", w, h)
			}
		})
	}
}

// TestThumbnailSkipsABlackOpening makes a video that opens on two seconds
// of black and checks that the poster frame is not black.
func TestThumbnailSkipsABlackOpening(t *testing.T) {
	t.Parallel()
	tool := mediatest.Tool(t, media.Config{})
	path := mediatest.Generate(t, "-f", "lavfi", "-i", "color=black:s=320x240:r=25:d=2",
		"-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=8",
		"-filter_complex", "[0:v][1:v]concat=n=2:v=1[v]", "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast",
		filepath.Join(t.TempDir(), "black-start.mp4"))
	info, err := tool.Probe(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "thumb.jpg")
	if err := tool.Thumbnail(context.Background(), path, info, out); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(out)
	mediatest.CheckPicture(t, data)
}

// TestPreviewOfAVI makes the preview of the MPEG-4 Part 2 AVI and checks
// that it is H.264/AAC in MP4 with its index first.
func TestPreviewOfAVI(t *testing.T) {
	t.Parallel()
	tool := mediatest.Tool(t, media.Config{})
	path := mediatest.Path(t, "mpeg4-mp3.avi")
	info, err := tool.Probe(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "preview.mp4")
	if err := tool.Preview(context.Background(), path, info, out); err != nil {
		t.Fatal(err)
	}
	p, err := tool.Probe(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Playable() || p.Video.Codec != "h264" || p.Audio == nil || p.Audio.Codec != "aac" {
		t.Errorf("preview: %s, want playable H.264/AAC MP4", p)
	}
	if math.Abs(p.Duration.Seconds()-info.Duration.Seconds()) > 0.2 {
		t.Errorf("preview lasts %s, the source %s", p.Duration, info.Duration)
	}
	data, _ := os.ReadFile(out)
	if moov, mdat := bytes.Index(data, []byte("moov")), bytes.Index(data, []byte("mdat")); moov < 0 || moov > mdat {
		t.Errorf("moov at %d, mdat at %d: want the index first (faststart)", moov, mdat)
	}
}

// TestPreviewIsAtMost720p makes a 1080p HEVC file and a portrait one, and
// checks the previews' sizes.
func TestPreviewIsAtMost720p(t *testing.T) {
	t.Parallel()
	tool := mediatest.Tool(t, media.Config{})
	dir := t.TempDir()
	for _, c := range []struct {
		size, codec  string
		wantW, wantH int
		wantPlayable bool
		extra        []string
	}{
		{"1920x1080", "libx265", 1280, 720, false, []string{"-x265-params", "log-level=error"}},
		{"1080x1920", "libx264", 720, 1280, true, nil},
	} {
		src := filepath.Join(dir, c.size+".mp4")
		args := []string{"-f", "lavfi", "-i", "testsrc2=s=" + c.size + ":r=25:d=1", "-c:v", c.codec, "-preset", "ultrafast", "-pix_fmt", "yuv420p"}
		mediatest.Generate(t, append(append(args, c.extra...), src)...)
		info, err := tool.Probe(context.Background(), src)
		if err != nil {
			t.Fatal(err)
		}
		if info.Playable() != c.wantPlayable {
			t.Errorf("%s %s: playable=%v, want=%v", c.size, c.codec, info.Playable(), c.wantPlayable)
		}
		out := filepath.Join(dir, c.size+"-preview.mp4")
		if err := tool.Preview(context.Background(), src, info, out); err != nil {
			t.Fatal(err)
		}
		p, err := tool.Probe(context.Background(), out)
		if err != nil {
			t.Fatal(err)
		}
		if p.Video.Width != c.wantW || p.Video.Height != c.wantH {
			t.Errorf("preview of %s is %dx%d, want %dx%d", c.size, p.Video.Width, p.Video.Height, c.wantW, c.wantH)
		}
	}
}

// TestRotation makes a video with a 90° display matrix and checks the
// rotation, the display aspect ratio and the upright thumbnail.
func TestRotation(t *testing.T) {
	t.Parallel()
	tool := mediatest.Tool(t, media.Config{})
	dir := t.TempDir()
	plain := mediatest.Generate(t, "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=1", "-c:v", "libx264", "-preset", "ultrafast", filepath.Join(dir, "plain.mp4"))
	rotated := mediatest.Generate(t, "-i", plain, "-c", "copy", "-metadata:s:v:0", "rotate=90", filepath.Join(dir, "rotated.mp4"))
	info, err := tool.Probe(context.Background(), rotated)
	if err != nil {
		t.Fatal(err)
	}
	// ffprobe reports the display matrix's angle counter-clockwise;
	// Rotation is clockwise.
	var side struct {
		Streams []struct {
			SideData []struct {
				Rotation int `json:"rotation"`
			} `json:"side_data_list"`
		} `json:"streams"`
	}
	json.Unmarshal(mediatest.FFprobe(t, "-print_format", "json", "-show_streams", rotated), &side)
	if len(side.Streams) == 0 || len(side.Streams[0].SideData) == 0 {
		t.Fatal("ffprobe reports no display matrix")
	}
	want := ((-side.Streams[0].SideData[0].Rotation)%360 + 360) % 360
	if info.Video.Rotation != want || want%180 != 90 || info.Video.AspectRatio() != "3/4" {
		t.Errorf("rotation=%d aspect=%s, want %d and 3/4", info.Video.Rotation, info.Video.AspectRatio(), want)
	}
	out := filepath.Join(dir, "thumb.jpg")
	if err := tool.Thumbnail(context.Background(), rotated, info, out); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(out)
	if w, h := mediatest.CheckPicture(t, data); w != 240 || h != 320 {
		t.Errorf("thumbnail is %dx%d, want upright 240x320", w, h)
	}
}

// TestFrameAtAMoment picks frames and a moment past the end.
func TestFrameAtAMoment(t *testing.T) {
	t.Parallel()
	tool := mediatest.Tool(t, media.Config{})
	path := mediatest.Path(t, "h264-aac-faststart.mp4")
	info, err := tool.Probe(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "frame.jpg")
	if err := tool.Frame(context.Background(), path, info, 2*time.Second, out); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(out)
	mediatest.CheckPicture(t, data)
	var fe *media.FileError
	if err := tool.Frame(context.Background(), path, info, 5*time.Second, out); !errors.As(err, &fe) {
		t.Errorf("frame past the end: err=%v, want a FileError", err)
	}
}

// TestHostileFiles runs every step on files that are not what they claim
// or are damaged: each ends with a FileError or a result, never a hang,
// and within the time limits.
func TestHostileFiles(t *testing.T) {
	t.Parallel()
	tool := mediatest.Tool(t, media.Config{ProbeTimeout: 20 * time.Second, FrameTimeout: 20 * time.Second})
	dir := t.TempDir()
	good := mediatest.Read(t, "h264-aac-moov-at-end.mp4")
	truncated := filepath.Join(dir, "truncated.mp4")
	os.WriteFile(truncated, good[:len(good)/2], 0o600)
	corrupted := filepath.Join(dir, "corrupted.mp4")
	bad := bytes.Clone(mediatest.Read(t, "h264-aac-faststart.mp4"))
	for i := 2000; i < len(bad); i += 97 {
		bad[i] ^= 0x5a
	}
	os.WriteFile(corrupted, bad, 0o600)
	avi := mediatest.Read(t, "mpeg4-mp3.avi")
	truncatedAVI := filepath.Join(dir, "truncated.avi")
	os.WriteFile(truncatedAVI, avi[:len(avi)/3], 0o600)
	// A playlist that names a local file: the demuxer is not allowed,
	// so it is never read.
	playlist := filepath.Join(dir, "playlist.mp4")
	os.WriteFile(playlist, []byte("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n"), 0o600)

	cases := map[string]bool{ // Path: whether Probe must refuse it.
		mediatest.Path(t, "text-named.mp4"): true,
		mediatest.Path(t, "archive.zip"):    true,
		truncated:                           true, // Its moov (at the end) is cut off.
		playlist:                            true,
		corrupted:                           false,
		truncatedAVI:                        false,
		mediatest.Path(t, "audio-only.mp3"): false,
	}
	for path, refused := range cases {
		start := time.Now()
		info, err := tool.Probe(context.Background(), path)
		var fe *media.FileError
		if refused {
			if !errors.As(err, &fe) {
				t.Errorf("%s: probe err=%v, want a FileError", filepath.Base(path), err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: probe: %v", filepath.Base(path), err)
			continue
		}
		out := filepath.Join(dir, filepath.Base(path)+".jpg")
		if err := tool.Thumbnail(context.Background(), path, info, out); err != nil && !errors.As(err, &fe) {
			t.Errorf("%s: thumbnail: %v, want a result or a FileError", filepath.Base(path), err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err = tool.Preview(ctx, path, info, filepath.Join(dir, filepath.Base(path)+".preview.mp4"))
		cancel()
		if err != nil && !errors.As(err, &fe) {
			t.Errorf("%s: preview: %v, want a result or a FileError", filepath.Base(path), err)
		}
		t.Logf("%s: %s in %s (thumbnail and preview: %v)", filepath.Base(path), info, time.Since(start).Round(time.Millisecond), err)
	}
}

// TestTimeLimit makes a tiny file that holds ten minutes of video, and
// checks that a preview with a short time limit is stopped, as a
// FileError.
func TestTimeLimit(t *testing.T) {
	t.Parallel()
	tool := mediatest.Tool(t, media.Config{})
	long := mediatest.Generate(t, "-f", "lavfi", "-i", "color=gray:s=320x240:r=25:d=600",
		"-c:v", "mpeg4", "-q:v", "31", "-g", "100000", filepath.Join(t.TempDir(), "long.avi"))
	fi, _ := os.Stat(long)
	info, err := tool.Probe(context.Background(), long)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d bytes declaring %s", fi.Size(), info.Duration)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	err = tool.Preview(ctx, long, info, filepath.Join(t.TempDir(), "p.mp4"))
	var fe *media.FileError
	if !errors.As(err, &fe) || !strings.Contains(fe.Reason, "time limit") {
		t.Errorf("err=%v, want a FileError about the time limit", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the run was stopped after %s", d)
	}
}

// TestMemoryLimit gives ffprobe less address space than it needs to load:
// it fails as a FileError, and uplink goes on.
func TestMemoryLimit(t *testing.T) {
	t.Parallel()
	tool := mediatest.Tool(t, media.Config{Memory: 16 << 20})
	_, err := tool.Probe(context.Background(), mediatest.Path(t, "h264-aac-faststart.mp4"))
	var fe *media.FileError
	if !errors.As(err, &fe) {
		t.Errorf("err=%v, want a FileError", err)
	}
}

// TestFindInDir checks --ffmpeg-dir: a directory without ffmpeg is
// reported as unavailable.
func TestFindInDir(t *testing.T) {
	t.Parallel()
	if _, err := media.Find(media.Config{Dir: t.TempDir()}); !errors.Is(err, media.ErrUnavailable) {
		t.Errorf("err=%v, want ErrUnavailable", err)
	}
}

// Package mediatest helps tests that run the real ffmpeg: it finds it (a
// missing ffmpeg skips the test, except in CI, where .ci/run installs it
// and its absence fails), names the test media files, generates others
// with ffmpeg, and checks pictures.
package mediatest

import (
	"bytes"
	"context"
	"image"
	_ "image/jpeg" // Thumbnails are JPEG.
	_ "image/png"  // Uploaded thumbnails may be PNG.
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store/media"
)

// Containers are the test files of every container, with what ffprobe
// reports of them (by `ffprobe -show_format -show_streams`): they are 3
// seconds of the testsrc2 pattern at 320x240, 25 fps, with a 440 Hz tone.
var Containers = []string{
	"h264-aac-faststart.mp4", "h264-aac-moov-at-end.mp4", "h264-aac.mov",
	"h264-aac.mkv", "vp9-opus.webm", "mpeg4-mp3.avi", "h264-aac.ts",
}

// NotMedia are real files that are not video, named like some.
var NotMedia = []string{"text-named.mp4", "archive.zip"}

// Path returns the path of a file of the test media (store/media/testdata).
func Path(tb testing.TB, name string) string {
	tb.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		tb.Fatal("mediatest: cannot locate the test media")
	}
	p := filepath.Join(filepath.Dir(file), "..", "testdata", name)
	if _, err := os.Stat(p); err != nil {
		tb.Fatal(err)
	}
	return p
}

// Read returns the bytes of a file of the test media.
func Read(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(Path(tb, name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// Need skips the test when ffmpeg is not installed, except in CI
// (CI=true), where it fails it.
func Need(tb testing.TB) {
	tb.Helper()
	for _, p := range []string{"ffmpeg", "ffprobe", "prlimit", "nice"} {
		if _, err := exec.LookPath(p); err != nil {
			if os.Getenv("CI") == "true" {
				tb.Fatalf("the processing tests need %s: %v", p, err)
			}
			tb.Skipf("no %s (%v); the processing tests run in CI", p, err)
		}
	}
}

// Tool returns a media.Tool on the installed ffmpeg, with cfg.
func Tool(tb testing.TB, cfg media.Config) *media.Tool {
	tb.Helper()
	Need(tb)
	t, err := media.Find(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// Generate runs ffmpeg with args (ending with the output path) to make a
// test file, and returns the output path.
func Generate(tb testing.TB, args ...string) string {
	tb.Helper()
	Need(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ffmpeg", append([]string{"-nostdin", "-v", "error", "-y"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
	}
	return args[len(args)-1]
}

// FFprobe runs ffprobe with args and returns its standard output.
func FFprobe(tb testing.TB, args ...string) []byte {
	tb.Helper()
	out, err := exec.Command("ffprobe", append([]string{"-v", "error"}, args...)...).Output()
	if err != nil {
		tb.Fatalf("ffprobe %v: %v", args, err)
	}
	return out
}

// CheckPicture decodes a JPEG or PNG and fails the test unless it is a
// real picture: not black, not one flat colour. It returns its size.
func CheckPicture(tb testing.TB, data []byte) (int, int) {
	tb.Helper()
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		tb.Fatalf("decode the picture: %v", err)
	}
	b := img.Bounds()
	var sum, sumSq float64
	n := 0
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			l := (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(bl)) / 257
			sum += l
			sumSq += l * l
			n++
		}
	}
	mean := sum / float64(n)
	variance := sumSq/float64(n) - mean*mean
	if mean < 16 {
		tb.Errorf("the picture is black: mean luma %.1f of 255", mean)
	}
	if variance < 100 {
		tb.Errorf("the picture is one flat colour: luma variance %.1f", variance)
	}
	return b.Dx(), b.Dy()
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/uplink-video/uplink/store/media"
)

// The processing benchmark (--media): how long the probe and the
// thumbnail of a large file take, how fast a preview is made, and whether
// an upload slows down while one is being made. It runs on its own, apart
// from the upload rounds, which already take about ten minutes.

// MediaResults are the processing benchmark's figures.
type MediaResults struct {
	Machine Machine `json:"machine"`
	// The generated source: its size, length and format.
	SourceBytes   int64   `json:"sourceBytes"`
	SourceSeconds float64 `json:"sourceSeconds"`
	SourceFormat  string  `json:"sourceFormat"`
	// ProbeSeconds and ThumbnailSeconds are the wall times of ffprobe and
	// of the poster frame, as processing runs them (sandboxed, nice 19).
	ProbeSeconds     float64 `json:"probeSeconds"`
	ThumbnailSeconds float64 `json:"thumbnailSeconds"`
	// PreviewSeconds is the time to make the 720p preview of the whole
	// file; PreviewSpeed is source seconds per wall second.
	PreviewSeconds float64 `json:"previewSeconds"`
	PreviewSpeed   float64 `json:"previewSpeed"`
	// UploadBytes is the size of one upload through POST /upload to a
	// fresh server, made alone and while a preview is being made on the
	// same machine, in each round.
	UploadBytes int64        `json:"uploadBytes"`
	Rounds      []MediaRound `json:"rounds"`
	// SpareThreads is uplink's default --processing-threads here.
	SpareThreads int `json:"spareThreads"`
	// FFmpegThreadsRatio and SpareThreadsRatio are the medians of the
	// rounds' ratios of the upload's speed beside a preview to its speed
	// alone: with ffmpeg choosing its threads, and with SpareThreads.
	FFmpegThreadsRatio float64 `json:"ffmpegThreadsRatio"`
	SpareThreadsRatio  float64 `json:"spareThreadsRatio"`
}

// MediaRound is one round's upload speeds, in MiB/s: alone, beside a
// preview on ffmpeg's own thread count, and beside one on SpareThreads.
type MediaRound struct {
	Alone         float64 `json:"alone"`
	FFmpegThreads float64 `json:"ffmpegThreads"`
	SpareThreads  float64 `json:"spareThreads"`
}

// mediaRounds is how many rounds of uploads alone and beside a preview
// the processing benchmark makes. An upload of 512 MiB takes a second or
// two, so one round's ratio swings by a fifth on a shared disk; nine
// rounds cost about two minutes and steady the median.
const mediaRounds = 9

// mediaSourceBytes is the size of the generated 1080p source.
const mediaSourceBytes = 1 << 30

// runMedia runs the processing benchmark.
func (b *bench) runMedia(ctx context.Context, uploadSize int64) (*MediaResults, error) {
	tool, err := media.Find(media.Config{})
	if err != nil {
		return nil, fmt.Errorf("the processing benchmark needs ffmpeg: %w", err)
	}
	res := &MediaResults{UploadBytes: uploadSize}
	src := filepath.Join(b.work, "source-1080p.mp4")
	b.logf("generating a %s 1080p H.264/AAC file with ffmpeg", human(mediaSourceBytes))
	// testsrc2 at a high constant quality, cut at 1 GiB: about four
	// minutes at 35 Mbit/s, a camera's bitrate, with its index at the end,
	// as cameras write it.
	gen := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-v", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=s=1920x1080:r=30", "-f", "lavfi", "-i", "sine=f=440:r=48000",
		"-t", "1200", "-fs", fmt.Sprint(mediaSourceBytes),
		"-c:v", "libx264", "-preset", "ultrafast", "-qp", "4", "-pix_fmt", "yuv420p", "-c:a", "aac", src)
	gen.Stderr = b.log
	if err := gen.Run(); err != nil {
		return nil, fmt.Errorf("generate the 1080p file: %w", err)
	}
	fi, err := os.Stat(src)
	if err != nil {
		return nil, err
	}
	res.SourceBytes = fi.Size()
	// The page cache holds the file after writing it; drop it, as a
	// freshly uploaded file is not all in memory either.
	settle()
	dropCache(src)

	start := time.Now()
	info, err := tool.Probe(ctx, src)
	if err != nil {
		return nil, err
	}
	res.ProbeSeconds = round(time.Since(start).Seconds(), 3)
	res.SourceSeconds = round(info.Duration.Seconds(), 1)
	res.SourceFormat = info.String()
	start = time.Now()
	if err := tool.Thumbnail(ctx, src, info, filepath.Join(b.work, "thumb.jpg")); err != nil {
		return nil, err
	}
	res.ThumbnailSeconds = round(time.Since(start).Seconds(), 3)
	b.logf("probe %.2fs, thumbnail %.2fs (%s)", res.ProbeSeconds, res.ThumbnailSeconds, res.SourceFormat)

	b.logf("making the 720p preview of the whole file")
	start = time.Now()
	if err := tool.Preview(ctx, src, info, filepath.Join(b.work, "preview.mp4")); err != nil {
		return nil, err
	}
	d := time.Since(start)
	res.PreviewSeconds = round(d.Seconds(), 1)
	res.PreviewSpeed = round(info.Duration.Seconds()/d.Seconds(), 2)
	b.logf("preview: %.1fs for %.0fs of video (%.2fx)", res.PreviewSeconds, res.SourceSeconds, res.PreviewSpeed)

	// Uploads, alone and beside a preview. The upload's file is random
	// bytes, like the upload rounds'.
	b.src = filepath.Join(b.work, "source.bin")
	if b.sums, err = generate(b.src, uploadSize, []int64{uploadSize}); err != nil {
		return nil, err
	}
	// Each round uploads alone, then beside a preview made with ffmpeg's
	// own thread count (about one and a half per core, uplink's setting
	// before --processing-threads), then beside one made with uplink's
	// default (one core left free), so that a shared disk whose speed
	// drifts weighs on all three alike. Each ratio is taken within its
	// round; the medians of those ratios are reported.
	spare := media.SpareCoreThreads()
	res.SpareThreads = spare
	contenders := []*media.Tool{nil, tool, nil}
	if contenders[2], err = media.Find(media.Config{Threads: spare}); err != nil {
		return nil, err
	}
	var ffmpegRatios, spareRatios []float64
	for r := range mediaRounds {
		var rd MediaRound
		for i, t := range contenders {
			mibps, err := b.uploadBeside(ctx, direct, uploadSize, t, src, info)
			if err != nil {
				return nil, err
			}
			switch i {
			case 0:
				rd.Alone = round(mibps, 0)
			case 1:
				rd.FFmpegThreads = round(mibps, 0)
			case 2:
				rd.SpareThreads = round(mibps, 0)
			}
		}
		b.logf("round %d/%d: %.0f MiB/s alone, %.0f MiB/s beside a preview on ffmpeg's threads, %.0f MiB/s beside one on %d threads",
			r+1, mediaRounds, rd.Alone, rd.FFmpegThreads, rd.SpareThreads, spare)
		ffmpegRatios = append(ffmpegRatios, rd.FFmpegThreads/rd.Alone)
		spareRatios = append(spareRatios, rd.SpareThreads/rd.Alone)
		res.Rounds = append(res.Rounds, rd)
	}
	res.FFmpegThreadsRatio = round(median(ffmpegRatios), 2)
	res.SpareThreadsRatio = round(median(spareRatios), 2)
	return res, nil
}

// uploadBeside uploads the benchmark's file once and returns its MiB/s:
// alone when preview is nil, else while preview makes a preview of src.
func (b *bench) uploadBeside(ctx context.Context, key string, size int64, preview *media.Tool, src string, info media.Info) (float64, error) {
	// Every contender starts after the same pause, with the previous
	// upload's writes flushed: an upload that started at once, while the
	// disk still wrote back the one before, read 20 to 40 % slower than
	// the rest, and made uploads beside a preview look faster than alone.
	settle()
	if preview == nil {
		time.Sleep(previewHeadStart)
		run, err := b.measureServer(ctx, key, size, 1)
		if err != nil {
			return 0, err
		}
		return run.MiBps, nil
	}
	pctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var ended time.Time
	wg.Go(func() {
		_ = preview.Preview(pctx, src, info, filepath.Join(b.work, "preview2.mp4"))
		ended = time.Now()
	})
	// Let ffmpeg get going (and take its cores) first.
	time.Sleep(previewHeadStart)
	run, err := b.measureServer(ctx, key, size, 1)
	stopped := time.Now()
	cancel()
	wg.Wait()
	if err != nil {
		return 0, err
	}
	if ended.Before(stopped) {
		return 0, fmt.Errorf("the preview ended before the upload did: use a smaller --media-upload")
	}
	return run.MiBps, nil
}

// previewHeadStart is how long a preview runs before the upload beside
// it starts; an upload alone waits as long.
const previewHeadStart = 3 * time.Second

// dropCache asks the kernel to drop a file's pages from the page cache.
func dropCache(path string) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	const fadvDontNeed = 4 // POSIX_FADV_DONTNEED.
	syscall.Syscall6(syscall.SYS_FADVISE64, f.Fd(), 0, 0, fadvDontNeed, 0, 0)
}

// printMedia writes the processing benchmark's figures.
func printMedia(w io.Writer, r *MediaResults, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(w, "Processing, on %d cores (%s)\n", r.Machine.Cores, r.Machine.CPU)
	fmt.Fprintf(w, "  source: %s, %s\n", human(r.SourceBytes), r.SourceFormat)
	fmt.Fprintf(w, "  probe:     %.2f s\n", r.ProbeSeconds)
	fmt.Fprintf(w, "  thumbnail: %.2f s\n", r.ThumbnailSeconds)
	fmt.Fprintf(w, "  preview:   %.1f s for %.0f s of video: %.2f source seconds per second\n", r.PreviewSeconds, r.SourceSeconds, r.PreviewSpeed)
	fmt.Fprintf(w, "  upload of %s beside a preview, against the same upload alone, median of %d rounds' ratios:\n", human(r.UploadBytes), len(r.Rounds))
	fmt.Fprintf(w, "    ffmpeg choosing its threads: %.2f\n", r.FFmpegThreadsRatio)
	fmt.Fprintf(w, "    %d thread(s), uplink's default: %.2f\n", r.SpareThreads, r.SpareThreadsRatio)
	for i, rd := range r.Rounds {
		fmt.Fprintf(w, "    round %d: %.0f MiB/s alone, %.0f beside ffmpeg's threads, %.0f beside %d\n", i+1, rd.Alone, rd.FFmpegThreads, rd.SpareThreads, r.SpareThreads)
	}
	return nil
}

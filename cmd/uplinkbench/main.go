// Command uplinkbench measures how close uplink's uploads come to the
// disk's own write speed and to tusd's, how much memory and CPU the
// server spends on them, and how fast the token API answers with many
// tokens stored.
//
//	go run ./cmd/uplinkbench [--dir DIR] [--rounds N] [--sizes 1GiB,2GiB] [--json] [--quick] [--uplink PATH] [--tusd PATH] [--keep-logs]
//	go run ./cmd/uplinkbench --media [--media-upload 512MiB] [--dir DIR] [--json]
//	go run ./cmd/uplinkbench --s3 [--s3-endpoint URL] [--database postgres://...] [--rounds N] [--sizes 256MiB] [--json]
//
// With --s3 it measures uplink with its bytes in S3 instead, against the
// same S3 server written directly (see s3bench.go).
//
// The disk under test is often shared, and its speed can change several
// times over within minutes. The four contenders therefore run side by
// side: every round writes the test file once with each of (a) os.File
// with an fsync per part and uplink's writeback hints, (b) POST /upload, (c) a link, and (t) tusd
// followed by an fsync, in an order that rotates from round to round, and
// each ratio is taken within its round before the median is taken over
// the rounds.
//
// It builds uplink (or uses --uplink) and tusd (or uses --tusd), and runs
// each upload against a fresh server process on 127.0.0.1, with its data
// directory under --dir, on the same disk as (a). The client streams
// every file from the page cache. Every upload's stored bytes are read
// back and their SHA-256 checked after the measurement, so a fast but
// wrong server cannot score. See the "Performance" section of the README
// for the figures.
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "uplinkbench: %v\n", err)
		}
		os.Exit(1)
	}
}

// sizes are the amounts a run moves.
type sizes struct {
	Rounds int `json:"rounds"`
	// Sizes are the sizes of the interleaved rounds' uploads.
	Sizes     []int64 `json:"sizes"`
	Parallel  int64   `json:"parallelBytes"`  // Each of the uploads of (d).
	Uploads   int     `json:"parallelCount"`  // How many uploads (d) runs at once.
	SmallRSS  int64   `json:"smallRSSBytes"`  // The smaller upload whose peak RSS is taken.
	LargeRSS  int64   `json:"largeRSSBytes"`  // The larger one.
	Tokens    int     `json:"tokens"`         // Tokens in the store for (e).
	Samples   int     `json:"samplesPerCall"` // Requests timed per token API call.
	PartBytes int64   `json:"partBytes"`
}

// fullSizes and quickSizes are the presets of a full run and of --quick.
func fullSizes() sizes {
	return sizes{Rounds: 3, Sizes: []int64{1 << 30, 2 << 30}, Parallel: 256 << 20, Uploads: 8,
		SmallRSS: 512 << 20, LargeRSS: 4 << 30, Tokens: 100_000, Samples: 300, PartBytes: partSize}
}

func quickSizes() sizes {
	return sizes{Rounds: 2, Sizes: []int64{128 << 20, 256 << 20}, Parallel: 32 << 20, Uploads: 8,
		SmallRSS: 64 << 20, LargeRSS: 512 << 20, Tokens: 10_000, Samples: 100, PartBytes: partSize}
}

// bench is one run's setup.
type bench struct {
	bin    string // The uplink binary.
	tusd   string // The tusd binary.
	work   string // Holds everything the run writes.
	src    string // The generated file every upload sends.
	sums   map[int64]string
	apiKey string
	sz     sizes
	log    io.Writer
	n      int // Data directories made so far.
	// keepLogs keeps each server's log (data directory + ".log").
	keepLogs bool
}

const usage = "Usage: go run ./cmd/uplinkbench [--dir DIR] [--rounds N] [--sizes 1GiB,2GiB] [--json] [--quick] [--uplink PATH] [--tusd PATH] [--keep-logs]\n       go run ./cmd/uplinkbench --media [--media-upload 512MiB] [--dir DIR] [--json]\n       go run ./cmd/uplinkbench --s3 [--s3-endpoint URL] [--database postgres://...] [--rounds N] [--sizes 256MiB] [--json]"

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("uplinkbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", os.TempDir(), "directory for the test file, the baseline and the servers' data (the disk under test)")
	asJSON := fs.Bool("json", false, "print the results as JSON")
	quick := fs.Bool("quick", false, "small sizes and 2 rounds, for a smoke test of about a minute")
	rounds := fs.Int("rounds", 0, "rounds of (a), (b), (c) and (t) at each size (default 3, or 2 with --quick)")
	sizeList := fs.String("sizes", "", "comma-separated upload sizes of the rounds (default 1GiB,2GiB, or 128MiB,256MiB with --quick)")
	bin := fs.String("uplink", "", "the uplink binary to measure (default: build ./cmd/uplink)")
	tusdBin := fs.String("tusd", "", "the tusd binary for (t) (default: build tusd "+tusdVersion+" once into the user's cache directory)")
	keepLogs := fs.Bool("keep-logs", false, "keep the servers' logs (their output) in the work directory, and say where")
	mediaBench := fs.Bool("media", false, "run the processing benchmark instead of the upload rounds: probe and thumbnail of a generated 1 GiB 1080p file, preview speed, and an upload alone and beside a preview (needs ffmpeg)")
	mediaUpload := fs.String("media-upload", "512MiB", "size of the upload the processing benchmark makes alone and beside a preview")
	s3Mode := fs.Bool("s3", false, "run the object storage benchmark instead: direct S3 multipart ((s1) one part at a time, (s4) four) against uplink with --blobs on the same server ((u1) one instance, (u3) three behind a proxy), interleaved; default sizes 1GiB, or 256MiB with --quick")
	s3Endpoint := fs.String("s3-endpoint", "", "with --s3: the S3 server to use, with credentials and region from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION (default: start versitygw from .ci/s3servers's cache)")
	database := fs.String("database", "", "with --s3: the PostgreSQL database that the 3 instances of (u3) share (default: (u3) is skipped)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "%s\n\n", usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	b := &bench{sz: fullSizes(), log: stderr, apiKey: "bench-" + rand.Text(), bin: *bin, tusd: *tusdBin, keepLogs: *keepLogs}
	if *quick {
		b.sz = quickSizes()
	}
	if *rounds != 0 {
		if *rounds < 1 {
			return fmt.Errorf("--rounds %d: need at least 1", *rounds)
		}
		b.sz.Rounds = *rounds
	}
	if *s3Mode && *sizeList == "" {
		b.sz.Sizes = []int64{1 << 30}
		if *quick {
			b.sz.Sizes = []int64{256 << 20}
		}
	}
	if err := checkDatabaseURL(*database); err != nil {
		return err
	}
	if !*s3Mode && (*s3Endpoint != "" || *database != "") {
		return errors.New("--s3-endpoint and --database go with --s3")
	}
	if *sizeList != "" {
		var err error
		if b.sz.Sizes, err = parseSizes(*sizeList); err != nil {
			return err
		}
	}
	work, err := os.MkdirTemp(*dir, "uplinkbench-")
	if err != nil {
		return err
	}
	b.work = work
	defer func() {
		if !b.keepLogs {
			os.RemoveAll(work)
			return
		}
		os.Remove(b.src)
		fmt.Fprintf(stderr, "the servers' logs are in %s\n", work)
	}()
	if b.bin == "" {
		fmt.Fprintln(stderr, "building uplink")
		if b.bin, err = buildUplink(ctx, work); err != nil {
			return err
		}
	}
	if *mediaBench {
		up, err := parseSizes(*mediaUpload)
		if err != nil || len(up) != 1 {
			return fmt.Errorf("--media-upload %q: want one size such as 512MiB", *mediaUpload)
		}
		res, err := b.runMedia(ctx, up[0])
		if err != nil {
			return err
		}
		res.Machine = describeMachine(*dir, b.bin)
		return printMedia(stdout, res, *asJSON)
	}
	if *s3Mode {
		start := time.Now()
		res, err := b.runS3(ctx, s3Options{endpoint: *s3Endpoint, database: *database})
		if err != nil {
			return err
		}
		res.WallSeconds = round(time.Since(start).Seconds(), 0)
		res.Machine = describeMachine(*dir, b.bin)
		res.Command = strings.TrimSpace("go run ./cmd/uplinkbench " + strings.Join(redactDatabase(args), " "))
		res.Targets = s3Targets(res)
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(res)
		}
		printS3(stdout, res)
		return nil
	}
	if b.tusd == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return fmt.Errorf("no cache directory for tusd (pass --tusd PATH): %w", err)
		}
		if b.tusd, err = buildTusd(ctx, cache, stderr); err != nil {
			return err
		}
	}
	start := time.Now()
	res, err := b.run(ctx)
	if err != nil {
		return err
	}
	res.WallSeconds = round(time.Since(start).Seconds(), 0)
	res.Machine = describeMachine(*dir, b.bin)
	res.Quick = *quick
	res.Command = strings.TrimSpace("go run ./cmd/uplinkbench " + strings.Join(args, " "))
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	printTable(stdout, res)
	return nil
}

// parseSizes reads a list such as "1GiB,2GiB" or "512MiB".
func parseSizes(list string) ([]int64, error) {
	var out []int64
	for f := range strings.SplitSeq(list, ",") {
		f = strings.TrimSpace(f)
		num, unit := f, int64(1)
		for _, u := range []struct {
			suffix string
			n      int64
		}{{"GiB", 1 << 30}, {"MiB", 1 << 20}} {
			if v, ok := strings.CutSuffix(f, u.suffix); ok {
				num, unit = v, u.n
				break
			}
		}
		n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("--sizes: %q is not a size such as 512MiB or 2GiB", f)
		}
		out = append(out, n*unit)
	}
	return out, nil
}

func (b *bench) logf(format string, args ...any) { fmt.Fprintf(b.log, format+"\n", args...) }

// dataDir returns a new, unused path under the work dir, for one
// server's data directory or one baseline file: no two uploads share a
// file.
func (b *bench) dataDir() string {
	b.n++
	return filepath.Join(b.work, fmt.Sprintf("data%d", b.n))
}

func (b *bench) run(ctx context.Context) (*Results, error) {
	sz := b.sz
	res := &Results{Sizes: sz}
	prefixes := append([]int64{sz.Parallel, sz.SmallRSS, sz.LargeRSS}, sz.Sizes...)
	b.src = filepath.Join(b.work, "source.bin")
	b.logf("generating a %s test file", human(slices.Max(prefixes)))
	var err error
	if b.sums, err = generate(b.src, slices.Max(prefixes), prefixes); err != nil {
		return nil, err
	}

	// A warm-up block, not counted: the first writes after the test file
	// was generated are slow on a virtual disk that is still writing the
	// file out behind its fsync (in trial runs the first contender of the
	// run, always (a), read 126 to 186 MiB/s against 600 to 1000 in most
	// later blocks), and the servers' binaries are read from disk cold
	// once.
	warmUp := slices.Min(sz.Sizes)
	b.logf("warm-up block (not counted): every contender once at %s", human(warmUp))
	for _, key := range order(0) {
		if _, err := b.measure(ctx, key, warmUp); err != nil {
			return nil, err
		}
	}

	// The interleaved rounds: each block writes one size with every
	// contender, in an order that changes from block to block (see
	// order), so that a disk whose speed drifts during the run weighs on
	// every contender alike, and each ratio compares uploads made minutes
	// apart at most. The sizes alternate within each round for the same
	// reason.
	for r := range sz.Rounds {
		for si, size := range sz.Sizes {
			rd := Round{Round: r + 1, Bytes: size, Order: order(r + si), Runs: map[string]*Run{}}
			for _, key := range rd.Order {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				run, err := b.measure(ctx, key, size)
				if err != nil {
					return nil, err
				}
				rd.Runs[key] = run
				b.logf("round %d/%d, %s, %s: %.0f MiB/s", r+1, sz.Rounds, human(size), contenderName(key), run.MiBps)
			}
			base, t := rd.Runs[raw], rd.Runs[tus]
			for _, run := range rd.Runs {
				if run.Contender != raw {
					run.Ratio = round(run.MiBps/base.MiBps, 3)
					run.CPUOverRaw = round(run.CPUPerGiB-base.CPUPerGiB, 2)
				}
				if run.Contender == direct || run.Contender == link {
					run.TimeOverTus = round(run.Seconds/t.Seconds, 3)
				}
			}
			res.Rounds = append(res.Rounds, rd)
		}
	}
	for _, size := range sz.Sizes {
		res.Summary = append(res.Summary, summarise(res.Rounds, size))
	}

	// Peak RSS against upload size, each on a fresh server.
	for _, key := range []string{direct, link} {
		for _, size := range []int64{sz.SmallRSS, sz.LargeRSS} {
			b.logf("peak RSS: one %s upload by %s on a fresh server", human(size), contenderName(key))
			run, err := b.measureServer(ctx, key, size, 1)
			if err != nil {
				return nil, err
			}
			res.RSS = append(res.RSS, RSS{Contender: key, Bytes: size, PeakMiB: round(run.PeakRSSMiB, 1), IdleMiB: round(run.IdleRSSMiB, 1)})
		}
	}

	// (d) Parallel direct uploads: absolute figures only, since no
	// baseline runs next to it.
	b.logf("(d) %d direct uploads of %s at once", sz.Uploads, human(sz.Parallel))
	if res.Parallel, err = b.measureServer(ctx, direct, sz.Parallel, sz.Uploads); err != nil {
		return nil, err
	}
	res.Parallel.Contender = "d"

	// (e) The token API.
	b.logf("(e) token API: seeding %d tokens through the store package", sz.Tokens)
	if res.Tokens, err = b.tokens(ctx); err != nil {
		return nil, err
	}
	res.Targets = targets(res)
	return res, nil
}

// describeMachine says what the figures were measured on.
func describeMachine(dir, bin string) Machine {
	m := Machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			m.MemoryGiB = float64(kb) / (1 << 20)
		}
	}
	if out, err := exec.Command("df", "-T", dir).Output(); err == nil {
		if lines := strings.Split(strings.TrimSpace(string(out)), "\n"); len(lines) == 2 {
			if f := strings.Fields(lines[1]); len(f) >= 2 {
				m.Filesystem, m.Device = f[1], f[0]
			}
		}
	}
	if out, err := exec.Command(bin, "version").Output(); err == nil {
		m.Uplink = strings.TrimSpace(string(out))
	}
	return m
}

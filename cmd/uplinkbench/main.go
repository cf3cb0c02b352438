// Command uplinkbench measures how close uplink's uploads come to the
// disk's own write speed, how much memory and CPU the server spends on
// them, and how fast the token API answers with many tokens stored.
//
//	go run ./cmd/uplinkbench [--dir DIR] [--json] [--quick] [--uplink PATH] [--keep-logs]
//
// It builds uplink (or uses --uplink), and runs each measurement against
// a fresh "uplink serve" process on 127.0.0.1, with its data directory
// under --dir, on the same disk as the raw baseline. The client streams
// every file from disk. Every upload's stored source is read back and its
// SHA-256 checked after the measurement, so a fast but wrong server cannot
// score. See the "Performance" section of the README for the figures.
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
	"strings"
	"sync"
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
	Big       int64 `json:"bigBytes"`       // (a), (b) and (c).
	Parallel  int64 `json:"parallelBytes"`  // Each of the uploads of (d).
	Uploads   int   `json:"parallelCount"`  // How many uploads (d) runs at once.
	SmallRSS  int64 `json:"smallRSSBytes"`  // The smaller upload whose peak RSS is taken.
	LargeRSS  int64 `json:"largeRSSBytes"`  // The larger one.
	Tokens    int   `json:"tokens"`         // Tokens in the store for (e).
	Samples   int   `json:"samplesPerCall"` // Requests timed per token API call.
	PartBytes int64 `json:"partBytes"`
}

var (
	fullSizes  = sizes{Big: 2 << 30, Parallel: 256 << 20, Uploads: 8, SmallRSS: 512 << 20, LargeRSS: 4 << 30, Tokens: 100_000, Samples: 300, PartBytes: partSize}
	quickSizes = sizes{Big: 256 << 20, Parallel: 32 << 20, Uploads: 8, SmallRSS: 64 << 20, LargeRSS: 512 << 20, Tokens: 10_000, Samples: 100, PartBytes: partSize}
)

// bench is one run's setup.
type bench struct {
	bin    string
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

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("uplinkbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", os.TempDir(), "directory for the test file, the baseline and the servers' data (the disk under test)")
	asJSON := fs.Bool("json", false, "print the results as JSON")
	quick := fs.Bool("quick", false, "small sizes, for a smoke test (256 MiB, 8×32 MiB, 10k tokens)")
	bin := fs.String("uplink", "", "the uplink binary to measure (default: build ./cmd/uplink)")
	keepLogs := fs.Bool("keep-logs", false, "keep the servers' logs (their stderr) in the work directory, and say where")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: go run ./cmd/uplinkbench [--dir DIR] [--json] [--quick] [--uplink PATH] [--keep-logs]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	work, err := os.MkdirTemp(*dir, "uplinkbench-")
	if err != nil {
		return err
	}
	b := &bench{work: work, sz: fullSizes, log: stderr, apiKey: "bench-" + rand.Text(), bin: *bin, keepLogs: *keepLogs}
	defer func() {
		if !b.keepLogs {
			os.RemoveAll(work)
			return
		}
		os.Remove(b.src)
		fmt.Fprintf(stderr, "the servers' logs are in %s\n", work)
	}()
	if *quick {
		b.sz = quickSizes
	}
	if b.bin == "" {
		fmt.Fprintln(stderr, "building uplink")
		if b.bin, err = buildUplink(ctx, work); err != nil {
			return err
		}
	}
	res, err := b.run(ctx)
	if err != nil {
		return err
	}
	res.Machine = describeMachine(*dir, b.bin)
	res.Quick = *quick
	res.Command = "go run ./cmd/uplinkbench " + strings.Join(args, " ")
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	printTable(stdout, res)
	return nil
}

func (b *bench) logf(format string, args ...any) { fmt.Fprintf(b.log, format+"\n", args...) }

// dataDir returns a new, unused data directory path under the work dir.
func (b *bench) dataDir() string {
	b.n++
	return filepath.Join(b.work, fmt.Sprintf("data%d", b.n))
}

func (b *bench) run(ctx context.Context) (*Results, error) {
	sz := b.sz
	res := &Results{Sizes: sz}
	fileSize := max(sz.Big, sz.LargeRSS, sz.SmallRSS, sz.Parallel)
	b.src = filepath.Join(b.work, "source.bin")
	b.logf("generating a %s test file", human(fileSize))
	var err error
	if b.sums, err = generate(b.src, fileSize, []int64{sz.Big, sz.Parallel, sz.SmallRSS, sz.LargeRSS}); err != nil {
		return nil, err
	}

	// (a) The disk's own speed, taken before, between and after (b) and
	// (c): the disk is often shared, and the median of three samples
	// spread over the same minutes is a fairer yardstick than one.
	var samples []time.Duration
	base := func() error {
		b.logf("(a) raw baseline: %s in %s parts, fsync after each", human(sz.Big), human(partSize))
		d, err := b.baseline(sz.Big)
		samples = append(samples, d)
		return err
	}
	if err := base(); err != nil {
		return nil, err
	}
	// (b) Direct, one upload. Its server is fresh, so its peak RSS is
	// this upload's.
	b.logf("(b) direct upload: %s through POST /upload", human(sz.Big))
	if res.Direct, err = b.phase(ctx, "(b) POST /upload", 1, sz.Big, b.direct); err != nil {
		return nil, err
	}
	if err := base(); err != nil {
		return nil, err
	}
	// (c) Through a link's proxy endpoint.
	b.logf("(c) link upload: %s through PUT /u/{id}/uploads/{videoId}/parts/{n}", human(sz.Big))
	if res.Proxy, err = b.phase(ctx, "(c) link proxy PUT", 1, sz.Big, b.link); err != nil {
		return nil, err
	}
	if err := base(); err != nil {
		return nil, err
	}
	slices.Sort(samples)
	d := samples[len(samples)/2]
	res.Baseline = Throughput{Name: "(a) os.File, fsync per part", Bytes: sz.Big, Seconds: d.Seconds(), MBps: mbps(sz.Big, d)}
	for _, s := range samples {
		res.Baseline.Samples = append(res.Baseline.Samples, round(mbps(sz.Big, s), 1))
	}

	// (d) Parallel direct uploads.
	b.logf("(d) %d direct uploads of %s at once", sz.Uploads, human(sz.Parallel))
	name := fmt.Sprintf("(d) %d × %s at once", sz.Uploads, human(sz.Parallel))
	if res.Parallel, err = b.phase(ctx, name, sz.Uploads, sz.Parallel, b.direct); err != nil {
		return nil, err
	}
	for _, t := range []*Throughput{&res.Direct, &res.Proxy, &res.Parallel} {
		t.Ratio = t.MBps / res.Baseline.MBps
	}

	// Peak RSS against upload size, each on a fresh server.
	for _, size := range []int64{sz.SmallRSS, sz.LargeRSS} {
		b.logf("peak RSS: one %s direct upload on a fresh server", human(size))
		t, err := b.phase(ctx, "rss", 1, size, b.direct)
		if err != nil {
			return nil, err
		}
		res.RSS = append(res.RSS, RSS{Bytes: size, PeakMiB: t.PeakRSSMiB, IdleMiB: t.IdleRSSMiB})
	}
	res.RSS = append(res.RSS, RSS{Bytes: sz.Big, PeakMiB: res.Direct.PeakRSSMiB, IdleMiB: res.Direct.IdleRSSMiB})

	// (e) The token API.
	b.logf("(e) token API: seeding %d tokens through the store package", sz.Tokens)
	if res.Tokens, err = b.tokens(ctx); err != nil {
		return nil, err
	}
	res.Targets = targets(res)
	return res, nil
}

// baseline times writing size bytes of the source file to a new file
// with os.File, with an fsync after each part.
func (b *bench) baseline(size int64) (time.Duration, error) {
	settle()
	src, err := os.Open(b.src)
	if err != nil {
		return 0, err
	}
	defer src.Close()
	return baseline(src, filepath.Join(b.work, "baseline.bin"), size)
}

// settle writes out whatever is waiting to be written on the machine
// (the previous step's deletions, a link's creation, other programs'
// writes), so that a timed step does not pay for it.
func settle() { syscall.Sync() }

// uploader runs one upload of size bytes of f against s and returns the
// video ID.
type uploader func(s *server, f *os.File, size int64) (string, error)

// phase starts a fresh server, runs count uploads of size bytes at once
// with up, and measures the wall time, the server's CPU time and its peak
// RSS. Each upload's source is then read back and checked.
func (b *bench) phase(ctx context.Context, name string, count int, size int64, up uploader) (Throughput, error) {
	data := b.dataDir()
	s, err := startServer(ctx, b.bin, data, b.apiKey)
	if err != nil {
		return Throughput{}, err
	}
	defer func() {
		s.Stop()
		b.cleanup(data)
	}()
	files := make([]*os.File, count)
	for i := range files {
		if files[i], err = os.Open(b.src); err != nil {
			return Throughput{}, err
		}
		defer files[i].Close()
	}
	// Let the server settle after its start before the first sample.
	time.Sleep(200 * time.Millisecond)
	settle()
	before, err := sample(s.Pid())
	if err != nil {
		return Throughput{}, err
	}
	ids := make([]string, count)
	errs := make([]error, count)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range count {
		wg.Go(func() { ids[i], errs[i] = up(s, files[i], size) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	after, err := sample(s.Pid())
	if err := errors.Join(append(errs, err)...); err != nil {
		return Throughput{}, fmt.Errorf("%s: %w\nserver log:\n%s", name, err, s.logTail())
	}
	for _, id := range ids {
		sum, n, err := sourceSHA256(ctx, s.URL, b.apiKey, id)
		if err != nil {
			return Throughput{}, fmt.Errorf("%s: %w", name, err)
		}
		if want := b.sums[size]; sum != want || n != size {
			return Throughput{}, fmt.Errorf("%s: the stored source of %s has %d bytes with SHA-256 %s, want %d bytes with %s", name, id, n, sum, size, want)
		}
	}
	total := size * int64(count)
	return Throughput{
		Name: name, Bytes: total, Seconds: elapsed.Seconds(), MBps: mbps(total, elapsed),
		CPUPerGiB:  (after.CPU - before.CPU).Seconds() / (float64(total) / (1 << 30)),
		PeakRSSMiB: mib(after.HWM), IdleRSSMiB: mib(before.HWM),
	}, nil
}

// cleanup removes a data directory, and its server's log unless asked to
// keep it.
func (b *bench) cleanup(data string) {
	os.RemoveAll(data)
	if !b.keepLogs {
		os.Remove(data + ".log")
	}
}

// direct is an uploader that mints a token and uses POST /upload.
func (b *bench) direct(s *server, f *os.File, size int64) (string, error) {
	tok, err := createToken(s.URL, b.apiKey)
	if err != nil {
		return "", err
	}
	return uploadDirect(s.URL, tok, f, size)
}

// link is an uploader that mints a link with "uplink link create" and
// uploads through it. The receipt's SHA-256 must be the file's too.
func (b *bench) link(s *server, f *os.File, size int64) (string, error) {
	cmd := exec.Command(b.bin, "link", "create", "--data", s.Data, "--public-url", s.URL,
		"--label", "uplinkbench", "--ttl", "never", "--max-uploads", "0", "--types", "any")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("uplink link create: %w: %s", err, stderr.String())
	}
	id, sum, err := uploadLink(strings.TrimSpace(string(out)), f, size)
	if err == nil && sum != b.sums[size] {
		err = fmt.Errorf("the link's receipt says SHA-256 %s, want %s", sum, b.sums[size])
	}
	return id, err
}

// tokens seeds the store and times the token API.
func (b *bench) tokens(ctx context.Context) (TokenResults, error) {
	data := b.dataDir()
	defer b.cleanup(data)
	start := time.Now()
	ids, err := seedTokens(ctx, data, b.sz.Tokens, b.log)
	if err != nil {
		return TokenResults{}, err
	}
	seeded := time.Since(start)
	s, err := startServer(ctx, b.bin, data, b.apiKey)
	if err != nil {
		return TokenResults{}, err
	}
	defer s.Stop()
	settle()
	lat, err := measureTokens(s.URL, b.apiKey, ids, b.sz.Samples)
	if err != nil {
		return TokenResults{}, fmt.Errorf("%w\nserver log:\n%s", err, s.logTail())
	}
	return TokenResults{Count: b.sz.Tokens, SeedSeconds: seeded.Seconds(), Latencies: lat}, nil
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

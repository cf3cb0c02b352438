package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// measure times one write of size bytes of the test file by the
// contender key, with nothing else of the benchmark's running.
func (b *bench) measure(ctx context.Context, key string, size int64) (*Run, error) {
	if key == raw {
		return b.baseline(size)
	}
	return b.measureServer(ctx, key, size, 1)
}

// baseline is contender (a): size bytes of the test file written to a
// new file of its own with os.File, with an fsync after each part.
func (b *bench) baseline(size int64) (*Run, error) {
	src, err := os.Open(b.src)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	if err := warm(src, size); err != nil {
		return nil, err
	}
	settle()
	// This process writes (a) itself, and nothing else while it does.
	before, err := sample(os.Getpid())
	if err != nil {
		return nil, err
	}
	d, cpu, err := baseline(src, b.dataDir()+".raw", size)
	if err != nil {
		return nil, err
	}
	after, err := sample(os.Getpid())
	if err != nil {
		return nil, err
	}
	return &Run{Contender: raw, Bytes: size, Seconds: d.Seconds(), MiBps: mibps(size, d),
		CPUPerGiB:     cpu.Seconds() / (float64(size) / (1 << 30)),
		WritesPerByte: writesPerByte(before, after, size)}, nil
}

// writesPerByte is the bytes a process sent to the storage layer between
// two samples, per byte of the upload: at least 1 for any contender that
// really wrote the file (a figure under 1 would mean the page cache or a
// short write flattered it), and above 1 by what a server writes besides
// the bytes (metadata, a second copy). 0 when the kernel does not say.
func writesPerByte(before, after procSample, size int64) float64 {
	if before.Written < 0 || after.Written < 0 {
		return 0
	}
	return round(float64(after.Written-before.Written)/float64(size), 3)
}

// settle writes out whatever is waiting to be written on the machine
// (the previous step's deletions, a link's creation, other programs'
// writes), so that a timed step does not pay for it.
func settle() { syscall.Sync() }

// warm reads the first size bytes of the test file, so that every
// contender reads its bytes from the page cache: the test file is written
// once, and must flatter none of them by being cached for some only.
func warm(f *os.File, size int64) error {
	buf := make([]byte, 1<<20)
	_, err := io.CopyBuffer(io.Discard, io.NewSectionReader(f, 0, size), buf)
	return err
}

// sent is what a finished upload leaves to check.
type sent struct {
	waits []time.Duration
	check func(ctx context.Context) error // Reads the stored bytes back.
}

// prepared is an upload ready to run: everything it needs before its
// first byte (a token, a link) exists already, so that the timed part
// holds only the upload itself.
type prepared func(f *os.File) (sent, error)

// measureServer starts a fresh server for the contender key (uplink, or
// tusd for (t)), runs count uploads of size bytes at once, and measures
// the wall time, the server's CPU time and its peak RSS. Each upload's
// stored bytes are then read back and checked.
//
// Every upload gets a new server process, whose data directory is removed
// afterwards (which drops its files from the page cache too). VmHWM only
// ever grows: in a fresh process the peak is this upload's alone, process
// start-up included, which is what an operator has to provision for.
// Resetting the peak of a long-lived server (clear_refs) would instead
// hide the memory that earlier uploads left allocated.
func (b *bench) measureServer(ctx context.Context, key string, size int64, count int) (*Run, error) {
	data := b.dataDir()
	var s *server
	var err error
	if key == tus {
		s, err = startTusd(ctx, b.tusd, data)
	} else {
		s, err = startServer(ctx, b.bin, data, b.apiKey)
	}
	if err != nil {
		return nil, err
	}
	defer func() {
		s.Stop()
		b.cleanup(data)
	}()
	ups := make([]prepared, count)
	files := make([]*os.File, count)
	for i := range count {
		if ups[i], err = b.prepare(key, s, size); err != nil {
			return nil, fmt.Errorf("%s: %w\nserver log:\n%s", contenderName(key), err, s.logTail())
		}
		// One file each: the client seeks before each part.
		if files[i], err = os.Open(b.src); err != nil {
			return nil, err
		}
		defer files[i].Close()
	}
	if err := warm(files[0], size); err != nil {
		return nil, err
	}
	// Let the server settle after its start before the first sample.
	time.Sleep(200 * time.Millisecond)
	settle()
	before, err := sample(s.Pid())
	if err != nil {
		return nil, err
	}
	done := make([]sent, count)
	errs := make([]error, count)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range count {
		wg.Go(func() { done[i], errs[i] = ups[i](files[i]) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	after, err := sample(s.Pid())
	if err := errors.Join(append(errs, err)...); err != nil {
		return nil, fmt.Errorf("%s: %w\nserver log:\n%s", contenderName(key), err, s.logTail())
	}
	total := size * int64(count)
	run := &Run{
		Contender: key, Bytes: total, Seconds: elapsed.Seconds(), MiBps: mibps(total, elapsed),
		CPUPerGiB:  (after.CPU - before.CPU).Seconds() / (float64(total) / (1 << 30)),
		PeakRSSMiB: mib(after.HWM), IdleRSSMiB: mib(before.HWM),
		WritesPerByte: writesPerByte(before, after, total),
	}
	if kind := metricKind(key); kind != "" {
		if run.hist, err = scrapePartHistogram(ctx, s.URL, b.apiKey, kind); err != nil {
			return nil, err
		}
	}
	for _, d := range done {
		run.waits = append(run.waits, d.waits...)
		if err := d.check(ctx); err != nil {
			return nil, fmt.Errorf("%s: %w", contenderName(key), err)
		}
	}
	return run, nil
}

// metricKind is the "kind" label of uplink's part histogram for a
// contender's parts ("" for tusd). A link's parts are counted under
// "link" (the uploader's view) and also under "api", as they pass
// through the token endpoint in-process.
func metricKind(key string) string {
	switch key {
	case direct:
		return "api"
	case link:
		return "link"
	}
	return ""
}

// prepare readies one upload of size bytes by the contender key against
// server s.
func (b *bench) prepare(key string, s *server, size int64) (prepared, error) {
	switch key {
	case direct:
		tok, err := createToken(s.URL, b.apiKey)
		if err != nil {
			return nil, err
		}
		return func(f *os.File) (sent, error) {
			id, waits, err := uploadDirect(s.URL, tok, f, size)
			return sent{waits: waits, check: func(ctx context.Context) error { return b.checkSource(ctx, s, id, size) }}, err
		}, nil
	case link:
		linkURL, err := b.createLink(s, nil)
		if err != nil {
			return nil, err
		}
		return func(f *os.File) (sent, error) {
			r, err := uploadLink(linkURL, f, size)
			check := func(ctx context.Context) error {
				if want := b.sums[size]; r.sha256 != want {
					return fmt.Errorf("the link's receipt says SHA-256 %s, want %s", r.sha256, want)
				}
				return b.checkSource(ctx, s, r.videoID, size)
			}
			return sent{waits: r.waits, check: check}, err
		}, nil
	case tus:
		return func(f *os.File) (sent, error) {
			id, waits, err := uploadTus(s.URL, f, size)
			if err != nil {
				return sent{}, err
			}
			// The fsync is part of (t)'s time: see syncFile.
			path := filepath.Join(s.Data, id)
			check := func(context.Context) error { return b.checkFile(path, size) }
			return sent{waits: waits, check: check}, syncFile(path)
		}, nil
	}
	return nil, fmt.Errorf("unknown contender %q", key)
}

// createLink mints a link with "uplink link create" on the server's data
// directory, open to any number of uploads of any type. env and extra
// are what the server was started with besides its data directory (its
// storage settings).
func (b *bench) createLink(s *server, env []string, extra ...string) (string, error) {
	args := append([]string{"link", "create", "--data", s.Data, "--public-url", s.URL,
		"--label", "uplinkbench", "--ttl", "never", "--max-uploads", "0", "--types", "any"}, extra...)
	cmd := exec.Command(b.bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("uplink link create: %w: %s", err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// checkSource reads a video's stored source back from uplink and compares
// it with the test file's first size bytes.
func (b *bench) checkSource(ctx context.Context, s *server, id string, size int64) error {
	sum, n, err := sourceSHA256(ctx, s.URL, b.apiKey, id)
	if err != nil {
		return err
	}
	if want := b.sums[size]; sum != want || n != size {
		return fmt.Errorf("the stored source of %s has %d bytes with SHA-256 %s, want %d bytes with %s", id, n, sum, size, want)
	}
	return nil
}

// checkFile compares the file at path with the test file's first size
// bytes.
func (b *bench) checkFile(path string, size int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return err
	}
	if sum, want := hex.EncodeToString(h.Sum(nil)), b.sums[size]; sum != want || n != size {
		return fmt.Errorf("%s has %d bytes with SHA-256 %s, want %d bytes with %s", path, n, sum, size, want)
	}
	return nil
}

// cleanup removes a data directory (or a baseline file), and its
// server's log unless asked to keep it.
func (b *bench) cleanup(data string) {
	os.RemoveAll(data)
	if !b.keepLogs {
		os.Remove(data + ".log")
	}
}

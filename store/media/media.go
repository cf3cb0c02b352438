// Package media runs ffprobe and ffmpeg on uploaded files: it tells what a
// file holds (Probe), takes a poster frame (Thumbnail, Frame), and makes a
// copy a browser plays (Preview). It knows nothing of the metadata store
// or of HTTP: it reads a local file and writes local files.
//
// Every file is hostile until probed, so every run of ffprobe or ffmpeg is
// sandboxed (sandbox.go): it reads only the local file it is given, with
// only the demuxers of ordinary audio and video containers, never through
// a shell, with no standard input, at the lowest CPU priority, under a
// time limit and limits on memory, CPU time and output size, and is killed
// with uplink. A file that makes ffmpeg fail, crash or overrun a limit
// gives a *FileError that says so; nothing else is harmed.
package media

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"
)

// ErrUnavailable is returned by Find when ffmpeg, ffprobe or the tools of
// the sandbox cannot be found.
var ErrUnavailable = errors.New("media: ffmpeg is not available")

// FileError is a failure that the file caused: ffprobe or ffmpeg refused
// it, crashed on it, or overran a limit on it. Running the same file again
// fails the same way, so it is not worth a retry.
type FileError struct {
	// Reason says what happened, in a sentence an admin can read.
	Reason string
}

func (e *FileError) Error() string { return e.Reason }

// Config tunes a Tool. Zero fields take the defaults below.
type Config struct {
	// Dir is where ffmpeg and ffprobe are; empty looks them up in PATH.
	Dir string
	// Memory caps the address space of each run (RLIMIT_AS), in bytes.
	Memory int64
	// ProbeTimeout bounds one run of ffprobe, and FrameTimeout one frame
	// grab; a preview is bounded by its caller's context only.
	ProbeTimeout time.Duration
	FrameTimeout time.Duration
	// MaxOutput caps the size of each file ffmpeg writes (RLIMIT_FSIZE).
	MaxOutput int64
	// Threads is how many threads a preview decodes, filters and encodes
	// with; 0 lets ffmpeg choose (about one and a half per core).
	Threads int
}

// SpareCoreThreads is the thread count that leaves one core free for
// uploads while a preview is made: one fewer than the CPUs, at least 1.
// It is uplink serve's default (--processing-threads auto).
func SpareCoreThreads() int { return max(1, runtime.NumCPU()-1) }

// Defaults of Config.
const (
	// DefaultMemory leaves room for a 4K decode and a 720p x264 encode
	// with their threads, whose stacks count against the address space.
	DefaultMemory       = 4 << 30
	DefaultProbeTimeout = time.Minute
	DefaultFrameTimeout = 2 * time.Minute
	DefaultMaxOutput    = 8 << 30
)

// Tool runs ffprobe and ffmpeg in the sandbox. It is safe for concurrent
// use.
type Tool struct {
	ffprobe, ffmpeg string
	nice, prlimit   string
	ionice          string // "" when util-linux's ionice is missing.
	cfg             Config
}

// Find locates ffmpeg and ffprobe (in cfg.Dir, or in PATH), and nice and
// prlimit, which the sandbox needs (coreutils and util-linux, in every
// Debian). Returns an error matching ErrUnavailable when one is missing.
func Find(cfg Config) (*Tool, error) {
	if cfg.Memory <= 0 {
		cfg.Memory = DefaultMemory
	}
	if cfg.ProbeTimeout <= 0 {
		cfg.ProbeTimeout = DefaultProbeTimeout
	}
	if cfg.FrameTimeout <= 0 {
		cfg.FrameTimeout = DefaultFrameTimeout
	}
	if cfg.MaxOutput <= 0 {
		cfg.MaxOutput = DefaultMaxOutput
	}
	t := &Tool{cfg: cfg}
	look := func(name string, inDir bool) (string, error) {
		if inDir && cfg.Dir != "" {
			p := filepath.Join(cfg.Dir, name)
			if _, err := exec.LookPath(p); err != nil {
				return "", fmt.Errorf("%w: no %s in --ffmpeg-dir %s", ErrUnavailable, name, cfg.Dir)
			}
			return p, nil
		}
		p, err := exec.LookPath(name)
		if err != nil {
			return "", fmt.Errorf("%w: no %s in PATH", ErrUnavailable, name)
		}
		return p, nil
	}
	var err error
	for _, f := range []struct {
		dst   *string
		name  string
		inDir bool
	}{{&t.ffprobe, "ffprobe", true}, {&t.ffmpeg, "ffmpeg", true}, {&t.nice, "nice", false}, {&t.prlimit, "prlimit", false}} {
		if *f.dst, err = look(f.name, f.inDir); err != nil {
			return nil, err
		}
	}
	// ionice is a plus: it lowers ffmpeg's disk priority on hosts whose
	// I/O scheduler honours it (BFQ); nice already covers the CPU.
	t.ionice, _ = exec.LookPath("ionice")
	return t, nil
}

// cpuSeconds is the CPU time a run may use (RLIMIT_CPU) for a wall-time
// limit d: every core busy for all of it, and a minute more. The wall
// clock stops a run first; this catches one whose waits are not counted.
func cpuSeconds(d time.Duration) int64 {
	return int64(d.Seconds())*int64(runtime.NumCPU()) + 60
}

package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The sandbox. Each run is
//
//	nice -n 19 ionice -c 3 prlimit --as=M --cpu=S --fsize=F --core=0 -- ffmpeg ARGS
//
// started with exec (never a shell), so nice, ionice (when installed) and
// prlimit each set their part on the process and replace themselves with
// the next program: the
// limits are in force before ffmpeg reads a byte, and the process that
// exec.Cmd waits for, kills on timeout and reaps is ffmpeg itself.
// prlimit(1) is used rather than re-executing uplink as a wrapper so that
// the same sandbox works under go test and in any build; a cgroup would
// bound memory more precisely but needs privileges and a delegated
// hierarchy that most hosts do not give a service.
//
// Besides the limits:
//   - The input is named "file:PATH", and -protocol_whitelist file keeps
//     any URL a file names (an HLS or concat playlist, a reference movie)
//     from being fetched; -format_whitelist admits only the demuxers of
//     ordinary media containers, so no playlist demuxer reads other local
//     files either.
//   - Standard input is /dev/null (and ffmpeg gets -nostdin), the
//     environment is empty but for PATH and LC_ALL, and the working
//     directory is the run's own temporary directory.
//   - The process gets its own process group, killed as a whole on
//     timeout, and SIGKILL if uplink dies (Pdeathsig).

// demuxers are the input formats ffmpeg may use: ordinary audio and video
// containers, and single pictures (which ffprobe reports as one frame).
const demuxers = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,mpegts,mpeg,mpegvideo,flv,asf,ogg,mp3,wav," +
	"aac,flac,h264,hevc,m4v,mxf,dv,rm,nut,ivf,yuv4mpegpipe,gif,image2,png_pipe,jpeg_pipe,webp_pipe"

// maxStdout caps what a run may print to standard output (ffprobe's JSON).
const maxStdout = 4 << 20

// inputArgs are the options before every input.
func inputArgs() []string {
	return []string{"-protocol_whitelist", "file", "-format_whitelist", demuxers}
}

// run runs program (t.ffprobe or t.ffmpeg) with args in the sandbox, in
// dir, for at most timeout (0: until ctx ends), and returns its standard
// output. A failure the file caused is a *FileError.
func (t *Tool) run(ctx context.Context, dir, program string, timeout time.Duration, maxOutput int64, args ...string) ([]byte, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	limit := timeout
	if dl, ok := ctx.Deadline(); ok {
		limit = time.Until(dl)
	}
	if limit <= 0 {
		limit = 24 * time.Hour
	}
	var argv []string
	if t.ionice != "" {
		argv = []string{"-n", "19", t.ionice, "-c", "3", t.prlimit}
	} else {
		argv = []string{"-n", "19", t.prlimit}
	}
	argv = append(argv,
		"--as="+strconv.FormatInt(t.cfg.Memory, 10),
		"--cpu="+strconv.FormatInt(cpuSeconds(limit), 10),
		"--fsize="+strconv.FormatInt(maxOutput, 10),
		"--core=0",
		"--", program)
	cmd := exec.CommandContext(ctx, t.nice, append(argv, args...)...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C"}
	cmd.Stdin = nil
	stdout := &capped{max: maxStdout}
	stderr := &tail{max: 4 << 10}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	name := programName(program)
	switch {
	case err == nil && stdout.over:
		return nil, &FileError{Reason: fmt.Sprintf("%s printed more than %d bytes about the file.", name, maxStdout)}
	case err == nil:
		return stdout.Bytes(), nil
	case errors.Is(ctx.Err(), context.DeadlineExceeded) && timeout > 0:
		return nil, &FileError{Reason: fmt.Sprintf("%s took longer than %s on the file and was stopped.", name, timeout)}
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return nil, &FileError{Reason: fmt.Sprintf("%s ran past the time limit of the job on the file and was stopped.", name)}
	case ctx.Err() != nil:
		return nil, ctx.Err()
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		// ffmpeg could not be started: a fault of this host, not of
		// the file.
		return nil, fmt.Errorf("media: run %s: %w", name, err)
	}
	if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		switch ws.Signal() {
		case syscall.SIGXCPU:
			return nil, &FileError{Reason: fmt.Sprintf("%s used more CPU time than allowed on the file and was stopped.", name)}
		case syscall.SIGXFSZ:
			return nil, &FileError{Reason: fmt.Sprintf("%s wrote more than %d bytes from the file and was stopped.", name, maxOutput)}
		}
		return nil, &FileError{Reason: fmt.Sprintf("%s crashed on the file (%s).%s", name, ws.Signal(), lastLine(stderr.String()))}
	}
	msg := lastLine(stderr.String())
	if strings.Contains(msg, "Cannot allocate memory") || strings.Contains(msg, "out of memory") {
		return nil, &FileError{Reason: fmt.Sprintf("%s needed more memory than the %d MiB allowed.%s", name, t.cfg.Memory>>20, msg)}
	}
	return nil, &FileError{Reason: fmt.Sprintf("%s could not read the file (exit status %d).%s", name, exit.ExitCode(), msg)}
}

func programName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// lastLine is the last line of ffmpeg's messages, as " It said: ...", or "".
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	l := strings.TrimSpace(lines[len(lines)-1])
	l = strings.ToValidUTF8(l, "")
	if l == "" {
		return ""
	}
	if len(l) > 300 {
		l = l[:300] + "…"
	}
	return " It said: " + strings.ReplaceAll(l, "file:", "")
}

// capped is a buffer that keeps at most max bytes and notes whether more
// came.
type capped struct {
	bytes.Buffer
	max  int
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	n := len(p)
	if room := c.max - c.Len(); len(p) > room {
		c.over = true
		p = p[:max(room, 0)]
	}
	c.Buffer.Write(p)
	return n, nil
}

// tail keeps the last max bytes written to it.
type tail struct {
	buf []byte
	max int
}

func (t *tail) Write(p []byte) (int, error) {
	n := len(p)
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return n, nil
}

func (t *tail) String() string { return string(t.buf) }

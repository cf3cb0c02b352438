package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// buildUplink builds the uplink binary into dir and returns its path. It
// runs "go build" in the module that holds this command, so that the
// benchmark measures the code next to it.
func buildUplink(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the uplink module: run from the repository, or pass --uplink PATH")
	}
	bin := filepath.Join(dir, "uplink")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/uplink")
	cmd.Dir = filepath.Dir(mod)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/uplink: %w", err)
	}
	return bin, nil
}

// server is one server process under test: "uplink serve" or tusd.
type server struct {
	URL  string
	Data string // Its data (or upload) directory.
	cmd  *exec.Cmd
	log  string // Its stdout and stderr, for when something fails.
	done chan error
}

// startServer starts "uplink serve" on a free loopback port with its own
// data directory, and waits until it announces its address.
func startServer(ctx context.Context, bin, data, apiKey string, extra ...string) (*server, error) {
	return startUplink(ctx, bin, "127.0.0.1:0", data, apiKey, nil, extra...)
}

// startUplink starts "uplink serve" on addr with its own data directory,
// env added to its environment and extra flags, and waits until it
// announces its address. An instance restarted after a kill takes the
// address it had, so that its clients reconnect to it.
func startUplink(ctx context.Context, bin, addr, data, apiKey string, env []string, extra ...string) (*server, error) {
	args := append([]string{"serve", "--addr", addr, "--data", data, "--chunk-size", "16MiB"}, extra...)
	env = append([]string{"UPLINK_API_KEY=" + apiKey, "UPLINK_ADMIN_PASSWORD=bench-admin-password-0123456789"}, env...)
	return startProcess(ctx, bin, args, env, data, func(line string) (string, bool) {
		u, ok := strings.CutPrefix(line, "uplink is listening on ")
		return strings.TrimSpace(u), ok
	})
}

// startProcess starts bin with args (and env added to this process's
// environment), logging its output to data + ".log", and waits until a
// line of its standard output gives its URL (announce).
func startProcess(ctx context.Context, bin string, args, env []string, data string, announce func(line string) (string, bool)) (*server, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	logPath := data + ".log"
	// Both the child (its stderr) and this process (the child's stdout,
	// copied) append to the log, so their lines interleave whole.
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &server{Data: data, cmd: cmd, log: logPath, done: make(chan error, 1)}
	urlc := make(chan string, 1)
	go func() {
		defer logf.Close()
		sc := bufio.NewScanner(stdout)
		announced := false
		for sc.Scan() {
			fmt.Fprintln(logf, sc.Text())
			if u, ok := announce(sc.Text()); ok && !announced {
				announced = true
				urlc <- u
			}
		}
		// After a line too long to scan, drain the rest so that the
		// child never blocks on a full pipe.
		io.Copy(io.Discard, stdout)
		s.done <- cmd.Wait()
	}()
	name := filepath.Base(bin)
	select {
	case s.URL = <-urlc:
		return s, nil
	case err := <-s.done:
		return nil, fmt.Errorf("%s exited before listening (%v):\n%s", name, err, s.logTail())
	case <-time.After(30 * time.Second):
		s.Stop()
		return nil, fmt.Errorf("%s did not announce its address within 30s:\n%s", name, s.logTail())
	case <-ctx.Done():
		s.Stop()
		return nil, ctx.Err()
	}
}

// Pid returns the server's process ID.
func (s *server) Pid() int { return s.cmd.Process.Pid }

// Stop stops the server gracefully, or kills it after 30 seconds.
func (s *server) Stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// Kill kills the server with SIGKILL, as a crash or the kernel's OOM
// killer would, and waits until it has exited.
func (s *server) Kill() {
	_ = s.cmd.Process.Kill()
	<-s.done
}

// logTail returns the end of the server's log.
func (s *server) logTail() string {
	b, _ := os.ReadFile(s.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// procSample is what /proc says about a process at one moment.
type procSample struct {
	CPU time.Duration // User plus system time so far.
	HWM int64         // Peak resident set size (VmHWM), in bytes.
	RSS int64         // Current resident set size (VmRSS), in bytes.
	// Written is write_bytes from /proc/<pid>/io: the bytes the process
	// has caused to be sent to the storage layer (counted when it dirties
	// page cache, whoever writes the pages out later), or -1 where the
	// kernel does not account for them.
	Written int64
	Taken   time.Time
}

// userHZ is the unit of the times in /proc/<pid>/stat. It is 100 on every
// Linux architecture Go supports.
const userHZ = 100

// sample reads the process's CPU time and memory from /proc.
func sample(pid int) (procSample, error) {
	s := procSample{Taken: time.Now(), Written: -1}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// The command name, in parentheses, may hold spaces: fields are
	// counted from after its closing parenthesis, where field 3 (state)
	// starts; utime and stime are fields 14 and 15.
	i := strings.LastIndexByte(string(stat), ')')
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return s, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return s, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	s.CPU = time.Duration(utime+stime) * time.Second / userHZ
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmHWM" && k != "VmRSS") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return s, fmt.Errorf("/proc/%d/status %s: %w", pid, k, err)
		}
		if k == "VmHWM" {
			s.HWM = kb << 10
		} else {
			s.RSS = kb << 10
		}
	}
	if io, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid)); err == nil {
		for _, line := range strings.Split(string(io), "\n") {
			if v, ok := strings.CutPrefix(line, "write_bytes: "); ok {
				if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
					s.Written = n
				}
			}
		}
	}
	return s, nil
}

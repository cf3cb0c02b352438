package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// local is an "uplink serve" process started for the run.
type local struct {
	url, key, data string
	cmd            *exec.Cmd
	done           chan struct{}
	stderr         *os.File
	tmp            string // Removed at the end, when the tool made it.
}

// startLocal starts uplink on a free loopback port with a fresh data
// directory and an API key of the tool's, and waits until it listens.
func startLocal(ctx context.Context, c config, stderr io.Writer) (*local, error) {
	l := &local{key: "load-" + rand.Text(), done: make(chan struct{})}
	base := c.dir
	if base == "" {
		tmp, err := os.MkdirTemp("", "uplinkload-")
		if err != nil {
			return nil, err
		}
		base, l.tmp = tmp, tmp
	}
	l.data = filepath.Join(base, "data")
	bin := c.uplink
	if bin == "" {
		var err error
		if bin, err = build(ctx, base, stderr); err != nil {
			l.cleanup()
			return nil, err
		}
	}
	logf, err := os.Create(filepath.Join(base, "uplink.log"))
	if err != nil {
		l.cleanup()
		return nil, err
	}
	l.stderr = logf
	l.cmd = exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", l.data)
	l.cmd.Env = append(os.Environ(), "UPLINK_API_KEY="+l.key)
	l.cmd.Stderr = logf
	out, err := l.cmd.StdoutPipe()
	if err != nil {
		l.cleanup()
		return nil, err
	}
	if err := l.cmd.Start(); err != nil {
		l.cleanup()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "uplink is listening on "); ok {
				urlc <- strings.TrimSpace(u)
			}
		}
		io.Copy(io.Discard, out)
		l.cmd.Wait()
		close(l.done)
	}()
	select {
	case l.url = <-urlc:
		return l, nil
	case <-l.done:
		err = errors.New("uplink serve exited before listening")
	case <-time.After(time.Minute):
		err = errors.New("uplink serve did not say where it listens within a minute")
	case <-ctx.Done():
		err = ctx.Err()
	}
	l.stop()
	return nil, fmt.Errorf("%w; its log:\n%s", err, l.logTail())
}

// build builds uplink from the module this command is in.
func build(ctx context.Context, dir string, stderr io.Writer) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	mod := strings.TrimSpace(string(out))
	if err != nil || mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the uplink module: run from the repository, or pass -uplink PATH")
	}
	bin := filepath.Join(dir, "uplink")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/uplink")
	cmd.Dir = filepath.Dir(mod)
	// Static, as the Dockerfile builds it (and as cmd/uplink's tests do,
	// so that a test run builds it once).
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/uplink: %w", err)
	}
	return bin, nil
}

// stop stops the server gracefully (killing it after a minute) and
// removes what the tool made.
func (l *local) stop() {
	if l.cmd != nil && l.cmd.Process != nil {
		l.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-l.done:
		case <-time.After(time.Minute):
			l.cmd.Process.Kill()
			<-l.done
		}
	}
	l.cleanup()
}

func (l *local) cleanup() {
	if l.stderr != nil {
		l.stderr.Close()
	}
	if l.tmp != "" {
		os.RemoveAll(l.tmp)
	}
}

func (l *local) logTail() string {
	if l.stderr == nil {
		return ""
	}
	b, _ := os.ReadFile(l.stderr.Name())
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

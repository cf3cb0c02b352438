package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// tusdVersion is the tusd release that contender (t) runs: the reference
// implementation of the tus resumable upload protocol, with its file
// store, as a yardstick for what a Go upload server costs on this disk.
const tusdVersion = "v2.9.1"

// buildTusd builds tusd once into cacheDir/uplinkbench/tusd-<version> with
// "go install" and returns the binary's path; later runs reuse it. The
// build runs in that directory, outside any module, so that uplink's
// go.mod plays no part in it.
func buildTusd(ctx context.Context, cacheDir string, log io.Writer) (string, error) {
	dir := filepath.Join(cacheDir, "uplinkbench", "tusd-"+tusdVersion)
	bin := filepath.Join(dir, "tusd")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	fmt.Fprintf(log, "building tusd %s into %s (once; about 2 minutes)\n", tusdVersion, dir)
	cmd := exec.CommandContext(ctx, "go", "install", "github.com/tus/tusd/v2/cmd/tusd@"+tusdVersion)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOBIN="+dir)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go install tusd@%s: %w (or pass --tusd PATH)", tusdVersion, err)
	}
	return bin, nil
}

// startTusd starts tusd on a free loopback port with its file store in
// dir, in its default configuration otherwise (its request log included,
// as uplink's is).
func startTusd(ctx context.Context, bin, dir string) (*server, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	args := []string{"-host", "127.0.0.1", "-port", "0", "-upload-dir", dir, "-base-path", "/files/"}
	return startProcess(ctx, bin, args, nil, dir, func(line string) (string, bool) {
		const prefix = "You can now upload files to: "
		i := strings.Index(line, prefix)
		if i < 0 {
			return "", false
		}
		return strings.TrimSpace(line[i+len(prefix):]), true
	})
}

// uploadTus uploads size bytes of file (from its start) to a tus server
// whose creation endpoint is base: one creation request with the length,
// then one PATCH per partSize chunk, each acknowledged before the next
// is sent, as uplink's clients send parts. It returns the upload's ID
// (the name of its data file in tusd's file store) and each PATCH's wait.
func uploadTus(base string, file *os.File, size int64) (string, []time.Duration, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, err
	}
	k := &rawConn{host: u.Host}
	defer k.Close()
	h := http.Header{}
	h.Set("Tus-Resumable", "1.0.0")
	h.Set("Upload-Length", strconv.FormatInt(size, 10))
	resp, err := k.do(request{method: "POST", target: u.Path, header: h})
	if err != nil {
		return "", nil, fmt.Errorf("tus creation: %w", err)
	}
	loc, err := u.Parse(resp.header.Get("Location"))
	if resp.status != http.StatusCreated || err != nil || loc.Path == "" {
		return "", nil, fmt.Errorf("tus creation: HTTP %d, Location %q: %s", resp.status, resp.header.Get("Location"), clip(resp.body))
	}
	h.Del("Upload-Length")
	h.Set("Content-Type", "application/offset+octet-stream")
	var waits []time.Duration
	for off := int64(0); off < size; off += partSize {
		n := min(partSize, size-off)
		h.Set("Upload-Offset", strconv.FormatInt(off, 10))
		resp, err := k.do(request{method: "PATCH", target: loc.Path, header: h, file: file, off: off, size: n})
		if err != nil {
			return "", nil, fmt.Errorf("tus PATCH at %d: %w", off, err)
		}
		if got := resp.header.Get("Upload-Offset"); resp.status != http.StatusNoContent || got != strconv.FormatInt(off+n, 10) {
			return "", nil, fmt.Errorf("tus PATCH at %d: HTTP %d, Upload-Offset %q: %s", off, resp.status, got, clip(resp.body))
		}
		waits = append(waits, resp.wait)
	}
	return path.Base(loc.Path), waits, nil
}

// syncFile fsyncs the file at path. tusd's file store does not fsync, so
// (t) ends with this: only then are its bytes as durable as an upload
// that uplink has acknowledged.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

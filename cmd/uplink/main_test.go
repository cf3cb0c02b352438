package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store/storetest"
)

// These helpers run uplink two ways: in-process through run, the seam that
// main uses, and as the real binary built once per test run. Waits poll
// with a generous deadline, only so that a hung server fails the test
// instead of the whole run; no test asserts how long anything takes.

// readyWait bounds every wait for a server or process to get somewhere.
const readyWait = 2 * time.Minute

var (
	buildOnce sync.Once
	buildDir  string
	buildPath string
	buildErr  error
)

// TestMain runs the tests, with a PostgreSQL server for
// TestServeOnPostgres when the environment asks for one
// (storetest.EnvPostgres); the other tests run on SQLite files.
func TestMain(m *testing.M) {
	code := storetest.Main(m)
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// uplinkBinary builds the uplink command once, statically as the
// Dockerfile does, and returns the path of the executable.
func uplinkBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "uplink-test-bin-")
		if buildErr != nil {
			return
		}
		buildPath = filepath.Join(buildDir, "uplink")
		cmd := exec.Command(goTool(), "build", "-o", buildPath, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// goTool finds the go command that runs these tests.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// cleanEnv is the environment for the uplink binary: the process basics,
// none of the developer's UPLINK_* settings, and then extra.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "UPLINK_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// envFunc is a getenv backed by a map, for run.
func envFunc(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// listeningPrefix starts the line uplink prints once it is listening.
const listeningPrefix = "uplink is listening on "

// output collects what a server writes, safely for concurrent use, and
// reports the URL of the "uplink is listening on URL" line once.
type output struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	listening chan string
	seen      bool
}

func newOutput() *output { return &output{listening: make(chan string, 1)} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.Write(p)
	if !o.seen {
		for _, line := range strings.SplitAfter(o.buf.String(), "\n") {
			if strings.HasSuffix(line, "\n") && strings.HasPrefix(line, listeningPrefix) {
				o.listening <- strings.TrimSpace(strings.TrimPrefix(line, listeningPrefix))
				o.seen = true
				break
			}
		}
	}
	return len(p), nil
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// server is a running "uplink serve" process.
type server struct {
	URL    string
	cmd    *exec.Cmd
	stdout *output
	stderr *output
	done   chan struct{} // Closed once the process has exited.
}

// startServer runs the uplink binary with "serve" and args, in an
// environment of extraEnv only, and waits until it answers /healthz. The
// process is killed at the end of the test if it still runs.
func startServer(t *testing.T, client *http.Client, extraEnv []string, args ...string) *server {
	t.Helper()
	s := &server{stdout: newOutput(), stderr: newOutput(), done: make(chan struct{})}
	s.cmd = exec.Command(uplinkBinary(t), append([]string{"serve"}, args...)...)
	s.cmd.Env = cleanEnv(extraEnv...)
	s.cmd.Stdout = s.stdout
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			s.cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() {
			t.Logf("uplink stdout:\n%s\nuplink stderr:\n%s", s.stdout, s.stderr)
		}
	})
	select {
	case s.URL = <-s.stdout.listening:
	case <-s.done:
		t.Fatalf("uplink serve exited with %v before listening; stderr:\n%s", s.cmd.ProcessState, s.stderr)
	case <-time.After(readyWait):
		t.Fatalf("uplink serve printed no %q line; stdout:\n%s\nstderr:\n%s", listeningPrefix, s.stdout, s.stderr)
	}
	waitHealthy(t, client, s.URL)
	return s
}

// stop sends SIGTERM and returns the exit code.
func (s *server) stop(t *testing.T) int {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
	case <-time.After(readyWait):
		t.Fatalf("uplink serve did not exit after SIGTERM; stderr:\n%s", s.stderr)
	}
	return s.cmd.ProcessState.ExitCode()
}

// waitHealthy polls GET /healthz until it answers 200.
func waitHealthy(t *testing.T, client *http.Client, base string) {
	t.Helper()
	deadline := time.Now().Add(readyWait)
	for {
		resp, err := client.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s/healthz: not healthy: %v", base, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runBinary runs the uplink binary to completion and returns its output
// and exit code.
func runBinary(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(uplinkBinary(t), args...)
	cmd.Env = cleanEnv(env...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("uplink %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}

// runInProcess calls run and returns its output and exit code.
func runInProcess(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(t.Context(), args, envFunc(env), &out, &errb)
	return out.String(), errb.String(), code
}

// basicAuth is the Authorization header api.video clients send for a key.
func basicAuth(key string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"))
}

// do sends a request with an optional Authorization header and JSON body,
// and returns the status and the body.
func do(t *testing.T, client *http.Client, method, url, auth string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// mustDecode unmarshals a JSON body or fails the test.
func mustDecode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

// uploadWhole creates an upload token and sends file through it in one
// request with no Content-Range, as curl -F does, and returns the video ID.
func uploadWhole(t *testing.T, client *http.Client, base, auth, file string) string {
	t.Helper()
	status, body := do(t, client, "POST", base+"/upload-tokens", auth, map[string]int{"ttl": 3600})
	if status != http.StatusOK {
		t.Fatalf("POST /upload-tokens: status=%d, want=200; body: %s", status, body)
	}
	token := mustDecode[struct{ Token string }](t, body).Token

	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", filepath.Base(file))
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	req, err := http.NewRequestWithContext(t.Context(), "POST", base+"/upload?token="+token, &buf)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ = io.ReadAll(resp.Body)
	if got, want := resp.StatusCode, http.StatusCreated; got != want {
		t.Fatalf("POST /upload: status=%d, want=%d; body: %s", got, want, body)
	}
	if got, want := resp.Header.Get("Content-Type"), "application/json"; got != want {
		t.Errorf("POST /upload: Content-Type=%q, want=%q", got, want)
	}
	v := mustDecode[struct{ VideoID string }](t, body)
	if v.VideoID == "" {
		t.Fatalf("POST /upload: no videoId in %s", body)
	}
	return v.VideoID
}

// sha256File returns the hex SHA-256 of a file.
func sha256File(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// sha256Source downloads GET /videos/{id}/source and returns its hex SHA-256.
func sha256Source(t *testing.T, client *http.Client, base, auth, id string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", base+"/videos/"+id+"/source", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", auth)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /videos/%s/source: status=%d, want=200; body: %s", id, resp.StatusCode, b)
	}
	h := sha256.New()
	if _, err := io.Copy(h, resp.Body); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// startInProcess runs "serve" through run in a goroutine and returns its
// URL and a function that stops it (as SIGTERM does, by cancelling the
// context) and returns the exit code.
func startInProcess(t *testing.T, client *http.Client, env map[string]string, args ...string) (url string, stdout *output, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := newOutput(), newOutput()
	codec := make(chan int, 1)
	go func() { codec <- run(ctx, append([]string{"serve"}, args...), envFunc(env), stdout, stderr) }()
	stop = func() int {
		cancel()
		select {
		case code := <-codec:
			codec <- code
			return code
		case <-time.After(readyWait):
			t.Fatalf("serve did not return after its context was cancelled; stderr:\n%s", stderr)
			return -1
		}
	}
	t.Cleanup(func() { stop() })
	select {
	case url = <-stdout.listening:
	case code := <-codec:
		t.Fatalf("serve returned %d before listening; stderr:\n%s", code, stderr)
	case <-time.After(readyWait):
		t.Fatalf("serve printed no %q line; stderr:\n%s", listeningPrefix, stderr)
	}
	waitHealthy(t, client, url)
	return url, stdout, stop
}

// dirExists reports whether path is an existing directory.
func dirExists(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// Package s3test starts real S3-compatible servers for tests, each on free
// loopback ports with its data in a temporary directory, until the test
// ends: versitygw (posix backend) and SeaweedFS ("weed mini").
// .ci/s3servers builds both into a cache keyed by version; the servers are
// found there, or where UPLINK_TEST_VERSITYGW and UPLINK_TEST_WEED point. A
// test that needs a missing server is skipped, and fails under CI=true.
package s3test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/uplink-video/uplink/store/blob/s3store"
)

// The versions .ci/s3servers builds, which name its cache directories.
const (
	versitygwVersion = "v1.8.0"
	seaweedfsVersion = "v0.0.0-20261109003541-7506e5f91cd6"
)

// Credentials of the servers' one account.
const (
	AccessKey = "uplinktest"
	SecretKey = "uplinktestsecret"
)

// find returns the path of a server program: where the environment
// variable env points, or its place in .ci/s3servers's cache; "" if it is
// in neither.
func find(env, dir, name string) string {
	if p := os.Getenv(env); p != "" {
		return p
	}
	cache, _ := os.UserCacheDir()
	p := filepath.Join(cache, "uplink-ci", dir, name)
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// need returns the program's path, or skips the test (fails it under
// CI=true, where the S3 tests must run) when there is none.
func need(t testing.TB, path, name, env string) string {
	t.Helper()
	if path != "" {
		return path
	}
	msg := fmt.Sprintf("%s not found: run .ci/s3servers to build it into the cache, or set %s to its path", name, env)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: the S3 tests must run)")
	}
	t.Skip(msg)
	return ""
}

// Server is a running S3 server.
type Server struct {
	// Endpoint is its base URL, http://127.0.0.1:PORT.
	Endpoint string
	// Client reaches it with the account's credentials, to look behind
	// a store.
	Client  *s3.Client
	buckets atomic.Int64
}

// Config returns a Config for a new, empty bucket of the server, with
// the prefix "blobs/".
func (s *Server) Config(t testing.TB) s3store.Config {
	t.Helper()
	cfg, err := s.NewBucket(context.Background(), fmt.Sprintf("uplink-%d", s.buckets.Add(1)))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// NewBucket creates the bucket name on the server and returns a Config
// for it, with the prefix "blobs/". A server that has just started may
// still be setting itself up, so it retries for up to 30 seconds.
func (s *Server) NewBucket(ctx context.Context, name string) (s3store.Config, error) {
	var err error
	for deadline := time.Now().Add(30 * time.Second); ; {
		_, err = s.Client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &name})
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		return s3store.Config{}, fmt.Errorf("create bucket %s: %w", name, err)
	}
	return s3store.Config{
		Bucket:    name,
		Prefix:    "blobs/",
		Endpoint:  s.Endpoint,
		Region:    "us-east-1",
		AccessKey: AccessKey,
		SecretKey: SecretKey,
		PathStyle: true,
	}, nil
}

// rawClient returns an S3 client of the server, to look behind the store.
func rawClient(endpoint string) *s3.Client {
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: AccessKey, SecretAccessKey: SecretKey}, nil
		}),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// freePorts returns n loopback ports that were free a moment ago. The
// listeners are held until all are picked, so the n differ.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// start runs the server program with args until the test ends, and
// waits until addr takes connections. Its output goes to a file in dir,
// shown if the test fails.
func start(t testing.TB, dir, addr string, bin string, args ...string) {
	t.Helper()
	began := time.Now()
	p, err := startProcess(dir, addr, bin, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.Stop()
		if t.Failed() {
			t.Logf("%s output (last 4 KiB):\n%s", filepath.Base(bin), p.LogTail(4096))
		}
	})
	t.Logf("%s took connections on %s after %v", filepath.Base(bin), addr, time.Since(began).Round(time.Millisecond))
}

// Process is a server program that this package started. Stop ends it.
type Process struct {
	cmd     *exec.Cmd
	exited  chan error
	logPath string
	logFile *os.File
}

// Pid returns the program's process ID, for reading its CPU time and
// memory from /proc.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Stop interrupts the program and waits for it to exit, killing it if it
// has not exited within 10 seconds. It returns the program's exit error,
// which an interrupted program usually has.
func (p *Process) Stop() error {
	_ = p.cmd.Process.Signal(os.Interrupt)
	var err error
	select {
	case err = <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		err = <-p.exited
	}
	p.logFile.Close()
	return err
}

// LogTail returns the last n bytes of the program's output.
func (p *Process) LogTail(n int) string {
	b, _ := os.ReadFile(p.logPath)
	return tail(b, n)
}

// startProcess runs the server program with args in dir, with its output
// in dir/server.log, and waits until addr takes connections (a minute at
// most). The caller stops it.
func startProcess(dir, addr string, bin string, args ...string) (*Process, error) {
	logPath := filepath.Join(dir, "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	// Nothing from the caller's environment (AWS_* variables, say)
	// reaches the server.
	cmd.Env = []string{"HOME=" + dir, "PATH=/usr/bin:/bin", "TMPDIR=" + dir}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	began := time.Now()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &Process{cmd: cmd, exited: make(chan error, 1), logPath: logPath, logFile: logFile}
	go func() { p.exited <- cmd.Wait() }()
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return p, nil
		}
		select {
		case err := <-p.exited:
			logFile.Close()
			return nil, fmt.Errorf("%s exited before taking connections: %v\n%s", bin, err, p.LogTail(4096))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Since(began) > time.Minute {
			p.Stop()
			return nil, fmt.Errorf("%s takes no connections on %s after a minute", bin, addr)
		}
	}
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}

// Versitygw starts versitygw with its posix backend, until the test ends.
func Versitygw(t testing.TB) *Server {
	t.Helper()
	bin := need(t, VersitygwPath(), "versitygw", "UPLINK_TEST_VERSITYGW")
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	if err := os.Mkdir(root, 0o750); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(freePorts(t, 1)[0])
	start(t, dir, addr, bin, versitygwArgs(addr, root)...)
	return &Server{Endpoint: "http://" + addr, Client: rawClient("http://" + addr)}
}

// VersitygwPath returns the path of the versitygw program: where
// UPLINK_TEST_VERSITYGW points, or its place in .ci/s3servers's cache; ""
// if it is in neither.
func VersitygwPath() string {
	return find("UPLINK_TEST_VERSITYGW", "versitygw-"+versitygwVersion, "versitygw")
}

// StartVersitygw starts versitygw with its posix backend outside of a
// test (for cmd/uplinkbench): its objects and its log go under dir, which
// must exist, and it listens on a free loopback port. The caller stops
// the returned Process. It fails when VersitygwPath finds no program.
func StartVersitygw(dir string) (*Server, *Process, error) {
	bin := VersitygwPath()
	if bin == "" {
		return nil, nil, errors.New("versitygw not found: run .ci/s3servers to build it into the cache, or set UPLINK_TEST_VERSITYGW to its path")
	}
	root := filepath.Join(dir, "root")
	if err := os.Mkdir(root, 0o750); err != nil {
		return nil, nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	addr := l.Addr().String()
	l.Close()
	p, err := startProcess(dir, addr, bin, versitygwArgs(addr, root)...)
	if err != nil {
		return nil, nil, err
	}
	return &Server{Endpoint: "http://" + addr, Client: rawClient("http://" + addr)}, p, nil
}

// versitygwArgs are versitygw's arguments to serve the posix directory
// root on addr with the one account.
func versitygwArgs(addr, root string) []string {
	return []string{"--access", AccessKey, "--secret", SecretKey, "--region", "us-east-1",
		"--port", addr, "--quiet", "--keep-alive", "posix", root}
}

// SeaweedFS starts "weed mini": master, volume server, filer and S3
// gateway in one process, every port of its own, with telemetry, the
// admin UI, WebDAV and the table catalogs off, until the test ends.
func SeaweedFS(t testing.TB) *Server {
	t.Helper()
	bin := need(t, find("UPLINK_TEST_WEED", "seaweedfs-"+seaweedfsVersion, "weed"), "weed (SeaweedFS)", "UPLINK_TEST_WEED")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o750); err != nil {
		t.Fatal(err)
	}
	identities := fmt.Sprintf(`{"identities":[{"name":"uplink","credentials":[{"accessKey":%q,"secretKey":%q}],"actions":["Admin","Read","Write","List","Tagging"]}]}`, AccessKey, SecretKey)
	s3conf := filepath.Join(dir, "s3.json")
	if err := os.WriteFile(s3conf, []byte(identities), 0o600); err != nil {
		t.Fatal(err)
	}
	p := freePorts(t, 8)
	port := func(i int) string { return strconv.Itoa(p[i]) }
	addr := "127.0.0.1:" + port(0)
	start(t, dir, addr, bin, "mini",
		"-dir="+data, "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
		"-master.telemetry=false",
		"-s3.port="+port(0), "-s3.port.grpc="+port(1),
		"-master.port="+port(2), "-master.port.grpc="+port(3),
		"-volume.port="+port(4), "-volume.port.grpc="+port(5),
		"-filer.port="+port(6), "-filer.port.grpc="+port(7),
		"-s3.config="+s3conf,
		"-s3.port.iceberg=0", "-s3.port.lance=0",
		"-webdav=false", "-admin.ui=false", "-admin.port.legacy=0",
		"-s3.autoCreateBucket=false",
	)
	return &Server{Endpoint: "http://" + addr, Client: rawClient("http://" + addr)}
}

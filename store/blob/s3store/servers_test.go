package s3store_test

// The S3 servers the tests run against, each started by the test that
// needs it, on free loopback ports, with its data in a temporary
// directory. .ci/s3servers builds them into a cache; TestMain finds them
// there, or where UPLINK_TEST_VERSITYGW and UPLINK_TEST_WEED point.

import (
	"context"
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
	accessKey = "uplinktest"
	secretKey = "uplinktestsecret"
)

// binaries are the server programs found, "" for one that is missing.
type binaries struct {
	versitygw, weed string
	// ci is set under CI=true, where a missing server fails the tests
	// instead of skipping them.
	ci bool
}

// servers is set by TestMain, before any test runs, and only read after.
var servers binaries

func TestMain(m *testing.M) {
	cache, _ := os.UserCacheDir()
	find := func(env, dir, name string) string {
		if p := os.Getenv(env); p != "" {
			return p
		}
		p := filepath.Join(cache, "uplink-ci", dir, name)
		if _, err := os.Stat(p); err != nil {
			return ""
		}
		return p
	}
	servers = binaries{
		versitygw: find("UPLINK_TEST_VERSITYGW", "versitygw-"+versitygwVersion, "versitygw"),
		weed:      find("UPLINK_TEST_WEED", "seaweedfs-"+seaweedfsVersion, "weed"),
		ci:        os.Getenv("CI") == "true",
	}
	os.Exit(m.Run())
}

// need returns the binary path, or skips the test (fails it under CI)
// when there is none.
func need(t *testing.T, path, name, env string) string {
	t.Helper()
	if path != "" {
		return path
	}
	msg := fmt.Sprintf("%s not found: run .ci/s3servers to build it into the cache, or set %s to its path", name, env)
	if servers.ci {
		t.Fatal(msg + " (CI=true: the S3 tests must run)")
	}
	t.Skip(msg)
	return ""
}

// server is a running S3 server.
type server struct {
	endpoint string
	client   *s3.Client
	buckets  atomic.Int64
}

// config returns a Config for a new, empty bucket of the server.
func (s *server) config(t *testing.T) s3store.Config {
	t.Helper()
	bucket := fmt.Sprintf("uplink-%d", s.buckets.Add(1))
	ctx := context.Background()
	var err error
	// A server that has just started may still be setting itself up.
	for deadline := time.Now().Add(30 * time.Second); ; {
		_, err = s.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket})
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("create bucket %s: %v", bucket, err)
	}
	return s3store.Config{
		Bucket:    bucket,
		Prefix:    "blobs/",
		Endpoint:  s.endpoint,
		Region:    "us-east-1",
		AccessKey: accessKey,
		SecretKey: secretKey,
		PathStyle: true,
	}
}

// rawClient returns an S3 client of the server, to look behind the store.
func rawClient(endpoint string) *s3.Client {
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey}, nil
		}),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// freePorts returns n loopback ports that were free a moment ago. The
// listeners are held until all are picked, so the n differ.
func freePorts(t *testing.T, n int) []int {
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
func start(t *testing.T, dir, addr string, bin string, args ...string) {
	t.Helper()
	logPath := filepath.Join(dir, "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	// Nothing from the test's environment (AWS_* variables, say)
	// reaches the server.
	cmd.Env = []string{"HOME=" + dir, "PATH=/usr/bin:/bin", "TMPDIR=" + dir}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	began := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		logFile.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logPath); err == nil {
				t.Logf("%s output (last 4 KiB):\n%s", filepath.Base(bin), tail(b, 4096))
			}
		}
	})
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-exited:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("%s exited before taking connections: %v\n%s", bin, err, tail(b, 4096))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Since(began) > time.Minute {
			t.Fatalf("%s takes no connections on %s after a minute", bin, addr)
		}
	}
	t.Logf("%s took connections on %s after %v", filepath.Base(bin), addr, time.Since(began).Round(time.Millisecond))
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}

// startVersitygw starts versitygw with its posix backend.
func startVersitygw(t *testing.T) *server {
	t.Helper()
	bin := need(t, servers.versitygw, "versitygw", "UPLINK_TEST_VERSITYGW")
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	if err := os.Mkdir(root, 0o750); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(freePorts(t, 1)[0])
	start(t, dir, addr, bin, "--access", accessKey, "--secret", secretKey, "--region", "us-east-1",
		"--port", addr, "--quiet", "--keep-alive", "posix", root)
	return &server{endpoint: "http://" + addr, client: rawClient("http://" + addr)}
}

// startSeaweedFS starts "weed mini": master, volume server, filer and
// S3 gateway in one process, every port of its own, with telemetry, the
// admin UI, WebDAV and the table catalogs off.
func startSeaweedFS(t *testing.T) *server {
	t.Helper()
	bin := need(t, servers.weed, "weed (SeaweedFS)", "UPLINK_TEST_WEED")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o750); err != nil {
		t.Fatal(err)
	}
	identities := fmt.Sprintf(`{"identities":[{"name":"uplink","credentials":[{"accessKey":%q,"secretKey":%q}],"actions":["Admin","Read","Write","List","Tagging"]}]}`, accessKey, secretKey)
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
	return &server{endpoint: "http://" + addr, client: rawClient("http://" + addr)}
}

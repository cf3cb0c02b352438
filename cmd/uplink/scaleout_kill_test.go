package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/blob/s3store/s3test"
	"github.com/uplink-video/uplink/store/storetest"
)

// Three instances of the binary on one PostgreSQL database and one S3
// bucket, behind a round-robin proxy, all on loopback, take a 200 MiB file
// in 16 MiB parts through the proxy, through POST /upload as the official
// clients send it and through a link as its page does, while the instance
// handling the upload is killed (SIGKILL) at three moments: in the middle
// of a part, once the S3 server has stored a part and before the instance
// records it, and once the S3 server has assembled the source and before
// the instance records that; through POST /upload, also once the S3 server
// has stored the first part of the new upload, which no row names yet. Each time the upload goes on through the
// others, as a client retries; the source read back through another
// instance has the file's SHA-256; and the database and the bucket agree,
// with no object or multipart upload left over. It runs on versitygw and
// SeaweedFS, when the tests run on PostgreSQL (storetest.EnvPostgres).
func TestServeKilledMidUpload(t *testing.T) {
	if !storetest.Postgres() {
		t.Skipf("runs on PostgreSQL only: set %s=1", storetest.EnvPostgres)
	}
	if testing.Short() {
		t.Skip("starts three instances of the binary and two S3 servers, and uploads 800 MiB")
	}
	f := newSourceFile(t, 200<<20, 16<<20, 12)
	for _, s3srv := range []struct {
		name  string
		start func(testing.TB) *s3test.Server
	}{{"versitygw", s3test.Versitygw}, {"SeaweedFS", s3test.SeaweedFS}} {
		t.Run(s3srv.name+"/POST /upload", func(t *testing.T) {
			t.Parallel()
			c := newCluster(t, s3srv.start(t))
			c.killDuring(t, f, newAPISession(t, c, f), true)
			c.stopAll(t)
		})
		t.Run(s3srv.name+"/link", func(t *testing.T) {
			t.Parallel()
			c := newCluster(t, s3srv.start(t))
			c.killDuring(t, f, newLinkSession(t, c, c.newLink(t), f), false)
			c.stopAll(t)
		})
	}
}

// killDuring uploads f in session s, killing the instance that handles
// part 3 in its middle, the one that handles part 7 once S3 has stored
// it, and the one that handles the last part once S3 has assembled the
// source; with first, also the one that handles part 1 once S3 has
// stored it. Each killed instance is started again once the upload went
// on without it.
func (c *cluster) killDuring(t *testing.T, f *sourceFile, s session, first bool) {
	started := time.Now()
	last := f.parts()
	for n := 1; n <= last; n++ {
		switch {
		case n == 1 && first:
			c.killStarter(t, f, s)
		case n == 3:
			c.killMidPart(t, f, s, n)
		case n == 7:
			c.killAt(t, f, s, n, trap{moment: afterPart, path: c.objectPath(t, s), part: fmt.Sprint(n)})
		case n == last:
			c.killAt(t, f, s, n, trap{moment: inCompletion, path: c.objectPath(t, s)})
		default:
			data, size := f.part(n)
			if status, body, err := s.send(n, data, size, false); status/100 != 2 {
				t.Fatalf("part %d: %d %.200s (%v)", n, status, body, err)
			}
		}
	}
	t.Logf("%d MiB in %d parts, with the kills: %v", f.size>>20, last, time.Since(started).Round(time.Second))
	checkAgreement(t, c.st, c.s3, c.bucket, c.prefix)
}

// killStarter kills the instance that handles part 1 once S3 has stored
// it in the new upload's multipart upload, before the instance records the
// upload: nothing in the database names that multipart upload but the
// instance's claim on it, which lapses. The client sends part 1 again, and
// a new upload starts at another instance; the first request to take a
// claim after the dead one lapsed (part 3's, here) aborts what it left,
// which the checks after part 3 and at the end see.
func (c *cluster) killStarter(t *testing.T, f *sourceFile, s session) {
	t.Helper()
	c.traps.arm(trap{moment: afterPart, part: "1"})
	data, size := f.part(1)
	status, body, err := s.send(1, data, size, false)
	if status/100 == 2 {
		t.Fatalf("part 1: answered %d %.200s, and the trap did not spring", status, body)
	}
	var victim int
	select {
	case victim = <-c.traps.fired:
	case <-time.After(readyWait):
		t.Fatalf("part 1: answered %d %.200s (%v), and the trap did not spring", status, body, err)
	}
	t.Logf("part 1: instance %d killed %s; multipart uploads in the bucket: %s", victim, afterPart, describeOpen(t, c.s3, c.bucket))
	s.resend(t, 1)
	c.restart(t, victim)
}

// killMidPart sends half of part n and a little more, and kills the
// instance receiving it once it has received more than half: enough, on
// an object store, for a part of unknown length to be an upload of its own
// (see s3store's putStream). The part then goes through the others.
func (c *cluster) killMidPart(t *testing.T, f *sourceFile, s session, n int) {
	t.Helper()
	data, size := f.part(n)
	pr, pw := io.Pipe()
	done := make(chan string, 1)
	go func() {
		status, body, err := s.send(n, pr, size, true)
		done <- fmt.Sprintf("%d %.80s (%v)", status, body, err)
	}()
	victim := <-c.lb.picked
	go func() {
		// Blocks once the victim stops reading; the pipe's close ends it.
		_, _ = io.Copy(pw, io.NewSectionReader(data, 0, size/2+2<<20))
	}()
	for deadline := time.Now().Add(readyWait); ; {
		claims, err := c.st.LivePartClaims(context.Background(), s.videoID())
		if err != nil {
			t.Fatal(err)
		}
		if len(claims) == 1 && claims[0].Seq == int64(n) && claims[0].Received > size/2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("part %d: its instance reports no more than half of it received: %+v", n, claims)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("part %d: more than half received by instance %d, killed now; multipart uploads in the bucket: %s", n, victim, describeOpen(t, c.s3, c.bucket))
	c.kill(victim)
	pw.CloseWithError(errors.New("the instance was killed"))
	t.Logf("part %d: the request to the killed instance ended with %s", n, <-done)
	s.resend(t, n)
	checkAgreement(t, c.st, c.s3, c.bucket, c.prefix)
	c.restart(t, victim)
}

// killAt arms tr and sends part n, whose instance tr kills; the part then
// goes through the others. After the last part, the source is read back
// through another instance before the killed one starts again: no restart
// (which finishes what a crash left) does the work.
func (c *cluster) killAt(t *testing.T, f *sourceFile, s session, n int, tr trap) {
	t.Helper()
	c.traps.arm(tr)
	data, size := f.part(n)
	status, body, err := s.send(n, data, size, false)
	if status/100 == 2 {
		t.Fatalf("part %d: answered %d %.200s, and the trap %q did not spring", n, status, body, tr.moment)
	}
	var victim int
	select {
	case victim = <-c.traps.fired:
	case <-time.After(readyWait):
		t.Fatalf("part %d: answered %d %.200s (%v), and the trap %q did not spring", n, status, body, err, tr.moment)
	}
	t.Logf("part %d: instance %d killed %s; the request ended with %d %.80s (%v)", n, victim, tr.moment, status, body, err)
	s.resend(t, n)
	if n == f.parts() {
		s.finish(t)
		alive := (victim + 1) % len(c.servers)
		if got := sha256Source(t, c.client, c.servers[alive].URL, c.auth, s.videoID()); got != f.sha256 {
			t.Errorf("source through instance %d: SHA-256 %s, want %s", alive, got, f.sha256)
		}
	}
	checkAgreement(t, c.st, c.s3, c.bucket, c.prefix)
	c.restart(t, victim)
}

// objectPath is the path on the S3 server of the object that session s's
// upload builds.
func (c *cluster) objectPath(t *testing.T, s session) string {
	t.Helper()
	u, err := c.st.FindUpload(context.Background(), s.videoID())
	if err != nil {
		t.Fatal(err)
	}
	return "/" + c.bucket + "/" + c.prefix + u.SourceKey
}

// cluster is three instances of the binary on one database and one
// bucket, each reaching the S3 server through a trap of its own, behind a
// round-robin proxy.
type cluster struct {
	s3      *s3test.Server
	bucket  string
	prefix  string // The blob keys' prefix in the bucket.
	st      *store.Store
	lb      *roundRobin
	front   *httptest.Server
	client  *http.Client
	auth    string
	traps   *traps
	env     [][]string // Each instance's environment.
	args    [][]string // Each instance's flags.
	common  []string   // The flags every command takes.
	servers []*server
}

// newCluster starts the three instances on a new database and a new
// bucket of s3srv, each with a data directory of its own.
func newCluster(t *testing.T, s3srv *s3test.Server) *cluster {
	t.Helper()
	const key = "scale-out-kill-test-api-key-0123"
	c := &cluster{s3: s3srv, bucket: s3srv.Config(t).Bucket, prefix: "uplink/", client: &http.Client{Timeout: readyWait}, auth: basicAuth(key)}
	c.lb, c.front = newRoundRobin(t)
	dsn := storetest.NewEmptyDSN(t)
	var proxies []string
	c.traps, proxies = newTraps(t, s3srv.Endpoint, 3)
	c.traps.kill = c.kill
	// Without ffmpeg nothing is processed: the bucket holds the sources
	// and nothing else.
	noFFmpeg := t.TempDir()
	c.common = []string{"--blobs", "s3://" + c.bucket + "/uplink", "--s3-path-style", "--public-url", c.front.URL}
	for i, proxy := range proxies {
		c.env = append(c.env, []string{
			"UPLINK_API_KEY=" + key, "UPLINK_DATABASE=" + dsn,
			"AWS_ENDPOINT_URL=" + proxy, "AWS_REGION=us-east-1",
			"AWS_ACCESS_KEY_ID=" + s3test.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s3test.SecretKey,
		})
		c.args = append(c.args, append([]string{"--addr", "127.0.0.1:0", "--ffmpeg-dir", noFFmpeg,
			"--data", filepath.Join(t.TempDir(), fmt.Sprint("data", i))}, c.common...))
		// The first instance makes the schema; the others find it.
		srv := startServer(t, c.client, c.env[i], c.args[i]...)
		c.servers = append(c.servers, srv)
		c.lb.add(srv.URL)
	}
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c.st = st
	return c
}

// newLink creates a link that takes any number of uploads, and returns
// its URL.
func (c *cluster) newLink(t *testing.T) string {
	t.Helper()
	args := append([]string{"link", "create", "--label", "Kills", "--data", t.TempDir()}, c.common...)
	stdout, stderr, code := runBinary(t, c.env[0], args...)
	if code != 0 {
		t.Fatalf("link create: exit %d: %s", code, stderr)
	}
	return strings.TrimSpace(stdout)
}

// kill stops sending requests to instance i and kills it with SIGKILL.
func (c *cluster) kill(i int) {
	c.lb.markDown(i)
	_ = c.servers[i].cmd.Process.Signal(syscall.SIGKILL)
	<-c.servers[i].done
}

// restart starts instance i again, on its data directory, and sends it
// requests again.
func (c *cluster) restart(t *testing.T, i int) {
	t.Helper()
	c.servers[i] = startServer(t, c.client, c.env[i], c.args[i]...)
	c.lb.up(i, c.servers[i].URL)
}

// stopAll stops every instance with SIGTERM; each must exit cleanly.
func (c *cluster) stopAll(t *testing.T) {
	t.Helper()
	for i, srv := range c.servers {
		if code := srv.stop(t); code != 0 {
			t.Errorf("instance %d: exit code after SIGTERM=%d, want=0; stderr:\n%s", i, code, srv.stderr)
		}
	}
}

// up sends requests to backend i again, now at base.
func (p *roundRobin) up(i int, base string) {
	u, err := url.Parse(base)
	if err != nil {
		panic(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.backends[i], p.down[i] = u, false
}

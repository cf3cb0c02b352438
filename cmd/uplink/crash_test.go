package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/ingest"
)

// The crash test uploads a 64 MiB file in 5 MiB parts through the real
// binary and kills the server with SIGKILL at 20 random points: while a
// part's body is in flight, between a piece's fsync and its commit (the
// UPLINK_TEST_CRASHPOINT hook), at a random moment of a part's request,
// between parts, during the final part, and between the final part's
// commit and the assembly of the source. After each kill it checks the
// data directory as the crash left it (every recorded part has its bytes),
// restarts the server on it (Recover must find no missing bytes, and must
// leave no blob that no row refers to), asks GET /videos/{id}/status which
// parts are held (every acknowledged part must be), and sends the rest.
// At the end the source must hash to the file's SHA-256.
//
// The kill points come from a seeded generator; the seed is logged, and
// -crash.seed replays a run.

var crashSeed = flag.Uint64("crash.seed", 0, "seed of the crash test's kill points (0: a new one)")

const (
	crashFileSize = 64 << 20
	crashPartSize = ingest.MinPartSize // 5 MiB: 13 parts, the last 4 MiB.
	crashKills    = 20
	crashAPIKey   = "crash-test-api-key-0123456789"
)

// killKind is where in an upload a kill lands.
type killKind int

const (
	killMidBody      killKind = iota // Part of the body sent, the rest still to come.
	killAfterFsync                   // The server kills itself between fsync and commit.
	killAnytime                      // A random moment after the request starts.
	killBetween                      // No request in flight.
	killBeforeFinish                 // The last part is recorded, the source not yet assembled.
)

func (k killKind) String() string {
	return [...]string{"mid-body", "after-fsync", "anytime", "between parts", "before-finish"}[k]
}

// kill is one point of the plan: a kind, aimed at a part.
type kill struct {
	kind killKind
	part int
	// stageNext sends the part after the target first, so that it waits
	// aside (in an object of its own), to be copied in when the source is
	// assembled.
	stageNext bool
}

// crashPlan draws the kill points: the first on part 1 (whose answer
// carries the videoId), the last three inside the final part (mid-body,
// after the fsync, and before the assembly), and at least four mid-body
// and three after-fsync kills in all.
func crashPlan(rng *rand.Rand, parts int) []kill {
	kinds := []killKind{killMidBody, killMidBody, killMidBody, killAfterFsync, killAfterFsync}
	for len(kinds) < crashKills-4 {
		kinds = append(kinds, killKind(rng.IntN(4)))
	}
	rng.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	targets := make([]int, len(kinds))
	for i := range targets {
		targets[i] = 1 + rng.IntN(parts-1)
	}
	slices.Sort(targets)
	plan := []kill{{kind: killKind(rng.IntN(3)), part: 1}}
	for i, k := range kinds {
		plan = append(plan, kill{kind: k, part: targets[i], stageNext: rng.IntN(3) == 0})
	}
	return append(plan, kill{kind: killMidBody, part: parts}, kill{kind: killAfterFsync, part: parts},
		kill{kind: killBeforeFinish, part: parts})
}

func TestCrashResume(t *testing.T) {
	seed := *crashSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay with: go test ./cmd/uplink -run TestCrashResume -crash.seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))

	src := make([]byte, crashFileSize)
	rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 64}).Read(src)
	parts := (len(src) + crashPartSize - 1) / crashPartSize
	c := &crashRun{
		t: t, rng: rng, src: src, parts: parts, dir: t.TempDir(),
		client: &http.Client{Timeout: readyWait}, acked: map[int]bool{},
	}
	plan := crashPlan(rng, parts)
	c.start("")
	c.token = c.createToken()

	for i, k := range plan {
		c.resumeTo(k.part - 1)
		target := c.firstMissing()
		if target == 0 {
			// An earlier kill landed after the last part was committed:
			// there is no part left to be inside of.
			k.kind = killBetween
		}
		if target == parts && k.kind == killAnytime && i < len(plan)-1 {
			// A kill at any moment may let the final part complete,
			// leaving the plan's last kills no part to be inside of.
			k.kind = killMidBody
		}
		// A part can wait aside only once the upload exists, and only
		// if it is not already held. The final part never does, for the
		// same reason as above.
		k.stageNext = k.stageNext && target > 1 && target+1 < parts && !c.held()[target+1]
		if k.kind == killBeforeFinish && target != parts {
			k.kind = killBetween // The last part is in already.
		}
		if k.stageNext {
			c.sendWhole(target + 1)
		}
		switch k.kind {
		case killAfterFsync:
			c.stop()
			c.start("after-fsync")
		case killBeforeFinish:
			c.stop()
			c.start("before-finish")
		}
		before := len(c.acked)
		outcome := c.killDuring(k.kind, target)
		c.checkCrashed()
		if (k.kind == killAfterFsync || k.kind == killBeforeFinish) && len(c.acked) != before {
			t.Errorf("kill %d: the server acknowledged part %d, though it was to die first", i+1, target)
		}
		report := c.start("")
		staged := ""
		if k.stageNext {
			staged = fmt.Sprintf(" (part %d sent first, aside)", target+1)
		}
		t.Logf("kill %2d/%d: %-13s part %2d%s: %s; recovered: orphans=%d finished=%d",
			i+1, len(plan), k.kind, target, staged, outcome, report["orphans"], report["finished"])
		if k.kind == killBeforeFinish && report["finished"] != 1 {
			t.Errorf("kill %d: the upload recorded complete before the crash was not finished by Recover: %v", i+1, report)
		}
		c.checkHeld()
		c.checkNoStrayBlobs()
	}

	c.resumeTo(parts)
	if got, want := sha256Source(t, c.client, c.srv.URL, basicAuth(crashAPIKey), c.videoID), hex.EncodeToString(sha256Sum(src)); got != want {
		t.Fatalf("source sha256=%s, want=%s", got, want)
	}
	// One last restart: Recover finds the finished upload whole, and the
	// source is the only blob left.
	c.stop()
	c.start("")
	c.checkNoStrayBlobs()
	if got, want := c.blobFiles(), 1; len(got) != want {
		t.Errorf("after the upload completed, %d blobs are on disk, want %d: %v", len(got), want, got)
	}
	if got, want := c.blobBytes(), int64(len(src)); got != want {
		t.Errorf("blobs hold %d bytes, want %d", got, want)
	}
	t.Logf("%d kills survived, %d restarts; every acknowledged part was held after every restart (0 bytes lost)", len(plan), c.restarts)
}

func sha256Sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

// crashRun is the state of one crash test run.
type crashRun struct {
	t      *testing.T
	rng    *rand.Rand
	src    []byte
	parts  int
	dir    string
	client *http.Client

	srv      *server
	restarts int
	token    string
	videoID  string
	acked    map[int]bool // Parts the server answered 201 for.
	// partTime is how long the last part sent whole took, from the start
	// of its request to its answer; "anytime" kills land within it.
	partTime time.Duration
}

// partData is part n (from 1) of the file.
func (c *crashRun) partData(n int) []byte {
	return c.src[(n-1)*crashPartSize : min(n*crashPartSize, len(c.src))]
}

var recoveredLine = regexp.MustCompile(`msg="recovered uploads"((?: \w+=\d+)+)`)

// start runs the server on the data directory, armed to kill itself at
// the crash point if one is named, and returns the counts of its
// "recovered uploads" line, which must report no unexpected (missing or
// short) blob.
func (c *crashRun) start(crashpoint string) map[string]int {
	t := c.t
	t.Helper()
	env := []string{"UPLINK_API_KEY=" + crashAPIKey}
	if crashpoint != "" {
		env = append(env, crashpointEnv+"="+crashpoint)
	}
	c.srv = startServer(t, c.client, env, "--addr", "127.0.0.1:0", "--data", c.dir)
	c.restarts++
	m := recoveredLine.FindStringSubmatch(c.srv.stderr.String())
	if m == nil {
		t.Fatalf("no \"recovered uploads\" line in the log:\n%s", c.srv.stderr)
	}
	counts := map[string]int{}
	for _, kv := range strings.Fields(m[1]) {
		k, v, _ := strings.Cut(kv, "=")
		counts[k], _ = strconv.Atoi(v)
	}
	if counts["missing"] != 0 {
		t.Fatalf("Recover found recorded bytes missing: %s", m[0])
	}
	return counts
}

// stop ends the server gracefully.
func (c *crashRun) stop() {
	c.t.Helper()
	if code := c.srv.stop(c.t); code != 0 {
		c.t.Fatalf("uplink serve exited with %d after SIGTERM", code)
	}
}

func (c *crashRun) createToken() string {
	t := c.t
	t.Helper()
	status, body := do(t, c.client, "POST", c.srv.URL+"/upload-tokens", basicAuth(crashAPIKey), map[string]int{"ttl": 24 * 3600})
	if status != http.StatusOK {
		t.Fatalf("POST /upload-tokens: status=%d: %s", status, body)
	}
	return mustDecode[struct{ Token string }](t, body).Token
}

// held asks the server which parts it holds.
func (c *crashRun) held() map[int]bool {
	t := c.t
	t.Helper()
	if c.videoID == "" {
		c.findVideo()
		if c.videoID == "" {
			return map[int]bool{}
		}
	}
	status, body := do(t, c.client, "GET", c.srv.URL+"/videos/"+c.videoID+"/status", basicAuth(crashAPIKey), nil)
	if status != http.StatusOK {
		t.Fatalf("GET /videos/%s/status: status=%d: %s", c.videoID, status, body)
	}
	st := mustDecode[videoStatus](t, body)
	h := map[int]bool{}
	for _, p := range st.Ingest.ReceivedParts.Parts {
		h[p] = true
	}
	return h
}

// videoStatus is what the test reads of GET /videos/{id}/status.
type videoStatus struct {
	Ingest struct {
		Status        string
		ReceivedParts struct{ Parts []int }
	}
}

// findVideo learns the video's ID when the answer to part 1 was lost to a
// kill: the test's only video is the one part 1 created.
func (c *crashRun) findVideo() {
	t := c.t
	t.Helper()
	status, body := do(t, c.client, "GET", c.srv.URL+"/videos", basicAuth(crashAPIKey), nil)
	if status != http.StatusOK {
		t.Fatalf("GET /videos: status=%d: %s", status, body)
	}
	list := mustDecode[struct{ Data []struct{ VideoID string } }](t, body)
	switch len(list.Data) {
	case 0:
	case 1:
		c.videoID = list.Data[0].VideoID
	default:
		t.Fatalf("GET /videos lists %d videos, want at most 1: %s", len(list.Data), body)
	}
}

// firstMissing is the first part the server does not hold, or 0.
func (c *crashRun) firstMissing() int {
	h := c.held()
	for n := 1; n <= c.parts; n++ {
		if !h[n] {
			return n
		}
	}
	return 0
}

// checkHeld checks that every part the server acknowledged is held.
func (c *crashRun) checkHeld() {
	c.t.Helper()
	h := c.held()
	for n := range c.acked {
		if !h[n] {
			c.t.Fatalf("part %d was acknowledged before the crash and is not held after it (held: %v)", n, h)
		}
	}
}

// resumeTo sends, in order, each part up to n that the server does not
// hold, as a client resuming after a restart does.
func (c *crashRun) resumeTo(n int) {
	c.t.Helper()
	h := c.held()
	for p := 1; p <= n; p++ {
		if h[p] {
			continue
		}
		c.sendWhole(p)
	}
}

// sendWhole sends part n, which must be accepted.
func (c *crashRun) sendWhole(n int) {
	c.t.Helper()
	start := time.Now()
	if status, body := c.sendPart(n, bytes.NewReader(c.partData(n)), c.coin()); status != http.StatusCreated {
		c.t.Fatalf("part %d: status=%d, want=201: %s", n, status, body)
	}
	c.partTime = time.Since(start)
}

// coin draws whether videoId goes after the file part.
func (c *crashRun) coin() bool { return c.rng.IntN(2) == 0 }

// partRequest is the multipart body of part n: videoId before or after
// the file (both orders are in use by api.video's clients), or none for
// part 1 of a new video.
func (c *crashRun) partRequest(after bool) (head, tail []byte, ctype string) {
	var h, tl bytes.Buffer
	mw := multipart.NewWriter(&h)
	if c.videoID != "" && !after {
		mw.WriteField("videoId", c.videoID)
	}
	if _, err := mw.CreateFormFile("file", "crash.mp4"); err != nil {
		c.t.Fatal(err)
	}
	head = bytes.Clone(h.Bytes())
	h.Reset()
	if c.videoID != "" && after {
		mw.WriteField("videoId", c.videoID)
	}
	mw.Close()
	tl.Write(h.Bytes())
	return head, tl.Bytes(), mw.FormDataContentType()
}

// sendPart posts part n with its bytes read from data, and returns the
// status and body, or 0 and the error if the request failed. It may run
// on another goroutine than the test's, so it draws nothing from c.rng:
// the caller says whether videoId goes after the file.
func (c *crashRun) sendPart(n int, data io.Reader, after bool) (int, string) {
	head, tail, ctype := c.partRequest(after)
	size := len(c.partData(n))
	req, err := http.NewRequest(http.MethodPost, c.srv.URL+"/upload?token="+c.token, io.MultiReader(bytes.NewReader(head), data, bytes.NewReader(tail)))
	if err != nil {
		c.t.Fatal(err)
	}
	req.ContentLength = int64(len(head) + size + len(tail))
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Content-Range", fmt.Sprintf("part %d/%d", n, c.parts))
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusCreated {
		c.acked[n] = true
		if c.videoID == "" {
			c.videoID = mustDecode[struct{ VideoID string }](c.t, b).VideoID
		}
	}
	return resp.StatusCode, string(b)
}

// killDuring kills the server in the way kind says, while part n (0: no
// part) is being sent, waits for the process to end, and describes what
// happened to the part.
func (c *crashRun) killDuring(kind killKind, n int) string {
	t := c.t
	t.Helper()
	result := make(chan string, 1)
	after := c.coin()
	switch kind {
	case killBetween:
		c.killServer()
		return "no request in flight"

	case killAfterFsync, killBeforeFinish:
		go func() {
			status, body := c.sendPart(n, bytes.NewReader(c.partData(n)), after)
			result <- fmt.Sprintf("status %d %.80s", status, body)
		}()
		c.waitExit()
		if ws, ok := c.srv.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("the armed server ended with %v, want killed by its crash point", c.srv.cmd.ProcessState)
		}

	case killMidBody:
		data := c.partData(n)
		sent := c.rng.IntN(len(data))
		pr, pw := io.Pipe()
		go func() {
			status, body := c.sendPart(n, pr, after)
			result <- fmt.Sprintf("%d of %d bytes sent; status %d %.80s", sent, len(data), status, body)
		}()
		onDisk := c.blobBytes()
		if _, err := pw.Write(data[:sent]); err != nil {
			t.Fatalf("streaming part %d: %v", n, err)
		}
		// Give the server a moment to write what it read, so that the
		// kill usually finds bytes of the part on disk.
		for deadline := time.Now().Add(time.Second); time.Now().Before(deadline) && c.blobBytes() == onDisk; {
			time.Sleep(5 * time.Millisecond)
		}
		c.killServer()
		pw.CloseWithError(errors.New("killed"))

	case killAnytime:
		go func() {
			status, body := c.sendPart(n, bytes.NewReader(c.partData(n)), after)
			result <- fmt.Sprintf("status %d %.80s", status, body)
		}()
		// Anywhere from the request's start to a little past the time a
		// part took last: in the body, the fsync, the commit, the answer,
		// or just after.
		span := max(c.partTime*5/4, time.Millisecond)
		time.Sleep(time.Duration(c.rng.Int64N(int64(span))))
		c.killServer()
	}
	select {
	case s := <-result:
		return s
	case <-time.After(readyWait):
		t.Fatal("the request did not end after the server died")
		return ""
	}
}

// killServer sends SIGKILL and waits for the process to end.
func (c *crashRun) killServer() {
	c.t.Helper()
	if err := c.srv.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		c.t.Fatal(err)
	}
	c.waitExit()
}

func (c *crashRun) waitExit() {
	c.t.Helper()
	select {
	case <-c.srv.done:
	case <-time.After(readyWait):
		c.t.Fatal("uplink serve did not end")
	}
}

// checkCrashed inspects the data directory as the crash left it, before
// any restart: every part recorded in the metadata must have all its
// bytes, equal to the file's, where the record says they are.
func (c *crashRun) checkCrashed() {
	t := c.t
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(c.dir, "uplink.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var uploads []store.Upload
	if c.videoID != "" {
		u, err := st.FindUpload(ctx, c.videoID)
		if err != nil {
			t.Fatalf("FindUpload(%s): %v", c.videoID, err)
		}
		uploads = append(uploads, u)
	} else if uploads, err = st.FindOpenUploads(ctx, c.token); err != nil {
		t.Fatal(err)
	}
	for _, u := range uploads {
		var total int64
		for _, p := range u.Parts {
			want := c.partData(int(p.Seq))
			if p.Size != int64(len(want)) {
				t.Errorf("part %d is recorded with %d bytes, want %d", p.Seq, p.Size, len(want))
				continue
			}
			total += p.Size
			if u.Status == store.UploadUploaded {
				continue // Assembled: checked whole after the restart.
			}
			// A part is in place in the source (at the offset of the
			// parts before it, which are all of the same size here), or
			// in an object of its own that its ETag names (blob.Dir).
			key, off := u.SourceKey, (p.Seq-1)*int64(len(c.partData(1)))
			if p.ETag != "" {
				key, off = p.ETag, 0
			}
			got, err := c.readBlob(key, off, p.Size)
			if err != nil {
				t.Errorf("part %d is recorded, but its bytes are not there: %v", p.Seq, err)
			} else if !bytes.Equal(got, want) {
				t.Errorf("part %d is recorded, but the bytes at %s+%d are not the part's", p.Seq, key, off)
			}
		}
		if total != u.SourceSize {
			t.Errorf("the source is recorded with %d bytes, but its parts add up to %d", u.SourceSize, total)
		}
	}
}

// blobPath is where blob.Dir keeps key.
func (c *crashRun) blobPath(key string) string {
	return filepath.Join(c.dir, "blobs", key[:2], key)
}

func (c *crashRun) readBlob(key string, off, n int64) ([]byte, error) {
	f, err := os.Open(c.blobPath(key))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		return nil, err
	}
	return b, nil
}

// blobFiles returns the size of each file under the blobs directory, by
// name.
func (c *crashRun) blobFiles() map[string]int64 {
	return blobFiles(c.t, filepath.Join(c.dir, "blobs"))
}

func (c *crashRun) blobBytes() int64 {
	var n int64
	for _, size := range c.blobFiles() {
		n += size
	}
	return n
}

func blobFiles(t *testing.T, root string) map[string]int64 {
	t.Helper()
	files := map[string]int64{}
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // Removed while walking: a piece the server dropped.
		}
		if err != nil || e.IsDir() {
			return err
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		files[e.Name()] = fi.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// checkNoStrayBlobs checks the data directory right after Recover: every
// blob file is one a row refers to (the source, or a piece kept aside),
// and every recorded one is there.
func (c *crashRun) checkNoStrayBlobs() {
	t := c.t
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(c.dir, "uplink.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	refs, err := st.BlobRefs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	files := c.blobFiles()
	for name, size := range files {
		if !refs[name] {
			t.Errorf("blob %s (%d bytes) is on disk after Recover, but no row refers to it", name, size)
		}
	}
	for key := range refs {
		if _, ok := files[key]; !ok {
			t.Errorf("blob %s is recorded, but is not on disk", key)
		}
	}
}

// The crash point is for tests only, and a name it does not know stops
// the server rather than running it unarmed.
func TestCrashpointRejectsUnknownNames(t *testing.T) {
	_, stderr, code := runInProcess(t, map[string]string{crashpointEnv: "after-fsnyc"}, "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir())
	if code != 1 || !strings.Contains(stderr, crashpointEnv) {
		t.Errorf("exit code %d, stderr %q; want 1 and a message naming %s", code, stderr, crashpointEnv)
	}
}

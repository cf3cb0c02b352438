package e2e_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/ingest"
	"github.com/uplink-video/uplink/store/storetest"
	"github.com/uplink-video/uplink/web"
	"github.com/uplink-video/uplink/web/links"
	"github.com/uplink-video/uplink/web/webtest"
)

const (
	// chunk is the part size of the links under test: the smallest the
	// protocol allows, so that small files still take several parts.
	chunk = 5 << 20
	// chromiumPath is where CI installs Chromium (.ci/run).
	chromiumPath = "/usr/bin/chromium"
	// testTimeout bounds each test. It only protects against a hang; no
	// assertion depends on it.
	testTimeout = 2 * time.Minute
)

// app is the real application on a loopback server, with its store and
// services, and a recorder of the uploader's requests in front of it.
type app struct {
	URL    string
	store  *store.Store
	ingest *ingest.Service
	links  *links.Service
	rec    *recorder
	clock  *storetest.Clock
}

// newApp starts the application with webtest.Start, changed by opts,
// behind the recorder of the uploader's requests, with its errors in the
// test log, and links whose parts are 5 MiB (chunk) unless opts say
// otherwise.
func newApp(t *testing.T, opts ...webtest.Option) *app {
	t.Helper()
	tw := &testWriter{t: t}
	t.Cleanup(tw.stop) // Cleanups run in reverse: after the server closes.
	log := slog.New(slog.NewTextHandler(tw, &slog.HandlerOptions{Level: slog.LevelError}))
	rec := &recorder{}
	opts = append([]webtest.Option{
		webtest.WithChunkSize(chunk), webtest.WithLogger(log),
		webtest.WithHandler(func(h http.Handler) http.Handler { rec.next = h; return rec }),
	}, opts...)
	w := webtest.Start(t, opts...)
	return &app{URL: w.URL, store: w.Store, ingest: w.Ingest, links: w.Links, rec: rec, clock: w.Clock}
}

// withReadIdle sets how long a part's body may send nothing before the
// server ends it (web.Deps.ReadIdleTimeout).
func withReadIdle(d time.Duration) webtest.Option {
	return webtest.WithDeps(func(deps *web.Deps) { deps.ReadIdleTimeout = d })
}

// testWriter sends the application's errors to the test log,
// until the test ends.
type testWriter struct {
	t       *testing.T
	mu      sync.Mutex
	stopped bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stopped {
		w.t.Log(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

func (w *testWriter) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
}

// link mints a link through the links service, as the CLI does.
func (a *app) link(t *testing.T, sp links.Spec) store.Link {
	t.Helper()
	if sp.Label == "" {
		sp.Label = "Footage for the " + t.Name()
	}
	l, err := a.links.Create(context.Background(), sp)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// storedSHA256 reads back the stored source of a video and returns its
// SHA-256 and size.
func (a *app) storedSHA256(t *testing.T, videoID string) (string, int64) {
	t.Helper()
	f, err := a.ingest.OpenSource(context.Background(), videoID)
	if err != nil {
		t.Fatalf("open the stored source of %s: %v", videoID, err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil)), n
}

// completedVideos returns the link's completed uploads.
func (a *app) completedVideos(t *testing.T, linkID string) []store.LinkUpload {
	t.Helper()
	us, err := a.store.ListLinkUploads(context.Background(), linkID)
	if err != nil {
		t.Fatal(err)
	}
	var done []store.LinkUpload
	for _, u := range us {
		if u.Status == store.LinkUploadCompleted {
			done = append(done, u)
		}
	}
	return done
}

// ---- the recorder

var partPath = regexp.MustCompile(`^/u/[^/]+/uploads/[^/]+/parts/(\d+)$`)

// partCall is one PUT of a part, as the server answered it.
type partCall struct {
	Part   int
	Status int
	// Seq orders the calls by when they arrived.
	Seq int
	// At is when the server answered.
	At time.Time
}

// String shows a call as part:status, such as 4:408.
func (c partCall) String() string { return fmt.Sprintf("%d:%d", c.Part, c.Status) }

// recorder sits in front of the application. It records every PUT of a
// part with the status the server answered, and every upload start, and it
// can hold a part's request before the application sees it.
type recorder struct {
	next http.Handler

	mu     sync.Mutex
	seq    int
	parts  []partCall
	starts []int // statuses of POST /u/{id}/uploads
	hold   *hold
}

// hold keeps the first request for a part at or after from waiting until
// it is released. Reached is closed when a request is held, Done when the
// application has answered it.
type hold struct {
	from    int
	taken   bool
	Reached chan struct{}
	release chan struct{}
	Done    chan struct{}
	once    sync.Once
}

// Release lets the held request go on to the application.
func (h *hold) Release() { h.once.Do(func() { close(h.release) }) }

// holdFrom makes the next request for part n or later wait until Release.
// The test releases it in a cleanup at the latest.
func (r *recorder) holdFrom(t *testing.T, n int) *hold {
	h := &hold{from: n, Reached: make(chan struct{}), release: make(chan struct{}), Done: make(chan struct{})}
	r.mu.Lock()
	r.hold = h
	r.mu.Unlock()
	t.Cleanup(h.Release)
	return h
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	m := partPath.FindStringSubmatch(req.URL.Path)
	isStart := req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/uploads") && strings.HasPrefix(req.URL.Path, "/u/")
	if (m == nil || req.Method != http.MethodPut) && !isStart {
		r.next.ServeHTTP(w, req)
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	if isStart {
		r.next.ServeHTTP(sw, req)
		r.mu.Lock()
		r.starts = append(r.starts, sw.code())
		r.mu.Unlock()
		return
	}
	n, _ := strconv.Atoi(m[1])
	r.mu.Lock()
	r.seq++
	seq := r.seq
	h := r.hold
	if h != nil && !h.taken && n >= h.from {
		h.taken = true
	} else {
		h = nil
	}
	r.mu.Unlock()
	if h != nil {
		close(h.Reached)
		<-h.release
		defer close(h.Done)
	}
	r.next.ServeHTTP(sw, req)
	r.mu.Lock()
	r.parts = append(r.parts, partCall{Part: n, Status: sw.code(), Seq: seq, At: time.Now()})
	r.mu.Unlock()
}

// partCalls returns the PUTs of parts answered so far, in arrival order.
func (r *recorder) partCalls() []partCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := append([]partCall(nil), r.parts...)
	// Answers can come back in another order than the requests came in.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Seq < out[j-1].Seq; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// accepted counts the 200 answers per part.
func (r *recorder) accepted() map[int]int {
	ok := map[int]int{}
	for _, c := range r.partCalls() {
		if c.Status == http.StatusOK {
			ok[c.Part]++
		}
	}
	return ok
}

// nextSeq is the sequence number the next part request will get.
func (r *recorder) nextSeq() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seq + 1
}

// startStatuses returns the statuses of the upload starts so far: 201 for
// a new upload, 200 for a resumed one.
func (r *recorder) startStatuses() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.starts...)
}

// checkEachPartOnce fails the test unless every part 1..total was accepted
// exactly once.
func checkEachPartOnce(t *testing.T, r *recorder, total int) {
	t.Helper()
	ok := r.accepted()
	for n := 1; n <= total; n++ {
		if got, want := ok[n], 1; got != want {
			t.Errorf("part %d accepted (200) %d times, want=%d; calls: %v", n, got, want, r.partCalls())
		}
	}
	for n := range ok {
		if n < 1 || n > total {
			t.Errorf("part %d accepted, but the file has parts 1 to %d", n, total)
		}
	}
}

// statusWriter remembers the status of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// ---- test files

// testFile is a generated video file on disk.
type testFile struct {
	Path   string
	Name   string
	Size   int64
	SHA256 string
	data   []byte
}

// videoFile writes a file of size bytes to a temporary directory: a real
// MP4 header, so that the server takes it for a video, then random bytes
// from a seed, so that every part differs.
func videoFile(t *testing.T, name string, size int, seed int64) testFile {
	t.Helper()
	head, err := os.ReadFile("testdata/h264-aac-faststart.mp4")
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, size)
	rand.New(rand.NewSource(seed)).Read(b)
	copy(b, head)
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return testFile{Path: p, Name: name, Size: int64(size), SHA256: hex.EncodeToString(sum[:]), data: b}
}

func (f testFile) parts() int { return int((f.Size + chunk - 1) / chunk) }

// ---- the browser

// newBrowser starts a headless Chromium with a fresh profile and returns
// the context of its first tab. The tab, the browser and the context end
// with the test, or after testTimeout.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	return newBrowserFor(t, testTimeout)
}

// newBrowserFor is newBrowser with another bound than testTimeout, for
// the tests that wait out network faults.
func newBrowserFor(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the browser tests need %s: %v", chromiumPath, err)
		}
		t.Skipf("no %s (%v); the browser tests run in CI", chromiumPath, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		// On a closed network, Chromium's own lookups (updates, sync,
		// QUIC probes) can stall it.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1000, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	return bctx
}

// newTab opens another tab in its own browser context (a fresh profile
// without cookies or storage) in the browser of ctx.
func newTab(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	tctx, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(tctx); err != nil {
		t.Fatal(err)
	}
	return tctx
}

// acceptDialogs accepts every JavaScript dialog of the tab, such as the
// page's "leave the page?" prompt during an upload, and returns the
// types of the dialogs seen so far.
func acceptDialogs(t *testing.T, ctx context.Context) func() []page.DialogType {
	t.Helper()
	var (
		mu   sync.Mutex
		seen []page.DialogType
	)
	events := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			mu.Lock()
			seen = append(seen, ev.Type)
			mu.Unlock()
			if _, err := chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true}); err != nil && ctx.Err() == nil {
				t.Errorf("accept the %s dialog: %v", ev.Type, err)
			}
		}
	}()
	return func() []page.DialogType {
		mu.Lock()
		defer mu.Unlock()
		return append([]page.DialogType(nil), seen...)
	}
}

// testid selects elements by their data-testid.
func testid(id string) chromedp.CSS { return chromedp.CSS(fmt.Sprintf(`[data-testid=%q]`, id)) }

// row selects an element of the first upload row.
func row(id string) chromedp.CSS {
	return chromedp.CSS(fmt.Sprintf(`[data-testid="upload-row"] [data-testid=%q]`, id))
}

// run runs actions that return nothing and fails the test on an error.
func run(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// get runs one action and returns its value, failing the test on an error.
func get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// waitJS waits until the JavaScript expression is truthy in the page and
// returns its value. The test's deadline bounds the wait.
func waitJS[T any](t *testing.T, ctx context.Context, what, expr string, opts ...chromedp.PollOption) T {
	t.Helper()
	opts = append([]chromedp.PollOption{chromedp.WithPollingInterval(50 * time.Millisecond), chromedp.WithPollingTimeout(0)}, opts...)
	return get(t, ctx, "wait for "+what, chromedp.Poll[T](expr, opts...))
}

// waitRowState waits until the first upload row's data-state is one of
// states, and returns it.
func waitRowState(t *testing.T, ctx context.Context, states ...string) string {
	t.Helper()
	list := `["` + strings.Join(states, `","`) + `"]`
	expr := fmt.Sprintf(`(() => { const r = document.querySelector('[data-testid="upload-row"]'); return r && %s.includes(r.dataset.state) && r.dataset.state })()`, list)
	return waitJS[string](t, ctx, "an upload row in state "+strings.Join(states, " or "), expr)
}

// waitUntil polls a condition on the Go side, for state that only the
// server sees, until it holds or the context ends.
func waitUntil(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-tick.C:
		}
	}
}

// waitChan waits for ch to close, or fails the test when ctx ends first.
func waitChan(t *testing.T, ctx context.Context, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-ctx.Done():
		t.Fatalf("waiting for %s: %v", what, ctx.Err())
	}
}

// startUpload picks the file on the uploader page of ctx (or, with
// chromedp.FromNode, of a frame in it) and presses Start.
func startUpload(t *testing.T, ctx context.Context, f testFile, opts ...chromedp.QueryOption) {
	t.Helper()
	run(t, ctx, "choose "+f.Name+" and press Start",
		chromedp.WaitVisible(testid("start"), opts...),
		chromedp.SetUploadFiles(testid("file-input"), []string{f.Path}, opts...),
		chromedp.WaitVisible(row("row-name"), opts...),
		chromedp.Click(testid("start"), opts...),
	)
}

// receipt is what the upload row shows when the upload is complete.
type receipt struct {
	Percent string `json:"percent"`
	Name    string `json:"name"`
	Bytes   string `json:"bytes"`
	SHA256  string `json:"sha256"`
	State   string `json:"state"`
}

const receiptJS = `(() => {
	const r = document.querySelector('[data-testid="upload-row"]')
	const q = id => r.querySelector('[data-testid="' + id + '"]')
	return {
		percent: q('percent').textContent.trim(),
		name: q('receipt-name').textContent.trim(),
		bytes: q('receipt-size').dataset.bytes || '',
		sha256: q('receipt-sha256').textContent.trim(),
		state: r.dataset.state,
	}
})()`

// waitReceipt waits for the first row's receipt and returns it.
func waitReceipt(t *testing.T, ctx context.Context) receipt {
	t.Helper()
	run(t, ctx, "wait for the receipt", chromedp.WaitVisible(row("receipt")))
	return get(t, ctx, "read the receipt", chromedp.Evaluate[receipt](receiptJS))
}

// checkReceipt compares a receipt with the file it is for.
func checkReceipt(t *testing.T, got receipt, f testFile) {
	t.Helper()
	if got.State != "done" {
		t.Errorf("row state=%q, want=%q", got.State, "done")
	}
	if got.Percent != "100%" {
		t.Errorf("percent=%q, want=%q", got.Percent, "100%")
	}
	if got.Name != f.Name {
		t.Errorf("receipt name=%q, want=%q", got.Name, f.Name)
	}
	if want := strconv.FormatInt(f.Size, 10); got.Bytes != want {
		t.Errorf("receipt bytes=%q, want=%q", got.Bytes, want)
	}
	if got.SHA256 != f.SHA256 {
		t.Errorf("receipt SHA-256=%q, want=%q", got.SHA256, f.SHA256)
	}
}

// checkStored checks that the link holds exactly one completed upload and
// that its stored source has the file's size and SHA-256. It returns the
// video's ID.
func checkStored(t *testing.T, a *app, l store.Link, f testFile) string {
	t.Helper()
	done := a.completedVideos(t, l.ID)
	if len(done) != 1 {
		t.Fatalf("completed uploads on the link=%d, want=1", len(done))
	}
	u := done[0]
	if u.SHA256 != f.SHA256 {
		t.Errorf("server's SHA-256=%s, want=%s", u.SHA256, f.SHA256)
	}
	sum, n := a.storedSHA256(t, u.VideoID)
	if n != f.Size || sum != f.SHA256 {
		t.Errorf("stored source: %d bytes, SHA-256 %s; want %d bytes, %s", n, sum, f.Size, f.SHA256)
	}
	return u.VideoID
}

// ---- artefacts

// artifactsDir is where screenshots go: $UPLINK_TEST_ARTIFACTS/<test>, or
// a temporary directory removed after the test.
func artifactsDir(t *testing.T) string {
	t.Helper()
	base := os.Getenv("UPLINK_TEST_ARTIFACTS")
	if base == "" {
		return t.TempDir()
	}
	dir := filepath.Join(base, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// screenshot saves a full-page screenshot of the tab as name.png.
func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	if os.Getenv("UPLINK_TEST_ARTIFACTS") == "" {
		t.Logf("screenshot: %s (removed after the test; set UPLINK_TEST_ARTIFACTS to keep it)", p)
	} else {
		t.Logf("screenshot: %s", p)
	}
}

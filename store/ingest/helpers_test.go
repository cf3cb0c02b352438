package ingest_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/store/ingest"
	"github.com/uplink-video/uplink/store/storetest"
)

// partSize is the smallest size a part that is not the last may have.
// Tests use it for every such part, to stay fast.
const partSize = ingest.MinPartSize

// env is an ingest service on a real SQLite file and a real blob
// directory, with a clock the test controls.
type env struct {
	t      *testing.T
	clock  *storetest.Clock
	dsn    string // The database: a SQLite file or a PostgreSQL URL.
	store  *store.Store
	dir    *blob.Dir
	root   string // The blob directory.
	svc    *ingest.Service
	logs   *logRecorder
	lease  time.Duration
	blobs  blob.Store // What the service writes to: dir, or a wrapper.
	claims ingest.Claims
	shared bool // Config.Shared: other processes share the stores.
}

type envConfig struct {
	lease       time.Duration
	wrap        func(*blob.Dir) blob.Store
	storeClaims bool
	shared      bool
}

type envOption func(*envConfig)

// withLease sets how long an upload may idle between pieces.
func withLease(d time.Duration) envOption { return func(c *envConfig) { c.lease = d } }

// withStoreClaims keeps the part claims in the database, as processes
// sharing it do, instead of in memory.
func withStoreClaims() envOption { return func(c *envConfig) { c.storeClaims = true } }

// withShared runs the service as one of several processes that share its
// stores (ingest.Config.Shared).
func withShared() envOption { return func(c *envConfig) { c.shared = true } }

// claimKinds are the options of the two kinds of claims, for tests that
// run with each.
var claimKinds = []struct {
	name string
	opts []envOption
}{{"memory claims", nil}, {"store claims", []envOption{withStoreClaims()}}}

// withBlobs puts a wrapper (a fake or a decorator) between the service and
// the real blob directory.
func withBlobs(wrap func(*blob.Dir) blob.Store) envOption {
	return func(c *envConfig) { c.wrap = wrap }
}

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	cfg := envConfig{lease: ingest.DefaultLease}
	for _, o := range opts {
		o(&cfg)
	}
	tmp := t.TempDir()
	e := &env{t: t, clock: storetest.NewClock(), dsn: storetest.NewDSN(t), root: filepath.Join(tmp, "blobs"), lease: cfg.lease, shared: cfg.shared}
	e.store = storetest.OpenDSN(t, e.dsn, e.clock)
	d, err := blob.NewDir(e.root)
	if err != nil {
		t.Fatalf("blob.NewDir: %v", err)
	}
	e.dir = d
	e.blobs = d
	if cfg.storeClaims {
		e.claims = ingest.NewStoreClaims(e.store)
	}
	if cfg.wrap != nil {
		e.blobs = cfg.wrap(d)
	}
	e.restart()
	return e
}

// restart replaces the service with a new one over the same database and
// blobs, as a process restart after a crash would.
func (e *env) restart() {
	e.logs = &logRecorder{}
	e.svc = ingest.New(e.store, e.blobs, ingest.Config{Lease: e.lease, Logger: slog.New(e.logs), Claims: e.claims, Shared: e.shared})
}

func (e *env) token(ttl int) string {
	e.t.Helper()
	tok, err := e.store.CreateUploadToken(context.Background(), ttl)
	if err != nil {
		e.t.Fatalf("CreateUploadToken: %v", err)
	}
	return tok.ID
}

// emptyVideo creates a video the way POST /videos does, for a token
// upload to fill.
func (e *env) emptyVideo() string {
	e.t.Helper()
	v, err := e.store.CreateVideo(context.Background(), store.VideoCreate{Title: "made beforehand", Public: true, MP4Support: true})
	if err != nil {
		e.t.Fatalf("CreateVideo: %v", err)
	}
	return v.ID
}

// request is one POST /upload, reduced to what the service sees.
type request struct {
	token        string
	contentRange string
	videoBefore  string // videoId sent before the file part.
	videoAfter   string // videoId sent after the file part.
	filename     string
	data         []byte
}

// send drives the service through one request the way the web layer
// does: Begin at the file part, Receive its bytes, Commit with a videoId
// that followed, and Close in every case.
func (e *env) send(r request) (store.Video, error) {
	ctx := context.Background()
	rng, err := ingest.ParseContentRange(r.contentRange)
	if err != nil {
		return store.Video{}, err
	}
	size := int64(-1)
	if rng.Mode == ingest.Bytes {
		size = rng.To - rng.From + 1
	}
	p, err := e.svc.Begin(ctx, ingest.Request{Token: r.token, Range: rng, VideoID: r.videoBefore, Size: size})
	if err != nil {
		return store.Video{}, err
	}
	defer p.Close()
	name := r.filename
	if name == "" {
		name = "clip.mp4"
	}
	if err := p.Receive(ctx, name, bytes.NewReader(r.data)); err != nil {
		return store.Video{}, err
	}
	return p.Commit(ctx, r.videoAfter)
}

// mustSend is send for a request that must succeed.
func (e *env) mustSend(r request) store.Video {
	e.t.Helper()
	v, err := e.send(r)
	if err != nil {
		e.t.Fatalf("send(%s, before %q, after %q, %d bytes): %v", r.contentRange, r.videoBefore, r.videoAfter, len(r.data), err)
	}
	return v
}

// source reads a completed video's assembled source.
func (e *env) source(videoID string) []byte {
	e.t.Helper()
	r, err := e.svc.OpenSource(context.Background(), videoID)
	if err != nil {
		e.t.Fatalf("OpenSource(%s): %v", videoID, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		e.t.Fatalf("read source: %v", err)
	}
	return b
}

// checkSource checks that the video is uploaded and that its source is
// byte for byte the file.
func (e *env) checkSource(videoID string, file []byte) {
	e.t.Helper()
	v, err := e.store.FindVideo(context.Background(), videoID)
	if err != nil {
		e.t.Fatalf("FindVideo: %v", err)
	}
	if got, want := v.UploadStatus, store.UploadUploaded; got != want {
		e.t.Fatalf("upload status = %q, want %q", got, want)
	}
	if got, want := v.SourceSize, int64(len(file)); got != want {
		e.t.Errorf("source size = %d, want %d", got, want)
	}
	if got, want := digest(e.source(videoID)), digest(file); got != want {
		e.t.Errorf("source SHA-256 = %s, want %s", got, want)
	}
}

// blobSizes lists every object in the blob directory with its size.
func (e *env) blobSizes() map[string]int64 {
	e.t.Helper()
	sizes := map[string]int64{}
	err := e.dir.List(context.Background(), func(i blob.Info) error {
		sizes[i.Key] = i.Size
		return nil
	})
	if err != nil {
		e.t.Fatalf("List: %v", err)
	}
	return sizes
}

// checkNoStrayBlobs checks that the blob directory holds exactly the
// objects the metadata refers to (sources, and parts kept in objects of
// their own), and that every complete source is exactly as long as
// recorded: no orphan, no debris, nothing lost.
func (e *env) checkNoStrayBlobs() {
	e.t.Helper()
	ctx := context.Background()
	refs, err := e.store.BlobRefs(ctx)
	if err != nil {
		e.t.Fatalf("BlobRefs: %v", err)
	}
	sizes := e.blobSizes()
	if got, want := slices.Sorted(maps.Keys(sizes)), slices.Sorted(maps.Keys(refs)); !slices.Equal(got, want) {
		e.t.Errorf("objects on disk = %v, want exactly the recorded ones %v", got, want)
	}
	vs, _, err := e.store.ListVideos(ctx, store.VideoFilter{Sort: store.VideoSortCreatedAt, Page: store.Page{Number: 1, Size: 1000}})
	if err != nil {
		e.t.Fatalf("ListVideos: %v", err)
	}
	for _, v := range vs {
		u, err := e.store.FindUpload(ctx, v.ID)
		if err != nil || u.Status != store.UploadUploaded {
			continue
		}
		if got, want := sizes[u.SourceKey], u.SourceSize; got != want {
			e.t.Errorf("source of %s is %d bytes on disk, want %d", v.ID, got, want)
		}
	}
}

// snapshot renders everything the service stores that counts: videos,
// uploads with their pieces, the objects that exist, and the contents of
// the complete sources and of the parts kept aside. Refused requests must
// leave it unchanged. An unfinished source's file is left out: a refused
// part may leave bytes where it goes, which nothing refers to until the
// part is written again.
func (e *env) snapshot() string {
	e.t.Helper()
	ctx := context.Background()
	var b strings.Builder
	vs, _, err := e.store.ListVideos(ctx, store.VideoFilter{Sort: store.VideoSortCreatedAt, Page: store.Page{Number: 1, Size: 100}})
	if err != nil {
		e.t.Fatalf("ListVideos: %v", err)
	}
	unfinished := map[string]bool{}
	for _, v := range vs {
		fmt.Fprintf(&b, "video %s %q %s %d\n", v.ID, v.Title, v.UploadStatus, v.SourceSize)
		u, err := e.store.FindUpload(ctx, v.ID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			e.t.Fatalf("FindUpload: %v", err)
		}
		if u.Status != store.UploadUploaded {
			unfinished[u.SourceKey] = true
		}
		fmt.Fprintf(&b, "  upload %+v\n", u)
	}
	sizes := e.blobSizes()
	for _, k := range slices.Sorted(maps.Keys(sizes)) {
		if unfinished[k] {
			fmt.Fprintf(&b, "blob %s (unfinished)\n", k)
			continue
		}
		r, err := e.dir.Open(ctx, k)
		if err != nil {
			e.t.Fatalf("Open: %v", err)
		}
		h := sha256.New()
		_, err = io.Copy(h, r)
		r.Close()
		if err != nil {
			e.t.Fatalf("read blob: %v", err)
		}
		fmt.Fprintf(&b, "blob %s %d %x\n", k, sizes[k], h.Sum(nil)[:8])
	}
	return b.String()
}

// records is snapshot, by another name where a test means the records.
func (e *env) records() string { return e.snapshot() }

// payload returns n reproducible pseudo-random bytes.
func payload(seed uint64, n int) []byte {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	b := make([]byte, n)
	rand.NewChaCha8(s).Read(b)
	return b
}

// split cuts file into parts of partSize bytes and a shorter last one.
func split(file []byte) [][]byte {
	var parts [][]byte
	for len(file) > partSize {
		parts = append(parts, file[:partSize])
		file = file[partSize:]
	}
	return append(parts, file)
}

func digest(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// code returns the problem code of an ingest refusal, or a description of
// an error that is not one.
func code(err error) string {
	var ie *ingest.Error
	if errors.As(err, &ie) {
		return ie.Code
	}
	if err == nil {
		return "<nil>"
	}
	return "not an *ingest.Error: " + err.Error()
}

// logRecorder is a slog.Handler that keeps the records, so tests can check
// that refusals of bad requests are not logged as server errors.
type logRecorder struct {
	mu      sync.Mutex
	records []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Level, r.Message)
	r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s", a); return true })
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, b.String())
	return nil
}

func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

// errors returns the records at level Error.
func (l *logRecorder) errors() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []string
	for _, r := range l.records {
		if strings.HasPrefix(r, slog.LevelError.String()) {
			errs = append(errs, r)
		}
	}
	return errs
}

// fakeBlobs is a blob.Store that calls its func fields where set and the
// real directory otherwise. Tests use it to count writes and to make the
// disk "full".
type fakeBlobs struct {
	*blob.Dir
	put       func(ctx context.Context, key string, size int64, r io.Reader) (int64, error)
	writePart func(ctx context.Context, u blob.Upload, p blob.Part, r io.Reader) (blob.Part, error)
	complete  func(ctx context.Context, u blob.Upload, ps []blob.Part) error
}

func (f *fakeBlobs) Put(ctx context.Context, key string, size int64, r io.Reader) (int64, error) {
	if f.put != nil {
		return f.put(ctx, key, size, r)
	}
	return f.Dir.Put(ctx, key, size, r)
}

func (f *fakeBlobs) WritePart(ctx context.Context, u blob.Upload, p blob.Part, r io.Reader) (blob.Part, error) {
	if f.writePart != nil {
		return f.writePart(ctx, u, p, r)
	}
	return f.Dir.WritePart(ctx, u, p, r)
}

func (f *fakeBlobs) CompleteMultipart(ctx context.Context, u blob.Upload, ps []blob.Part) error {
	if f.complete != nil {
		return f.complete(ctx, u, ps)
	}
	return f.Dir.CompleteMultipart(ctx, u, ps)
}

// errClientGone stands for the error a request body returns when the
// client disconnects midway.
var errClientGone = errors.New("client went away")

// failingReader yields data, then fails with err.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func bytesOf(b []byte) io.Reader { return bytes.NewReader(b) }

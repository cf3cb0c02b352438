package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/store/ingest"
	"github.com/uplink-video/uplink/web"
	"github.com/uplink-video/uplink/web/links"
	"github.com/uplink-video/uplink/web/webtest"
)

// A full disk, through the token upload endpoint and through a link: the
// part that does not fit gets 507 with a problem document, its partial
// bytes are removed, the parts before it stay intact, and the upload
// resumes and completes once there is space again.
//
// Two disks run the same scenario. "tmpfs" is a real one: a size-limited
// tmpfs mounted for the test, with the real binary on it, filled with a
// file until less than a part is free; it needs root (or CAP_SYS_ADMIN)
// and is skipped, saying so, without. "ENOSPC" is the fallback that
// always runs: the application in-process on a blob store whose writes
// fail with ENOSPC part way through a part while the disk is "full".

const (
	diskAPIKey = "disk-test-api-key-0123456789"
	diskPart   = ingest.MinPartSize
	// diskFileSize is three parts: 5 MiB, 5 MiB and 1 MiB.
	diskFileSize = 2*diskPart + 1<<20
	// diskRoom is the space left free while the disk is "full": less
	// than a part, more than the metadata needs.
	diskRoom = 2 << 20
)

// diskEnv is a running uplink on a disk the test can fill.
type diskEnv struct {
	url     string
	dataDir string
	// database is the server's database: the SQLite file in dataDir, or
	// a PostgreSQL URL (webtest on PostgreSQL).
	database string
	// fill leaves room bytes of free space (room is a hint the fake
	// ignores: it always fails part way through a part); unfill gives the
	// space back.
	fill   func(t *testing.T, room int64)
	unfill func(t *testing.T)
	// real is set for a real filesystem.
	real bool
	// free is the free space of the filesystem, or -1 where that means
	// nothing (the fake).
	free func(t *testing.T) int64
	// newLink mints an upload link that takes any file, and returns its
	// URL.
	newLink func(t *testing.T) string
}

func TestDiskFull(t *testing.T) {
	t.Run("tmpfs", func(t *testing.T) {
		t.Parallel()
		env := tmpfsEnv(t)
		t.Log("full disk: a real 48 MiB tmpfs, filled with a file")
		t.Run("token upload endpoint", func(t *testing.T) { diskFullToken(t, env, diskRoom) })
		t.Run("link", func(t *testing.T) { diskFullLink(t, env) })
		// The part's bytes fit, to the last page; the commit that
		// records them does not.
		t.Run("token upload endpoint, the record does not fit", func(t *testing.T) { diskFullToken(t, env, diskPart) })
	})
	t.Run("ENOSPC", func(t *testing.T) {
		t.Parallel()
		env := fakeFullEnv(t)
		t.Log("full disk: a blob store whose writes fail with ENOSPC")
		t.Run("token upload endpoint", func(t *testing.T) { diskFullToken(t, env, diskRoom) })
		t.Run("link", func(t *testing.T) { diskFullLink(t, env) })
	})
}

// tmpfsEnv mounts a 48 MiB tmpfs and runs the uplink binary on it.
func tmpfsEnv(t *testing.T) *diskEnv {
	t.Helper()
	disk := mountTmpfs(t, "48m", "the ENOSPC fake covers the full disk")
	dataDir := filepath.Join(disk.mnt, "data")
	srv := startServer(t, &http.Client{}, []string{"UPLINK_API_KEY=" + diskAPIKey},
		"--addr", "127.0.0.1:0", "--data", dataDir, "--chunk-size", "5MiB")
	return &diskEnv{
		url: srv.URL, dataDir: dataDir, database: filepath.Join(dataDir, "uplink.db"), free: disk.free, real: true,
		fill: disk.fill, unfill: disk.unfill,
		newLink: func(t *testing.T) string {
			stdout, stderr, code := runBinary(t, nil, "link", "create", "--label", "Full disk",
				"--types", "any", "--data", dataDir, "--public-url", srv.URL)
			if code != 0 {
				t.Fatalf("link create: exit %d: %s", code, stderr)
			}
			return strings.TrimSpace(stdout)
		},
	}
}

// tmpfs is a size-limited tmpfs mounted for a test, which the test can
// fill.
type tmpfs struct {
	mnt string
	// filler is the file that fill writes and unfill removes.
	filler string
}

// mountTmpfs mounts a tmpfs of the given size (as mount's size option)
// for the test, and unmounts it at the end. Without the right to mount
// (root or CAP_SYS_ADMIN) it skips the test, saying what covers the case
// instead (otherwise).
func mountTmpfs(t *testing.T, size, otherwise string) *tmpfs {
	t.Helper()
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "size="+size); err != nil {
		t.Skipf("cannot mount a tmpfs (%v): needs root or CAP_SYS_ADMIN; %s", err, otherwise)
	}
	// Cleanups run last-registered first: a server started after this
	// stops before this unmounts.
	t.Cleanup(func() {
		if err := syscall.Unmount(mnt, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
		}
	})
	return &tmpfs{mnt: mnt, filler: filepath.Join(mnt, "filler")}
}

// free returns the free space of the filesystem.
func (d *tmpfs) free(t *testing.T) int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(d.mnt, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * st.Bsize
}

// fill writes a file until room bytes are left free.
func (d *tmpfs) fill(t *testing.T, room int64) {
	f, err := os.Create(d.filler)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for n := d.free(t) - room; n > 0; n -= int64(len(buf)) {
		if _, err := f.Write(buf[:min(int64(len(buf)), n)]); err != nil {
			t.Fatalf("filling the disk: %v", err)
		}
	}
	if got := d.free(t); got != room {
		t.Fatalf("after filling, %d bytes are free, want %d", got, room)
	}
}

// unfill removes the file fill wrote.
func (d *tmpfs) unfill(t *testing.T) {
	if err := os.Remove(d.filler); err != nil {
		t.Fatal(err)
	}
}

// fakeFullEnv runs the application in-process on a blob store that fails
// with ENOSPC while full is set.
func fakeFullEnv(t *testing.T) *diskEnv {
	t.Helper()
	ctx := context.Background()
	var full atomic.Bool
	w := webtest.Start(t, webtest.WithChunkSize(diskPart),
		webtest.WithDeps(func(d *web.Deps) { d.ExtraAPIKey = diskAPIKey }),
		webtest.WithBlobs(func(d *blob.Dir) blob.Store { return enospcBlobs{Store: d, full: &full} }))
	base, dataDir, deps := w.URL, w.Dir, w.Deps
	return &diskEnv{
		url: base, dataDir: dataDir, database: w.DSN,
		fill:   func(*testing.T, int64) { full.Store(true) },
		unfill: func(*testing.T) { full.Store(false) },
		free:   func(*testing.T) int64 { return -1 },
		newLink: func(t *testing.T) string {
			l, err := deps.Links.Create(ctx, links.Spec{Label: "Full disk", Types: []string{"any"}})
			if err != nil {
				t.Fatal(err)
			}
			return deps.Links.URL(l)
		},
	}
}

// enospcBlobs is a blob store whose writes, while full is set, write
// diskRoom bytes and then fail as a full disk's write does.
type enospcBlobs struct {
	blob.Store
	full *atomic.Bool
}

func (b enospcBlobs) Put(ctx context.Context, key string, size int64, r io.Reader) (int64, error) {
	if b.full.Load() {
		r = &enospcAfter{r: r, n: diskRoom}
	}
	return b.Store.Put(ctx, key, size, r)
}

func (b enospcBlobs) WritePart(ctx context.Context, u blob.Upload, p blob.Part, r io.Reader) (blob.Part, error) {
	if b.full.Load() {
		r = &enospcAfter{r: r, n: diskRoom}
	}
	return b.Store.WritePart(ctx, u, p, r)
}

// enospcAfter passes n bytes through, then fails with ENOSPC.
type enospcAfter struct {
	r io.Reader
	n int64
}

func (e *enospcAfter) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, &os.PathError{Op: "write", Path: "blob", Err: syscall.ENOSPC}
	}
	n, err := e.r.Read(p[:min(int64(len(p)), e.n)])
	e.n -= int64(n)
	return n, err
}

// diskFullToken runs the scenario through POST /upload, with room bytes
// free while the disk is full.
func diskFullToken(t *testing.T, env *diskEnv, room int64) {
	client := &http.Client{}
	data := diskData(1)
	auth := basicAuth(diskAPIKey)
	status, body := do(t, client, "POST", env.url+"/upload-tokens", auth, map[string]int{"ttl": 3600})
	if status != http.StatusOK {
		t.Fatalf("POST /upload-tokens: status=%d: %s", status, body)
	}
	token := mustDecode[struct{ Token string }](t, body).Token
	send := func(n int, videoID string) (*http.Response, []byte) {
		t.Helper()
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		if videoID != "" {
			mw.WriteField("videoId", videoID)
		}
		fw, _ := mw.CreateFormFile("file", "full.mp4")
		fw.Write(diskPartData(data, n))
		mw.Close()
		req, _ := http.NewRequest("POST", env.url+"/upload?token="+token, &b)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Content-Range", fmt.Sprintf("part %d/3", n))
		return sendRequest(t, client, req)
	}

	resp, body := send(1, "")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("part 1: status=%d: %s", resp.StatusCode, body)
	}
	videoID := mustDecode[struct{ VideoID string }](t, body).VideoID

	onDisk, free := blobFiles(t, filepath.Join(env.dataDir, "blobs")), env.free(t)
	env.fill(t, room)
	resp, body = send(2, videoID)
	wantInsufficientStorage(t, resp, body, "type", "/problems/insufficient-storage")
	diskCheckRemoved(t, env, onDisk, free, room)
	diskCheckHeld(t, env, videoID, data, 1)
	status, body = do(t, client, "GET", env.url+"/videos/"+videoID+"/status", auth, nil)
	if got := mustDecode[videoStatus](t, body).Ingest.ReceivedParts.Parts; status != 200 || fmt.Sprint(got) != "[1]" {
		t.Errorf("GET /videos/%s/status while full: status %d, parts %v; want 200, [1]", videoID, status, got)
	}

	env.unfill(t)
	for n := 2; n <= 3; n++ {
		if resp, body := send(n, videoID); resp.StatusCode != http.StatusCreated {
			t.Fatalf("part %d with space back: status=%d: %s", n, resp.StatusCode, body)
		}
	}
	sum := sha256.Sum256(data)
	if got, want := sha256Source(t, client, env.url, auth, videoID), hex.EncodeToString(sum[:]); got != want {
		t.Errorf("source sha256=%s, want=%s", got, want)
	}
}

// diskFullLink runs the scenario through a link's PUT parts.
func diskFullLink(t *testing.T, env *diskEnv) {
	client := &http.Client{}
	data := diskData(2)
	linkURL := env.newLink(t)
	start, _ := json.Marshal(map[string]any{"filename": "full.bin", "size": len(data), "lastModified": 1})
	resp, err := client.Post(linkURL+"/uploads", "application/json", bytes.NewReader(start))
	if err != nil {
		t.Fatal(err)
	}
	sess := decodeJSON(t, resp, http.StatusCreated)
	videoID := sess["videoId"].(string)
	if got, want := int(sess["totalParts"].(float64)), 3; got != want {
		t.Fatalf("the link cut the file into %d parts, want %d", got, want)
	}
	put := func(n int) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPut, linkURL+"/uploads/"+videoID+"/parts/"+strconv.Itoa(n), bytes.NewReader(diskPartData(data, n)))
		return sendRequest(t, client, req)
	}
	if resp, body := put(1); resp.StatusCode != http.StatusOK {
		t.Fatalf("part 1: status=%d: %s", resp.StatusCode, body)
	}

	onDisk, free := blobFiles(t, filepath.Join(env.dataDir, "blobs")), env.free(t)
	env.fill(t, diskRoom)
	resp, body := put(2)
	wantInsufficientStorage(t, resp, body, "code", "insufficient-storage")
	diskCheckRemoved(t, env, onDisk, free, diskRoom)
	diskCheckHeld(t, env, videoID, data, 1)
	resp, err = client.Get(linkURL + "/uploads/" + videoID)
	if err != nil {
		t.Fatal(err)
	}
	if sess := decodeJSON(t, resp, http.StatusOK); sess["nextPart"] != float64(2) {
		t.Errorf("session while full: nextPart=%v, want 2", sess["nextPart"])
	}

	env.unfill(t)
	for n := 2; n <= 3; n++ {
		resp, body := put(n)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("part %d with space back: status=%d: %s", n, resp.StatusCode, body)
		}
		if n == 3 {
			var s struct{ Receipt struct{ SHA256 string } }
			json.Unmarshal(body, &s)
			sum := sha256.Sum256(data)
			if got, want := s.Receipt.SHA256, hex.EncodeToString(sum[:]); got != want {
				t.Errorf("receipt sha256=%q, want=%q", got, want)
			}
		}
	}
	diskCheckHeld(t, env, videoID, data, 3)
}

func diskData(seed byte) []byte {
	b := make([]byte, diskFileSize)
	rand.NewChaCha8([32]byte{seed, 'd', 'i', 's', 'k'}).Read(b)
	return b
}

func diskPartData(data []byte, n int) []byte {
	return data[(n-1)*diskPart : min(n*diskPart, len(data))]
}

func sendRequest(t *testing.T, client *http.Client, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// wantInsufficientStorage checks for a 507 problem document whose field
// (type for the API, code for the uploader's endpoints) ends with want.
func wantInsufficientStorage(t *testing.T, resp *http.Response, body []byte, field, want string) {
	t.Helper()
	if got := resp.StatusCode; got != http.StatusInsufficientStorage {
		t.Fatalf("the part that does not fit: status=%d, want=507: %s", got, body)
	}
	if got, want := resp.Header.Get("Content-Type"), "application/problem+json"; got != want {
		t.Errorf("Content-Type=%q, want=%q", got, want)
	}
	var p map[string]any
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("problem %s: %v", body, err)
	}
	if got, _ := p[field].(string); !strings.HasSuffix(got, want) || p["status"] != float64(507) || p["title"] == "" {
		t.Errorf("problem %s: want %s ending in %q, status 507 and a title", body, field, want)
	}
}

// diskCheckRemoved checks that the refused part left nothing recorded and
// no object of its own: the blob files are those from before it. Its
// partial bytes may stay where the part goes in the unfinished source,
// which the part overwrites when it is sent again; at most the room that
// was left, so (on a real disk) the space used grows by no more than that.
func diskCheckRemoved(t *testing.T, env *diskEnv, files map[string]int64, freeBefore, room int64) {
	t.Helper()
	after := blobFiles(t, filepath.Join(env.dataDir, "blobs"))
	if got, want := slices.Sorted(maps.Keys(after)), slices.Sorted(maps.Keys(files)); !slices.Equal(got, want) {
		t.Errorf("after the refused part the blob files are %v, want %v", got, want)
	}
	if !env.real {
		return
	}
	env.unfill(t)
	if got := env.free(t); got < freeBefore-room-256<<10 {
		t.Errorf("free space after the refused part=%d, want at least %d", got, freeBefore-room)
	}
	env.fill(t, room)
}

// diskCheckHeld checks, in the metadata and on disk, that the upload
// holds exactly parts 1 to n, with the file's bytes.
func diskCheckHeld(t *testing.T, env *diskEnv, videoID string, data []byte, n int) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, env.database)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, err := st.FindUpload(ctx, videoID)
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Parts) != n {
		t.Fatalf("the upload holds %d parts, want %d", len(u.Parts), n)
	}
	want := data[:min(n*diskPart, len(data))]
	f, err := os.Open(filepath.Join(env.dataDir, "blobs", u.SourceKey[:2], u.SourceKey))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := io.ReadAll(io.LimitReader(f, u.SourceSize))
	if err != nil {
		t.Fatal(err)
	}
	if u.SourceSize != int64(len(want)) || !bytes.Equal(got, want) {
		t.Errorf("the source holds %d bytes (%d recorded), not the first %d bytes of the file", len(got), u.SourceSize, len(want))
	}
}

package links_test

// A link revoked while its uploads are in progress (issue 5, "Races"). The
// parts go through the real HTTP endpoints the upload page calls, and on
// through the proxy to the token upload endpoint. CI runs it with -race.
// The other races of the issue: TestOneTimeLinkUnderConcurrentStarts
// (links_test.go) and web/api/races_test.go.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/web/links"
	"github.com/uplink-video/uplink/web/webtest"
)

// raceApp is the application behind a real HTTP server.
type raceApp struct {
	url   string
	store *store.Store
	dir   *blob.Dir
	links *links.Service // Mints and revokes, as the dashboard does.
}

func newRaceApp(t *testing.T) *raceApp {
	t.Helper()
	w := webtest.Start(t, webtest.WithChunkSize(chunk))
	return &raceApp{url: w.URL, store: w.Store, dir: w.Blobs, links: w.Links}
}

// raceAnswer is a response of the upload page's endpoints.
type raceAnswer struct {
	status int
	code   string // The problem's code, on errors.
	sess   struct {
		VideoID  string `json:"videoId"`
		NextPart int    `json:"nextPart"`
	}
}

// call sends a request as the upload page does, with a body of known
// length.
func (a *raceApp) call(t *testing.T, method, path string, body io.Reader, n int64) raceAnswer {
	t.Helper()
	req, err := http.NewRequest(method, a.url+path, body)
	if err != nil {
		t.Error(err)
		return raceAnswer{}
	}
	req.ContentLength = n
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return raceAnswer{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	ans := raceAnswer{status: resp.StatusCode}
	if resp.StatusCode >= 300 {
		var p struct{ Code string }
		json.Unmarshal(b, &p)
		ans.code = p.Code
	} else if err := json.Unmarshal(b, &ans.sess); err != nil {
		t.Errorf("%s %s: %v: %s", method, path, err, b)
	}
	return ans
}

func (a *raceApp) start(t *testing.T, linkID string, data []byte, i int) raceAnswer {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"filename": fmt.Sprintf("f%d.mp4", i), "size": len(data), "lastModified": i})
	return a.call(t, http.MethodPost, "/u/"+linkID+"/uploads", bytes.NewReader(b), int64(len(b)))
}

func (a *raceApp) part(t *testing.T, linkID, videoID string, n int, body io.Reader, size int) raceAnswer {
	t.Helper()
	return a.call(t, http.MethodPut, fmt.Sprintf("/u/%s/uploads/%s/parts/%d", linkID, videoID, n), body, int64(size))
}

// raceGate is a part's bytes that stop halfway until the gate opens.
type raceGate struct {
	data    []byte
	off     int
	halfway chan struct{}
	open    <-chan struct{}
	once    sync.Once
}

func (g *raceGate) Read(p []byte) (int, error) {
	half := len(g.data) / 2
	if g.off >= half {
		g.once.Do(func() { close(g.halfway) })
		<-g.open
	} else if len(p) > half-g.off {
		p = p[:half-g.off]
	}
	if g.off == len(g.data) {
		return 0, io.EOF
	}
	n := copy(p, g.data[g.off:])
	g.off += n
	return n, nil
}

// check checks that an upload through link l holds exactly its first
// `parts` parts of data, in the link's record, in the token endpoint's
// record, and in its source's bytes.
func (a *raceApp) check(t *testing.T, l store.Link, videoID string, data []byte, parts int) {
	t.Helper()
	ctx := context.Background()
	lu, err := a.store.FindLinkUpload(ctx, l.ID, videoID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := lu.NextPart, parts+1; got != want {
		t.Errorf("upload %s: the link records next part %d, want %d", videoID, got, want)
	}
	u, err := a.store.FindUpload(ctx, videoID)
	if parts == 0 && errors.Is(err, store.ErrNotFound) {
		return // No piece ever reached the token endpoint.
	}
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, p := range u.Parts {
		got = append(got, p.Seq)
	}
	var want []int64
	for n := 1; n <= parts; n++ {
		want = append(want, int64(n))
	}
	if !slices.Equal(got, want) {
		t.Errorf("upload %s: the token endpoint holds parts %v, want %v", videoID, got, want)
	}
	// The parts recorded are in place in the source; past them, a part
	// refused midway may have left bytes that nothing refers to.
	prefix := data[:min(len(data), parts*chunk)]
	r, err := a.dir.Open(ctx, u.SourceKey)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, _ := io.ReadAll(io.LimitReader(r, u.SourceSize))
	if sum(b) != sum(prefix) || u.SourceSize != int64(len(prefix)) {
		t.Errorf("upload %s: source of %d bytes (recorded %d), want the file's first %d", videoID, len(b), u.SourceSize, len(prefix))
	}
}

// checkBlobs checks that the blob directory holds exactly the recorded
// objects.
func (a *raceApp) checkBlobs(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	refs, err := a.store.BlobRefs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	a.dir.List(ctx, func(i blob.Info) error { got[i.Key] = true; return nil })
	if !maps.Equal(got, refs) {
		t.Errorf("blobs on disk %v, want exactly the recorded ones %v", got, refs)
	}
}

// A link revoked while parts are in flight through it: each of those parts
// either goes through or is refused as revoked; a refused part leaves no
// byte behind and is not counted; every later part and every new upload is
// refused (410), so the uploads stop where they were.
func TestRevokeDuringUpload(t *testing.T) {
	t.Parallel()
	t.Run("parts held mid-body", func(t *testing.T) {
		t.Parallel()
		a := newRaceApp(t)
		l, err := a.links.Create(context.Background(), links.Spec{Label: "revoked mid-upload"})
		if err != nil {
			t.Fatal(err)
		}
		const uploads = 3
		data := make([][]byte, uploads)
		ids := make([]string, uploads)
		for i := range uploads {
			data[i] = videoFile(t, 2*chunk+1000+i)
			s := a.start(t, l.ID, data[i], i)
			if s.status != http.StatusCreated {
				t.Fatalf("start %d: %d %s", i, s.status, s.code)
			}
			ids[i] = s.sess.VideoID
			if p := a.part(t, l.ID, ids[i], 1, bytes.NewReader(data[i][:chunk]), chunk); p.status != http.StatusOK {
				t.Fatalf("upload %d part 1: %d %s", i, p.status, p.code)
			}
		}
		open := make(chan struct{})
		answers := make([]raceAnswer, uploads)
		var wg sync.WaitGroup
		for i := range uploads {
			g := &raceGate{data: data[i][chunk : 2*chunk], halfway: make(chan struct{}), open: open}
			wg.Add(1)
			go func() {
				defer wg.Done()
				answers[i] = a.part(t, l.ID, ids[i], 2, g, chunk)
			}()
			<-g.halfway
			u, err := a.store.FindUpload(context.Background(), ids[i])
			if err != nil {
				t.Fatal(err)
			}
			raceWaitGrowing(t, a.dir, u.SourceKey, u.SourceSize)
		}
		if _, err := a.links.Revoke(context.Background(), l.ID); err != nil {
			t.Fatal(err)
		}
		close(open)
		wg.Wait()

		for i, ans := range answers {
			held := 1
			switch {
			case ans.status == http.StatusOK:
				held = 2
			case ans.status != http.StatusGone || ans.code != links.CodeLinkRevoked:
				t.Errorf("upload %d: part 2 in flight answered %d %q, want 200 or 410 %s", i, ans.status, ans.code, links.CodeLinkRevoked)
			}
			t.Logf("upload %d: part 2 in flight answered %d %s", i, ans.status, ans.code)
			next := a.part(t, l.ID, ids[i], held+1, bytes.NewReader(data[i][held*chunk:min(len(data[i]), (held+1)*chunk)]), min(len(data[i]), (held+1)*chunk)-held*chunk)
			if next.status != http.StatusGone || next.code != links.CodeLinkRevoked {
				t.Errorf("upload %d: part %d after the revocation answered %d %q, want 410 %s", i, held+1, next.status, next.code, links.CodeLinkRevoked)
			}
			a.check(t, l, ids[i], data[i], held)
		}
		if s := a.start(t, l.ID, data[0], 99); s.status != http.StatusGone || s.code != links.CodeLinkRevoked {
			t.Errorf("start after the revocation: %d %q, want 410 %s", s.status, s.code, links.CodeLinkRevoked)
		}
		a.checkBlobs(t)
	})

	t.Run("uploads streaming freely", func(t *testing.T) {
		t.Parallel()
		a := newRaceApp(t)
		l, err := a.links.Create(context.Background(), links.Spec{Label: "revoked while streaming"})
		if err != nil {
			t.Fatal(err)
		}
		const uploads, parts = 3, 4
		data := make([][]byte, uploads)
		ids := make([]string, uploads)
		answers := make([][]int, uploads)
		for i := range uploads {
			data[i] = videoFile(t, (parts-1)*chunk+500+i)
			s := a.start(t, l.ID, data[i], i)
			if s.status != http.StatusCreated {
				t.Fatalf("start %d: %d %s", i, s.status, s.code)
			}
			ids[i] = s.sess.VideoID
		}
		var sent atomic.Int32
		var wg sync.WaitGroup
		for i := range uploads {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 1; n <= parts; n++ {
					body := data[i][(n-1)*chunk : min(len(data[i]), n*chunk)]
					ans := a.part(t, l.ID, ids[i], n, bytes.NewReader(body), len(body))
					answers[i] = append(answers[i], ans.status)
					sent.Add(1)
					if ans.status != http.StatusOK && (ans.status != http.StatusGone || ans.code != links.CodeLinkRevoked) {
						t.Errorf("upload %d part %d: %d %q, want 200 or 410 %s", i, n, ans.status, ans.code, links.CodeLinkRevoked)
					}
				}
			}()
		}
		for sent.Load() < uploads {
			time.Sleep(time.Millisecond)
		}
		if _, err := a.links.Revoke(context.Background(), l.ID); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		t.Logf("answers per upload, part by part: %v", answers)
		for i, codes := range answers {
			held, refused := 0, false
			for n, c := range codes {
				switch {
				case c == http.StatusOK && refused:
					t.Errorf("upload %d: part %d accepted after an earlier one was refused (%v)", i, n+1, codes)
				case c == http.StatusOK:
					held++
				default:
					refused = true
				}
			}
			a.check(t, l, ids[i], data[i], held)
		}
		a.checkBlobs(t)
	})
}

// raceWaitGrowing waits until the blob key holds more than size bytes.
func raceWaitGrowing(t *testing.T, d *blob.Dir, key string, size int64) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		if r, err := d.Open(context.Background(), key); err == nil {
			n, _ := r.Seek(0, io.SeekEnd)
			r.Close()
			if n > size {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("blob %s did not grow past %d bytes", key, size)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

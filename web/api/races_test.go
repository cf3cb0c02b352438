package api_test

// Races through the HTTP API (issue 5, "Races"). CI runs every test with
// -race. Two more races of the issue are tested where they live:
//   - 50 concurrent starts on a one-time link, exactly one wins:
//     web/links TestOneTimeLinkUnderConcurrentStarts;
//   - the same part sent twice at once is written once:
//     store/ingest TestSamePartTwiceAtOnce.
// A link revoked mid-upload is in web/links/races_test.go.

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/blob"
)

// raceGate is a part's bytes that stop halfway until the gate opens: the
// request is then in flight, its first half on the server's disk.
type raceGate struct {
	data    []byte
	off     int
	halfway chan struct{} // Closed when the first half has been read.
	open    <-chan struct{}
	once    sync.Once
}

func newRaceGate(data []byte, open <-chan struct{}) *raceGate {
	return &raceGate{data: data, halfway: make(chan struct{}), open: open}
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

// waitGrowing waits until the blob key holds more than size bytes: a
// piece is being appended to it.
func waitGrowing(t *testing.T, d *blob.Dir, key string, size int64) {
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

// checkBlobsMatchRows checks that the blob directory holds exactly the
// objects the rows refer to: nothing half-recorded, no object of a refused
// piece, nothing lost. (checkPrefix checks the bytes.)
func checkBlobsMatchRows(t *testing.T, st *store.Store, d *blob.Dir) {
	t.Helper()
	ctx := context.Background()
	refs, err := st.BlobRefs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	if err := d.List(ctx, func(i blob.Info) error { got[i.Key] = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, refs) {
		t.Errorf("blobs on disk %v, want exactly the recorded ones %v", got, refs)
	}
}

// checkPrefix checks that upload id holds exactly the given parts of
// data (in parts of partSize), in its source.
func checkPrefix(t *testing.T, st *store.Store, d *blob.Dir, id string, data []byte, parts []int64) {
	t.Helper()
	u, err := st.FindUpload(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, p := range u.Parts {
		got = append(got, p.Seq)
	}
	if !slices.Equal(got, parts) {
		t.Errorf("upload %s holds parts %v, want %v", id, got, parts)
	}
	want := data[:min(len(data), len(parts)*partSize)]
	if u.SourceSize != int64(len(want)) {
		t.Errorf("upload %s source size %d, want %d", id, u.SourceSize, len(want))
	}
	r, err := d.Open(context.Background(), u.SourceKey)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, u.SourceSize))
	if err != nil {
		t.Fatal(err)
	}
	if sha(b) != sha(want) {
		t.Errorf("upload %s: its source's %d bytes are not the file's first %d", id, len(b), len(want))
	}
}

// PATCHes of a video's title, tags and metadata, from several clients at
// once while the video's parts stream in, each write all three together:
// the final state is the last PATCH of one of the clients, whole, and the
// upload is byte-identical. Reads in between never see half a PATCH.
func TestPatchDuringUpload(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		description string
		container   bool // The video is made by POST /videos, then filled.
	}{
		{"video made by its first part", false},
		{"video made by POST /videos", true},
	} {
		t.Run(tt.description, func(t *testing.T) {
			t.Parallel()
			a := newApp(t)
			tok := a.createToken(t, 0)
			data := randomData(300, 4*partSize+12345)
			const total = 5
			part := func(n int) []byte { return data[(n-1)*partSize : min(n*partSize, len(data))] }

			var id string
			first := 1
			if tt.container {
				id = a.createVideo(t, `{"title":"container"}`).VideoID
				first = 0
			} else {
				id = a.uploadOK(t, upload{token: tok, contentRange: fmt.Sprintf("part 1/%d", total), parts: []formPart{file("race.mp4", part(1))}}).VideoID
			}

			// The uploader sends the remaining parts in order; the
			// first of them stops halfway until the patchers run.
			open := make(chan struct{})
			gate := newRaceGate(part(first+1), open)
			var uploaded sync.WaitGroup
			uploaded.Add(1)
			go func() {
				defer uploaded.Done()
				for n := first + 1; n <= total; n++ {
					fp := file("race.mp4", part(n))
					if n == first+1 {
						fp.stream, fp.size = gate, int64(len(part(n)))
					}
					r := a.upload(t, upload{token: tok, contentRange: fmt.Sprintf("part %d/%d", n, total), parts: []formPart{field("videoId", id), fp}})
					if r.Code != 201 {
						t.Errorf("part %d: %d %s", n, r.Code, clip(r.Body))
						return
					}
				}
			}()
			<-gate.halfway

			// Each patcher writes title, tags and metadata that name it
			// and its iteration, at least 20 times and until the upload
			// is done; readers check every state they see is whole.
			var done atomic.Bool
			const patchers, minRounds = 4, 20
			last := make([]string, patchers)
			var wg sync.WaitGroup
			for g := range patchers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < minRounds || !done.Load(); i++ {
						if i == minRounds/2 && g == 0 {
							close(open) // Let the held part go on, mid-PATCHes.
						}
						mark := fmt.Sprintf("p%d-%d", g, i)
						r := a.do(t, "PATCH", "/videos/"+id, fmt.Sprintf(`{"title":%q,"tags":[%q],"metadata":[{"key":"by","value":%q}]}`, mark, mark, mark))
						if r.Code != 200 {
							t.Errorf("PATCH: %d %s", r.Code, clip(r.Body))
							return
						}
						var v video
						r.decode(t, &v)
						if got := raceMark(v); got != mark {
							t.Errorf("PATCH %s answered the video as %s", mark, got)
						}
						last[g] = mark
						if i > 1000 {
							t.Error("the upload did not finish during 1000 PATCHes")
							return
						}
					}
				}()
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !done.Load() {
					r := a.do(t, "GET", "/videos/"+id, "")
					var v video
					r.decode(t, &v)
					if v.Title != "race.mp4" && v.Title != "container" && raceMark(v) == "torn" {
						t.Errorf("GET saw a torn video: title %q tags %q metadata %v", v.Title, v.Tags, v.Metadata)
					}
				}
			}()
			uploaded.Wait()
			done.Store(true)
			wg.Wait()

			r := a.do(t, "GET", "/videos/"+id, "")
			var v video
			r.decode(t, &v)
			if final := raceMark(v); !slices.Contains(last, final) {
				t.Errorf("final video %s (title %q tags %q metadata %v) is not the last PATCH of any client %q", final, v.Title, v.Tags, v.Metadata, last)
			}
			if got, want := a.status(t, id).Ingest.Status, "uploaded"; got != want {
				t.Errorf("ingest status=%q, want=%q", got, want)
			}
			a.wantSource(t, id, data)
			u, err := a.store.FindUpload(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if u.Filename != "race.mp4" {
				t.Errorf("upload filename=%q, want race.mp4", u.Filename)
			}
		})
	}
}

// raceMark returns the mark a PATCH left on v when its title, tags and
// metadata agree, and "torn" when they do not.
func raceMark(v video) string {
	if len(v.Tags) != 1 || len(v.Metadata) != 1 || v.Tags[0] != v.Title || v.Metadata[0].Value != v.Title {
		return "torn"
	}
	return v.Title
}

// An upload token deleted while parts are in flight: each of those parts
// either succeeds or is refused with 401, a refused part leaves no byte
// behind, and every later part is refused, so the uploads stop where they
// were. Both held parts (deleted mid-body, deterministic) and freely
// streaming uploads (deleted at a random moment) are tried.
func TestTokenDeletedWhilePartsInFlight(t *testing.T) {
	t.Parallel()
	t.Run("parts held mid-body", func(t *testing.T) {
		t.Parallel()
		a := newApp(t)
		dir := a.blobs
		tok := a.createToken(t, 0)
		const uploads = 3
		data := make([][]byte, uploads)
		ids := make([]string, uploads)
		for i := range uploads {
			data[i] = randomData(int64(310+i), 2*partSize+1000)
			ids[i] = a.uploadOK(t, upload{token: tok, contentRange: "part 1/3", parts: []formPart{file("held.mp4", data[i][:partSize])}}).VideoID
		}
		// Part 2 of each upload, and the first part of a new one, stop
		// halfway, their first bytes on disk.
		open := make(chan struct{})
		codes := make([]int, uploads+1)
		var wg sync.WaitGroup
		fresh := randomData(320, partSize)
		for i := range uploads + 1 {
			var body []byte
			var fields []formPart
			cr := "part 2/3"
			if i < uploads {
				body, fields = data[i][partSize:2*partSize], []formPart{field("videoId", ids[i])}
			} else {
				body, cr = fresh, "part 1/*"
			}
			gate := newRaceGate(body, open)
			wg.Add(1)
			go func() {
				defer wg.Done()
				fp := file("held.mp4", nil)
				fp.stream, fp.size = gate, int64(len(body))
				r := a.upload(t, upload{token: tok, contentRange: cr, parts: append(fields, fp)})
				codes[i] = r.Code
				if r.Code != 201 {
					a.wantProblem(t, r, 401, "authentication-invalid-upload-token", "token")
				}
			}()
			<-gate.halfway
		}
		for _, id := range ids {
			u, err := a.store.FindUpload(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			waitGrowing(t, dir, u.SourceKey, u.SourceSize)
		}
		if r := a.do(t, "DELETE", "/upload-tokens/"+tok, ""); r.Code != 204 {
			t.Fatalf("DELETE token: %d %s", r.Code, clip(r.Body))
		}
		close(open)
		wg.Wait()
		t.Logf("parts in flight when the token was deleted answered %v", codes)

		for i, id := range ids {
			held := []int64{1}
			if codes[i] == 201 {
				held = append(held, 2)
			}
			// The upload stops: its last part is refused.
			r := a.upload(t, upload{token: tok, contentRange: "part 3/3", parts: []formPart{field("videoId", id), file("held.mp4", data[i][2*partSize:])}})
			a.wantProblem(t, r, 401, "authentication-invalid-upload-token", "token")
			checkPrefix(t, a.store, dir, id, data[i], held)
			if got, want := a.status(t, id).Ingest.Status, "uploading"; got != want {
				t.Errorf("ingest status=%q, want=%q", got, want)
			}
		}
		if codes[uploads] != 201 && a.videoCount(t) != uploads {
			t.Errorf("%d videos, want %d: the refused first part made one", a.videoCount(t), uploads)
		}
		checkBlobsMatchRows(t, a.store, dir)
	})

	t.Run("uploads streaming freely", func(t *testing.T) {
		t.Parallel()
		a := newApp(t)
		dir := a.blobs
		tok := a.createToken(t, 0)
		const uploads, parts = 4, 4
		data := make([][]byte, uploads)
		results := make([][]int, uploads)
		ids := make([]string, uploads)
		var sent atomic.Int32
		var wg sync.WaitGroup
		for i := range uploads {
			data[i] = randomData(int64(330+i), (parts-1)*partSize+777)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 1; n <= parts; n++ {
					body := data[i][(n-1)*partSize : min(n*partSize, len(data[i]))]
					fields := []formPart{}
					if ids[i] != "" {
						fields = append(fields, field("videoId", ids[i]))
					}
					r := a.upload(t, upload{token: tok, contentRange: fmt.Sprintf("part %d/%d", n, parts), parts: append(fields, file("free.mp4", body))})
					results[i] = append(results[i], r.Code)
					sent.Add(1)
					switch r.Code {
					case 201:
						if n == 1 {
							var v video
							r.decode(t, &v)
							ids[i] = v.VideoID
						}
					case 401:
						a.wantProblem(t, r, 401, "authentication-invalid-upload-token", "token")
						if n == 1 {
							return // No video to go on with.
						}
					default:
						t.Errorf("upload %d part %d: %d %s", i, n, r.Code, clip(r.Body))
					}
				}
			}()
		}
		// Delete once some parts are in.
		for sent.Load() < uploads {
			time.Sleep(time.Millisecond)
		}
		if r := a.do(t, "DELETE", "/upload-tokens/"+tok, ""); r.Code != 204 {
			t.Fatalf("DELETE token: %d %s", r.Code, clip(r.Body))
		}
		wg.Wait()
		t.Logf("answers per upload, part by part: %v", results)
		for i, codes := range results {
			var held []int64
			refused := false
			for n, c := range codes {
				switch {
				case c == 201 && refused:
					t.Errorf("upload %d: part %d accepted after an earlier one was refused (%v)", i, n+1, codes)
				case c == 201:
					held = append(held, int64(n+1))
				default:
					refused = true
				}
			}
			if ids[i] != "" {
				checkPrefix(t, a.store, dir, ids[i], data[i], held)
			}
		}
		checkBlobsMatchRows(t, a.store, dir)
		// Whatever is left is what was acknowledged; nothing for a
		// maintenance pass to cut or reclaim.
		if strings.Contains(fmt.Sprint(results), "500") {
			t.Errorf("server errors: %v", results)
		}
	})
}

// A part re-sent while the server still reads the first attempt (a client
// that timed out on a slow connection) is refused at once with 503 and
// Retry-After, which the official uploader retries; once the first
// attempt is recorded, the same part is a repeat and gets 201. The file
// is stored once, byte for byte.
func TestSamePartWhileTheFirstIsInFlight(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	dir := a.blobs
	tok := a.createToken(t, 0)
	data := randomData(330, 2*partSize)
	id := a.uploadOK(t, upload{token: tok, contentRange: "part 1/2", parts: []formPart{file("same.mp4", data[:partSize])}}).VideoID

	open := make(chan struct{})
	gate := newRaceGate(data[partSize:], open)
	first := make(chan *response)
	go func() {
		fp := file("same.mp4", nil)
		fp.stream, fp.size = gate, partSize
		first <- a.upload(t, upload{token: tok, contentRange: "part 2/2", parts: []formPart{field("videoId", id), fp}})
	}()
	<-gate.halfway
	u, err := a.store.FindUpload(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	waitGrowing(t, dir, u.SourceKey, u.SourceSize) // The server holds the part.
	again := upload{token: tok, contentRange: "part 2/2", parts: []formPart{field("videoId", id), file("same.mp4", data[partSize:])}}
	for range 3 {
		r := a.upload(t, again)
		a.wantProblem(t, r, 503, "upload-part-in-flight", "Content-Range")
		if got := r.Header.Get("Retry-After"); got != "1" {
			t.Errorf("Retry-After=%q, want 1", got)
		}
	}
	if got, want := a.status(t, id).Ingest.Status, "uploading"; got != want {
		t.Errorf("ingest status while the part is held=%q, want=%q", got, want)
	}
	close(open)
	if r := <-first; r.Code != 201 {
		t.Fatalf("the first attempt: %d %s", r.Code, clip(r.Body))
	}
	wantVideo(t, a.upload(t, again), 201)
	checkPrefix(t, a.store, dir, id, data, []int64{1, 2})
	checkBlobsMatchRows(t, a.store, dir)
}

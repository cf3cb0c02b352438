package store_test

// Tests of what several instances of uplink sharing one database rely on:
// two stores opened on one database stand for two instances. On SQLite
// they are two stores in one process, which its one writer serializes;
// on PostgreSQL they are two pools, whose serializable transactions
// conflict and are run again.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/storetest"
)

// instances opens n stores on one new database, with one clock.
func instances(t *testing.T, n int, clk *storetest.Clock) []*store.Store {
	t.Helper()
	dsn := storetest.NewDSN(t)
	stores := make([]*store.Store, n)
	for i := range stores {
		stores[i] = storetest.OpenDSN(t, dsn, clk)
	}
	return stores
}

// Instances that start together on an empty database migrate it once:
// each migration is applied and recorded once, and every store opens.
func TestOpenMigratesOnceWhenInstancesStartTogether(t *testing.T) {
	dsn := storetest.NewEmptyDSN(t)
	clk := storetest.NewClock()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			st, err := store.Open(context.Background(), dsn, store.WithClock(clk.Now))
			if err != nil {
				t.Errorf("instance %d: Open: %v", i, err)
				return
			}
			st.Close()
		})
	}
	wg.Wait()
	rows, err := storetest.RawDB(t, dsn).Query(`SELECT name, count(*) FROM migrations GROUP BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var name string
		var times int
		if err := rows.Scan(&name, &times); err != nil {
			t.Fatal(err)
		}
		n++
		if times != 1 {
			t.Errorf("migration %s recorded %d times", name, times)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Errorf("no migration recorded")
	}
}

// A link's slots are reserved atomically across instances: of many starts
// at once, spread over two instances, exactly as many as the link has
// slots succeed, and the others are refused for want of one.
func TestLinkSlotsAcrossInstances(t *testing.T) {
	for _, slots := range []int{1, 3} {
		t.Run(fmt.Sprintf("%d slots", slots), func(t *testing.T) {
			ctx := context.Background()
			clk := storetest.NewClock()
			sts := instances(t, 2, clk)
			l, err := sts[0].CreateLink(ctx, store.LinkCreate{Label: "shared", MaxUploads: slots})
			if err != nil {
				t.Fatal(err)
			}
			const starts = 30
			var (
				wg       sync.WaitGroup
				mu       sync.Mutex
				won, out int
				start    = make(chan struct{})
			)
			for i := range starts {
				wg.Go(func() {
					<-start
					u := store.LinkUpload{
						ID: store.RandomString(22), LinkID: l.ID, Filename: fmt.Sprintf("%d.mp4", i), Size: 10,
						ChunkSize: 10, TotalParts: 1, HashState: []byte{0}, LeaseExpiresAt: clk.Now().Add(time.Hour),
					}
					err := sts[i%2].ReserveLinkUpload(ctx, u)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						won++
					case errors.Is(err, store.ErrNoSlot):
						out++
					default:
						t.Errorf("start %d: %v", i, err)
					}
				})
			}
			close(start)
			wg.Wait()
			if won != slots || won+out != starts {
				t.Errorf("%d starts won a slot and %d were refused, want %d and %d", won, out, slots, starts-slots)
			}
			got, err := sts[1].FindLink(ctx, l.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.InFlight != slots {
				t.Errorf("link holds %d uploads in flight, want %d", got.InFlight, slots)
			}
		})
	}
}

// The parts of one upload committed at once through two instances each
// count once, and the last one alone completes it.
func TestPartCommitsAcrossInstances(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock()
	sts := instances(t, 2, clk)
	tok, err := sts[0].CreateUploadToken(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	const parts = 20
	videoID := store.NewID(store.PrefixVideo)
	now := clk.Now()
	err = sts[0].StartUpload(ctx, store.NewUpload{
		Upload: store.Upload{
			VideoID: videoID, TokenID: tok.ID, Mode: store.ModePart, Status: store.UploadUploading,
			SourceKey: "videos/" + videoID + "/source", MultipartID: "m", Filename: "f.mp4",
			StartedAt: now, UpdatedAt: now, LeaseExpiresAt: now.Add(time.Hour),
		},
		Video: &store.VideoCreate{Title: "f"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg         sync.WaitGroup
		mu         sync.Mutex
		completing int
		start      = make(chan struct{})
	)
	for p := 1; p <= parts; p++ {
		wg.Go(func() {
			<-start
			// Each part is sent twice, once to each instance: one commit
			// wins, the other finds the part recorded.
			for i := range 2 {
				c, err := sts[(p+i)%2].CommitPart(ctx, store.PartCommit{
					VideoID: videoID, TotalParts: parts, LeaseExpiresAt: now.Add(time.Hour),
					Part: store.Part{Seq: int64(p), Number: p, Size: 100, ReceivedAt: now},
				})
				mu.Lock()
				switch {
				case err == nil && c:
					completing++
				case err == nil, errors.Is(err, store.ErrConflict):
				default:
					t.Errorf("part %d: %v", p, err)
				}
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	u, err := sts[1].FindUpload(ctx, videoID)
	if err != nil {
		t.Fatal(err)
	}
	if completing != 1 || u.Status != store.UploadCompleting || u.ReceivedParts != parts || u.SourceSize != parts*100 || len(u.Parts) != parts {
		t.Errorf("completing=%d, upload status=%s parts=%d (%d rows) size=%d; want 1, completing, %d, %d",
			completing, u.Status, u.ReceivedParts, len(u.Parts), u.SourceSize, parts, parts*100)
	}
}

// The lock of a job is held by one instance at a time on PostgreSQL, and
// always granted on SQLite, whose database has one process.
func TestTryLock(t *testing.T) {
	ctx := context.Background()
	sts := instances(t, 2, storetest.NewClock())
	release, ok, err := sts[0].TryLock(ctx, "cleanup")
	if err != nil || !ok {
		t.Fatalf("first TryLock = %v, %v; want the lock", ok, err)
	}
	release2, ok2, err := sts[1].TryLock(ctx, "cleanup")
	if err != nil {
		t.Fatal(err)
	}
	if want := !storetest.Postgres(); ok2 != want {
		t.Errorf("second instance's TryLock while the first holds it = %v, want %v", ok2, want)
	}
	if ok2 {
		release2()
	}
	if rel, ok, err := sts[1].TryLock(ctx, "another job"); err != nil || !ok {
		t.Errorf("TryLock of another name = %v, %v; want the lock", ok, err)
	} else {
		rel()
	}
	release()
	release() // Harmless.
	release3, ok3, err := sts[1].TryLock(ctx, "cleanup")
	if err != nil || !ok3 {
		t.Fatalf("TryLock after release = %v, %v; want the lock", ok3, err)
	}
	release3()
}

// Processing jobs claimed at once through two instances: each job is
// claimed once, and a video's jobs never run two at a time.
func TestJobClaimsAcrossInstances(t *testing.T) {
	ctx := context.Background()
	sts := instances(t, 2, storetest.NewClock())
	const videos = 10
	for range videos {
		v := mustVideo(t, sts[0])
		mustJob(t, sts[0], v.ID, store.JobProcess, 0)
		mustJob(t, sts[0], v.ID, store.JobThumbnail, time.Second)
	}
	var (
		mu      sync.Mutex
		running = map[string]int{} // By video.
		wg      sync.WaitGroup
	)
	for i := range 12 {
		wg.Go(func() {
			for {
				j, err := sts[i%2].ClaimJob(ctx, fmt.Sprintf("claim-%d", i), time.Minute)
				if errors.Is(err, store.ErrNotFound) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				running[j.VideoID]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(running) != videos {
		t.Errorf("jobs of %d videos claimed, want %d (one each)", len(running), videos)
	}
	for id, n := range running {
		if n != 1 {
			t.Errorf("video %s has %d jobs running at once", id, n)
		}
	}
}

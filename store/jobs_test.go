package store_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/storetest"
)

func mustVideo(t *testing.T, st *store.Store) store.Video {
	t.Helper()
	v, err := st.CreateVideo(context.Background(), store.VideoCreate{Title: "v"})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustJob(t *testing.T, st *store.Store, videoID, kind string, at time.Duration) store.ProcessingJob {
	t.Helper()
	j, err := st.EnqueueJob(context.Background(), videoID, kind, at, 3)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestEnqueueJobKeepsOneQueuedPerKind(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	v := mustVideo(t, st)
	a := mustJob(t, st, v.ID, store.JobProcess, 0)
	b := mustJob(t, st, v.ID, store.JobProcess, 0)
	if a.ID != b.ID || b.Status != store.JobQueued {
		t.Errorf("second enqueue made job %d (%s), want the queued %d", b.ID, b.Status, a.ID)
	}
	p1 := mustJob(t, st, v.ID, store.JobThumbnail, 2*time.Second)
	p2 := mustJob(t, st, v.ID, store.JobThumbnail, 5*time.Second)
	if p1.ID != p2.ID || p2.At != 5*time.Second {
		t.Errorf("pick twice: %d at %v then %d at %v, want one job at the later moment", p1.ID, p1.At, p2.ID, p2.At)
	}
	if _, err := st.EnqueueJob(ctx, "vi0000000000000000000000", store.JobProcess, 0, 3); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown video: err=%v, want ErrNotFound", err)
	}
}

func TestClaimJobIsAtomicAndOneAtATimePerVideo(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	v, w := mustVideo(t, st), mustVideo(t, st)
	mustJob(t, st, v.ID, store.JobProcess, 0)
	mustJob(t, st, v.ID, store.JobThumbnail, time.Second)
	mustJob(t, st, w.ID, store.JobProcess, 0)

	// Eight claimers at once: two jobs can run (one per video), each
	// claimed exactly once.
	var (
		mu      sync.Mutex
		claimed []int64
		wg      sync.WaitGroup
	)
	for i := range 8 {
		wg.Go(func() {
			j, err := st.ClaimJob(ctx, "claim"+string(rune('a'+i)), time.Minute)
			if errors.Is(err, store.ErrNotFound) {
				return
			}
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			claimed = append(claimed, j.ID)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(claimed)
	if len(claimed) != 2 || claimed[0] == claimed[1] {
		t.Fatalf("claimed %v, want two different jobs", claimed)
	}
	if _, err := st.ClaimJob(ctx, "late", time.Minute); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("third claim while v's first job runs: err=%v, want ErrNotFound", err)
	}
}

func TestFailJobRetriesThenGivesUp(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock()
	st := storetest.OpenWithClock(t, clk)
	v := mustVideo(t, st)
	mustJob(t, st, v.ID, store.JobProcess, 0)
	for attempt := 1; attempt <= 3; attempt++ {
		j, err := st.ClaimJob(ctx, "c", time.Minute)
		if err != nil {
			t.Fatalf("attempt %d: %v", attempt, err)
		}
		if j.Attempts != attempt {
			t.Errorf("attempts=%d, want=%d", j.Attempts, attempt)
		}
		retry := clk.Now().Add(time.Minute)
		final, err := st.FailJob(ctx, j.ID, "c", "ffprobe crashed", &retry)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := final, attempt == 3; got != want {
			t.Errorf("attempt %d: final=%v, want=%v", attempt, got, want)
		}
		if _, err := st.ClaimJob(ctx, "early", time.Minute); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("claim before the backoff: err=%v, want ErrNotFound", err)
		}
		clk.Advance(time.Minute)
	}
	j, err := st.FindLatestJob(ctx, v.ID, store.JobProcess)
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != store.JobFailed || j.LastError != "ffprobe crashed" || j.FinishedAt == nil {
		t.Errorf("job=%+v, want failed with its reason", j)
	}
	if _, err := st.FailJob(ctx, j.ID, "c", "again", nil); !errors.Is(err, store.ErrConflict) {
		t.Errorf("fail a finished job: err=%v, want ErrConflict", err)
	}
}

func TestLapsedClaimIsTakenBackAndTheOldAttemptCannotFinish(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock()
	st := storetest.OpenWithClock(t, clk)
	v := mustVideo(t, st)
	mustJob(t, st, v.ID, store.JobProcess, 0)
	old, err := st.ClaimJob(ctx, "old", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := st.RequeueLapsedJobs(ctx, clk.Now()); err != nil || n != 0 {
		t.Fatalf("requeue before the deadline: %d, %v", n, err)
	}
	clk.Advance(time.Minute)
	if n, err := st.RequeueLapsedJobs(ctx, clk.Now()); err != nil || n != 1 {
		t.Fatalf("requeue after the deadline: %d, %v, want 1", n, err)
	}
	again, err := st.ClaimJob(ctx, "new", time.Minute)
	if err != nil || again.ID != old.ID || again.Attempts != 2 {
		t.Fatalf("claim again: %+v, %v", again, err)
	}
	facts := store.MediaFacts{Width: 320, Height: 240, Duration: 3 * time.Second, VideoCodec: "h264", Playable: true}
	if _, err := st.CompleteJob(ctx, old.ID, "old", store.JobResult{Facts: &facts}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("old attempt completes: err=%v, want ErrConflict", err)
	}
	if _, err := st.FindVideoMedia(ctx, v.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the old attempt's result was recorded: err=%v", err)
	}
	if _, err := st.CompleteJob(ctx, again.ID, "new", store.JobResult{Facts: &facts}); err != nil {
		t.Fatal(err)
	}
	m, err := st.FindVideoMedia(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Probed || m.Facts != facts {
		t.Errorf("media=%+v, want %+v", m, facts)
	}
}

func TestRequeueEveryRunningJobAtStartAndRelease(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	v, w := mustVideo(t, st), mustVideo(t, st)
	mustJob(t, st, v.ID, store.JobProcess, 0)
	mustJob(t, st, w.ID, store.JobProcess, 0)
	a, _ := st.ClaimJob(ctx, "a", time.Hour)
	b, _ := st.ClaimJob(ctx, "b", time.Hour)
	if err := st.ReleaseJob(ctx, a.ID, "a"); err != nil {
		t.Fatal(err)
	}
	if j, _ := st.FindJob(ctx, a.ID); j.Status != store.JobQueued || j.Attempts != 0 {
		t.Errorf("released job: %s with %d attempts, want queued with 0", j.Status, j.Attempts)
	}
	if n, err := st.RequeueLapsedJobs(ctx, time.Time{}); err != nil || n != 1 {
		t.Errorf("requeue at start: %d, %v, want 1", n, err)
	}
	if j, _ := st.FindJob(ctx, b.ID); j.Status != store.JobQueued || j.Attempts != 1 {
		t.Errorf("interrupted job: %s with %d attempts, want queued with 1", j.Status, j.Attempts)
	}
	counts, err := st.CountJobs(ctx)
	if err != nil || counts[store.JobQueued] != 2 {
		t.Errorf("counts=%v, %v", counts, err)
	}
}

func TestAutomaticThumbnailNeverReplacesAChosenOne(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	v := mustVideo(t, st)
	old, err := st.SetThumbnail(ctx, v.ID, store.Thumbnail{Key: "up1", Type: "image/png", Origin: store.ThumbnailUploaded})
	if err != nil || old != "" {
		t.Fatalf("SetThumbnail: %q, %v", old, err)
	}
	mustJob(t, st, v.ID, store.JobProcess, 0)
	j, _ := st.ClaimJob(ctx, "c", time.Minute)
	unused, err := st.CompleteJob(ctx, j.ID, "c", store.JobResult{
		Thumbnail: &store.Thumbnail{Key: "auto1", Type: "image/jpeg", Origin: store.ThumbnailAuto},
		Preview:   &store.Preview{Key: "prev1", Size: 10},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(unused, []string{"auto1"}) {
		t.Errorf("unused=%v, want the automatic thumbnail", unused)
	}
	m, _ := st.FindVideoMedia(ctx, v.ID)
	if m.Thumbnail == nil || m.Thumbnail.Key != "up1" || m.Preview == nil || m.Preview.Key != "prev1" {
		t.Errorf("media=%+v", m)
	}
	got, _ := st.FindVideo(ctx, v.ID)
	if got.ThumbnailAt == nil {
		t.Error("the video does not say it has a thumbnail")
	}
	refs, err := st.BlobRefs(ctx)
	if err != nil || !refs["up1"] || !refs["prev1"] || refs["auto1"] {
		t.Errorf("blob refs=%v, %v", refs, err)
	}
	if old, err := st.SetThumbnail(ctx, v.ID, store.Thumbnail{Key: "up2", Type: "image/jpeg", Origin: store.ThumbnailPicked}); err != nil || old != "up1" {
		t.Errorf("replace: old=%q, %v", old, err)
	}
}

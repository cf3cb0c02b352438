package store_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/storetest"
)

func mustToken(t *testing.T, st *store.Store) store.UploadToken {
	t.Helper()
	tok, err := st.CreateUploadToken(context.Background(), 0)
	if err != nil {
		t.Fatalf("CreateUploadToken: %v", err)
	}
	return tok
}

// newUpload is a part-mode upload started at Epoch with a one-hour lease,
// built in the blob store upload "MP"+sourceKey.
func newUpload(videoID, tokenID, sourceKey string) store.Upload {
	return store.Upload{
		VideoID:        videoID,
		TokenID:        tokenID,
		Mode:           store.ModePart,
		Status:         store.UploadUploading,
		SourceKey:      sourceKey,
		MultipartID:    "MP" + sourceKey,
		Filename:       "clip.mp4",
		StartedAt:      storetest.Epoch,
		UpdatedAt:      storetest.Epoch,
		LeaseExpiresAt: storetest.Epoch.Add(time.Hour),
	}
}

// startOwned starts an upload that creates its own video, with part 1 of
// size bytes recorded.
func startOwned(t *testing.T, st *store.Store, tokenID, sourceKey string, size int64) store.Upload {
	t.Helper()
	u := newUpload(store.NewID(store.PrefixVideo), tokenID, sourceKey)
	u.SourceSize, u.ReceivedParts = size, 1
	err := st.StartUpload(context.Background(), store.NewUpload{
		Upload: u,
		First:  &store.Part{Seq: 1, Number: 1, Size: size, ReceivedAt: storetest.Epoch},
		Video:  &store.VideoCreate{Title: "clip.mp4", Public: true, MP4Support: true},
	})
	if err != nil {
		t.Fatalf("StartUpload: %v", err)
	}
	return u
}

func TestStartUploadCreatingTheVideo(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	tok := mustToken(t, st)
	u := startOwned(t, st, tok.ID, "SOURCE1", 100)

	got, err := st.FindUpload(ctx, u.VideoID)
	if err != nil {
		t.Fatalf("FindUpload: %v", err)
	}
	want := u
	want.OwnsVideo = true
	want.Parts = []store.Part{{Seq: 1, Number: 1, Size: 100, ReceivedAt: storetest.Epoch}}
	if got, want := fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", want); got != want {
		t.Errorf("FindUpload =\n%s\nwant\n%s", got, want)
	}
	v, err := st.FindVideo(ctx, u.VideoID)
	if err != nil {
		t.Fatalf("FindVideo: %v", err)
	}
	if got, want := fmt.Sprint(v.Title, v.UploadStatus, v.SourceSize, v.TokenID), fmt.Sprint("clip.mp4", store.UploadUploading, 100, tok.ID); got != want {
		t.Errorf("video title, status, size, token = %s, want %s", got, want)
	}
}

func TestStartUploadIntoExistingVideo(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	tok := mustToken(t, st)
	v, err := st.CreateVideo(ctx, store.VideoCreate{Title: "made by POST /videos"})
	if err != nil {
		t.Fatalf("CreateVideo: %v", err)
	}
	first := store.Part{Seq: 2, Number: 2, Size: 10, ETag: "STAGED2", ReceivedAt: storetest.Epoch}
	for _, tt := range []struct {
		description string
		videoID     string
		sourceKey   string
		want        error
	}{
		{"the first upload of the video", v.ID, "SOURCE1", nil},
		{"a second upload of the same video", v.ID, "SOURCE2", store.ErrConflict},
		{"a video that does not exist", "vi0000000000000000000000", "SOURCE3", store.ErrNotFound},
	} {
		t.Run(tt.description, func(t *testing.T) {
			err := st.StartUpload(ctx, store.NewUpload{Upload: newUpload(tt.videoID, tok.ID, tt.sourceKey), First: &first})
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("StartUpload error = %v, want %v", err, tt.want)
			}
		})
	}
	u, err := st.FindUpload(ctx, v.ID)
	if err != nil {
		t.Fatalf("FindUpload: %v", err)
	}
	if got, want := fmt.Sprint(u.SourceKey, u.OwnsVideo, u.Parts), fmt.Sprint("SOURCE1", false, []store.Part{first}); got != want {
		t.Errorf("source, owns video, parts = %s, want %s (the refused starts changed nothing)", got, want)
	}
	if got, want := storeTitle(t, st, v.ID), "made by POST /videos"; got != want {
		t.Errorf("title = %q, want %q (kept)", got, want)
	}
}

func storeTitle(t *testing.T, st *store.Store, id string) string {
	t.Helper()
	v, err := st.FindVideo(context.Background(), id)
	if err != nil {
		t.Fatalf("FindVideo: %v", err)
	}
	return v.Title
}

func TestCommitPart(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	tok := mustToken(t, st)
	u := startOwned(t, st, tok.ID, "SOURCE", 100)
	lease := storetest.Epoch.Add(3 * time.Hour)
	commit := func(seq int64, size int64, total int) (bool, error) {
		return st.CommitPart(ctx, store.PartCommit{
			VideoID: u.VideoID, TotalParts: total, LeaseExpiresAt: lease,
			Part: store.Part{Seq: seq, Number: int(seq), Size: size, ETag: fmt.Sprint("E", seq), ReceivedAt: storetest.Epoch},
		})
	}
	// Part 3 arrives early: recorded, not complete (part 2 is missing).
	if done, err := commit(3, 30, 3); err != nil || done {
		t.Fatalf("commit 3 = %v, %v; want false, nil", done, err)
	}
	// The same part again is a conflict, and changes nothing.
	if _, err := commit(3, 30, 3); !errors.Is(err, store.ErrConflict) {
		t.Errorf("commit 3 again: %v, want ErrConflict", err)
	}
	// A different total is a conflict.
	if _, err := commit(2, 20, 4); !errors.Is(err, store.ErrConflict) {
		t.Errorf("commit 2 with another total: %v, want ErrConflict", err)
	}
	// Part 2 completes the upload.
	if done, err := commit(2, 20, 0); err != nil || !done {
		t.Fatalf("commit 2 = %v, %v; want true, nil", done, err)
	}
	got, err := st.FindUpload(ctx, u.VideoID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(got.Status, got.SourceSize, got.ReceivedParts, got.TotalParts, got.LeaseExpiresAt.Equal(lease), len(got.Parts)),
		fmt.Sprint(store.UploadCompleting, 150, 3, 3, true, 3); got != want {
		t.Errorf("status, size, parts, total, lease renewed, rows = %s, want %s", got, want)
	}
	// A completing upload takes no more parts.
	if _, err := commit(4, 1, 0); !errors.Is(err, store.ErrConflict) {
		t.Errorf("commit to a completing upload: %v, want ErrConflict", err)
	}
	if _, err := st.CommitPart(ctx, store.PartCommit{VideoID: "vi0000000000000000000000", Part: store.Part{Seq: 1, Number: 1}}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("commit to a missing upload: %v, want ErrNotFound", err)
	}

	if err := st.FinishUpload(ctx, u.VideoID); err != nil {
		t.Fatalf("FinishUpload: %v", err)
	}
	if err := st.FinishUpload(ctx, u.VideoID); !errors.Is(err, store.ErrConflict) {
		t.Errorf("FinishUpload twice: %v, want ErrConflict", err)
	}
	got, _ = st.FindUpload(ctx, u.VideoID)
	if got.Status != store.UploadUploaded || got.CompletedAt == nil || got.MultipartID != "" || got.TotalBytes != 150 {
		t.Errorf("finished upload = %+v, want uploaded, with a completion time, no multipart ID and 150 bytes", got)
	}
}

// In bytes mode, a range that overlaps a recorded one is a conflict, even
// when it starts elsewhere.
func TestCommitPartRefusesOverlappingRanges(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	tok := mustToken(t, st)
	u := newUpload(store.NewID(store.PrefixVideo), tok.ID, "SOURCE")
	u.Mode, u.TotalBytes, u.SourceSize, u.ReceivedParts = store.ModeBytes, 30<<20, 10<<20, 1
	if err := st.StartUpload(ctx, store.NewUpload{Upload: u, First: &store.Part{Seq: 0, Number: 1, Size: 10 << 20}, Video: &store.VideoCreate{Title: "x"}}); err != nil {
		t.Fatal(err)
	}
	_, err := st.CommitPart(ctx, store.PartCommit{VideoID: u.VideoID, TotalBytes: 30 << 20, Part: store.Part{Seq: 5 << 20, Number: 2, Size: 10 << 20}})
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("overlapping range: %v, want ErrConflict", err)
	}
	done, err := st.CommitPart(ctx, store.PartCommit{VideoID: u.VideoID, TotalBytes: 30 << 20, Part: store.Part{Seq: 10 << 20, Number: 3, Size: 20 << 20}})
	if err != nil || !done {
		t.Errorf("adjacent last range = %v, %v; want complete", done, err)
	}
}

func TestSetUploadTotal(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	tok := mustToken(t, st)
	u := startOwned(t, st, tok.ID, "SOURCE", 100)
	if _, err := st.SetUploadTotal(ctx, u.VideoID, 2); err != nil {
		t.Fatalf("SetUploadTotal(2): %v", err)
	}
	if _, err := st.SetUploadTotal(ctx, u.VideoID, 3); !errors.Is(err, store.ErrConflict) {
		t.Errorf("SetUploadTotal(3) after 2: %v, want ErrConflict", err)
	}
	v := startOwned(t, st, tok.ID, "SOURCEV", 100)
	if done, err := st.SetUploadTotal(ctx, v.VideoID, 1); err != nil || !done {
		t.Errorf("SetUploadTotal(1) of an upload holding part 1 = %v, %v; want completing", done, err)
	}
}

// The schema itself refuses states that make no sense, so a bug in the
// upload logic cannot record them.
func TestSchemaRefusesInconsistentUploads(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	tok := mustToken(t, st)
	for _, tt := range []struct {
		description string
		change      func(u *store.Upload)
	}{
		{"uploaded without a completion time", func(u *store.Upload) { u.Status = store.UploadUploaded }},
		{"an unknown status", func(u *store.Upload) { u.Status = "done" }},
		{"a negative size", func(u *store.Upload) { u.SourceSize = -1 }},
		{"more than 10000 parts", func(u *store.Upload) { u.TotalParts = 10001 }},
		{"in progress without a multipart upload", func(u *store.Upload) { u.MultipartID = "" }},
	} {
		t.Run(tt.description, func(t *testing.T) {
			u := newUpload(store.NewID(store.PrefixVideo), tok.ID, store.RandomString(10))
			tt.change(&u)
			if err := st.StartUpload(ctx, store.NewUpload{Upload: u, Video: &store.VideoCreate{Title: "x"}}); err == nil {
				t.Errorf("StartUpload succeeded, want a constraint error")
			}
		})
	}
}

func TestFindOpenLapsedAndCompletingUploads(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	tok := mustToken(t, st)
	other := mustToken(t, st)
	a := startOwned(t, st, tok.ID, "SOURCEA", 100)
	b := startOwned(t, st, tok.ID, "SOURCEB", 100)
	c := startOwned(t, st, other.ID, "SOURCEC", 100)
	done := startOwned(t, st, tok.ID, "SOURCED", 100)
	// b's lease is renewed by a part; done completes.
	if _, err := st.CommitPart(ctx, store.PartCommit{VideoID: b.VideoID, LeaseExpiresAt: storetest.Epoch.Add(2 * time.Hour),
		Part: store.Part{Seq: 3, Number: 3, Size: 5}}); err != nil {
		t.Fatal(err)
	}
	if completing, err := st.SetUploadTotal(ctx, done.VideoID, 1); err != nil || !completing {
		t.Fatalf("SetUploadTotal = %v, %v", completing, err)
	}

	ids := func(us []store.Upload, err error) []string {
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, u := range us {
			out = append(out, u.VideoID)
		}
		slices.Sort(out)
		return out
	}
	sorted := func(s ...string) []string { slices.Sort(s); return s }
	for _, tt := range []struct {
		description string
		got, want   []string
	}{
		{"open uploads of a token", ids(st.FindOpenUploads(ctx, tok.ID)), sorted(a.VideoID, b.VideoID)},
		{"open uploads of the other token", ids(st.FindOpenUploads(ctx, other.ID)), sorted(c.VideoID)},
		{"nothing lapsed just before the first lease ends", ids(st.FindLapsedUploads(ctx, storetest.Epoch.Add(time.Hour-time.Millisecond))), nil},
		{"a lease lapses when it ends", ids(st.FindLapsedUploads(ctx, storetest.Epoch.Add(time.Hour))), sorted(a.VideoID, c.VideoID)},
		{"a completing upload never lapses", ids(st.FindLapsedUploads(ctx, storetest.Epoch.Add(48*time.Hour))), sorted(a.VideoID, b.VideoID, c.VideoID)},
		{"completing uploads", ids(st.FindCompletingUploads(ctx, storetest.Epoch)), sorted(done.VideoID)},
	} {
		if !slices.Equal(tt.got, tt.want) {
			t.Errorf("%s = %v, want %v", tt.description, tt.got, tt.want)
		}
	}
}

func TestAbandonUpload(t *testing.T) {
	ctx := context.Background()
	t.Run("an upload that created its video takes the video with it", func(t *testing.T) {
		clk := storetest.NewClock()
		st := storetest.OpenWithClock(t, clk)
		tok := mustToken(t, st)
		u := startOwned(t, st, tok.ID, "SOURCE", 100)
		if _, err := st.AbandonUpload(ctx, u.VideoID, "idle"); !errors.Is(err, store.ErrConflict) {
			t.Errorf("AbandonUpload while the lease runs: %v, want ErrConflict", err)
		}
		clk.Advance(time.Hour)
		gone, err := st.AbandonUpload(ctx, u.VideoID, "idle")
		if err != nil {
			t.Fatalf("AbandonUpload: %v", err)
		}
		if got, want := strings.TrimSpace(fmt.Sprintln(gone.Key, gone.MultipartID, len(gone.Parts))), "SOURCE MPSOURCE 1"; got != want {
			t.Errorf("abandoned = %s, want %s", got, want)
		}
		if _, err := st.FindVideo(ctx, u.VideoID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("FindVideo after abandon: %v, want ErrNotFound", err)
		}
		if _, err := st.AbandonUpload(ctx, u.VideoID, "idle"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("AbandonUpload twice: %v, want ErrNotFound", err)
		}
	})
	t.Run("a video made beforehand is kept, empty, to be uploaded again", func(t *testing.T) {
		clk := storetest.NewClock()
		st := storetest.OpenWithClock(t, clk)
		tok := mustToken(t, st)
		v, err := st.CreateVideo(ctx, store.VideoCreate{Title: "kept", Tags: []string{"t"}})
		if err != nil {
			t.Fatal(err)
		}
		u := newUpload(v.ID, tok.ID, "SOURCE")
		if err := st.StartUpload(ctx, store.NewUpload{Upload: u, First: &store.Part{Seq: 1, Number: 1, Size: 100}}); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Hour)
		if _, err := st.AbandonUpload(ctx, v.ID, "idle"); err != nil {
			t.Fatalf("AbandonUpload: %v", err)
		}
		got, err := st.FindVideo(ctx, v.ID)
		if err != nil {
			t.Fatalf("FindVideo after abandon: %v", err)
		}
		if got, want := fmt.Sprint(got.Title, got.Tags, got.UploadStatus == ""), fmt.Sprint("kept", []string{"t"}, true); got != want {
			t.Errorf("title, tags, no upload = %s, want %s", got, want)
		}
		u.SourceKey = "SOURCE2"
		if err := st.StartUpload(ctx, store.NewUpload{Upload: u, First: &store.Part{Seq: 1, Number: 1, Size: 100}}); err != nil {
			t.Errorf("StartUpload after abandon: %v", err)
		}
	})
}

// BlobRefs names every object the metadata needs: sources, and parts kept
// in objects of their own (named by their ETags, with blob.Dir).
func TestBlobRefs(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	tok := mustToken(t, st)
	a := startOwned(t, st, tok.ID, "SOURCEA", 100)
	startOwned(t, st, tok.ID, "SOURCEB", 7)
	if _, err := st.CommitPart(ctx, store.PartCommit{VideoID: a.VideoID, Part: store.Part{Seq: 3, Number: 3, Size: 33, ETag: "STAGEDA3"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateVideo(ctx, store.VideoCreate{Title: "empty"}); err != nil {
		t.Fatal(err)
	}
	refs, err := st.BlobRefs(ctx)
	if err != nil {
		t.Fatalf("BlobRefs: %v", err)
	}
	if want := map[string]bool{"SOURCEA": true, "SOURCEB": true, "STAGEDA3": true}; !maps.Equal(refs, want) {
		t.Errorf("BlobRefs = %v, want %v", refs, want)
	}
	mps, err := st.MultipartRefs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"SOURCEA": "MPSOURCEA", "SOURCEB": "MPSOURCEB"}; !maps.Equal(mps, want) {
		t.Errorf("MultipartRefs = %v, want %v", mps, want)
	}
}

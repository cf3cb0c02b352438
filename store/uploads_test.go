package store_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
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

// newUpload is a part-mode upload started at Epoch with a one-hour lease.
func newUpload(videoID, tokenID, sourceKey string) store.Upload {
	return store.Upload{
		VideoID:        videoID,
		TokenID:        tokenID,
		Mode:           store.ModePart,
		Status:         store.UploadUploading,
		SourceKey:      sourceKey,
		Filename:       "clip.mp4",
		StartedAt:      storetest.Epoch,
		UpdatedAt:      storetest.Epoch,
		LeaseExpiresAt: storetest.Epoch.Add(time.Hour),
	}
}

// startOwned starts an upload that creates its own video, with part 1
// (size bytes) already in the source.
func startOwned(t *testing.T, st *store.Store, tokenID, sourceKey string, size int64) store.Upload {
	t.Helper()
	u := newUpload(store.NewID(store.PrefixVideo), tokenID, sourceKey)
	u.SourceSize, u.AppendedParts = size, 1
	err := st.StartUpload(context.Background(), store.NewUpload{
		Upload: u,
		First:  store.Part{Seq: 1, Size: size, Offset: 0, ReceivedAt: storetest.Epoch},
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
	want.Parts = []store.Part{{Seq: 1, Size: 100, Offset: 0, ReceivedAt: storetest.Epoch}}
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
	first := store.Part{Seq: 2, Size: 10, Offset: -1, StagedKey: "STAGED2", ReceivedAt: storetest.Epoch}

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
			first := first
			first.StagedKey += tt.sourceKey
			err := st.StartUpload(ctx, store.NewUpload{Upload: newUpload(tt.videoID, tok.ID, tt.sourceKey), First: first})
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("StartUpload error = %v, want %v", err, tt.want)
			}
		})
	}

	u, err := st.FindUpload(ctx, v.ID)
	if err != nil {
		t.Fatalf("FindUpload: %v", err)
	}
	if got, want := u.SourceKey, "SOURCE1"; got != want {
		t.Errorf("source key = %s, want %s (the refused start changed nothing)", got, want)
	}
	if u.OwnsVideo {
		t.Errorf("OwnsVideo = true for a video made beforehand")
	}
	if got, want := len(u.Parts), 1; got != want {
		t.Fatalf("parts = %d, want %d", got, want)
	}
	if p := u.Parts[0]; !p.Staged() || p.Offset != -1 || p.StagedKey != "STAGED2SOURCE1" {
		t.Errorf("part = %+v, want staged in STAGED2SOURCE1 with offset -1", p)
	}
	if got, want := fmt.Sprint(storeTitle(t, st, v.ID)), "made by POST /videos"; got != want {
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

func TestSaveUpload(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	tok := mustToken(t, st)
	u := startOwned(t, st, tok.ID, "SOURCE", 100)

	// Part 3 arrives early and waits aside.
	later := storetest.Epoch.Add(time.Minute)
	u.UpdatedAt, u.LeaseExpiresAt = later, later.Add(time.Hour)
	p3 := store.Part{Seq: 3, Size: 30, Offset: -1, StagedKey: "STAGED3", ReceivedAt: later}
	if err := st.SaveUpload(ctx, u, store.PartChange{Insert: &p3}); err != nil {
		t.Fatalf("SaveUpload(insert 3): %v", err)
	}

	// The same part again is a conflict, and the whole save is undone.
	again := u
	again.SourceSize = 999
	dup := store.Part{Seq: 3, Size: 30, Offset: -1, StagedKey: "STAGED3B", ReceivedAt: later}
	if got, want := st.SaveUpload(ctx, again, store.PartChange{Insert: &dup}), store.ErrConflict; !errors.Is(got, want) {
		t.Errorf("SaveUpload(insert 3 again) error = %v, want %v", got, want)
	}

	// Part 2 goes straight into the source, then part 3 is moved in.
	p2 := store.Part{Seq: 2, Size: 20, Offset: 100, ReceivedAt: later}
	u.SourceSize, u.AppendedParts = 120, 2
	if err := st.SaveUpload(ctx, u, store.PartChange{Insert: &p2}); err != nil {
		t.Fatalf("SaveUpload(insert 2): %v", err)
	}
	moved := p3
	moved.Offset = 120
	u.SourceSize, u.AppendedParts, u.TotalParts = 150, 3, 3
	u.Status, u.CompletedAt, u.TotalBytes = store.UploadUploaded, &later, 150
	if err := st.SaveUpload(ctx, u, store.PartChange{Appended: &moved}); err != nil {
		t.Fatalf("SaveUpload(append 3): %v", err)
	}
	// Moving it in twice is a conflict.
	if got, want := st.SaveUpload(ctx, u, store.PartChange{Appended: &moved}), store.ErrConflict; !errors.Is(got, want) {
		t.Errorf("SaveUpload(append 3 again) error = %v, want %v", got, want)
	}

	got, err := st.FindUpload(ctx, u.VideoID)
	if err != nil {
		t.Fatalf("FindUpload: %v", err)
	}
	want := u
	want.OwnsVideo = true
	want.Parts = []store.Part{
		{Seq: 1, Size: 100, Offset: 0, ReceivedAt: storetest.Epoch},
		{Seq: 2, Size: 20, Offset: 100, ReceivedAt: later},
		{Seq: 3, Size: 30, Offset: 120, ReceivedAt: later},
	}
	if got, want := fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", want); got != want {
		t.Errorf("FindUpload =\n%s\nwant\n%s", got, want)
	}

	missing := newUpload("vi0000000000000000000000", tok.ID, "X")
	if got, want := st.SaveUpload(ctx, missing, store.PartChange{}), store.ErrNotFound; !errors.Is(got, want) {
		t.Errorf("SaveUpload(unknown upload) error = %v, want %v", got, want)
	}
}

// The schema itself refuses states that make no sense, so a bug in the
// ingest logic cannot record them.
func TestSaveUploadRefusesInconsistentState(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	tok := mustToken(t, st)
	u := startOwned(t, st, tok.ID, "SOURCE", 100)

	for _, tt := range []struct {
		description string
		change      func(u *store.Upload)
	}{
		{"uploaded without a completion time", func(u *store.Upload) { u.Status = store.UploadUploaded }},
		{"an unknown status", func(u *store.Upload) { u.Status = "done" }},
		{"a negative source size", func(u *store.Upload) { u.SourceSize = -1 }},
		{"more than 10000 parts", func(u *store.Upload) { u.TotalParts = 10001 }},
	} {
		t.Run(tt.description, func(t *testing.T) {
			bad := u
			tt.change(&bad)
			if err := st.SaveUpload(ctx, bad, store.PartChange{}); err == nil {
				t.Errorf("SaveUpload succeeded, want a constraint error")
			}
		})
	}
}

func TestFindOpenLapsedAndDrainableUploads(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	tok := mustToken(t, st)
	other := mustToken(t, st)

	a := startOwned(t, st, tok.ID, "SOURCEA", 100)
	b := startOwned(t, st, tok.ID, "SOURCEB", 100)
	c := startOwned(t, st, other.ID, "SOURCEC", 100)
	done := startOwned(t, st, tok.ID, "SOURCED", 100)

	// b waits for part 2 and holds part 3 aside; its lease runs longer.
	b.UpdatedAt, b.LeaseExpiresAt = storetest.Epoch.Add(time.Hour), storetest.Epoch.Add(2*time.Hour)
	if err := st.SaveUpload(ctx, b, store.PartChange{Insert: &store.Part{Seq: 3, Size: 5, Offset: -1, StagedKey: "STAGEDB3", ReceivedAt: b.UpdatedAt}}); err != nil {
		t.Fatalf("SaveUpload(b): %v", err)
	}
	done.Status, done.CompletedAt, done.TotalParts = store.UploadUploaded, &storetest.Epoch, 1
	if err := st.SaveUpload(ctx, done, store.PartChange{}); err != nil {
		t.Fatalf("SaveUpload(done): %v", err)
	}

	videoIDs := func(us []store.Upload) []string {
		var ids []string
		for _, u := range us {
			ids = append(ids, u.VideoID)
		}
		slices.Sort(ids)
		return ids
	}
	sorted := func(ids ...string) []string { slices.Sort(ids); return ids }

	for _, tt := range []struct {
		description string
		find        func() ([]store.Upload, error)
		want        []string
	}{
		{
			description: "open uploads of a token leave out completed ones and other tokens' ones",
			find:        func() ([]store.Upload, error) { return st.FindOpenUploads(ctx, tok.ID) },
			want:        sorted(a.VideoID, b.VideoID),
		},
		{
			description: "open uploads of the other token",
			find:        func() ([]store.Upload, error) { return st.FindOpenUploads(ctx, other.ID) },
			want:        sorted(c.VideoID),
		},
		{
			description: "nothing has lapsed a millisecond before the first lease ends",
			find: func() ([]store.Upload, error) {
				return st.FindLapsedUploads(ctx, storetest.Epoch.Add(time.Hour-time.Millisecond))
			},
			want: nil,
		},
		{
			description: "a lease has lapsed at the moment it ends",
			find:        func() ([]store.Upload, error) { return st.FindLapsedUploads(ctx, storetest.Epoch.Add(time.Hour)) },
			want:        sorted(a.VideoID, c.VideoID),
		},
		{
			description: "completed uploads never lapse",
			find:        func() ([]store.Upload, error) { return st.FindLapsedUploads(ctx, storetest.Epoch.Add(48*time.Hour)) },
			want:        sorted(a.VideoID, b.VideoID, c.VideoID),
		},
		{
			description: "drainable uploads are the open ones with staged pieces",
			find:        func() ([]store.Upload, error) { return st.FindDrainableUploads(ctx) },
			want:        sorted(b.VideoID),
		},
	} {
		t.Run(tt.description, func(t *testing.T) {
			us, err := tt.find()
			if err != nil {
				t.Fatalf("find: %v", err)
			}
			if got, want := videoIDs(us), tt.want; !slices.Equal(got, want) {
				t.Errorf("uploads = %v, want %v", got, want)
			}
		})
	}

	open, err := st.FindOpenUploads(ctx, tok.ID)
	if err != nil {
		t.Fatalf("FindOpenUploads: %v", err)
	}
	for _, u := range open {
		if u.VideoID == b.VideoID {
			if got, want := len(u.Parts), 2; got != want {
				t.Errorf("b has %d parts loaded, want %d", got, want)
			}
		}
	}
}

func TestAbandonUpload(t *testing.T) {
	ctx := context.Background()

	t.Run("an upload that created its video takes the video with it", func(t *testing.T) {
		st := storetest.Open(t)
		tok := mustToken(t, st)
		u := startOwned(t, st, tok.ID, "SOURCE", 100)
		if err := st.SaveUpload(ctx, u, store.PartChange{Insert: &store.Part{Seq: 3, Size: 5, Offset: -1, StagedKey: "STAGED3", ReceivedAt: storetest.Epoch}}); err != nil {
			t.Fatalf("SaveUpload: %v", err)
		}
		keys, err := st.AbandonUpload(ctx, u.VideoID)
		if err != nil {
			t.Fatalf("AbandonUpload: %v", err)
		}
		slices.Sort(keys)
		if got, want := keys, []string{"SOURCE", "STAGED3"}; !slices.Equal(got, want) {
			t.Errorf("keys = %v, want %v", got, want)
		}
		if _, err := st.FindVideo(ctx, u.VideoID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("FindVideo after abandon: error = %v, want ErrNotFound", err)
		}
		if _, err := st.FindUpload(ctx, u.VideoID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("FindUpload after abandon: error = %v, want ErrNotFound", err)
		}
		if _, err := st.AbandonUpload(ctx, u.VideoID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("AbandonUpload twice: error = %v, want ErrNotFound", err)
		}
	})

	t.Run("a video made beforehand is kept, empty, to be uploaded again", func(t *testing.T) {
		st := storetest.Open(t)
		tok := mustToken(t, st)
		v, err := st.CreateVideo(ctx, store.VideoCreate{Title: "kept", Tags: []string{"t"}})
		if err != nil {
			t.Fatalf("CreateVideo: %v", err)
		}
		u := newUpload(v.ID, tok.ID, "SOURCE")
		u.SourceSize, u.AppendedParts = 100, 1
		if err := st.StartUpload(ctx, store.NewUpload{Upload: u, First: store.Part{Seq: 1, Size: 100, ReceivedAt: storetest.Epoch}}); err != nil {
			t.Fatalf("StartUpload: %v", err)
		}
		keys, err := st.AbandonUpload(ctx, v.ID)
		if err != nil {
			t.Fatalf("AbandonUpload: %v", err)
		}
		if got, want := keys, []string{"SOURCE"}; !slices.Equal(got, want) {
			t.Errorf("keys = %v, want %v", got, want)
		}
		got, err := st.FindVideo(ctx, v.ID)
		if err != nil {
			t.Fatalf("FindVideo after abandon: %v", err)
		}
		if got, want := fmt.Sprint(got.Title, got.Tags, got.UploadStatus == ""), fmt.Sprint("kept", []string{"t"}, true); got != want {
			t.Errorf("title, tags, no upload = %s, want %s", got, want)
		}
		// The video can take a new upload.
		u.SourceKey = "SOURCE2"
		if err := st.StartUpload(ctx, store.NewUpload{Upload: u, First: store.Part{Seq: 1, Size: 100, ReceivedAt: storetest.Epoch}}); err != nil {
			t.Errorf("StartUpload after abandon: %v", err)
		}
	})

	t.Run("a completed upload is not abandoned", func(t *testing.T) {
		st := storetest.Open(t)
		tok := mustToken(t, st)
		u := startOwned(t, st, tok.ID, "SOURCE", 100)
		u.Status, u.CompletedAt, u.TotalParts = store.UploadUploaded, &storetest.Epoch, 1
		if err := st.SaveUpload(ctx, u, store.PartChange{}); err != nil {
			t.Fatalf("SaveUpload: %v", err)
		}
		if _, err := st.AbandonUpload(ctx, u.VideoID); !errors.Is(err, store.ErrConflict) {
			t.Errorf("AbandonUpload(completed) error = %v, want ErrConflict", err)
		}
		if _, err := st.FindVideo(ctx, u.VideoID); err != nil {
			t.Errorf("FindVideo after refused abandon: %v", err)
		}
	})
}

// BlobRefs names every blob the metadata needs, with the length of its
// durable content: recovery trims each blob to that length and deletes
// every other blob.
func TestBlobRefs(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	tok := mustToken(t, st)
	a := startOwned(t, st, tok.ID, "SOURCEA", 100)
	startOwned(t, st, tok.ID, "SOURCEB", 7)
	if err := st.SaveUpload(ctx, a, store.PartChange{Insert: &store.Part{Seq: 3, Size: 33, Offset: -1, StagedKey: "STAGEDA3", ReceivedAt: storetest.Epoch}}); err != nil {
		t.Fatalf("SaveUpload: %v", err)
	}
	// A video without an upload holds no bytes.
	if _, err := st.CreateVideo(ctx, store.VideoCreate{Title: "empty"}); err != nil {
		t.Fatalf("CreateVideo: %v", err)
	}

	refs, err := st.BlobRefs(ctx)
	if err != nil {
		t.Fatalf("BlobRefs: %v", err)
	}
	want := map[string]int64{"SOURCEA": 100, "SOURCEB": 7, "STAGEDA3": 33}
	if !maps.Equal(refs, want) {
		t.Errorf("BlobRefs = %v, want %v", refs, want)
	}
}

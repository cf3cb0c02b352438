package store_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/storetest"
)

func TestCreateAndFindVideo(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)

	v, err := st.CreateVideo(ctx, store.VideoCreate{
		Title:       "Maths video",
		Description: "An amazing video",
		Public:      false,
		Panoramic:   true,
		MP4Support:  true,
		Language:    ptr("en"),
		PlayerID:    ptr("pl45KFKdlddgk654dspkze"),
		Tags:        []string{"maths", "string theory"},
		Metadata:    []store.Metadata{{Key: "Format", Value: "Tutorial"}, {Key: "Author", Value: "John Doe"}},
	})
	if err != nil {
		t.Fatalf("CreateVideo: %v", err)
	}
	got, err := st.FindVideo(ctx, v.ID)
	if err != nil {
		t.Fatalf("FindVideo: %v", err)
	}
	if !store.ValidID(store.PrefixVideo, got.ID) || len(got.ID) != 24 {
		t.Errorf("ID = %q, want \"vi\" and 22 base62 characters", got.ID)
	}
	for _, tt := range []struct {
		description string
		got, want   any
	}{
		{"title", got.Title, "Maths video"},
		{"description", got.Description, "An amazing video"},
		{"public", got.Public, false},
		{"panoramic", got.Panoramic, true},
		{"mp4Support", got.MP4Support, true},
		{"language", deref(got.Language), "en"},
		{"languageOrigin", deref(got.LanguageOrigin), "api"},
		{"playerId", deref(got.PlayerID), "pl45KFKdlddgk654dspkze"},
		{"tags, in order", fmt.Sprint(got.Tags), "[maths string theory]"},
		{"metadata, in order", fmt.Sprint(got.Metadata), "[{Format Tutorial} {Author John Doe}]"},
		{"createdAt", got.CreatedAt, storetest.Epoch},
		{"updatedAt", got.UpdatedAt, storetest.Epoch},
		{"publishedAt", got.PublishedAt, storetest.Epoch},
		{"no upload yet", got.UploadStatus, ""},
		{"CreateVideo returns what FindVideo finds", reflect.DeepEqual(v, got), true},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.description, tt.got, tt.want)
		}
	}
}

func TestCreateVideoWithoutLanguageHasNoOrigin(t *testing.T) {
	st := storetest.Open(t)
	v, err := st.CreateVideo(context.Background(), store.VideoCreate{Title: "x"})
	if err != nil {
		t.Fatalf("CreateVideo: %v", err)
	}
	if v.Language != nil || v.LanguageOrigin != nil || v.PlayerID != nil {
		t.Errorf("language, origin, player = %v, %v, %v; want all nil", v.Language, v.LanguageOrigin, v.PlayerID)
	}
	if v.Tags != nil || v.Metadata != nil {
		t.Errorf("tags, metadata = %v, %v; want none", v.Tags, v.Metadata)
	}
}

func TestFindVideoUnknown(t *testing.T) {
	st := storetest.Open(t)
	_, err := st.FindVideo(context.Background(), "vi0000000000000000000000")
	if got, want := err, store.ErrNotFound; !errors.Is(got, want) {
		t.Errorf("FindVideo(unknown) error = %v, want %v", got, want)
	}
}

// UpdateVideo touches only the fields it is given. Nullable fields tell
// "leave alone" (Set false) from "set to null" (Set true, Value nil), and
// Tags and Metadata replace the whole list.
func TestUpdateVideo(t *testing.T) {
	for _, tt := range []struct {
		description string
		update      store.VideoUpdate
		check       func(t *testing.T, v store.Video)
	}{
		{
			description: "an empty update changes nothing but updatedAt",
			update:      store.VideoUpdate{},
			check: func(t *testing.T, v store.Video) {
				if got, want := v.Title, "Before"; got != want {
					t.Errorf("title = %q, want %q", got, want)
				}
				if got, want := deref(v.Language), "en"; got != want {
					t.Errorf("language = %q, want %q", got, want)
				}
				if got, want := deref(v.PlayerID), "pl1"; got != want {
					t.Errorf("playerId = %q, want %q", got, want)
				}
				if got, want := fmt.Sprint(v.Tags), "[a b]"; got != want {
					t.Errorf("tags = %s, want %s", got, want)
				}
			},
		},
		{
			description: "scalar fields",
			update: store.VideoUpdate{
				Title:       ptr("After"),
				Description: ptr("New description"),
				Public:      ptr(false),
				Panoramic:   ptr(true),
				MP4Support:  ptr(false),
			},
			check: func(t *testing.T, v store.Video) {
				if got, want := fmt.Sprint(v.Title, v.Description, v.Public, v.Panoramic, v.MP4Support), fmt.Sprint("After", "New description", false, true, false); got != want {
					t.Errorf("title, description, public, panoramic, mp4Support = %s, want %s", got, want)
				}
			},
		},
		{
			description: "language set to another value keeps origin api",
			update:      store.VideoUpdate{Language: store.Nullable[string]{Set: true, Value: ptr("fr")}},
			check: func(t *testing.T, v store.Video) {
				if got, want := deref(v.Language)+"/"+deref(v.LanguageOrigin), "fr/api"; got != want {
					t.Errorf("language/origin = %s, want %s", got, want)
				}
			},
		},
		{
			description: "language set to null clears it and its origin",
			update:      store.VideoUpdate{Language: store.Nullable[string]{Set: true}},
			check: func(t *testing.T, v store.Video) {
				if v.Language != nil || v.LanguageOrigin != nil {
					t.Errorf("language, origin = %v, %v; want nil, nil", v.Language, v.LanguageOrigin)
				}
				if got, want := deref(v.PlayerID), "pl1"; got != want {
					t.Errorf("playerId = %q, want %q (untouched)", got, want)
				}
			},
		},
		{
			description: "playerId set to null detaches the player",
			update:      store.VideoUpdate{PlayerID: store.Nullable[string]{Set: true}},
			check: func(t *testing.T, v store.Video) {
				if v.PlayerID != nil {
					t.Errorf("playerId = %q, want nil", *v.PlayerID)
				}
				if got, want := deref(v.Language), "en"; got != want {
					t.Errorf("language = %q, want %q (untouched)", got, want)
				}
			},
		},
		{
			description: "tags and metadata are replaced, not merged",
			update: store.VideoUpdate{
				Tags:     &[]string{"c"},
				Metadata: &[]store.Metadata{{Key: "k2", Value: "v2"}},
			},
			check: func(t *testing.T, v store.Video) {
				if got, want := fmt.Sprint(v.Tags), "[c]"; got != want {
					t.Errorf("tags = %s, want %s", got, want)
				}
				if got, want := fmt.Sprint(v.Metadata), "[{k2 v2}]"; got != want {
					t.Errorf("metadata = %s, want %s", got, want)
				}
			},
		},
		{
			description: "empty lists clear tags and metadata",
			update:      store.VideoUpdate{Tags: &[]string{}, Metadata: &[]store.Metadata{}},
			check: func(t *testing.T, v store.Video) {
				if len(v.Tags) != 0 || len(v.Metadata) != 0 {
					t.Errorf("tags, metadata = %v, %v; want both empty", v.Tags, v.Metadata)
				}
			},
		},
	} {
		t.Run(tt.description, func(t *testing.T) {
			ctx := context.Background()
			clock := storetest.NewClock()
			st := storetest.OpenWithClock(t, clock)
			v, err := st.CreateVideo(ctx, store.VideoCreate{
				Title:      "Before",
				Public:     true,
				MP4Support: true,
				Language:   ptr("en"),
				PlayerID:   ptr("pl1"),
				Tags:       []string{"a", "b"},
				Metadata:   []store.Metadata{{Key: "k", Value: "v"}},
			})
			if err != nil {
				t.Fatalf("CreateVideo: %v", err)
			}
			clock.Advance(time.Minute)
			got, err := st.UpdateVideo(ctx, v.ID, tt.update)
			if err != nil {
				t.Fatalf("UpdateVideo: %v", err)
			}
			found, err := st.FindVideo(ctx, v.ID)
			if err != nil {
				t.Fatalf("FindVideo: %v", err)
			}
			if !reflect.DeepEqual(got, found) {
				t.Errorf("UpdateVideo returned %+v, but FindVideo finds %+v", got, found)
			}
			tt.check(t, found)
			if got, want := found.UpdatedAt, storetest.Epoch.Add(time.Minute); !got.Equal(want) {
				t.Errorf("updatedAt = %v, want %v", got, want)
			}
			if got, want := found.CreatedAt, storetest.Epoch; !got.Equal(want) {
				t.Errorf("createdAt = %v, want %v (unchanged)", got, want)
			}
		})
	}
}

func TestUpdateVideoUnknown(t *testing.T) {
	st := storetest.Open(t)
	_, err := st.UpdateVideo(context.Background(), "vi0000000000000000000000", store.VideoUpdate{Tags: &[]string{"x"}})
	if got, want := err, store.ErrNotFound; !errors.Is(got, want) {
		t.Errorf("UpdateVideo(unknown) error = %v, want %v", got, want)
	}
}

func TestListVideos(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock()
	st := storetest.OpenWithClock(t, clock)

	ids := map[string]string{}
	for _, c := range []store.VideoCreate{
		{Title: "100% Maths", Description: "numbers", Tags: []string{"maths", "school"}, Metadata: []store.Metadata{{Key: "Author", Value: "Ada"}}},
		{Title: "1000 Maths facts", Description: "more numbers", Tags: []string{"maths"}, Metadata: []store.Metadata{{Key: "Author", Value: "Bob"}}},
		{Title: "snake_case", Tags: []string{"code", "school"}, Metadata: []store.Metadata{{Key: "Author", Value: "Ada"}, {Key: "Level", Value: "1"}}},
		{Title: "snakeXcase", Tags: []string{"code"}},
		{Title: "back\\slash"},
	} {
		v, err := st.CreateVideo(ctx, c)
		if err != nil {
			t.Fatalf("CreateVideo: %v", err)
		}
		ids[c.Title] = v.ID
		clock.Advance(time.Second)
	}
	// Updating the oldest video makes it the most recently updated one.
	if _, err := st.UpdateVideo(ctx, ids["100% Maths"], store.VideoUpdate{}); err != nil {
		t.Fatalf("UpdateVideo: %v", err)
	}

	byCreation := []string{"100% Maths", "1000 Maths facts", "snake_case", "snakeXcase", "back\\slash"}
	for _, tt := range []struct {
		description string
		filter      store.VideoFilter
		want        []string
		wantTotal   int
	}{
		{
			description: "no filter, createdAt ascending",
			filter:      store.VideoFilter{Sort: store.VideoSortCreatedAt},
			want:        byCreation,
		},
		{
			description: "createdAt descending",
			filter:      store.VideoFilter{Sort: store.VideoSortCreatedAt, Desc: true},
			want:        reversed(byCreation),
		},
		{
			description: "publishedAt ascending",
			filter:      store.VideoFilter{Sort: store.VideoSortPublishedAt},
			want:        byCreation,
		},
		{
			description: "updatedAt ascending",
			filter:      store.VideoFilter{Sort: store.VideoSortUpdatedAt},
			want:        []string{"1000 Maths facts", "snake_case", "snakeXcase", "back\\slash", "100% Maths"},
		},
		{
			description: "title ascending, byte order",
			filter:      store.VideoFilter{Sort: store.VideoSortTitle},
			want:        []string{"100% Maths", "1000 Maths facts", "back\\slash", "snakeXcase", "snake_case"},
		},
		{
			description: "title descending",
			filter:      store.VideoFilter{Sort: store.VideoSortTitle, Desc: true},
			want:        []string{"snake_case", "snakeXcase", "back\\slash", "1000 Maths facts", "100% Maths"},
		},
		{
			description: "title substring, case-insensitive",
			filter:      store.VideoFilter{Sort: store.VideoSortCreatedAt, Title: "maTHS"},
			want:        []string{"100% Maths", "1000 Maths facts"},
		},
		{
			description: "title with % matches a literal percent sign",
			filter:      store.VideoFilter{Sort: store.VideoSortCreatedAt, Title: "0%"},
			want:        []string{"100% Maths"},
		},
		{
			description: "title with _ matches a literal underscore",
			filter:      store.VideoFilter{Sort: store.VideoSortCreatedAt, Title: "e_c"},
			want:        []string{"snake_case"},
		},
		{
			description: "title with a backslash matches a literal backslash",
			filter:      store.VideoFilter{Sort: store.VideoSortCreatedAt, Title: "k\\s"},
			want:        []string{"back\\slash"},
		},
		{
			description: "description substring",
			filter:      store.VideoFilter{Sort: store.VideoSortCreatedAt, Description: "more"},
			want:        []string{"1000 Maths facts"},
		},
		{
			description: "one tag",
			filter:      store.VideoFilter{Sort: store.VideoSortCreatedAt, Tags: []string{"school"}},
			want:        []string{"100% Maths", "snake_case"},
		},
		{
			description: "all of several tags",
			filter:      store.VideoFilter{Sort: store.VideoSortCreatedAt, Tags: []string{"code", "school"}},
			want:        []string{"snake_case"},
		},
		{
			description: "a tag nobody has",
			filter:      store.VideoFilter{Sort: store.VideoSortCreatedAt, Tags: []string{"maths", "code"}},
			want:        nil,
		},
		{
			description: "a metadata pair",
			filter:      store.VideoFilter{Sort: store.VideoSortCreatedAt, Metadata: []store.Metadata{{Key: "Author", Value: "Ada"}}},
			want:        []string{"100% Maths", "snake_case"},
		},
		{
			description: "all of several metadata pairs",
			filter:      store.VideoFilter{Sort: store.VideoSortCreatedAt, Metadata: []store.Metadata{{Key: "Author", Value: "Ada"}, {Key: "Level", Value: "1"}}},
			want:        []string{"snake_case"},
		},
		{
			description: "a key with another value does not match",
			filter:      store.VideoFilter{Sort: store.VideoSortCreatedAt, Metadata: []store.Metadata{{Key: "Author", Value: "Eve"}}},
			want:        nil,
		},
		{
			description: "filters combine",
			filter:      store.VideoFilter{Sort: store.VideoSortCreatedAt, Title: "snake", Tags: []string{"code"}, Metadata: []store.Metadata{{Key: "Level", Value: "1"}}},
			want:        []string{"snake_case"},
		},
		{
			description: "second page, total counts every match",
			filter:      store.VideoFilter{Sort: store.VideoSortCreatedAt, Page: store.Page{Number: 2, Size: 2}},
			want:        byCreation[2:4],
			wantTotal:   5,
		},
		{
			description: "page past the end",
			filter:      store.VideoFilter{Sort: store.VideoSortCreatedAt, Page: store.Page{Number: 9, Size: 2}},
			want:        nil,
			wantTotal:   5,
		},
	} {
		t.Run(tt.description, func(t *testing.T) {
			f := tt.filter
			if f.Page.Size == 0 {
				f.Page = store.Page{Number: 1, Size: 100}
			}
			list, total, err := st.ListVideos(ctx, f)
			if err != nil {
				t.Fatalf("ListVideos: %v", err)
			}
			var got []string
			for _, v := range list {
				got = append(got, v.Title)
				if v.ID != ids[v.Title] {
					t.Errorf("video %q has ID %s, want %s", v.Title, v.ID, ids[v.Title])
				}
			}
			if want := tt.want; !slices.Equal(got, want) {
				t.Errorf("titles = %q, want %q", got, want)
			}
			wantTotal := tt.wantTotal
			if wantTotal == 0 {
				wantTotal = len(tt.want)
			}
			if got, want := total, wantTotal; got != want {
				t.Errorf("total = %d, want %d", got, want)
			}
		})
	}
}

func TestListVideosLoadsTagsAndMetadataPerVideo(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	for i := range 3 {
		_, err := st.CreateVideo(ctx, store.VideoCreate{
			Title:    fmt.Sprint(i),
			Tags:     []string{fmt.Sprint("t", i), "common"},
			Metadata: []store.Metadata{{Key: "i", Value: fmt.Sprint(i)}},
		})
		if err != nil {
			t.Fatalf("CreateVideo: %v", err)
		}
	}
	list, _, err := st.ListVideos(ctx, store.VideoFilter{Sort: store.VideoSortTitle, Page: store.Page{Number: 1, Size: 10}})
	if err != nil {
		t.Fatalf("ListVideos: %v", err)
	}
	for i, v := range list {
		if got, want := strings.Join(v.Tags, ","), fmt.Sprintf("t%d,common", i); got != want {
			t.Errorf("video %d tags = %s, want %s", i, got, want)
		}
		if got, want := fmt.Sprint(v.Metadata), fmt.Sprintf("[{i %d}]", i); got != want {
			t.Errorf("video %d metadata = %s, want %s", i, got, want)
		}
	}
}

func TestListVideosUnknownSort(t *testing.T) {
	st := storetest.Open(t)
	_, _, err := st.ListVideos(context.Background(), store.VideoFilter{Sort: "duration", Page: store.Page{Number: 1, Size: 10}})
	if err == nil {
		t.Errorf("ListVideos with an unknown sort succeeded, want an error")
	}
}

// DeleteVideo hands back what held the video's bytes, so that the caller
// can remove them; after it, the video and its upload are gone, and an
// upload through a link in progress is released with it.
func TestDeleteVideo(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	tok := mustToken(t, st)
	v, err := st.CreateVideo(ctx, store.VideoCreate{Title: "x", Tags: []string{"a"}})
	if err != nil {
		t.Fatalf("CreateVideo: %v", err)
	}
	u := newUpload(v.ID, tok.ID, "SOURCEKEY0001")
	err = st.StartUpload(ctx, store.NewUpload{Upload: u, First: &store.Part{Seq: 2, Number: 2, Size: 10, ETag: "STAGEDKEY0002", ReceivedAt: storetest.Epoch}})
	if err != nil {
		t.Fatalf("StartUpload: %v", err)
	}
	gone, released, err := st.DeleteVideo(ctx, v.ID, store.EventCancelled, "deleted")
	if err != nil {
		t.Fatalf("DeleteVideo: %v", err)
	}
	if got, want := strings.TrimSpace(fmt.Sprintln(gone.Key, gone.MultipartID, gone.Parts[0].ETag, released)), "SOURCEKEY0001 MPSOURCEKEY0001 STAGEDKEY0002 false"; got != want {
		t.Errorf("deleted = %s, want %s", got, want)
	}
	if _, err := st.FindVideo(ctx, v.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("FindVideo after delete: error = %v, want ErrNotFound", err)
	}
	if refs, err := st.BlobRefs(ctx); err != nil || len(refs) != 0 {
		t.Errorf("blob references after delete = %v, %v; want none", refs, err)
	}
	if _, _, err := st.DeleteVideo(ctx, v.ID, store.EventCancelled, "deleted"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteVideo twice: error = %v, want ErrNotFound", err)
	}
}

// Deleting the video of an upload through a link in progress releases
// the link upload in the same transaction: its slot is free at once, and
// the link's timeline says why (issue 10).
func TestDeleteVideoReleasesItsLinkUpload(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	l := mustLink(t, st, "one time", 0, 1)
	lu := store.LinkUpload{
		ID: store.RandomString(22), LinkID: l.ID, VideoID: store.NewID(store.PrefixVideo), Filename: "a.mp4",
		Size: 10, ChunkSize: 10, TotalParts: 1, HashState: []byte{0}, LeaseExpiresAt: st.Now().Add(time.Hour),
	}
	up := newUpload(lu.VideoID, "", "SRC")
	if err := st.StartLinkUpload(ctx, lu, store.NewUpload{Upload: up, Video: &store.VideoCreate{Title: "a"}}); err != nil {
		t.Fatalf("StartLinkUpload: %v", err)
	}
	if l, _ := st.FindLink(ctx, l.ID); l.Remaining() != 0 {
		t.Fatalf("remaining slots = %d while the upload runs, want 0", l.Remaining())
	}
	_, released, err := st.DeleteVideo(ctx, lu.VideoID, store.EventCancelled, "the video was deleted")
	if err != nil || !released {
		t.Fatalf("DeleteVideo = released %v, %v; want released", released, err)
	}
	got, err := st.FindLinkUpload(ctx, l.ID, lu.VideoID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(fmt.Sprintln(got.Status, got.ReleasedReason)), "released the video was deleted"; got != want {
		t.Errorf("link upload = %s, want %s", got, want)
	}
	if l, _ := st.FindLink(ctx, l.ID); l.Remaining() != 1 {
		t.Errorf("remaining slots = %d after the delete, want 1", l.Remaining())
	}
}

func TestDeleteVideoWithoutUpload(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	v, err := st.CreateVideo(ctx, store.VideoCreate{Title: "x"})
	if err != nil {
		t.Fatalf("CreateVideo: %v", err)
	}
	gone, _, err := st.DeleteVideo(ctx, v.ID, store.EventCancelled, "deleted")
	if err != nil {
		t.Fatalf("DeleteVideo: %v", err)
	}
	if gone.Key != "" {
		t.Errorf("bytes to remove = %+v, want none", gone)
	}
}

func reversed(s []string) []string {
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// Videos created in the same millisecond tie on every date; they are then
// ordered by ID, so that pages neither repeat nor skip a video.
func TestListVideosTiesArePagedStably(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	var ids []string
	for range 7 {
		v, err := st.CreateVideo(ctx, store.VideoCreate{Title: "same"})
		if err != nil {
			t.Fatalf("CreateVideo: %v", err)
		}
		ids = append(ids, v.ID)
	}
	for _, tt := range []struct {
		description string
		sort        store.VideoSort
		desc        bool
	}{
		{"createdAt ascending", store.VideoSortCreatedAt, false},
		{"title descending", store.VideoSortTitle, true},
		{"updatedAt ascending", store.VideoSortUpdatedAt, false},
	} {
		t.Run(tt.description, func(t *testing.T) {
			var got []string
			for page := 1; page <= 3; page++ {
				list, _, err := st.ListVideos(ctx, store.VideoFilter{Sort: tt.sort, Desc: tt.desc, Page: store.Page{Number: page, Size: 3}})
				if err != nil {
					t.Fatalf("ListVideos: %v", err)
				}
				for _, v := range list {
					got = append(got, v.ID)
				}
			}
			want := slices.Sorted(slices.Values(ids))
			if tt.desc {
				slices.Reverse(want)
			}
			if !slices.Equal(got, want) {
				t.Errorf("paged IDs = %v, want %v", got, want)
			}
		})
	}
}

package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/storetest"
)

func TestCreateUploadToken(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)

	for _, tt := range []struct {
		description string
		ttl         int
		wantExpires *time.Time
	}{
		{
			description: "ttl 0 never expires",
			ttl:         0,
			wantExpires: nil,
		},
		{
			description: "ttl 3600 expires an hour after creation",
			ttl:         3600,
			wantExpires: ptr(storetest.Epoch.Add(time.Hour)),
		},
		{
			description: "the largest ttl api.video accepts",
			ttl:         store.MaxTokenTTL,
			wantExpires: ptr(storetest.Epoch.Add(store.MaxTokenTTL * time.Second)),
		},
	} {
		t.Run(tt.description, func(t *testing.T) {
			tok, err := st.CreateUploadToken(ctx, tt.ttl)
			if err != nil {
				t.Fatalf("CreateUploadToken(%d): %v", tt.ttl, err)
			}
			if !store.ValidID(store.PrefixUploadToken, tok.ID) || len(tok.ID) != 24 {
				t.Errorf("ID = %q, want \"to\" and 22 base62 characters", tok.ID)
			}
			got, err := st.FindUploadToken(ctx, tok.ID)
			if err != nil {
				t.Fatalf("FindUploadToken: %v", err)
			}
			for _, g := range []store.UploadToken{tok, got} {
				if got, want := g.TTL, tt.ttl; got != want {
					t.Errorf("TTL = %d, want %d", got, want)
				}
				if got, want := g.CreatedAt, storetest.Epoch; !got.Equal(want) {
					t.Errorf("CreatedAt = %v, want %v", got, want)
				}
				if got, want := fmtTime(g.ExpiresAt), fmtTime(tt.wantExpires); got != want {
					t.Errorf("ExpiresAt = %s, want %s", got, want)
				}
				if g.Deleted() {
					t.Errorf("a new token is deleted")
				}
			}
		})
	}
}

func TestCreateUploadTokenRefusesTTLOutOfRange(t *testing.T) {
	st := storetest.Open(t)
	for _, ttl := range []int{-1, store.MaxTokenTTL + 1} {
		if _, err := st.CreateUploadToken(context.Background(), ttl); err == nil {
			t.Errorf("CreateUploadToken(%d) succeeded, want an error", ttl)
		}
	}
}

func TestFindUploadTokenUnknown(t *testing.T) {
	st := storetest.Open(t)
	_, err := st.FindUploadToken(context.Background(), "to0000000000000000000000")
	if got, want := err, store.ErrNotFound; !errors.Is(got, want) {
		t.Errorf("FindUploadToken(unknown) error = %v, want %v", got, want)
	}
}

// A token expires when the clock reaches its expiry, and not a
// millisecond earlier; FindUploadToken still returns it, since the upload
// endpoint needs to tell expired tokens from unknown ones.
func TestUploadTokenExpiresWithTheClock(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock()
	st := storetest.OpenWithClock(t, clock)
	tok, err := st.CreateUploadToken(ctx, 10)
	if err != nil {
		t.Fatalf("CreateUploadToken: %v", err)
	}
	for _, tt := range []struct {
		description string
		after       time.Duration
		wantExpired bool
		wantListed  bool
	}{
		{"at creation", 0, false, true},
		{"a millisecond before expiry", 10*time.Second - time.Millisecond, false, true},
		{"at expiry", 10 * time.Second, true, false},
		{"long after expiry", 24 * time.Hour, true, false},
	} {
		t.Run(tt.description, func(t *testing.T) {
			clock.Set(storetest.Epoch.Add(tt.after))
			got, err := st.FindUploadToken(ctx, tok.ID)
			if err != nil {
				t.Fatalf("FindUploadToken: %v", err)
			}
			if got, want := got.Expired(st.Now()), tt.wantExpired; got != want {
				t.Errorf("Expired = %v, want %v", got, want)
			}
			list, total, err := st.ListUploadTokens(ctx, store.TokenFilter{Sort: store.TokenSortCreatedAt, Page: store.Page{Number: 1, Size: 10}})
			if err != nil {
				t.Fatalf("ListUploadTokens: %v", err)
			}
			if got, want := len(list) == 1 && total == 1, tt.wantListed; got != want {
				t.Errorf("listed = %v (%d of %d), want %v", got, len(list), total, want)
			}
		})
	}
}

// DeleteUploadToken keeps the row, so that FindUploadToken can still tell
// a deleted token from one that never existed.
func TestDeleteUploadToken(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock()
	st := storetest.OpenWithClock(t, clock)
	tok, err := st.CreateUploadToken(ctx, 0)
	if err != nil {
		t.Fatalf("CreateUploadToken: %v", err)
	}
	clock.Advance(time.Minute)
	if err := st.DeleteUploadToken(ctx, tok.ID); err != nil {
		t.Fatalf("DeleteUploadToken: %v", err)
	}
	got, err := st.FindUploadToken(ctx, tok.ID)
	if err != nil {
		t.Fatalf("FindUploadToken after delete: %v", err)
	}
	if got, want := fmtTime(got.DeletedAt), fmtTime(ptr(storetest.Epoch.Add(time.Minute))); got != want {
		t.Errorf("DeletedAt = %s, want %s", got, want)
	}
	if !got.Deleted() {
		t.Errorf("Deleted() = false after DeleteUploadToken")
	}
	_, total, err := st.ListUploadTokens(ctx, store.TokenFilter{Sort: store.TokenSortCreatedAt, Page: store.Page{Number: 1, Size: 10}})
	if err != nil {
		t.Fatalf("ListUploadTokens: %v", err)
	}
	if got, want := total, 0; got != want {
		t.Errorf("active tokens after delete = %d, want %d", got, want)
	}

	for _, tt := range []struct {
		description string
		id          string
	}{
		{"deleting twice", tok.ID},
		{"deleting an unknown token", "to0000000000000000000000"},
	} {
		if got, want := st.DeleteUploadToken(ctx, tt.id), store.ErrNotFound; !errors.Is(got, want) {
			t.Errorf("%s: error = %v, want %v", tt.description, got, want)
		}
	}
}

func TestListUploadTokens(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock()
	st := storetest.OpenWithClock(t, clock)

	create := func(at time.Duration, ttl int) string {
		t.Helper()
		clock.Set(storetest.Epoch.Add(at))
		tok, err := st.CreateUploadToken(ctx, ttl)
		if err != nil {
			t.Fatalf("CreateUploadToken: %v", err)
		}
		return tok.ID
	}
	a := create(0, 0)               // Never expires.
	b := create(1*time.Second, 100) // Expires at +101 s.
	c := create(2*time.Second, 50)  // Expires at +52 s.
	create(3*time.Second, 10)       // Expired by the time of listing.
	deleted := create(4*time.Second, 1000)
	// Two tokens created in the same millisecond: pages must still be
	// stable, so they are ordered by ID.
	g := create(5*time.Second, 0)
	h := create(5*time.Second, 0)
	if h < g {
		g, h = h, g
	}
	if err := st.DeleteUploadToken(ctx, deleted); err != nil {
		t.Fatalf("DeleteUploadToken: %v", err)
	}
	clock.Set(storetest.Epoch.Add(20 * time.Second))

	for _, tt := range []struct {
		description string
		filter      store.TokenFilter
		want        []string
	}{
		{
			description: "createdAt ascending",
			filter:      store.TokenFilter{Sort: store.TokenSortCreatedAt},
			want:        []string{a, b, c, g, h},
		},
		{
			description: "createdAt descending",
			filter:      store.TokenFilter{Sort: store.TokenSortCreatedAt, Desc: true},
			want:        []string{h, g, c, b, a},
		},
		{
			description: "ttl ascending: soonest expiry first, tokens that never expire last",
			filter:      store.TokenFilter{Sort: store.TokenSortTTL},
			want:        []string{c, b, a, g, h},
		},
		{
			description: "ttl descending",
			filter:      store.TokenFilter{Sort: store.TokenSortTTL, Desc: true},
			want:        []string{h, g, a, b, c},
		},
		{
			description: "second page",
			filter:      store.TokenFilter{Sort: store.TokenSortCreatedAt, Page: store.Page{Number: 2, Size: 2}},
			want:        []string{c, g},
		},
		{
			description: "last, partial page",
			filter:      store.TokenFilter{Sort: store.TokenSortCreatedAt, Page: store.Page{Number: 3, Size: 2}},
			want:        []string{h},
		},
		{
			description: "page past the end",
			filter:      store.TokenFilter{Sort: store.TokenSortCreatedAt, Page: store.Page{Number: 4, Size: 2}},
			want:        nil,
		},
	} {
		t.Run(tt.description, func(t *testing.T) {
			f := tt.filter
			if f.Page.Size == 0 {
				f.Page = store.Page{Number: 1, Size: 100}
			}
			list, total, err := st.ListUploadTokens(ctx, f)
			if err != nil {
				t.Fatalf("ListUploadTokens: %v", err)
			}
			if got, want := tokenIDs(list), tt.want; !slices.Equal(got, want) {
				t.Errorf("tokens = %v, want %v", got, want)
			}
			if got, want := total, 5; got != want {
				t.Errorf("total = %d, want %d (active tokens only)", got, want)
			}
		})
	}
}

func TestListUploadTokensUnknownSort(t *testing.T) {
	st := storetest.Open(t)
	_, _, err := st.ListUploadTokens(context.Background(), store.TokenFilter{Sort: "expiresAt", Page: store.Page{Number: 1, Size: 10}})
	if err == nil {
		t.Errorf("ListUploadTokens with an unknown sort succeeded, want an error")
	}
}

func tokenIDs(ts []store.UploadToken) []string {
	var ids []string
	for _, t := range ts {
		ids = append(ids, t.ID)
	}
	return ids
}

func ptr[T any](v T) *T { return &v }

// fmtTime renders an optional time for comparison in test messages.
func fmtTime(t *time.Time) string {
	if t == nil {
		return "<nil>"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// A new token takes guesses of its parts' lengths; StopSizeGuesses turns
// that off for good, for that token only, and every read of the token
// sees it.
func TestStopSizeGuesses(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	tok, err := st.CreateUploadToken(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	other, err := st.CreateUploadToken(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := st.FindUploadToken(ctx, tok.ID); !tok.GuessSizes || !got.GuessSizes {
		t.Fatalf("a new token: GuessSizes %v, found %v; want true", tok.GuessSizes, got.GuessSizes)
	}
	for range 2 { // Stopping twice is no error.
		if err := st.StopSizeGuesses(ctx, tok.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.StopSizeGuesses(ctx, "toUnknown0000000000000000"); err != nil {
		t.Errorf("an unknown token: %v", err)
	}
	got, _ := st.FindUploadToken(ctx, tok.ID)
	kept, _ := st.FindUploadToken(ctx, other.ID)
	if got.GuessSizes || !kept.GuessSizes {
		t.Errorf("GuessSizes after StopSizeGuesses: %v, other token %v; want false, true", got.GuessSizes, kept.GuessSizes)
	}
	list, _, err := st.ListUploadTokens(ctx, store.TokenFilter{Sort: store.TokenSortCreatedAt, Page: store.Page{Number: 1, Size: 10}})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range list {
		if l.GuessSizes != (l.ID == other.ID) {
			t.Errorf("listed %s with GuessSizes %v", l.ID, l.GuessSizes)
		}
	}
}

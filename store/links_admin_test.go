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

// mustLink creates a link with the given label, ttl (seconds) and
// maximum number of uploads.
func mustLink(t *testing.T, st *store.Store, label string, ttl, maxUploads int) store.Link {
	t.Helper()
	l, err := st.CreateLink(context.Background(), store.LinkCreate{
		Label: label, TTL: ttl, MaxUploads: maxUploads,
	})
	if err != nil {
		t.Fatalf("CreateLink(%q): %v", label, err)
	}
	return l
}

// completeUpload runs one single-part upload through the link to its end.
func completeUpload(t *testing.T, st *store.Store, linkID string) {
	t.Helper()
	ctx := context.Background()
	u := store.LinkUpload{
		ID: store.RandomString(22), LinkID: linkID, Filename: "a.mp4", Size: 10, ChunkSize: 10,
		TotalParts: 1, HashState: []byte{0}, LeaseExpiresAt: st.Now().Add(time.Hour),
	}
	if err := st.ReserveLinkUpload(ctx, u); err != nil {
		t.Fatal(err)
	}
	videoID := "vi" + store.RandomString(22)
	if err := st.ActivateLinkUpload(ctx, u.ID, videoID, "", st.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := st.AdvanceLinkUpload(ctx, store.LinkAdvance{ID: u.ID, From: 1, HashState: []byte{0}, SHA256: "00"}, st.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
}

func linkLabels(ls []store.Link) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Label)
	}
	return out
}

func TestFindLinksByState(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock()
	st := storetest.OpenWithClock(t, clk)

	mustLink(t, st, "active forever", 0, 0)
	mustLink(t, st, "active for a day", 86400, 2)
	mustLink(t, st, "expires in a minute", 60, 0)
	usedUp := mustLink(t, st, "used up", 0, 1)
	completeUpload(t, st, usedUp.ID)
	partly := mustLink(t, st, "one of two", 0, 2)
	completeUpload(t, st, partly.ID)
	revoked := mustLink(t, st, "revoked", 0, 0)
	if _, err := st.RevokeLink(ctx, revoked.ID); err != nil {
		t.Fatal(err)
	}
	// Revoked and expired: revoked wins, as in Link.State.
	both := mustLink(t, st, "revoked and expired", 60, 0)
	if _, err := st.RevokeLink(ctx, both.ID); err != nil {
		t.Fatal(err)
	}
	// Used up and expired: expired wins.
	usedExpired := mustLink(t, st, "used up and expired", 60, 1)
	completeUpload(t, st, usedExpired.ID)

	// The expiry is exact: at expires_at the link is expired.
	clk.Advance(time.Minute)

	want := map[string][]string{
		store.LinkActive:  {"active forever", "active for a day", "one of two"},
		store.LinkExpired: {"expires in a minute", "used up and expired"},
		store.LinkUsedUp:  {"used up"},
		store.LinkRevoked: {"revoked", "revoked and expired"},
	}
	all, total, err := st.FindLinks(ctx, store.LinkFilter{Page: store.Page{Number: 1, Size: 100}})
	if err != nil {
		t.Fatal(err)
	}
	if total != 8 || len(all) != 8 {
		t.Fatalf("without a filter: %d links, total %d; want 8", len(all), total)
	}
	for _, l := range all {
		state := l.State(st.Now())
		if !slices.Contains(want[state], l.Label) {
			t.Errorf("Link.State(%q) = %s, but the test expects it elsewhere", l.Label, state)
		}
	}
	for state, wantLabels := range want {
		t.Run(state, func(t *testing.T) {
			got, total, err := st.FindLinks(ctx, store.LinkFilter{State: state, Sort: store.LinkSortLabel, Page: store.Page{Number: 1, Size: 100}})
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(wantLabels)
			if !slices.Equal(linkLabels(got), wantLabels) || total != len(wantLabels) {
				t.Errorf("state %s: got %q (total %d), want %q", state, linkLabels(got), total, wantLabels)
			}
			for _, l := range got {
				if s := l.State(st.Now()); s != state {
					t.Errorf("%q: SQL says %s, Link.State says %s", l.Label, state, s)
				}
			}
		})
	}

	if _, _, err := st.FindLinks(ctx, store.LinkFilter{State: "bogus"}); err == nil {
		t.Error("an unknown state was accepted")
	}
}

func TestFindLinksLabelSearch(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	for _, label := range []string{"Wedding video", "wedding speech", "100% done", "1000 done", "snake_case", "snakeXcase", `back\slash`} {
		mustLink(t, st, label, 0, 0)
	}
	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"wedding", []string{"wedding speech", "Wedding video"}},
		{"WEDDING V", []string{"Wedding video"}},
		{"100%", []string{"100% done"}},
		{"%", []string{"100% done"}},
		{"_", []string{"snake_case"}},
		{"e_c", []string{"snake_case"}},
		{`\`, []string{`back\slash`}},
		{"nothing like it", nil},
	} {
		got, total, err := st.FindLinks(ctx, store.LinkFilter{Label: tt.query, Sort: store.LinkSortLabel, Page: store.Page{Number: 1, Size: 100}})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(linkLabels(got), tt.want) || total != len(tt.want) {
			t.Errorf("label %q: got %q (total %d), want %q", tt.query, linkLabels(got), total, tt.want)
		}
	}
}

func TestFindLinksSortAndPages(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock()
	st := storetest.OpenWithClock(t, clk)
	// Created a second apart: c, a, b. Expiries: a in 1h, b never, c in 2h.
	mustLink(t, st, "c", 7200, 0)
	clk.Advance(time.Second)
	mustLink(t, st, "a", 3600, 0)
	clk.Advance(time.Second)
	mustLink(t, st, "B", 0, 0)

	for _, tt := range []struct {
		sort store.LinkSort
		desc bool
		want []string
	}{
		{store.LinkSortCreated, false, []string{"c", "a", "B"}},
		{store.LinkSortCreated, true, []string{"B", "a", "c"}},
		{"", true, []string{"B", "a", "c"}},
		{store.LinkSortExpiry, false, []string{"a", "c", "B"}},
		{store.LinkSortExpiry, true, []string{"B", "c", "a"}},
		{store.LinkSortLabel, false, []string{"a", "B", "c"}},
		{store.LinkSortLabel, true, []string{"c", "B", "a"}},
	} {
		got, _, err := st.FindLinks(ctx, store.LinkFilter{Sort: tt.sort, Desc: tt.desc, Page: store.Page{Number: 1, Size: 10}})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(linkLabels(got), tt.want) {
			t.Errorf("sort %q desc=%v: got %q, want %q", tt.sort, tt.desc, linkLabels(got), tt.want)
		}
	}

	var pages [][]string
	for n := 1; n <= 3; n++ {
		got, total, err := st.FindLinks(ctx, store.LinkFilter{Sort: store.LinkSortLabel, Page: store.Page{Number: n, Size: 2}})
		if err != nil {
			t.Fatal(err)
		}
		if total != 3 {
			t.Errorf("page %d: total %d, want 3", n, total)
		}
		pages = append(pages, linkLabels(got))
	}
	if want := [][]string{{"a", "B"}, {"c"}, nil}; !slices.EqualFunc(pages, want, slices.Equal) {
		t.Errorf("pages of 2 = %q, want %q", pages, want)
	}
	if _, _, err := st.FindLinks(ctx, store.LinkFilter{Sort: "size"}); err == nil {
		t.Error("an unknown sort was accepted")
	}
}

func TestExtendLink(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock()
	st := storetest.OpenWithClock(t, clk)
	l := mustLink(t, st, "short", 60, 0)

	clk.Advance(2 * time.Minute)
	if got, _ := st.FindLink(ctx, l.ID); got.State(st.Now()) != store.LinkExpired {
		t.Fatalf("state before extending = %s, want expired", got.State(st.Now()))
	}
	got, err := st.ExtendLink(ctx, l.ID, 7*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	want := st.Now().Add(7 * 24 * time.Hour)
	if got.ExpiresAt == nil || !got.ExpiresAt.Equal(want) || got.TTL != 7*86400 {
		t.Errorf("after extending by 7 days: expires %v, ttl %d; want %v, %d", got.ExpiresAt, got.TTL, want, 7*86400)
	}
	if got.State(st.Now()) != store.LinkActive {
		t.Errorf("an extended link is %s, want active", got.State(st.Now()))
	}

	got, err = st.ExtendLink(ctx, l.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got.ExpiresAt != nil || got.TTL != 0 {
		t.Errorf("extended to never: expires %v, ttl %d", got.ExpiresAt, got.TTL)
	}
	if reread, _ := st.FindLink(ctx, l.ID); reread.ExpiresAt != nil {
		t.Errorf("re-read after extending to never: expires %v", reread.ExpiresAt)
	}

	if _, err := st.ExtendLink(ctx, l.ID, -time.Hour); err == nil {
		t.Error("a negative ttl was accepted")
	}
	if _, err := st.ExtendLink(ctx, "nosuchlinknosuchlink00", time.Hour); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown link: %v, want ErrNotFound", err)
	}
	if _, err := st.RevokeLink(ctx, l.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ExtendLink(ctx, l.ID, time.Hour); !errors.Is(err, store.ErrConflict) {
		t.Errorf("revoked link: %v, want ErrConflict", err)
	}
}

package store_test

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/storetest"
)

func TestCountStates(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock()
	st := storetest.OpenWithClock(t, clk)

	count := func() store.StateCounts {
		t.Helper()
		c, err := st.CountStates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := count(); len(c.Links) != 0 || c.Uploads != 0 || c.LinkUploads != 0 {
		t.Errorf("empty store: %+v, want nothing", c)
	}

	mustLink(t, st, "active forever", 0, 0)
	mustLink(t, st, "expires in a minute", 60, 0)
	usedUp := mustLink(t, st, "used up", 0, 1)
	completeUpload(t, st, usedUp.ID)
	partly := mustLink(t, st, "one of two", 0, 2)
	completeUpload(t, st, partly.ID)
	revoked := mustLink(t, st, "revoked", 0, 0)
	if _, err := st.RevokeLink(ctx, revoked.ID); err != nil {
		t.Fatal(err)
	}
	// Uploads running: one through a link (reserved, then started), two
	// on the token endpoint, one of them until the lease runs out.
	running := store.LinkUpload{
		ID: store.RandomString(22), LinkID: partly.ID, Filename: "b.mp4", Size: 10, ChunkSize: 10,
		TotalParts: 1, HashState: []byte{0}, LeaseExpiresAt: clk.Now().Add(2 * time.Minute),
	}
	if err := st.ReserveLinkUpload(ctx, running); err != nil {
		t.Fatal(err)
	}
	tok := mustToken(t, st)
	startOwned(t, st, tok.ID, "k1", 5)
	startOwned(t, st, tok.ID, "k2", 5)

	c := count()
	if want := map[string]int{store.LinkActive: 3, store.LinkUsedUp: 1, store.LinkRevoked: 1}; !maps.Equal(c.Links, want) {
		t.Errorf("links by state=%v, want=%v", c.Links, want)
	}
	if got, want := c.Uploads, 2; got != want {
		t.Errorf("uploads=%d, want=%d", got, want)
	}
	if got, want := c.LinkUploads, 1; got != want {
		t.Errorf("link uploads=%d, want=%d", got, want)
	}

	// Two minutes on, the link of a minute has expired and the link
	// upload's lease has run out; an hour on, the uploads' leases too.
	clk.Advance(2 * time.Minute)
	c = count()
	if want := map[string]int{store.LinkActive: 2, store.LinkExpired: 1, store.LinkUsedUp: 1, store.LinkRevoked: 1}; !maps.Equal(c.Links, want) {
		t.Errorf("two minutes on: links by state=%v, want=%v", c.Links, want)
	}
	if got, want := c.LinkUploads, 0; got != want {
		t.Errorf("two minutes on: link uploads=%d, want=%d", got, want)
	}
	clk.Advance(time.Hour)
	if got, want := count().Uploads, 0; got != want {
		t.Errorf("an hour on: uploads=%d, want=%d", got, want)
	}
}

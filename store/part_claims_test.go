package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/storetest"
)

// A lapsed claim's aside key is handed over for discarding unless a part
// of its upload names that object as its ETag: a blob store that adopts
// an object as a part without copying it (blob.Dir, s3store's equal-part
// mode) keeps the part's bytes there, and the claimant may have died after
// recording the part and before ending its claim. Nor is a key that an
// upload records as its source: a new upload's claim on its object
// (package ingest, birth.go) may outlive its claimant, who recorded the
// upload and died.
func TestSweepPartClaimsKeepsRecordedAsideObjects(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock()
	st := storetest.OpenWithClock(t, clock)
	u := startOwned(t, st, mustToken(t, st).ID, "SOURCE", 10<<20)
	expires := clock.Now().Add(10 * time.Second)
	for _, c := range []store.PartClaim{
		{VideoID: u.VideoID, Seq: 2, ClaimID: "recorded", Size: -1, ExpiresAt: expires, AsideKey: "ASIDE2"},
		{VideoID: u.VideoID, Seq: 3, ClaimID: "died", Size: -1, ExpiresAt: expires, AsideKey: "ASIDE3"},
		{VideoID: u.VideoID, Seq: 4, ClaimID: "plain", Size: 100, ExpiresAt: expires},
		{VideoID: "new:SOURCE", ClaimID: "started", Size: -1, ExpiresAt: expires, AsideKey: "SOURCE"},
		{VideoID: "new:NEWDIED", ClaimID: "never started", Size: -1, ExpiresAt: expires, AsideKey: "NEWDIED"},
	} {
		if lapsed, err := st.ClaimPart(ctx, c, 0, 0); err != nil || len(lapsed) != 0 {
			t.Fatalf("ClaimPart(%s) = %v, %v; want no lapsed claim", c.ClaimID, lapsed, err)
		}
	}
	_, err := st.CommitPart(ctx, store.PartCommit{
		VideoID: u.VideoID, LeaseExpiresAt: clock.Now().Add(time.Hour),
		Part: store.Part{Seq: 2, Number: 2, Size: 10 << 20, ETag: "ASIDE2", ReceivedAt: clock.Now()},
	})
	if err != nil {
		t.Fatal(err)
	}
	if lapsed, err := st.SweepPartClaims(ctx); err != nil || len(lapsed) != 0 {
		t.Fatalf("SweepPartClaims before the lapse = %v, %v; want none", lapsed, err)
	}
	clock.Advance(10 * time.Second)
	lapsed, err := st.SweepPartClaims(ctx)
	slices.Sort(lapsed)
	if err != nil || !slices.Equal(lapsed, []string{"ASIDE3", "NEWDIED"}) {
		t.Errorf("SweepPartClaims = %v, %v; want [ASIDE3 NEWDIED]", lapsed, err)
	}
	if lapsed, err := st.SweepPartClaims(ctx); err != nil || len(lapsed) != 0 {
		t.Errorf("SweepPartClaims again = %v, %v; want none: the claims are gone", lapsed, err)
	}
}

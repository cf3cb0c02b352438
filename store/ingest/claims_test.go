package ingest_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store/ingest"
	"github.com/uplink-video/uplink/store/storetest"
)

// Both kinds of claims keep the same contract: the one a single process
// keeps in memory, and the one kept in the metadata store for processes
// that share it.
func TestClaims(t *testing.T) {
	for _, kind := range []struct {
		name string
		make func(t *testing.T, clock *storetest.Clock) ingest.Claims
	}{
		{"memory", func(t *testing.T, clock *storetest.Clock) ingest.Claims { return ingest.NewMemoryClaims(clock.Now) }},
		{"store", func(t *testing.T, clock *storetest.Clock) ingest.Claims {
			return ingest.NewStoreClaims(storetest.OpenWithClock(t, clock))
		}},
	} {
		t.Run(kind.name, func(t *testing.T) {
			t.Run("one claim per part", func(t *testing.T) { testOneClaimPerPart(t, kind.make) })
			t.Run("bounds", func(t *testing.T) { testClaimBounds(t, kind.make) })
			t.Run("lapse and renewal", func(t *testing.T) { testClaimLapse(t, kind.make) })
			t.Run("at once", func(t *testing.T) { testClaimsAtOnce(t, kind.make) })
			t.Run("aside keys of lapsed claims", func(t *testing.T) { testLapsedAsideKeys(t, kind.make) })
		})
	}
}

type makeClaims func(t *testing.T, clock *storetest.Clock) ingest.Claims

func claimOf(clock *storetest.Clock, video string, seq int64, id, link string) ingest.Claim {
	return ingest.Claim{VideoID: video, Seq: seq, ID: id, LinkID: link, Size: 100,
		ExpiresAt: clock.Now().Add(30 * time.Second), MaxPerUpload: 2, MaxPerLink: 3}
}

func testOneClaimPerPart(t *testing.T, mk makeClaims) {
	ctx := context.Background()
	clock := storetest.NewClock()
	cs := mk(t, clock)
	a := claimOf(clock, "vi1", 1, "a", "")
	if _, err := cs.Claim(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Claim(ctx, claimOf(clock, "vi1", 1, "b", "")); !errors.Is(err, ingest.ErrPartClaimed) {
		t.Errorf("the same part again: %v, want ErrPartClaimed", err)
	}
	if _, err := cs.Claim(ctx, claimOf(clock, "vi2", 1, "c", "")); err != nil {
		t.Errorf("the same part of another video: %v", err)
	}
	if err := cs.Release(ctx, claimOf(clock, "vi1", 1, "b", "")); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Claim(ctx, claimOf(clock, "vi1", 1, "b", "")); !errors.Is(err, ingest.ErrPartClaimed) {
		t.Errorf("after another claimant's release: %v, want ErrPartClaimed (the release was not its own)", err)
	}
	if err := cs.Renew(ctx, a, 42, clock.Now().Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	got, err := cs.InFlight(ctx, "vi1")
	if err != nil || len(got) != 1 || got[0] != (ingest.PartInFlight{Seq: 1, Size: 100, Received: 42}) {
		t.Errorf("in flight: %+v, %v; want part 1 with 42 of 100 bytes", got, err)
	}
	if err := cs.Release(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Claim(ctx, claimOf(clock, "vi1", 1, "b", "")); err != nil {
		t.Errorf("after the release: %v", err)
	}
	if err := cs.Release(ctx, a); err != nil {
		t.Errorf("releasing a claim that is gone: %v", err)
	}
}

func testClaimBounds(t *testing.T, mk makeClaims) {
	ctx := context.Background()
	clock := storetest.NewClock()
	cs := mk(t, clock)
	// Two parts per upload, three per link.
	for _, c := range []ingest.Claim{claimOf(clock, "vi1", 1, "a", "li"), claimOf(clock, "vi1", 2, "b", "li")} {
		if _, err := cs.Claim(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cs.Claim(ctx, claimOf(clock, "vi1", 3, "c", "li")); !errors.Is(err, ingest.ErrTooManyParts) {
		t.Errorf("a third part of the upload: %v, want ErrTooManyParts", err)
	}
	if _, err := cs.Claim(ctx, claimOf(clock, "vi2", 1, "d", "li")); err != nil {
		t.Errorf("the link's third part: %v", err)
	}
	if _, err := cs.Claim(ctx, claimOf(clock, "vi3", 1, "e", "li")); !errors.Is(err, ingest.ErrTooManyParts) {
		t.Errorf("the link's fourth part: %v, want ErrTooManyParts", err)
	}
	if _, err := cs.Claim(ctx, claimOf(clock, "vi3", 1, "e", "")); err != nil {
		t.Errorf("a part of an upload through no link: %v", err)
	}
}

func testClaimLapse(t *testing.T, mk makeClaims) {
	ctx := context.Background()
	clock := storetest.NewClock()
	cs := mk(t, clock)
	a := claimOf(clock, "vi1", 1, "a", "")
	if _, err := cs.Claim(ctx, a); err != nil {
		t.Fatal(err)
	}
	clock.Advance(31 * time.Second)
	if got, err := cs.InFlight(ctx, "vi1"); err != nil || len(got) != 0 {
		t.Errorf("in flight after the lapse: %+v, %v; want none", got, err)
	}
	b := claimOf(clock, "vi1", 1, "b", "")
	if _, err := cs.Claim(ctx, b); err != nil {
		t.Fatalf("claiming a lapsed claim's part: %v", err)
	}
	if err := cs.Renew(ctx, a, 10, clock.Now().Add(time.Minute)); !errors.Is(err, ingest.ErrClaimLost) {
		t.Errorf("renewing the lapsed claim: %v, want ErrClaimLost", err)
	}
	if err := cs.Renew(ctx, b, 10, clock.Now().Add(time.Minute)); err != nil {
		t.Errorf("renewing the new claim: %v", err)
	}
}

// Thirty requests for one part at once: exactly one claims it.
func testClaimsAtOnce(t *testing.T, mk makeClaims) {
	ctx := context.Background()
	clock := storetest.NewClock()
	cs := mk(t, clock)
	var won, refused atomic.Int32
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := cs.Claim(ctx, claimOf(clock, "vi1", 1, string(rune('a'+i)), ""))
			switch {
			case err == nil:
				won.Add(1)
			case errors.Is(err, ingest.ErrPartClaimed):
				refused.Add(1)
			default:
				t.Errorf("claim: %v", err)
			}
		}()
	}
	wg.Wait()
	if won.Load() != 1 || refused.Load() != 29 {
		t.Errorf("%d won, %d refused; want 1 and 29", won.Load(), refused.Load())
	}
}

// Whoever ends a lapsed claim gets the aside key it held, once: a claim
// taken meanwhile, or a sweep. A refused claim ends none, and a live
// claim's key is nobody's to discard.
func testLapsedAsideKeys(t *testing.T, mk makeClaims) {
	ctx := context.Background()
	clock := storetest.NewClock()
	cs := mk(t, clock)
	a := claimOf(clock, "vi1", 1, "a", "")
	a.Aside = "ASIDEA"
	b := claimOf(clock, "vi2", 1, "b", "")
	b.Aside = "ASIDEB"
	for _, c := range []ingest.Claim{a, b, claimOf(clock, "vi3", 1, "c", "")} {
		if _, err := cs.Claim(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(20 * time.Second)
	live := claimOf(clock, "vi4", 1, "d", "")
	live.Aside = "ASIDED"
	if lapsed, err := cs.Claim(ctx, live); err != nil || len(lapsed) != 0 {
		t.Fatalf("a claim before any lapse: lapsed %v, %v; want none", lapsed, err)
	}
	clock.Advance(11 * time.Second)
	if lapsed, err := cs.Claim(ctx, claimOf(clock, "vi4", 1, "e", "")); !errors.Is(err, ingest.ErrPartClaimed) || len(lapsed) != 0 {
		t.Fatalf("a refused claim: lapsed %v, %v; want none and ErrPartClaimed", lapsed, err)
	}
	lapsed, err := cs.Claim(ctx, claimOf(clock, "vi1", 1, "f", ""))
	if err != nil {
		t.Fatalf("claiming a lapsed claim's part: %v", err)
	}
	slices.Sort(lapsed)
	if !slices.Equal(lapsed, []string{"ASIDEA", "ASIDEB"}) {
		t.Errorf("lapsed aside keys = %v, want [ASIDEA ASIDEB]", lapsed)
	}
	if lapsed, err := cs.Sweep(ctx); err != nil || len(lapsed) != 0 {
		t.Errorf("a sweep after: %v, %v; want none", lapsed, err)
	}
	clock.Advance(30 * time.Second)
	if lapsed, err := cs.Sweep(ctx); err != nil || !slices.Equal(lapsed, []string{"ASIDED"}) {
		t.Errorf("a sweep once the last one lapsed: %v, %v; want [ASIDED]", lapsed, err)
	}
}

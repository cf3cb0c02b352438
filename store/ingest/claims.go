package ingest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uplink-video/uplink/store"
)

// Claims record which parts requests are receiving, so that at most one
// request at a time writes a given part: a second request for the same
// part, sent 30 times at once by a hostile client or once more by a client
// that gave up on a slow connection, is refused before its body is read.
// They also bound the parts in flight per upload and per link.
//
// A claim is taken before the part's first byte is read and ended after
// the part is recorded, or dropped; a receiver renews it while the bytes
// stream, and a claim whose receiver died lapses. Where the metadata store
// is shared by several processes, the claims must be too; a SQLite
// database has one process, which keeps them in memory (MemoryClaims).
type Claims interface {
	// Claim records c unless another live claim holds the same part
	// (ErrPartClaimed) or a bound is reached (ErrTooManyParts). Lapsed
	// claims are ended on the way, and the aside keys they held are
	// returned, for the caller to discard (see Claim.Aside).
	Claim(ctx context.Context, c Claim) (lapsed []string, err error)
	// Renew extends a claim until expiresAt, with the count of the
	// part's bytes received so far. Returns ErrClaimLost if the claim
	// is not the claimant's any more.
	Renew(ctx context.Context, c Claim, received int64, expiresAt time.Time) error
	// Release ends a claim. Ending one that is gone is not an error.
	Release(ctx context.Context, c Claim) error
	// InFlight returns the parts of a video that live claims hold.
	InFlight(ctx context.Context, videoID string) ([]PartInFlight, error)
	// Sweep ends every lapsed claim and returns the aside keys they held,
	// as Claim does.
	Sweep(ctx context.Context) (lapsed []string, err error)
}

// PartInFlight is a part being received, as its claim's last renewal
// reported it.
type PartInFlight struct {
	Seq      int64
	Size     int64 // -1 if unknown.
	Received int64
}

// Claim is a request's claim on one part of an upload.
type Claim struct {
	VideoID string
	Seq     int64
	// ID is the claimant's random ID.
	ID   string
	Size int64 // The part's length, or -1 if unknown.
	// LinkID is the link the upload came through, or "".
	LinkID    string
	ExpiresAt time.Time
	// MaxPerUpload and MaxPerLink bound the claims held at once on the
	// upload and on all the uploads of its link.
	MaxPerUpload, MaxPerLink int
	// Aside is the blob key of the object the claimant writes the part
	// to when it cannot write it into the upload directly (a part of
	// unknown length on an object store, see writeAside, or a piece kept
	// aside until its upload was known, see adopt), or "". When the
	// claim lapses, its claimant is taken for dead, and whoever ends the
	// claim discards what is left under Aside (blob.Objects.Discard):
	// on an object store, an upload of its own that would otherwise stay
	// open until the cleanup job finds it an hour later (OrphanAge).
	Aside string
}

// Errors of Claims, matched with errors.Is.
var (
	ErrPartClaimed  = errors.New("ingest: the part is being received by another request")
	ErrTooManyParts = errors.New("ingest: too many parts in flight")
	ErrClaimLost    = errors.New("ingest: the part's claim was lost")
)

// MemoryClaims keeps claims in this process's memory, for a metadata
// store that no other process shares (SQLite).
type MemoryClaims struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[partKey]memoryClaim
}

type partKey struct {
	videoID string
	seq     int64
}

type memoryClaim struct {
	Claim
	received int64
}

// NewMemoryClaims returns an empty MemoryClaims that reads the time from
// now.
func NewMemoryClaims(now func() time.Time) *MemoryClaims {
	return &MemoryClaims{now: now, m: map[partKey]memoryClaim{}}
}

// Claim implements Claims. As in the store, a refused claim ends no
// lapsed claim.
func (mc *MemoryClaims) Claim(ctx context.Context, c Claim) ([]string, error) {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	now := mc.now()
	perUpload, perLink := 0, 0
	for k, held := range mc.m {
		if !now.Before(held.ExpiresAt) {
			continue
		}
		if k.videoID == c.VideoID {
			if k.seq == c.Seq {
				return nil, ErrPartClaimed
			}
			perUpload++
		}
		if c.LinkID != "" && held.LinkID == c.LinkID {
			perLink++
		}
	}
	if c.MaxPerUpload > 0 && perUpload >= c.MaxPerUpload || c.MaxPerLink > 0 && perLink >= c.MaxPerLink {
		return nil, ErrTooManyParts
	}
	lapsed := mc.sweep(now)
	mc.m[partKey{c.VideoID, c.Seq}] = memoryClaim{Claim: c}
	return lapsed, nil
}

// Sweep implements Claims.
func (mc *MemoryClaims) Sweep(ctx context.Context) ([]string, error) {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	return mc.sweep(mc.now()), nil
}

// sweep deletes the claims lapsed at now and returns their aside keys.
func (mc *MemoryClaims) sweep(now time.Time) []string {
	var lapsed []string
	for k, held := range mc.m {
		if now.Before(held.ExpiresAt) {
			continue
		}
		delete(mc.m, k)
		if held.Aside != "" {
			lapsed = append(lapsed, held.Aside)
		}
	}
	return lapsed
}

// Renew implements Claims.
func (mc *MemoryClaims) Renew(ctx context.Context, c Claim, received int64, expiresAt time.Time) error {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	k := partKey{c.VideoID, c.Seq}
	held, ok := mc.m[k]
	if !ok || held.ID != c.ID {
		return ErrClaimLost
	}
	held.ExpiresAt, held.received = expiresAt, received
	mc.m[k] = held
	return nil
}

// Release implements Claims.
func (mc *MemoryClaims) Release(ctx context.Context, c Claim) error {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	k := partKey{c.VideoID, c.Seq}
	if held, ok := mc.m[k]; ok && held.ID == c.ID {
		delete(mc.m, k)
	}
	return nil
}

// InFlight implements Claims.
func (mc *MemoryClaims) InFlight(ctx context.Context, videoID string) ([]PartInFlight, error) {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	now := mc.now()
	var ps []PartInFlight
	for k, held := range mc.m {
		if k.videoID == videoID && now.Before(held.ExpiresAt) {
			ps = append(ps, PartInFlight{Seq: k.seq, Size: held.Size, Received: held.received})
		}
	}
	slices.SortFunc(ps, func(a, b PartInFlight) int { return cmp.Compare(a.Seq, b.Seq) })
	return ps, nil
}

// claim is a claim a piece holds.
type claim struct {
	s *Service
	Claim
	// asideUsed is set once the piece has written to Claim.Aside (see
	// renewBeforeCommit).
	asideUsed bool
}

// claimPart claims the part at r of the upload of videoID (through the
// link linkID, or "") for a piece of size bytes (-1 if unknown), which may
// be written to the object aside (or "") before it joins the upload, and
// returns the upload as of the claim, which shows the part free. The
// claim is taken before the upload is read, so that a request recording
// the part in between either still holds its claim (this one is refused)
// or has recorded the part (this one sees it). Returns ErrConflict if the
// part is recorded or the upload no longer takes parts, and a refusal if
// another request holds the part or too many parts are in flight. What
// the claimants of lapsed claims left aside is discarded on the way.
func (s *Service) claimPart(ctx context.Context, videoID, linkID string, r Range, size int64, aside string) (*claim, store.Upload, error) {
	c := &claim{s: s, Claim: Claim{
		VideoID: videoID, Seq: r.seq(), ID: newClaimID(), Size: size, LinkID: linkID,
		ExpiresAt:    s.store.Now().Add(s.claim),
		MaxPerUpload: s.limits.PartsPerUpload, MaxPerLink: s.limits.PartsPerLink,
		Aside: aside,
	}}
	lapsed, err := s.claims.Claim(ctx, c.Claim)
	switch {
	case errors.Is(err, ErrPartClaimed):
		return nil, store.Upload{}, refuse(CodePartInFlight, "Content-Range",
			"Another request is sending %s of this upload right now. Send it again once that request has ended.", r)
	case errors.Is(err, ErrTooManyParts):
		return nil, store.Upload{}, refuse(CodeTooManyParts, "Content-Range",
			"Too many parts of this upload are being sent at once. Send this one again once another has finished.")
	case err != nil:
		return nil, store.Upload{}, err
	}
	s.discard(ctx, lapsed)
	u, err := s.store.FindUpload(ctx, videoID)
	if err == nil {
		if _, held := u.Part(r.seq()); held || !u.Open() {
			err = fmt.Errorf("ingest: part %s of %s: %w", r, videoID, store.ErrConflict)
		}
	}
	if err != nil {
		c.release(context.WithoutCancel(ctx))
		return nil, store.Upload{}, err
	}
	return c, u, nil
}

// discard removes what the claimants of lapsed claims left under their
// aside keys, and returns how many keys it discarded. A key that cannot
// be discarded now is left to the cleanup job, which removes it as an
// orphan once it is OrphanAge old.
func (s *Service) discard(ctx context.Context, lapsed []string) int {
	ctx = context.WithoutCancel(ctx)
	n := 0
	for _, key := range lapsed {
		if err := s.blobs.Discard(ctx, key); err != nil {
			s.log.ErrorContext(ctx, "discarding what the claimant of a lapsed part claim wrote aside", "key", key, "err", err)
			continue
		}
		n++
	}
	return n
}

// renewBeforeCommit renews the claim of a piece written aside right before
// the piece is recorded, so that the claim cannot lapse, and its aside
// object be discarded by whoever ends it, while the record that may name
// that object (a part adopted without a copy) is being made. A claim that
// was lost already refuses the piece, which the client sends again, and
// its aside object goes: whoever ended the claim may have discarded it
// before this write was done with it.
func (c *claim) renewBeforeCommit(ctx context.Context, size int64) error {
	if c == nil || !c.asideUsed {
		return nil
	}
	err := c.s.claims.Renew(ctx, c.Claim, size, c.s.store.Now().Add(c.s.claim))
	if errors.Is(err, ErrClaimLost) {
		if err := c.s.blobs.Delete(context.WithoutCancel(ctx), c.Aside); err != nil {
			c.s.log.ErrorContext(ctx, "removing the aside object of a part whose claim was lost", "key", c.Aside, "err", err)
		}
		return refuse(CodePartInFlight, "Content-Range",
			"This part took so long to store that another request may have taken it over. Send it again.")
	}
	return err
}

// release ends the claim.
func (c *claim) release(ctx context.Context) {
	if c == nil {
		return
	}
	if err := c.s.claims.Release(ctx, c.Claim); err != nil {
		c.s.log.WarnContext(ctx, "ending a part's claim", "video", c.VideoID, "seq", c.Seq, "err", err)
	}
}

// renewal keeps a claim alive while its part streams.
type renewal struct {
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	lost   atomic.Bool
}

// keepAlive renews the claim every third of its lifetime, and at least
// every renewEvery, reporting the bytes received so far (the dashboard's
// live progress, at whichever process), until end is called. If the claim is lost (it
// lapsed and another request took it over), the returned context is
// cancelled, so that the write stops.
func (c *claim) keepAlive(ctx context.Context, received *atomic.Int64) *renewal {
	r := &renewal{done: make(chan struct{})}
	r.ctx, r.cancel = context.WithCancel(ctx)
	every := min(c.s.claim/3, renewEvery)
	go func() {
		defer close(r.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-r.ctx.Done():
				return
			case <-t.C:
			}
			err := c.s.claims.Renew(r.ctx, c.Claim, received.Load(), c.s.store.Now().Add(c.s.claim))
			switch {
			case errors.Is(err, ErrClaimLost):
				r.lost.Store(true)
				r.cancel()
				return
			case err != nil && r.ctx.Err() == nil:
				c.s.log.WarnContext(r.ctx, "renewing a part's claim", "video", c.VideoID, "seq", c.Seq, "err", err)
			}
		}
	}()
	return r
}

// renewEvery is the longest time between two renewals of a claim: how
// stale the progress of a part in flight may be.
const renewEvery = 2 * time.Second

// end stops the renewals and returns err, or ErrClaimLost if the write
// failed because the claim was lost.
func (r *renewal) end(err error) error {
	r.cancel()
	<-r.done
	if err != nil && r.lost.Load() {
		return fmt.Errorf("%w (%w)", ErrClaimLost, err)
	}
	return err
}

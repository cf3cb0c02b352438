package ingest

import (
	"context"
	"errors"
	"time"

	"github.com/uplink-video/uplink/store"
)

// StoreClaims keeps the claims in the metadata store, for processes that
// share it (several instances on one PostgreSQL): a part claimed at one
// instance is refused at every other while its bytes stream there, the
// bounds per upload and per link hold across them, and the bytes received
// so far are visible to all (the dashboard's live progress).
type StoreClaims struct {
	st *store.Store
}

// NewStoreClaims returns the claims kept in st.
func NewStoreClaims(st *store.Store) *StoreClaims { return &StoreClaims{st: st} }

// Claim implements Claims.
func (sc *StoreClaims) Claim(ctx context.Context, c Claim) ([]string, error) {
	lapsed, err := sc.st.ClaimPart(ctx, store.PartClaim{
		VideoID: c.VideoID, Seq: c.Seq, ClaimID: c.ID, LinkID: c.LinkID, Size: c.Size, ExpiresAt: c.ExpiresAt, AsideKey: c.Aside,
	}, c.MaxPerUpload, c.MaxPerLink)
	switch {
	case errors.Is(err, store.ErrPartClaimed):
		return nil, ErrPartClaimed
	case errors.Is(err, store.ErrTooManyClaims):
		return nil, ErrTooManyParts
	}
	return lapsed, err
}

// Sweep implements Claims.
func (sc *StoreClaims) Sweep(ctx context.Context) ([]string, error) {
	return sc.st.SweepPartClaims(ctx)
}

// Renew implements Claims.
func (sc *StoreClaims) Renew(ctx context.Context, c Claim, received int64, expiresAt time.Time) error {
	err := sc.st.RenewPartClaim(ctx, c.VideoID, c.Seq, c.ID, received, expiresAt)
	if errors.Is(err, store.ErrNotFound) {
		return ErrClaimLost
	}
	return err
}

// Release implements Claims.
func (sc *StoreClaims) Release(ctx context.Context, c Claim) error {
	return sc.st.ReleasePartClaim(ctx, c.VideoID, c.Seq, c.ID)
}

// InFlight implements Claims.
func (sc *StoreClaims) InFlight(ctx context.Context, videoID string) ([]PartInFlight, error) {
	cs, err := sc.st.LivePartClaims(ctx, videoID)
	if err != nil {
		return nil, err
	}
	ps := make([]PartInFlight, 0, len(cs))
	for _, c := range cs {
		ps = append(ps, PartInFlight{Seq: c.Seq, Size: c.Size, Received: c.Received})
	}
	return ps, nil
}

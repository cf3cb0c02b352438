package ingest

import (
	"context"
	"sync/atomic"
)

// A piece that starts an upload (toNew), or that waits for Commit to know
// its upload (toAside), is written to an object that no row names until
// Commit records it. On an object store that write is a multipart upload
// from its first byte on; if the process dies before Commit, the upload
// stays open, and the cleanup job can only tell it from a slow live write
// once it is OrphanAge old.
//
// Where the claims are shared by several processes (Config.Shared, claims
// in PostgreSQL), such a piece therefore holds a claim of its own on that
// object while it is written, a birth claim: keyed by the object rather
// than by a part, with the object as the claim's aside key, and renewed
// as its bytes stream. When the claim lapses, whoever ends it discards
// what the dead process left (see Claim.Aside), at once. The store never
// hands out for discarding a key that an upload records as its source or
// a part records as its bytes (store.ClaimPart), so a process that dies
// between recording the upload and ending the claim loses nothing.

// birthClaimPrefix marks the claims on new uploads' objects among the part
// claims, whose video IDs they take the place of.
const birthClaimPrefix = "new:"

// claimBirth takes the birth claim on the piece's object.
func (p *Piece) claimBirth(ctx context.Context) error {
	if !p.s.shared || p.key == "" {
		return nil
	}
	c := &claim{s: p.s, asideUsed: true, Claim: Claim{
		VideoID: birthClaimPrefix + p.key, ID: newClaimID(), Size: p.req.Size,
		ExpiresAt: p.s.store.Now().Add(p.s.claim), Aside: p.key,
	}}
	lapsed, err := p.s.claims.Claim(ctx, c.Claim)
	if err != nil {
		return err
	}
	p.s.discard(ctx, lapsed)
	p.birth = c
	return nil
}

// keepBirth renews the birth claim, if any, while the piece's bytes
// stream. It returns the context to write with, which ends if the claim
// is lost, and the function that stops the renewals and returns the
// write's error.
func (p *Piece) keepBirth(ctx context.Context, received *atomic.Int64) (context.Context, func(error) error) {
	if p.birth == nil {
		return ctx, func(err error) error { return err }
	}
	r := p.birth.keepAlive(ctx, received)
	return r.ctx, r.end
}

// keepBirthAside is keepBirth for a piece of a new upload that goes to
// the object aside before it joins the upload's own (see writeAside): a
// second claim, on the same new upload, names the object aside, and both
// are renewed while the bytes stream. The returned function also ends the
// second claim: once the piece joined the upload, or failed, its object
// aside is either consumed or removed by writeAside itself.
func (p *Piece) keepBirthAside(ctx context.Context, aside string) (context.Context, func(error) error, error) {
	c := &claim{s: p.s, asideUsed: true, Claim: Claim{
		VideoID: p.birth.VideoID, Seq: 1, ID: newClaimID(), Size: -1,
		ExpiresAt: p.s.store.Now().Add(p.s.claim), Aside: aside,
	}}
	lapsed, err := p.s.claims.Claim(ctx, c.Claim)
	if err != nil {
		return ctx, nil, err
	}
	p.s.discard(ctx, lapsed)
	var received atomic.Int64 // Progress is not shown for a new upload.
	birth := p.birth.keepAlive(ctx, &received)
	second := c.keepAlive(birth.ctx, &received)
	return second.ctx, func(err error) error {
		err = birth.end(second.end(err))
		c.release(context.WithoutCancel(ctx))
		return err
	}, nil
}

// renewBirth renews the birth claim right before Commit records the
// piece, so that it cannot lapse while the record is made; a claim that
// was lost already refuses the piece (see renewBeforeCommit).
func (p *Piece) renewBirth(ctx context.Context) error {
	return p.birth.renewBeforeCommit(ctx, p.part.Size)
}

// endBirth ends the birth claim, once a row or another claim names the
// object, or the piece is dropped.
func (p *Piece) endBirth(ctx context.Context) {
	if p.birth != nil {
		p.birth.release(context.WithoutCancel(ctx))
		p.birth = nil
	}
}

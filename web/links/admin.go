package links

import (
	"context"
	"errors"
	"time"

	"github.com/uplink-video/uplink/store"
)

// ErrRevoked is returned for a change to a revoked link: it is closed for
// good.
var ErrRevoked = errors.New("links: the link is revoked")

// CheckTTL checks an expiry as Validate does: at least a minute, at most
// the longest a token may live, or 0 for never. It returns FieldErrors
// under "ttl".
func CheckTTL(ttl time.Duration) error {
	if ttl < 0 || ttl > maxTTL || ttl > 0 && ttl < time.Minute {
		return FieldErrors{"ttl": "The expiry must be at least one minute, or never."}
	}
	return nil
}

// Extend sets when a link stops taking uploads: ttl from now, or never
// when ttl is 0. An expired link opens again. It returns FieldErrors for
// an invalid ttl, and ErrRevoked for a revoked link.
func (s *Service) Extend(ctx context.Context, id string, ttl time.Duration) (store.Link, error) {
	if err := CheckTTL(ttl); err != nil {
		return store.Link{}, err
	}
	l, err := s.store.ExtendLink(ctx, id, ttl)
	if errors.Is(err, store.ErrConflict) {
		return store.Link{}, ErrRevoked
	}
	return l, err
}

// SpecOf returns the settings a link was minted with. Its TTL counts from
// the link's creation, as it did then.
func SpecOf(l store.Link) Spec {
	return Spec{
		Label:        l.Label,
		Message:      l.Message,
		TTL:          time.Duration(l.TTL) * time.Second,
		MaxUploads:   l.MaxUploads,
		MaxSize:      l.MaxSize,
		Types:        append([]string(nil), l.AllowedTypes...),
		EmbedOrigins: append([]string(nil), l.EmbedOrigins...),
		AskName:      l.AskName,
		EmailReceipt: l.EmailReceipt,
	}
}

// Duplicate mints a new link with the settings of an existing one (the
// same TTL, counted from now), with its own ID and token. The original
// may be in any state.
func (s *Service) Duplicate(ctx context.Context, id string) (store.Link, error) {
	l, err := s.store.FindLink(ctx, id)
	if err != nil {
		return store.Link{}, err
	}
	return s.Create(ctx, SpecOf(l))
}

// Upstream reports whether the links' uploads go to a remote host, whose
// videos this server does not hold.
func (s *Service) Upstream() bool {
	_, ok := s.backend.(*Upstream)
	return ok
}

// RemoteVideos returns one page of the remote host's videos, newest
// first, and how many it has in all, when the links' uploads go to a
// remote host (Upstream); ok is false otherwise.
func (s *Service) RemoteVideos(ctx context.Context, page, pageSize int) (videos []RemoteVideo, total int, ok bool, err error) {
	u, isUpstream := s.backend.(*Upstream)
	if !isUpstream {
		return nil, 0, false, nil
	}
	videos, total, err = u.client.ListVideos(ctx, page, pageSize)
	return videos, total, true, err
}

package links

import (
	"context"

	"github.com/uplink-video/uplink/store"
)

// Peek returns an active link for its public page, exactly as Open does,
// without recording a visit. It answers HEAD requests: uptime checkers
// and link previews send them, and they are not someone opening the page,
// so they must leave the link's timeline as it was.
func (s *Service) Peek(ctx context.Context, id string) (store.Link, error) {
	l, err := s.find(ctx, id)
	if err != nil {
		return l, err
	}
	if r := s.closed(l, false); r != nil {
		return l, r
	}
	return l, nil
}

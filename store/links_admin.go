package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// LinkSort names an order for FindLinks.
type LinkSort string

// The orders of the dashboard's link list.
const (
	LinkSortCreated LinkSort = "created"
	// LinkSortExpiry orders by expiry; links that never expire come last
	// in ascending order.
	LinkSortExpiry LinkSort = "expiry"
	// LinkSortLabel orders by label, ignoring ASCII case.
	LinkSortLabel LinkSort = "label"
)

// linkOrders maps each supported order to its ORDER BY clauses, ascending
// and descending, in the dialect d. Each ends in the primary key so that
// pages are stable when values tie.
func linkOrders(d dialect) map[LinkSort][2]string {
	label := d.fold("l.label")
	return map[LinkSort][2]string{
		LinkSortCreated: {"l.created_at, l.id", "l.created_at DESC, l.id DESC"},
		LinkSortExpiry: {
			"coalesce(l.expires_at, 9223372036854775807), l.created_at, l.id",
			"coalesce(l.expires_at, 9223372036854775807) DESC, l.created_at DESC, l.id DESC",
		},
		// Descending is the exact reverse of ascending, so that one index
		// (links_by_label) serves both.
		LinkSortLabel: {
			label + ", l.created_at DESC, l.id",
			label + " DESC, l.created_at, l.id DESC",
		},
	}
}

// LinkFilter selects and orders links.
type LinkFilter struct {
	// Label keeps links whose label contains it, ignoring ASCII case.
	Label string
	// State keeps links in that state (LinkActive, LinkExpired,
	// LinkUsedUp, LinkRevoked) as of now; empty keeps all.
	State string
	Sort  LinkSort // Defaults to LinkSortCreated.
	Desc  bool
	Page  Page
}

// linkStateSQL computes a link's state in SQL, with the rules of
// Link.State: revoked wins over expired, which wins over used up. It reads
// the parameter :now.
const linkStateSQL = `
	CASE
		WHEN l.revoked_at IS NOT NULL THEN 'revoked'
		WHEN l.expires_at IS NOT NULL AND l.expires_at <= :now THEN 'expired'
		WHEN l.max_uploads IS NOT NULL AND (SELECT count(*) FROM link_uploads u
			WHERE u.link_id = l.id AND u.status = 'completed') >= l.max_uploads THEN 'used_up'
		ELSE 'active'
	END`

// FindLinks returns one page of the links that match f, and how many
// match in all.
func (s *Store) FindLinks(ctx context.Context, f LinkFilter) ([]Link, int, error) {
	if f.Sort == "" {
		f.Sort = LinkSortCreated
	}
	orders, ok := linkOrders(s.d)[f.Sort]
	if !ok {
		return nil, 0, fmt.Errorf("store: unknown link sort %q", f.Sort)
	}
	order := orders[0]
	if f.Desc {
		order = orders[1]
	}
	if f.Page.Size <= 0 {
		f.Page.Size = 25
	}
	f.Page.Number = max(f.Page.Number, 1)

	args := []any{sql.Named("now", millis(s.Now()))}
	var where []string
	if f.Label != "" {
		where = append(where, `l.label `+s.d.like()+` :label ESCAPE '\'`)
		args = append(args, sql.Named("label", "%"+escapeLike(f.Label)+"%"))
	}
	if f.State != "" {
		switch f.State {
		case LinkActive, LinkExpired, LinkUsedUp, LinkRevoked:
		default:
			return nil, 0, fmt.Errorf("store: unknown link state %q", f.State)
		}
		where = append(where, linkStateSQL+` = :state`)
		args = append(args, sql.Named("state", f.State))
	}
	cond := ""
	if len(where) > 0 {
		cond = "WHERE " + strings.Join(where, " AND ")
	}

	var (
		links []Link
		total int
	)
	err := s.inRead(ctx, func(tx *txn) error {
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM links l `+cond, args...).Scan(&total); err != nil {
			return err
		}
		var err error
		links, err = queryRows(ctx, tx, scanLink, `SELECT `+linkColumns+` FROM links l `+cond+`
			ORDER BY `+order+` LIMIT :limit OFFSET :offset`,
			append(args, sql.Named("limit", f.Page.Size), sql.Named("offset", f.Page.offset()))...)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("store: find links: %w", err)
	}
	return links, total, nil
}

// ExtendLink sets a link's expiry to ttl from now, or to never when ttl
// is 0, and returns the link. It also reopens an expired link. Returns
// ErrNotFound if there is no such link and ErrConflict if it is revoked;
// a negative or sub-second ttl is an error.
func (s *Store) ExtendLink(ctx context.Context, id string, ttl time.Duration) (Link, error) {
	secs := int(ttl / time.Second)
	if ttl < 0 || ttl > 0 && secs == 0 {
		return Link{}, fmt.Errorf("store: extend link %s: invalid ttl %s", id, ttl)
	}
	var l Link
	err := s.inWrite(ctx, func(tx *txn) error {
		now := s.Now()
		var err error
		if l, err = findLink(ctx, tx, id, now); err != nil {
			return err
		}
		if l.RevokedAt != nil {
			return ErrConflict
		}
		var expires sql.NullInt64
		if secs > 0 {
			expires = sql.NullInt64{Int64: millis(now.Add(time.Duration(secs) * time.Second)), Valid: true}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE links SET ttl = ?, expires_at = ? WHERE id = ?`,
			secs, expires, id); err != nil {
			return err
		}
		l, err = findLink(ctx, tx, id, now)
		return err
	})
	if err != nil {
		return Link{}, fmt.Errorf("store: extend link %s: %w", id, err)
	}
	return l, nil
}

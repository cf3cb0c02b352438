package store

import (
	"context"
	"database/sql"
	"fmt"
)

// StateCounts is how many links are in each state and how many uploads
// are running, at one moment: the gauges of the metrics.
type StateCounts struct {
	// Links counts links by state (LinkActive, LinkExpired, LinkUsedUp,
	// LinkRevoked); a state no link is in is missing.
	Links map[string]int
	// Uploads counts the uploads on the token endpoint (those with a
	// token, not those through links) that are not complete and whose
	// lease has not run out.
	Uploads int
	// LinkUploads counts the uploads through links that are starting or
	// uploading and whose lease has not run out.
	LinkUploads int
}

// CountStates counts links by state, and running uploads, in one query.
// The uploads are counted on the partial indexes of their leases; the
// links by the rules of Link.State, which reads each link's completed
// uploads on its index.
func (s *Store) CountStates(ctx context.Context) (StateCounts, error) {
	c := StateCounts{Links: map[string]int{}}
	err := s.inRead(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `
			SELECT 'link', state, count(*)
			FROM (SELECT `+linkStateSQL+` AS state FROM links l)
			GROUP BY state
			UNION ALL
			SELECT 'upload', '', count(*)
			FROM uploads
			WHERE status = 'uploading' AND lease_expires_at > :now AND token_id IS NOT NULL
			UNION ALL
			SELECT 'link_upload', '', count(*)
			FROM link_uploads
			WHERE status IN ('starting', 'uploading') AND lease_expires_at > :now`,
			sql.Named("now", millis(s.Now())))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var what, state string
			var n int
			if err := rows.Scan(&what, &state, &n); err != nil {
				return err
			}
			switch what {
			case "link":
				c.Links[state] = n
			case "upload":
				c.Uploads = n
			case "link_upload":
				c.LinkUploads = n
			}
		}
		return rows.Err()
	})
	if err != nil {
		return StateCounts{}, fmt.Errorf("store: count states: %w", err)
	}
	return c, nil
}

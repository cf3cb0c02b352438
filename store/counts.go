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
	err := s.inRead(ctx, func(tx *txn) error {
		// PostgreSQL wants a name for the subquery in FROM.
		counts, err := queryRows(ctx, tx, scanStateCount, `
			SELECT 'link', state, count(*)
			FROM (SELECT `+linkStateSQL+` AS state FROM links l) AS states
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
		for _, sc := range counts {
			switch sc.what {
			case "link":
				c.Links[sc.state] = sc.n
			case "upload":
				c.Uploads = sc.n
			case "link_upload":
				c.LinkUploads = sc.n
			}
		}
		return err
	})
	if err != nil {
		return StateCounts{}, fmt.Errorf("store: count states: %w", err)
	}
	return c, nil
}

// stateCount is a row of CountStates' query.
type stateCount struct {
	what, state string
	n           int
}

func scanStateCount(r rowScanner) (stateCount, error) {
	var c stateCount
	return c, r.Scan(&c.what, &c.state, &c.n)
}

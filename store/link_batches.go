package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Links made together for several people (issue 13): each is one row of
// links, with the batch's ID and its line of the list (batch_seq).

// CreateLinkBatch creates links in one transaction, all or none, under a
// new batch ID, and returns the batch ID with the links in the order
// given. An empty batch is an error.
func (s *Store) CreateLinkBatch(ctx context.Context, batch []LinkCreate) (string, []Link, error) {
	if len(batch) == 0 {
		return "", nil, fmt.Errorf("store: create link batch: no links")
	}
	batchID := RandomString(22)
	ids := make([]string, 0, len(batch))
	err := s.inWrite(ctx, func(tx *txn) error {
		now := s.Now()
		for i, c := range batch {
			id, err := insertLink(ctx, tx, c, batchID, i+1, now)
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return "", nil, fmt.Errorf("store: create link batch of %d: %w", len(batch), err)
	}
	links, err := s.FindLinkBatch(ctx, batchID)
	if err != nil {
		return "", nil, err
	}
	return batchID, links, nil
}

// FindLinkBatch returns the links created together under batchID, in the
// order they were given. Returns ErrNotFound if there are none.
func (s *Store) FindLinkBatch(ctx context.Context, batchID string) ([]Link, error) {
	var links []Link
	err := s.inRead(ctx, func(tx *txn) error {
		var err error
		links, err = queryRows(ctx, tx, scanLink, `SELECT `+linkColumns+` FROM links l
			WHERE l.batch_id = :batch AND l.batch_id <> ''
			ORDER BY l.batch_seq`,
			sql.Named("now", millis(s.Now())), sql.Named("batch", batchID))
		if err == nil && len(links) == 0 {
			err = ErrNotFound
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: find link batch %s: %w", batchID, err)
	}
	return links, nil
}

package store

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// Backup writes a consistent copy of the database to path, while uplink
// keeps running: VACUUM INTO reads one snapshot, so writes that happen
// during the copy are simply not in it. path must not exist yet.
//
// Only a SQLite database is copied this way: a PostgreSQL one is backed up
// with PostgreSQL's own tools (pg_dump), and Backup refuses it.
func (s *Store) Backup(ctx context.Context, path string) error {
	if s.Postgres() {
		return errors.New("store: backup: the database is PostgreSQL; back it up with pg_dump")
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("store: backup: %s already exists", path)
	}
	if _, err := s.read.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		return fmt.Errorf("store: backup to %s: %w", path, err)
	}
	return nil
}

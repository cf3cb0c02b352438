package store

import (
	"context"
	"fmt"
	"os"
)

// Backup writes a consistent copy of the database to path, while uplink
// keeps running: VACUUM INTO reads one snapshot, so writes that happen
// during the copy are simply not in it. path must not exist yet.
func (s *Store) Backup(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("store: backup: %s already exists", path)
	}
	if _, err := s.read.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		return fmt.Errorf("store: backup to %s: %w", path, err)
	}
	return nil
}

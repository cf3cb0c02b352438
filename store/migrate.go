package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
)

// The migrations of each engine. SQLite's are migrations/*.sql, recorded
// under those names ("migrations/0001_init.sql") by every install so far.
// PostgreSQL's are migrations/postgres/*.sql: its 0001 creates the schema
// that SQLite's 0001 to 0010 built step by step, and later ones are
// numbered after it (its 0002 is SQLite's 0011, its 0003 SQLite's 0012;
// the first line of each later one names its SQLite twin). A change of
// schema gets a file for each engine.
//
//go:embed migrations/*.sql migrations/postgres/*.sql
var migrationFS embed.FS

// migrationsTable records the migrations applied, on either engine.
const (
	sqliteMigrationsTable = `
		CREATE TABLE IF NOT EXISTS migrations (
			name       TEXT PRIMARY KEY,
			applied_at INTEGER NOT NULL
		) STRICT`
	postgresMigrationsTable = `
		CREATE TABLE IF NOT EXISTS migrations (
			name       TEXT COLLATE "C" PRIMARY KEY,
			applied_at BIGINT NOT NULL
		)`
)

// postgresMigrationLock is the key of the advisory lock that each
// migration's transaction takes on PostgreSQL, so that instances started
// together apply each migration once: the others wait, then find it
// recorded. ("uplink" in ASCII.)
const postgresMigrationLock = 0x75706c696e6b

// migrate applies, in name order, every embedded migration of the engine
// that the database has not recorded yet. Each file runs in its own
// transaction together with the row that records it, so a failed
// migration leaves no trace. A shipped migration file is never edited;
// changes get a new file.
func (s *Store) migrate(ctx context.Context) error {
	pattern := "migrations/*.sql"
	if s.Postgres() {
		pattern = "migrations/postgres/*.sql"
	}
	names, err := fs.Glob(migrationFS, pattern)
	if err != nil {
		return fmt.Errorf("store: list migrations: %w", err)
	}
	sort.Strings(names)
	for i, name := range names {
		applied, err := s.migrateFile(ctx, name)
		if err != nil {
			return err
		}
		if i == 0 && applied {
			s.created = true
		}
	}
	return nil
}

// migrateFile applies one migration unless it is recorded, and reports
// whether it applied it. On PostgreSQL the transaction is READ COMMITTED
// and takes the migration lock first, so that it reads the migrations
// table as another instance may just have left it; the table itself is
// created under the same lock.
func (s *Store) migrateFile(ctx context.Context, name string) (applied bool, err error) {
	body, err := migrationFS.ReadFile(name)
	if err != nil {
		return false, fmt.Errorf("store: read migration %s: %w", name, err)
	}
	table := sqliteMigrationsTable
	var opts *sql.TxOptions
	if s.Postgres() {
		table, opts = postgresMigrationsTable, &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	err = s.inTx(ctx, opts, func(tx *txn) error {
		applied = false
		if s.Postgres() {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, int64(postgresMigrationLock)); err != nil {
				return fmt.Errorf("store: lock migrations: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, table); err != nil {
			return fmt.Errorf("store: create migrations table: %w", err)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM migrations WHERE name = ?`, name).Scan(&n); err != nil {
			return fmt.Errorf("store: check migration %s: %w", name, err)
		}
		if n > 0 {
			return nil
		}
		// The body goes to the engine as it is, unbound: it takes no
		// arguments, and may hold several statements.
		if _, err := tx.tx.ExecContext(ctx, string(body)); err != nil {
			return fmt.Errorf("store: apply migration %s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO migrations (name, applied_at) VALUES (?, ?)`, name, millis(s.Now())); err != nil {
			return fmt.Errorf("store: record migration %s: %w", name, err)
		}
		applied = true
		return nil
	})
	return applied && err == nil, err
}

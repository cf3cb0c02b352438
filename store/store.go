// Package store keeps uplink's metadata in SQLite: API keys, access tokens,
// upload tokens, videos and the state of their uploads.
//
// Every exported method runs in its own transaction. Writes go through a
// single-connection pool so that SQLite never sees two writers; reads use a
// separate pool and, thanks to WAL, never wait for a writer.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"modernc.org/sqlite" // Also registers the "sqlite" driver.
	sqlite3 "modernc.org/sqlite/lib"
)

// Store is the SQLite-backed metadata store. It is safe for concurrent use.
type Store struct {
	read  *sql.DB
	write *sql.DB
	now   func() time.Time
}

// Option configures a Store at Open.
type Option func(*Store)

// WithClock makes the store read the time from now instead of time.Now.
// Tests use it to control expiry without sleeping.
func WithClock(now func() time.Time) Option {
	return func(s *Store) { s.now = now }
}

// Open opens (creating if needed) the database at path and applies any
// pending migrations.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	// busy_timeout must come first so that it already applies while the
	// other pragmas (journal_mode needs a lock) are being set.
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_txlock", "immediate")
	// SQLite decodes percent-escapes in a "file:" URI's path, and would
	// read a "?" or "#" in it as the start of the query or fragment.
	escaped := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	dsn := "file:" + escaped + "?" + q.Encode()

	write, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)

	read, err := sql.Open("sqlite", dsn)
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	read.SetMaxOpenConns(8)

	s := &Store{read: read, write: write, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close closes both connection pools.
func (s *Store) Close() error {
	return errors.Join(s.read.Close(), s.write.Close())
}

// Now returns the store's current time, truncated to milliseconds, which is
// the precision timestamps are stored with.
func (s *Store) Now() time.Time {
	return s.now().UTC().Truncate(time.Millisecond)
}

// Ping checks that the database answers and accepts writes.
func (s *Store) Ping(ctx context.Context) error {
	return s.inWrite(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE meta SET value = value WHERE key = 'created_at'`)
		return err
	})
}

// inWrite runs fn in a write transaction and commits it if fn returns nil.
func (s *Store) inWrite(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return noSpace(err)
	}
	if err := tx.Commit(); err != nil {
		return noSpace(fmt.Errorf("store: commit: %w", err))
	}
	return nil
}

// noSpace marks err with ErrNoSpace if SQLite failed for want of disk
// space, so that a full disk can be answered as one (507) rather than as
// a server error.
func noSpace(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_FULL {
		return fmt.Errorf("%w (%w)", err, ErrNoSpace)
	}
	return err
}

// inRead runs fn in a read-only transaction, so that it sees one snapshot.
func (s *Store) inRead(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("store: begin read: %w", err)
	}
	defer tx.Rollback()
	return fn(tx)
}

// rowScanner is implemented by *sql.Row and *sql.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}

// queryRows runs a query in tx and returns its rows, each read by scan:
// the one loop over rows that every list in this package shares.
func queryRows[T any](ctx context.Context, tx *sql.Tx, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// scanString reads a row of one text column.
func scanString(r rowScanner) (string, error) {
	var s string
	return s, r.Scan(&s)
}

// millis converts a time to the integer milliseconds stored in SQLite.
func millis(t time.Time) int64 { return t.UnixMilli() }

// fromMillis converts stored milliseconds back to a UTC time.
func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// nullMillis converts an optional stored timestamp.
func nullMillis(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMillis(v.Int64)
	return &t
}

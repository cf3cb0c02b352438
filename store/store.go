// Package store keeps uplink's metadata: API keys, access tokens, upload
// tokens, videos and the state of their uploads, links, webhooks, and the
// dashboard's accounts and sessions. It runs on SQLite (a file, the
// default) or on PostgreSQL (several instances of uplink sharing one
// database), with the same SQL for both (see dialect).
//
// Every exported method runs in its own transaction. On SQLite, writes go
// through a single-connection pool so that SQLite never sees two writers;
// reads use a separate pool and, thanks to WAL, never wait for a writer.
// On PostgreSQL, writes are serializable transactions, run again when
// PostgreSQL finds them in conflict with another; reads see a snapshot.
// No transaction is ever held open while bytes stream.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Store is the metadata store. It is safe for concurrent use, and on
// PostgreSQL by several processes at once.
type Store struct {
	read  *sql.DB
	write *sql.DB // The same pool as read on PostgreSQL.
	d     dialect
	now   func() time.Time
	// created is set by Open when it made the schema: the database was
	// new.
	created bool
}

// Option configures a Store at Open.
type Option func(*Store)

// WithClock makes the store read the time from now instead of time.Now.
// Tests use it to control expiry without sleeping.
func WithClock(now func() time.Time) Option {
	return func(s *Store) { s.now = now }
}

// Open opens the database that dsn names and applies any pending
// migrations: a PostgreSQL database for a postgres:// or postgresql://
// URL (see IsPostgres), which must exist; otherwise the SQLite database
// at the path dsn, created if needed.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	s := &Store{now: time.Now}
	if IsPostgres(dsn) {
		db, err := openPostgres(ctx, dsn)
		if err != nil {
			return nil, err
		}
		s.read, s.write, s.d = db, db, &pgDialect{}
	} else {
		read, write, err := openSQLite(dsn)
		if err != nil {
			return nil, err
		}
		s.read, s.write, s.d = read, write, sqliteDialect{}
	}
	for _, o := range opts {
		o(s)
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Created reports whether Open made the database's schema, which it does
// only the first time a database is opened: a new SQLite file, or an
// empty PostgreSQL database (when several instances start together, one
// of them).
func (s *Store) Created() bool { return s.created }

// Postgres reports whether the store is on PostgreSQL.
func (s *Store) Postgres() bool {
	_, ok := s.d.(*pgDialect)
	return ok
}

// Close closes the connection pools.
func (s *Store) Close() error {
	if s.read == s.write {
		return s.read.Close()
	}
	return errors.Join(s.read.Close(), s.write.Close())
}

// Now returns the store's current time, truncated to milliseconds, which is
// the precision timestamps are stored with.
func (s *Store) Now() time.Time {
	return s.now().UTC().Truncate(time.Millisecond)
}

// Ping checks that the database answers and accepts writes.
func (s *Store) Ping(ctx context.Context) error {
	return s.inWrite(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `UPDATE meta SET value = value WHERE key = 'created_at'`)
		return err
	})
}

// maxWriteAttempts bounds how many times inWrite runs a transaction that
// keeps failing for a conflict with others. Each conflict means another
// transaction committed, so a write that loses this often is in a crowd
// that a retry later may find gone.
const maxWriteAttempts = 12

// inWrite runs fn in a write transaction and commits it if fn returns nil.
// On PostgreSQL, a transaction that fails for a conflict with concurrent
// ones (a serialization failure or a deadlock) is rolled back and fn runs
// again from the start, after a short random wait, up to
// maxWriteAttempts times: fn must set whatever it returns through its
// closure afresh on each run, and do nothing outside the transaction.
func (s *Store) inWrite(ctx context.Context, fn func(*txn) error) error {
	return s.inTx(ctx, s.d.writeTx(), fn)
}

// inQueue is inWrite for a transaction that claims rows of a queue with
// dialect.skipLocked: on PostgreSQL it runs READ COMMITTED, where each
// statement sees what committed before it and skipped rows are no
// conflict, so that instances claiming together neither wait for nor
// fail each other.
func (s *Store) inQueue(ctx context.Context, fn func(*txn) error) error {
	return s.inTx(ctx, s.d.queueTx(), fn)
}

func (s *Store) inTx(ctx context.Context, opts *sql.TxOptions, fn func(*txn) error) error {
	for attempt := 1; ; attempt++ {
		err := s.tryTx(ctx, opts, fn)
		if err == nil || !s.d.retryable(err) || attempt == maxWriteAttempts {
			return err
		}
		// Full jitter over a window that doubles from 2 ms to 256 ms,
		// so that the transactions that collided do not collide again.
		window := 2 * time.Millisecond << min(attempt-1, 7)
		t := time.NewTimer(rand.N(window) + time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

func (s *Store) tryTx(ctx context.Context, opts *sql.TxOptions, fn func(*txn) error) error {
	tx, err := s.write.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback()
	if err := fn(&txn{tx: tx, d: s.d}); err != nil {
		return s.noSpace(err)
	}
	if err := tx.Commit(); err != nil {
		return s.noSpace(fmt.Errorf("store: commit: %w", err))
	}
	return nil
}

// noSpace marks err with ErrNoSpace if the database failed for want of
// disk space, so that a full disk can be answered as one (507) rather
// than as a server error.
func (s *Store) noSpace(err error) error {
	if s.d.noSpace(err) {
		return fmt.Errorf("%w (%w)", err, ErrNoSpace)
	}
	return err
}

// inRead runs fn in a read-only transaction, so that it sees one snapshot.
func (s *Store) inRead(ctx context.Context, fn func(*txn) error) error {
	tx, err := s.read.BeginTx(ctx, s.d.readTx())
	if err != nil {
		return fmt.Errorf("store: begin read: %w", err)
	}
	defer tx.Rollback()
	return fn(&txn{tx: tx, d: s.d})
}

// rowScanner is implemented by *sql.Row and *sql.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}

// queryRows runs a query and returns its rows, each read by scan:
// the one loop over rows that every list in this package shares.
func queryRows[T any](ctx context.Context, q querier, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
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

// scanStringPair reads a row of two text columns.
func scanStringPair(r rowScanner) ([2]string, error) {
	var p [2]string
	return p, r.Scan(&p[0], &p[1])
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

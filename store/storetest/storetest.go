// Package storetest opens real stores for tests, on either engine: a
// fresh SQLite file in the test's temporary directory by default, or a
// fresh PostgreSQL database when the environment asks for one (see Main),
// with a clock the test controls.
//
// Tests never read time.Now. They start at Epoch and move the clock with
// Advance, so that expiry and leases are tested without sleeping.
package storetest

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // Registers the "pgx" driver, for RawDB.
	_ "modernc.org/sqlite"             // Registers the "sqlite" driver, for RawDB.

	"github.com/uplink-video/uplink/store"
)

// Epoch is the time every Clock starts at. It has no sub-millisecond part,
// so times read back from the store compare equal to it.
var Epoch = time.Date(2024, time.July, 14, 12, 0, 0, 0, time.UTC)

// Clock is a controllable clock. It is safe for concurrent use, since the
// code under test may read it from many goroutines.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock that reads Epoch until moved.
func NewClock() *Clock { return &Clock{now: Epoch} }

// Now returns the clock's current time. Pass it to store.WithClock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d (backward if d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Open opens a store on a new database of the engine the tests run on,
// with a clock fixed at Epoch. The store is closed when the test ends.
func Open(tb testing.TB) *store.Store {
	tb.Helper()
	return OpenWithClock(tb, NewClock())
}

// OpenWithClock is Open with a clock the test moves.
func OpenWithClock(tb testing.TB, c *Clock) *store.Store {
	tb.Helper()
	return OpenDSN(tb, NewDSN(tb), c)
}

// NewDSN returns where a new database of the engine the tests run on is:
// a path in tb.TempDir() for SQLite (the file is created when opened), or
// the URL of a new PostgreSQL database, migrated already, which is
// dropped when the test ends. Tests that open the same database twice
// (a restart, a second instance) pass it to OpenDSN each time.
func NewDSN(tb testing.TB) string {
	tb.Helper()
	if Postgres() {
		return newPostgresDatabase(tb)
	}
	return filepath.Join(tb.TempDir(), "uplink.db")
}

// NewEmptyDSN is NewDSN for a database that no store has opened yet, for
// tests of migrations: an empty PostgreSQL database, dropped when the
// test ends, or a path where no file is.
func NewEmptyDSN(tb testing.TB) string {
	tb.Helper()
	if Postgres() {
		return newEmptyPostgresDatabase(tb)
	}
	return filepath.Join(tb.TempDir(), "uplink.db")
}

// OpenDSN opens (creating a SQLite file if needed) the database dsn with
// clock c: a SQLite path, or a PostgreSQL URL from NewDSN. The store is
// closed when the test ends; closing it earlier as well is harmless.
func OpenDSN(tb testing.TB, dsn string, c *Clock) *store.Store {
	tb.Helper()
	st, err := store.Open(context.Background(), dsn, store.WithClock(c.Now))
	if err != nil {
		tb.Fatalf("store.Open: %v", err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// RawDB opens the database dsn directly, without the store, for tests that
// check what the store wrote with queries of their own. Those queries
// take no arguments, or are written for the engine (Postgres tells
// which): placeholders differ. It is closed when the test ends.
func RawDB(tb testing.TB, dsn string) *sql.DB {
	tb.Helper()
	driver, source := "sqlite", "file:"+dsn+"?_pragma=busy_timeout(10000)"
	if store.IsPostgres(dsn) {
		driver, source = "pgx", dsn
	}
	db, err := sql.Open(driver, source)
	if err != nil {
		tb.Fatalf("sql.Open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// SQLiteOnly skips the test when the tests run on PostgreSQL: it checks
// something only SQLite has (a file, STRICT tables, query plans, VACUUM
// INTO), and runs, on SQLite, in the default run.
func SQLiteOnly(tb testing.TB) {
	tb.Helper()
	if Postgres() {
		tb.Skip("SQLite only: the tests run on PostgreSQL")
	}
}

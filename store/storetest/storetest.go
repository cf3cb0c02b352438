// Package storetest opens real stores for tests: a fresh SQLite file in the
// test's temporary directory, with a clock the test controls.
//
// Tests never read time.Now. They start at Epoch and move the clock with
// Advance, so that expiry and leases are tested without sleeping.
package storetest

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

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

// Open opens a store on a new database file in t.TempDir(), with a clock
// fixed at Epoch. The store is closed when the test ends.
func Open(tb testing.TB) *store.Store {
	tb.Helper()
	return OpenWithClock(tb, NewClock())
}

// OpenWithClock is Open with a clock the test moves.
func OpenWithClock(tb testing.TB, c *Clock) *store.Store {
	tb.Helper()
	return OpenFile(tb, filepath.Join(tb.TempDir(), "uplink.db"), c)
}

// OpenFile opens (creating if needed) the database at path with clock c,
// for tests that reopen a database or inspect its file. The store is
// closed when the test ends; closing it earlier as well is harmless.
func OpenFile(tb testing.TB, path string, c *Clock) *store.Store {
	tb.Helper()
	st, err := store.Open(context.Background(), path, store.WithClock(c.Now))
	if err != nil {
		tb.Fatalf("store.Open(%s): %v", path, err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

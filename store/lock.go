package store

import (
	"context"
	"database/sql/driver"
	"fmt"
	"hash/fnv"
	"time"
)

// TryLock takes the lock called name, for a job that must run on one
// instance at a time (the cleanup pass), if no other holder has it; ok
// reports whether it did. The caller calls release when done, which is
// harmless to call twice.
//
// On PostgreSQL it is a session advisory lock (pg_try_advisory_lock) held
// on a connection of its own until release, so that it does not depend on
// any transaction; an instance that dies loses its connection and with it
// the lock. On SQLite, whose database one process opens, the lock is
// always taken and release does nothing.
func (s *Store) TryLock(ctx context.Context, name string) (release func(), ok bool, err error) {
	if !s.Postgres() {
		return func() {}, true, nil
	}
	key := lockKey(name)
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("store: lock %s: %w", name, err)
	}
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil {
		conn.Close()
		return nil, false, fmt.Errorf("store: lock %s: %w", name, err)
	}
	if !ok {
		conn.Close()
		return nil, false, nil
	}
	var released bool
	return func() {
		if released {
			return
		}
		released = true
		// The lock goes with the session: a connection whose unlock
		// failed is closed rather than handed back to the pool holding it.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var unlocked bool
		if err := conn.QueryRowContext(ctx, `SELECT pg_advisory_unlock($1)`, key).Scan(&unlocked); err != nil || !unlocked {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		conn.Close()
	}, true, nil
}

// lockKey is the advisory lock key of a lock name: a 64-bit hash of it,
// prefixed so that uplink's keys are unlikely to meet those of other
// programs sharing the database.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("uplink:" + name))
	return int64(h.Sum64())
}

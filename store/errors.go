package store

import "errors"

// ErrNotFound is returned when the requested row does not exist (or, for
// upload tokens, has been deleted).
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a write lost a race with another write, for
// example when a part was recorded by a concurrent request.
var ErrConflict = errors.New("conflict")

// ErrNoSpace is matched (with errors.Is) by errors of writes that failed
// because the disk or the quota is full (SQLite's SQLITE_FULL). Nothing of
// such a write was committed.
var ErrNoSpace = errors.New("no space left for the database")

// Package blob keeps the bytes of videos, apart from their metadata.
//
// Objects are named by opaque keys that the caller generates (see NewKey)
// and records in the metadata store. An object grows only by Append, which
// is durable when it returns; this is the one write path, and it maps onto
// a local file (append + fsync) as well as onto an S3 multipart upload
// (one part per append).
package blob

import (
	"context"
	"errors"
	"io"
)

// Store is where video bytes live.
type Store interface {
	// Append writes r to the object key starting at byte off, creating the
	// object if it does not exist, and returns the number of bytes written.
	// off must be the object's durable length as the caller recorded it:
	// any bytes past off (debris of an interrupted write) are dropped
	// first. When Append returns nil the bytes are durable. When it
	// returns an error, the object is cut back to off, so a half-written
	// piece leaves nothing behind. A full disk is reported as an error
	// that matches ErrNoSpace.
	Append(ctx context.Context, key string, off int64, r io.Reader) (int64, error)

	// Open opens the object for reading. The reader supports Seek, so it
	// can serve HTTP Range requests. Returns ErrNotFound for a missing key.
	Open(ctx context.Context, key string) (io.ReadSeekCloser, error)

	// Truncate cuts the object to size bytes. It never grows an object.
	// Returns ErrNotFound for a missing key.
	Truncate(ctx context.Context, key string, size int64) error

	// Delete removes the object. Deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error

	// List calls fn with the key of every object, in no particular order.
	List(ctx context.Context, fn func(key string) error) error
}

// ErrNotFound is returned for a key with no object.
var ErrNotFound = errors.New("blob: not found")

// ErrNoSpace is matched (with errors.Is) by errors caused by a full disk
// or an exhausted quota.
var ErrNoSpace = errors.New("blob: no space left")

// ErrCorrupt is returned by Append when the object is shorter than the
// caller's recorded durable length, which means bytes were lost outside
// uplink's control.
var ErrCorrupt = errors.New("blob: object shorter than its recorded length")

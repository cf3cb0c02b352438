// Package blob keeps the bytes of videos, apart from their metadata.
//
// Objects are named by opaque keys that the caller generates (see NewKey)
// and records in the metadata store. An object is written once and never
// changes afterwards: whole, by Put, or in numbered parts, by a multipart
// upload (CreateMultipart, WritePart, CompleteMultipart), which is how S3
// and its kin take large objects. Every part's exact length is known before
// its first byte is written, because object stores need it in the request
// that carries the part.
//
// The metadata store is the only record of what exists: it names every
// object and every part (with the ETag the store returned for it), and
// completes an upload from that record, never from a listing. Whatever it
// does not name is debris of an interrupted request, which the owner
// removes once it is old enough (List, ListMultipart).
package blob

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"time"
)

// Store is where video bytes live. Dir implements it on a local disk; an
// object store implements it with its multipart upload API.
type Store interface {
	Objects
	Multipart
}

// Objects are whole objects.
type Objects interface {
	// Put writes an object of exactly size bytes read from r, or of
	// whatever r holds up to its end when size is -1, replacing any
	// object of that key, and returns its length. It is durable when Put
	// returns nil. When r holds fewer or more than size bytes, Put fails
	// with ErrLength and leaves no object. A full disk or quota is
	// reported as an error that matches ErrNoSpace.
	Put(ctx context.Context, key string, size int64, r io.Reader) (int64, error)

	// Open opens the object for reading. The reader supports Seek, so it
	// can serve HTTP Range requests. Returns ErrNotFound for a missing key.
	Open(ctx context.Context, key string) (io.ReadSeekCloser, error)

	// Delete removes the object. Deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error

	// List calls fn for every object, in no particular order. An
	// implementation whose multipart uploads are objects too (Dir) lists
	// them here.
	List(ctx context.Context, fn func(Info) error) error

	// Discard removes whatever a writer of key left: the object, and any
	// write of it that never ended, such as the multipart upload an
	// object store makes of a Put of unknown length whose process died.
	// It is for the debris of a dead writer, which the caller knows of
	// (from its record of the write) long before the owner's cleanup of
	// old debris would find it; the caller must know that nothing writes
	// key any more. Discarding a key with nothing under it is not an
	// error.
	Discard(ctx context.Context, key string) error
}

// Multipart builds an object from numbered parts.
type Multipart interface {
	// CreateMultipart starts an upload of the object key and returns it.
	// The object is complete only once CompleteMultipart returns; until
	// then a store may not show it at all (an object store), or show it
	// partly written (Dir), so nobody opens it before.
	CreateMultipart(ctx context.Context, key string) (Upload, error)

	// WritePart writes part p (p.Number, p.Size and, where known,
	// p.Offset) of upload u from r and returns it with its Size and the
	// ETag that CompleteMultipart needs back. Writing a part again
	// replaces it: the last write to return is the one kept. The part is
	// durable when WritePart returns nil. When r holds fewer or more than
	// p.Size bytes, WritePart fails with ErrLength.
	//
	// p.Size may be -1 when the length is not known before the part
	// ends (a multipart request body with fields after the file). A
	// store that needs the length in advance, as object stores do,
	// returns ErrLengthRequired; the caller then writes the part as an
	// object of its own (Put) and adopts it (AdoptPart).
	WritePart(ctx context.Context, u Upload, p Part, r io.Reader) (Part, error)

	// AdoptPart makes the object src, of exactly p.Size bytes, part p of
	// upload u, and returns the part's ETag. The object is consumed: it
	// no longer exists once the upload completes or is aborted. A store
	// moves or copies it without the bytes passing through uplink.
	AdoptPart(ctx context.Context, u Upload, p Part, src string) (etag string, err error)

	// CompleteMultipart assembles the object from parts, in ascending
	// order of Number (numbers may have gaps), each with the ETag its
	// write returned and its exact Size. It may be called again after a
	// crash or an error, with the same parts, and then succeeds if the
	// object is complete.
	CompleteMultipart(ctx context.Context, u Upload, parts []Part) error

	// AbortMultipart drops an unfinished upload and whatever its parts
	// hold. Aborting an upload that no longer exists is not an error.
	AbortMultipart(ctx context.Context, u Upload, parts []Part) error

	// ListMultipart calls fn for every unfinished upload that is not also
	// an object (see List).
	ListMultipart(ctx context.Context, fn func(Upload, time.Time) error) error
}

// PartOpener is a store that can read back a part of an unfinished
// upload, as the last write that returned wrote it (a local disk can; an
// object store cannot).
type PartOpener interface {
	// OpenPart reads part p (with the Offset, Size and ETag its write
	// returned) of upload u.
	OpenPart(ctx context.Context, u Upload, p Part) (io.ReadCloser, error)
}

// Upload names a multipart upload: the object it builds and the store's
// ID for it.
type Upload struct {
	Key string
	ID  string
}

// Part is one part of a multipart upload.
type Part struct {
	// Number is the part's number, from 1 to MaxParts. The object is its
	// parts in ascending order of number.
	Number int
	// Size is the part's exact length in bytes.
	Size int64
	// Offset is where the part starts in the object, or -1 when that is
	// not known yet (the parts before it have not all arrived). A store
	// that can write in place (a local file) uses it to write each byte
	// once; others ignore it.
	Offset int64
	// ETag is what WritePart or AdoptPart returned for the part; it is
	// set on the parts given to CompleteMultipart and AbortMultipart.
	ETag string
}

// Info describes a stored object.
type Info struct {
	Key      string
	Size     int64
	Modified time.Time
}

// MaxParts is the highest part number, as in S3.
const MaxParts = 10000

// ErrNotFound is returned for a key with no object.
var ErrNotFound = errors.New("blob: not found")

// ErrNoSpace is matched (with errors.Is) by errors caused by a full disk
// or an exhausted quota.
var ErrNoSpace = errors.New("blob: no space left")

// ErrLength is matched by errors of a write whose reader held fewer or
// more bytes than announced.
var ErrLength = errors.New("blob: body length differs from the announced size")

// ErrLengthRequired is returned by WritePart for a part of unknown length
// by a store that needs it in advance.
var ErrLengthRequired = errors.New("blob: the part's length is required in advance")

// NewKey returns a fresh random object key: 26 base32 characters, 128 bits
// from crypto/rand.
func NewKey() string { return rand.Text() }

// ValidKey reports whether key is one NewKey could have made (or one of an
// older uplink): 3 to 64 ASCII letters and digits. Keys are checked so that
// they never name a path outside a store's root.
func ValidKey(key string) bool {
	if len(key) < 3 || len(key) > 64 {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// Exact returns a reader that yields exactly size bytes of r and then
// io.EOF, and fails with ErrLength if r ends early or holds more. It holds
// back the last byte until it has seen r end: a store that sends the bytes
// on as they come (an object store's request with its Content-Length set)
// then never receives the whole announced length of a body that was too
// long, so the part is never committed on its side either.
// A size of -1 means no check: r itself is returned.
func Exact(r io.Reader, size int64) io.Reader {
	if size < 0 {
		return r
	}
	return &exactReader{r: r, left: size}
}

type exactReader struct {
	r    io.Reader
	left int64 // Bytes still to hand out.
	err  error
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if e.left == 0 {
		e.err = io.EOF
		return 0, io.EOF
	}
	if e.left == 1 {
		return e.readLast(p)
	}
	// Never hand out the last byte here.
	if int64(len(p)) >= e.left {
		p = p[:e.left-1]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if errors.Is(err, io.EOF) {
		e.err = ErrLength
		if n == 0 {
			return 0, e.err
		}
		return n, nil
	}
	if err != nil {
		e.err = err
	}
	return n, err
}

// readLast reads the last byte and makes sure nothing follows it.
func (e *exactReader) readLast(p []byte) (int, error) {
	var b [2]byte
	n, err := io.ReadAtLeast(e.r, b[:1], 1)
	if n == 0 {
		e.err = ErrLength
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			e.err = err
		}
		return 0, e.err
	}
	// Read until r says it is done: most readers return their last bytes
	// and io.EOF in separate calls.
	for {
		m, err := e.r.Read(b[1:])
		if m > 0 {
			e.err = ErrLength
			return 0, e.err
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			e.err = err
			return 0, err
		}
	}
	p[0] = b[0]
	e.left = 0
	return 1, nil
}

package ingest

import (
	"context"
	"errors"

	"github.com/uplink-video/uplink/store/blob"
)

// A request to POST /upload in part mode does not say how long its file
// part is: a multipart body may carry a videoId field after the file, so
// its Content-Length is more than the file. A blob store that needs a
// part's length before its first byte (an object store) can then only
// write the part as an object of its own and copy it into the upload,
// which writes every byte twice on the storage server.
//
// The caller (the API, which knows the multipart framing) can guess the
// length instead, from the Content-Length less the framing that the
// official clients write. The guess costs nothing to check: the blob store
// reads exactly that many bytes through blob.Exact, which holds back the
// last byte until the file part has ended, so a part of another length is
// never stored, and the request fails with CodeSendAgain. The token then
// takes no more guesses (store.StopSizeGuesses): the same request sent
// again is written aside, as it would have been without a guess. A client
// whose framing uplink does not know fails at most one request.

// lengthFirst is a blob store that writes a part or an object as one
// request of a known length, and otherwise in a roundabout way: an object
// store.
type lengthFirst interface {
	// LengthFirst reports whether the store writes best with the length
	// known before the first byte.
	LengthFirst() bool
}

// Aim is where a piece's bytes go, for a caller that guesses the file
// part's length (see GuessSize).
type Aim struct {
	// VideoID is the video of the existing upload the piece joins: ""
	// for a new upload, or one known only at Commit.
	VideoID string
	// TotalKnown says that the upload's total number of parts was known
	// before this request.
	TotalKnown bool
	// FirstPartSize is the length of the upload's part 1, or -1 when it
	// has not arrived. The clients send every part but the last with the
	// same length.
	FirstPartSize int64
}

// Aim tells where the piece's bytes go.
func (p *Piece) Aim() Aim {
	if p.dest != toPart {
		return Aim{FirstPartSize: -1}
	}
	return Aim{VideoID: p.target, TotalKnown: p.totalKnown, FirstPartSize: p.firstPart}
}

// GuessSize tells the piece that its file part probably holds n bytes,
// for a request that does not say (Request.Size is 0). A blob store that
// needs the length in advance then receives the part as n bytes; if the
// part holds another number, Receive fails with CodeSendAgain and nothing
// of it is kept. Call it before Receive. A token whose guess was wrong
// before takes none.
func (p *Piece) GuessSize(n int64) {
	if n > 0 && p.req.Size < 0 && p.token.GuessSizes {
		p.guess = n
	}
}

// sizeToWrite returns the length to announce to the blob store, -1 when
// it is not known, and whether it is a guess.
func (p *Piece) sizeToWrite() (int64, bool) {
	if p.req.Size >= 0 || p.guess <= 0 || !p.s.lengthFirst {
		return p.req.Size, false
	}
	return p.guess, true
}

// wrongGuess turns a write that found the file part's length other than
// guessed into the client's CodeSendAgain, and stops the token's guesses so
// that the request sent again is written without one.
func (p *Piece) wrongGuess(ctx context.Context, received int64) error {
	ctx = context.WithoutCancel(ctx)
	p.s.log.WarnContext(ctx, "a file part's length was not the one its request's framing suggested; the token's requests are no longer guessed",
		"token", p.token.ID, "range", p.req.Range.String(), "guess", p.guess, "received", received)
	if err := p.s.store.StopSizeGuesses(ctx, p.token.ID); err != nil {
		return err
	}
	return refuse(CodeSendAgain, "file", "uplink took the file part for %d bytes from the request's Content-Length, and it holds another number; nothing of it was kept. Send the same request again.", p.guess)
}

// guessMissed reports whether err is a write that found the file part's
// length other than guessed, rather than a body cut off.
func guessMissed(guessed bool, err error) bool {
	return guessed && errors.Is(err, blob.ErrLength) && !bodyCut(err)
}

// lengthFirstStore reports whether blobs writes best with lengths known.
func lengthFirstStore(blobs blob.Store) bool {
	lf, ok := blobs.(lengthFirst)
	return ok && lf.LengthFirst()
}

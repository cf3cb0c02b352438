// Package ingest assembles uploaded pieces into video sources, durably.
//
// One upload request carries one piece: a whole file, a numbered part, or a
// byte range. A piece that arrives in order is appended straight to the end
// of its video's source blob, so in the usual case every byte is written to
// disk exactly once. A piece that arrives early, or while another request
// holds the end of the source, is written to a blob of its own and moved in
// once the pieces before it are there.
//
// A piece counts only once its bytes are fsynced and its row is committed,
// in that order, so a crash can leave bytes without a row (reclaimed by
// Recover and Sweep) but never a row without its bytes.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/blob"
)

// Service receives upload pieces. It is safe for concurrent use, within one
// process: the metadata and the blobs must not be shared with another.
type Service struct {
	store *store.Store
	blobs blob.Store
	lease time.Duration
	log   *slog.Logger
	// onComplete counts the completed upload, then calls
	// Config.OnComplete if set.
	onComplete func(videoID string)

	hooks   Hooks
	metrics Metrics // Never nil.

	locks    lockTable
	inflight keySet
}

// Config tunes a Service.
type Config struct {
	// Lease is how long an unfinished upload may go without receiving a
	// piece before it is abandoned. Defaults to DefaultLease.
	Lease  time.Duration
	Logger *slog.Logger
	// Hooks are for crash tests only; see Hooks.
	Hooks Hooks
	// OnComplete, when set, is called once for each upload that becomes
	// complete, after its completion is committed and outside the
	// upload's locks, on the goroutine of the request (or maintenance
	// pass) that completed it. It must not block for long.
	OnComplete func(videoID string)
	// Metrics, when set, counts uploads and pieces.
	Metrics Metrics
}

// Metrics hears what happens to uploads, to count it. Its methods are
// called on the goroutine of the request (or maintenance pass) concerned,
// sometimes with an upload's lock held: they must be safe for concurrent
// use and must not block.
type Metrics interface {
	// UploadStarted is called when an upload's first piece is recorded.
	UploadStarted()
	// UploadCompleted is called once for each upload that becomes
	// complete, just before Config.OnComplete.
	UploadCompleted()
	// UploadFailed is called when an upload is abandoned ("abandoned") or
	// deleted before its end ("cancelled"), and when a piece is refused:
	// "too_large", "no_space", "refused" (any other refusal the client
	// can act on), "interrupted" (its body stopped arriving) or "error"
	// (the server failed).
	UploadFailed(reason string)
	// PartCommitted is called for each piece accepted, a repeat of one
	// already held included, with its size and the time from Begin to
	// the end of its commit.
	PartCommitted(bytes int64, d time.Duration)
}

type noMetrics struct{}

func (noMetrics) UploadStarted()                     {}
func (noMetrics) UploadCompleted()                   {}
func (noMetrics) UploadFailed(string)                {}
func (noMetrics) PartCommitted(int64, time.Duration) {}

// Hooks are callbacks at points of a piece's life that crash tests must
// reach deterministically. They exist only for tests: cmd/uplink sets them
// from UPLINK_TEST_CRASHPOINT alone, and a production server leaves them
// nil.
type Hooks struct {
	// AfterSync, when set, is called each time bytes have been made
	// durable (fsynced) and the row that records them is not yet
	// committed: a crash here leaves bytes without a record, which
	// Recover must reclaim.
	AfterSync func()
}

func (s *Service) afterSync() {
	if s.hooks.AfterSync != nil {
		s.hooks.AfterSync()
	}
}

// DefaultLease is the default time an upload may idle between pieces.
const DefaultLease = 24 * time.Hour

// New returns a Service that keeps metadata in st and bytes in blobs.
func New(st *store.Store, blobs blob.Store, cfg Config) *Service {
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = noMetrics{}
	}
	onComplete := func(videoID string) {
		cfg.Metrics.UploadCompleted()
		if cfg.OnComplete != nil {
			cfg.OnComplete(videoID)
		}
	}
	return &Service{store: st, blobs: blobs, lease: cfg.Lease, log: cfg.Logger, onComplete: onComplete, hooks: cfg.Hooks, metrics: cfg.Metrics}
}

// Request is what an upload request says before its file part.
type Request struct {
	Token string
	Range Range
	// VideoID is the videoId field if it came before the file part.
	VideoID string
}

// destination says where a piece's bytes are written.
type destination int

const (
	toNothing destination = iota // A repeat of a piece already held: count, keep nothing.
	toTail                       // Appended to the end of a video's source.
	toOwnBlob                    // Written to a blob of its own.
)

// Piece is one request's file bytes on their way into an upload. Call
// Receive once, then Commit; always call Close.
type Piece struct {
	s     *Service
	req   Request
	token store.UploadToken
	begun time.Time // When Begin was called, for Metrics.PartCommitted.

	dest     destination
	key      string // The blob written: the tail's source, or the piece's own.
	offset   int64  // Where the bytes start in key.
	tailOf   string // The video whose tail is held, with toTail.
	tailLock *videoLock

	received  bool
	size      int64
	filename  string
	committed bool
	completed bool // Committing the piece completed its upload.
	gone      bool // The tail's upload vanished (deleted or abandoned).
}

// Begin validates a request up to its file part and decides where the
// piece's bytes will go. Errors that can be found before the body is read
// (an unknown token, a piece the upload cannot take) are returned here, so
// that no byte is stored for them.
func (s *Service) Begin(ctx context.Context, req Request) (*Piece, error) {
	begun := time.Now()
	tok, err := s.findToken(ctx, req.Token)
	if err != nil {
		s.refused(err)
		return nil, err
	}
	p := &Piece{s: s, req: req, token: tok, dest: toOwnBlob, begun: begun}
	now := s.store.Now()
	switch {
	case req.VideoID != "":
		err = p.aimAtVideo(ctx, req.VideoID, now)
	case !req.Range.first():
		err = p.aimAtOpenUpload(ctx)
	case tok.Expired(now):
		// A first piece without videoId starts a new video, which needs a
		// live token, unless a videoId after the file makes it part of an
		// upload already running. That can only be so if the token has
		// one running.
		open, ferr := s.store.FindOpenUploads(ctx, tok.ID)
		if ferr != nil {
			return nil, ferr
		}
		if len(open) == 0 {
			return nil, expiredToken()
		}
	}
	if err != nil {
		p.Close()
		s.refused(err)
		return nil, err
	}
	if p.dest == toOwnBlob {
		p.key = blob.NewKey()
		s.inflight.add(p.key)
	}
	return p, nil
}

// CheckToken refuses, before any byte of a request is read, a token that
// is missing, unknown or deleted. An expired token passes: it may still
// finish an upload it started (see Begin).
func (s *Service) CheckToken(ctx context.Context, id string) error {
	_, err := s.findToken(ctx, id)
	return err
}

func (s *Service) findToken(ctx context.Context, id string) (store.UploadToken, error) {
	if id == "" {
		return store.UploadToken{}, refuse(CodeMissingToken, "token", "Add the upload token to the URL: /upload?token=<token>.")
	}
	if !store.ValidID(store.PrefixUploadToken, id) {
		return store.UploadToken{}, invalidToken()
	}
	tok, err := s.store.FindUploadToken(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && tok.Deleted() {
		return store.UploadToken{}, invalidToken()
	}
	return tok, err
}

// aimAtVideo prepares a piece for a video named before the file part.
func (p *Piece) aimAtVideo(ctx context.Context, videoID string, now time.Time) error {
	u, err := p.s.store.FindUpload(ctx, videoID)
	if errors.Is(err, store.ErrNotFound) {
		// No upload yet: the video must exist (made by POST /videos), and
		// starting to fill it needs a live token.
		if _, err := p.s.store.FindVideo(ctx, videoID); err != nil {
			return videoErr(videoID, err)
		}
		if p.token.Expired(now) {
			return expiredToken()
		}
		return nil
	}
	if err != nil {
		return err
	}
	if u.TokenID != p.token.ID {
		return videoNotFound(videoID)
	}
	if lapsed(u, now) {
		return p.s.abandon(ctx, u.VideoID)
	}
	retry, err := check(&u, p.req.Range, -1)
	if err != nil {
		return err
	}
	if retry {
		p.dest = toNothing
		return nil
	}
	p.tryTail(ctx, u)
	return nil
}

// aimAtOpenUpload guesses, for a later piece without a videoId before the
// file, which of the token's running uploads it belongs to. The guess only
// decides where the bytes are written: Commit checks it against a videoId
// that may follow the file, and moves the bytes if it was wrong.
func (p *Piece) aimAtOpenUpload(ctx context.Context) error {
	open, err := p.s.store.FindOpenUploads(ctx, p.token.ID)
	if err != nil {
		return err
	}
	if m := matching(open, p.req.Range); len(m) == 1 {
		p.tryTail(ctx, m[0])
	}
	return nil
}

// tryTail takes the end of u's source for this piece if the piece is the
// next one u needs and nobody else is appending; otherwise the piece keeps
// going to a blob of its own.
func (p *Piece) tryTail(ctx context.Context, u store.Upload) {
	seq := p.req.Range.seq()
	if nextSeq(u) != seq {
		return
	}
	l := p.s.locks.get(u.VideoID)
	if !l.tryTailQuietly() {
		p.s.locks.put(u.VideoID, l)
		return
	}
	// Only the tail holder moves the end of the source, so this read is
	// current for as long as the tail is held.
	cur, err := p.s.store.FindUpload(ctx, u.VideoID)
	_, held := cur.Part(seq)
	if err != nil || cur.Status != store.UploadUploading || held || nextSeq(cur) != seq {
		p.s.releaseTail(u.VideoID, l)
		p.s.locks.put(u.VideoID, l)
		return
	}
	p.dest, p.key, p.offset, p.tailOf, p.tailLock = toTail, cur.SourceKey, cur.SourceSize, u.VideoID, l
}

// Receive streams the file part's bytes to their destination. filename is
// the part's file name, which becomes the title of a new video.
func (p *Piece) Receive(ctx context.Context, filename string, r io.Reader) error {
	err := p.receive(ctx, filename, r)
	var e *Error
	var pe *fs.PathError
	switch {
	case err == nil:
	case errors.As(err, &e), errors.As(err, &pe), errors.Is(err, blob.ErrCorrupt):
		p.s.refused(err)
	default:
		// Not a refusal, nor the disk (whose errors name a file): the
		// body stopped arriving, cut off or timed out.
		p.s.metrics.UploadFailed("interrupted")
	}
	return err
}

func (p *Piece) receive(ctx context.Context, filename string, r io.Reader) error {
	if p.received {
		return refuse(CodeMultipleFiles, "file", "There is more than one uploaded file in the request; send one file part per request.")
	}
	p.received = true
	p.filename = filename
	limit := int64(MaxPieceSize)
	if p.req.Range.Mode == Bytes {
		limit = p.req.Range.length()
	}
	lr := &io.LimitedReader{R: r, N: limit + 1}
	var n int64
	var err error
	switch p.dest {
	case toNothing:
		n, err = io.Copy(io.Discard, lr)
	default:
		n, err = p.s.blobs.Append(ctx, p.key, p.offset, lr)
	}
	if errors.Is(err, blob.ErrNoSpace) {
		p.s.log.ErrorContext(ctx, "disk full while receiving a piece", "err", err)
		return noSpace()
	}
	if err != nil {
		return err
	}
	p.size = n
	if n > limit {
		if p.req.Range.Mode == Bytes {
			return refuse(CodeBytesMismatch, "file", "The range %s announces %d bytes, but the file part holds more.", p.req.Range, limit)
		}
		return refuse(CodeFileTooLarge, "file", "One request can carry at most %d bytes (200 MiB). Send larger files in parts with \"Content-Range: part N/M\".", limit)
	}
	return nil
}

// Commit records the received piece in its upload and returns the video.
// videoID is the videoId field if the request had one after the file part
// (or before it), and "" otherwise.
func (p *Piece) Commit(ctx context.Context, videoID string) (store.Video, error) {
	if !p.received {
		return store.Video{}, refuse(CodeNoFile, "file", "There is no uploaded file in the request; add the file as a multipart part with a filename.")
	}
	if videoID == "" {
		videoID = p.req.VideoID
	}
	target, isNew, err := p.resolve(ctx, videoID)
	if err != nil {
		p.s.refused(err)
		return store.Video{}, err
	}
	l := p.s.locks.get(target)
	defer p.s.locks.put(target, l)
	l.state.Lock()
	staged, err := p.commitLocked(ctx, target, isNew)
	l.state.Unlock()
	if errors.Is(err, store.ErrNoSpace) {
		// The bytes fitted, their record did not. Close removes the
		// bytes, so this is a full disk like any other for the client.
		p.s.log.ErrorContext(ctx, "disk full while recording a piece", "err", err)
		err = noSpace()
	}
	if err != nil {
		p.s.refused(err)
		return store.Video{}, err
	}
	p.s.metrics.PartCommitted(p.size, time.Since(p.begun))
	// Let go of the tail, moving in whatever became ready meanwhile; then
	// make sure a piece staged for another upload gets moved in too.
	p.releaseTail()
	if staged && l.tryTail() {
		p.s.releaseTail(target, l)
	}
	if p.completed {
		p.s.onComplete(target)
	}
	return p.s.store.FindVideo(ctx, target)
}

// resolve names the video a piece belongs to: the videoId if given, a new
// video for a first piece, or else the token's one matching open upload.
func (p *Piece) resolve(ctx context.Context, videoID string) (string, bool, error) {
	if videoID != "" {
		if !store.ValidID(store.PrefixVideo, videoID) {
			return "", false, videoNotFound(videoID)
		}
		return videoID, false, nil
	}
	open, err := p.s.store.FindOpenUploads(ctx, p.token.ID)
	if err != nil {
		return "", false, err
	}
	m := matching(open, p.req.Range)
	if len(m) == 0 && !p.req.Range.first() {
		// No upload waits for this piece, but one may hold it already:
		// a client that sends no videoId after the first piece (the Node
		// client's uploadWithUploadToken) sends the same piece again when
		// its answer was lost, and must get the answer of a repeat, not
		// a refusal it will not retry.
		m = holding(open, p.req.Range, p.size)
	}
	switch {
	case len(m) == 1:
		return m[0].VideoID, false, nil
	case len(m) == 0 && p.req.Range.first():
		return store.NewID(store.PrefixVideo), true, nil
	case len(m) == 0:
		return "", false, refuse(CodeVideoIDRequired, "videoId",
			"This is not the first piece of an upload, and this token has no upload waiting for it. Send the videoId returned by the first request.")
	}
	return "", false, refuse(CodeVideoIDRequired, "videoId",
		"This token has %d uploads that could take this piece. Send the videoId returned by the first request of yours.", len(m))
}

// commitLocked records the piece under the target video's state lock. It
// reports whether the piece was recorded aside (staged).
func (p *Piece) commitLocked(ctx context.Context, target string, isNew bool) (bool, error) {
	now := p.s.store.Now()
	tok, err := p.s.findToken(ctx, p.token.ID)
	if err != nil {
		return false, err
	}
	u, err := p.s.store.FindUpload(ctx, target)
	if errors.Is(err, store.ErrNotFound) {
		return p.start(ctx, tok, target, isNew, now)
	}
	if err != nil {
		return false, err
	}
	if u.TokenID != tok.ID {
		return false, videoNotFound(target)
	}
	if lapsed(u, now) {
		return false, p.s.abandonLocked(ctx, u)
	}
	retry, err := check(&u, p.req.Range, p.size)
	if err != nil {
		return false, err
	}
	if retry {
		return false, p.repeat(ctx, u, now)
	}
	if p.dest == toNothing {
		// Begin saw a repeat, but the piece is gone now; the bytes were
		// not kept, so the client has to send them again.
		return false, refuse(CodeUploadAbandoned, "file", "This piece changed state while it was being received; send it again.")
	}
	part := store.Part{Seq: p.req.Range.seq(), Size: p.size, ReceivedAt: now}
	if p.dest == toTail && p.tailOf == target && p.offset == u.SourceSize && nextSeq(u) == part.Seq {
		part.Offset = p.offset
		u.SourceSize += p.size
		if u.Mode == store.ModePart {
			u.AppendedParts++
		}
	} else {
		if err := p.moveAside(ctx); err != nil {
			return false, err
		}
		part.Offset, part.StagedKey = -1, p.key
	}
	p.applyTotal(&u)
	u.UpdatedAt, u.LeaseExpiresAt = now, now.Add(p.s.lease)
	done := complete(&u, now)
	p.s.afterSync()
	if err := p.s.store.SaveUpload(ctx, u, store.PartChange{Insert: &part}); err != nil {
		return false, err
	}
	p.completed = done
	p.markCommitted()
	return part.Staged(), nil
}

// start records the first piece the video receives, creating the video
// too when the piece is the first of a new upload.
func (p *Piece) start(ctx context.Context, tok store.UploadToken, target string, isNew bool, now time.Time) (bool, error) {
	if !isNew {
		if _, err := p.s.store.FindVideo(ctx, target); err != nil {
			return false, videoErr(target, err)
		}
	}
	if tok.Expired(now) {
		return false, expiredToken()
	}
	if p.dest == toNothing {
		return false, refuse(CodeUploadAbandoned, "file", "This upload was abandoned while the piece was being received; start the upload again.")
	}
	if _, err := check(nil, p.req.Range, p.size); err != nil {
		return false, err
	}
	u := store.Upload{
		VideoID:        target,
		TokenID:        tok.ID,
		Mode:           string(p.req.Range.Mode),
		Status:         store.UploadUploading,
		Filename:       CleanFilename(p.filename),
		StartedAt:      now,
		UpdatedAt:      now,
		LeaseExpiresAt: now.Add(p.s.lease),
	}
	part := store.Part{Seq: p.req.Range.seq(), Size: p.size, ReceivedAt: now}
	if p.req.Range.first() && p.dest == toOwnBlob {
		// The piece's own blob becomes the source: no copy.
		u.SourceKey, u.SourceSize, part.Offset = p.key, p.size, 0
		if u.Mode == store.ModePart {
			u.AppendedParts = 1
		}
	} else {
		if err := p.moveAside(ctx); err != nil {
			return false, err
		}
		u.SourceKey, part.Offset, part.StagedKey = blob.NewKey(), -1, p.key
	}
	p.applyTotal(&u)
	done := complete(&u, now)
	var video *store.VideoCreate
	if isNew {
		video = &store.VideoCreate{Title: titleFrom(u.Filename), Public: true, MP4Support: true}
	}
	p.s.afterSync()
	if err := p.s.store.StartUpload(ctx, store.NewUpload{Upload: u, First: part, Video: video}); err != nil {
		return false, err
	}
	p.s.metrics.UploadStarted()
	p.completed = done
	p.markCommitted()
	return part.Staged(), nil
}

// repeat answers a piece the upload already holds. The new bytes are
// dropped; a total the repeat carries for the first time is kept.
func (p *Piece) repeat(ctx context.Context, u store.Upload, now time.Time) error {
	p.undo(ctx)
	p.markCommitted()
	if p.req.Range.Mode == Parts && p.req.Range.TotalParts != 0 && u.TotalParts == 0 {
		p.applyTotal(&u)
		u.UpdatedAt = now
		done := complete(&u, now)
		if err := p.s.store.SaveUpload(ctx, u, store.PartChange{}); err != nil {
			return err
		}
		p.completed = done
		return nil
	}
	return nil
}

// moveAside makes sure the piece's bytes are in a blob of their own. They
// are already, unless they were appended to the end of a source they turn
// out not to belong to; then they are copied out and cut off there.
func (p *Piece) moveAside(ctx context.Context) error {
	if p.dest != toTail {
		return nil
	}
	src, err := p.s.blobs.Open(ctx, p.key)
	if err != nil {
		return err
	}
	defer src.Close()
	if _, err := src.Seek(p.offset, io.SeekStart); err != nil {
		return err
	}
	own := blob.NewKey()
	p.s.inflight.add(own)
	n, err := p.s.blobs.Append(ctx, own, 0, io.LimitReader(src, p.size))
	if err == nil && n != p.size {
		err = fmt.Errorf("ingest: moved %d of %d bytes", n, p.size)
	}
	if err != nil {
		p.s.inflight.remove(own)
		_ = p.s.blobs.Delete(ctx, own)
		return err
	}
	if err := p.s.blobs.Truncate(ctx, p.key, p.offset); err != nil {
		p.s.log.ErrorContext(ctx, "cutting a misplaced piece off a source", "key", p.key, "err", err)
	}
	// The tail stays held until Commit lets go of it, after the state
	// lock: releasing drains, which takes that video's state lock.
	p.dest, p.key, p.offset = toOwnBlob, own, 0
	return nil
}

func (p *Piece) applyTotal(u *store.Upload) {
	if p.req.Range.Mode == Parts && p.req.Range.TotalParts != 0 {
		u.TotalParts = p.req.Range.TotalParts
	}
	if p.req.Range.Mode == Bytes {
		u.TotalBytes = p.req.Range.Total
	}
}

func (p *Piece) markCommitted() {
	p.committed = true
	if p.dest == toOwnBlob {
		p.s.inflight.remove(p.key)
	}
}

// Close undoes whatever the piece wrote if it was not committed, and lets
// go of the tail. It is safe to call more than once.
func (p *Piece) Close() {
	ctx := context.Background()
	if !p.committed {
		p.undo(ctx)
		p.committed = true
	}
	p.releaseTail()
}

// undo removes the piece's bytes: its own blob, or what it appended to a
// source's end.
func (p *Piece) undo(ctx context.Context) {
	var err error
	switch p.dest {
	case toOwnBlob:
		if p.key == "" {
			// Begin refused the piece before choosing its blob.
			break
		}
		err = p.s.blobs.Delete(ctx, p.key)
		p.s.inflight.remove(p.key)
	case toTail:
		err = p.s.blobs.Truncate(ctx, p.key, p.offset)
		if errors.Is(err, blob.ErrNotFound) {
			err = nil
		}
	}
	if err != nil {
		p.s.log.ErrorContext(ctx, "removing the bytes of a refused piece", "key", p.key, "err", err)
	}
	p.dest = toNothing
}

func (p *Piece) releaseTail() {
	if p.tailLock == nil {
		return
	}
	p.s.releaseTail(p.tailOf, p.tailLock)
	p.s.locks.put(p.tailOf, p.tailLock)
	p.tailLock, p.tailOf = nil, ""
}

// matching returns the open uploads that a piece without videoId may join:
// same mode, a compatible total, and the piece's position still free.
func matching(open []store.Upload, r Range) []store.Upload {
	var m []store.Upload
	for _, u := range open {
		if Mode(u.Mode) != r.Mode || r.Mode == Single {
			continue
		}
		if _, held := u.Part(r.seq()); held {
			continue
		}
		switch r.Mode {
		case Parts:
			if r.TotalParts != 0 && u.TotalParts != 0 && r.TotalParts != u.TotalParts {
				continue
			}
			if u.TotalParts != 0 && r.Part > u.TotalParts {
				continue
			}
		case Bytes:
			if r.Total != u.TotalBytes {
				continue
			}
		}
		m = append(m, u)
	}
	return m
}

// holding returns the open uploads that already hold a piece at r's place
// with size bytes and agree with r's total.
func holding(open []store.Upload, r Range, size int64) []store.Upload {
	var m []store.Upload
	for _, u := range open {
		if Mode(u.Mode) != r.Mode || r.Mode == Single {
			continue
		}
		if pt, held := u.Part(r.seq()); !held || pt.Size != size {
			continue
		}
		switch r.Mode {
		case Parts:
			if r.TotalParts != 0 && u.TotalParts != 0 && r.TotalParts != u.TotalParts {
				continue
			}
		case Bytes:
			if r.Total != u.TotalBytes {
				continue
			}
		}
		m = append(m, u)
	}
	return m
}

// nextSeq is the position of the piece u needs next at the end of its
// source.
func nextSeq(u store.Upload) int64 {
	if u.Mode == store.ModeBytes {
		return u.SourceSize
	}
	return int64(u.AppendedParts) + 1
}

// complete marks u uploaded if its source holds every piece, and reports
// whether that made it complete.
func complete(u *store.Upload, now time.Time) bool {
	done := false
	switch u.Mode {
	case store.ModeSingle:
		done = true
	case store.ModePart:
		done = u.TotalParts > 0 && u.AppendedParts == u.TotalParts
	case store.ModeBytes:
		done = u.TotalBytes > 0 && u.SourceSize == u.TotalBytes
	}
	if done && u.Status != store.UploadUploaded {
		u.Status = store.UploadUploaded
		u.CompletedAt = &now
		u.TotalBytes = u.SourceSize
		return true
	}
	return false
}

func lapsed(u store.Upload, now time.Time) bool {
	return u.Status == store.UploadUploading && !now.Before(u.LeaseExpiresAt)
}

// CleanFilename keeps the base name of a multipart filename (some clients
// send directories, with either slash), without control or bidirectional
// formatting characters, and at most 255 characters long.
func CleanFilename(name string) string {
	name = strings.ReplaceAll(name, `\`, "/")
	name = path.Base(name)
	if name == "." || name == "/" {
		name = ""
	}
	name = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > 255 {
		name = string([]rune(name)[:255])
	}
	return name
}

// titleFrom is the title of a video created by an upload: its file name,
// as api.video does.
func titleFrom(filename string) string {
	if filename == "" {
		return "Untitled video"
	}
	return filename
}

// refused counts a refused piece by the reason its error gives, unless
// it is the refusal of an abandoned upload, which abandonLocked counted
// once when it abandoned the upload.
func (s *Service) refused(err error) {
	var e *Error
	switch {
	case errors.As(err, &e) && e.Code == CodeUploadAbandoned:
	case errors.As(err, &e) && e.Code == CodeFileTooLarge:
		s.metrics.UploadFailed("too_large")
	case errors.As(err, &e) && e.Code == CodeNoSpace:
		s.metrics.UploadFailed("no_space")
	case errors.As(err, &e):
		s.metrics.UploadFailed("refused")
	case errors.Is(err, context.Canceled):
		s.metrics.UploadFailed("interrupted")
	default:
		s.metrics.UploadFailed("error")
	}
}

func noSpace() error {
	return refuse(CodeNoSpace, "file", "The server ran out of disk space; nothing of this piece was kept. Send it again later.")
}

func invalidToken() error {
	return refuse(CodeInvalidToken, "token", "The upload token is invalid or was deleted. Ask for a new one.")
}

func expiredToken() error {
	return refuse(CodeInvalidToken, "token", "The upload token has expired, so it cannot start a new upload. Ask for a new one.")
}

func videoNotFound(id string) error {
	return refuse(CodeVideoNotFound, "videoId", "There is no video %q that this token can upload to.", clip(id, 40))
}

func videoErr(id string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return videoNotFound(id)
	}
	return err
}

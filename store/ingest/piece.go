package ingest

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/blob"
)

// destination says where a piece's bytes are written.
type destination int

const (
	// toNothing: a repeat of a piece already held; the bytes are read
	// and dropped.
	toNothing destination = iota
	// toPart: a part of an upload that exists, claimed (see claim.go).
	toPart
	// toNew: the first piece of a new upload, in a blob store upload (or
	// object) of its own that nobody else knows of yet.
	toNew
	// toAside: an object of its own, for a piece whose upload is known
	// only at Commit; it is adopted as a part then.
	toAside
)

// Piece is one request's file bytes on their way into an upload. Call
// Receive once, then Commit; always call Close.
type Piece struct {
	s       *Service
	req     Request
	token   store.UploadToken // Zero for a part through a link.
	linkID  string            // The link of a part through a link.
	metrics Metrics
	begun   time.Time

	dest   destination
	target string      // The upload's video with toPart, and the video to fill with toNew (or "").
	upload blob.Upload // The blob store upload written to, with toPart and toNew.
	key    string      // The object written with toAside, and a single upload's with toNew.
	claim  *claim      // With toPart.
	birth  *claim      // With toNew and toAside, where claims are shared: see birth.go.
	offset int64       // Where the part starts in the object, or -1.

	totalKnown bool  // With toPart: the upload's total number of parts was known.
	firstPart  int64 // With toPart: the length of the upload's part 1, or -1.
	guess      int64 // The file part's likely length (see GuessSize), or 0.

	received bool
	part     blob.Part // What Receive wrote.
	filename string
	done     bool // Committed, or its bytes dropped.
}

// Begin validates a request up to its file part and decides where the
// piece's bytes will go. Errors that can be found before the body is read
// (an unknown token, a piece the upload cannot take, a part another
// request is receiving) are returned here, so that no byte is read for
// them.
func (s *Service) Begin(ctx context.Context, req Request) (*Piece, error) {
	begun := time.Now()
	if req.Size <= 0 {
		req.Size = -1 // Not known in advance.
	}
	tok, err := s.findToken(ctx, req.Token)
	if err != nil {
		s.refused(s.metrics, err)
		return nil, err
	}
	p := &Piece{s: s, req: req, token: tok, metrics: s.metrics, begun: begun, offset: -1}
	now := s.store.Now()
	switch {
	case req.VideoID != "":
		err = p.aimAtVideo(ctx, req.VideoID, now)
	case !req.Range.first():
		err = p.aimAtOpenUpload(ctx)
	case tok.Expired(now):
		// A first piece without videoId starts a new video, which needs a
		// live token, unless a videoId after the file makes it part of an
		// upload the token has running; Commit decides.
		p.dest = toAside
	default:
		p.dest = toNew
	}
	if err == nil {
		err = p.prepare(ctx)
	}
	if err != nil {
		p.Close()
		s.refused(p.metrics, err)
		return nil, err
	}
	return p, nil
}

// aimAtVideo prepares a piece for a video named before the file part.
func (p *Piece) aimAtVideo(ctx context.Context, videoID string, now time.Time) error {
	if !store.ValidID(store.PrefixVideo, videoID) {
		return videoNotFound(videoID)
	}
	u, err := p.s.store.FindUpload(ctx, videoID)
	if errors.Is(err, store.ErrNotFound) && p.req.Range.Mode == Single {
		// A whole file into a video made by POST /videos: written to an
		// object of its own, which becomes the source at Commit.
		if _, err := p.s.store.FindVideo(ctx, videoID); err != nil {
			return videoErr(videoID, err)
		}
		if p.token.Expired(now) {
			return expiredToken()
		}
		p.dest, p.target = toNew, videoID
		return nil
	}
	if errors.Is(err, store.ErrNotFound) {
		// No upload yet: the video must exist (made by POST /videos), and
		// starting to fill it needs a live token.
		u, err = p.ensureUpload(ctx, videoID, now)
	}
	if err != nil {
		return err
	}
	if u.TokenID != p.token.ID {
		return videoNotFound(videoID)
	}
	if lapsed(u, now) {
		return p.s.abandon(ctx, u)
	}
	retry, err := check(&u, p.req.Range, p.req.Size)
	if err != nil {
		return err
	}
	if retry {
		p.dest, p.target = toNothing, u.VideoID
		return nil
	}
	return p.claimPart(ctx, u.VideoID)
}

// ensureUpload returns the upload of the video videoID, made by POST
// /videos, starting it (with no part yet) if it has none. The upload is
// started before the piece's bytes are read, so that the pieces of one
// video that arrive at once all go to the same blob store upload.
func (p *Piece) ensureUpload(ctx context.Context, videoID string, now time.Time) (store.Upload, error) {
	if _, err := p.s.store.FindVideo(ctx, videoID); err != nil {
		return store.Upload{}, videoErr(videoID, err)
	}
	if p.token.Expired(now) {
		return store.Upload{}, expiredToken()
	}
	key := blob.NewKey()
	mp, err := p.s.blobs.CreateMultipart(ctx, key)
	if err != nil {
		return store.Upload{}, p.s.storageErr(ctx, err)
	}
	// The file name comes with the first part recorded (CommitPart).
	u := store.Upload{
		VideoID: videoID, TokenID: p.token.ID, Mode: string(p.req.Range.Mode), Status: store.UploadUploading,
		SourceKey: key, MultipartID: mp.ID, StartedAt: now, UpdatedAt: now, LeaseExpiresAt: now.Add(p.s.lease),
	}
	p.applyTotal(&u)
	err = p.s.store.StartUpload(ctx, store.NewUpload{Upload: u})
	if err != nil {
		_ = p.s.blobs.AbortMultipart(context.WithoutCancel(ctx), mp, nil)
	}
	switch {
	case errors.Is(err, store.ErrConflict):
		// Another piece started it meanwhile.
		return p.s.store.FindUpload(ctx, videoID)
	case errors.Is(err, store.ErrNotFound):
		return store.Upload{}, videoNotFound(videoID)
	case err != nil:
		return store.Upload{}, err
	}
	p.metrics.UploadStarted()
	return p.s.store.FindUpload(ctx, videoID)
}

// aimAtOpenUpload guesses, for a later piece without a videoId before the
// file, which of the token's running uploads it belongs to. With one
// candidate, the part is claimed in it; a videoId after the file can then
// only confirm the guess, or name an upload the piece does not fit (see
// Commit). With none or several, the piece goes aside until Commit knows.
func (p *Piece) aimAtOpenUpload(ctx context.Context) error {
	open, err := p.s.store.FindOpenUploads(ctx, p.token.ID)
	if err != nil {
		return err
	}
	if m := matching(open, p.req.Range); len(m) == 1 {
		return p.claimPart(ctx, m[0].VideoID)
	}
	p.dest = toAside
	return nil
}

// claimPart claims the piece's part in the upload of videoID and aims the
// piece at it. A part recorded meanwhile makes the piece a repeat. The
// claim names the object the part goes to if it cannot be written into
// the upload directly (see writeAside).
func (p *Piece) claimPart(ctx context.Context, videoID string) error {
	c, u, err := p.s.claimPart(ctx, videoID, p.linkID, p.req.Range, p.req.Size, blob.NewKey())
	if errors.Is(err, store.ErrConflict) {
		// Recorded since it was read, or the upload ended: decide again
		// on its state now.
		u, err := p.s.store.FindUpload(ctx, videoID)
		if err != nil {
			return videoErr(videoID, err)
		}
		retry, err := check(&u, p.req.Range, p.req.Size)
		if err != nil {
			return err
		}
		if !retry {
			return changedMeanwhile()
		}
		p.dest, p.target = toNothing, videoID
		return nil
	}
	if err != nil {
		return err
	}
	if lapsed(u, p.s.store.Now()) {
		c.release(ctx)
		return p.s.abandon(ctx, u)
	}
	p.dest, p.target, p.claim = toPart, videoID, c
	p.totalKnown, p.firstPart = u.TotalParts != 0, -1
	if first, ok := u.Part(1); ok && Mode(u.Mode) == Parts {
		p.firstPart = first.Size
	}
	p.upload = blob.Upload{Key: u.SourceKey, ID: u.MultipartID}
	p.offset = offsetOf(u, p.req.Range)
	return nil
}

// prepare creates what a new upload's first piece is written to.
func (p *Piece) prepare(ctx context.Context) error {
	switch p.dest {
	case toNew:
		p.key = blob.NewKey()
		if err := p.claimBirth(ctx); err != nil {
			return err
		}
		if p.req.Range.Mode == Single {
			return nil
		}
		u, err := p.s.blobs.CreateMultipart(ctx, p.key)
		if err != nil {
			return p.s.storageErr(ctx, err)
		}
		p.upload = u
		p.offset = offsetOf(store.Upload{}, p.req.Range)
	case toAside:
		p.key = blob.NewKey()
		return p.claimBirth(ctx)
	}
	return nil
}

// offsetOf returns where the piece starts in the object, or -1 when that
// is not known yet: in part mode, until every part before it is recorded.
func offsetOf(u store.Upload, r Range) int64 {
	switch r.Mode {
	case Bytes:
		return r.From
	case Parts:
		var off int64
		for i := 1; i < r.Part; i++ {
			part, ok := u.Part(int64(i))
			if !ok {
				return -1
			}
			off += part.Size
		}
		return off
	}
	return 0
}

// Receive streams the file part's bytes to their destination. filename is
// the part's file name, which becomes the title of a new video.
func (p *Piece) Receive(ctx context.Context, filename string, r io.Reader) error {
	if p.received {
		return refuse(CodeMultipleFiles, "file", "There is more than one uploaded file in the request; send one file part per request.")
	}
	p.received = true
	p.filename = filename
	err := p.receive(ctx, r)
	var e *Error
	switch {
	case err == nil:
	case errors.As(err, &e), errors.Is(err, blob.ErrNoSpace), errors.Is(err, ErrClaimLost):
		p.s.refused(p.metrics, err)
	case errors.Is(err, blob.ErrLength) && ctx.Err() == nil && !bodyCut(err):
		p.s.refused(p.metrics, err)
	default:
		// Not a refusal: the body stopped arriving, cut off or timed out.
		p.metrics.UploadFailed("interrupted")
	}
	return err
}

func (p *Piece) receive(ctx context.Context, r io.Reader) error {
	limit := int64(MaxPieceSize)
	if p.req.Size >= 0 {
		limit = p.req.Size
	}
	lr := &io.LimitedReader{R: r, N: limit + 1}
	var counted atomic.Int64
	body := &countingReader{r: lr, n: &counted}
	size, guessed := p.sizeToWrite()
	var err error
	switch p.dest {
	case toNothing:
		var n int64
		n, err = io.Copy(io.Discard, body)
		p.part = blob.Part{Size: n}
	case toPart:
		stop := p.claim.keepAlive(ctx, &counted)
		p.part, err = p.s.blobs.WritePart(stop.ctx, p.upload, blob.Part{Number: p.req.Range.number(), Size: size, Offset: p.offset}, body)
		err = stop.end(err)
	case toNew:
		wctx, end := p.keepBirth(ctx, &counted)
		if p.upload.ID == "" {
			var n int64
			n, err = p.s.blobs.Put(wctx, p.key, size, body)
			p.part = blob.Part{Number: 1, Size: n}
		} else {
			p.part, err = p.s.blobs.WritePart(wctx, p.upload, blob.Part{Number: p.req.Range.number(), Size: size, Offset: p.offset}, body)
		}
		err = end(err)
	case toAside:
		wctx, end := p.keepBirth(ctx, &counted)
		var n int64
		n, err = p.s.blobs.Put(wctx, p.key, size, body)
		p.part = blob.Part{Number: p.req.Range.number(), Size: n}
		err = end(err)
	}
	if errors.Is(err, blob.ErrLengthRequired) {
		// The store needs the length of a part in advance: write the bytes
		// to an object of their own, and adopt that as the part.
		p.part, err = p.writeAside(ctx, body)
	}
	if lr.N == 0 {
		// More than the limit arrived: refuse, whatever the store did.
		p.drop(context.WithoutCancel(ctx))
		if p.req.Range.Mode == Bytes {
			return refuse(CodeBytesMismatch, "file", "The range %s announces %d bytes, but the file part holds more.", p.req.Range, limit)
		}
		return refuse(CodeFileTooLarge, "file", "One request can carry at most %d bytes (200 MiB). Send larger files in parts with \"Content-Range: part N/M\".", limit)
	}
	if guessMissed(guessed, err) {
		return p.wrongGuess(ctx, counted.Load())
	}
	if errors.Is(err, blob.ErrNoSpace) {
		p.s.log.ErrorContext(ctx, "disk full while receiving a piece", "err", err)
		return noSpace()
	}
	if errors.Is(err, blob.ErrLength) && p.req.Range.Mode == Bytes && !bodyCut(err) {
		return mismatch(p.req.Range, counted.Load())
	}
	if err != nil {
		return err
	}
	call(p.s.hooks.AfterSync)
	return nil
}

// writeAside writes a part of unknown length to an object of its own and
// adopts it into the piece's blob store upload, for stores that need a
// part's length in advance. A claimed part is written to the object its
// claim names, and the claim is renewed meanwhile: if this process dies
// during the write, whoever ends the lapsed claim discards what the write
// left (on an object store, an upload of its own), and if the claim is
// lost, the write stops.
func (p *Piece) writeAside(ctx context.Context, body io.Reader) (part blob.Part, err error) {
	aside := blob.NewKey()
	switch {
	case p.claim != nil && p.claim.Aside != "":
		aside, p.claim.asideUsed = p.claim.Aside, true
		var counted atomic.Int64
		body = &countingReader{r: body, n: &counted}
		stop := p.claim.keepAlive(ctx, &counted)
		ctx = stop.ctx
		defer func() { err = stop.end(err) }()
	case p.birth != nil:
		// The first piece of a new upload: its claim on the upload's
		// object is kept alive, and another names the object aside.
		var wctx context.Context
		var end func(error) error
		wctx, end, err = p.keepBirthAside(ctx, aside)
		if err != nil {
			return blob.Part{}, err
		}
		ctx = wctx
		defer func() { err = end(err) }()
	}
	n, err := p.s.blobs.Put(ctx, aside, -1, body)
	if err != nil {
		return blob.Part{}, err
	}
	part = blob.Part{Number: p.req.Range.number(), Size: n, Offset: p.offset}
	etag, err := p.s.blobs.AdoptPart(ctx, p.upload, part, aside)
	if err != nil {
		_ = p.s.blobs.Delete(context.WithoutCancel(ctx), aside)
		return blob.Part{}, err
	}
	part.ETag = etag
	return part, nil
}

// bodyCut reports whether a length error is a body that ended early
// because it was cut off, rather than a file part of the wrong length.
func bodyCut(err error) bool {
	return errors.Is(err, io.ErrUnexpectedEOF)
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
	target, err := p.commit(ctx, videoID)
	if errors.Is(err, store.ErrNoSpace) {
		// The bytes fitted, their record did not. Close removes the
		// bytes, so this is a full disk like any other for the client.
		p.s.log.ErrorContext(ctx, "disk full while recording a piece", "err", err)
		err = noSpace()
	}
	if err != nil {
		p.s.refused(p.metrics, err)
		return store.Video{}, err
	}
	p.metrics.PartCommitted(p.part.Size, time.Since(p.begun))
	return p.s.store.FindVideo(ctx, target)
}

// commit records the piece and returns the video it went to.
func (p *Piece) commit(ctx context.Context, videoID string) (string, error) {
	if videoID != "" && !store.ValidID(store.PrefixVideo, videoID) {
		return "", videoNotFound(videoID)
	}
	if err := p.renewBirth(ctx); err != nil {
		return "", err
	}
	switch p.dest {
	case toNothing:
		return p.target, p.repeat(ctx, p.target)
	case toPart:
		if videoID != "" && videoID != p.target {
			return p.misplaced(ctx, videoID)
		}
		return p.target, p.commitPart(ctx, p.target, nil)
	case toNew:
		if videoID == "" || videoID == p.target {
			return p.start(ctx, p.target)
		}
		// A first piece with a videoId after it: it fills that video if
		// the video has no upload yet, or joins the upload another piece
		// started, unless it repeats a part that upload holds.
		if _, err := p.s.store.FindUpload(ctx, videoID); errors.Is(err, store.ErrNotFound) {
			return p.start(ctx, videoID)
		}
		return p.joinInstead(ctx, videoID)
	}
	return p.adopt(ctx, videoID)
}

// misplaced handles a piece written into the one open upload it could
// join, while the videoId after the file names another video. Mostly the
// named upload holds the part already, or cannot take it, and the piece is
// answered from it. But a video made by POST /videos that has no upload
// yet was no candidate; then the bytes are copied out of where they were
// written into an object of their own, to start that video's upload, if
// the blob store can read a part back (a local disk can). An object store
// cannot, and the client is told to send videoId before the file.
func (p *Piece) misplaced(ctx context.Context, videoID string) (string, error) {
	_, err := p.s.store.FindUpload(ctx, videoID)
	if !errors.Is(err, store.ErrNotFound) {
		return videoID, p.repeat(ctx, videoID)
	}
	if _, err := p.s.store.FindVideo(ctx, videoID); err != nil {
		return "", videoErr(videoID, err)
	}
	return p.moveOut(ctx, videoID)
}

// joinInstead handles the first piece of a new blob store upload meant to
// start the upload of videoID, which another piece started meanwhile: the
// piece joins that upload (moveOut), unless it repeats a part it holds.
func (p *Piece) joinInstead(ctx context.Context, videoID string) (string, error) {
	u, err := p.s.store.FindUpload(ctx, videoID)
	if err != nil {
		return "", videoErr(videoID, err)
	}
	if _, held := u.Part(p.req.Range.seq()); held {
		p.drop(ctx)
		return videoID, p.repeat(ctx, videoID)
	}
	id, err := p.moveOut(ctx, videoID)
	return id, err
}

// moveOut copies the piece's bytes out of the blob store upload they were
// written to into an object of its own, and adopts that into the upload
// of videoID, if the blob store can read a part back. Otherwise the
// client is told to send videoId before the file.
func (p *Piece) moveOut(ctx context.Context, videoID string) (string, error) {
	po, ok := p.s.blobs.(blob.PartOpener)
	if !ok {
		return "", refuse(CodeVideoIDRequired, "videoId",
			"This piece went to another upload of this token before its videoId arrived. Send videoId before the file part.")
	}
	r, err := po.OpenPart(ctx, p.upload, p.part)
	if err != nil {
		return "", err
	}
	defer r.Close()
	aside := blob.NewKey()
	if _, err := p.s.blobs.Put(ctx, aside, p.part.Size, r); err != nil {
		return "", p.s.storageErr(ctx, err)
	}
	// What the bytes were written to is dropped; they live aside now.
	p.drop(ctx)
	p.claim.release(ctx)
	p.claim = nil
	p.done = false
	p.dest, p.key, p.target, p.upload = toAside, aside, "", blob.Upload{}
	return p.adopt(ctx, videoID)
}

// commitPart records a claimed part, moving an upload through a link on
// with link when set, and finishes the upload if that completed it.
func (p *Piece) commitPart(ctx context.Context, videoID string, link *store.LinkAdvance) error {
	r := p.req.Range
	if p.token.ID != "" {
		// Deleting a token stops every upload it started, even a piece
		// that was streaming when it was deleted (api-contract.md 11.4).
		if _, err := p.s.findToken(ctx, p.token.ID); err != nil {
			return err
		}
	}
	u, err := p.s.store.FindUpload(ctx, videoID)
	if err != nil {
		return videoErr(videoID, err)
	}
	if _, err := check(&u, r, p.part.Size); err != nil {
		return err
	}
	if err := p.claim.renewBeforeCommit(ctx, p.part.Size); err != nil {
		return err
	}
	c := store.PartCommit{
		VideoID:        videoID,
		Filename:       CleanFilename(p.filename),
		Part:           store.Part{Seq: r.seq(), Number: r.number(), Size: p.part.Size, ETag: p.part.ETag, ReceivedAt: p.s.store.Now()},
		LeaseExpiresAt: p.s.store.Now().Add(p.s.lease),
		Link:           link,
	}
	if r.Mode == Parts {
		c.TotalParts = r.TotalParts
	} else if r.Mode == Bytes {
		c.TotalBytes = r.Total
	}
	completing, err := p.s.store.CommitPart(ctx, c)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return refuse(CodeUploadAbandoned, "videoId", "This upload was deleted or abandoned while the piece was being received. Start the upload again.")
	case errors.Is(err, store.ErrConflict):
		// Recorded meanwhile by another request, or the totals changed:
		// the state now decides.
		p.drop(ctx)
		return p.repeat(ctx, videoID)
	case err != nil:
		return err
	}
	p.done = true
	// The part is recorded: a request that claims it from now on finds
	// it so.
	p.claim.release(ctx)
	p.claim = nil
	if completing {
		p.s.finish(ctx, videoID)
	}
	return nil
}

// start records the first piece of a new upload, filling the existing
// video existing, or a new video when it is "".
func (p *Piece) start(ctx context.Context, existing string) (string, error) {
	now := p.s.store.Now()
	if p.token.Expired(now) {
		return "", expiredToken()
	}
	if _, err := check(nil, p.req.Range, p.part.Size); err != nil {
		return "", err
	}
	videoID := existing
	if videoID == "" {
		videoID = store.NewID(store.PrefixVideo)
	}
	r := p.req.Range
	u := store.Upload{
		VideoID:        videoID,
		TokenID:        p.token.ID,
		Mode:           string(r.Mode),
		Status:         store.UploadUploading,
		SourceKey:      p.key,
		MultipartID:    p.upload.ID,
		SourceSize:     p.part.Size,
		ReceivedParts:  1,
		Filename:       CleanFilename(p.filename),
		StartedAt:      now,
		UpdatedAt:      now,
		LeaseExpiresAt: now.Add(p.s.lease),
	}
	first := store.Part{Seq: r.seq(), Number: r.number(), Size: p.part.Size, ETag: p.part.ETag, ReceivedAt: now}
	p.applyTotal(&u)
	switch {
	case r.Mode == Single:
		u.Status, u.CompletedAt, u.TotalBytes = store.UploadUploaded, &now, u.SourceSize
	case complete(u):
		u.Status = store.UploadCompleting
	}
	var video *store.VideoCreate
	if existing == "" {
		video = &store.VideoCreate{Title: titleFrom(u.Filename), Public: true, MP4Support: true}
	}
	err := p.s.store.StartUpload(ctx, store.NewUpload{Upload: u, First: &first, Video: video})
	switch {
	case errors.Is(err, store.ErrConflict) && p.upload.ID != "":
		// Another piece started the video's upload meanwhile: this one
		// joins it, unless it repeats a part that upload holds.
		return p.joinInstead(ctx, videoID)
	case errors.Is(err, store.ErrConflict):
		p.drop(ctx)
		return videoID, p.repeat(ctx, videoID)
	case errors.Is(err, store.ErrNotFound):
		return "", videoNotFound(videoID)
	case err != nil:
		return "", err
	}
	p.done = true
	p.endBirth(ctx)
	p.metrics.UploadStarted()
	switch u.Status {
	case store.UploadUploaded:
		p.s.completed(ctx, u)
	case store.UploadCompleting:
		p.s.finish(ctx, videoID)
	}
	return videoID, nil
}

// adopt records a piece kept aside now that its upload is known: the
// named video's, or the token's one open upload it fits, or a new one.
func (p *Piece) adopt(ctx context.Context, videoID string) (string, error) {
	if videoID == "" {
		open, err := p.s.store.FindOpenUploads(ctx, p.token.ID)
		if err != nil {
			return "", err
		}
		m := matching(open, p.req.Range)
		if len(m) == 0 && !p.req.Range.first() {
			// No upload waits for this piece, but one may hold it already:
			// a client that sends no videoId after the first piece (the
			// Node client's uploadWithUploadToken) sends the same piece
			// again when its answer was lost, and must get the answer of a
			// repeat, not a refusal it will not retry.
			m = holding(open, p.req.Range, p.part.Size)
		}
		switch {
		case len(m) == 1:
			videoID = m[0].VideoID
		case len(m) == 0 && p.req.Range.first():
			return p.startAside(ctx, "")
		case len(m) == 0:
			return "", refuse(CodeVideoIDRequired, "videoId",
				"This is not the first piece of an upload, and this token has no upload waiting for it. Send the videoId returned by the first request.")
		default:
			return "", refuse(CodeVideoIDRequired, "videoId",
				"This token has %d uploads that could take this piece. Send the videoId returned by the first request of yours.", len(m))
		}
	}
	u, err := p.s.store.FindUpload(ctx, videoID)
	if errors.Is(err, store.ErrNotFound) && p.req.Range.Mode == Single {
		if _, err := p.s.store.FindVideo(ctx, videoID); err != nil {
			return "", videoErr(videoID, err)
		}
		p.dest = toNew
		return p.start(ctx, videoID)
	}
	if errors.Is(err, store.ErrNotFound) {
		u, err = p.ensureUpload(ctx, videoID, p.s.store.Now())
	}
	if err != nil {
		return "", err
	}
	if u.TokenID != p.token.ID {
		return "", videoNotFound(videoID)
	}
	if lapsed(u, p.s.store.Now()) {
		return "", p.s.abandon(ctx, u)
	}
	retry, err := check(&u, p.req.Range, p.part.Size)
	if err != nil {
		return "", err
	}
	if retry {
		p.drop(ctx)
		return videoID, p.repeat(ctx, videoID)
	}
	// Claim the part, so that no other request writes it while it is
	// adopted, then adopt and record it. The claim names the object, so
	// that it is discarded if this process dies before the record is
	// made.
	c, u, err := p.s.claimPart(ctx, videoID, p.linkID, p.req.Range, p.part.Size, p.key)
	if errors.Is(err, store.ErrConflict) {
		p.drop(ctx)
		return videoID, p.repeat(ctx, videoID)
	}
	if err != nil {
		return "", err
	}
	p.claim, c.asideUsed = c, true
	p.endBirth(ctx) // The part's claim names the object now.
	etag, err := p.s.blobs.AdoptPart(ctx, blob.Upload{Key: u.SourceKey, ID: u.MultipartID},
		blob.Part{Number: p.req.Range.number(), Size: p.part.Size, Offset: offsetOf(u, p.req.Range)}, p.key)
	if err != nil {
		return "", p.s.storageErr(ctx, err)
	}
	p.part.ETag = etag
	p.key = "" // Adopted: the blob store upload owns the object now.
	return videoID, p.commitPart(ctx, videoID, nil)
}

// startAside starts a new upload, of a new video, with a piece kept
// aside, which becomes its first part.
func (p *Piece) startAside(ctx context.Context, existing string) (string, error) {
	if p.req.Range.Mode == Single {
		p.dest = toNew
		return p.start(ctx, existing)
	}
	aside := p.key
	p.key = blob.NewKey()
	u, err := p.s.blobs.CreateMultipart(ctx, p.key)
	if err != nil {
		p.key = aside
		return "", p.s.storageErr(ctx, err)
	}
	p.upload, p.dest = u, toNew
	etag, err := p.s.blobs.AdoptPart(ctx, u, blob.Part{Number: p.req.Range.number(), Size: p.part.Size, Offset: offsetOf(store.Upload{}, p.req.Range)}, aside)
	if err != nil {
		_ = p.s.blobs.AbortMultipart(ctx, u, nil)
		p.dest, p.key, p.upload = toAside, aside, blob.Upload{}
		return "", p.s.storageErr(ctx, err)
	}
	p.part.ETag = etag
	return p.start(ctx, existing)
}

// repeat answers a piece that the upload of videoID already holds: the
// new bytes are dropped, and a total the repeat carries for the first
// time is kept. It returns the refusal the piece gets instead when the
// upload holds something else at its place.
func (p *Piece) repeat(ctx context.Context, videoID string) error {
	p.drop(ctx)
	u, err := p.s.store.FindUpload(ctx, videoID)
	if err != nil {
		return videoErr(videoID, err)
	}
	if p.token.ID != "" && u.TokenID != p.token.ID {
		return videoNotFound(videoID)
	}
	retry, err := check(&u, p.req.Range, p.part.Size)
	if err != nil {
		return err
	}
	if !retry {
		return changedMeanwhile()
	}
	if u.Status == store.UploadCompleting {
		// A client sends its last piece again when it did not hear back:
		// finish what the first attempt left.
		p.s.finish(ctx, videoID)
	}
	r := p.req.Range
	if r.Mode == Parts && r.TotalParts != 0 && u.TotalParts == 0 {
		completing, err := p.s.store.SetUploadTotal(ctx, videoID, r.TotalParts)
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
		if completing {
			p.s.finish(ctx, videoID)
		}
	}
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

// Close drops whatever the piece wrote if it was not recorded, and ends
// its claim. It is safe to call more than once.
func (p *Piece) Close() {
	ctx := context.Background()
	if !p.done {
		p.drop(ctx)
	}
	p.endBirth(ctx)
	if p.claim != nil {
		p.claim.release(ctx)
		p.claim = nil
	}
}

// drop removes the bytes of a piece that is not recorded: its object kept
// aside, or the blob store upload of a new upload. Bytes written as a part
// of an existing upload stay until the part is written again or the
// upload ends: nothing refers to them.
func (p *Piece) drop(ctx context.Context) {
	if p.done {
		return
	}
	p.done = true
	var err error
	switch {
	case p.dest == toNew && p.upload.ID != "":
		err = p.s.blobs.AbortMultipart(ctx, p.upload, []blob.Part{p.part})
	case p.dest == toNew && p.received, p.dest == toAside && p.key != "":
		err = p.s.blobs.Delete(ctx, p.key)
	}
	if err != nil {
		p.s.log.ErrorContext(ctx, "removing the bytes of a refused piece", "key", p.key, "err", err)
	}
}

// storageErr turns a blob store failure into the client's refusal when it
// is one (a full disk).
func (s *Service) storageErr(ctx context.Context, err error) error {
	if errors.Is(err, blob.ErrNoSpace) {
		s.log.ErrorContext(ctx, "disk full", "err", err)
		return noSpace()
	}
	return err
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
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

// complete reports whether u holds every piece of its source.
func complete(u store.Upload) bool {
	switch u.Mode {
	case store.ModeSingle:
		return true
	case store.ModePart:
		return u.TotalParts > 0 && u.ReceivedParts == u.TotalParts
	case store.ModeBytes:
		return u.TotalBytes > 0 && u.SourceSize == u.TotalBytes
	}
	return false
}

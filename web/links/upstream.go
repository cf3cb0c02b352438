package links

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/ingest"
)

// Upstream is the backend of links whose uploads go to a remote
// api.video-compatible host (real api.video, or another uplink). The
// remote host keeps the videos and their bytes; this server keeps the
// links and their uploads' progress.
//
// Each upload has an upload token of its own on the host, minted when it
// starts and deleted when it ends (completed, cancelled, refused,
// abandoned) or its link is revoked. A token lives at most tokenTTL, which
// only bounds when it can start its one video: it never outlives its
// upload by more than a cleanup pass, nor its link's revocation.
type Upstream struct {
	client *apiClient
	store  *store.Store
	lease  time.Duration
	log    *slog.Logger
}

// tokenTTL is the life of an upload's remote token: long enough to send
// the upload's first part, which starts filling its video; api.video-style
// hosts let a started video be finished after its token expired.
const tokenTTL = time.Hour

// startLease is how long a starting upload holds its link's slot while
// its video and token are created on the host; a start whose process died
// frees the slot by itself after it.
const startLease = 2 * time.Minute

// NewUpstream returns the backend for the host at baseURL, with apiKey.
// lease is how long an upload may go without a part before it is
// abandoned (ingest.DefaultLease when 0); it should match the host's.
func NewUpstream(baseURL, apiKey string, st *store.Store, lease time.Duration, log *slog.Logger) (*Upstream, error) {
	c, err := newAPIClient(baseURL, apiKey, newTransport())
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if lease <= 0 {
		lease = ingest.DefaultLease
	}
	return &Upstream{client: c, store: st, lease: lease, log: log}, nil
}

// metaLinkUpload is the metadata key that names, on a remote video, the
// link upload it was created for, so that a start interrupted before it
// recorded the video can find and delete it.
const metaLinkUpload = "uplink-link-upload"

func (b *Upstream) start(ctx context.Context, l store.Link, lu store.LinkUpload, v store.VideoCreate) (store.LinkUpload, error) {
	lu.LeaseExpiresAt = b.store.Now().Add(startLease)
	if err := b.store.ReserveLinkUpload(ctx, lu); err != nil {
		return store.LinkUpload{}, err
	}
	v.Metadata = append(v.Metadata, store.Metadata{Key: metaLinkUpload, Value: lu.ID})
	token, video, err := b.create(ctx, v)
	if err != nil {
		if derr := b.store.DeleteLinkUpload(context.WithoutCancel(ctx), lu.ID); derr != nil {
			b.log.ErrorContext(ctx, "freeing the slot of an upload whose video could not be created", "err", derr)
		}
		return store.LinkUpload{}, upstreamErr(err)
	}
	lu.VideoID, lu.Token = video, token
	if err := b.store.ActivateLinkUpload(ctx, lu.ID, video, token, b.store.Now().Add(b.lease)); err != nil {
		b.dropRemote(context.WithoutCancel(ctx), video, token)
		return store.LinkUpload{}, err
	}
	return lu, nil
}

// create mints the upload's token and creates its video.
func (b *Upstream) create(ctx context.Context, v store.VideoCreate) (token, video string, err error) {
	token, err = b.client.CreateToken(ctx, int(tokenTTL/time.Second))
	if err != nil {
		return "", "", err
	}
	created, err := b.client.CreateVideo(ctx, v)
	if err != nil {
		b.dropRemote(context.WithoutCancel(ctx), "", token)
		return "", "", err
	}
	return token, created.VideoID, nil
}

// dropRemote deletes a video and a token on the host, as far as it can.
func (b *Upstream) dropRemote(ctx context.Context, video, token string) bool {
	ok := true
	if video != "" {
		if err := b.client.DeleteVideo(ctx, video); err != nil {
			b.log.ErrorContext(ctx, "deleting a video on the upstream host", "video", video, "err", err)
			ok = false
		}
	}
	if token != "" {
		if err := b.client.DeleteToken(ctx, token); err != nil {
			b.log.ErrorContext(ctx, "deleting an upload token on the upstream host", "err", err)
			ok = false
		}
	}
	return ok
}

// inFlight knows nothing beyond this process: the host tells no one how
// much of a part it has received.
func (b *Upstream) inFlight(ctx context.Context, u store.LinkUpload) (int, int64) { return 0, 0 }

// settle has nothing to do: the remote host assembles the source, and the
// upload is completed in the transaction that records its last part
// (store.AdvanceLinkUpload).
func (b *Upstream) settle(ctx context.Context, u store.LinkUpload) {}

func (b *Upstream) beginPart(ctx context.Context, l store.Link, u store.LinkUpload, n int, size int64) (partWriter, error) {
	token := u.Token
	if token == "" {
		token = l.Token // An upload started before uploads had tokens of their own.
	}
	return &upstreamPart{b: b, u: u, n: n, size: size, token: token, shared: token == l.Token}, nil
}

type upstreamPart struct {
	b     *Upstream
	u     store.LinkUpload
	n     int
	size  int64
	token string
	// shared: the token is the link's, from an older uplink, which other
	// uploads may still use; endLinkToken deletes it once none does.
	shared bool
}

func (w *upstreamPart) write(ctx context.Context, body io.Reader) error {
	_, err := w.b.client.UploadPart(ctx, apiPart{
		Token: w.token, VideoID: w.u.VideoID, Filename: w.u.Filename,
		Number: w.n, Total: w.u.TotalParts, Size: w.size, Body: body,
	})
	return upstreamErr(err)
}

func (w *upstreamPart) commit(ctx context.Context, adv store.LinkAdvance) (bool, error) {
	err := w.b.store.AdvanceLinkUpload(ctx, adv, w.b.store.Now().Add(w.b.lease))
	if errors.Is(err, store.ErrConflict) {
		// A concurrent re-send of the same part recorded it first.
		return false, ingest.ErrPartRecorded
	}
	if err != nil || adv.SHA256 == "" {
		return false, err
	}
	// The upload is complete: its token has done its work.
	w.b.endToken(context.WithoutCancel(ctx), w.u.ID, w.token, w.shared)
	return true, nil
}

func (w *upstreamPart) close() {}

// endToken deletes an ended upload's token on the host and forgets it; if
// the host cannot be reached, the cleanup job tries again. A token shared
// with the upload's link is only forgotten here.
func (b *Upstream) endToken(ctx context.Context, uploadID, token string, shared bool) {
	if token == "" || !shared && !b.dropRemote(ctx, "", token) {
		return
	}
	if err := b.store.ClearLinkUploadToken(ctx, uploadID); err != nil {
		b.log.ErrorContext(ctx, "forgetting a deleted upload token", "upload", uploadID, "err", err)
	}
}

func (b *Upstream) release(ctx context.Context, u store.LinkUpload, kind, reason string) (bool, error) {
	err := b.store.ReleaseLinkUpload(ctx, u.ID, kind, reason)
	if errors.Is(err, store.ErrConflict) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	ctx = context.WithoutCancel(ctx)
	video := u.VideoID
	if video == "" {
		// The start did not record its video: find it by its metadata.
		ids, err := b.client.FindVideos(ctx, metaLinkUpload, u.ID)
		if err != nil {
			b.log.ErrorContext(ctx, "looking for the video of an unfinished start", "upload", u.ID, "err", err)
		}
		for _, id := range ids {
			b.dropRemote(ctx, id, "")
		}
	}
	b.dropRemote(ctx, video, "")
	b.endToken(ctx, u.ID, u.Token, b.linkToken(ctx, u.LinkID) == u.Token)
	return true, nil
}

// revoked deletes the tokens of the link's uploads in progress, so that
// the host takes no more of their parts.
func (b *Upstream) revoked(ctx context.Context, l store.Link) {
	us, err := b.store.ListLinkUploads(ctx, l.ID)
	if err != nil {
		b.log.ErrorContext(ctx, "listing the uploads of a revoked link", "link", l.ID, "err", err)
		return
	}
	for _, u := range us {
		b.endToken(ctx, u.ID, u.Token, u.Token == l.Token)
	}
	b.endLinkToken(ctx, l)
}

// linkToken returns the token a link had from an older uplink, or "".
func (b *Upstream) linkToken(ctx context.Context, linkID string) string {
	l, err := b.store.FindLink(ctx, linkID)
	if err != nil {
		return ""
	}
	return l.Token
}

// endLinkToken deletes the token a link had from an older uplink, once no
// upload in progress uses it.
func (b *Upstream) endLinkToken(ctx context.Context, l store.Link) {
	if l.Token == "" || !b.dropRemote(ctx, "", l.Token) {
		return
	}
	if err := b.store.ClearLinkToken(ctx, l.ID); err != nil {
		b.log.ErrorContext(ctx, "forgetting a deleted link token", "link", l.ID, "err", err)
	}
}

// maintain deletes the tokens of ended uploads that could not be deleted
// when they ended, and the tokens links had from an older uplink once no
// upload in progress uses them.
func (b *Upstream) maintain(ctx context.Context) (int, error) {
	ended, err := b.store.FindEndedLinkUploadsWithToken(ctx)
	if err != nil {
		return 0, err
	}
	for _, u := range ended {
		b.endToken(ctx, u.ID, u.Token, b.linkToken(ctx, u.LinkID) == u.Token)
	}
	legacy, err := b.store.FindLinksWithUnusedToken(ctx)
	if err != nil {
		return 0, err
	}
	for _, l := range legacy {
		b.endLinkToken(ctx, l)
	}
	return 0, nil
}

// upstreamErr turns the host's refusal into the *ingest.Error its problem
// type names, so that links map both backends' errors the same way; a
// failure of the host itself (5xx, or no answer) becomes errUnavailable.
func upstreamErr(err error) error {
	var e *apiError
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &e):
		return fmt.Errorf("%w: %w", errUnavailable, err)
	case e.Status == http.StatusInsufficientStorage:
		return &ingest.Error{Code: ingest.CodeNoSpace, Detail: e.Detail}
	case e.Status >= 500:
		return fmt.Errorf("%w: %w", errUnavailable, err)
	}
	return &ingest.Error{Code: e.Code(), Name: e.Name, Detail: strings.TrimSpace(e.Title + " " + e.Detail)}
}

// errUnavailable is matched by the errors of a backend that failed or did
// not answer, rather than refused.
var errUnavailable = errors.New("links: the upload server failed")

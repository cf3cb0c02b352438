package links

import (
	"context"
	"errors"
	"io"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/ingest"
)

// backend is where the bytes of uploads through links go: this server's
// upload service (Local), or a remote api.video-compatible host
// (Upstream). Both report what the uploader can act on as *ingest.Error
// values, with the codes of the token upload endpoint, so that the link
// handler maps them to refusals in one place (partRefusal), whichever
// backend it runs on.
type backend interface {
	// start creates lu's video from v and takes one of link l's slots,
	// and returns lu with its VideoID set. It returns store.ErrNoSlot and
	// store.ErrLinkClosed when the link takes no new upload.
	start(ctx context.Context, l store.Link, lu store.LinkUpload, v store.VideoCreate) (store.LinkUpload, error)
	// beginPart prepares part n, of exactly size bytes, of the upload u
	// through link l, before any of its bytes is read. It returns
	// ingest.ErrPartRecorded when the part (or the upload) is recorded
	// already.
	beginPart(ctx context.Context, l store.Link, u store.LinkUpload, n int, size int64) (partWriter, error)
	// release stops the unfinished upload u for good (kind is
	// store.EventCancelled, EventRefused or EventAbandoned; reason says
	// why): its slot is freed, its video and bytes deleted. It reports
	// whether it released it (false: it had ended meanwhile).
	release(ctx context.Context, u store.LinkUpload, kind, reason string) (bool, error)
	// revoked lets go of what link l holds on the backend once it is
	// revoked.
	revoked(ctx context.Context, l store.Link)
	// settle finishes, where the backend assembles sources itself, the
	// upload u whose every part is recorded and whose source a process
	// that died left unassembled (see ingest.Service.Settle).
	settle(ctx context.Context, u store.LinkUpload)
	// inFlight returns which part of u another process (or this one) is
	// receiving now and how many of its bytes have arrived, as far as the
	// backend knows; (0, 0) when it knows of none.
	inFlight(ctx context.Context, u store.LinkUpload) (part int, n int64)
	// maintain settles what only the backend knows about: uploads whose
	// start never finished, and leftovers of ended uploads. It returns
	// how many uploads it released.
	maintain(ctx context.Context) (int, error)
}

// partWriter is one part on its way to the backend. Call write once, then
// commit; always call close.
type partWriter interface {
	// write streams the part's bytes, which must be exactly its size.
	write(ctx context.Context, body io.Reader) error
	// commit records the part together with the upload's progress adv;
	// it reports whether the part completed the upload.
	commit(ctx context.Context, adv store.LinkAdvance) (bool, error)
	close()
}

// Local is the backend of links whose uploads this server receives: the
// link handler calls the upload service in process, with typed values.
type Local struct {
	Ingest *ingest.Service
	Store  *store.Store
}

func (b Local) start(ctx context.Context, l store.Link, lu store.LinkUpload, v store.VideoCreate) (store.LinkUpload, error) {
	return b.Ingest.StartLink(ctx, lu, v)
}

func (b Local) beginPart(ctx context.Context, l store.Link, u store.LinkUpload, n int, size int64) (partWriter, error) {
	p, err := b.Ingest.BeginLinkPart(ctx, ingest.LinkPart{
		LinkID: l.ID, VideoID: u.VideoID, Part: n, TotalParts: u.TotalParts,
		Size: size, Offset: int64(n-1) * u.ChunkSize,
	})
	if err != nil {
		return nil, err
	}
	return localPart{p}, nil
}

func (b Local) settle(ctx context.Context, u store.LinkUpload) { b.Ingest.Settle(ctx, u.VideoID) }

// inFlight reads the upload service's claims, which every process that
// shares the database sees.
func (b Local) inFlight(ctx context.Context, u store.LinkUpload) (int, int64) {
	ps, err := b.Ingest.InFlight(ctx, u.VideoID)
	if err != nil {
		return 0, 0
	}
	for _, p := range ps {
		if p.Seq == int64(u.NextPart) {
			return u.NextPart, p.Received
		}
	}
	return 0, 0
}

type localPart struct{ p *ingest.Piece }

func (w localPart) write(ctx context.Context, body io.Reader) error {
	return w.p.Receive(ctx, "", body)
}

func (w localPart) commit(ctx context.Context, adv store.LinkAdvance) (bool, error) {
	return adv.SHA256 != "", w.p.CommitLink(ctx, adv)
}

func (w localPart) close() { w.p.Close() }

func (b Local) release(ctx context.Context, u store.LinkUpload, kind, reason string) (bool, error) {
	if u.VideoID == "" {
		err := b.Store.ReleaseLinkUpload(ctx, u.ID, kind, reason)
		if errors.Is(err, store.ErrConflict) {
			return false, nil
		}
		return err == nil, err
	}
	// Deleting the video releases its link upload, in one transaction.
	released, err := b.Ingest.Cancel(ctx, u.VideoID, kind, reason)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return released, err
}

func (b Local) revoked(context.Context, store.Link) {}

// maintain has nothing to do: an upload through a link that this server
// receives starts in one transaction, and ends with its video.
func (b Local) maintain(context.Context) (int, error) { return 0, nil }

package links

import (
	"context"
	"io"
	"sync"
	"sync/atomic"

	"github.com/uplink-video/uplink/store"
)

// progressTable counts the bytes streamed so far of each part in flight,
// by upload ID, for the dashboard's live progress. The store learns of a
// part only when it is complete; this fills the gap in between. It lives
// in memory only: after a restart, progress is per part again.
type progressTable struct {
	mu    sync.Mutex
	parts map[string]*partProgress
}

// partProgress is one part being streamed.
type partProgress struct {
	part  int
	bytes atomic.Int64
}

// track counts what is read from r as part n of an upload, until the
// returned function is called. A later call for the same upload (a part
// sent again while the first request still runs) takes over the entry.
func (t *progressTable) track(uploadID string, n int, r io.Reader) (io.Reader, func()) {
	p := &partProgress{part: n}
	t.mu.Lock()
	if t.parts == nil {
		t.parts = map[string]*partProgress{}
	}
	t.parts[uploadID] = p
	t.mu.Unlock()
	return &countingReader{r: r, n: &p.bytes}, func() {
		t.mu.Lock()
		if t.parts[uploadID] == p {
			delete(t.parts, uploadID)
		}
		t.mu.Unlock()
	}
}

func (t *progressTable) get(uploadID string) (int, int64) {
	t.mu.Lock()
	p := t.parts[uploadID]
	t.mu.Unlock()
	if p == nil {
		return 0, 0
	}
	return p.part, p.bytes.Load()
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}

// InFlightBytes returns which part of an upload is being streamed now and
// how many of its bytes have passed so far; (0, 0) when none is.
func (s *Service) InFlightBytes(uploadID string) (part int, n int64) {
	return s.inFlight.get(uploadID)
}

// Received returns how many bytes of u have arrived: the parts the store
// has recorded, plus what has passed of the next part while it streams,
// at this process or, through the backend, at another one sharing the
// database. u must be fresh from the store: a part in flight counts only
// while it is the upload's next part, so a part just recorded is not
// counted twice.
func (s *Service) Received(ctx context.Context, u store.LinkUpload) int64 {
	got := u.Received()
	if u.Status != store.LinkUploadUploading {
		return got
	}
	part, n := s.InFlightBytes(u.ID)
	if part != u.NextPart {
		part, n = s.backend.inFlight(ctx, u)
	}
	if part == u.NextPart && part > 0 {
		got += min(n, PartSize(u, part))
	}
	return min(got, u.Size)
}

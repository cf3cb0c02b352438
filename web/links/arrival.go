package links

import (
	"context"
	"io"
	"sync"
)

// arrival reads the body of a part for PutPart, and keeps the context of
// storing it once all of it has arrived (see keepOnceArrived).
type arrival struct {
	r      io.Reader
	mu     sync.Mutex // Held across each read of r.
	left   int64      // Bytes of the part not read yet.
	stop   func() bool
	cancel context.CancelFunc
}

// keepOnceArrived returns a reader of a part's body of size bytes, and a
// context that parent's cancellation (the uploader going away) cancels
// only while some of those bytes have not been read. Once every byte has
// arrived, the part is stored even if the uploader is gone before the
// answer: it comes back, asks which part the server needs, and goes on,
// rather than send the whole part again.
//
// net/http cancels a request's context only after a read of its body
// has returned: the last bytes, or an error. The check in the callback
// takes the lock that each read holds, so it always sees the bytes of
// the read before it counted. The caller must call release when done.
func keepOnceArrived(parent context.Context, body io.Reader, size int64) (context.Context, *arrival) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	a := &arrival{r: body, left: size, cancel: cancel}
	a.stop = context.AfterFunc(parent, func() {
		a.mu.Lock()
		whole := a.left <= 0
		a.mu.Unlock()
		if !whole {
			cancel()
		}
	})
	return ctx, a
}

func (a *arrival) Read(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	n, err := a.r.Read(p)
	a.left -= int64(n)
	return n, err
}

// release frees the context.
func (a *arrival) release() {
	a.stop()
	a.cancel()
}

package links_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/web/links"
)

// An uploader whose connection drops at the last byte of a part (the
// network went down before the answer) gets no answer, but the part is
// stored: it will ask which part the server needs and go on from there,
// rather than send the whole part again (issue 15, the network-gone
// scenario of web/e2e TestBadNetwork). An uploader that goes away before
// the last byte still leaves nothing of the part.
func TestPartIsKeptOnceAllOfItArrived(t *testing.T) {
	e := newEnv(t)
	l := e.link(t, links.Spec{})
	data := videoFile(t, 2*chunk+100)
	u := start(t, e, l, data, "gone.mp4")
	part := data[:chunk]

	// Gone mid-body: the part is not stored.
	ctx, cancel := context.WithCancel(context.Background())
	body := &goneAt{r: bytes.NewReader(part), left: chunk / 2, cut: true, gone: cancel}
	if _, err := e.links.PutPart(ctx, l.ID, u.VideoID, 1, chunk, body); err == nil {
		t.Fatalf("part 1 cut off at half: no error")
	}
	if got := session(t, e, l, u).NextPart; got != 1 {
		t.Fatalf("after a part cut off at half, next part=%d, want=1", got)
	}

	// Gone once every byte was read, before the answer: stored.
	ctx, cancel = context.WithCancel(context.Background())
	body = &goneAt{r: bytes.NewReader(part), left: chunk, gone: cancel}
	if _, err := e.links.PutPart(ctx, l.ID, u.VideoID, 1, chunk, body); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("part 1, uploader gone after its last byte: %v", err)
	}
	if got := session(t, e, l, u).NextPart; got != 2 {
		t.Errorf("after the uploader left at the last byte, next part=%d, want=2 (the part kept)", got)
	}
	uploadAll(t, e, l, session(t, e, l, u), data)
	if got, want := session(t, e, l, u).SHA256, sum(data); got != want {
		t.Errorf("SHA-256=%s, want=%s", got, want)
	}
}

// session reads the upload back, as the uploader's status call does.
func session(t *testing.T, e *env, l store.Link, u store.LinkUpload) store.LinkUpload {
	t.Helper()
	s, err := e.links.Upload(context.Background(), l.ID, u.VideoID)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// goneAt hands out left bytes of r, and then the uploader goes away: with
// cut, the connection drops there, mid-body; without, every byte has
// arrived, and as with net/http the read that returns the last bytes
// returns io.EOF too, and the request is cancelled a moment later, when
// the server notices the closed connection in the background.
type goneAt struct {
	r    io.Reader
	left int
	cut  bool
	gone context.CancelFunc
}

func (g *goneAt) Read(p []byte) (int, error) {
	if g.left <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	if len(p) > g.left {
		p = p[:g.left]
	}
	n, err := g.r.Read(p)
	if g.left -= n; g.left > 0 || err != nil {
		return n, err
	}
	if g.cut {
		g.gone()
		return n, nil // The next read fails.
	}
	go g.gone()
	return n, io.EOF
}

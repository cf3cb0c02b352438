package links_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/store/ingest"
	"github.com/uplink-video/uplink/web/links"
	"github.com/uplink-video/uplink/web/webtest"
)

// interruptedAssembly is a blob store whose CompleteMultipart fails while
// fail is set, as the death of the process assembling a source leaves the
// upload: every part recorded, the source not.
type interruptedAssembly struct {
	blob.Store
	fail *atomic.Bool
}

func (s interruptedAssembly) CompleteMultipart(ctx context.Context, u blob.Upload, ps []blob.Part) error {
	if s.fail.Load() {
		return errors.New("the process assembling the source died")
	}
	return s.Store.CompleteMultipart(ctx, u, ps)
}

// The uploader's page asks about an upload whose every part is sent until
// the server says it is complete. When the instance that recorded the
// last part died before it assembled the source, another one, asked,
// assembles it once the time a claim lasts has gone by: the page does not
// wait for the cleanup job.
func TestAskingAboutAnUploadFinishesWhatADeadInstanceLeft(t *testing.T) {
	ctx := context.Background()
	var fail atomic.Bool
	e := webtest.Start(t, webtest.WithChunkSize(chunk), webtest.WithBlobs(func(d *blob.Dir) blob.Store {
		return interruptedAssembly{d, &fail}
	}))
	env := &env{App: e, store: e.Store, links: e.Links, videos: e}
	l := env.link(t, links.Spec{})
	data := videoFile(t, 2*chunk+1000)
	u := start(t, env, l, data, "clip.mp4")
	fail.Store(true)
	u = uploadAll(t, env, l, u, data)
	if u.Status == store.LinkUploadCompleted || u.NextPart <= u.TotalParts {
		t.Fatalf("after the last part, with the assembly interrupted: %s, next part %d of %d; want every part held and not completed", u.Status, u.NextPart, u.TotalParts)
	}
	fail.Store(false)
	if u, err := e.Links.Upload(ctx, l.ID, u.VideoID); err != nil || u.Status == store.LinkUploadCompleted {
		t.Fatalf("asked at once: %s, %v; want it left to whoever is assembling it", u.Status, err)
	}
	e.Clock.Advance(ingest.DefaultClaimTTL)
	u, err := e.Links.Upload(ctx, l.ID, u.VideoID)
	if err != nil || u.Status != store.LinkUploadCompleted {
		t.Fatalf("asked once a claim's time has gone by: %s, %v; want it completed", u.Status, err)
	}
	if got, want := sourceSHA(t, env, u.VideoID), sum(data); got != want {
		t.Errorf("source SHA-256 = %s, want %s", got, want)
	}
}

package web_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/web"
	"github.com/uplink-video/uplink/web/webtest"
)

// TestVideoListUpstreamShowsTheRemoteVideos runs uplink in upstream mode
// against another uplink: the video list is the remote host's list,
// newest first, read through its API, not the (empty) local one; rows
// have no local page, no bulk boxes, and say where the videos are.
func TestVideoListUpstreamShowsTheRemoteVideos(t *testing.T) {
	const key = "upstream-test-api-key-0123456789"
	remote := webtest.Start(t, webtest.WithDeps(func(d *web.Deps) { d.ExtraAPIKey = key }))
	var ids []string
	for _, title := range []string{"First on the host", "Second on the host"} {
		v, err := remote.Store.CreateVideo(context.Background(), store.VideoCreate{Title: title})
		if err != nil {
			t.Fatal(err)
		}
		remote.Clock.Advance(1e9)
		ids = append([]string{v.ID}, ids...)
	}
	a := newAdminApp(t, webtest.WithUpstream(remote.URL, key))
	doc := a.getPage(t, "/admin/videos")
	if got := videoRowIDs(doc); !slices.Equal(got, ids) {
		t.Errorf("rows=%v, want the remote host's %v", got, ids)
	}
	if got := strings.TrimSpace(testID(doc, "video-title").First().Text()); got != "Second on the host" {
		t.Errorf("first title=%q", got)
	}
	if testID(doc, "remote-note").Length() != 1 || testID(doc, "video-select").Length() != 0 || doc.Find(`a[data-testid="video-title"]`).Length() != 0 {
		t.Error("the remote list has no note, or has bulk boxes or local video pages")
	}
}

package e2e_test

import (
	"context"
	"html/template"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/web/links"
)

// parentPage is a site that embeds the uploader. It keeps every message
// the frame posts, with its origin, in window.messages.
var parentPage = template.Must(template.New("parent").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Embedding site</title></head>
<body>
<h1>Send us your video</h1>
<script>
window.messages = []
addEventListener('message', e => { window.messages.push({origin: e.origin, data: e.data}) })
</script>
<iframe id="uplink" src="{{.}}" width="640" height="720" title="Upload"></iframe>
</body>
</html>`))

// newParent serves parentPage from another origin than the
// application's (another port). embed is called with the page's origin
// before it serves, and returns the URL to put in the iframe.
func newParent(t *testing.T, embed func(origin string) string) string {
	t.Helper()
	s := httptest.NewUnstartedServer(nil)
	origin := "http://" + s.Listener.Addr().String()
	src := embed(origin)
	s.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = parentPage.Execute(w, src)
	})
	s.Start()
	t.Cleanup(s.Close)
	return origin
}

// message is an event the embed posted to its parent.
type message struct {
	Origin string `json:"origin"`
	Data   struct {
		Type          string `json:"type"`
		LinkID        string `json:"linkId"`
		File          string `json:"file"`
		UploadedBytes int64  `json:"uploadedBytes"`
		TotalBytes    int64  `json:"totalBytes"`
		VideoID       string `json:"videoId"`
		Title         string `json:"title"`
		Size          int64  `json:"size"`
		SHA256        string `json:"sha256"`
		Code          string `json:"code"`
		Message       string `json:"message"`
	} `json:"data"`
}

// TestEmbedPostsEventsToParent embeds a link in a page on an allowed
// origin, uploads through the frame, and checks the events the parent
// receives: uplink:ready, uplink:progress and an uplink:complete that
// names the stored video and its SHA-256. A page on another origin cannot
// frame the uploader at all.
func TestEmbedPostsEventsToParent(t *testing.T) {
	a := newApp(t)
	ctx := newBrowser(t)
	var l store.Link
	parent := newParent(t, func(origin string) string {
		l = a.link(t, links.Spec{EmbedOrigins: []string{origin}})
		return a.links.EmbedURL(l)
	})
	f := videoFile(t, "clip.mp4", 12<<20, 6)

	run(t, ctx, "open the embedding page", chromedp.Navigate(parent))
	waitJS[bool](t, ctx, "uplink:ready", `window.messages.some(m => m.data.type === 'uplink:ready')`)
	frame := frameNode(t, ctx, a.links.EmbedURL(l))
	startUpload(t, ctx, f, chromedp.FromNode(frame))
	waitJS[bool](t, ctx, "uplink:complete", `window.messages.some(m => m.data.type === 'uplink:complete')`)
	if sameOrigin := get(t, ctx, "check the frame's origin", chromedp.Evaluate[bool](`document.querySelector('iframe').contentDocument !== null`)); sameOrigin {
		t.Errorf("the parent can read the frame's document; the test needs them on different origins")
	}
	videoID := checkStored(t, a, l, f)

	msgs := get(t, ctx, "read the messages", chromedp.Evaluate[[]message](`window.messages`))
	var ready, progress, complete []message
	for _, m := range msgs {
		if m.Origin != a.URL {
			t.Errorf("message %q from origin %q, want %q", m.Data.Type, m.Origin, a.URL)
		}
		switch m.Data.Type {
		case "uplink:ready":
			ready = append(ready, m)
		case "uplink:progress":
			progress = append(progress, m)
		case "uplink:complete":
			complete = append(complete, m)
		case "uplink:error":
			t.Errorf("uplink:error %s: %s", m.Data.Code, m.Data.Message)
		}
	}
	if len(ready) != 1 || ready[0].Data.LinkID != l.ID {
		t.Errorf("uplink:ready messages=%+v, want one for link %s", ready, l.ID)
	}
	if len(progress) == 0 {
		t.Fatalf("no uplink:progress among %d messages", len(msgs))
	}
	for _, m := range progress {
		if m.Data.File != f.Name || m.Data.TotalBytes != f.Size || m.Data.UploadedBytes < 0 || m.Data.UploadedBytes > f.Size {
			t.Errorf("uplink:progress %+v, want file %q and 0 <= uploadedBytes <= totalBytes = %d", m.Data, f.Name, f.Size)
		}
	}
	if last := progress[len(progress)-1]; last.Data.UploadedBytes != f.Size {
		t.Errorf("last uplink:progress uploadedBytes=%d, want=%d", last.Data.UploadedBytes, f.Size)
	}
	if len(complete) != 1 {
		t.Fatalf("uplink:complete messages=%d, want=1", len(complete))
	}
	c := complete[0].Data
	if c.VideoID != videoID || c.SHA256 != f.SHA256 || c.Size != f.Size || c.Title != f.Name {
		t.Errorf("uplink:complete=%+v, want videoId %s, sha256 %s, size %d, title %q", c, videoID, f.SHA256, f.Size, f.Name)
	}

	// A page on an origin the link does not list: the browser refuses to
	// show the uploader in its frame (frame-ancestors), so nothing loads
	// and no event comes.
	embed := a.links.EmbedURL(l)
	other := newParent(t, func(string) string { return embed })
	tab := newTab(t, ctx)
	run(t, tab, "open a page on another origin", chromedp.Navigate(other))
	fr := childFrame(t, tab)
	if fr.URL != "chrome-error://chromewebdata/" || fr.UnreachableURL != embed {
		t.Errorf("frame on a foreign origin: url=%q unreachable=%q, want the browser's error page for %s", fr.URL, fr.UnreachableURL, embed)
	}
	// The one bounded wait: events, if any, would come within moments.
	wctx, cancel := context.WithTimeout(tab, 3*time.Second)
	defer cancel()
	_, err := chromedp.Run(wctx, chromedp.Poll[bool](`window.messages.length > 0`, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(0)))
	if err == nil {
		got := get(t, tab, "read the messages", chromedp.Evaluate[[]message](`window.messages`))
		t.Errorf("a page on a foreign origin got messages from the embed: %+v", got)
	}
}

// frameNode returns the page's iframe element once the browser has filled
// in its document from src, for queries with chromedp.FromNode.
func frameNode(t *testing.T, ctx context.Context, src string) *chromedp.Node {
	t.Helper()
	var frame *chromedp.Node
	waitUntil(t, ctx, "the iframe's document", func() bool {
		nodes, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS("iframe")))
		if err != nil {
			t.Fatalf("find the iframe: %v", err)
		}
		frame = nodes[0]
		frame.RLock()
		defer frame.RUnlock()
		return frame.ContentDocument != nil && frame.ContentDocument.DocumentURL == src
	})
	return frame
}

// childFrame returns the page's only child frame once it has navigated
// somewhere: to its document, or to the browser's error page.
func childFrame(t *testing.T, ctx context.Context) cdp.Frame {
	t.Helper()
	var fr cdp.Frame
	waitUntil(t, ctx, "the child frame to navigate", func() bool {
		tree, err := chromedp.Call(ctx, page.GetFrameTree, cdp.Empty{})
		if err != nil {
			t.Fatalf("frame tree: %v", err)
		}
		if n := len(tree.FrameTree.ChildFrames); n != 1 {
			t.Fatalf("child frames=%d, want=1", n)
		}
		fr = *tree.FrameTree.ChildFrames[0].Frame
		return fr.URL != "" && fr.URL != "about:blank"
	})
	return fr
}

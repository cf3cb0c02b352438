package e2e_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/uplink-video/uplink/web/links"
)

// The recipient's page while it stays open (issue 13): the link changing
// under it, and the network coming back.

// livePoll is how often the page asks about its link in these tests
// (30 s in real use).
const livePoll = 300

// TestRecipientUploadsLeftStayCurrent: a 3-use link open on a page. The
// page's "(N left)" follows its own upload and those made elsewhere, and
// when the link is used up elsewhere, the page shows only its receipt. A
// second page, with no upload of its own, says the link has been used.
func TestRecipientUploadsLeftStayCurrent(t *testing.T) {
	forEachViewport(t, func(t *testing.T, a *app, ctx context.Context, v viewport) {
		setTimers(t, ctx, map[string]int{"poll": livePoll})
		l := a.link(t, links.Spec{MaxUploads: 3})
		f := videoFile(t, "mine.mp4", 6<<20, 16)
		shots := artifactsDir(t)
		waitLeft := func(tab context.Context, want string) {
			t.Helper()
			waitJS[bool](t, tab, "the limits to say "+want, `document.querySelector('[data-testid="max-uploads"]').textContent === `+jsString(want))
		}

		run(t, ctx, "open the link", chromedp.Navigate(a.links.URL(l)))
		waitLeft(ctx, "Up to 3 uploads (3 left)")
		idle := newTab(t, ctx)
		emulate(t, idle, v, "light")
		setTimers(t, idle, map[string]int{"poll": livePoll})
		run(t, idle, "open the link in a second tab", chromedp.Navigate(a.links.URL(l)))

		startUpload(t, ctx, f)
		checkReceipt(t, waitReceipt(t, ctx), f)
		waitLeft(ctx, "Up to 3 uploads (2 left)")
		waitLeft(idle, "Up to 3 uploads (2 left)")

		uploadElsewhere(t, a, l, "someone-else.mp4", 1) // started, not finished: it holds a slot
		waitLeft(ctx, "Up to 3 uploads (1 left)")
		screenshot(t, ctx, shots, "1-one-left-"+v.Name)
		if s := look(t, ctx); !s.Zone {
			t.Errorf("with one upload left, the page takes no file: %+v", s)
		}

		uploadElsewhere(t, a, l, "the-last.mp4", 0)
		// The link is not used up while the unfinished upload holds its
		// slot; the page takes no more files all the same.
		waitLeft(ctx, "Up to 3 uploads (0 left)")
		waitJS[bool](t, ctx, "the drop zone to go", `document.querySelector('[data-testid="drop-zone"]').hidden`)

		uploadElsewhere(t, a, l, "someone-else.mp4", 0) // resumed and finished: the link is used up
		waitJS[bool](t, ctx, "the limits to go", `document.querySelector('[data-testid="limits"]').hidden`)
		s := look(t, ctx)
		screenshot(t, ctx, shots, "2-used-up-"+v.Name)
		if s.Zone || s.Start || s.Limits || s.Closed || s.Error || s.Fields > 0 || len(s.Red) > 0 {
			t.Errorf("the link was used up elsewhere; the page shows more than its receipt: %+v", s)
		}
		if len(s.Rows) != 1 || !s.Rows[0].Receipt || !s.Done || !s.DoneGood {
			t.Errorf("rows %+v, summary %q (good %t): want the one receipt and that it arrived", s.Rows, s.DoneText, s.DoneGood)
		}
		checkNoSidewaysScroll(t, v.Name, s)

		waitJS[bool](t, idle, "the second tab to say the link was used", `!document.querySelector('[data-testid="closed"]').hidden`)
		s = look(t, idle)
		screenshot(t, idle, shots, "3-second-tab-"+v.Name)
		if !strings.HasPrefix(s.ClosedText, "This link has been used.") || s.Limits {
			t.Errorf("the second tab shows %q (limits shown: %t), want that the link has been used", s.ClosedText, s.Limits)
		}
	})
}

// jsString quotes s for JavaScript.
func jsString(s string) string { return `'` + strings.ReplaceAll(s, `'`, `\'`) + `'` }

// TestRecipientOnlineEndsTheWait: with retry delays far longer than the
// test waits (20 s and more), the network goes while a part is on its
// way. The page says it is offline, and the moment the browser is online
// again, the upload goes on: no countdown is waited out.
func TestRecipientOnlineEndsTheWait(t *testing.T) {
	forEachViewport(t, func(t *testing.T, a *app, ctx context.Context, v viewport) {
		setTimers(t, ctx, map[string]int{"delay": 20000, "maxDelay": 40000, "probe": 60000})
		l := a.link(t, links.Spec{})
		f := videoFile(t, "train.mp4", 16<<20, 17)

		run(t, ctx, "open the link", chromedp.Navigate(a.links.URL(l)))
		h := a.rec.holdFrom(t, 2)
		startUpload(t, ctx, f)
		waitChan(t, ctx, "part 2 to reach the server", h.Reached)
		setOffline(t, ctx, true)
		h.Release()
		waitChan(t, ctx, "the cut-off part to be answered", h.Done)
		waitJS[bool](t, ctx, "the row to say it is offline", `/offline/i.test(document.querySelector('[data-testid="upload-row"] [data-testid="status"]').textContent)`)
		s := look(t, ctx)
		screenshot(t, ctx, artifactsDir(t), "offline-"+v.Name)
		if s.Rows[0].State != "active" || len(s.Red) > 0 {
			t.Errorf("offline, the page shows %+v, want the upload waiting and nothing red", s)
		}
		checkNoSidewaysScroll(t, v.Name, s)

		back := time.Now()
		setOffline(t, ctx, false)
		checkReceipt(t, waitReceipt(t, ctx), f)
		if took := time.Since(back); took > 5*time.Second {
			t.Errorf("the upload finished %s after the browser was online again; the shortest retry delay is 10 s: it waited out a countdown", took.Round(100*time.Millisecond))
		}
		checkEachPartOnce(t, a.rec, f.parts())
	})
}

// TestRecipientNetworkBackWithoutOnlineEvent: the requests fail while
// the browser still believes it is online, as behind a hotel's wifi or a
// proxy, and fail from the very first call, before the upload has a
// session. Once the server can be reached again, the page goes on at its
// next look for the server (every 300 ms here) rather than at the end of
// a countdown of 10 s or more, though no "online" event tells it.
func TestRecipientNetworkBackWithoutOnlineEvent(t *testing.T) {
	forEachViewport(t, func(t *testing.T, a *app, ctx context.Context, v viewport) {
		setTimers(t, ctx, map[string]int{"delay": 20000, "maxDelay": 40000, "probe": 300})
		l := a.link(t, links.Spec{})
		f := videoFile(t, "hotel.mp4", 6<<20, 18)

		run(t, ctx, "open the link", chromedp.Navigate(a.links.URL(l)))
		blockRequests(t, ctx, true)
		startUpload(t, ctx, f)
		status := waitJS[string](t, ctx, "the row to count down", `(() => { const s = document.querySelector('[data-testid="upload-row"] [data-testid="status"]').textContent; return /Trying again in \d+ s/.test(s) && s })()`)
		t.Logf("while the network is gone: %q", status)
		if online := get(t, ctx, "navigator.onLine", chromedp.Evaluate[bool](`navigator.onLine`)); !online {
			t.Fatalf("the browser says it is offline; the test needs it to believe it is online")
		}
		if got := a.rec.startStatuses(); len(got) != 0 {
			t.Fatalf("upload starts reached the server: %v", got)
		}
		// The network stays gone for a few of the page's looks, as an
		// outage does: a look that succeeds at once, with none failed
		// before, means a reset rather than a lost network, and the page
		// then waits its delay out, so as not to retry ever faster.
		time.Sleep(4 * 300 * time.Millisecond)
		back := time.Now()
		blockRequests(t, ctx, false)
		checkReceipt(t, waitReceipt(t, ctx), f)
		if took := time.Since(back); took > 5*time.Second {
			t.Errorf("the upload finished %s after the network was back; the shortest retry delay is 10 s: it waited out a countdown", took.Round(100*time.Millisecond))
		}
	})
}

// blockRequests makes every request of the tab fail as with no network,
// or stops doing so, without telling the page: navigator.onLine stays
// true and no online or offline event fires.
func blockRequests(t *testing.T, ctx context.Context, block bool) {
	t.Helper()
	var rules []*network.Conditions
	if block {
		rules = []*network.Conditions{{Offline: true, DownloadThroughput: -1, UploadThroughput: -1}}
	}
	if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{MatchedNetworkConditions: rules}); err != nil {
		t.Fatalf("block requests=%t: %v", block, err)
	}
}

// TestRecipientEmbedShowsTheReceiptAgain: the uploader embedded on an
// allowed site, on a one-time link. After the upload, the frame shows
// only the receipt; when the site's page is opened again, the frame
// shows it again, from what the browser remembers for the frame, and
// sends nothing.
func TestRecipientEmbedShowsTheReceiptAgain(t *testing.T) {
	forEachViewport(t, func(t *testing.T, a *app, ctx context.Context, v viewport) {
		var embed string
		parent := newParent(t, func(origin string) string {
			embed = a.links.EmbedURL(a.link(t, links.Spec{MaxUploads: 1, EmbedOrigins: []string{origin}}))
			return embed
		})
		f := videoFile(t, "clip.mp4", 6<<20, 19)
		// hidden reads the hidden property of an element of the frame.
		hidden := func(frame *chromedp.Node, id string) bool {
			t.Helper()
			return get(t, ctx, "is "+id+" hidden", chromedp.JavascriptAttribute[bool](testid(id), "hidden", chromedp.FromNode(frame)))
		}

		run(t, ctx, "open the embedding page", chromedp.Navigate(parent))
		frame := frameNode(t, ctx, embed)
		startUpload(t, ctx, f, chromedp.FromNode(frame))
		run(t, ctx, "wait for the receipt in the frame", chromedp.WaitVisible(row("receipt"), chromedp.FromNode(frame)))
		for _, id := range []string{"drop-zone", "start", "limits"} {
			if !hidden(frame, id) {
				t.Errorf("after the upload, the frame still shows %s", id)
			}
		}
		before := a.rec.nextSeq()

		run(t, ctx, "open the embedding page again", chromedp.Navigate(parent))
		frame = frameNode(t, ctx, embed)
		run(t, ctx, "wait for the receipt in the frame", chromedp.WaitVisible(row("receipt"), chromedp.FromNode(frame)))
		screenshot(t, ctx, artifactsDir(t), "embed-again-"+v.Name)
		if got := get(t, ctx, "read the SHA-256", chromedp.Text(row("receipt-sha256"), chromedp.FromNode(frame))); got != f.SHA256 {
			t.Errorf("the frame's receipt shows SHA-256 %q, want %q", got, f.SHA256)
		}
		for _, id := range []string{"drop-zone", "start", "closed", "error"} {
			if !hidden(frame, id) {
				t.Errorf("opened again, the frame shows %s besides the receipt", id)
			}
		}
		if a.rec.nextSeq() != before || len(a.rec.startStatuses()) != 1 {
			t.Errorf("the frame sent a part or a start to show the receipt again")
		}
	})
}

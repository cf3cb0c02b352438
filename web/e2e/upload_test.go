package e2e_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/uplink-video/uplink/web/links"
)

// TestUploadArrivesByteIdentical opens a link, uploads a 40 MiB video in
// 5 MiB parts, and checks what the page shows at the end (100%, the
// receipt with the file's size and SHA-256) against the file, and the
// stored source against the file byte for byte.
func TestUploadArrivesByteIdentical(t *testing.T) {
	a := newApp(t)
	ctx := newBrowser(t)
	l := a.link(t, links.Spec{MaxUploads: 1})
	f := videoFile(t, "holiday.mp4", 40<<20, 1)
	if got, want := f.parts(), 8; got != want {
		t.Fatalf("parts=%d, want=%d", got, want)
	}
	shots := artifactsDir(t)

	resp := get(t, ctx, "open the link", chromedp.NavigateResponse(a.links.URL(l)))
	if got, want := resp.Status, int64(http.StatusOK); got != want {
		t.Fatalf("GET %s: status=%d, want=%d", a.links.URL(l), got, want)
	}
	screenshot(t, ctx, shots, "1-before")
	run(t, ctx, "watch the percentage", chromedp.Evaluate[chromedp.Void](watch100JS))
	startUpload(t, ctx, f)
	got := waitReceipt(t, ctx)
	screenshot(t, ctx, shots, "2-after")

	checkReceipt(t, got, f)
	if early := get(t, ctx, "read the watcher", chromedp.Evaluate[[]string](`window.early100`)); len(early) > 0 {
		t.Errorf("the page showed 100%% before the receipt, in row states %v", early)
	}
	checkEachPartOnce(t, a.rec, f.parts())
	videoID := checkStored(t, a, l, f)

	// The stored source, read back whole, is the file.
	src, err := a.ingest.OpenSource(context.Background(), videoID)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	stored, err := io.ReadAll(src)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stored, f.data) {
		t.Errorf("the stored source (%d bytes) differs from the file (%d bytes)", len(stored), len(f.data))
	}
}

// watch100JS records, in window.early100, every time a row shows 100%
// while its receipt is still hidden: 100% must wait for the server.
const watch100JS = `window.early100 = []
new MutationObserver(() => {
	for (const r of document.querySelectorAll('[data-testid="upload-row"]')) {
		const p = r.querySelector('[data-testid="percent"]').textContent.trim()
		if (p === '100%' && r.querySelector('[data-testid="receipt"]').hidden) window.early100.push(r.dataset.state)
	}
}).observe(document.body, {subtree: true, childList: true, characterData: true})`

// TestUploadSurvivesNetworkCut cuts the browser's network while a part is
// on its way, checks that the page says it is offline and keeps the upload
// (rather than failing it), then restores the network: the upload finishes
// by itself, intact.
func TestUploadSurvivesNetworkCut(t *testing.T) {
	a := newApp(t)
	ctx := newBrowser(t)
	l := a.link(t, links.Spec{})
	f := videoFile(t, "interview.mp4", 30<<20, 2)

	run(t, ctx, "open the link", chromedp.Navigate(a.links.URL(l)))
	// Part 3 waits at the server, so the network goes down with a part in
	// flight and two already stored.
	h := a.rec.holdFrom(t, 3)
	startUpload(t, ctx, f)
	waitChan(t, ctx, "part 3 to reach the server", h.Reached)

	setOffline(t, ctx, true)
	// The network is really down for the page, not only said to be.
	if got := get(t, ctx, "fetch while offline", chromedp.Evaluate[string](fetchJS, chromedp.EvalAwaitPromise)); got != "failed" {
		t.Fatalf("a request while offline: %s, want it to fail", got)
	}
	status := waitJS[string](t, ctx, "the row to say it is offline",
		`(() => { const s = document.querySelector('[data-testid="upload-row"] [data-testid="status"]').textContent; return /offline/i.test(s) && s })()`)
	t.Logf("while offline: %q", status)
	if got, want := waitRowState(t, ctx, "active", "failed", "paused"), "active"; got != want {
		t.Errorf("row state while offline=%q, want=%q: the upload must wait, not fail", got, want)
	}
	if hidden := get(t, ctx, "error box", chromedp.Evaluate[bool](`document.querySelector('[data-testid="error"]').hidden`)); !hidden {
		t.Errorf("the page shows an error while offline; it should only wait")
	}
	// The part that was in flight reaches the application now, cut off or
	// whole; either way the page must find out what the server holds.
	h.Release()
	waitChan(t, ctx, "the cut-off part to be answered", h.Done)

	setOffline(t, ctx, false)
	got := waitReceipt(t, ctx)
	checkReceipt(t, got, f)
	checkEachPartOnce(t, a.rec, f.parts())
	checkStored(t, a, l, f)
}

// fetchJS reports whether the page can reach its server.
const fetchJS = `fetch('/healthz', {cache: 'no-store'}).then(() => 'reachable', () => 'failed')`

// setOffline cuts or restores the tab's network: requests fail as with no
// connection, and navigator.onLine and the online/offline events follow.
func setOffline(t *testing.T, ctx context.Context, offline bool) {
	t.Helper()
	var rules []*network.Conditions
	if offline {
		rules = []*network.Conditions{{Offline: true, DownloadThroughput: -1, UploadThroughput: -1}}
	}
	// When going back online, the network returns before the page hears
	// of it, so that its first try goes through.
	if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{MatchedNetworkConditions: rules}); err != nil {
		t.Fatalf("emulate offline=%t: %v", offline, err)
	}
	if _, err := chromedp.Call(ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: offline, DownloadThroughput: -1, UploadThroughput: -1}); err != nil {
		t.Fatalf("override the network state, offline=%t: %v", offline, err)
	}
}

// TestUploadResumesAfterReload reloads the page while a part is in
// flight, picks the same file again, and checks that the upload continues
// from the part the server needs: every part is accepted exactly once,
// and no part the server held before the reload is sent again.
func TestUploadResumesAfterReload(t *testing.T) {
	a := newApp(t)
	ctx := newBrowser(t)
	l := a.link(t, links.Spec{})
	f := videoFile(t, "wedding.mp4", 30<<20, 3)
	dialogs := acceptDialogs(t, ctx)

	run(t, ctx, "open the link", chromedp.Navigate(a.links.URL(l)))
	h := a.rec.holdFrom(t, 3)
	startUpload(t, ctx, f)
	waitChan(t, ctx, "part 3 to reach the server", h.Reached)
	if got := a.rec.accepted(); got[1] != 1 || got[2] != 1 {
		t.Fatalf("before the reload, parts accepted: %v, want parts 1 and 2 once", got)
	}

	// The page asks before it is left mid-upload; acceptDialogs says yes.
	run(t, ctx, "reload the page", chromedp.Reload())
	if got := dialogs(); !slices.Contains(got, page.DialogTypeBeforeunload) {
		t.Errorf("dialogs on reload=%v, want a %s prompt", got, page.DialogTypeBeforeunload)
	}
	// The part cut off by the reload reaches the application now. It may
	// have arrived whole (then it is stored, and its answer is lost) or not.
	h.Release()
	waitChan(t, ctx, "the cut-off part to be answered", h.Done)
	held := 0
	for ok := a.rec.accepted(); ok[held+1] == 1; held++ {
	}
	t.Logf("the server holds parts 1 to %d at the reload", held)
	after := a.rec.nextSeq()

	startUpload(t, ctx, f)
	got := waitReceipt(t, ctx)
	checkReceipt(t, got, f)
	checkEachPartOnce(t, a.rec, f.parts())
	checkStored(t, a, l, f)

	// After the reload, the page went on from the server's next part.
	var resent []partCall
	first := 0
	for _, c := range a.rec.partCalls() {
		if c.Seq < after {
			continue
		}
		if first == 0 {
			first = c.Part
		}
		if c.Part <= held {
			resent = append(resent, c)
		}
	}
	if first != held+1 {
		t.Errorf("first part sent after the reload=%d, want=%d (the server's next part)", first, held+1)
	}
	if len(resent) > 0 {
		t.Errorf("parts the server held were sent again after the reload: %v", resent)
	}
	// The second start found the unfinished upload (200) instead of
	// creating a new one (201).
	if got, want := a.rec.startStatuses(), []int{http.StatusCreated, http.StatusOK}; !slices.Equal(got, want) {
		t.Errorf("upload starts answered %v, want=%v", got, want)
	}
}

package e2e_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/uplink-video/uplink/web/links"
)

// TestClosedLinkPageResumesAndShowsReceipt: a one-time link expires while
// its upload is under way. Reloading the page (the link now answers 410)
// still lets the recipient choose the same file and finish it; the page
// opened again after that shows the receipt for the same file, without
// sending a byte; a different file is refused, saying why (issue 10,
// item 11).
func TestClosedLinkPageResumesAndShowsReceipt(t *testing.T) {
	a := newApp(t)
	ctx := newBrowser(t)
	l := a.link(t, links.Spec{TTL: time.Hour, MaxUploads: 1})
	f := videoFile(t, "ceremony.mp4", 20<<20, 6)
	other := videoFile(t, "other.mp4", 6<<20, 7)
	acceptDialogs(t, ctx)

	run(t, ctx, "open the link", chromedp.Navigate(a.links.URL(l)))
	h := a.rec.holdFrom(t, 3)
	startUpload(t, ctx, f)
	waitChan(t, ctx, "part 3 to reach the server", h.Reached)

	// The link expires mid-upload; the recipient reloads.
	a.clock.Advance(time.Hour + time.Minute)
	resp := get(t, ctx, "reload the page", chromedp.NavigateResponse(a.links.URL(l)))
	h.Release()
	waitChan(t, ctx, "the cut-off part to be answered", h.Done)
	if got, want := resp.Status, int64(http.StatusGone); got != want {
		t.Errorf("reload after expiry: status=%d, want=%d", got, want)
	}
	if got, want := get(t, ctx, "read the notice", chromedp.Text(testid("closed-heading"))), "This link has expired."; got != want {
		t.Errorf("notice=%q, want=%q", got, want)
	}
	if n := get(t, ctx, "count the form's fields", chromedp.Evaluate[int](`document.querySelectorAll('.fields input, .fields textarea').length`)); n != 0 {
		t.Errorf("the closed link's page asks for %d fields, want only the file", n)
	}
	startUpload(t, ctx, f)
	checkReceipt(t, waitReceipt(t, ctx), f)
	checkEachPartOnce(t, a.rec, f.parts())
	checkStored(t, a, l, f)

	// Opened again later, the page gives the receipt back for the same
	// file, and sends no part.
	before := a.rec.nextSeq()
	again := newTab(t, ctx)
	run(t, again, "open the link again", chromedp.Navigate(a.links.URL(l)))
	startUpload(t, again, f)
	checkReceipt(t, waitReceipt(t, again), f)
	for _, c := range a.rec.partCalls() {
		if c.Seq >= before {
			t.Errorf("part %d sent for a file the server holds whole", c.Part)
		}
	}
	if got := a.rec.startStatuses(); !slices.Equal(got, []int{http.StatusCreated, http.StatusOK, http.StatusOK}) {
		t.Errorf("starts answered %v, want [201 200 200]", got)
	}

	// Another file is refused with the reason.
	late := newTab(t, ctx)
	run(t, late, "open the link in a third tab", chromedp.Navigate(a.links.URL(l)))
	startUpload(t, late, other)
	if got, want := waitRowState(t, late, "failed", "done"), "failed"; got != want {
		t.Fatalf("another file: row state=%q, want=%q", got, want)
	}
	if msg := get(t, late, "read the error", chromedp.Text(testid("error"), chromedp.NodeVisible)); !strings.Contains(msg, "This link has expired.") {
		t.Errorf("error=%q, want it to say the link expired", msg)
	}
	if n := len(a.completedVideos(t, l.ID)); n != 1 {
		t.Errorf("completed uploads=%d, want 1", n)
	}
}

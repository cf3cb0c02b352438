package e2e_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/uplink-video/uplink/web/links"
)

// TestOneTimeLinkRefusesSecondUpload uploads one file through a one-time
// link, then tries a second upload three ways: from a tab that opened the
// link before the first upload finished, by opening the link afresh, and
// through the uploader's API. Each is refused, saying the link was used.
// A link that was never used and has expired shows no uploader at all.
func TestOneTimeLinkRefusesSecondUpload(t *testing.T) {
	a := newApp(t)
	ctx := newBrowser(t)
	l := a.link(t, links.Spec{MaxUploads: 1})
	first := videoFile(t, "first.mp4", 6<<20, 4)
	second := videoFile(t, "second.mp4", 6<<20, 5)
	const heading = "This link has been used."

	// A second person opens the link while it is still unused.
	late := newTab(t, ctx)
	run(t, late, "open the link in a second tab", chromedp.Navigate(a.links.URL(l)), chromedp.WaitVisible(testid("start")))

	run(t, ctx, "open the link", chromedp.Navigate(a.links.URL(l)))
	startUpload(t, ctx, first)
	checkReceipt(t, waitReceipt(t, ctx), first)
	checkStored(t, a, l, first)

	// The stale page lets them pick a file; the server refuses the start
	// and the page says why.
	startUpload(t, late, second)
	if got, want := waitRowState(t, late, "failed", "done"), "failed"; got != want {
		t.Fatalf("second upload: row state=%q, want=%q", got, want)
	}
	msg := get(t, late, "read the error", chromedp.Text(testid("error"), chromedp.NodeVisible))
	if !strings.Contains(msg, heading) {
		t.Errorf("error on the stale page=%q, want it to contain %q", msg, heading)
	}

	// Opening the link now shows why it takes no more uploads. It still
	// asks for a file, only to give the first upload's receipt back to a
	// recipient whose answer to the last part was lost; it asks nothing else.
	fresh := newTab(t, ctx)
	resp := get(t, fresh, "open the used link", chromedp.NavigateResponse(a.links.URL(l)))
	if got, want := resp.Status, int64(http.StatusGone); got != want {
		t.Errorf("GET %s: status=%d, want=%d", a.links.URL(l), got, want)
	}
	if got := get(t, fresh, "read the heading", chromedp.Text(testid("closed-heading"))); got != heading {
		t.Errorf("heading=%q, want=%q", got, heading)
	}
	if got, want := get(t, fresh, "read the message", chromedp.Text(testid("closed"))), "one-time link"; !strings.Contains(got, want) {
		t.Errorf("message=%q, want it to contain %q", got, want)
	}
	if n := get(t, fresh, "count the fields", chromedp.Evaluate[int](`document.querySelectorAll('.fields input, .fields textarea').length`)); n != 0 {
		t.Errorf("the used link's page has %d fields, want only the file", n)
	}
	startUpload(t, fresh, second)
	if got, want := waitRowState(t, fresh, "failed", "done"), "failed"; got != want {
		t.Fatalf("second upload from the used link's page: row state=%q, want=%q", got, want)
	}

	// The uploader's API refuses a new upload too.
	body, _ := json.Marshal(map[string]any{"filename": second.Name, "size": second.Size, "lastModified": 1700000000000})
	res, err := http.Post(a.URL+"/u/"+l.ID+"/uploads", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var p struct{ Code, Title string }
	if err := json.NewDecoder(res.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusGone || p.Code != links.CodeLinkUsedUp || p.Title != heading {
		t.Errorf("POST /u/{id}/uploads: %d %q %q, want %d %q %q", res.StatusCode, p.Code, p.Title, http.StatusGone, links.CodeLinkUsedUp, heading)
	}

	if n := len(a.completedVideos(t, l.ID)); n != 1 {
		t.Errorf("completed uploads=%d, want=1", n)
	}

	// A link that expired unused has nothing to resume: no uploader.
	unused := a.link(t, links.Spec{MaxUploads: 1, TTL: time.Hour})
	a.clock.Advance(time.Hour)
	run(t, fresh, "open an expired, unused link", chromedp.Navigate(a.links.URL(unused)))
	if got, want := get(t, fresh, "read the heading", chromedp.Text(testid("unavailable-heading"))), "This link has expired."; got != want {
		t.Errorf("heading=%q, want=%q", got, want)
	}
	if n := get(t, fresh, "count file inputs", chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="file-input"]').length`)); n != 0 {
		t.Errorf("the expired link's page has %d file inputs, want none", n)
	}
}

package e2e_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/uplink-video/uplink/web/links"
)

// The recipient's page as issue 13 asks: each behaviour at a desktop width
// and a phone width, judged by what a person sees.

// TestRecipientBatchSaysWhatArrived: a link that takes any number of
// videos; the recipient chooses two videos and an MP3. The MP3 is refused
// at once, in the server's words, before anything of it is sent; each
// video goes through with the title typed in its own row; and the page
// ends saying that 2 of 3 arrived and why the third did not, never that
// everything arrived.
func TestRecipientBatchSaysWhatArrived(t *testing.T) {
	forEachViewport(t, func(t *testing.T, a *app, ctx context.Context, v viewport) {
		l := a.link(t, links.Spec{})
		one := videoFile(t, "ceremony.mp4", 6<<20, 11)
		two := videoFile(t, "speeches.mp4", 6<<20, 12)
		mp3 := mediaFile(t, "../sniff/testdata/audio-only.mp3")
		shots := artifactsDir(t)

		run(t, ctx, "open the link and choose three files",
			chromedp.Navigate(a.links.URL(l)),
			chromedp.WaitVisible(testid("drop-zone")),
			chromedp.SetUploadFiles(testid("file-input"), []string{one.Path, mp3.Path, two.Path}),
		)
		s := waitRows(t, ctx, "ready", "failed", "ready")
		const refused = "This type of file is not accepted. This is an MP3 audio file. This link takes video files ("
		if got := s.Rows[1].Status; !strings.HasPrefix(got, refused) {
			t.Errorf("the MP3's row says %q, want %q...", got, refused)
		}
		if s.Rows[1].Fields {
			t.Errorf("the refused file's row asks for a title")
		}
		run(t, ctx, "give each video its title",
			chromedp.SendKeys(rowSel(1, "title"), "The ceremony"),
			chromedp.SendKeys(rowSel(3, "title"), "The speeches"),
			chromedp.SendKeys(rowSel(3, "description"), "From the back of the hall"),
		)
		screenshot(t, ctx, shots, "1-chosen-"+v.Name)
		run(t, ctx, "press Start", chromedp.Click(testid("start")))
		s = waitRows(t, ctx, "done", "failed", "done")
		waitJS[bool](t, ctx, "the summary", `!document.querySelector('[data-testid="done"]').hidden`)
		s = look(t, ctx)
		screenshot(t, ctx, shots, "2-summary-"+v.Name)

		const summary = "2 of 3 arrived; 1 was refused: this is an MP3 audio file, this link takes video files."
		if !s.Done || s.DoneText != summary {
			t.Errorf("summary (shown %t): %q, want %q", s.Done, s.DoneText, summary)
		}
		if s.DoneGood || strings.Contains(s.DoneText, "Everything") {
			t.Errorf("summary %q is shown as a success", s.DoneText)
		}
		if got, want := [...]string{s.Rows[0].ReceiptTitle, s.Rows[2].ReceiptTitle}, [...]string{"The ceremony", "The speeches"}; got != want {
			t.Errorf("the receipts show the titles %q, want %q", got, want)
		}
		if s.Rows[0].Fields || s.Rows[2].Fields {
			t.Errorf("a finished row still shows its title and description fields")
		}
		if got, want := a.rec.startStatuses(), []int{http.StatusCreated, http.StatusCreated}; !slices.Equal(got, want) {
			t.Errorf("upload starts answered %v, want %v: the MP3 must never reach the server", got, want)
		}
		titles := map[string][2]string{}
		for _, u := range a.completedVideos(t, l.ID) {
			titles[u.Filename] = [2]string{u.Title, u.Description}
		}
		if got, want := titles, map[string][2]string{"ceremony.mp4": {"The ceremony", ""}, "speeches.mp4": {"The speeches", "From the back of the hall"}}; !mapsEqual(got, want) {
			t.Errorf("stored titles and descriptions %v, want %v", got, want)
		}
		checkNoSidewaysScroll(t, v.Name, s)
	})
}

func mapsEqual[K, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestRecipientTitleKeptAndLocked: what the recipient typed (their name
// and email, a file's title and description) is still there after a
// reload, once the same file is chosen again; it is locked while the file
// uploads, and the video gets it.
func TestRecipientTitleKeptAndLocked(t *testing.T) {
	forEachViewport(t, func(t *testing.T, a *app, ctx context.Context, v viewport) {
		l := a.link(t, links.Spec{MaxUploads: 3, AskName: true})
		f := videoFile(t, "interview.mp4", 11<<20, 13)
		acceptDialogs(t, ctx)

		run(t, ctx, "open the link, choose the file, type",
			chromedp.Navigate(a.links.URL(l)),
			chromedp.SendKeys(testid("uploader-name"), "Ada Lovelace"),
			chromedp.SendKeys(testid("uploader-email"), "ada@example.com"),
			chromedp.SetUploadFiles(testid("file-input"), []string{f.Path}),
			chromedp.SendKeys(rowSel(1, "title"), "Interview with Ada"),
			chromedp.SendKeys(rowSel(1, "description"), "Raw camera file"),
		)
		run(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(testid("drop-zone")))
		if got := get(t, ctx, "read the name", chromedp.Value(testid("uploader-name"))); got != "Ada Lovelace" {
			t.Errorf("name after the reload=%q, want it kept", got)
		}
		run(t, ctx, "choose the same file again", chromedp.SetUploadFiles(testid("file-input"), []string{f.Path}))
		s := waitRows(t, ctx, "ready")
		if r := s.Rows[0]; !r.Fields || r.Title != "Interview with Ada" || r.Description != "Raw camera file" || r.Locked {
			t.Errorf("the row after the reload: %+v, want its title and description back, editable", r)
		}

		h := a.rec.holdFrom(t, 2)
		run(t, ctx, "press Start", chromedp.Click(testid("start")))
		waitChan(t, ctx, "part 2 to reach the server", h.Reached)
		s = look(t, ctx)
		if r := s.Rows[0]; r.State != "active" || !r.Locked || !r.Fields {
			t.Errorf("while uploading, the row: %+v, want its title shown and locked", r)
		}
		if name := get(t, ctx, "is the name locked", chromedp.Evaluate[bool](`document.querySelector('[data-testid="uploader-name"]').readOnly`)); !name {
			t.Errorf("the name can be changed while the file uploads")
		}
		screenshot(t, ctx, artifactsDir(t), "locked-"+v.Name)
		checkNoSidewaysScroll(t, v.Name, s)
		h.Release()
		checkReceipt(t, waitReceipt(t, ctx), f)
		done := a.completedVideos(t, l.ID)
		if len(done) != 1 || done[0].Title != "Interview with Ada" || done[0].Description != "Raw camera file" || done[0].UploaderName != "Ada Lovelace" {
			t.Errorf("stored: %+v, want the title, description and name typed before the reload", done)
		}
	})
}

// TestRecipientOneTimeResumeShowsOnlyTheReceipt: on a one-time link, the
// recipient reloads mid-upload. The page names the unfinished file and
// asks for it again; chosen again, it finishes, and then the page shows
// only the receipt: no drop zone, no fields, no "One upload, in
// progress", nothing red.
func TestRecipientOneTimeResumeShowsOnlyTheReceipt(t *testing.T) {
	forEachViewport(t, func(t *testing.T, a *app, ctx context.Context, v viewport) {
		l := a.link(t, links.Spec{MaxUploads: 1})
		f := videoFile(t, "wedding.mp4", 16<<20, 14)
		acceptDialogs(t, ctx)
		shots := artifactsDir(t)

		run(t, ctx, "open the link", chromedp.Navigate(a.links.URL(l)))
		h := a.rec.holdFrom(t, 3)
		startUpload(t, ctx, f)
		waitChan(t, ctx, "part 3 to reach the server", h.Reached)
		run(t, ctx, "reload", chromedp.Reload())
		h.Release()
		waitChan(t, ctx, "the cut-off part to be answered", h.Done)

		s := waitRows(t, ctx, "missing")
		if r := s.Rows[0]; r.Name != f.Name || !strings.Contains(r.Status, "Choose the same file again") {
			t.Errorf("after the reload, the row: %+v, want the file named and asked for again", r)
		}
		if !strings.Contains(s.MaxUploads, "in progress") {
			t.Errorf("limits say %q, want the upload in progress", s.MaxUploads)
		}
		screenshot(t, ctx, shots, "1-reloaded-"+v.Name)
		startUpload(t, ctx, f)
		checkReceipt(t, waitReceipt(t, ctx), f)
		checkEachPartOnce(t, a.rec, f.parts())
		waitJS[bool](t, ctx, "the drop zone to go", `document.querySelector('[data-testid="drop-zone"]').hidden`)
		s = look(t, ctx)
		screenshot(t, ctx, shots, "2-receipt-"+v.Name)
		if s.Zone || s.Start || s.Limits || s.Closed || s.Error || s.Fields > 0 || len(s.Red) > 0 {
			t.Errorf("once the link is used up, the page shows more than the receipt: %+v", s)
		}
		if len(s.Rows) != 1 || !s.Rows[0].Receipt {
			t.Errorf("rows %+v, want the one receipt", s.Rows)
		}
		if !s.Done || !s.DoneGood || s.DoneText != "Thank you. Everything has arrived." {
			t.Errorf("summary (shown %t, good %t): %q", s.Done, s.DoneGood, s.DoneText)
		}
		checkNoSidewaysScroll(t, v.Name, s)
	})
}

// TestRecipientReloadAfterFinishingShowsTheReceipt: the recipient
// finishes on a one-time link and opens it again. The link is used up,
// but this browser uploaded its file: the page shows the receipt without
// asking for the file, and nothing about a used link. Another browser
// sees only that the link has been used.
func TestRecipientReloadAfterFinishingShowsTheReceipt(t *testing.T) {
	forEachViewport(t, func(t *testing.T, a *app, ctx context.Context, v viewport) {
		l := a.link(t, links.Spec{MaxUploads: 1})
		f := videoFile(t, "graduation.mp4", 6<<20, 15)
		shots := artifactsDir(t)

		run(t, ctx, "open the link, choose the file, give it a title",
			chromedp.Navigate(a.links.URL(l)),
			chromedp.SetUploadFiles(testid("file-input"), []string{f.Path}),
			chromedp.SendKeys(rowSel(1, "title"), "Graduation day"),
			chromedp.Click(testid("start")),
		)
		checkReceipt(t, waitReceipt(t, ctx), f)
		parts, starts := a.rec.nextSeq(), len(a.rec.startStatuses())

		resp := get(t, ctx, "open the link again", chromedp.NavigateResponse(a.links.URL(l)))
		if got, want := resp.Status, int64(http.StatusGone); got != want {
			t.Errorf("the used link answers %d, want %d", got, want)
		}
		checkReceipt(t, waitReceipt(t, ctx), f)
		s := look(t, ctx)
		screenshot(t, ctx, shots, "1-again-"+v.Name)
		if r := s.Rows[0]; r.Status != "Uploaded on an earlier visit." || r.ReceiptTitle != "Graduation day" {
			t.Errorf("the row says %q, its receipt shows the title %q; want it uploaded on an earlier visit, titled as given", r.Status, r.ReceiptTitle)
		}
		if s.Zone || s.Start || s.Closed || s.Error || len(s.Red) > 0 || strings.Contains(s.ClosedText+s.ErrorText, "ask") && s.Closed {
			t.Errorf("the page shows more than the receipt: %+v", s)
		}
		if !s.Done || !s.DoneGood {
			t.Errorf("summary (shown %t, good %t): %q", s.Done, s.DoneGood, s.DoneText)
		}
		if a.rec.nextSeq() != parts || len(a.rec.startStatuses()) != starts {
			t.Errorf("the page sent a part or a start to show the receipt")
		}
		checkNoSidewaysScroll(t, v.Name, s)

		other := newTab(t, ctx)
		emulate(t, other, v, "light")
		run(t, other, "open the link in another browser", chromedp.Navigate(a.links.URL(l)), chromedp.WaitVisible(testid("closed")))
		s = look(t, other)
		screenshot(t, other, shots, "2-another-browser-"+v.Name)
		if !strings.HasPrefix(s.ClosedText, "This link has been used.") || len(s.Rows) != 0 {
			t.Errorf("another browser sees %q and %d rows, want that the link was used and no receipt", s.ClosedText, len(s.Rows))
		}
	})
}

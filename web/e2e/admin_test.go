package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/web/links"
)

// The dashboard in a browser: an admin signs in through the real form,
// mints a link, and an uploader without a session uses it in a browser
// context of their own.

// TestAdminMintShareUploadLive signs in, mints a one-time link through the
// form, copies its URL with the copy button, and reads the URL back from
// the clipboard. A second browser context, with no session, opens that URL
// and uploads a 30 MiB generated video in 5 MiB parts, while the link page
// stays open in the first: the upload row appears there without a reload,
// its progress grows (the server holds part 3, then part 5, until the page
// has shown the bytes before it), and it ends completed. The video list
// then has the video.
func TestAdminMintShareUploadLive(t *testing.T) {
	a := newAdminApp(t)
	ctx := newBrowser(t)
	f := videoFile(t, "site-visit.mp4", 30<<20, 11)
	if got, want := f.parts(), 6; got != want {
		t.Fatalf("parts=%d, want=%d", got, want)
	}

	// 1. Sign in, mint a one-time link, copy its URL.
	signIn(t, ctx, a)
	const label = "Site visit footage"
	linkID := mintLink(t, ctx, a, label, "uploads-one")
	l, err := a.store.FindLink(t.Context(), linkID)
	if err != nil {
		t.Fatal(err)
	}
	if l.MaxUploads != 1 {
		t.Errorf("minted link takes %d uploads, want a one-time link", l.MaxUploads)
	}
	shown := get(t, ctx, "read the link's URL", chromedp.Value(testid("link-url")))
	if want := a.links.URL(l); shown != want {
		t.Errorf("link page shows URL %q, want %q", shown, want)
	}
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: name},
			Setting:    browser.PermissionSettingGranted,
			Origin:     a.URL,
		}); err != nil {
			t.Fatalf("grant %s to %s: %v", name, a.URL, err)
		}
	}
	// The button says how the copy went, for 2 s: an observer keeps what
	// it said, so that a slow test cannot miss it.
	run(t, ctx, "press Copy",
		chromedp.Evaluate[chromedp.Void](`(() => {
			const b = document.querySelector('[data-testid="copy-url"]')
			window.e2eCopySaid = []
			new MutationObserver(() => window.e2eCopySaid.push(b.textContent.trim())).observe(b, {childList: true, characterData: true, subtree: true})
		})()`),
		chromedp.Click(testid("copy-url"), chromedp.NodeVisible),
	)
	if said := waitJS[string](t, ctx, "the copy button to answer", `window.e2eCopySaid[0]`); said != "Copied" {
		t.Fatalf("the copy button said %q, want %q", said, "Copied")
	}
	copied := get(t, ctx, "read the clipboard", chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
	if copied != shown {
		t.Fatalf("clipboard=%q, want the link's URL %q", copied, shown)
	}

	// The link page, open in the first context, has no upload yet. The
	// marker on window is gone if anything reloads the page.
	run(t, ctx, "mark the link page",
		chromedp.WaitVisible(testid("no-uploads")),
		chromedp.Evaluate[chromedp.Void](`window.e2eNoReload = true`),
	)

	// 2. The uploader opens the copied URL in a context of their own:
	// the dashboard does not know them there.
	up := newTab(t, ctx)
	run(t, up, "open the dashboard as the uploader", chromedp.Navigate(a.URL+"/admin/links"))
	if got := location(t, up); !strings.HasPrefix(got, "/admin/login") {
		t.Fatalf("the uploader's context reached %s, want the sign-in page: it has a session", got)
	}
	resp := get(t, up, "open the copied URL", chromedp.NavigateResponse(copied))
	if got, want := resp.Status, int64(http.StatusOK); got != want {
		t.Fatalf("GET %s: status=%d, want=%d", copied, got, want)
	}
	h3 := a.rec.holdFrom(t, 3)
	startUpload(t, up, f)

	// 3. The row appears on the link page and its progress grows, with
	// no reload: parts 1 and 2 are stored while part 3 waits at the
	// server, then parts 3 and 4 while part 5 waits.
	waitChan(t, ctx, "part 3 to reach the server", h3.Reached)
	first := waitProgress(t, ctx, 2*chunk)
	t.Logf("while part 3 waits: %+v", first)
	if first.Value != 2*chunk || first.Max != float64(f.Size) {
		t.Errorf("progress while part 3 waits=%v of %v, want=%d of %d", first.Value, first.Max, 2*chunk, f.Size)
	}
	if first.Status != "uploading" || first.StatusText != "Uploading" || !first.Speed {
		t.Errorf("row while part 3 waits: status %q (%q), speed shown %t; want uploading, with its speed", first.Status, first.StatusText, first.Speed)
	}
	if want := "(33%)"; !strings.HasSuffix(first.Text, want) {
		t.Errorf("progress text=%q, want it to end with %q", first.Text, want)
	}
	h5 := a.rec.holdFrom(t, 5)
	h3.Release()
	waitChan(t, ctx, "part 5 to reach the server", h5.Reached)
	second := waitProgress(t, ctx, 4*chunk)
	t.Logf("while part 5 waits: %+v", second)
	if second.Value != 4*chunk || second.ID != first.ID {
		t.Errorf("progress while part 5 waits=%v in row %s, want=%d in row %s", second.Value, second.ID, 4*chunk, first.ID)
	}
	h5.Release()

	checkReceipt(t, waitReceipt(t, up), f)
	videoID := checkStored(t, a.app, l, f)
	done := waitJS[uploadRowView](t, ctx, "the row to show the upload completed",
		`(() => { const r = `+progressJS+`; return r && r.status === 'completed' && r })()`)
	t.Logf("completed: %+v", done)
	if done.Rows != 1 || done.ID != first.ID || done.Value != float64(f.Size) || done.StatusText != "Completed" || !strings.HasSuffix(done.Text, "(100%)") || done.Speed {
		t.Errorf("completed row=%+v, want the one row, %d bytes, Completed, 100%%, no speed", done, f.Size)
	}
	// The timeline caught up too, newest first.
	if want := []string{store.EventCompleted, store.EventStarted, store.EventOpened}; !slices.Equal(done.Events, want) {
		t.Errorf("timeline=%v, want=%v", done.Events, want)
	}
	if href := get(t, ctx, "read the row's video link", chromedp.AttributeValue(row("upload-video"), "href")); href.Value != "/admin/videos/"+videoID {
		t.Errorf("the completed row links to %q, want /admin/videos/%s", href.Value, videoID)
	}
	if kept := get(t, ctx, "read the marker", chromedp.Evaluate[bool](`window.e2eNoReload === true`)); !kept {
		t.Errorf("the link page was reloaded; it must update in place")
	}
	checkEachPartOnce(t, a.rec, f.parts())

	// Then the video list has it, with its link.
	run(t, ctx, "open the video list", chromedp.Navigate(a.URL+"/admin/videos"))
	sel := fmt.Sprintf(`[data-testid="video-row"][data-video-id=%q]`, videoID)
	title := get(t, ctx, "read the video's title", chromedp.Text(chromedp.CSS(sel+` [data-testid="video-title"]`)))
	linkCell := get(t, ctx, "read the video's link", chromedp.Text(chromedp.CSS(sel+` [data-testid="video-link"]`)))
	status := get(t, ctx, "read the video's status", chromedp.Text(chromedp.CSS(sel+` [data-testid="video-status"]`)))
	if title != f.Name || linkCell != label || !strings.Contains(status, "Uploaded") {
		t.Errorf("video row: title %q, link %q, status %q; want %q, %q, Uploaded", title, linkCell, status, f.Name, label)
	}
}

// TestAdminPlayEditRevoke signs in, mints a link for any number of
// uploads, and has a second browser context upload a real VP9/Opus WebM
// through it. The admin finds the video in the list, plays it (the
// <video> element reaches readyState >= 2 and its time advances), changes
// its title through the form (the page and the API show the new one),
// then revokes the link, accepting the confirmation: the public page now
// refuses the uploader with 410 "This link was revoked".
func TestAdminPlayEditRevoke(t *testing.T) {
	a := newAdminApp(t)
	ctx := newBrowser(t)
	f := realFile(t, "vp9-opus.webm")

	signIn(t, ctx, a)
	linkID := mintLink(t, ctx, a, "Playback check", "uploads-unlimited")
	l, err := a.store.FindLink(t.Context(), linkID)
	if err != nil {
		t.Fatal(err)
	}
	linkURL := get(t, ctx, "read the link's URL", chromedp.Value(testid("link-url")))

	up := newTab(t, ctx)
	run(t, up, "open the link", chromedp.Navigate(linkURL))
	startUpload(t, up, f)
	checkReceipt(t, waitReceipt(t, up), f)
	videoID := checkStored(t, a.app, l, f)

	// 4. Play it.
	run(t, ctx, "open the video list", chromedp.Navigate(a.URL+"/admin/videos"))
	sel := fmt.Sprintf(`[data-testid="video-row"][data-video-id=%q] [data-testid="video-title"]`, videoID)
	resp := clickAndWait(t, ctx, "open the video from the list", chromedp.CSS(sel))
	if got, want := resp.Status, int64(http.StatusOK); got != want {
		t.Fatalf("video page: status=%d, want=%d", got, want)
	}
	if got, want := location(t, ctx), "/admin/videos/"+videoID; got != want {
		t.Fatalf("location=%q, want=%q", got, want)
	}
	played := get(t, ctx, "play the video", chromedp.Evaluate[string](
		`document.querySelector('[data-testid="video-player"]').play().then(() => 'playing', e => e.name + ': ' + e.message)`,
		chromedp.EvalAwaitPromise, userGesture))
	if played != "playing" {
		t.Fatalf("play()=%q, want it to start", played)
	}
	type media struct {
		ReadyState  int     `json:"readyState"`
		CurrentTime float64 `json:"currentTime"`
		Width       int     `json:"width"`
		Error       string  `json:"error"`
	}
	m := waitJS[media](t, ctx, "the video to play",
		`(() => { const v = document.querySelector('[data-testid="video-player"]')
			const m = {readyState: v.readyState, currentTime: v.currentTime, width: v.videoWidth, error: v.error ? String(v.error.code) + ' ' + v.error.message : ''}
			return (m.error || m.readyState >= 2 && m.currentTime > 0) && m })()`)
	t.Logf("player: %+v", m)
	if m.Error != "" || m.ReadyState < 2 || m.Width != 320 {
		t.Errorf("player=%+v, want readyState >= 2, no error, 320 px wide", m)
	}

	// 5. Edit its title.
	const newTitle = "Test pattern, 3 s (edited)"
	run(t, ctx, "type the new title",
		chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid="video-player"]').pause()`),
		chromedp.Clear(testid("title")),
		chromedp.SendKeys(testid("title"), newTitle),
	)
	resp = clickAndWait(t, ctx, "save the title", testid("save"))
	if got, want := resp.Status, int64(http.StatusOK); got != want {
		t.Fatalf("save: status=%d, want=%d", got, want)
	}
	if got, want := location(t, ctx), "/admin/videos/"+videoID+"?done=video-saved"; got != want {
		t.Errorf("after saving: location=%q, want=%q", got, want)
	}
	if got := get(t, ctx, "read the heading", chromedp.Text(testid("video-heading"))); got != newTitle {
		t.Errorf("heading=%q, want=%q", got, newTitle)
	}
	if got := get(t, ctx, "read the title field", chromedp.Value(testid("title"))); got != newTitle {
		t.Errorf("title field=%q, want=%q", got, newTitle)
	}
	if got := get(t, ctx, "read the page title", chromedp.Title()); !strings.HasPrefix(got, newTitle) {
		t.Errorf("<title>=%q, want it to start with %q", got, newTitle)
	}
	if got, want := get(t, ctx, "read the notice", chromedp.Text(testid("flash"))), "The video's details were saved."; got != want {
		t.Errorf("notice=%q, want=%q", got, want)
	}
	var v apiVideo
	if status := callAPI(t, a, http.MethodGet, "/videos/"+videoID, "", &v); status != http.StatusOK || v.VideoID != videoID || v.Title != newTitle {
		t.Errorf("GET /videos/%s: %d %+v; want 200 with title %q", videoID, status, v, newTitle)
	}

	// 6. Revoke the link, accepting the confirmation.
	dialogs := acceptDialogs(t, ctx)
	run(t, ctx, "open the link page", chromedp.Navigate(a.URL+"/admin/links/"+linkID))
	if got := get(t, ctx, "read the link's state", chromedp.AttributeValue(chromedp.CSS(`#link-state [data-testid="link-status"]`), "data-state")); got.Value != "active" {
		t.Fatalf("link state before revoking=%q, want active", got.Value)
	}
	resp = clickAndWait(t, ctx, "revoke the link", testid("revoke"))
	if got, want := resp.Status, int64(http.StatusOK); got != want {
		t.Fatalf("revoke: status=%d, want=%d", got, want)
	}
	if got := dialogs(); !slices.Equal(got, []page.DialogType{page.DialogTypeConfirm}) {
		t.Errorf("dialogs=%v, want one %s", got, page.DialogTypeConfirm)
	}
	if got, want := location(t, ctx), "/admin/links/"+linkID+"?done=link-revoked"; got != want {
		t.Errorf("after revoking: location=%q, want=%q", got, want)
	}
	if got := get(t, ctx, "read the link's state", chromedp.AttributeValue(chromedp.CSS(`#link-state [data-testid="link-status"]`), "data-state")); got.Value != "revoked" {
		t.Errorf("link state after revoking=%q, want revoked", got.Value)
	}
	if n := get(t, ctx, "count revoke buttons", chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="revoke"]').length`)); n != 0 {
		t.Errorf("a revoked link's page has %d revoke buttons, want none", n)
	}

	// The uploader's context opens the link again: refused.
	resp = get(t, up, "open the revoked link", chromedp.NavigateResponse(linkURL))
	if got, want := resp.Status, int64(http.StatusGone); got != want {
		t.Errorf("GET %s: status=%d, want=%d", linkURL, got, want)
	}
	if got, want := get(t, up, "read the heading", chromedp.Text(testid("unavailable-heading"))), "This link was revoked"; !strings.Contains(got, want) {
		t.Errorf("heading=%q, want it to contain %q", got, want)
	}
	if n := get(t, up, "count file inputs", chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="file-input"]').length`)); n != 0 {
		t.Errorf("the revoked link's page has %d file inputs, want none", n)
	}
}

// shotPage is a dashboard page to take screenshots of.
type shotPage struct {
	name  string
	path  string
	title string // the <title>, less " · uplink"
	// ready is a JavaScript expression that is truthy once the page
	// shows what the screenshot is for.
	ready string
}

// TestAdminScreenshots takes full-page screenshots of the dashboard's main
// pages at a desktop width and a phone width (390x844), each in light and
// dark (emulated prefers-color-scheme), for a person to look at: the
// sign-in page, the links list, the mint form, a link page with a
// completed upload, the videos list, a video page with its player on a
// frame, the API keys and the upload tokens. On each it checks the
// <title>, that the colour scheme took effect, and that at phone width the
// page does not scroll sideways.
func TestAdminScreenshots(t *testing.T) {
	a := newAdminApp(t)
	ctx := newBrowser(t)
	dir := artifactsDir(t)
	t.Logf("screenshots in %s", dir)
	schemes := []string{"light", "dark"}

	login := shotPage{name: "sign-in", path: "/admin/login", title: "Sign in", ready: `document.querySelector('[data-testid="login-email"]')`}
	for _, v := range viewports {
		for _, scheme := range schemes {
			emulate(t, ctx, v, scheme)
			shoot(t, ctx, a, dir, 1, login, v, scheme)
		}
	}

	// Something to show: links in three states, one with an upload of a
	// real video, and an API key.
	signIn(t, ctx, a)
	l := a.link(t, links.Spec{
		Label: "Wedding footage from Sam", Message: "Hi Sam, the raw files are fine. Thank you!",
		MaxUploads: 3, MaxSize: 2 << 30, EmbedOrigins: []string{"https://www.example.com"},
	})
	a.link(t, links.Spec{Label: "Conference talk recording", MaxUploads: 1})
	old := a.link(t, links.Spec{Label: "Old drone shots"})
	if _, err := a.links.Revoke(t.Context(), old.ID); err != nil {
		t.Fatal(err)
	}
	f := realFile(t, "vp9-opus.webm")
	up := newTab(t, ctx)
	run(t, up, "open the link", chromedp.Navigate(a.links.URL(l)))
	startUpload(t, up, f)
	checkReceipt(t, waitReceipt(t, up), f)
	videoID := checkStored(t, a.app, l, f)

	// A token made through the API, which belongs to no link.
	var token struct {
		Token string `json:"token"`
	}
	if status := callAPI(t, a, http.MethodPost, "/upload-tokens", `{"ttl": 86400}`, &token); status != http.StatusOK || token.Token == "" {
		t.Fatalf("POST /upload-tokens: %d %+v", status, token)
	}

	run(t, ctx, "create an API key",
		chromedp.Navigate(a.URL+"/admin/keys"),
		chromedp.SendKeys(testid("key-name"), "Editing suite"),
	)
	clickAndWait(t, ctx, "create the API key", testid("create-key"))
	if secret := get(t, ctx, "read the new key", chromedp.Value(testid("key-secret"), chromedp.NodeVisible)); len(secret) < 16 {
		t.Errorf("new API key=%q, want a secret", secret)
	}

	pages := []shotPage{
		{name: "links", path: "/admin/links", title: "Links", ready: `document.querySelectorAll('[data-testid="link-row"]').length === 3`},
		{name: "mint-form", path: "/admin/links/new", title: "New link", ready: `document.querySelector('[data-testid="create-link"]')`},
		{name: "link", path: "/admin/links/" + l.ID, title: l.Label, ready: `(() => {
			const qr = document.querySelector('[data-testid="qr"]')
			return qr.complete && qr.naturalWidth > 0 && document.querySelector('[data-testid="upload-row"][data-status="completed"]')
		})()`},
		{name: "videos", path: "/admin/videos", title: "Videos", ready: `document.querySelector('[data-testid="video-row"]')`},
		// The player seeks into the video, so that it shows a frame.
		{name: "video", path: "/admin/videos/" + videoID, title: f.Name, ready: `(() => {
			const v = document.querySelector('[data-testid="video-player"]')
			if (v.readyState >= 1 && v.currentTime === 0 && !v.seeking) v.currentTime = 1.5
			return v.currentTime > 0 && !v.seeking && v.readyState >= 2
		})()`},
		{name: "api-keys", path: "/admin/keys", title: "API keys", ready: `document.querySelector('[data-testid="key-row"]')`},
		{name: "tokens", path: "/admin/tokens", title: "Upload tokens", ready: `document.querySelectorAll('[data-testid="token-row"]').length === 1 &&
			document.querySelector('[data-testid="token-row"][data-token-id="` + token.Token + `"] [data-testid="token-link"]').textContent.trim() === 'API'`},
	}
	for _, v := range viewports {
		for _, scheme := range schemes {
			emulate(t, ctx, v, scheme)
			for i, p := range pages {
				shoot(t, ctx, a, dir, i+2, p, v, scheme)
			}
		}
	}
}

// shoot opens a page in the current emulation, waits until it is ready,
// checks it and saves its screenshot as <n>-<page>-<viewport>-<scheme>.png.
func shoot(t *testing.T, ctx context.Context, a *adminApp, dir string, n int, p shotPage, v viewport, scheme string) {
	t.Helper()
	name := fmt.Sprintf("%d-%s-%s-%s", n, p.name, v.Name, scheme)
	resp := get(t, ctx, "open "+p.path, chromedp.NavigateResponse(a.URL+p.path))
	if resp.Status != http.StatusOK {
		t.Errorf("%s: GET %s: status=%d, want=%d", name, p.path, resp.Status, http.StatusOK)
	}
	waitJS[bool](t, ctx, name+" to be ready", `!!(`+p.ready+`)`)
	got := get(t, ctx, "check "+name, chromedp.Evaluate[pageLook](pageLookJS))
	if want := p.title + " · uplink"; got.Title != want {
		t.Errorf("%s: <title>=%q, want=%q", name, got.Title, want)
	}
	if dark := got.Luminance < 0.5; dark != (scheme == "dark") {
		t.Errorf("%s: background %s (luminance %.2f) does not look %s", name, got.Background, got.Luminance, scheme)
	}
	if got.ScrollWidth > got.InnerWidth {
		t.Errorf("%s: the page is %d px wide in a %d px window: it scrolls sideways", name, got.ScrollWidth, got.InnerWidth)
	}
	screenshot(t, ctx, dir, name)
}

// pageLook is what pageLookJS reports about a page.
type pageLook struct {
	Title       string  `json:"title"`
	Background  string  `json:"background"`
	Luminance   float64 `json:"luminance"`
	ScrollWidth int     `json:"scrollWidth"`
	InnerWidth  int     `json:"innerWidth"`
}

const pageLookJS = `(() => {
	const bg = getComputedStyle(document.body).backgroundColor
	const [r, g, b] = bg.match(/[\d.]+/g).map(Number)
	return {
		title: document.title,
		background: bg,
		luminance: (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255,
		scrollWidth: document.documentElement.scrollWidth,
		innerWidth: window.innerWidth,
	}
})()`

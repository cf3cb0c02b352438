package e2e_test

// Browser tests of what users of file-request tools ask for (issue 13):
// personalised links made in bulk, and the install's branding on the
// upload page and the embed.

import (
	"bytes"
	"encoding/csv"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/uplink-video/uplink/web/links"
)

// TestBulkLinks makes links for three people from the dashboard: the
// batch's table shows one distinct URL per person, and its CSV, saved by
// the browser, holds the same.
func TestBulkLinks(t *testing.T) {
	t.Parallel()
	a := newAdminApp(t)
	ctx := newBrowser(t)
	signIn(t, ctx, a)
	run(t, ctx, "fill the bulk form",
		chromedp.Navigate(a.URL+"/admin/links"),
		chromedp.WaitVisible(testid("bulk-links")),
		chromedp.Click(testid("bulk-links")),
		chromedp.WaitVisible(testid("bulk-recipients")),
		chromedp.SendKeys(testid("bulk-label"), "Wedding"),
		chromedp.SendKeys(testid("bulk-recipients"), "Ann Lee, ann@example.com\n\"Doe, Jane\"\nBo, bo@example.com"),
	)
	clickAndWait(t, ctx, "make the links", testid("bulk-create"))
	if loc := location(t, ctx); !strings.HasPrefix(loc, "/admin/batches/") {
		t.Fatalf("after making the links the browser is at %s, want the batch's table", loc)
	}
	shown := get(t, ctx, "read the table", chromedp.Evaluate[[][]string](`[...document.querySelectorAll('[data-testid="batch-row"]')].map(r => [
		r.querySelector('[data-testid="batch-name"]').textContent.trim(),
		r.querySelector('[data-testid="batch-email"]').textContent.trim(),
		r.querySelector('[data-testid="batch-url"]').value])`))
	if len(shown) != 3 || shown[0][0] != "Ann Lee" || shown[0][1] != "ann@example.com" || shown[1][0] != "Doe, Jane" || shown[1][1] != "" {
		t.Fatalf("table = %q", shown)
	}
	seen := map[string]bool{}
	for _, r := range shown {
		if !strings.HasPrefix(r[2], a.URL+"/u/") || seen[r[2]] {
			t.Errorf("URL %q is not a distinct public link", r[2])
		}
		seen[r[2]] = true
	}
	// On a phone, each row is a card and nothing scrolls sideways.
	emulate(t, ctx, viewports[1], "light")
	if wide := get(t, ctx, "measure the page", chromedp.Evaluate[bool](`document.documentElement.scrollWidth > document.documentElement.clientWidth`)); wide {
		t.Error("the batch's table scrolls sideways at 390 px")
	}
	emulate(t, ctx, viewports[0], "light")
	// Each URL opens its person's one-time upload page.
	tab := newTab(t, ctx)
	run(t, tab, "open Jane's link", chromedp.Navigate(shown[1][2]), chromedp.WaitVisible(testid("label")))
	if got := get(t, tab, "read the heading", chromedp.Text(testid("label"))); got != "Wedding: Doe, Jane" {
		t.Errorf("Jane's page is headed %q", got)
	}

	dir := t.TempDir()
	events := true
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir, EventsEnabled: &events,
	}); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "download the CSV", chromedp.Click(testid("download-csv")))
	var saved []byte
	waitUntil(t, ctx, "the CSV in the download folder", func() bool {
		m, _ := filepath.Glob(filepath.Join(dir, "uplink-links-*.csv"))
		if len(m) != 1 {
			return false
		}
		saved, _ = os.ReadFile(m[0])
		return len(saved) > 0
	})
	records, err := csv.NewReader(bytes.NewReader(saved)).ReadAll()
	if err != nil {
		t.Fatalf("the CSV does not parse: %v\n%s", err, saved)
	}
	if len(records) != 4 || strings.Join(records[0], ",") != "name,email,url,expires,link_id" {
		t.Fatalf("CSV = %q", records)
	}
	for i, r := range records[1:] {
		if r[0] != shown[i][0] || r[1] != shown[i][1] || r[2] != shown[i][2] {
			t.Errorf("CSV row %d = %q, the table shows %q", i+1, r, shown[i])
		}
	}
}

// TestBranding sets an accent colour and a logo in the dashboard; a
// recipient sees both on the upload page and in the embed.
func TestBranding(t *testing.T) {
	t.Parallel()
	a := newAdminApp(t)
	l := a.link(t, links.Spec{Label: "Clips", MaxUploads: 1, EmbedOrigins: []string{"*"}})
	img := image.NewRGBA(image.Rect(0, 0, 160, 40))
	for x := range 160 {
		for y := range 40 {
			img.Set(x, y, color.RGBA{138, 28, 124, 255})
		}
	}
	logo := filepath.Join(t.TempDir(), "logo.png")
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(logo, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx := newBrowser(t)
	signIn(t, ctx, a)
	run(t, ctx, "set the colour",
		chromedp.Navigate(a.URL+"/admin/branding"),
		chromedp.WaitVisible(testid("brand-accent")),
		chromedp.SendKeys(testid("brand-accent"), "#8a1c7c"),
	)
	clickAndWait(t, ctx, "save the colour", testid("brand-save-accent"))
	run(t, ctx, "choose the logo", chromedp.SetUploadFiles(testid("brand-logo-file"), []string{logo}))
	clickAndWait(t, ctx, "upload the logo", testid("brand-save-logo"))
	if got := get(t, ctx, "read the notice", chromedp.Text(testid("flash"))); !strings.Contains(got, "branding was saved") {
		t.Errorf("after the upload the page says %q", got)
	}
	waitJS[bool](t, ctx, "the logo's preview", `(() => { const i = document.querySelector('[data-testid="brand-logo-preview"]'); return i && i.complete && i.naturalWidth === 160 })()`)

	tab := newTab(t, ctx) // A recipient, without the admin's session.
	for _, path := range []string{"/u/" + l.ID, "/embed/" + l.ID} {
		run(t, tab, "open "+path, chromedp.Navigate(a.URL+path), chromedp.WaitVisible(testid("drop-zone")))
		waitJS[bool](t, tab, "the logo on "+path, `(() => { const i = document.querySelector('[data-testid="brand-logo"]'); return i && i.complete && i.naturalWidth === 160 && i.getBoundingClientRect().height > 0 })()`)
		got := get(t, tab, "read the accent", chromedp.Evaluate[string](`getComputedStyle(document.querySelector('.dz-main')).color`))
		if got != "rgb(138, 28, 124)" {
			t.Errorf("%s: the drop zone's text is %s, want the accent rgb(138, 28, 124)", path, got)
		}
	}
}

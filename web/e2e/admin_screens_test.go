package e2e_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/web/links"
)

// The dashboard as a person sees it at desktop and phone widths: the
// sign-in page looks like the rest, and no screen scrolls sideways on a
// phone (issue 13, the admin).

// TestAdminSignInStyled opens the sign-in page at both widths: its inputs
// and button have the dashboard's look, not the browser's, and a wrong
// password shows the dashboard's error component (the bordered summary),
// not plain text.
func TestAdminSignInStyled(t *testing.T) {
	a := newAdminApp(t)
	ctx := newBrowser(t)
	for _, v := range viewports {
		emulate(t, ctx, v, "light")
		run(t, ctx, "open the sign-in page",
			chromedp.Navigate(a.URL+"/admin/login"),
			chromedp.WaitVisible(testid("login-email")),
			chromedp.SendKeys(testid("login-email"), a.Email),
			chromedp.SendKeys(testid("login-password"), "not the password"),
		)
		look := get(t, ctx, "read the form's look", chromedp.Evaluate[map[string]string](`(() => {
			const b = getComputedStyle(document.querySelector('[data-testid="login-submit"]'))
			const i = getComputedStyle(document.querySelector('[data-testid="login-email"]'))
			return {button: b.backgroundColor, radius: i.borderTopLeftRadius, inputWidth: i.width}
		})()`))
		// The accent of app.css, #0b57d0, in light mode.
		if got, want := look["button"], "rgb(11, 87, 208)"; got != want {
			t.Errorf("%s: sign-in button background=%s, want the accent %s", v.Name, got, want)
		}
		if got, want := look["radius"], "6px"; got != want {
			t.Errorf("%s: input corner radius=%s, want the dashboard's %s", v.Name, got, want)
		}
		clickAndWait(t, ctx, "sign in with a wrong password", testid("login-submit"))
		got := get(t, ctx, "read the error", chromedp.Evaluate[map[string]string](`(() => {
			const e = document.querySelector('[data-testid="login-error"]')
			const s = getComputedStyle(e)
			return {text: e.innerText.trim(), className: e.className, border: s.borderTopWidth + ' ' + s.borderTopStyle,
				scroll: String(document.scrollingElement.scrollWidth <= innerWidth)}
		})()`))
		if got["text"] != "Wrong email or password." || got["className"] != "error-summary" || got["border"] != "2px solid" {
			t.Errorf("%s: the error shows as %+v, want the error summary saying the email or password is wrong", v.Name, got)
		}
		if got["scroll"] != "true" {
			t.Errorf("%s: the sign-in page scrolls sideways", v.Name)
		}
	}
}

// phoneFit reports, for the page in the tab, whether it scrolls sideways
// and which visible elements of its tables reach past the window's right
// edge (a cut column).
const phoneFitJS = `(() => {
	const cut = []
	for (const el of document.querySelectorAll('main table, main table *')) {
		const r = el.getBoundingClientRect()
		if (r.width > 0 && r.right > innerWidth + 0.5) cut.push(el.tagName + (el.dataset.testid ? '[' + el.dataset.testid + ']' : '') + ' ' + Math.round(r.right))
	}
	return {scrollWidth: document.scrollingElement.scrollWidth, innerWidth: innerWidth, cut: cut.slice(0, 5),
		tables: document.querySelectorAll('main table').length}
})()`

type phoneFit struct {
	ScrollWidth int      `json:"scrollWidth"`
	InnerWidth  int      `json:"innerWidth"`
	Cut         []string `json:"cut"`
	Tables      int      `json:"tables"`
}

// TestAdminPhoneScreensFit fills every list of the dashboard (links,
// videos, API keys, upload tokens, webhooks) and opens each at 390×844:
// none scrolls sideways and no table cell reaches past the screen's edge,
// because every table turns into one card per row. At 1280×800 the same
// screens are tables with their header row. A link's page folds its
// settings and timeline away on both: they open with a tap on their
// heading.
func TestAdminPhoneScreensFit(t *testing.T) {
	a := newAdminApp(t)
	ctx := newBrowser(t)
	signIn(t, ctx, a)
	l := a.link(t, links.Spec{
		Label: "A label long enough to need wrapping on a phone screen, with more words", MaxUploads: 3,
		EmbedOrigins: []string{"https://www.example.com"},
	})
	var video apiVideo
	if status := callAPI(t, a, http.MethodPost, "/videos", `{"title": "Interview_with_a_very_long_file_name_2026-12-03_take_4.mp4"}`, &video); status != http.StatusCreated {
		t.Fatalf("POST /videos: %d", status)
	}
	var token struct{ Token string }
	if status := callAPI(t, a, http.MethodPost, "/upload-tokens", `{"ttl": 86400}`, &token); status != http.StatusOK {
		t.Fatalf("POST /upload-tokens: %d", status)
	}
	if _, _, err := a.store.CreateAPIKey(t.Context(), "Editing suite in the north building"); err != nil {
		t.Fatal(err)
	}
	w, err := a.store.CreateWebhookEndpoint(t.Context(), store.WebhookEndpointCreate{
		URL: "https://hooks.example.com/a/rather/long/path/for/uplink/events", Secret: "0123456789abcdef0123456789abcdef", Events: []string{"video.source.recorded"},
	})
	if err != nil {
		t.Fatal(err)
	}
	pages := []string{"/admin/links", "/admin/videos", "/admin/keys", "/admin/tokens", "/admin/webhooks", "/admin/webhooks/" + w.ID, "/admin/links/" + l.ID}
	for _, v := range viewports {
		emulate(t, ctx, v, "light")
		for _, p := range pages {
			run(t, ctx, "open "+p, chromedp.Navigate(a.URL+p), chromedp.WaitReady("main"))
			fit := get(t, ctx, "measure "+p, chromedp.Evaluate[phoneFit](phoneFitJS))
			if fit.ScrollWidth > fit.InnerWidth {
				t.Errorf("%s %s: the page is %d px wide in a %d px window", v.Name, p, fit.ScrollWidth, fit.InnerWidth)
			}
			if len(fit.Cut) > 0 {
				t.Errorf("%s %s: table parts past the right edge: %v", v.Name, p, fit.Cut)
			}
			headers := get(t, ctx, "read the header row", chromedp.Evaluate[bool](`(() => {
				const h = document.querySelector('main table thead')
				return !!h && h.getBoundingClientRect().height > 2
			})()`))
			if wantHeaders := !v.Mobile && fit.Tables > 0; headers != wantHeaders {
				t.Errorf("%s %s: table header row shown=%v, want=%v", v.Name, p, headers, wantHeaders)
			}
		}
		// The link's page: settings and timeline folded, opened on a tap.
		run(t, ctx, "open the link", chromedp.Navigate(a.URL+"/admin/links/"+l.ID), chromedp.WaitReady(testid("settings-disclosure")))
		if visible := get(t, ctx, "read the settings", chromedp.Evaluate[bool](`document.querySelector('[data-testid="settings"]').checkVisibility()`)); visible {
			t.Errorf("%s: the settings show before their heading is tapped", v.Name)
		}
		run(t, ctx, "open the settings", chromedp.Click(`#settings-heading`, chromedp.NodeVisible))
		if visible := get(t, ctx, "read the settings", chromedp.Evaluate[bool](`document.querySelector('[data-testid="settings"]').checkVisibility()`)); !visible {
			t.Errorf("%s: the settings stay hidden after a tap on their heading", v.Name)
		}
		run(t, ctx, "open the timeline", chromedp.Click(`#timeline-heading`, chromedp.NodeVisible))
		if visible := get(t, ctx, "read the timeline", chromedp.Evaluate[bool](`document.querySelector('#link-timeline-section').checkVisibility()`)); !visible {
			t.Errorf("%s: the timeline stays hidden after a tap on its heading", v.Name)
		}
	}
}

// TestAdminTimesLocal opens the dashboard in a browser set to Tokyo's time
// zone: every absolute time shows in the one layout, in that zone, with the
// zone named, and a 7-day link made a second before the page is read
// closes "in 7 days".
func TestAdminTimesLocal(t *testing.T) {
	a := newAdminApp(t)
	ctx := newBrowser(t)
	signIn(t, ctx, a)
	l := a.link(t, links.Spec{Label: "A week", TTL: 7 * 24 * time.Hour})
	a.clock.Advance(time.Second)
	if _, _, err := a.store.CreateAPIKey(t.Context(), "Editing suite"); err != nil {
		t.Fatal(err)
	}
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	run(t, ctx, "set the zone", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Tokyo"})
		return err
	}))
	run(t, ctx, "open the links", chromedp.Navigate(a.URL+"/admin/links"), chromedp.WaitReady(testid("link-row")))
	if got := strings.TrimSpace(get(t, ctx, "read the expiry", chromedp.Text(`[data-testid="link-expires"] time`))); got != "in 7 days" {
		t.Errorf("a 7-day link a second old expires %q, want %q", got, "in 7 days")
	}
	run(t, ctx, "open the keys", chromedp.Navigate(a.URL+"/admin/keys"), chromedp.WaitReady(testid("key-row")))
	created := get(t, ctx, "read when the key was made", chromedp.Evaluate[string](`document.querySelector('[data-testid="key-row"] time').textContent`))
	want := a.clock.Now().In(tokyo).Format("2 Jan 2006, 15:04") + " "
	if !strings.HasPrefix(created, want) || strings.HasSuffix(created, "UTC") {
		t.Errorf("the key was made at %q, want %q and Tokyo's zone", created, want+"…")
	}
	run(t, ctx, "open the link", chromedp.Navigate(a.URL+"/admin/links/"+l.ID), chromedp.WaitReady(testid("settings")))
	for _, term := range []string{"Created", "Expires"} {
		v := get(t, ctx, "read the settings", chromedp.Evaluate[string](`[...document.querySelectorAll('[data-testid="settings"] div')].find(d => d.querySelector('dt').textContent === '`+term+`').querySelector('dd').textContent`))
		if !strings.Contains(v, l.CreatedAt.In(tokyo).Format("2006")) || strings.Contains(v, "UTC") {
			t.Errorf("settings %s=%q, want a time in Tokyo's zone", term, v)
		}
	}
}

// TestAdminKeyCreateReloadMakesNoSecondKey creates an API key through the
// form and reloads the page the browser lands on: the secret showed once,
// the reload shows no secret and still one key, and the store has one.
func TestAdminKeyCreateReloadMakesNoSecondKey(t *testing.T) {
	a := newAdminApp(t)
	ctx := newBrowser(t)
	signIn(t, ctx, a)
	run(t, ctx, "fill the key form",
		chromedp.Navigate(a.URL+"/admin/keys"),
		chromedp.SendKeys(testid("key-name"), "Editing suite"),
	)
	clickAndWait(t, ctx, "create the key", testid("create-key"))
	if secret := get(t, ctx, "read the new key", chromedp.Value(testid("key-secret"), chromedp.NodeVisible)); len(secret) < 16 {
		t.Errorf("new API key=%q, want a secret", secret)
	}
	if got := location(t, ctx); got != "/admin/keys" {
		t.Errorf("after creating a key the browser is at %q, want /admin/keys", got)
	}
	run(t, ctx, "reload", chromedp.Reload(), chromedp.WaitReady(testid("key-row")))
	seen := get(t, ctx, "read the page", chromedp.Evaluate[[]int](`[document.querySelectorAll('[data-testid="key-secret"]').length, document.querySelectorAll('[data-testid="key-row"]').length]`))
	if seen[0] != 0 || seen[1] != 1 {
		t.Errorf("after a reload: %d secrets and %d keys shown, want 0 and 1", seen[0], seen[1])
	}
	keys, err := a.store.ListAPIKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 {
		t.Errorf("keys in the store=%d, want 1", len(keys))
	}
}

// TestAdminClosedLinkOffersDuplicate opens a revoked link's page at both
// widths: no Share block, the reason it is closed, and a Duplicate button
// that opens the mint form filled in, labelled "… (copy)".
func TestAdminClosedLinkOffersDuplicate(t *testing.T) {
	a := newAdminApp(t)
	ctx := newBrowser(t)
	signIn(t, ctx, a)
	l := a.link(t, links.Spec{Label: "Old drone shots", MaxUploads: 3})
	if _, err := a.links.Revoke(t.Context(), l.ID); err != nil {
		t.Fatal(err)
	}
	for _, v := range viewports {
		emulate(t, ctx, v, "light")
		run(t, ctx, "open the revoked link", chromedp.Navigate(a.URL+"/admin/links/"+l.ID), chromedp.WaitVisible(testid("closed-reason")))
		seen := get(t, ctx, "read the page", chromedp.Evaluate[map[string]any](`({
			share: !!document.querySelector('[data-testid="link-url"], [data-testid="qr"]'),
			reason: document.querySelector('[data-testid="closed-reason"]').innerText,
			fits: document.scrollingElement.scrollWidth <= innerWidth,
		})`))
		if seen["share"] != false || !strings.HasPrefix(seen["reason"].(string), "It was revoked on ") || seen["fits"] != true {
			t.Errorf("%s: the revoked link's page shows %v", v.Name, seen)
		}
		clickAndWait(t, ctx, "press Duplicate", testid("closed-duplicate"))
		if got := get(t, ctx, "read the label", chromedp.Value(testid("label"))); got != l.Label+" (copy)" {
			t.Errorf("%s: the form's label=%q, want %q", v.Name, got, l.Label+" (copy)")
		}
	}
}

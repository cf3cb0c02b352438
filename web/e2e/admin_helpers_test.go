package e2e_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/uplink-video/uplink/web"
	"github.com/uplink-video/uplink/web/account"
	"github.com/uplink-video/uplink/web/webtest"
)

// Helpers of the dashboard's browser tests (admin_test.go). They build on
// helpers_test.go and change nothing in it.

// adminApp is the application of newApp with an admin account and an API
// key that the API accepts.
type adminApp struct {
	*app
	Email, Password string
	// APIKey is web.Deps.ExtraAPIKey: the tests read the API with it.
	APIKey string
}

// newAdminApp serves the application as newApp does, changed by opts,
// with an API key (web.Deps.ExtraAPIKey) and an admin account made with
// account.Create, as "uplink admin create" makes one.
func newAdminApp(t *testing.T, opts ...webtest.Option) *adminApp {
	t.Helper()
	const apiKey = "e2e-admin-test-api-key-0123456789"
	a := &adminApp{
		app:   newApp(t, append([]webtest.Option{webtest.WithDeps(func(d *web.Deps) { d.ExtraAPIKey = apiKey })}, opts...)...),
		Email: "admin@example.com", Password: "correct horse battery staple", APIKey: apiKey,
	}
	if _, _, err := account.Create(context.Background(), a.store, a.Email, a.Password); err != nil {
		t.Fatalf("create the admin: %v", err)
	}
	return a
}

// realFile is a real, playable media file from testdata.
func realFile(t *testing.T, name string) testFile {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return testFile{Path: p, Name: name, Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:]), data: b}
}

// location returns the path and query of the tab's location.
func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	loc := get(t, ctx, "read the location", chromedp.Location())
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("location %q: %v", loc, err)
	}
	return u.RequestURI()
}

// clickAndWait clicks a button or link that loads a page, and waits for
// that page, whose response it returns. Dialogs on the way (confirm())
// must be handled by the caller.
func clickAndWait(t *testing.T, ctx context.Context, what string, button chromedp.CSS) *network.Response {
	t.Helper()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(button, chromedp.NodeVisible))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return resp
}

// signIn signs the admin in through the sign-in form and waits for the
// dashboard.
func signIn(t *testing.T, ctx context.Context, a *adminApp) {
	t.Helper()
	run(t, ctx, "open the sign-in page",
		chromedp.Navigate(a.URL+"/admin/login"),
		chromedp.WaitVisible(testid("login-email")),
		chromedp.SendKeys(testid("login-email"), a.Email),
		chromedp.SendKeys(testid("login-password"), a.Password),
	)
	resp := clickAndWait(t, ctx, "sign in", testid("login-submit"))
	if got, want := resp.Status, int64(http.StatusOK); got != want {
		t.Fatalf("sign in: status=%d, want=%d", got, want)
	}
	if got := get(t, ctx, "read the signed-in admin", chromedp.Text(testid("admin-email"))); got != a.Email {
		t.Fatalf("signed in as %q, want %q", got, a.Email)
	}
}

// mintLink fills the mint form with a label, chooses the uploads option
// (data-testid "uploads-one", "uploads-unlimited", ...), creates the link
// and returns its ID, read from the link page it lands on.
func mintLink(t *testing.T, ctx context.Context, a *adminApp, label, uploads string) string {
	t.Helper()
	run(t, ctx, "open the mint form",
		chromedp.Navigate(a.URL+"/admin/links/new"),
		chromedp.WaitVisible(testid("label")),
		chromedp.SendKeys(testid("label"), label),
		chromedp.Click(testid(uploads)),
	)
	if checked := get(t, ctx, "read the uploads choice", chromedp.JavascriptAttribute[bool](testid(uploads), "checked")); !checked {
		t.Fatalf("the %s choice is not checked after a click", uploads)
	}
	resp := clickAndWait(t, ctx, "create the link", testid("create-link"))
	if got, want := resp.Status, int64(http.StatusOK); got != want {
		t.Fatalf("create the link: status=%d, want=%d", got, want)
	}
	id := get(t, ctx, "read the link's ID", chromedp.AttributeValue(testid("link-detail"), "data-link-id"))
	if !id.Exists || id.Value == "" {
		t.Fatalf("the page after minting (%s) is not a link page", location(t, ctx))
	}
	if got, want := location(t, ctx), "/admin/links/"+id.Value+"?done=link-created"; got != want {
		t.Errorf("after minting: location=%q, want=%q", got, want)
	}
	if got := get(t, ctx, "read the heading", chromedp.Text(testid("link-heading"))); got != label {
		t.Errorf("link heading=%q, want=%q", got, label)
	}
	return id.Value
}

// userGesture evaluates as if the user had just acted on the page, which
// media playback asks for.
func userGesture(p *runtime.EvaluateParams) { t := true; p.UserGesture = &t }

// callAPI sends a request to the API with the app's API key and decodes
// a 2xx answer's JSON into out. It returns the status.
func callAPI(t *testing.T, a *adminApp, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, a.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(a.APIKey+":")))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode/100 == 2 {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return res.StatusCode
}

// apiVideo is the part of the API's video object that the tests read.
type apiVideo struct {
	VideoID string `json:"videoId"`
	Title   string `json:"title"`
}

// progressJS returns the link page's first upload row as the page shows
// it now: its status, and the value and maximum of its progress bar.
const progressJS = `(() => {
	const r = document.querySelector('[data-testid="upload-row"]')
	if (!r) return null
	const bar = r.querySelector('progress')
	return {
		id: r.dataset.uploadId,
		status: r.dataset.status,
		statusText: r.querySelector('[data-testid="upload-status"]').textContent.trim(),
		value: bar ? bar.value : -1,
		max: bar ? bar.max : -1,
		text: r.querySelector('[data-role="progress-text"]').textContent.trim(),
		speed: !!r.querySelector('[data-testid="upload-speed"]'),
		rows: document.querySelectorAll('[data-testid="upload-row"]').length,
		events: [...document.querySelectorAll('[data-testid="event"]')].map(e => e.dataset.kind),
	}
})()`

// uploadRowView is what progressJS returns.
type uploadRowView struct {
	ID         string  `json:"id"`
	Status     string  `json:"status"`
	StatusText string  `json:"statusText"`
	Value      float64 `json:"value"`
	Max        float64 `json:"max"`
	Text       string  `json:"text"`
	// Speed is whether the row has its place for the upload's speed.
	Speed bool `json:"speed"`
	Rows  int  `json:"rows"`
	// Events are the kinds of the timeline's events, newest first.
	Events []string `json:"events"`
}

// waitProgress waits until the link page's upload row shows at least
// bytes received, and returns the row.
func waitProgress(t *testing.T, ctx context.Context, bytes int64) uploadRowView {
	t.Helper()
	expr := fmt.Sprintf(`(() => { const r = %s; return r && r.value >= %d && r })()`, progressJS, bytes)
	return waitJS[uploadRowView](t, ctx, fmt.Sprintf("the link page to show %d bytes received", bytes), expr)
}

// ---- screenshots of the dashboard

// viewport is a window size to take screenshots at.
type viewport struct {
	Name          string
	Width, Height int64
	Mobile        bool
}

var viewports = []viewport{
	{Name: "desktop", Width: 1280, Height: 800},
	{Name: "phone", Width: 390, Height: 844, Mobile: true},
}

// emulate sets the tab's viewport and prefers-color-scheme ("light" or
// "dark").
func emulate(t *testing.T, ctx context.Context, v viewport, scheme string) {
	t.Helper()
	var opts []chromedp.EmulateViewportOption
	if v.Mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
	}
	run(t, ctx, "emulate "+v.Name+" "+scheme,
		chromedp.EmulateViewport(v.Width, v.Height, opts...),
		emulateColorScheme(scheme),
	)
}

// emulateColorScheme makes the tab's CSS see prefers-color-scheme as
// scheme.
func emulateColorScheme(scheme string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		})
		return err
	})
}

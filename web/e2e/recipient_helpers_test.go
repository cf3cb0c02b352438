package e2e_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/web/links"
)

// Helpers of the recipient's browser tests (recipient_*_test.go, issue
// 13). They build on helpers_test.go, and on viewports and emulate of
// admin_helpers_test.go.

// sees is what a person sees of the upload page: which parts are on the
// screen, and their words.
type sees struct {
	Zone     bool `json:"zone"`
	Start    bool `json:"start"`
	Limits   bool `json:"limits"`
	Closed   bool `json:"closed"`
	Error    bool `json:"error"`
	Done     bool `json:"done"`
	KeepOpen bool `json:"keepOpen"`
	// Fields counts the text fields on the screen (the uploader's name
	// and email, each file's title and description).
	Fields int `json:"fields"`
	// Red is the text of every error and failed status on the screen.
	Red        []string  `json:"red"`
	DoneText   string    `json:"doneText"`
	DoneGood   bool      `json:"doneGood"`
	ErrorText  string    `json:"errorText"`
	ClosedText string    `json:"closedText"`
	MaxUploads string    `json:"maxUploads"`
	Rows       []seenRow `json:"rows"`
	// ScrollWidth wider than InnerWidth: the page scrolls sideways.
	ScrollWidth int `json:"scrollWidth"`
	InnerWidth  int `json:"innerWidth"`
}

// seenRow is what a person sees of one file's row.
type seenRow struct {
	Name   string `json:"name"`
	State  string `json:"state"`
	Status string `json:"status"`
	// Receipt is whether the receipt is on the screen, and ReceiptTitle
	// the title it shows.
	Receipt      bool   `json:"receipt"`
	ReceiptTitle string `json:"receiptTitle"`
	// Fields is whether the file's title and description are.
	Fields      bool   `json:"fields"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Locked      bool   `json:"locked"`
}

const seesJS = `(() => {
	const q = (id, el = document) => el.querySelector('[data-testid="' + id + '"]')
	const shown = el => !!el && el.getClientRects().length > 0
	const text = el => el ? el.textContent.replace(/\s+/g, ' ').trim() : ''
	const done = q('done')
	return {
		zone: shown(q('drop-zone')),
		start: shown(q('start')),
		limits: shown(q('limits')),
		closed: shown(q('closed')),
		error: shown(q('error')),
		done: shown(done),
		keepOpen: shown(q('keep-open')),
		fields: [...document.querySelectorAll('#uploader input:not([type=file]), #uploader textarea')].filter(shown).length,
		red: [...document.querySelectorAll('.error, .status.bad')].filter(shown).map(text),
		doneText: text(done),
		doneGood: shown(done) && !done.classList.contains('partial'),
		errorText: text(q('error')),
		closedText: text(q('closed')),
		maxUploads: text(q('max-uploads')),
		rows: [...document.querySelectorAll('[data-testid="upload-row"]')].map(r => ({
			name: text(q('row-name', r)),
			state: r.dataset.state,
			status: text(q('status', r)),
			receipt: shown(q('receipt', r)),
			receiptTitle: shown(q('receipt-title', r)) ? text(q('receipt-title', r)) : '',
			fields: shown(q('row-fields', r)),
			title: q('title', r).value,
			description: q('description', r).value,
			locked: q('title', r).readOnly,
		})),
		scrollWidth: document.documentElement.scrollWidth,
		innerWidth: window.innerWidth,
	}
})()`

// look returns what the page of ctx shows now.
func look(t *testing.T, ctx context.Context) sees {
	t.Helper()
	return get(t, ctx, "look at the page", chromedp.Evaluate[sees](seesJS))
}

// checkNoSidewaysScroll fails the test when the page is wider than its
// window.
func checkNoSidewaysScroll(t *testing.T, what string, s sees) {
	t.Helper()
	if s.ScrollWidth > s.InnerWidth {
		t.Errorf("%s: the page is %d px wide in a %d px window: it scrolls sideways", what, s.ScrollWidth, s.InnerWidth)
	}
}

// forEachViewport runs the test at a desktop width and at a phone width,
// each with its own application and browser, the browser's window set to
// the viewport.
func forEachViewport(t *testing.T, test func(t *testing.T, a *app, ctx context.Context, v viewport)) {
	for _, v := range viewports {
		t.Run(v.Name, func(t *testing.T) {
			a := newApp(t)
			ctx := newBrowser(t)
			emulate(t, ctx, v, "light")
			test(t, a, ctx, v)
		})
	}
}

// rowSel selects an element of the nth upload row (from 1).
func rowSel(n int, id string) chromedp.CSS {
	return chromedp.CSS(fmt.Sprintf(`[data-testid="upload-row"]:nth-child(%d) [data-testid=%q]`, n, id))
}

// waitRows waits until the page has n rows whose states are those
// given, in order, and returns what it shows then.
func waitRows(t *testing.T, ctx context.Context, states ...string) sees {
	t.Helper()
	list := `["` + strings.Join(states, `","`) + `"]`
	waitJS[bool](t, ctx, "rows in states "+strings.Join(states, ", "), fmt.Sprintf(
		`(() => { const rs = [...document.querySelectorAll('[data-testid="upload-row"]')].map(r => r.dataset.state); return JSON.stringify(rs) === JSON.stringify(%s) })()`, list))
	return look(t, ctx)
}

// mediaFile is a real file of the repository's test media, such as
// web/sniff/testdata/audio-only.mp3.
func mediaFile(t *testing.T, path string) testFile {
	t.Helper()
	p, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return testFile{Path: p, Name: filepath.Base(p), Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:]), data: b}
}

// uploadElsewhere uploads a file through the link from somewhere else
// than the page (another person, another device), through the links
// service as the endpoints do. With parts 0 it sends every part;
// otherwise only the first parts, leaving the upload unfinished.
func uploadElsewhere(t *testing.T, a *app, l store.Link, name string, parts int) {
	t.Helper()
	ctx := context.Background()
	f := videoFile(t, name, 6<<20, int64(len(name)))
	u, _, err := a.links.Start(ctx, l.ID, links.StartRequest{Filename: f.Name, Size: f.Size, LastModified: 1700000000000})
	if err != nil {
		t.Fatalf("start %s elsewhere: %v", name, err)
	}
	if parts == 0 {
		parts = u.TotalParts
	}
	for n := 1; n <= parts; n++ {
		from := int64(n-1) * u.ChunkSize
		part := f.data[from:min(from+u.ChunkSize, f.Size)]
		if _, err := a.links.PutPart(ctx, l.ID, u.VideoID, n, int64(len(part)), bytes.NewReader(part)); err != nil {
			t.Fatalf("part %d of %s elsewhere: %v", n, name, err)
		}
	}
}

package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/uplink-video/uplink/static"
	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/ingest"
	"github.com/uplink-video/uplink/web/links"
)

// mintForm is a valid mint form; tests change what they need.
func mintForm() url.Values {
	return url.Values{
		"label":        {"Wedding"},
		"message":      {"Please send the ceremony."},
		"expiry":       {"custom"},
		"expiryValue":  {"90"},
		"expiryUnit":   {"minutes"},
		"uploads":      {"n"},
		"uploadsN":     {"3"},
		"maxSize":      {"1.5"},
		"maxSizeUnit":  {"GiB"},
		"types":        {"formats"},
		"formats":      {"mp4", "webm"},
		"embedOrigins": {"https://a.example\nhttps://b.example:8443/\n"},
		"askName":      {"1"},
	}
}

// linkIDFrom returns the link ID of a redirect to a link's page, and its
// done code.
func linkIDFrom(t *testing.T, loc string) (string, string) {
	t.Helper()
	u, err := url.Parse(loc)
	if err != nil || !strings.HasPrefix(u.Path, "/admin/links/") {
		t.Fatalf("redirect to %q, want a link's page", loc)
	}
	return strings.TrimPrefix(u.Path, "/admin/links/"), u.Query().Get("done")
}

func TestLinkMint(t *testing.T) {
	a := newAdminApp(t)
	ctx := context.Background()

	doc := a.getPage(t, "/admin/links/new")
	if got := doc.Find("title").Text(); !strings.HasPrefix(got, "New link") {
		t.Errorf("title = %q", got)
	}
	for _, name := range []string{"label", "message", "expiryValue", "uploadsN", "maxSize", "maxSizeUnit", "embedOrigins", "askName"} {
		if testID(doc, name).Length() != 1 {
			t.Errorf("the form has no field %s", name)
		}
		// Every field has a label.
		id, _ := testID(doc, name).Attr("id")
		if doc.Find(`label[for="`+id+`"]`).Length() == 0 {
			t.Errorf("field %s (#%s) has no label", name, id)
		}
	}
	for _, v := range []string{"1h", "1d", "7d", "30d", "never", "custom"} {
		if testID(doc, "expiry-"+v).Length() != 1 {
			t.Errorf("no expiry preset %s", v)
		}
	}
	if _, ok := testID(doc, "expiry-7d").Attr("checked"); !ok {
		t.Error("7 days is not the default expiry")
	}
	if _, ok := testID(doc, "types-video").Attr("checked"); !ok {
		t.Error("video is not the default type")
	}
	if testID(doc, "formats-mp4").Length() != 1 || testID(doc, "formats-mkv").Length() != 1 {
		t.Error("the video formats are not offered")
	}
	if doc.Find(`fieldset#link-expiry legend, fieldset#link-uploads legend, fieldset#link-types legend`).Length() < 3 {
		t.Error("the radio groups are not fieldsets with legends")
	}

	status, body, loc := a.postForm(t, "/admin/links", mintForm())
	if status != http.StatusSeeOther {
		t.Fatalf("POST /admin/links: %d\n%s", status, body)
	}
	id, done := linkIDFrom(t, loc)
	if done != "link-created" {
		t.Errorf("done = %q, want link-created", done)
	}
	l, err := a.Store.FindLink(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if l.Label != "Wedding" || l.Message != "Please send the ceremony." || l.TTL != 5400 ||
		l.ExpiresAt == nil || !l.ExpiresAt.Equal(a.Clock.Now().Add(90*time.Minute)) ||
		l.MaxUploads != 3 || l.MaxSize != 1536<<20 || !slices.Equal(l.AllowedTypes, []string{"mp4", "webm"}) ||
		!slices.Equal(l.EmbedOrigins, []string{"https://a.example", "https://b.example:8443"}) || !l.AskName {
		t.Errorf("minted link = %+v", l)
	}

	doc = a.getPage(t, loc)
	if got := testID(doc, "flash").Text(); !strings.Contains(got, "ready") {
		t.Errorf("flash = %q", got)
	}
	if got, _ := testID(doc, "link-url").Attr("value"); got != a.URL+"/u/"+id {
		t.Errorf("link-url = %q, want %q", got, a.URL+"/u/"+id)
	}
	if target, _ := testID(doc, "copy-url").Attr("data-copy"); target != "#link-url" {
		t.Errorf("copy-url copies %q", target)
	}
	if src, _ := testID(doc, "qr").Attr("src"); src != "/admin/links/"+id+"/qr.svg" {
		t.Errorf("qr src = %q", src)
	}
	snippet := testID(doc, "embed-snippet").Text()
	if !strings.Contains(snippet, `<iframe src="`+a.URL+"/embed/"+id+`"`) {
		t.Errorf("embed snippet = %q", snippet)
	}
	if got := testID(doc, "link-status").AttrOr("data-state", ""); got != "active" {
		t.Errorf("status = %q, want active", got)
	}
	if got := doc.Find("title").Text(); !strings.HasPrefix(got, "Wedding") {
		t.Errorf("title = %q", got)
	}
	settings := testID(doc, "settings").Text()
	for _, want := range []string{"Up to 3", "1.5 GiB", "MP4, WebM files", "https://a.example, https://b.example:8443", "Yes"} {
		if !strings.Contains(settings, want) {
			t.Errorf("settings do not say %q:\n%s", want, settings)
		}
	}

	// A link without embed origins says how to allow embedding instead.
	f := mintForm()
	f.Set("embedOrigins", "")
	f.Set("expiry", "never")
	_, _, loc = a.postForm(t, "/admin/links", f)
	doc = a.getPage(t, loc)
	if testID(doc, "embed-snippet").Length() != 0 || !strings.Contains(testID(doc, "embed-none").Text(), "origin") {
		t.Error("a link without embed origins shows a snippet, or no advice")
	}
}

func TestLinkMintInvalid(t *testing.T) {
	a := newAdminApp(t)
	for _, tt := range []struct {
		name  string
		set   map[string]string
		field string // The key of the error.
		id    string // The element that holds the field.
	}{
		{"no label", map[string]string{"label": "  "}, "label", "link-label"},
		{"label too long", map[string]string{"label": strings.Repeat("x", 201)}, "label", "link-label"},
		{"message too long", map[string]string{"message": strings.Repeat("x", 4001)}, "message", "link-message"},
		{"custom expiry not a number", map[string]string{"expiryValue": "soon"}, "ttl", "link-expiry"},
		{"custom expiry zero", map[string]string{"expiryValue": "0"}, "ttl", "link-expiry"},
		{"custom expiry overflows", map[string]string{"expiryValue": "99999999999999", "expiryUnit": "days"}, "ttl", "link-expiry"},
		{"no expiry chosen", map[string]string{"expiry": ""}, "ttl", "link-expiry"},
		{"zero uploads", map[string]string{"uploadsN": "0"}, "maxUploads", "link-uploads"},
		{"too many uploads", map[string]string{"uploadsN": "10001"}, "maxUploads", "link-uploads"},
		{"size not a number", map[string]string{"maxSize": "big"}, "maxSize", "link-max-size"},
		{"negative size", map[string]string{"maxSize": "-1"}, "maxSize", "link-max-size"},
		{"size under 1 MiB", map[string]string{"maxSize": "0.5", "maxSizeUnit": "MiB"}, "maxSize", "link-max-size"},
		{"no format ticked", map[string]string{"formats": ""}, "types", "link-types"},
		{"bad origin", map[string]string{"embedOrigins": "https://ok.example\nftp://files.example"}, "embedOrigins", "link-embed-origins"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := mintForm()
			for k, v := range tt.set {
				if v == "" {
					f.Del(k)
				} else {
					f.Set(k, v)
				}
			}
			// The label is always typed, to check that it is kept.
			if f.Get("label") == "Wedding" {
				f.Set("label", `Kept "label" <b>`)
			}
			before, _, _ := a.Store.FindLinks(context.Background(), store.LinkFilter{})
			status, body, _ := a.postForm(t, "/admin/links", f)
			if status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", status)
			}
			if after, _, _ := a.Store.FindLinks(context.Background(), store.LinkFilter{}); len(after) != len(before) {
				t.Error("a link was created anyway")
			}
			doc := parseHTML(t, body)
			if !strings.HasPrefix(doc.Find("title").Text(), "Error") {
				t.Errorf("title = %q, want it to start with Error", doc.Find("title").Text())
			}
			errEl := doc.Find("#" + tt.id + "-error")
			if errEl.Length() != 1 || strings.TrimSpace(errEl.Text()) == "" {
				t.Fatalf("no error next to %s; errors shown: %q", tt.id, doc.Find(".field-error").Text())
			}
			// The error is inside the field's container and linked to it.
			if doc.Find("#"+tt.id).Length() == 1 && doc.Find("#"+tt.id+" #"+tt.id+"-error").Length() == 0 &&
				errEl.Parent().Find("#"+tt.id).Length() == 0 {
				t.Errorf("the error of %s is not next to it", tt.id)
			}
			if doc.Find(`[aria-describedby~="`+tt.id+`-error"]`).Length() == 0 {
				t.Errorf("nothing is described by %s-error", tt.id)
			}
			if doc.Find(".field-error").Length() != 1 {
				t.Errorf("errors shown: %q, want only the one on %s", doc.Find(".field-error").Text(), tt.field)
			}
			if testID(doc, "form-errors").Length() != 1 {
				t.Error("no summary of the errors")
			}
			// What was typed is kept.
			if got, _ := testID(doc, "label").Attr("value"); got != strings.TrimSpace(f.Get("label")) && got != f.Get("label") {
				t.Errorf("label = %q, want %q", got, f.Get("label"))
			}
			if got := testID(doc, "message").Text(); got != f.Get("message") {
				t.Errorf("message not kept: %d bytes, want %d", len(got), len(f.Get("message")))
			}
			if got, _ := testID(doc, "expiryValue").Attr("value"); got != f.Get("expiryValue") {
				t.Errorf("expiryValue = %q, want %q", got, f.Get("expiryValue"))
			}
			if got, _ := testID(doc, "uploadsN").Attr("value"); got != f.Get("uploadsN") {
				t.Errorf("uploadsN = %q, want %q", got, f.Get("uploadsN"))
			}
			if got, _ := testID(doc, "maxSize").Attr("value"); got != f.Get("maxSize") {
				t.Errorf("maxSize = %q, want %q", got, f.Get("maxSize"))
			}
			if got := testID(doc, "maxSizeUnit").Find("option[selected]").AttrOr("value", ""); got != f.Get("maxSizeUnit") {
				t.Errorf("maxSizeUnit = %q, want %q", got, f.Get("maxSizeUnit"))
			}
			if got := testID(doc, "embedOrigins").Text(); got != f.Get("embedOrigins") {
				t.Errorf("embedOrigins = %q, want %q", got, f.Get("embedOrigins"))
			}
			if f.Get("expiry") != "" {
				if _, ok := testID(doc, "expiry-"+f.Get("expiry")).Attr("checked"); !ok {
					t.Errorf("expiry %s not kept", f.Get("expiry"))
				}
			}
			if _, ok := testID(doc, "uploads-n").Attr("checked"); !ok {
				t.Error("uploads choice not kept")
			}
			if _, ok := testID(doc, "askName").Attr("checked"); !ok {
				t.Error("askName not kept")
			}
			for _, format := range f["formats"] {
				if _, ok := testID(doc, "formats-"+format).Attr("checked"); !ok {
					t.Errorf("format %s not kept", format)
				}
			}
		})
	}
}

// seedLinks creates links directly through the service.
func seedLink(t *testing.T, a *adminApp, sp links.Spec) store.Link {
	t.Helper()
	if sp.Label == "" {
		sp.Label = "link"
	}
	l, err := a.Links.Create(context.Background(), sp)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func rowLabels(doc *goquery.Document) []string {
	var out []string
	testID(doc, "link-row").Each(func(_ int, s *goquery.Selection) {
		out = append(out, strings.TrimSpace(s.Find(`[data-testid="link-label"]`).Text()))
	})
	return out
}

func TestLinkListEmpty(t *testing.T) {
	a := newAdminApp(t)
	doc := a.getPage(t, "/admin/links")
	if !strings.Contains(testID(doc, "empty").Text(), "No links yet: create one") {
		t.Errorf("empty state = %q", testID(doc, "empty").Text())
	}
	if href, _ := testID(doc, "empty-create").Attr("href"); href != "/admin/links/new" {
		t.Errorf("the empty state's button goes to %q", href)
	}
	if got := doc.Find("title").Text(); !strings.HasPrefix(got, "Links") {
		t.Errorf("title = %q", got)
	}

	seedLink(t, a, links.Spec{Label: "only one"})
	doc = a.getPage(t, "/admin/links?q=nothing")
	if testID(doc, "empty").Length() != 0 || testID(doc, "no-match").Length() != 1 {
		t.Error("a search without results does not say so, or shows the empty state")
	}
	if got, _ := testID(doc, "search").Attr("value"); got != "nothing" {
		t.Errorf("search box = %q, want the search kept", got)
	}
}

func TestLinkListFilters(t *testing.T) {
	a := newAdminApp(t)
	ctx := context.Background()

	// 30 plain links, created a second apart: "Plain 01" .. "Plain 30".
	for i := 1; i <= 30; i++ {
		seedLink(t, a, links.Spec{Label: fmt.Sprintf("Plain %02d", i)})
		a.Clock.Advance(time.Second)
	}
	revoked := seedLink(t, a, links.Spec{Label: "Revoked one"})
	if _, err := a.Links.Revoke(ctx, revoked.ID); err != nil {
		t.Fatal(err)
	}
	a.Clock.Advance(time.Second)
	seedLink(t, a, links.Spec{Label: "Expiring one", TTL: time.Minute})
	a.Clock.Advance(time.Second)
	seedLink(t, a, links.Spec{Label: "100% discount", MaxUploads: 1})
	a.Clock.Advance(time.Second)
	used := seedLink(t, a, links.Spec{Label: "Used one", MaxUploads: 1})
	uploadThrough(t, a, used, 100)
	a.Clock.Advance(2 * time.Minute)

	doc := a.getPage(t, "/admin/links")
	rows := rowLabels(doc)
	if len(rows) != 25 {
		t.Fatalf("page 1 has %d rows, want 25", len(rows))
	}
	if rows[0] != "Used one" || rows[24] != "Plain 10" {
		t.Errorf("newest first: rows %q .. %q", rows[0], rows[24])
	}
	next, _ := testID(doc, "next-page").Attr("href")
	if next == "" || testID(doc, "prev-page").Length() != 0 {
		t.Fatalf("page 1: next %q, prev shown %v", next, testID(doc, "prev-page").Length() > 0)
	}
	doc = a.getPage(t, next)
	if rows := rowLabels(doc); len(rows) != 9 || rows[8] != "Plain 01" {
		t.Errorf("page 2 = %q", rows)
	}
	if testID(doc, "next-page").Length() != 0 || testID(doc, "prev-page").Length() != 1 {
		t.Error("page 2 of 2 has a next link or no previous link")
	}

	// Each row has its status badge, uploads and expiry.
	doc = a.getPage(t, "/admin/links?sort=label&dir=asc&q=one")
	want := map[string][3]string{
		"Expiring one": {"expired", "0 / unlimited", "ago"},
		"Revoked one":  {"revoked", "0 / unlimited", "Never"},
		"Used one":     {"used_up", "1 / 1", "Never"},
	}
	if got := rowLabels(doc); !slices.Equal(got, []string{"Expiring one", "Revoked one", "Used one"}) {
		t.Errorf("search \"one\" sorted by label = %q", got)
	}
	testID(doc, "link-row").Each(func(_ int, s *goquery.Selection) {
		label := strings.TrimSpace(s.Find(`[data-testid="link-label"]`).Text())
		w := want[label]
		if got := s.Find(`[data-testid="link-status"]`).AttrOr("data-state", ""); got != w[0] {
			t.Errorf("%s: status %q, want %q", label, got, w[0])
		}
		if got := strings.TrimSpace(s.Find(`[data-testid="link-uploads"]`).Text()); got != w[1] {
			t.Errorf("%s: uploads %q, want %q", label, got, w[1])
		}
		if got := s.Find(`[data-testid="link-expires"]`).Text(); !strings.Contains(got, w[2]) {
			t.Errorf("%s: expires %q, want %q", label, got, w[2])
		}
	})
	if exp := testID(doc, "link-row").First().Find("time[datetime]"); exp.Length() == 0 || !strings.Contains(exp.Parent().Text(), "UTC") {
		t.Error("the expiry has no absolute time")
	}

	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"state=revoked", []string{"Revoked one"}},
		{"state=expired", []string{"Expiring one"}},
		{"state=used_up", []string{"Used one"}},
		{"state=active&q=discount", []string{"100% discount"}},
		{"q=%25", []string{"100% discount"}},                                    // A literal %.
		{"q=PLAIN+3", []string{"Plain 30"}},                                     // Case-insensitive substring.
		{"q=plain&sort=label&dir=desc", nil},                                    // Checked below: 25 rows.
		{"q=plain+0&sort=expiry&dir=asc&state=active", nil},                     // Checked below.
		{"state=bogus&sort=bogus&dir=bogus&q=Revoked", []string{"Revoked one"}}, // Unknown values are ignored.
	} {
		doc := a.getPage(t, "/admin/links?"+tt.query)
		got := rowLabels(doc)
		if tt.want != nil && !slices.Equal(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.query, got, tt.want)
		}
	}
	doc = a.getPage(t, "/admin/links?q=plain&sort=label&dir=desc")
	if got := rowLabels(doc); len(got) != 25 || got[0] != "Plain 30" || got[24] != "Plain 06" {
		t.Errorf("plain by label desc: %q", got)
	}
	// The filter is kept in the form and in the page links.
	if got := testID(doc, "status-filter").Find("option[selected]").AttrOr("value", "x"); got != "" {
		t.Errorf("status filter = %q, want all", got)
	}
	if got := testID(doc, "sort").Find("option[selected]").AttrOr("value", ""); got != "label" {
		t.Errorf("sort = %q, want label", got)
	}
	next, _ = testID(doc, "next-page").Attr("href")
	nu, _ := url.Parse(next)
	if q := nu.Query(); q.Get("q") != "plain" || q.Get("sort") != "label" || q.Get("dir") != "asc" && q.Get("dir") != "" && q.Get("dir") != "desc" || q.Get("page") != "2" {
		t.Errorf("next page link %q does not keep the filter", next)
	}
	if nu.Query().Get("dir") != "" && nu.Query().Get("dir") != "desc" {
		t.Errorf("next page link %q changes the order", next)
	}
	doc = a.getPage(t, next)
	if got := rowLabels(doc); !slices.Equal(got, []string{"Plain 05", "Plain 04", "Plain 03", "Plain 02", "Plain 01"}) {
		t.Errorf("page 2 of plain by label desc: %q", got)
	}

	doc = a.getPage(t, "/admin/links?state=revoked")
	if got := testID(doc, "status-filter").Find("option[selected]").AttrOr("value", ""); got != "revoked" {
		t.Errorf("status filter = %q, want revoked kept", got)
	}
	// A page past the end shows the last page.
	doc = a.getPage(t, "/admin/links?page=99")
	if got := rowLabels(doc); len(got) != 9 {
		t.Errorf("page 99 shows %d rows, want the last page's 9", len(got))
	}
}

// videoBytes returns size bytes that sniff as MP4 video.
func videoBytes(t *testing.T, size int) []byte {
	t.Helper()
	head, err := os.ReadFile("links/testdata/h264-aac-faststart.mp4")
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, size)
	rand.New(rand.NewSource(int64(size))).Read(b)
	copy(b, head)
	return b
}

// startUpload starts an upload of data through the link.
func startUpload(t *testing.T, a *adminApp, l store.Link, data []byte) store.LinkUpload {
	t.Helper()
	u, _, err := a.Links.Start(context.Background(), l.ID, links.StartRequest{
		Filename: "clip.mp4", Size: int64(len(data)), LastModified: 1700000000000,
		Name: "Ann Uploader", Email: "ann@example.com",
	})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func putPart(a *adminApp, l store.Link, u store.LinkUpload, data []byte, n int) (store.LinkUpload, error) {
	from := int64(n-1) * u.ChunkSize
	part := data[from:min(from+u.ChunkSize, int64(len(data)))]
	return a.Links.PutPart(context.Background(), l.ID, u.VideoID, n, int64(len(part)), bytes.NewReader(part))
}

// uploadThrough uploads a whole file of size bytes through the link.
func uploadThrough(t *testing.T, a *adminApp, l store.Link, size int) store.LinkUpload {
	t.Helper()
	data := videoBytes(t, size)
	u := startUpload(t, a, l, data)
	for n := 1; n <= u.TotalParts; n++ {
		var err error
		if u, err = putPart(a, l, u, data, n); err != nil {
			t.Fatalf("part %d: %v", n, err)
		}
	}
	return u
}

func TestLinkQR(t *testing.T) {
	a := newAdminApp(t)
	l1 := seedLink(t, a, links.Spec{})
	l2 := seedLink(t, a, links.Spec{})

	svgOf := func(l store.Link) string {
		resp, body := a.getResponse(t, "/admin/links/"+l.ID+"/qr.svg", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("qr.svg: %d", resp.StatusCode)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "image/svg+xml" {
			t.Errorf("Content-Type = %q, want image/svg+xml", ct)
		}
		return body
	}
	body := svgOf(l1)
	var svg struct {
		XMLName  xml.Name `xml:"svg"`
		NS       string   `xml:"xmlns,attr"`
		ViewBox  string   `xml:"viewBox,attr"`
		AllRects []struct {
			X     int `xml:"x,attr"`
			Y     int `xml:"y,attr"`
			Width int `xml:"width,attr"`
		} `xml:"g>rect"`
	}
	if err := xml.Unmarshal([]byte(body), &svg); err != nil {
		t.Fatalf("not valid XML: %v\n%s", err, body)
	}
	if svg.NS != "http://www.w3.org/2000/svg" {
		t.Errorf("xmlns = %q", svg.NS)
	}
	var n int
	if _, err := fmt.Sscanf(svg.ViewBox, "0 0 %d %d", &n, new(int)); err != nil {
		t.Fatalf("viewBox = %q", svg.ViewBox)
	}
	// A QR code of version v has 17+4v modules a side, plus a quiet zone
	// of 4 modules on each side.
	const quiet = 4
	if side := n - 2*quiet; side < 21 || (side-17)%4 != 0 {
		t.Errorf("viewBox side %d is not a QR code with a %d-module quiet zone", n, quiet)
	}
	if len(svg.AllRects) < 50 {
		t.Fatalf("only %d dark rects", len(svg.AllRects))
	}
	for _, r := range svg.AllRects {
		if r.X < quiet || r.Y < quiet || r.X+r.Width > n-quiet || r.Y >= n-quiet {
			t.Fatalf("a dark module at %d,%d (width %d) is in the quiet zone", r.X, r.Y, r.Width)
		}
	}
	// The finder pattern's top row: 7 dark modules at the quiet zone's
	// corner.
	if r := svg.AllRects[0]; r.X != quiet || r.Y != quiet || r.Width != 7 {
		t.Errorf("first rect = %+v, want the finder pattern at %d,%d width 7", r, quiet, quiet)
	}
	if body2 := svgOf(l2); body2 == body {
		t.Error("two links with different URLs have the same QR code")
	}
	if body3 := svgOf(l1); body3 != body {
		t.Error("the same link's QR code changed")
	}
	if status, _ := a.get(t, "/admin/links/AAAAAAAAAAAAAAAAAAAAAA/qr.svg"); status != http.StatusNotFound {
		t.Errorf("unknown link's QR: %d, want 404", status)
	}
}

func TestLinkRevokeStopsUploads(t *testing.T) {
	a := newAdminApp(t)
	l := seedLink(t, a, links.Spec{Label: "to revoke"})
	data := videoBytes(t, ingest.MinPartSize+1000)
	u := startUpload(t, a, l, data)
	if _, err := putPart(a, l, u, data, 1); err != nil {
		t.Fatal(err)
	}

	doc := a.getPage(t, "/admin/links/"+l.ID)
	form := testID(doc, "revoke").Closest("form")
	if form.AttrOr("data-confirm", "") == "" || form.AttrOr("method", "") != "post" ||
		form.AttrOr("action", "") != "/admin/links/"+l.ID+"/revoke" {
		t.Errorf("revoke form: method %q action %q confirm %q", form.AttrOr("method", ""), form.AttrOr("action", ""), form.AttrOr("data-confirm", ""))
	}
	if form.Find(`input[name="_csrf"]`).Length() != 1 {
		t.Error("the revoke form has no CSRF field")
	}
	status, _, loc := a.postForm(t, "/admin/links/"+l.ID+"/revoke", nil)
	if status != http.StatusSeeOther || loc != "/admin/links/"+l.ID+"?done=link-revoked" {
		t.Fatalf("revoke: %d to %q", status, loc)
	}
	_, err := putPart(a, l, u, data, 2)
	var ref *links.Refusal
	if !errors.As(err, &ref) || ref.Code != links.CodeLinkRevoked {
		t.Fatalf("part 2 after revoking: %v, want link-revoked", err)
	}

	doc = a.getPage(t, loc)
	if got := testID(doc, "link-status").AttrOr("data-state", ""); got != "revoked" {
		t.Errorf("status %q, want revoked", got)
	}
	if testID(doc, "revoke").Length() != 0 || testID(doc, "extend").Length() != 0 {
		t.Error("a revoked link can still be revoked or extended")
	}
	if testID(doc, "duplicate").Length() != 1 {
		t.Error("a revoked link cannot be duplicated")
	}
	if kinds := eventKinds(doc); !slices.Contains(kinds, "revoked") {
		t.Errorf("timeline %q has no revoked event", kinds)
	}
	// Revoking again is harmless.
	if status, _, _ := a.postForm(t, "/admin/links/"+l.ID+"/revoke", nil); status != http.StatusSeeOther {
		t.Errorf("revoking twice: %d", status)
	}
	if status, _, _ := a.postForm(t, "/admin/links/AAAAAAAAAAAAAAAAAAAAAA/revoke", nil); status != http.StatusNotFound {
		t.Errorf("revoking an unknown link: %d, want 404", status)
	}
}

func eventKinds(doc *goquery.Document) []string {
	var out []string
	testID(doc, "event").Each(func(_ int, s *goquery.Selection) { out = append(out, s.AttrOr("data-kind", "")) })
	return out
}

func TestLinkExtend(t *testing.T) {
	a := newAdminApp(t)
	ctx := context.Background()
	l := seedLink(t, a, links.Spec{Label: "short", TTL: time.Minute})
	// Less than the session's idle timeout.
	a.Clock.Advance(2 * time.Minute)
	doc := a.getPage(t, "/admin/links/"+l.ID)
	if got := testID(doc, "link-status").AttrOr("data-state", ""); got != "expired" {
		t.Fatalf("status %q, want expired", got)
	}
	if testID(doc, "extend").Length() != 1 {
		t.Fatal("no extend button")
	}

	status, _, loc := a.postForm(t, "/admin/links/"+l.ID+"/extend", url.Values{"expiry": {"1d"}})
	if status != http.StatusSeeOther || loc != "/admin/links/"+l.ID+"?done=link-extended" {
		t.Fatalf("extend: %d to %q", status, loc)
	}
	got, _ := a.Store.FindLink(ctx, l.ID)
	if want := a.Clock.Now().Add(24 * time.Hour); got.ExpiresAt == nil || !got.ExpiresAt.Equal(want) {
		t.Errorf("expires %v, want %v", got.ExpiresAt, want)
	}
	doc = a.getPage(t, loc)
	if got := testID(doc, "link-status").AttrOr("data-state", ""); got != "active" {
		t.Errorf("status %q after extending, want active", got)
	}

	status, _, _ = a.postForm(t, "/admin/links/"+l.ID+"/extend", url.Values{"expiry": {"custom"}, "expiryValue": {"3"}, "expiryUnit": {"days"}})
	got, _ = a.Store.FindLink(ctx, l.ID)
	if want := a.Clock.Now().Add(72 * time.Hour); status != http.StatusSeeOther || got.ExpiresAt == nil || !got.ExpiresAt.Equal(want) {
		t.Errorf("extend by 3 days: %d, expires %v, want %v", status, got.ExpiresAt, want)
	}
	if status, _, _ = a.postForm(t, "/admin/links/"+l.ID+"/extend", url.Values{"expiry": {"never"}}); status != http.StatusSeeOther {
		t.Errorf("extend to never: %d", status)
	}
	if got, _ = a.Store.FindLink(ctx, l.ID); got.ExpiresAt != nil {
		t.Errorf("extended to never, expires %v", got.ExpiresAt)
	}

	// A wrong value shows the page again with the error at the field.
	status, body, _ := a.postForm(t, "/admin/links/"+l.ID+"/extend", url.Values{"expiry": {"custom"}, "expiryValue": {"-2"}, "expiryUnit": {"hours"}})
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("invalid extend: %d, want 422", status)
	}
	doc = parseHTML(t, body)
	if doc.Find("#extend-expiry #extend-expiry-error").Text() == "" {
		t.Error("no error next to the extend form's expiry")
	}
	if got, _ := doc.Find("#extend-expiry-value").Attr("value"); got != "-2" {
		t.Errorf("the typed value is not kept: %q", got)
	}
	if got, _ = a.Store.FindLink(ctx, l.ID); got.ExpiresAt != nil {
		t.Error("an invalid extend changed the expiry")
	}

	if _, err := a.Links.Revoke(ctx, l.ID); err != nil {
		t.Fatal(err)
	}
	status, body, _ = a.postForm(t, "/admin/links/"+l.ID+"/extend", url.Values{"expiry": {"1h"}})
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "revoked") {
		t.Errorf("extending a revoked link: %d", status)
	}
}

// TestLinkDuplicate presses Duplicate on a link's page: it opens the mint
// form filled with the link's settings and its label followed by
// " (copy)". Sending that form as it is makes a link with the same
// settings, its expiry counted from now, and a URL of its own.
func TestLinkDuplicate(t *testing.T) {
	a := newAdminApp(t)
	ctx := context.Background()
	status, _, loc := a.postForm(t, "/admin/links", mintForm())
	if status != http.StatusSeeOther {
		t.Fatal(status)
	}
	id, _ := linkIDFrom(t, loc)
	orig, _ := a.Store.FindLink(ctx, id)

	a.Clock.Advance(time.Minute)
	doc := a.getPage(t, "/admin/links/"+id)
	href, ok := testID(doc, "duplicate").Attr("href")
	if !ok {
		t.Fatal("no duplicate button")
	}
	doc = a.getPage(t, href)
	form := formValues(doc.Find("form.link-form"))
	if got, want := form.Get("label"), orig.Label+" (copy)"; got != want {
		t.Errorf("the form's label=%q, want=%q", got, want)
	}
	form.Del("_csrf")
	status, _, loc = a.postForm(t, "/admin/links", form)
	if status != http.StatusSeeOther {
		t.Fatalf("create the copy from %v: %d", form, status)
	}
	newID, _ := linkIDFrom(t, loc)
	dup, err := a.Store.FindLink(ctx, newID)
	if err != nil {
		t.Fatal(err)
	}
	if dup.ID == orig.ID {
		t.Errorf("the copy shares its ID %s", dup.ID)
	}
	if !dup.CreatedAt.After(orig.CreatedAt) || dup.ExpiresAt == nil || !dup.ExpiresAt.Equal(a.Clock.Now().Add(90*time.Minute)) {
		t.Errorf("the copy's expiry %v does not count from now", dup.ExpiresAt)
	}
	if dup.Label != orig.Label+" (copy)" || dup.MaxUploads != orig.MaxUploads || dup.MaxSize != orig.MaxSize ||
		!slices.Equal(dup.AllowedTypes, orig.AllowedTypes) || !slices.Equal(dup.EmbedOrigins, orig.EmbedOrigins) ||
		dup.AskName != orig.AskName || dup.Message != orig.Message || dup.TTL != orig.TTL {
		t.Errorf("copy %+v differs from %+v", dup, orig)
	}
	if status, _ := a.get(t, "/admin/links/new?from=AAAAAAAAAAAAAAAAAAAAAA"); status != http.StatusNotFound {
		t.Errorf("duplicate an unknown link: %d, want 404", status)
	}
}

// formValues reads a form as a browser would send it: its named inputs
// (checked ones only, for radios and checkboxes), selects and textareas.
func formValues(form *goquery.Selection) url.Values {
	v := url.Values{}
	form.Find("input[name], select[name], textarea[name]").Each(func(_ int, el *goquery.Selection) {
		name, _ := el.Attr("name")
		switch goquery.NodeName(el) {
		case "textarea":
			v.Add(name, strings.TrimPrefix(el.Text(), "\n"))
		case "select":
			opt := el.Find("option[selected]")
			if opt.Length() == 0 {
				opt = el.Find("option").First()
			}
			v.Add(name, opt.AttrOr("value", opt.Text()))
		default:
			typ := el.AttrOr("type", "text")
			if (typ == "radio" || typ == "checkbox") && el.AttrOr("checked", "\x00") == "\x00" {
				return
			}
			v.Add(name, el.AttrOr("value", "on"))
		}
	})
	return v
}

// progressJSON is what GET /admin/links/:id/progress answers.
type progressJSON struct {
	State   string `json:"state"`
	Live    bool   `json:"live"`
	Uploads []struct {
		ID       string `json:"id"`
		VideoID  string `json:"videoId"`
		Status   string `json:"status"`
		Size     int64  `json:"size"`
		Received int64  `json:"received"`
		Percent  int    `json:"percent"`
	} `json:"uploads"`
}

func (a *adminApp) progress(t *testing.T, l store.Link) progressJSON {
	t.Helper()
	resp, body := a.getResponse(t, "/admin/links/"+l.ID+"/progress", http.Header{"Accept": {"application/json"}})
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("progress: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var p progressJSON
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLinkProgressAndTimeline(t *testing.T) {
	a := newAdminApp(t)
	ctx := context.Background()
	l := seedLink(t, a, links.Spec{Label: "live", MaxUploads: 2, AskName: true})

	p := a.progress(t, l)
	if p.State != "active" || !p.Live || len(p.Uploads) != 0 {
		t.Errorf("before any upload: %+v", p)
	}
	if _, err := a.Links.Open(ctx, l.ID); err != nil {
		t.Fatal(err)
	}

	size := ingest.MinPartSize + 4096
	data := videoBytes(t, size)
	u := startUpload(t, a, l, data)

	// Stream part 1 through a pipe, and look at the progress midway.
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := a.Links.PutPart(ctx, l.ID, u.VideoID, 1, u.ChunkSize, pr)
		done <- err
	}()
	const sent = 2 << 20
	if _, err := pw.Write(data[:sent]); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		p = a.progress(t, l)
		if len(p.Uploads) == 1 && p.Uploads[0].Received >= sent || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(p.Uploads) != 1 {
		t.Fatalf("progress lists %d uploads, want 1", len(p.Uploads))
	}
	up := p.Uploads[0]
	if up.ID != u.ID || up.VideoID != u.VideoID || up.Status != "uploading" || up.Size != int64(size) ||
		up.Received < sent || up.Received > u.ChunkSize || up.Percent != int(up.Received*100/int64(size)) {
		t.Errorf("midway through part 1 (%d bytes sent): %+v", sent, up)
	}

	doc := a.getPage(t, "/admin/links/"+l.ID)
	row := testID(doc, "upload-row")
	if row.Length() != 1 || row.AttrOr("data-status", "") != "uploading" || row.AttrOr("data-upload-id", "") != u.ID {
		t.Fatalf("upload rows: %d, status %q", row.Length(), row.AttrOr("data-status", ""))
	}
	bar := row.Find(`[data-testid="upload-progress"] progress`)
	if v, _ := strconv.ParseInt(bar.AttrOr("value", ""), 10, 64); v < sent || bar.AttrOr("max", "") != strconv.Itoa(size) {
		t.Errorf("progress bar value %q max %q", bar.AttrOr("value", ""), bar.AttrOr("max", ""))
	}
	if !strings.Contains(row.Text(), "Ann Uploader") {
		t.Error("the uploader's name is not shown")
	}
	if src := doc.Find(`script[src="` + static.URL("js/admin_links.js") + `"]`); src.Length() != 1 || src.AttrOr("nonce", "") == "" || src.AttrOr("type", "") != "module" {
		t.Error("the live progress script is not loaded as a module with the CSP nonce")
	}
	if testID(doc, "link-detail").AttrOr("data-progress-url", "") != "/admin/links/"+l.ID+"/progress" {
		t.Error("the page does not say where to poll")
	}

	if _, err := pw.Write(data[sent:u.ChunkSize]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if p = a.progress(t, l); p.Uploads[0].Received != u.ChunkSize {
		t.Errorf("after part 1: received %d, want %d", p.Uploads[0].Received, u.ChunkSize)
	}
	if _, err := putPart(a, l, u, data, 2); err != nil {
		t.Fatal(err)
	}
	p = a.progress(t, l)
	if up := p.Uploads[0]; up.Status != "completed" || up.Received != int64(size) || up.Percent != 100 {
		t.Errorf("after the last part: %+v", up)
	}

	// A refused upload: a PNG on a video link.
	png, err := os.ReadFile("links/testdata/image.png")
	if err != nil {
		t.Fatal(err)
	}
	u2, _, err := a.Links.Start(ctx, l.ID, links.StartRequest{Filename: "x.png", Size: int64(len(png)), Name: "Bo", Email: "bo@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Links.PutPart(ctx, l.ID, u2.VideoID, 1, int64(len(png)), bytes.NewReader(png)); err == nil {
		t.Fatal("a PNG was accepted on a video link")
	}

	doc = a.getPage(t, "/admin/links/"+l.ID)
	kinds := eventKinds(doc)
	for _, want := range []string{"opened", "started", "completed", "refused"} {
		if !slices.Contains(kinds, want) {
			t.Errorf("timeline %q has no %s event", kinds, want)
		}
	}
	refused := testID(doc, "event").FilterFunction(func(_ int, s *goquery.Selection) bool { return s.AttrOr("data-kind", "") == "refused" })
	if !strings.Contains(refused.Text(), "not accepted") {
		t.Errorf("the refusal does not say why: %q", refused.Text())
	}
	// Events name their file, never a video ID.
	if got, want := strings.TrimSpace(refused.Find(`[data-testid="event-file"]`).Text()), "x.png"; got != want {
		t.Errorf("the refusal names file %q, want=%q", got, want)
	}
	if timeline := testID(doc, "timeline").Text(); strings.Contains(timeline, u.VideoID) || strings.Contains(timeline, u2.VideoID) {
		t.Errorf("the timeline shows video IDs: %q", timeline)
	}
	statuses := map[string]string{}
	testID(doc, "upload-row").Each(func(_ int, s *goquery.Selection) {
		statuses[s.AttrOr("data-upload-id", "")] = s.AttrOr("data-status", "")
	})
	if statuses[u.ID] != "completed" || statuses[u2.ID] != "released" {
		t.Errorf("upload statuses %v", statuses)
	}

	// Signed out, the progress is refused with 401, not a redirect.
	anon := &adminApp{App: a.App, Client: newClient(t)}
	resp, _ := anon.getResponse(t, "/admin/links/"+l.ID+"/progress", http.Header{"Accept": {"application/json"}})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("progress without a session: %d, want 401", resp.StatusCode)
	}
}

func TestLinkPagesEscapeLabels(t *testing.T) {
	a := newAdminApp(t)
	const evil = `<script>alert("x")</script><img src=x onerror=alert(1)>`
	f := mintForm()
	f.Set("label", evil)
	f.Set("message", evil)
	status, _, loc := a.postForm(t, "/admin/links", f)
	if status != http.StatusSeeOther {
		t.Fatalf("mint: %d", status)
	}
	for _, path := range []string{"/admin/links", loc, "/admin/links?q=" + url.QueryEscape("<script>")} {
		_, body := a.get(t, path)
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
			t.Errorf("%s renders the label unescaped", path)
		}
		if !strings.Contains(body, "&lt;script&gt;") {
			t.Errorf("%s does not show the label escaped", path)
		}
		doc := parseHTML(t, body)
		if doc.Find("script:not([src])").Length() != 0 || doc.Find("img[onerror]").Length() != 0 {
			t.Errorf("%s has an injected element", path)
		}
	}
	// The invalid form shows what was typed escaped too.
	f.Set("expiryValue", "x")
	_, body, _ := a.postForm(t, "/admin/links", f)
	if strings.Contains(body, "<script>alert") {
		t.Error("the form with errors renders the label unescaped")
	}
}

func TestLinkNotFound(t *testing.T) {
	a := newAdminApp(t)
	for _, path := range []string{"/admin/links/AAAAAAAAAAAAAAAAAAAAAA", "/admin/links/nope"} {
		if status, _ := a.get(t, path); status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, status)
		}
	}
	for _, action := range []string{"extend"} {
		if status, _, _ := a.postForm(t, "/admin/links/AAAAAAAAAAAAAAAAAAAAAA/"+action, url.Values{"expiry": {"1h"}}); status != http.StatusNotFound {
			t.Errorf("POST %s on an unknown link: %d, want 404", action, status)
		}
	}
}

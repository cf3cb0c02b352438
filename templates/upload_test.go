package templates_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/a-h/templ"
	"golang.org/x/net/html"

	"github.com/uplink-video/uplink/templates"
)

func uploadPage() templates.UploadPage {
	return templates.UploadPage{
		Page:            templates.Page{Title: "Holiday videos", CSS: "/static/css/app.css"},
		LinkID:          "AbCdEfGhIjKlMnOpQrStUv",
		Label:           "Holiday videos",
		Message:         "Hi!\nPlease send the raw files.",
		ClosesText:      "Closes in 3 days",
		ClosesAt:        "2030-01-02T03:04:05Z",
		MaxUploadsText:  "Up to 5 uploads (3 left)",
		Remaining:       3,
		MaxSize:         10 << 30,
		MaxSizeText:     "Up to 10 GiB per file",
		TypesText:       "Video files (MP4, QuickTime MOV, WebM, ...)",
		Accept:          "video/*",
		ChunkSize:       16 << 20,
		EmbedOrigins:    []string{"https://example.com"},
		ScriptURL:       "/static/js/uploader.js",
		ModuleURLs:      []string{"/static/js/codes.0123456789.js", "/static/js/engine.0123456789.js"},
		Nonce:           "n0nce123",
		MaxUploads:      5,
		Types:           []string{"mp4", "webm"},
		TypesInSentence: "MP4, WebM files",
	}
}

// render renders c and parses the result.
func render(t *testing.T, ctx context.Context, c templ.Component) (string, *html.Node) {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Render(ctx, &buf); err != nil {
		t.Fatalf("Render: %v", err)
	}
	doc, err := html.Parse(strings.NewReader(buf.String()))
	if err != nil {
		t.Fatalf("html.Parse: %v", err)
	}
	return buf.String(), doc
}

// find returns the nodes below n (template contents included) for which
// match is true.
func find(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func byTestID(doc *html.Node, id string) []*html.Node {
	return find(doc, func(n *html.Node) bool { v, _ := attr(n, "data-testid"); return v == id })
}

func byTag(doc *html.Node, tag string) []*html.Node {
	return find(doc, func(n *html.Node) bool { return n.Data == tag })
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.TrimSpace(b.String())
}

func TestUploadHasTheUploaderElements(t *testing.T) {
	_, doc := render(t, context.Background(), templates.Upload(uploadPage()))
	for _, id := range []string{
		"uploader", "label", "message", "closes", "max-uploads", "max-size", "types",
		"error", "upload-form", "file-input", "drop-zone", "files", "title", "description",
		"start", "keep-open", "done", "announcer",
		// The row template, cloned by the uploader for each file.
		"upload-row", "progress", "percent", "status", "pause", "resume", "cancel",
		"receipt", "receipt-name", "receipt-size", "receipt-sha256", "receipt-time",
	} {
		if got, want := len(byTestID(doc, id)), 1; got != want {
			t.Errorf("elements with data-testid=%q: %d, want=%d", id, got, want)
		}
	}
	for _, id := range []string{"uploader-name", "uploader-email"} {
		if got := len(byTestID(doc, id)); got != 0 {
			t.Errorf("data-testid=%q present without AskName", id)
		}
	}
	if got, want := text(byTestID(doc, "closes")[0]), "Closes in 3 days"; got != want {
		t.Errorf("closes=%q, want=%q", got, want)
	}
	if times := byTag(byTestID(doc, "closes")[0], "time"); len(times) != 1 {
		t.Errorf("closes has %d <time>, want=1", len(times))
	} else if got, _ := attr(times[0], "datetime"); got != "2030-01-02T03:04:05Z" {
		t.Errorf("datetime=%q", got)
	}
	if got, want := text(byTestID(doc, "message")[0]), "Hi!\nPlease send the raw files."; got != want {
		t.Errorf("message=%q, want=%q", got, want)
	}
}

func TestUploadFileInput(t *testing.T) {
	for _, tt := range []struct {
		description  string
		remaining    int
		accept       string
		wantMultiple bool
		wantZone     string
	}{
		{description: "one-time link", remaining: 1, accept: "video/*", wantMultiple: false, wantZone: "Choose video"},
		{description: "all slots held by unfinished uploads", remaining: 0, accept: "video/*", wantMultiple: false, wantZone: "Choose video"},
		{description: "several left", remaining: 3, accept: "video/*", wantMultiple: true, wantZone: "Choose videos"},
		{description: "unlimited, any file", remaining: -1, accept: "", wantMultiple: true, wantZone: "Choose files"},
	} {
		t.Run(tt.description, func(t *testing.T) {
			m := uploadPage()
			m.Remaining, m.Accept = tt.remaining, tt.accept
			_, doc := render(t, context.Background(), templates.Upload(m))
			in := byTestID(doc, "file-input")[0]
			if got, _ := attr(in, "type"); got != "file" {
				t.Errorf("type=%q, want=file", got)
			}
			if _, got := attr(in, "multiple"); got != tt.wantMultiple {
				t.Errorf("multiple=%v, want=%v", got, tt.wantMultiple)
			}
			accept, has := attr(in, "accept")
			if tt.accept == "" && has {
				t.Errorf("accept=%q, want none", accept)
			} else if tt.accept != "" && accept != tt.accept {
				t.Errorf("accept=%q, want=%q", accept, tt.accept)
			}
			// The input sits inside the drop zone, a <label>, so that the
			// zone opens the picker and the keyboard reaches it.
			zone := byTestID(doc, "drop-zone")[0]
			if zone.Data != "label" {
				t.Errorf("drop zone is <%s>, want <label>", zone.Data)
			}
			if len(byTestID(zone, "file-input")) != 1 {
				t.Error("file input is not inside the drop zone")
			}
			if got := text(zone); !strings.HasPrefix(got, tt.wantZone) {
				t.Errorf("drop zone text=%q, want prefix %q", got, tt.wantZone)
			}
		})
	}
}

func TestUploadDataAttributes(t *testing.T) {
	m := uploadPage()
	m.AskName = true
	m.Embed = true
	m.EmbedOrigins = []string{"https://a.example", "https://b.example:8443"}
	_, doc := render(t, context.Background(), templates.Upload(m))
	root := byTestID(doc, "uploader")[0]
	for _, tt := range []struct{ key, want string }{
		{"id", "uploader"},
		{"data-link-id", "AbCdEfGhIjKlMnOpQrStUv"},
		{"data-uploads-url", "/u/AbCdEfGhIjKlMnOpQrStUv/uploads"},
		{"data-chunk-size", "16777216"},
		{"data-remaining", "3"},
		{"data-max-size", "10737418240"},
		{"data-embed", "true"},
		{"data-ask-name", "true"},
		{"data-state-url", "/u/AbCdEfGhIjKlMnOpQrStUv/state"},
		{"data-max-uploads", "5"},
		{"data-types", `["mp4","webm"]`},
		{"data-types-text", "MP4, WebM files"},
		{"data-closed", ""},
	} {
		if got, _ := attr(root, tt.key); got != tt.want {
			t.Errorf("%s=%q, want=%q", tt.key, got, tt.want)
		}
	}
	raw, _ := attr(root, "data-embed-origins")
	var origins []string
	if err := json.Unmarshal([]byte(raw), &origins); err != nil {
		t.Fatalf("data-embed-origins=%q: %v", raw, err)
	}
	if got, want := strings.Join(origins, " "), "https://a.example https://b.example:8443"; got != want {
		t.Errorf("origins=%q, want=%q", got, want)
	}
	for _, id := range []string{"uploader-name", "uploader-email"} {
		in := byTestID(doc, id)
		if len(in) != 1 {
			t.Fatalf("data-testid=%q: %d elements, want=1", id, len(in))
		}
		if _, ok := attr(in[0], "required"); !ok {
			t.Errorf("%s is not required", id)
		}
	}

	m.EmbedOrigins = nil
	_, doc = render(t, context.Background(), templates.Upload(m))
	if got, _ := attr(byTestID(doc, "uploader")[0], "data-embed-origins"); got != "[]" {
		t.Errorf("data-embed-origins=%q for no origins, want=[]", got)
	}
}

// Every form control needs a label: a <label for>, or being inside one.
func TestUploadControlsAreLabelled(t *testing.T) {
	m := uploadPage()
	m.AskName = true
	_, doc := render(t, context.Background(), templates.Upload(m))
	labelled := map[string]bool{}
	for _, l := range byTag(doc, "label") {
		if f, ok := attr(l, "for"); ok {
			labelled[f] = true
		}
		for _, in := range find(l, func(n *html.Node) bool { return n.Data == "input" }) {
			id, _ := attr(in, "id")
			labelled[id] = true
		}
	}
	for _, n := range find(doc, func(n *html.Node) bool { return n.Data == "input" || n.Data == "textarea" }) {
		id, _ := attr(n, "id")
		if id == "" || !labelled[id] {
			tid, _ := attr(n, "data-testid")
			t.Errorf("control %q (id %q) has no label", tid, id)
		}
	}
	if got := len(find(doc, func(n *html.Node) bool { v, _ := attr(n, "aria-live"); return v == "polite" })); got != 1 {
		t.Errorf("polite live regions: %d, want=1", got)
	}
}

func TestUploadScriptTag(t *testing.T) {
	for _, tt := range []struct {
		description string
		modelNonce  string
		ctxNonce    string
		want        string
	}{
		{description: "nonce from the model", modelNonce: "n0nce123", ctxNonce: "other", want: "n0nce123"},
		{description: "nonce from the context", modelNonce: "", ctxNonce: "fromctx", want: "fromctx"},
	} {
		t.Run(tt.description, func(t *testing.T) {
			m := uploadPage()
			m.Nonce = tt.modelNonce
			ctx := templ.WithNonce(context.Background(), tt.ctxNonce)
			out, doc := render(t, ctx, templates.Upload(m))
			scripts := byTag(doc, "script")
			if len(scripts) != 1 {
				t.Fatalf("scripts=%d, want=1", len(scripts))
			}
			s := scripts[0]
			for _, a := range []struct{ key, want string }{
				{"type", "module"}, {"src", "/static/js/uploader.js"}, {"nonce", tt.want},
			} {
				if got, _ := attr(s, a.key); got != a.want {
					t.Errorf("script %s=%q, want=%q", a.key, got, a.want)
				}
			}
			if s.FirstChild != nil {
				t.Errorf("script has inline content %q", s.FirstChild.Data)
			}
			// The modules the script imports are preloaded, with its nonce.
			var preloads []string
			for _, l := range byTag(doc, "link") {
				if rel, _ := attr(l, "rel"); rel == "modulepreload" {
					href, _ := attr(l, "href")
					preloads = append(preloads, href)
					if got, _ := attr(l, "nonce"); got != tt.want {
						t.Errorf("modulepreload %s nonce=%q, want=%q", href, got, tt.want)
					}
				}
			}
			if got, want := strings.Join(preloads, " "), strings.Join(m.ModuleURLs, " "); got != want {
				t.Errorf("modulepreload=%q, want=%q", got, want)
			}
			// A strict CSP forbids inline handlers and style attributes.
			for _, bad := range []string{" style=", " onclick=", " onload=", " onchange=", "javascript:"} {
				if strings.Contains(out, bad) {
					t.Errorf("output contains %q", bad)
				}
			}
		})
	}
}

func TestUploadEscapesText(t *testing.T) {
	m := uploadPage()
	m.Label = `<script>alert("label")</script>`
	m.Message = `<img src=x onerror=alert(1)> & more`
	m.Page.Title = `<b>title</b>`
	out, doc := render(t, context.Background(), templates.Upload(m))
	for _, raw := range []string{`<script>alert("label")</script>`, `<img src=x`, `<b>title</b>`} {
		if strings.Contains(out, raw) {
			t.Errorf("output contains unescaped %q", raw)
		}
	}
	if !strings.Contains(out, "&lt;script&gt;") {
		t.Error("escaped label not found")
	}
	if got, want := text(byTestID(doc, "label")[0]), m.Label; got != want {
		t.Errorf("label text=%q, want=%q", got, want)
	}
	if got, want := text(byTestID(doc, "message")[0]), m.Message; got != want {
		t.Errorf("message text=%q, want=%q", got, want)
	}
	if got := len(byTag(doc, "img")); got != 0 {
		t.Errorf("img elements=%d, want=0", got)
	}
}

func TestUploadPageAndEmbedChrome(t *testing.T) {
	for _, tt := range []struct {
		description string
		embed       bool
		wantHeader  int
	}{
		{description: "page", embed: false, wantHeader: 1},
		{description: "embed", embed: true, wantHeader: 0},
	} {
		t.Run(tt.description, func(t *testing.T) {
			m := uploadPage()
			m.Embed = tt.embed
			_, doc := render(t, context.Background(), templates.Upload(m))
			if got := len(byTag(doc, "header")); got != tt.wantHeader {
				t.Errorf("headers=%d, want=%d", got, tt.wantHeader)
			}
			var sheets []string
			for _, l := range byTag(doc, "link") {
				if rel, _ := attr(l, "rel"); rel == "stylesheet" {
					href, _ := attr(l, "href")
					sheets = append(sheets, href)
				}
			}
			if got, want := strings.Join(sheets, " "), "/static/css/app.css /static/css/upload.css"; got != want {
				t.Errorf("stylesheets=%q, want=%q", got, want)
			}
			if got := len(byTestID(doc, "uploader")); got != 1 {
				t.Errorf("uploaders=%d, want=1", got)
			}
		})
	}
}

func TestLinkUnavailable(t *testing.T) {
	for _, tt := range []struct {
		description string
		embed       bool
		wantHeader  int
	}{
		{description: "page", embed: false, wantHeader: 1},
		{description: "embed", embed: true, wantHeader: 0},
	} {
		t.Run(tt.description, func(t *testing.T) {
			m := templates.LinkUnavailablePage{
				Page:    templates.Page{Title: "Link unavailable", CSS: "/static/css/app.css"},
				Status:  410,
				Heading: "This link has expired",
				Message: "Ask the person who sent it for a new one. <b>",
				Embed:   tt.embed,
			}
			out, doc := render(t, context.Background(), templates.LinkUnavailable(m))
			if got := len(byTag(doc, "header")); got != tt.wantHeader {
				t.Errorf("headers=%d, want=%d", got, tt.wantHeader)
			}
			if got, want := text(byTestID(doc, "unavailable-heading")[0]), m.Heading; got != want {
				t.Errorf("heading=%q, want=%q", got, want)
			}
			if got, want := text(byTestID(doc, "unavailable-message")[0]), m.Message; got != want {
				t.Errorf("message=%q, want=%q", got, want)
			}
			if got, _ := attr(byTestID(doc, "unavailable")[0], "data-status"); got != "410" {
				t.Errorf("data-status=%q, want=410", got)
			}
			if strings.Contains(out, "<b>") {
				t.Error("message not escaped")
			}
			if got := len(byTestID(doc, "uploader")); got != 0 {
				t.Errorf("uploaders=%d, want=0", got)
			}
		})
	}
}

// The notice of a closed link is always in the page, for the uploader to
// fill in if the link closes while the page is open; the server shows it
// when the link is closed already, and then asks for no field but the
// file.
func TestUploadClosedNotice(t *testing.T) {
	m := uploadPage()
	m.AskName = true
	_, doc := render(t, context.Background(), templates.Upload(m))
	closed := byTestID(doc, "closed")
	if len(closed) != 1 {
		t.Fatalf("closed notices=%d, want=1", len(closed))
	}
	if _, hidden := attr(closed[0], "hidden"); !hidden {
		t.Errorf("the closed notice is shown on an open link's page")
	}
	if got := len(byTestID(doc, "uploader-name")); got != 1 {
		t.Errorf("name fields=%d on an open link asking for it, want=1", got)
	}

	m.Closed = &templates.ClosedNotice{Code: "link-used-up", Heading: "This link has been used.", Message: "Ask for a new one."}
	_, doc = render(t, context.Background(), templates.Upload(m))
	closed = byTestID(doc, "closed")
	if _, hidden := attr(closed[0], "hidden"); hidden {
		t.Errorf("the closed notice is hidden on a closed link's page")
	}
	if got, want := text(byTestID(doc, "closed-heading")[0]), "This link has been used."; got != want {
		t.Errorf("heading=%q, want=%q", got, want)
	}
	if got, _ := attr(byTestID(doc, "uploader")[0], "data-closed"); got != "link-used-up" {
		t.Errorf("data-closed=%q, want=link-used-up", got)
	}
	if got := len(byTestID(doc, "uploader-name")) + len(byTestID(doc, "limits")); got != 0 {
		t.Errorf("a closed link's page asks for a name or lists limits (%d elements)", got)
	}
}

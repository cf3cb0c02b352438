package templates

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/a-h/templ"
)

// UploadPage is the view model of the public upload page and of the embed.
type UploadPage struct {
	Page                  // Title, CSS (existing struct in viewmodels.go).
	LinkID         string // The link's public ID, as in /u/{LinkID}.
	Label          string // Shown as the page's heading.
	Message        string // Shown to the uploader, plain text (may contain newlines).
	ClosesText     string // For example "Closes in 3 days" or "Never closes".
	ClosesAt       string // RFC 3339, for a <time datetime>; "" when it never closes.
	MaxUploadsText string // "One upload" / "Up to 5 uploads (3 left)" / "" for unlimited.
	Remaining      int    // Uploads left; -1 for unlimited.
	MaxUploads     int    // How many uploads the link takes in all; 0 for any number.
	MaxSize        int64  // Bytes; 0 means no limit.
	MaxSizeText    string // "Up to 10 GiB per file" or "".
	TypesText      string // "Video files (MP4, QuickTime MOV, WebM, ...)" or "Any file".
	// Types are the link's allowed types ("video", "any", or format
	// names of package sniff), and TypesInSentence the words for them in
	// the middle of a sentence ("video files (MP4, ...)"): the uploader
	// checks a file's first bytes with them before sending anything.
	Types           []string
	TypesInSentence string
	Accept          string   // Value for <input type=file accept=...>, e.g. "video/*" or "".
	AskName         bool     // Show required name and email inputs.
	ChunkSize       int64    // Bytes per part (informative; the session's chunkSize wins).
	Embed           bool     // Render without page chrome (no header), for /embed/{id}.
	EmbedOrigins    []string // Origins allowed to embed; ["*"] means any. postMessage targets.
	ScriptURL       string   // URL of the uploader module.
	// ModuleURLs are the URLs of the modules the uploader imports, for
	// <link rel="modulepreload">: the browser fetches them at once.
	ModuleURLs []string
	// Nonce is the CSP nonce for the module script tag. When it is empty,
	// the nonce set on the context with templ.WithNonce is used.
	Nonce string
	// UploadCSS is the URL of the uploader's stylesheet, loaded after
	// Page.CSS. It defaults to "/static/css/upload.css".
	UploadCSS string
	// Closed is set when the link takes no new uploads (it expired or is
	// used up) but has uploads that may still be resumed, or whose
	// receipt may be asked for again: the page then says why the link is
	// closed and asks only for the same file.
	Closed *ClosedNotice
}

// ClosedNotice says why a link takes no new uploads.
type ClosedNotice struct {
	Code    string // The refusal's code, such as "link-expired".
	Heading string // "This link has expired."
	Message string // What to do for a new upload.
}

// LinkUnavailablePage is shown instead when a link is unknown (404) or
// expired/revoked/used up (410).
type LinkUnavailablePage struct {
	Page
	Status  int
	Heading string // "This link has expired" / "This link was revoked" / "This link has been used" / "Link not found".
	Message string // Plain words about what to do ("Ask the person who sent it for a new one.").
	Embed   bool   // Render without page chrome (no header), for /embed/{id}.
	// UploadCSS is as in UploadPage; it styles the embed variant.
	UploadCSS string
}

const defaultUploadCSS = "/static/css/upload.css"

func (m UploadPage) uploadCSS() string {
	if m.UploadCSS == "" {
		return defaultUploadCSS
	}
	return m.UploadCSS
}

// uploadsURL is where the uploader opens sessions (call 1 of the
// upload protocol); the other calls are below it.
func (m UploadPage) uploadsURL() string {
	return "/u/" + url.PathEscape(m.LinkID) + "/uploads"
}

// stateURL is where the uploader asks about the link while the page is
// open.
func (m UploadPage) stateURL() string {
	return "/u/" + url.PathEscape(m.LinkID) + "/state"
}

// typesJSON is Types as a JSON array, never "null".
func (m UploadPage) typesJSON() string { return jsonList(m.Types) }

// closedCode is the code of why the link takes no new uploads, or "".
func (m UploadPage) closedCode() string {
	if m.Closed == nil {
		return ""
	}
	return m.Closed.Code
}

// embedOriginsJSON is EmbedOrigins as a JSON array, never "null".
func (m UploadPage) embedOriginsJSON() string { return jsonList(m.EmbedOrigins) }

func jsonList(list []string) string {
	if list == nil {
		list = []string{}
	}
	b, err := json.Marshal(list)
	if err != nil { // Cannot happen for a []string.
		return "[]"
	}
	return string(b)
}

// noun names what the link takes: "video" when it only takes videos,
// "file" otherwise, in the plural when more than one may be uploaded.
func (m UploadPage) noun() string {
	n := "file"
	if strings.Contains(m.Accept, "video") {
		n = "video"
	}
	if m.multiple() {
		n += "s"
	}
	return n
}

// multiple reports whether the file picker takes several files. With
// Remaining 0 the page still takes one file: the slots are held by
// unfinished uploads, and the person may be coming back to resume one.
func (m UploadPage) multiple() bool { return m.Remaining < 0 || m.Remaining > 1 }

func (m LinkUnavailablePage) uploadCSS() string {
	if m.UploadCSS == "" {
		return defaultUploadCSS
	}
	return m.UploadCSS
}

// nonce is the CSP nonce for a script tag: the view model's, else the
// one set on the context with templ.WithNonce.
func nonce(ctx context.Context, fromModel string) string {
	if fromModel != "" {
		return fromModel
	}
	return templ.GetNonce(ctx)
}

func pronoun(plural bool) string {
	if plural {
		return "them"
	}
	return "it"
}

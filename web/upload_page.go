package web

import (
	"errors"
	"fmt"
	"net/http"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/uplink-video/uplink/static"
	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/templates"
	"github.com/uplink-video/uplink/web/links"
)

// handleUploadPage handles "GET /u/:id": the public upload page.
func (s *Server) handleUploadPage(c echo.Context) error {
	return s.renderUploader(c, false)
}

// handleEmbed handles "GET /embed/:id": the uploader without page chrome,
// for an iframe on the origins the link allows.
func (s *Server) handleEmbed(c echo.Context) error {
	return s.renderUploader(c, true)
}

func (s *Server) renderUploader(c echo.Context, embed bool) error {
	open := s.links.Open
	if c.Request().Method == http.MethodHead {
		// HEAD comes from uptime checks and link previews, not from
		// someone opening the page: it records no visit.
		open = s.links.Peek
	}
	l, err := open(c.Request().Context(), c.Param("id"))
	var ref *links.Refusal
	if errors.As(err, &ref) {
		if embed && l.ID != "" {
			allowFraming(c, l.EmbedOrigins)
		}
		if resumable(l, ref) && (!embed || len(frameOrigins(l.EmbedOrigins)) > 0) {
			m := s.uploadPage(c, l, embed)
			m.Closed = &templates.ClosedNotice{Code: ref.Code, Heading: ref.Title, Message: ref.Detail}
			m.Remaining = -1 // The server decides which file may go on.
			return render(c, ref.Status, templates.Upload(m))
		}
		return s.renderUnavailable(c, ref.Status, ref.Title, ref.Detail, embed)
	}
	if err != nil {
		return err
	}
	if embed {
		if len(frameOrigins(l.EmbedOrigins)) == 0 {
			return s.renderUnavailable(c, http.StatusForbidden, "This link cannot be embedded.",
				"Open it in its own tab instead: "+s.links.URL(l), true)
		}
		allowFraming(c, l.EmbedOrigins)
	}
	return render(c, http.StatusOK, templates.Upload(s.uploadPage(c, l, embed)))
}

// resumable reports whether a link that takes no new uploads has some
// that the page must still serve: an upload started before the link
// expired may go on after (its lease is the clock that counts), and the
// recipient whose answer to the last part was lost gets the receipt by
// choosing the same file again (api-contract.md 11.4). A revoked link
// ends everything.
func resumable(l store.Link, ref *links.Refusal) bool {
	switch ref.Code {
	case links.CodeLinkExpired, links.CodeLinkUsedUp:
		return l.InFlight > 0 || l.Completed > 0
	}
	return false
}

func (s *Server) renderUnavailable(c echo.Context, status int, heading, message string, embed bool) error {
	return render(c, status, templates.LinkUnavailable(templates.LinkUnavailablePage{
		Page: s.brandedPage(c, heading), Status: status, Heading: heading, Message: message, Embed: embed,
		UploadCSS: static.URL("css/upload.css"),
	}))
}

// uploadPage builds the upload page's view model.
func (s *Server) uploadPage(c echo.Context, l store.Link, embed bool) templates.UploadPage {
	now := s.store.Now()
	m := templates.UploadPage{
		Page:       s.brandedPage(c, l.Label),
		LinkID:     l.ID,
		Label:      l.Label,
		Message:    l.Message,
		ClosesText: links.ClosesText(l.ExpiresAt, now),
		Remaining:  l.Remaining(),
		MaxUploads: l.MaxUploads,
		MaxSize:    l.MaxSize,
		TypesText:  capitalize(links.TypesText(l.AllowedTypes)),
		Types:      l.AllowedTypes,
		// The uploader refuses a file of another type in the words of
		// links.checkType, which say "This link takes video files (...)".
		TypesInSentence: links.TypesText(l.AllowedTypes),
		Accept:          accept(l.AllowedTypes),
		AskName:         l.AskName,
		ChunkSize:       s.chunkSize,
		Embed:           embed,
		EmbedOrigins:    frameOrigins(l.EmbedOrigins),
		ScriptURL:       static.URL("js/uploader.js"),
		ModuleURLs:      static.ImportURLs("js/uploader.js"),
		UploadCSS:       static.URL("css/upload.css"),
		Nonce:           nonce(c),
	}
	if l.ExpiresAt != nil {
		m.ClosesAt = l.ExpiresAt.Format(time.RFC3339)
	}
	switch {
	case l.MaxUploads == 1 && l.InFlight > 0:
		m.MaxUploadsText = "One upload, in progress: to continue it, choose the same file again"
	case l.MaxUploads == 1:
		m.MaxUploadsText = "One upload"
	case l.MaxUploads > 1:
		m.MaxUploadsText = fmt.Sprintf("Up to %d uploads (%d left)", l.MaxUploads, l.Remaining())
	}
	if l.MaxSize > 0 {
		m.MaxSizeText = "Up to " + links.FormatBytes(l.MaxSize) + " per file"
	}
	return m
}

// accept is the file picker's accept attribute for the link's types. It is
// a convenience only: the server checks the content.
func accept(types []string) string {
	for _, t := range types {
		if t == "any" {
			return ""
		}
	}
	return "video/*,.mp4,.m4v,.mov,.webm,.mkv,.avi,.ts,.mts,.m2ts,.mpg,.mpeg,.flv,.wmv,.3gp"
}

// capitalize upper-cases the first letter of s.
func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// brandedPage is s.page with the install's branding, for the pages
// recipients see.
func (s *Server) brandedPage(c echo.Context, title string) templates.Page {
	p := s.page(title)
	p.Brand = s.brand(c)
	return p
}

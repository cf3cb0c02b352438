package web

import (
	"context"
	"errors"
	"fmt"
	"html"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/uplink-video/uplink/static"
	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/templates"
	"github.com/uplink-video/uplink/web/links"
)

// Dashboard screens for links: the list, a link's page with its live
// uploads and timeline, and the actions on a link. The mint form is in
// admin_links_form.go.

const (
	linksPerPage = 25
	// linkEventsShown is how many of a link's latest events its page shows.
	linkEventsShown = 200
)

// linkStateTexts names the states of a link for people.
var linkStateTexts = map[string]string{
	store.LinkActive:  "Active",
	store.LinkExpired: "Expired",
	store.LinkUsedUp:  "Used up",
	store.LinkRevoked: "Revoked",
}

// handleLinkList handles "GET /admin/links": search by label, filter by
// state, order, and pages of 25, all in the query so that pages can be
// linked to.
func (s *Server) handleLinkList(c echo.Context) error {
	ctx := c.Request().Context()
	f := templates.LinkListFilter{
		Label: strings.TrimSpace(c.QueryParam("q")),
		State: c.QueryParam("state"),
		Sort:  c.QueryParam("sort"),
		Dir:   c.QueryParam("dir"),
	}
	if _, ok := linkStateTexts[f.State]; !ok {
		f.State = ""
	}
	switch store.LinkSort(f.Sort) {
	case store.LinkSortCreated, store.LinkSortExpiry, store.LinkSortLabel:
	default:
		f.Sort = string(store.LinkSortCreated)
	}
	if f.Dir != "asc" {
		f.Dir = "desc"
	}
	page, _ := strconv.Atoi(c.QueryParam("page"))
	page = min(max(page, 1), math.MaxInt32)

	find := func(page int) ([]store.Link, int, error) {
		return s.store.FindLinks(ctx, store.LinkFilter{
			Label: f.Label, State: f.State, Sort: store.LinkSort(f.Sort), Desc: f.Dir == "desc",
			Page: store.Page{Number: page, Size: linksPerPage},
		})
	}
	rows, total, err := find(page)
	if err != nil {
		return err
	}
	pages := max((total+linksPerPage-1)/linksPerPage, 1)
	if page > pages {
		// A page past the end (the list shrank, or a hand-made URL)
		// shows the last one.
		page = pages
		if rows, total, err = find(page); err != nil {
			return err
		}
	}

	title := "Links"
	if page > 1 {
		title = fmt.Sprintf("Links, page %d", page)
	}
	m := templates.LinkListPage{
		AdminPage: s.adminPage(c, title, "links"),
		Filter:    f,
		Total:     total,
		Nav:       pageNav(page, pages, func(n int) string { return linkListURL(f, n) }),
		Filtered:  f.Label != "" || f.State != "",
	}
	m.States = []templates.Choice{{Value: "", Label: "All", Checked: f.State == ""}}
	for _, st := range []string{store.LinkActive, store.LinkExpired, store.LinkUsedUp, store.LinkRevoked} {
		m.States = append(m.States, templates.Choice{Value: st, Label: linkStateTexts[st], Checked: f.State == st})
	}
	m.Sorts = []templates.Choice{
		{Value: string(store.LinkSortCreated), Label: "Created", Checked: f.Sort == string(store.LinkSortCreated)},
		{Value: string(store.LinkSortExpiry), Label: "Expiry", Checked: f.Sort == string(store.LinkSortExpiry)},
		{Value: string(store.LinkSortLabel), Label: "Label", Checked: f.Sort == string(store.LinkSortLabel)},
	}
	m.Dirs = []templates.Choice{
		{Value: "desc", Label: "Descending", Checked: f.Dir == "desc"},
		{Value: "asc", Label: "Ascending", Checked: f.Dir == "asc"},
	}
	if total == 0 && !m.Filtered {
		m.NoLinks = true
	}
	now := s.store.Now()
	for _, l := range rows {
		m.Rows = append(m.Rows, linkRow(l, now))
	}
	return render(c, http.StatusOK, templates.LinkList(m))
}

// linkListURL returns the URL of a page of the list with the same filter
// and order. Defaults are left out to keep URLs short.
func linkListURL(f templates.LinkListFilter, page int) string {
	q := url.Values{}
	if f.Label != "" {
		q.Set("q", f.Label)
	}
	if f.State != "" {
		q.Set("state", f.State)
	}
	if f.Sort != string(store.LinkSortCreated) {
		q.Set("sort", f.Sort)
	}
	if f.Dir != "desc" {
		q.Set("dir", f.Dir)
	}
	if page > 1 {
		q.Set("page", strconv.Itoa(page))
	}
	if len(q) == 0 {
		return "/admin/links"
	}
	return "/admin/links?" + q.Encode()
}

func linkRow(l store.Link, now time.Time) templates.LinkRow {
	state := l.State(now)
	r := templates.LinkRow{
		ID:          l.ID,
		URL:         "/admin/links/" + l.ID,
		Label:       l.Label,
		State:       state,
		StateText:   linkStateTexts[state],
		UploadsText: linkUploadsText(l),
		ExpiresText: "Never",
		CreatedAt:   linkTime(l.CreatedAt),
		CreatedISO:  l.CreatedAt.Format(time.RFC3339),
	}
	if l.ExpiresAt != nil {
		r.ExpiresText = relativeTime(*l.ExpiresAt, now)
		r.ExpiresAt = linkTime(*l.ExpiresAt)
		r.ExpiresISO = l.ExpiresAt.Format(time.RFC3339)
	}
	return r
}

// linkUploadsText says how many uploads completed of how many allowed.
func linkUploadsText(l store.Link) string {
	if l.MaxUploads == 0 {
		return fmt.Sprintf("%d / unlimited", l.Completed)
	}
	return fmt.Sprintf("%d / %d", l.Completed, l.MaxUploads)
}

// handleLinkDetail handles "GET /admin/links/:id".
func (s *Server) handleLinkDetail(c echo.Context) error {
	l, err := s.store.FindLink(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	m, err := s.linkDetail(c, l)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, templates.LinkDetail(m))
}

// linkDetail builds a link's page.
func (s *Server) linkDetail(c echo.Context, l store.Link) (templates.LinkDetailPage, error) {
	ctx := c.Request().Context()
	uploads, err := s.store.ListLinkUploads(ctx, l.ID)
	if err != nil {
		return templates.LinkDetailPage{}, err
	}
	events, err := s.store.ListLinkEvents(ctx, l.ID, linkEventsShown)
	if err != nil {
		return templates.LinkDetailPage{}, err
	}
	now := s.store.Now()
	state := l.State(now)
	m := templates.LinkDetailPage{
		AdminPage:    s.adminPage(c, l.Label, "links"),
		ID:           l.ID,
		Label:        l.Label,
		Message:      l.Message,
		URL:          s.links.URL(l),
		QRURL:        "/admin/links/" + l.ID + "/qr.svg",
		EmbedURL:     s.links.EmbedURL(l),
		EmbedOrigins: l.EmbedOrigins,
		State:        state,
		StateText:    linkStateTexts[state],
		Settings:     linkSettings(l, now),
		CanRevoke:    l.RevokedAt == nil,
		CanExtend:    l.RevokedAt == nil,
		Extend:       expiryInput("", "", ""),
		ProgressURL:  "/admin/links/" + l.ID + "/progress",
		ScriptURL:    static.URL("js/admin_links.js"),
		Live:         state == store.LinkActive,
	}
	if len(l.EmbedOrigins) > 0 {
		m.EmbedSnippet = embedSnippet(m.EmbedURL)
	}
	m.Closed = closedReason(l, state)
	var ids []string
	for _, u := range uploads {
		if u.VideoID != "" {
			ids = append(ids, u.VideoID)
		}
	}
	thumbs, err := s.store.FindThumbnails(ctx, ids)
	if err != nil {
		return m, err
	}
	held, err := s.store.FindVideosHeld(ctx, ids)
	if err != nil {
		return m, err
	}
	for _, u := range uploads {
		if u.VideoID != "" && !held[u.VideoID] {
			// A completed upload whose video this server no longer holds
			// was deleted: it leaves the list (it still counts against the
			// link's limit). In upstream mode the videos are on the remote
			// host: the row stays, without a link to a page here.
			if u.Status == store.LinkUploadCompleted && !s.links.Upstream() {
				continue
			}
		}
		row := s.uploadRow(ctx, u)
		if !held[u.VideoID] {
			row.VideoURL = ""
		}
		if at, ok := thumbs[u.VideoID]; ok && u.Status == store.LinkUploadCompleted {
			row.ThumbnailURL = thumbnailURL(u.VideoID, &at)
		}
		m.Uploads = append(m.Uploads, row)
		m.Live = m.Live || row.InFlight
	}
	files := map[string]string{}
	for _, u := range uploads {
		if u.VideoID != "" {
			files[u.VideoID] = u.Filename
		}
	}
	for _, e := range events {
		m.Events = append(m.Events, eventRow(e, files))
	}
	return m, nil
}

// embedSnippet is the HTML that embeds a link's uploader, as the README
// documents it.
func embedSnippet(src string) string {
	return `<iframe src="` + html.EscapeString(src) + `" style="width:100%;border:0;min-height:420px"` +
		"\n" + `        allow="screen-wake-lock" title="Upload a video"></iframe>`
}

var uploadStatusTexts = map[string]string{
	store.LinkUploadStarting:  "Starting",
	store.LinkUploadUploading: "Uploading",
	store.LinkUploadCompleted: "Completed",
	store.LinkUploadReleased:  "Stopped",
}

func (s *Server) uploadRow(ctx context.Context, u store.LinkUpload) templates.UploadRow {
	got := s.links.Received(ctx, u)
	r := templates.UploadRow{
		ID:           u.ID,
		VideoID:      u.VideoID,
		Filename:     u.Filename,
		Title:        u.Title,
		Status:       u.Status,
		StatusText:   uploadStatusTexts[u.Status],
		Size:         u.Size,
		SizeText:     links.FormatBytes(u.Size),
		Received:     got,
		ReceivedText: links.FormatBytes(got),
		Percent:      percent(got, u.Size),
		InFlight:     u.Status == store.LinkUploadStarting || u.Status == store.LinkUploadUploading,
		StartedAt:    linkTime(u.StartedAt),
		StartedISO:   u.StartedAt.Format(time.RFC3339),
	}
	if u.VideoID != "" {
		r.VideoURL = "/admin/videos/" + u.VideoID
	}
	if u.UploaderName != "" {
		r.Uploader = u.UploaderName + " <" + u.UploaderEmail + ">"
	}
	switch u.Status {
	case store.LinkUploadCompleted:
		r.Detail = "SHA-256 " + u.SHA256
	case store.LinkUploadReleased:
		r.Detail = u.ReleasedReason
	}
	return r
}

// upperFirst capitalises the first letter of s.
func upperFirst(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

func percent(n, of int64) int {
	if of <= 0 {
		return 0
	}
	return int(n * 100 / of)
}

// linkProgress is the JSON that a link's page polls for live progress.
type linkProgress struct {
	State   string           `json:"state"`
	Live    bool             `json:"live"` // Worth polling again.
	Uploads []uploadProgress `json:"uploads"`
}

type uploadProgress struct {
	ID           string `json:"id"`
	VideoID      string `json:"videoId,omitempty"`
	Status       string `json:"status"`
	StatusText   string `json:"statusText"`
	Filename     string `json:"filename"`
	Size         int64  `json:"size"`
	Received     int64  `json:"received"`
	Percent      int    `json:"percent"`
	ReceivedText string `json:"receivedText"`
	SizeText     string `json:"sizeText"`
}

// handleLinkProgress handles "GET /admin/links/:id/progress": the state
// of the link's uploads, with the bytes of parts in flight.
func (s *Server) handleLinkProgress(c echo.Context) error {
	ctx := c.Request().Context()
	l, err := s.store.FindLink(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	uploads, err := s.store.ListLinkUploads(ctx, l.ID)
	if err != nil {
		return err
	}
	p := linkProgress{State: l.State(s.store.Now()), Uploads: []uploadProgress{}}
	p.Live = p.State == store.LinkActive
	for _, u := range uploads {
		r := s.uploadRow(ctx, u)
		p.Live = p.Live || r.InFlight
		p.Uploads = append(p.Uploads, uploadProgress{
			ID: r.ID, VideoID: r.VideoID, Status: r.Status, StatusText: r.StatusText, Filename: r.Filename,
			Size: r.Size, Received: r.Received, Percent: r.Percent, ReceivedText: r.ReceivedText, SizeText: r.SizeText,
		})
	}
	return c.JSON(http.StatusOK, p)
}

// handleLinkRevoke handles "POST /admin/links/:id/revoke". Uploads in
// progress stop at their next part. Revoking twice is not an error.
func (s *Server) handleLinkRevoke(c echo.Context) error {
	id := c.Param("id")
	if _, err := s.links.Revoke(c.Request().Context(), id); err != nil && !errors.Is(err, store.ErrConflict) {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/links/"+id+"?done=link-revoked")
}

// handleLinkExtend handles "POST /admin/links/:id/extend": a new expiry,
// counted from now, or never. A wrong value shows the link's page again
// with the error next to the expiry.
func (s *Server) handleLinkExtend(c echo.Context) error {
	ctx := c.Request().Context()
	l, err := s.store.FindLink(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	in := expiryInput(c.FormValue("expiry"), c.FormValue("expiryValue"), c.FormValue("expiryUnit"))
	ttl, msg := parseExpiry(c.FormValue("expiry"), c.FormValue("expiryValue"), c.FormValue("expiryUnit"))
	if msg == "" {
		_, err = s.links.Extend(ctx, l.ID, ttl)
		var fe links.FieldErrors
		switch {
		case err == nil:
			return c.Redirect(http.StatusSeeOther, "/admin/links/"+l.ID+"?done=link-extended")
		case errors.As(err, &fe):
			msg = fe["ttl"]
		case errors.Is(err, links.ErrRevoked):
			msg = "This link is revoked: it cannot be opened again. Duplicate it to make a new one."
		default:
			return err
		}
	}
	m, err := s.linkDetail(c, l)
	if err != nil {
		return err
	}
	m.Extend, m.ExtendError = in, msg
	m.Title = "Error: " + m.Title
	return render(c, http.StatusUnprocessableEntity, templates.LinkDetail(m))
}

func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}

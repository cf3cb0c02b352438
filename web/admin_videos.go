package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/templates"
	"github.com/uplink-video/uplink/web/api"
	"github.com/uplink-video/uplink/web/links"
)

// listPageSize is the length of a page of the dashboard's video and token lists.
const listPageSize = 25

func videoListTitle(q string, nav templates.PageNav) string {
	t := "Videos"
	if q != "" {
		t = "Videos with “" + q + "”"
	}
	if nav.Page > 1 {
		t += fmt.Sprintf(" (page %d)", nav.Page)
	}
	return t
}

// handleVideoDetail handles "GET /admin/videos/:id".
func (s *Server) handleVideoDetail(c echo.Context) error {
	r, err := s.findVideoRow(c)
	if err != nil {
		return err
	}
	m := s.videoDetail(c, r, videoForm(r.Video))
	if m.Media, err = s.mediaView(c, r); err != nil {
		return err
	}
	return render(c, http.StatusOK, templates.VideoDetail(m))
}

// handleVideoUpdate handles "POST /admin/videos/:id": the edit form. The
// rules are the API's (api.CheckVideoText), so that what one accepts the
// other does too. A refused form comes back with what was typed and an
// error next to each wrong field.
func (s *Server) handleVideoUpdate(c echo.Context) error {
	r, err := s.findVideoRow(c)
	if err != nil {
		return err
	}
	if err := c.Request().ParseForm(); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read.")
	}
	u, form := parseVideoForm(c.Request().PostForm, videoForm(r.Video))
	if form.Errors.Any() {
		m := s.videoDetail(c, r, form)
		if m.Media, err = s.mediaView(c, r); err != nil {
			return err
		}
		return render(c, http.StatusUnprocessableEntity, templates.VideoDetail(m))
	}
	if _, err := s.store.UpdateVideo(c.Request().Context(), r.Video.ID, u); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/videos/"+r.Video.ID+"?done=video-saved")
}

// handleVideoDelete handles "POST /admin/videos/:id/delete": the video, its
// upload and its bytes on disk go, as with DELETE /videos/{id}.
func (s *Server) handleVideoDelete(c echo.Context) error {
	id := c.Param("id")
	if !store.ValidID(store.PrefixVideo, id) {
		return echo.ErrNotFound
	}
	if s.ingest == nil {
		return errors.New("web: no ingest service to delete videos with")
	}
	if err := s.ingest.DeleteVideo(c.Request().Context(), id); err != nil {
		return err
	}
	s.log.InfoContext(c.Request().Context(), "video deleted from the dashboard", "video", id, "admin", adminSession(c).AdminID)
	return c.Redirect(http.StatusSeeOther, "/admin/videos?done=video-deleted")
}

// handleVideoSource handles "GET /admin/videos/:id/source": the uploaded
// file, with Range support, for the page's player (inline) or as a download
// (?download=1).
func (s *Server) handleVideoSource(c echo.Context) error {
	id := c.Param("id")
	if !store.ValidID(store.PrefixVideo, id) {
		return echo.ErrNotFound
	}
	ctx := c.Request().Context()
	u, err := s.store.FindUpload(ctx, id)
	if err != nil {
		return err
	}
	if u.Status != store.UploadUploaded || s.ingest == nil {
		return echo.ErrNotFound
	}
	f, err := s.ingest.OpenSource(ctx, id)
	if err != nil {
		return err
	}
	defer f.Close()
	modtime := u.UpdatedAt
	if u.CompletedAt != nil {
		modtime = *u.CompletedAt
	}
	return api.ServeSource(c.Response(), c.Request(), api.Source{
		File: f, Filename: u.Filename, ModTime: modtime, Inline: c.QueryParam("download") == "",
	})
}

// findVideoRow loads the video named by the route's :id.
func (s *Server) findVideoRow(c echo.Context) (store.VideoRow, error) {
	id := c.Param("id")
	if !store.ValidID(store.PrefixVideo, id) {
		return store.VideoRow{}, echo.ErrNotFound
	}
	return s.store.FindVideoRow(c.Request().Context(), id)
}

func (s *Server) videoDetail(c echo.Context, r store.VideoRow, form templates.VideoForm) templates.VideoDetailPage {
	v := r.Video
	heading := v.Title
	if heading == "" {
		heading = "Untitled video"
	}
	title := heading
	if form.Errors.Any() {
		title = "Error: " + title
	}
	base := "/admin/videos/" + v.ID
	return templates.VideoDetailPage{
		AdminPage:     s.adminPage(c, title, "videos"),
		ID:            v.ID,
		Heading:       heading,
		Status:        videoStatus(r),
		Playable:      v.UploadStatus == store.UploadUploaded,
		SourceURL:     base + "/source",
		DownloadURL:   base + "/source?download=1",
		Filename:      r.Filename,
		Size:          videoSizeText(r),
		SHA256:        r.SHA256,
		Created:       stamp(v.CreatedAt),
		Updated:       stamp(v.UpdatedAt),
		LinkLabel:     r.LinkLabel,
		LinkURL:       adminLinkURL(r.LinkID),
		UploaderName:  r.UploaderName,
		UploaderEmail: r.UploaderEmail,
		TokenID:       v.TokenID,
		APIPath:       "/videos/" + v.ID,
		ActionURL:     base,
		DeleteURL:     base + "/delete",
		Form:          form,
	}
}

// videoForm fills the edit form with a video's saved values. Tags or
// metadata that the form's syntax cannot carry are locked (see
// templates.VideoForm).
func videoForm(v store.Video) templates.VideoForm {
	f := templates.VideoForm{Title: v.Title, Description: v.Description}
	tags := make([]string, 0, len(v.Tags))
	for _, t := range v.Tags {
		if t == "" || t != strings.TrimSpace(t) || strings.ContainsAny(t, ",\r\n") {
			f.TagsLocked = true
		}
		tags = append(tags, t)
	}
	sep := ", "
	if f.TagsLocked {
		sep = "\n"
	}
	f.Tags = strings.Join(tags, sep)
	var meta []string
	for _, m := range v.Metadata {
		if m.Key != strings.TrimSpace(m.Key) || m.Value != strings.TrimSpace(m.Value) ||
			strings.ContainsAny(m.Key, "=\r\n") || strings.ContainsAny(m.Value, "\r\n") {
			f.MetadataLocked = true
		}
		meta = append(meta, m.Key+"="+m.Value)
	}
	f.Metadata = strings.Join(meta, "\n")
	return f
}

// parseVideoForm reads the edit form into a store update. saved is the
// form as the video's saved values fill it; the result keeps what was
// typed, with the errors found. A field missing from the form (a locked
// one) is left unchanged.
func parseVideoForm(in url.Values, saved templates.VideoForm) (store.VideoUpdate, templates.VideoForm) {
	var u store.VideoUpdate
	f := saved
	f.Errors = templates.VideoFormErrors{}
	if vs, ok := in["title"]; ok {
		f.Title = strings.TrimSpace(vs[0])
		u.Title = &f.Title
	}
	if vs, ok := in["description"]; ok {
		f.Description = strings.ReplaceAll(vs[0], "\r\n", "\n")
		u.Description = &f.Description
	}
	if vs, ok := in["tags"]; ok && !saved.TagsLocked {
		f.Tags = vs[0]
		tags := splitTags(f.Tags)
		u.Tags = &tags
	}
	if vs, ok := in["metadata"]; ok && !saved.MetadataLocked {
		f.Metadata = vs[0]
		meta, err := parseMetadata(f.Metadata)
		if err != "" {
			f.Errors.Metadata = err
		} else {
			u.Metadata = &meta
		}
	}
	for _, e := range api.CheckVideoText(u.Title, u.Description, u.Tags, u.Metadata) {
		msg := capitalized(e.Detail)
		switch e.Name {
		case "title":
			f.Errors.Title = msg
		case "description":
			f.Errors.Description = msg
		case "tags":
			f.Errors.Tags = msg
		case "metadata":
			f.Errors.Metadata = msg
		}
	}
	return u, f
}

// splitTags splits the tags field at commas and line breaks, dropping
// empty entries.
func splitTags(s string) []string {
	tags := []string{}
	for _, t := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	return tags
}

// parseMetadata reads key=value lines, splitting each at its first "=".
// Blank lines are skipped. It returns what is wrong, if anything.
func parseMetadata(s string) ([]store.Metadata, string) {
	meta := []store.Metadata{}
	for i, line := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Sprintf("Line %d has no “=”: write each pair as key=value.", i+1)
		}
		k = strings.TrimSpace(k)
		if k == "" {
			return nil, fmt.Sprintf("Line %d has no key before its “=”.", i+1)
		}
		meta = append(meta, store.Metadata{Key: k, Value: strings.TrimSpace(v)})
	}
	return meta, ""
}

// capitalized capitalises the first letter of an API message, which starts
// with the attribute's name.
func capitalized(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// videoStatus says where a video's upload stands.
func videoStatus(r store.VideoRow) templates.VideoStatus {
	switch r.Video.UploadStatus {
	case store.UploadUploaded:
		return templates.VideoStatus{Code: "uploaded", Label: "Uploaded", Percent: 100, HasPercent: true}
	case store.UploadUploading:
		p, ok := r.Percent()
		return templates.VideoStatus{Code: "uploading", Label: "Uploading", Percent: p, HasPercent: ok}
	}
	return templates.VideoStatus{Code: "waiting", Label: "Waiting for the file"}
}

// videoSizeText is the size of a video's source: what is held, and of how
// much while it is uploading.
func videoSizeText(r store.VideoRow) string {
	held := links.FormatBytes(r.Video.SourceSize)
	switch {
	case r.Video.UploadStatus == "":
		return "—"
	case r.Video.UploadStatus == store.UploadUploading && r.ExpectedSize > 0:
		return held + " of " + links.FormatBytes(r.ExpectedSize)
	}
	return held
}

// adminLinkURL is the dashboard page of a link, or "" for no link.
func adminLinkURL(id string) string {
	if id == "" {
		return ""
	}
	return "/admin/links/" + url.PathEscape(id)
}

// maxListPage bounds ?page= so that the offset cannot overflow.
const maxListPage = 1 << 20

// listPageParam reads ?page=, from 1; anything else is page 1.
func listPageParam(c echo.Context) int {
	n, err := strconv.Atoi(c.QueryParam("page"))
	if err != nil || n < 1 {
		return 1
	}
	return min(n, maxListPage)
}

// listNav builds the navigation of page n of a list of total items at
// path with the given query. When n is past the last page, it returns
// false and the last page's URL in PrevURL, for a redirect.
func listNav(path string, query url.Values, n, total int) (templates.PageNav, bool) {
	pages := max((total+listPageSize-1)/listPageSize, 1)
	at := func(p int) string {
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		if p > 1 {
			q.Set("page", strconv.Itoa(p))
		}
		if len(q) == 0 {
			return path
		}
		return path + "?" + q.Encode()
	}
	if n > pages {
		return templates.PageNav{PrevURL: at(pages)}, false
	}
	return pageNav(n, pages, at), true
}

// pageNav is the one pager of every list (templates.listPager): page n of
// pages, with the URLs that at gives the pages before and after it.
func pageNav(n, pages int, at func(page int) string) templates.PageNav {
	nav := templates.PageNav{Page: n, Pages: pages}
	if n > 1 {
		nav.PrevURL = at(n - 1)
	}
	if n < pages {
		nav.NextURL = at(n + 1)
	}
	return nav
}

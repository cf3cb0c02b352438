package web

import (
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/templates"
	"github.com/uplink-video/uplink/web/links"
)

// videoLinksShown bounds the link filter's menu.
const videoLinksShown = 200

// handleVideoList handles "GET /admin/videos": the videos with a title
// search, filters by link and by status, ordered by date or size, in
// pages; all in the query, so that a view can be linked to. Newest first
// by default.
func (s *Server) handleVideoList(c echo.Context) error {
	ctx := c.Request().Context()
	q := strings.TrimSpace(c.QueryParam("q"))
	if utf8.RuneCountInString(q) > 200 {
		q = string([]rune(q)[:200])
	}
	page := listPageParam(c)
	if remote, total, ok, err := s.links.RemoteVideos(ctx, page, listPageSize); ok {
		if err != nil {
			return err
		}
		return s.renderRemoteVideos(c, remote, page, total)
	}
	f := store.VideoRowFilter{Query: q, LinkID: c.QueryParam("link"), Asc: c.QueryParam("dir") == "asc"}
	switch st := c.QueryParam("status"); st {
	case store.UploadUploaded, store.UploadUploading, store.VideoWaiting:
		f.Status = st
	}
	if c.QueryParam("sort") == string(store.VideoRowBySize) {
		f.Sort = store.VideoRowBySize
	} else {
		f.Sort = store.VideoRowByCreated
	}
	choices, err := s.store.FindVideoLinks(ctx, videoLinksShown)
	if err != nil {
		return err
	}
	if len(f.LinkID) > 64 {
		f.LinkID = "" // No link has such an ID: show every video.
	}
	f.Page = store.Page{Number: page, Size: listPageSize}
	rows, total, err := s.store.FindVideoRows(ctx, f)
	if err != nil {
		return err
	}
	query := url.Values{}
	set := func(k, v, def string) {
		if v != def {
			query.Set(k, v)
		}
	}
	set("q", q, "")
	set("link", f.LinkID, "")
	set("status", f.Status, "")
	set("sort", string(f.Sort), string(store.VideoRowByCreated))
	if f.Asc {
		query.Set("dir", "asc")
	}
	nav, ok := listNav("/admin/videos", query, page, total)
	if !ok {
		return c.Redirect(http.StatusSeeOther, nav.PrevURL)
	}
	m := templates.VideoListPage{
		AdminPage: s.adminPage(c, videoListTitle(q, nav), "videos"),
		Query:     q, Total: total, Nav: nav, NoFFmpeg: !s.canProcess(),
		Filtered: f.LinkID != "" || f.Status != "",
	}
	m.Links = []templates.Choice{{Value: "", Label: "Any link", Checked: f.LinkID == ""}, {Value: store.VideoNoLink, Label: "No link (API)", Checked: f.LinkID == store.VideoNoLink}}
	for _, l := range choices {
		m.Links = append(m.Links, templates.Choice{Value: l.ID, Label: l.Label, Checked: f.LinkID == l.ID})
	}
	for _, st := range [][2]string{{"", "Any status"}, {store.UploadUploaded, "Uploaded"}, {store.UploadUploading, "Uploading"}, {store.VideoWaiting, "Waiting for the file"}} {
		m.Statuses = append(m.Statuses, templates.Choice{Value: st[0], Label: st[1], Checked: f.Status == st[0]})
	}
	m.Sorts = []templates.Choice{
		{Value: string(store.VideoRowByCreated), Label: "Date", Checked: f.Sort == store.VideoRowByCreated},
		{Value: string(store.VideoRowBySize), Label: "Size", Checked: f.Sort == store.VideoRowBySize},
	}
	m.Dirs = []templates.Choice{{Value: "desc", Label: "Newest or largest first", Checked: !f.Asc}, {Value: "asc", Label: "Oldest or smallest first", Checked: f.Asc}}
	for _, r := range rows {
		m.Videos = append(m.Videos, templates.VideoListItem{
			ID:        r.Video.ID,
			Title:     r.Video.Title,
			URL:       "/admin/videos/" + r.Video.ID,
			Size:      videoSizeText(r),
			LinkLabel: r.LinkLabel,
			LinkURL:   adminLinkURL(r.LinkID),
			Uploader:  r.UploaderName,
			Created:   stamp(r.Video.CreatedAt),
			Status:    videoStatus(r),

			ThumbnailURL: thumbnailURL(r.Video.ID, r.Video.ThumbnailAt),
			Processing:   processingView(r),
		})
	}
	return render(c, http.StatusOK, templates.VideoList(m))
}

// renderRemoteVideos is the video list in upstream mode: the videos live
// on the remote host, so the list is one page of the host's own list,
// newest first, read through its API (links.Service.RemoteVideos), with
// the link each came through when it came through one of ours. Search,
// filters, bulk actions and video pages are this server's, for videos it
// holds, and are left out.
func (s *Server) renderRemoteVideos(c echo.Context, remote []links.RemoteVideo, page, total int) error {
	nav, ok := listNav("/admin/videos", nil, page, total)
	if !ok {
		return c.Redirect(http.StatusSeeOther, nav.PrevURL)
	}
	ids := make([]string, len(remote))
	for i, v := range remote {
		ids[i] = v.VideoID
	}
	via, err := s.store.FindLinksOfVideos(c.Request().Context(), ids)
	if err != nil {
		return err
	}
	m := templates.VideoListPage{
		AdminPage: s.adminPage(c, videoListTitle("", nav), "videos"),
		Total:     total, Nav: nav, Remote: true,
	}
	for _, v := range remote {
		item := templates.VideoListItem{
			ID: v.VideoID, Title: v.Title, Size: "—", Created: stamp(v.CreatedAt),
			Status: templates.VideoStatus{Code: "remote", Label: "On the upstream host"},
		}
		if l, ok := via[v.VideoID]; ok {
			item.LinkLabel, item.LinkURL = l.Label, adminLinkURL(l.ID)
		}
		m.Videos = append(m.Videos, item)
	}
	return render(c, http.StatusOK, templates.VideoList(m))
}

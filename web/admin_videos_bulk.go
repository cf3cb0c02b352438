package web

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/web/api"
)

// maxBulkVideos bounds how many videos one bulk action takes: a page of
// the list at most.
const maxBulkVideos = listPageSize

// bulkVideoIDs reads the ticked videos of the list's bulk form. None, too
// many, or an ID of the wrong shape is a 400: the form sends none of
// those.
func bulkVideoIDs(c echo.Context) ([]string, error) {
	form, err := c.FormParams()
	if err != nil {
		return nil, err
	}
	ids := form["id"]
	if len(ids) == 0 {
		return nil, echo.NewHTTPError(http.StatusBadRequest, "Tick at least one video first.")
	}
	if len(ids) > maxBulkVideos {
		return nil, echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("Tick at most %d videos at once.", maxBulkVideos))
	}
	for _, id := range ids {
		if !store.ValidID(store.PrefixVideo, id) {
			return nil, echo.NewHTTPError(http.StatusBadRequest, "That is not a video of this list.")
		}
	}
	return ids, nil
}

// handleVideoZip handles "POST /admin/videos/zip": the ticked videos'
// files as one ZIP archive, streamed as it is written. Each file is
// stored, not compressed (videos hardly compress), byte for byte as it was
// uploaded, under its uploaded name; no copy is made on disk or in memory.
// Videos without a complete file are left out. Once the first byte is
// sent the status cannot change: an error after it ends the archive
// early, and the client sees a truncated ZIP.
func (s *Server) handleVideoZip(c echo.Context) error {
	ids, err := bulkVideoIDs(c)
	if err != nil {
		return err
	}
	if s.ingest == nil {
		return errors.New("web: no ingest service to read videos with")
	}
	ctx := c.Request().Context()
	type entry struct {
		id   string
		name string
		u    store.Upload
	}
	var entries []entry
	names := map[string]int{}
	for _, id := range ids {
		u, err := s.store.FindUpload(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if u.Status != store.UploadUploaded {
			continue
		}
		entries = append(entries, entry{id: id, name: uniqueName(names, zipName(u.Filename, id)), u: u})
	}
	if len(entries) == 0 {
		return echo.NewHTTPError(http.StatusNotFound, "None of the ticked videos has its file yet.")
	}
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, "application/zip")
	w.Header().Set(echo.HeaderContentDisposition, api.ContentDisposition("attachment", fmt.Sprintf("uplink-%d-videos.zip", len(entries))))
	w.WriteHeader(http.StatusOK)
	zw := zip.NewWriter(w)
	for _, e := range entries {
		modified := e.u.UpdatedAt
		if e.u.CompletedAt != nil {
			modified = *e.u.CompletedAt
		}
		dst, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Store, Modified: modified})
		if err != nil {
			return s.abortZip(c, err)
		}
		src, err := s.ingest.OpenSource(ctx, e.id)
		if err != nil {
			return s.abortZip(c, err)
		}
		_, err = io.Copy(dst, src)
		src.Close()
		if err != nil {
			return s.abortZip(c, err)
		}
	}
	if err := zw.Close(); err != nil {
		return s.abortZip(c, err)
	}
	s.log.InfoContext(ctx, "videos downloaded as a ZIP from the dashboard", "videos", len(entries), "admin", adminSession(c).AdminID)
	return nil
}

// abortZip logs why an archive stopped part way: the response is
// committed, so the error cannot become an error page.
func (s *Server) abortZip(c echo.Context, err error) error {
	s.log.WarnContext(c.Request().Context(), "ZIP of videos cut short", "err", err)
	return nil
}

// zipName is a video's name inside the archive: its uploaded file name,
// made safe (no directories, no control characters), or its ID.
func zipName(filename, id string) string {
	name := path.Base(strings.ReplaceAll(api.SafeFilename(filename), "\\", "/"))
	if name == "" || name == "." || name == "/" {
		return id
	}
	return name
}

// uniqueName returns name, or "name (2).ext" and so on when the archive
// has it already.
func uniqueName(seen map[string]int, name string) string {
	seen[name]++
	if seen[name] == 1 {
		return name
	}
	ext := path.Ext(name)
	candidate := fmt.Sprintf("%s (%d)%s", strings.TrimSuffix(name, ext), seen[name], ext)
	return uniqueName(seen, candidate)
}

// handleVideoBulkDelete handles "POST /admin/videos/delete": the ticked
// videos go, each as with its own Delete button; one already gone is not
// an error.
func (s *Server) handleVideoBulkDelete(c echo.Context) error {
	ids, err := bulkVideoIDs(c)
	if err != nil {
		return err
	}
	if s.ingest == nil {
		return errors.New("web: no ingest service to delete videos with")
	}
	ctx := c.Request().Context()
	for _, id := range ids {
		if err := s.ingest.DeleteVideo(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	s.log.InfoContext(ctx, "videos deleted from the dashboard", "videos", len(ids), "admin", adminSession(c).AdminID)
	return c.Redirect(http.StatusSeeOther, "/admin/videos?done=videos-deleted")
}

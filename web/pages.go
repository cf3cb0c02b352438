package web

import (
	"io/fs"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/uplink-video/uplink/static"
	"github.com/uplink-video/uplink/templates"
	"github.com/uplink-video/uplink/web/api"
)

func (s *Server) page(title string) templates.Page {
	return templates.Page{Title: title, CSS: static.URL("css/app.css")}
}

// handleHome handles "GET /".
func (s *Server) handleHome(c echo.Context) error {
	return render(c, http.StatusOK, templates.Home(templates.HomePage{
		Page:    s.page("Home"),
		APIBase: s.publicURL,
		Version: s.version,
	}))
}

// handleProblem handles "GET /problems/:code": the documentation of
// uplink's own API problem types, which their type URLs point to.
func (s *Server) handleProblem(c echo.Context) error {
	p, ok := api.OwnProblem(c.Param("code"))
	if !ok {
		return echo.ErrNotFound
	}
	return render(c, http.StatusOK, templates.Problem(templates.ProblemPage{
		Page: s.page(p.Title), Code: p.Code, Status: p.Status, Title: p.Title,
	}))
}

// handleFavicon handles "GET /favicon.ico", which browsers ask for on
// every page: the SVG icon, cached for a day.
func (s *Server) handleFavicon(c echo.Context) error {
	b, err := fs.ReadFile(s.assets, "img/favicon.svg")
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=86400")
	return c.Blob(http.StatusOK, "image/svg+xml", b)
}

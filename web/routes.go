package web

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// routes is the one route table of the browser-facing surface. The API
// registers its own table (web/api.Register).
func (s *Server) routes(e *echo.Echo) {
	e.Use(securityHeaders)

	e.GET("/", s.handleHome)
	e.GET("/problems/:code", s.handleProblem)
	e.GET("/healthz", s.handleHealth)
	e.GET("/static/*", echo.WrapHandler(http.StripPrefix("/static/", http.FileServerFS(s.assets))))

	// Public upload links: the page, the embed, and the endpoints the
	// uploader script calls. State-changing calls must come from this
	// origin (the page or the embed itself).
	e.GET("/u/:id", s.handleUploadPage)
	e.GET("/embed/:id", s.handleEmbed)
	same := sameOrigin()
	e.POST("/u/:id/uploads", s.handleUploadStart, jsonErrors, same)
	e.GET("/u/:id/uploads/:videoId", s.handleUploadStatus, jsonErrors)
	e.PUT("/u/:id/uploads/:videoId/parts/:n", s.handleUploadPart, jsonErrors, same)
	e.DELETE("/u/:id/uploads/:videoId", s.handleUploadCancel, jsonErrors, same)

	s.api.Register(e)
}

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

	s.api.Register(e)
}

// securityHeaders sets the headers every response carries.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		return next(c)
	}
}

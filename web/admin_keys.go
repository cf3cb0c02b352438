package web

import "github.com/labstack/echo/v4"

// Dashboard screens for API keys and upload tokens. To be implemented.

func (s *Server) handleKeyList(c echo.Context) error   { return echo.ErrNotImplemented }
func (s *Server) handleKeyCreate(c echo.Context) error { return echo.ErrNotImplemented }
func (s *Server) handleKeyRevoke(c echo.Context) error { return echo.ErrNotImplemented }
func (s *Server) handleTokenList(c echo.Context) error { return echo.ErrNotImplemented }

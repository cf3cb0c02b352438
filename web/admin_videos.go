package web

import "github.com/labstack/echo/v4"

// Dashboard screens for videos. To be implemented.

func (s *Server) handleVideoList(c echo.Context) error   { return echo.ErrNotImplemented }
func (s *Server) handleVideoDetail(c echo.Context) error { return echo.ErrNotImplemented }
func (s *Server) handleVideoUpdate(c echo.Context) error { return echo.ErrNotImplemented }
func (s *Server) handleVideoDelete(c echo.Context) error { return echo.ErrNotImplemented }
func (s *Server) handleVideoSource(c echo.Context) error { return echo.ErrNotImplemented }

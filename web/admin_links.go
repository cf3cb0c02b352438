package web

import "github.com/labstack/echo/v4"

// Dashboard screens for links. To be implemented.

func (s *Server) handleLinkList(c echo.Context) error      { return echo.ErrNotImplemented }
func (s *Server) handleLinkNew(c echo.Context) error       { return echo.ErrNotImplemented }
func (s *Server) handleLinkCreate(c echo.Context) error    { return echo.ErrNotImplemented }
func (s *Server) handleLinkDetail(c echo.Context) error    { return echo.ErrNotImplemented }
func (s *Server) handleLinkQR(c echo.Context) error        { return echo.ErrNotImplemented }
func (s *Server) handleLinkProgress(c echo.Context) error  { return echo.ErrNotImplemented }
func (s *Server) handleLinkRevoke(c echo.Context) error    { return echo.ErrNotImplemented }
func (s *Server) handleLinkExtend(c echo.Context) error    { return echo.ErrNotImplemented }
func (s *Server) handleLinkDuplicate(c echo.Context) error { return echo.ErrNotImplemented }

package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/templates"
	"github.com/uplink-video/uplink/web/api"
)

// handleError is the server's one error handler. Handlers return errors;
// this maps them to a response: a problem document on the API's paths, a
// page a person can read everywhere else. Server errors are logged once
// here and never shown in detail.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	if api.Owns(c.Request().URL.Path) {
		s.api.HandleError(err, c)
		return
	}
	if v, _ := c.Get(ctxJSONErrors).(bool); v {
		s.writeUploaderError(c, err)
		return
	}
	status, heading, message := http.StatusInternalServerError, "Something went wrong",
		"The error was logged. Try again in a moment; if it keeps happening, tell the administrator."
	var he *echo.HTTPError
	switch {
	case errors.Is(err, store.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, store.ErrNoSpace):
		status = http.StatusInsufficientStorage
	case errors.As(err, &he):
		status = he.Code
	}
	switch status {
	case http.StatusInternalServerError:
		s.log.ErrorContext(c.Request().Context(), "request failed", "method", c.Request().Method, "route", c.Path(), "err", err)
	case http.StatusInsufficientStorage:
		// Not the application's fault, but the operator's to fix.
		s.log.WarnContext(c.Request().Context(), "request refused: the disk is full", "method", c.Request().Method, "route", c.Path(), "err", err)
		heading, message = "Disk full", "The server's disk is full, so nothing could be saved. Free some space and try again."
	case http.StatusNotFound:
		heading, message = "Page not found", "There is nothing at this address. Check the link you followed."
	case http.StatusMethodNotAllowed:
		heading, message = "Not allowed", "This page does not accept that kind of request."
	case http.StatusUnauthorized:
		heading, message = "Signed out", "Sign in again: your session has ended."
	case http.StatusForbidden:
		heading, message = "Not allowed", "This form has expired or came from another site. Go back, reload the page and try again."
	case http.StatusTooManyRequests:
		heading, message = "Too many requests", "Slow down, and try again in a minute."
	case http.StatusRequestEntityTooLarge:
		heading, message = "Too much to send", "The request was larger than this page accepts."
	case http.StatusUnsupportedMediaType:
		heading, message = "Not a form this page sends", "This page does not accept that kind of content."
	default:
		heading, message = http.StatusText(status), "The request could not be completed."
	}
	// Handlers say what went wrong in words meant for people; show them.
	if he != nil && status < 500 {
		if m, ok := he.Message.(string); ok && m != "" && m != http.StatusText(status) {
			message = m
		}
	}
	page := templates.Error(templates.ErrorPage{Page: s.page(heading), Status: status, Heading: heading, Message: message})
	if rerr := render(c, status, page); rerr != nil {
		s.log.ErrorContext(c.Request().Context(), "rendering an error page", "err", rerr)
		_ = c.String(status, message)
	}
}

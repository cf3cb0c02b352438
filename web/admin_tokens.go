package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/templates"
)

// tokenTTLs are the lifetimes the dashboard offers for a new upload token,
// in seconds; 0 is no expiry.
var tokenTTLs = []struct {
	value string
	label string
}{
	{"3600", "1 hour"},
	{"86400", "1 day"},
	{"604800", "7 days"},
	{"2592000", "30 days"},
	{"0", "Never"},
}

// tokenTTLChoices is the create form's menu, with chosen selected (1 day
// when empty).
func tokenTTLChoices(chosen string) []templates.Choice {
	if chosen == "" {
		chosen = "86400"
	}
	var out []templates.Choice
	for _, t := range tokenTTLs {
		out = append(out, templates.Choice{Value: t.value, Label: t.label, Checked: t.value == chosen})
	}
	return out
}

// handleTokenCreate handles "POST /admin/tokens": an upload token with one
// of the offered lifetimes, as POST /upload-tokens makes one. The list
// then shows it first (POST/redirect/GET).
func (s *Server) handleTokenCreate(c echo.Context) error {
	v := c.FormValue("ttl")
	ttl := -1
	for _, t := range tokenTTLs {
		if v == t.value {
			ttl, _ = strconv.Atoi(v)
		}
	}
	if ttl < 0 {
		return s.renderTokens(c, http.StatusUnprocessableEntity, "Choose how long the token lasts from the list.")
	}
	t, err := s.store.CreateUploadToken(c.Request().Context(), ttl)
	if err != nil {
		return err
	}
	s.log.InfoContext(c.Request().Context(), "upload token created from the dashboard", "token", t.ID, "admin", adminSession(c).AdminID)
	return c.Redirect(http.StatusSeeOther, "/admin/tokens?done=token-created")
}

// handleTokenRevoke handles "POST /admin/tokens/:id/revoke", as DELETE
// /upload-tokens/{token} does: uploads with the token stop at their next
// part. A link's token is not revoked here but with its link, so that the
// link's page stays the one place that says it is closed. Revoking twice
// is not an error.
func (s *Server) handleTokenRevoke(c echo.Context) error {
	id := c.Param("id")
	if !store.ValidID(store.PrefixUploadToken, id) {
		return echo.ErrNotFound
	}
	ctx := c.Request().Context()
	linkID, err := s.store.FindTokenLink(ctx, id)
	if err != nil {
		return err
	}
	if linkID != "" {
		return echo.NewHTTPError(http.StatusConflict, "This token belongs to a link: revoke the link instead.")
	}
	if err := s.store.DeleteUploadToken(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	s.log.InfoContext(ctx, "upload token revoked from the dashboard", "token", id, "admin", adminSession(c).AdminID)
	return c.Redirect(http.StatusSeeOther, "/admin/tokens?done=token-revoked")
}

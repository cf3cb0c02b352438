package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/templates"
	"github.com/uplink-video/uplink/web/links"
)

// handleKeyList handles "GET /admin/keys": the create form and every key.
// No secret is ever on this page but the one just created, once: it comes
// from the flash that handleKeyCreate left, which this page removes.
func (s *Server) handleKeyList(c echo.Context) error {
	m := templates.KeyListPage{}
	if got := s.sessions.takeFlash(c, flashNewKey); len(got) == 2 {
		m.NewKey = &templates.NewKey{Name: got[0], Secret: got[1]}
	}
	return s.renderKeys(c, http.StatusOK, m)
}

// handleKeyCreate handles "POST /admin/keys". It redirects to the list
// (POST/redirect/GET), so that reloading the page does not create a second
// key. The secret travels to that page once, in a flash in the session
// cookie, which is encrypted; the store keeps only its hash, so it cannot
// be shown again (and requireAdmin marks the page no-store).
func (s *Server) handleKeyCreate(c echo.Context) error {
	name := strings.TrimSpace(c.FormValue("name"))
	if msg := checkKeyName(name); msg != "" {
		return s.renderKeys(c, http.StatusUnprocessableEntity, templates.KeyListPage{Name: name, NameError: msg})
	}
	k, secret, err := s.store.CreateAPIKey(c.Request().Context(), name)
	if err != nil {
		return err
	}
	s.log.InfoContext(c.Request().Context(), "API key created from the dashboard", "key", k.ID, "admin", adminSession(c).AdminID)
	if err := s.sessions.setFlash(c, flashNewKey, k.Name, secret); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/keys")
}

// handleKeyRevoke handles "POST /admin/keys/:id/revoke". Revoking a key
// that is already revoked (a second click) just shows the list again.
func (s *Server) handleKeyRevoke(c echo.Context) error {
	id := c.Param("id")
	if !store.ValidID(store.PrefixAPIKey, id) {
		return echo.ErrNotFound
	}
	ctx := c.Request().Context()
	err := s.store.RevokeAPIKey(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		keys, lerr := s.store.ListAPIKeys(ctx)
		if lerr != nil {
			return lerr
		}
		for _, k := range keys {
			if k.ID == id {
				err = nil // Already revoked.
			}
		}
	}
	if err != nil {
		return err
	}
	s.log.InfoContext(c.Request().Context(), "API key revoked from the dashboard", "key", id, "admin", adminSession(c).AdminID)
	return c.Redirect(http.StatusSeeOther, "/admin/keys?done=key-revoked")
}

// checkKeyName returns what is wrong with an API key's name, or "". The
// store takes 1 to 200 bytes.
func checkKeyName(name string) string {
	switch {
	case name == "":
		return "Give the key a name, such as what will use it."
	case len(name) > 200:
		return "The name is too long: keep it under 200 bytes (fewer characters with accents or emoji)."
	case !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "The name must be plain text, without control characters."
	}
	return ""
}

func (s *Server) renderKeys(c echo.Context, status int, m templates.KeyListPage) error {
	keys, err := s.store.ListAPIKeys(c.Request().Context())
	if err != nil {
		return err
	}
	title := "API keys"
	switch {
	case m.NewKey != nil:
		title = "API key created"
	case m.NameError != "":
		title = "Error: API keys"
	}
	m.AdminPage = s.adminPage(c, title, "keys")
	m.APIBase = s.publicURL
	for _, k := range keys {
		item := templates.KeyItem{
			ID: k.ID, Name: k.Name, Hint: k.Hint, Created: stamp(k.CreatedAt),
			LastUsed: templates.Timestamp{Text: "Never"}, Status: "active",
			RevokeURL: "/admin/keys/" + url.PathEscape(k.ID) + "/revoke",
		}
		if k.LastUsedAt != nil {
			item.LastUsed = stamp(*k.LastUsedAt)
		}
		if k.RevokedAt != nil {
			item.Status, item.RevokeURL = "revoked", ""
		}
		m.Keys = append(m.Keys, item)
	}
	return render(c, status, templates.KeyList(m))
}

// handleTokenList handles "GET /admin/tokens": every upload token, newest
// first, deleted and expired ones and those created through the API
// included, with the link each one backs.
func (s *Server) handleTokenList(c echo.Context) error {
	return s.renderTokens(c, http.StatusOK, "")
}

// renderTokens shows the token list and its create form, with ttlError
// next to the form's menu when the last one sent was refused.
func (s *Server) renderTokens(c echo.Context, status int, ttlError string) error {
	page := listPageParam(c)
	rows, total, err := s.store.FindTokenRows(c.Request().Context(),
		store.TokenRowFilter{Page: store.Page{Number: page, Size: listPageSize}})
	if err != nil {
		return err
	}
	nav, ok := listNav("/admin/tokens", nil, page, total)
	if !ok {
		return c.Redirect(http.StatusSeeOther, nav.PrevURL)
	}
	title := "Upload tokens"
	if nav.Page > 1 {
		title += fmt.Sprintf(" (page %d)", nav.Page)
	}
	if ttlError != "" {
		title = "Error: " + title
	}
	m := templates.TokenListPage{
		AdminPage: s.adminPage(c, title, "tokens"), Total: total, Nav: nav,
		TTLs: tokenTTLChoices(c.FormValue("ttl")), TTLError: ttlError,
	}
	now := s.store.Now()
	for _, r := range rows {
		t := r.Token
		item := templates.TokenItem{
			ID: t.ID, TTL: "No expiry", Expires: templates.Timestamp{Text: "Never"},
			Created: stamp(t.CreatedAt), Status: "active",
			LinkLabel: r.LinkLabel, LinkURL: adminLinkURL(r.LinkID), Uploads: r.Uploads,
		}
		if t.TTL > 0 {
			item.TTL = links.Duration(time.Duration(t.TTL) * time.Second)
		}
		if t.ExpiresAt != nil {
			item.Expires = stamp(*t.ExpiresAt)
		}
		switch {
		case t.Deleted():
			item.Status = "deleted"
		case t.Expired(now):
			item.Status = "expired"
		case r.LinkID == "":
			item.RevokeURL = "/admin/tokens/" + url.PathEscape(t.ID) + "/revoke"
		}
		m.Tokens = append(m.Tokens, item)
	}
	return render(c, status, templates.TokenList(m))
}

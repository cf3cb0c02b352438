package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/templates"
)

// handleBranding handles "GET /admin/branding": the accent colour and
// the logo recipients see.
func (s *Server) handleBranding(c echo.Context) error {
	return s.renderBranding(c, http.StatusOK, templates.BrandingPage{})
}

// handleAccentSet handles "POST /admin/branding/accent": accent=#rrggbb,
// or reset=1 for uplink's own colour.
func (s *Server) handleAccentSet(c echo.Context) error {
	accent := ""
	if c.FormValue("reset") == "" {
		var msg string
		if accent, msg = parseAccent(c.FormValue("accent")); msg != "" {
			return s.renderBranding(c, http.StatusUnprocessableEntity, templates.BrandingPage{Accent: c.FormValue("accent"), AccentError: msg})
		}
	}
	if _, err := s.store.SetBrandAccent(c.Request().Context(), accent); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/branding?done=brand-saved")
}

// handleLogoSet handles "POST /admin/branding/logo", a multipart form
// with the image in the field logo.
func (s *Server) handleLogoSet(c echo.Context) error {
	data, sent, tooBig, err := formFile(c, "logo", maxLogoBytes)
	if err != nil {
		return err
	}
	msg := ""
	var info logoInfo
	switch {
	case tooBig:
		msg = fmt.Sprintf("The logo is too large: at most %d KiB. Export it smaller, or as JPEG or WebP.", maxLogoBytes>>10)
	case !sent:
		msg = "Choose an image file: PNG, JPEG or WebP."
	default:
		info, msg = checkLogo(data)
	}
	if msg != "" {
		return s.renderBranding(c, http.StatusUnprocessableEntity, templates.BrandingPage{LogoError: msg})
	}
	if _, err := s.store.SetBrandLogo(c.Request().Context(), data, info.Type, info.Width, info.Height); err != nil {
		return err
	}
	s.log.InfoContext(c.Request().Context(), "logo set", "type", info.Type, "bytes", len(data), "admin", adminSession(c).AdminID)
	return c.Redirect(http.StatusSeeOther, "/admin/branding?done=brand-saved")
}

// handleLogoRemove handles "POST /admin/branding/logo/remove".
func (s *Server) handleLogoRemove(c echo.Context) error {
	if _, err := s.store.SetBrandLogo(c.Request().Context(), nil, "", 0, 0); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/branding?done=brand-saved")
}

func (s *Server) renderBranding(c echo.Context, status int, m templates.BrandingPage) error {
	b, err := s.store.Branding(c.Request().Context())
	if err != nil {
		return err
	}
	m.AdminPage = s.adminPage(c, "Branding", "branding")
	if status != http.StatusOK {
		m.Title = "Error: " + m.Title
	}
	m.Current = b.Accent
	if m.Accent == "" {
		m.Accent = b.Accent
	}
	m.Logo = s.brandView(b)
	return render(c, status, templates.Branding(m))
}

// brand returns the branding of the pages recipients see; none when it
// cannot be read, as a recipient's page does not fail for want of a
// colour.
func (s *Server) brand(c echo.Context) templates.Brand {
	b, err := s.store.Branding(c.Request().Context())
	if err != nil {
		s.log.ErrorContext(c.Request().Context(), "reading the branding", "err", err)
		return templates.Brand{}
	}
	return s.brandView(b)
}

func (s *Server) brandView(b store.Branding) templates.Brand {
	if b.Accent == "" && !b.HasLogo() {
		return templates.Brand{}
	}
	v := "?v=" + strconv.FormatInt(b.UpdatedAt.UnixMilli(), 10)
	out := templates.Brand{CSS: "/brand.css" + v}
	if b.HasLogo() {
		out.LogoURL, out.LogoWidth, out.LogoHeight = "/brand/logo"+v, b.LogoWidth, b.LogoHeight
	}
	return out
}

// brandCache lets a browser keep a branding URL for good when it names
// the current version (?v=), as the pages link it: a change links a new
// URL. Any other version is checked every time.
func (s *Server) brandCache(c echo.Context, b store.Branding) {
	h := c.Response().Header()
	if c.QueryParam("v") == strconv.FormatInt(b.UpdatedAt.UnixMilli(), 10) {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
}

// handleBrandCSS handles "GET /brand.css": the accent colour, for light
// and dark pages, and the logo's size. Always a stylesheet, empty of
// colour when none is set, so that a cached page never breaks.
func (s *Server) handleBrandCSS(c echo.Context) error {
	b, err := s.store.Branding(c.Request().Context())
	if err != nil {
		return err
	}
	s.brandCache(c, b)
	css := ".brand-logo { display: block; width: auto; height: auto; max-height: 3.5rem; max-width: min(14rem, 70vw); margin: 0 0 1rem; }\n" +
		".site .brand-logo { margin: 0; max-height: 2.5rem; }\n"
	if b.Accent != "" {
		css += ":root { --accent: " + b.Accent + "; }\n" +
			"@media (prefers-color-scheme: dark) { :root { --accent: " + darkAccent(b.Accent) + "; } }\n"
	}
	return c.Blob(http.StatusOK, "text/css; charset=utf-8", []byte(css))
}

// handleBrandLogo handles "GET /brand/logo": the logo's bytes, with the
// type they were recognised as when uploaded. Returns 404 when there is
// no logo.
func (s *Server) handleBrandLogo(c echo.Context) error {
	ctx := c.Request().Context()
	data, typ, err := s.store.BrandLogo(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return echo.ErrNotFound
	}
	if err != nil {
		return err
	}
	b, err := s.store.Branding(ctx)
	if err != nil {
		return err
	}
	s.brandCache(c, b)
	return c.Blob(http.StatusOK, typ, data)
}

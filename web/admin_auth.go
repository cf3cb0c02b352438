package web

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/templates"
	"github.com/uplink-video/uplink/web/account"
	"github.com/uplink-video/uplink/web/links"
	"github.com/uplink-video/uplink/web/ratelimit"
)

// loginCSRFCookie carries the sign-in form's CSRF token (double submit):
// there is no session to keep it in yet.
const loginCSRFCookie = "uplink_login_csrf"

// handleLoginPage handles "GET /admin/login".
func (s *Server) handleLoginPage(c echo.Context) error {
	if _, ok := s.sessions.current(c); ok {
		return c.Redirect(http.StatusSeeOther, safeNext(c.QueryParam("next")))
	}
	return s.renderLogin(c, http.StatusOK, "", "")
}

func (s *Server) renderLogin(c echo.Context, status int, email, msg string) error {
	// The browser's token is kept if it has one, so that opening the page
	// in a second tab does not spoil the form in the first.
	token := randomToken()
	if ck, err := c.Cookie(loginCSRFCookie); err == nil && len(ck.Value) == len(token) {
		if _, err := base64.RawURLEncoding.DecodeString(ck.Value); err == nil {
			token = ck.Value
		}
	}
	c.SetCookie(&http.Cookie{
		Name: loginCSRFCookie, Value: token, Path: "/admin/login", HttpOnly: true,
		Secure: s.secureCookies, SameSite: http.SameSiteStrictMode, MaxAge: 3600,
	})
	next := c.QueryParam("next")
	if next == "" {
		// The posted form's, if it was read; the body is never read
		// here, so that a refusal does not read what it refuses.
		next = c.Request().PostForm.Get("next")
	}
	return render(c, status, templates.Login(templates.LoginPage{
		Page: s.page("Sign in"), CSRF: token, Email: email, Next: safeNext(next), Error: msg,
	}))
}

// handleLogin handles "POST /admin/login". Attempts are throttled per
// account and per client address (signInLimits); a success starts a new
// session.
//
// The body is read only once the cheap checks pass: limitForm has refused
// a multipart or oversized body, and a request without the form's CSRF
// cookie (an empty token would match an empty field) is refused here
// before a byte of its body is read.
func (s *Server) handleLogin(c echo.Context) error {
	const expired = "This form has expired. Try again."
	cookie, err := c.Cookie(loginCSRFCookie)
	if err != nil || cookie.Value == "" {
		return s.renderLogin(c, http.StatusForbidden, "", expired)
	}
	if err := readForm(c); err != nil {
		return err
	}
	form := c.Request().PostForm
	if subtle.ConstantTimeCompare([]byte(cookie.Value), []byte(form.Get("_csrf"))) != 1 {
		return s.renderLogin(c, http.StatusForbidden, form.Get("email"), expired)
	}
	email, password, ip := strings.TrimSpace(form.Get("email")), form.Get("password"), c.RealIP()
	ctx := c.Request().Context()
	// The attempt is reserved before the password is checked, and counts
	// from then on: however many arrive at once, no more than the limits
	// are ever checked.
	key := accountKey(email)
	attempt, wait, err := s.store.ReserveLoginAttempt(ctx, key, ratelimit.ClientKey(ip), signInLimits())
	switch {
	case errors.Is(err, store.ErrNoSpace):
		// Nothing was counted, and no password is checked without a
		// reservation: a full disk neither locks the account nor lifts
		// the throttle.
		return s.refuseLoginNoSpace(c, email, err)
	case err != nil:
		return err
	case attempt == 0:
		// Whole minutes, rounded up: never earlier than the block ends.
		msg := fmt.Sprintf("Too many failed sign-ins for this account or from your network. Try again in %s.",
			links.Duration((wait + time.Minute - 1).Truncate(time.Minute)))
		s.log.WarnContext(ctx, "sign-in throttled", "ip", ip)
		c.Response().Header().Set("Retry-After", ratelimit.RetryAfter(wait))
		return s.renderLogin(c, http.StatusTooManyRequests, email, msg)
	}
	a, err := s.store.FindAdminByEmail(ctx, email)
	switch {
	case errors.Is(err, store.ErrNotFound):
		account.MatchesNothing(password)
	case err != nil:
		return err
	}
	if err != nil || !account.Matches(a.PasswordHash, password) {
		// The attempt counts whether or not this is recorded.
		if err := s.store.FailLoginAttempt(ctx, attempt); err != nil {
			s.log.WarnContext(ctx, "recording a failed sign-in", "err", err)
		}
		s.log.InfoContext(ctx, "failed sign-in", "ip", ip)
		return s.renderLogin(c, http.StatusUnauthorized, email, "Wrong email or password.")
	}
	// The owner proved the password: the account's failures, and this
	// attempt, no longer count. Left behind, they would only age out.
	if err := s.store.ClearLoginAttempts(ctx, key); err != nil {
		s.log.WarnContext(ctx, "clearing the sign-in attempts of an account", "err", err)
	}
	if err := s.sessions.start(c, a.ID); errors.Is(err, store.ErrNoSpace) {
		return s.refuseLoginNoSpace(c, email, err)
	} else if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, safeNext(form.Get("next")))
}

// refuseLoginNoSpace answers a sign-in that the store could not record
// for want of disk space (store.ErrNoSpace): the sign-in page again, with
// 507 and what to do. A session is a small row, but SQLite cannot commit
// even that once its write-ahead log cannot grow; and an error page
// would not let the admin try again once space is freed.
func (s *Server) refuseLoginNoSpace(c echo.Context, email string, err error) error {
	s.log.WarnContext(c.Request().Context(), "sign-in refused: the disk is full", "err", err)
	return s.renderLogin(c, http.StatusInsufficientStorage, email,
		"The server's disk is full; signing in needs a little space. Free some space and try again.")
}

// handleLogout handles "POST /admin/logout": the session ends on the
// server, not just in the browser.
func (s *Server) handleLogout(c echo.Context) error {
	s.sessions.clear(c)
	return c.Redirect(http.StatusSeeOther, "/admin/login")
}

// safeNext keeps a post-sign-in redirect on this site's dashboard: /admin
// itself or a path below it, never /administrator or another host.
func safeNext(next string) string {
	rest, ok := strings.CutPrefix(next, "/admin")
	if !ok || rest != "" && rest[0] != '/' && rest[0] != '?' || strings.ContainsAny(next, "\\\r\n") {
		return "/admin/links"
	}
	return next
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// adminPage builds the layout's view model for a dashboard page.
func (s *Server) adminPage(c echo.Context, title, section string) templates.AdminPage {
	sess := adminSession(c)
	return templates.AdminPage{
		Page: s.page(title), Email: sess.Email, CSRF: sess.CSRFToken, Section: section, Nonce: nonce(c),
		Flash: flashMessages[c.QueryParam("done")],
	}
}

// flashMessages are the notices a page shows after an action redirected to
// it with ?done=<code>. Only these fixed texts can appear, so a crafted
// link cannot put words in the dashboard's mouth.
var flashMessages = map[string]string{
	"link-created":     "The link is ready. Share its URL, QR code or embed snippet.",
	"link-revoked":     "The link was revoked. Uploads in progress through it stop at their next part.",
	"link-extended":    "The link's expiry was changed.",
	"video-saved":      "The video's details were saved.",
	"video-deleted":    "The video and its file were deleted.",
	"videos-deleted":   "The ticked videos and their files were deleted.",
	"video-processing": "The video is queued for processing again.",
	"key-revoked":      "The API key was revoked.",
	"password-changed": "Your password was changed. Your other devices are signed out.",
	"notify-on":        "You will get an email when an upload through a link completes or fails.",
	"notify-off":       "You will get no more email about uploads.",
	"test-email":       "A test email is on its way to you.",
	"admin-removed":    "The admin was removed and signed out.",
	"brand-saved":      "The branding was saved: upload pages show it now.",
	"token-created":    "The upload token was created: it is the first in the list.",
	"token-revoked":    "The upload token was revoked. Uploads with it stop at their next part.",
}

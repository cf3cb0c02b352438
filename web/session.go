package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/uplink-video/uplink/store"
)

// Session lifetimes. A session ends after SessionIdle without a request,
// and after sessionAbsolute whatever the activity. cmd/uplink's cleanup
// deletes the sessions that have ended (store.DeleteStaleAdminSessions).
const (
	SessionIdle     = 2 * time.Hour
	sessionAbsolute = 24 * time.Hour
	// touchEvery limits writes of a session's last activity to one per
	// interval; the idle timeout is that much less exact.
	touchEvery  = time.Minute
	sessionName = "uplink_session"
	ctxSession  = "admin-session"
)

// sessionManager keeps admin sessions: the ID in a signed and encrypted
// gorilla/sessions cookie, the state in SQLite, so that logging out (or a
// password reset) ends a session on the server whatever the cookie says.
type sessionManager struct {
	cookies *sessions.CookieStore
	store   *store.Store
}

func newSessionManager(st *store.Store, hashKey, blockKey []byte, secure bool) *sessionManager {
	cs := sessions.NewCookieStore(hashKey, blockKey)
	cs.Options = &sessions.Options{
		Path:     "/",
		MaxAge:   int(sessionAbsolute / time.Second),
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteLaxMode,
	}
	return &sessionManager{cookies: cs, store: st}
}

func hashID(id string) []byte {
	h := sha256.Sum256([]byte(id))
	return h[:]
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// start issues a new session for the admin, replacing any session the
// browser had (a new ID at every sign-in prevents session fixation).
func (m *sessionManager) start(c echo.Context, adminID string) error {
	m.clear(c)
	id := randomToken()
	if _, err := m.store.CreateAdminSession(c.Request().Context(), hashID(id), adminID, randomToken(), sessionAbsolute); err != nil {
		return err
	}
	sess := sessions.NewSession(m.cookies, sessionName)
	sess.Options = m.cookieOptions()
	sess.Values["id"] = id
	return m.cookies.Save(c.Request(), c.Response(), sess)
}

func (m *sessionManager) cookieOptions() *sessions.Options {
	o := *m.cookies.Options
	return &o
}

// current returns the request's live session, renewing its activity.
func (m *sessionManager) current(c echo.Context) (store.AdminSession, bool) {
	id := m.cookieID(c)
	if id == "" {
		return store.AdminSession{}, false
	}
	ctx := c.Request().Context()
	sess, err := m.store.FindAdminSession(ctx, hashID(id), SessionIdle)
	if err != nil {
		return store.AdminSession{}, false
	}
	if m.store.Now().Sub(sess.LastSeenAt) >= touchEvery {
		_ = m.store.TouchAdminSession(ctx, hashID(id))
	}
	return sess, true
}

func (m *sessionManager) cookieID(c echo.Context) string {
	// Decode errors (a forged or stale cookie) mean no session.
	sess, err := m.cookies.Get(c.Request(), sessionName)
	if err != nil {
		return ""
	}
	id, _ := sess.Values["id"].(string)
	return id
}

// clear ends the request's session on the server and in the browser.
func (m *sessionManager) clear(c echo.Context) {
	if id := m.cookieID(c); id != "" {
		_ = m.store.DeleteAdminSession(c.Request().Context(), hashID(id))
	}
	o := m.cookieOptions()
	o.MaxAge = -1
	sess := sessions.NewSession(m.cookies, sessionName)
	sess.Options = o
	_ = m.cookies.Save(c.Request(), c.Response(), sess)
}

// requireAdmin lets a request through only with a live session. Pages
// redirect to the sign-in page and come back after; anything a script
// calls (JSON, polling) gets 401.
func (s *Server) requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		sess, ok := s.sessions.current(c)
		if !ok {
			r := c.Request()
			if (r.Method == http.MethodGet || r.Method == http.MethodHead) && !wantsJSON(r) {
				return c.Redirect(http.StatusSeeOther, "/admin/login?next="+urlQueryEscape(r.URL.RequestURI()))
			}
			return echo.NewHTTPError(http.StatusUnauthorized, "Sign in again: your session has ended.")
		}
		c.Set(ctxSession, sess)
		c.Response().Header().Set("Cache-Control", "no-store")
		return next(c)
	}
}

// wantsJSON reports whether a request comes from a script (or a media
// element) rather than from a person navigating: those get a 401 they can
// act on, not a redirect to the sign-in page. Browsers mark navigations
// with Sec-Fetch-Mode: navigate; clients without Fetch metadata (curl)
// are told by their Accept header.
func wantsJSON(r *http.Request) bool {
	if mode := r.Header.Get("Sec-Fetch-Mode"); mode != "" && mode != "navigate" {
		return true
	}
	a := r.Header.Get("Accept")
	return strings.HasPrefix(a, "application/json") || a == "text/event-stream" || r.Header.Get("X-Requested-With") != ""
}

// adminSession returns the session requireAdmin found.
func adminSession(c echo.Context) store.AdminSession {
	s, _ := c.Get(ctxSession).(store.AdminSession)
	return s
}

// errCSRF is returned for a state-changing request without the session's
// CSRF token.
var errCSRF = echo.NewHTTPError(http.StatusForbidden, "This form has expired. Go back, reload the page and try again.")

// checkCSRF refuses state-changing requests that do not carry the
// session's CSRF token, as the form field _csrf or the X-CSRF-Token header.
// It runs after requireAdmin and limitForm, and reads the form for the
// handler: a body that limitForm cut off is refused here with 413.
func checkCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		if err := readForm(c); err != nil {
			return err
		}
		want := adminSession(c).CSRFToken
		got := c.Request().Header.Get("X-CSRF-Token")
		if got == "" {
			got = c.FormValue("_csrf")
		}
		if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			return errCSRF
		}
		return next(c)
	}
}

// errTooManyLogins is the refusal of a throttled sign-in.
var errTooManyLogins = errors.New("too many sign-in attempts")

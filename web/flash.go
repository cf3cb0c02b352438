package web

import (
	"github.com/labstack/echo/v4"
)

// Flashes carry a message from an action (a POST) to the page it
// redirects to (POST/redirect/GET), once: reloading that page does not
// repeat the action nor show the message again. They travel in the
// session cookie, which gorilla/sessions signs and encrypts (hashKey,
// blockKey), so that one can carry a secret shown once, such as a new API
// key; ?done=<code> carries only fixed texts (flashMessages).

// Keys of the flashes.
const (
	flashNewKey      = "new-key"      // A new API key: its name, then its secret.
	flashWebhookTest = "webhook-test" // What came of a test event.
)

// setFlash keeps values under key in the session cookie for the next
// page that takes them.
func (m *sessionManager) setFlash(c echo.Context, key string, values ...string) error {
	sess, err := m.cookies.Get(c.Request(), sessionName)
	if err != nil {
		return err
	}
	sess.Options = m.cookieOptions()
	for _, v := range values {
		sess.AddFlash(v, key)
	}
	return m.cookies.Save(c.Request(), c.Response(), sess)
}

// takeFlash returns the values kept under key, and removes them from the
// cookie; none when there are none.
func (m *sessionManager) takeFlash(c echo.Context, key string) []string {
	sess, err := m.cookies.Get(c.Request(), sessionName)
	if err != nil {
		return nil
	}
	flashes := sess.Flashes(key)
	if len(flashes) == 0 {
		return nil
	}
	sess.Options = m.cookieOptions()
	if err := m.cookies.Save(c.Request(), c.Response(), sess); err != nil {
		return nil
	}
	out := make([]string, 0, len(flashes))
	for _, f := range flashes {
		if s, ok := f.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

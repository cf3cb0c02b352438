package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/templates"
	"github.com/uplink-video/uplink/web/account"
)

// handleAccount handles "GET /admin/account": one's own password and
// upload emails, and the list of admins.
func (s *Server) handleAccount(c echo.Context) error {
	return s.renderAccount(c, http.StatusOK, templates.AccountPage{})
}

// handlePasswordChange handles "POST /admin/account/password". It needs
// the current password, so that a session left open on someone else's
// screen cannot lock its owner out. The other sessions of the account
// end; this one stays.
func (s *Server) handlePasswordChange(c echo.Context) error {
	ctx := c.Request().Context()
	sess := adminSession(c)
	a, err := s.store.FindAdmin(ctx, sess.AdminID)
	if err != nil {
		return err
	}
	current, next := c.FormValue("current"), c.FormValue("new")
	if !account.Matches(a.PasswordHash, current) {
		return s.renderAccount(c, http.StatusUnprocessableEntity,
			templates.AccountPage{PasswordError: "The current password is not right, so the password was not changed."})
	}
	hash, err := account.Hash(next)
	if err != nil {
		return s.renderAccount(c, http.StatusUnprocessableEntity,
			templates.AccountPage{PasswordError: capitalize(err.Error()) + "."})
	}
	if err := s.store.SetAdminPasswordKeeping(ctx, a.ID, hash, hashID(s.sessions.cookieID(c))); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "admin changed their password from the dashboard", "admin", a.ID)
	return c.Redirect(http.StatusSeeOther, "/admin/account?done=password-changed")
}

// handleNotifyChange handles "POST /admin/account/notify": notify=on or
// off turns the admin's upload emails on or off.
func (s *Server) handleNotifyChange(c echo.Context) error {
	on := c.FormValue("notify") == "on"
	if err := s.store.SetAdminNotify(c.Request().Context(), adminSession(c).AdminID, on); err != nil {
		return err
	}
	done := "notify-off"
	if on {
		done = "notify-on"
	}
	return c.Redirect(http.StatusSeeOther, "/admin/account?done="+done)
}

// handleTestEmail handles "POST /admin/account/test-email": a test
// message to the signed-in admin, through the queue like any other.
func (s *Server) handleTestEmail(c echo.Context) error {
	if !s.notify.Enabled() {
		return echo.NewHTTPError(http.StatusConflict, "uplink sends no email: start it with --smtp-url.")
	}
	if err := s.notify.SendTest(c.Request().Context(), adminSession(c).Email); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/account?done=test-email")
}

// handleAdminAdd handles "POST /admin/admins": a new admin with a
// generated password, shown once in the response, as API keys are.
func (s *Server) handleAdminAdd(c echo.Context) error {
	ctx := c.Request().Context()
	email := strings.TrimSpace(c.FormValue("email"))
	if err := account.CheckEmail(email); err != nil {
		return s.renderAccount(c, http.StatusUnprocessableEntity, templates.AccountPage{
			NewAdminEmail: email, NewAdminError: "Type an email address, such as someone@example.com.",
		})
	}
	a, password, err := account.Create(ctx, s.store, email, "")
	if err != nil {
		if _, ferr := s.store.FindAdminByEmail(ctx, email); ferr == nil {
			return s.renderAccount(c, http.StatusUnprocessableEntity, templates.AccountPage{
				NewAdminEmail: email, NewAdminError: "There is already an admin with this email.",
			})
		}
		return err
	}
	s.log.InfoContext(ctx, "admin added from the dashboard", "admin", a.ID, "by", adminSession(c).AdminID)
	return s.renderAccount(c, http.StatusOK, templates.AccountPage{NewAdmin: &templates.NewAdmin{Email: a.Email, Password: password}})
}

// handleAdminRemove handles "POST /admin/admins/:id/remove". The store
// refuses to remove the last admin, in the same transaction as the
// delete. An admin who removes themselves is signed out.
func (s *Server) handleAdminRemove(c echo.Context) error {
	ctx := c.Request().Context()
	id := c.Param("id")
	if !store.ValidID(store.PrefixAdmin, id) {
		return echo.ErrNotFound
	}
	err := s.store.RemoveAdmin(ctx, id)
	switch {
	case errors.Is(err, store.ErrLastAdmin):
		return s.renderAccount(c, http.StatusConflict, templates.AccountPage{
			RemoveError: "This is the last admin: add another one before removing it.",
		})
	case errors.Is(err, store.ErrNotFound):
		return c.Redirect(http.StatusSeeOther, "/admin/account?done=admin-removed") // A second click.
	case err != nil:
		return err
	}
	s.log.InfoContext(ctx, "admin removed from the dashboard", "admin", id, "by", adminSession(c).AdminID)
	if id == adminSession(c).AdminID {
		s.sessions.clear(c)
		return c.Redirect(http.StatusSeeOther, "/admin/login")
	}
	return c.Redirect(http.StatusSeeOther, "/admin/account?done=admin-removed")
}

func (s *Server) renderAccount(c echo.Context, status int, m templates.AccountPage) error {
	ctx := c.Request().Context()
	admins, err := s.store.ListAdmins(ctx)
	if err != nil {
		return err
	}
	m.AdminPage = s.adminPage(c, "Account and admins", "account")
	if status != http.StatusOK {
		m.Title = "Error: " + m.Title
	}
	m.EmailEnabled, m.EmailServer = s.notify.Enabled(), s.notify.Describe()
	emails, err := s.store.ListEmails(ctx, 10)
	if err != nil {
		return err
	}
	for _, e := range emails {
		m.Emails = append(m.Emails, templates.EmailItem{
			To: e.To, Subject: e.Subject, Status: e.Status, Attempts: e.Attempts, Queued: stamp(e.CreatedAt), LastError: e.LastError,
		})
	}
	me := adminSession(c).AdminID
	for _, a := range admins {
		item := templates.AdminItem{ID: a.ID, Email: a.Email, Created: stamp(a.CreatedAt), Notify: a.NotifyUploads, You: a.ID == me}
		if len(admins) > 1 {
			item.RemoveURL = "/admin/admins/" + url.PathEscape(a.ID) + "/remove"
		}
		if item.You {
			m.Notify = a.NotifyUploads
		}
		m.Admins = append(m.Admins, item)
	}
	return render(c, status, templates.Account(m))
}

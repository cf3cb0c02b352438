package web

import (
	"bytes"
	"encoding/csv"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/templates"
	"github.com/uplink-video/uplink/web/links"
)

// Personalised links made in bulk: the form, the batch's table and its
// CSV.

// handleBulkNew handles "GET /admin/links/bulk".
func (s *Server) handleBulkNew(c echo.Context) error {
	return s.renderBulkForm(c, http.StatusOK, templates.BulkFormPage{Expiry: expiryInput("7d", "", "")})
}

// handleBulkCreate handles "POST /admin/links/bulk": one one-time link
// per person of the list typed in, or of the CSV file when one is sent,
// all or none. It redirects to the batch's table.
func (s *Server) handleBulkCreate(c echo.Context) error {
	m := templates.BulkFormPage{
		Label: c.FormValue("label"), Message: c.FormValue("message"),
		Expiry:       expiryInput(c.FormValue("expiry"), c.FormValue("expiryValue"), c.FormValue("expiryUnit")),
		Recipients:   c.FormValue("recipients"),
		EmailReceipt: c.FormValue("emailReceipt") != "",
		Errors:       map[string]string{},
	}
	list := []byte(m.Recipients)
	data, sent, tooBig, err := formFile(c, "csv", maxFileForm)
	switch {
	case err != nil:
		return err
	case tooBig:
		m.Errors["recipients"] = "The CSV file is too large: one batch makes at most 500 links."
	case sent:
		list = data
		m.Recipients = string(data) // Shown back, so that a fix needs no new upload.
	}
	ttl, msg := parseExpiry(c.FormValue("expiry"), c.FormValue("expiryValue"), c.FormValue("expiryUnit"))
	if msg != "" {
		m.Errors["ttl"] = msg
	}
	people, err := links.ParseRecipients(list)
	if err != nil && m.Errors["recipients"] == "" {
		m.Errors["recipients"] = err.Error()
	}
	if len(m.Errors) == 0 {
		sp := links.Spec{Label: m.Label, Message: m.Message, TTL: ttl}
		batchID, _, err := s.links.CreateBatch(c.Request().Context(), sp, people, m.EmailReceipt)
		var fe links.FieldErrors
		switch {
		case err == nil:
			s.log.InfoContext(c.Request().Context(), "links made in bulk", "batch", batchID, "links", len(people))
			return c.Redirect(http.StatusSeeOther, batchURL(batchID))
		case errors.As(err, &fe):
			m.Errors = fe
		default:
			return err
		}
	}
	return s.renderBulkForm(c, http.StatusUnprocessableEntity, m)
}

func (s *Server) renderBulkForm(c echo.Context, status int, m templates.BulkFormPage) error {
	title := "Links for several people"
	if status != http.StatusOK {
		title = "Error: " + title
	}
	m.AdminPage = s.adminPage(c, title, "links")
	m.EmailEnabled = s.notify.Enabled()
	return render(c, status, templates.BulkNew(m))
}

func batchURL(id string) string { return "/admin/batches/" + url.PathEscape(id) }

// handleBatch handles "GET /admin/batches/:id": the batch's links, in the
// order of the list they were made from.
func (s *Server) handleBatch(c echo.Context) error {
	list, err := s.batch(c)
	if err != nil {
		return err
	}
	now := s.store.Now()
	m := templates.BatchPage{CSVURL: batchURL(c.Param("id")) + "/links.csv", Expires: "never"}
	first := list[0]
	m.Label = strings.TrimSuffix(strings.TrimSuffix(first.Label, first.RecipientName), ": ")
	if first.ExpiresAt != nil {
		m.Expires = stamp(*first.ExpiresAt).Text
	}
	for _, l := range list {
		state := l.State(now)
		m.Links = append(m.Links, templates.BatchLink{
			Name: l.RecipientName, Email: l.RecipientEmail, URL: s.links.URL(l), AdminURL: adminLinkURL(l.ID),
			State: state, StateText: batchStateText[state],
		})
	}
	title := "Personalised links"
	if m.Label != "" {
		title = m.Label + ": links"
	}
	m.AdminPage = s.adminPage(c, title, "links")
	return render(c, http.StatusOK, templates.Batch(m))
}

var batchStateText = map[string]string{
	store.LinkActive: "Active", store.LinkUsedUp: "Used", store.LinkExpired: "Expired", store.LinkRevoked: "Revoked",
}

// handleBatchCSV handles "GET /admin/batches/:id/links.csv": the batch as
// a CSV file (name, email, url, expires, link ID), for a mail merge. A
// cell that a spreadsheet would take for a formula (it starts with =, +,
// -, @, a tab or a carriage return) is prefixed with an apostrophe, so
// that opening the file never runs what a recipient's name holds.
func (s *Server) handleBatchCSV(c echo.Context) error {
	list, err := s.batch(c)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"name", "email", "url", "expires", "link_id"})
	for _, l := range list {
		expires := ""
		if l.ExpiresAt != nil {
			expires = l.ExpiresAt.UTC().Format(time.RFC3339)
		}
		_ = w.Write([]string{safeCell(l.RecipientName), safeCell(l.RecipientEmail), s.links.URL(l), expires, l.ID})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	name := "uplink-links-" + s.store.Now().UTC().Format("2006-01-02") + ".csv"
	c.Response().Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}

// safeCell neutralises a cell a spreadsheet would read as a formula.
func safeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// batch returns the links of the batch in the path. Returns 404 when
// there is no such batch.
func (s *Server) batch(c echo.Context) ([]store.Link, error) {
	id := c.Param("id")
	if len(id) == 0 || len(id) > 64 {
		return nil, echo.ErrNotFound
	}
	list, err := s.store.FindLinkBatch(c.Request().Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, echo.ErrNotFound
	}
	return list, err
}

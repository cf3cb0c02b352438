package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/templates"
	"github.com/uplink-video/uplink/web/webhooks"
)

// webhookEventHints say, on the create form, what each event announces.
var webhookEventHints = map[string]string{
	webhooks.EventUploadStarted:   "An upload through a link began.",
	webhooks.EventUploadCompleted: "A file finished uploading, through a link or the API; with the video and the link's label.",
	webhooks.EventUploadFailed:    "An upload through a link was cancelled, refused or abandoned.",
	webhooks.EventLinkUsedUp:      "A link took the last upload it allows.",
	webhooks.EventLinkExpired:     "A link's expiry passed.",
}

// webhookFlash are the notices of the webhook screens, after an action
// redirected with ?done=<code>.
var webhookFlash = map[string]string{
	"webhook-created": "The endpoint was added. Configure its receiver with the secret below.",
	"webhook-deleted": "The endpoint and its delivery log were deleted.",
	"webhook-resent":  "The event was queued again. It goes out in a moment, after any earlier event about the same video or link.",
}

// handleWebhookList handles "GET /admin/webhooks": the endpoints and the
// form that adds one, with every event checked.
func (s *Server) handleWebhookList(c echo.Context) error {
	return s.renderWebhooks(c, http.StatusOK, webhookForm("", webhooks.EventTypes))
}

// handleWebhookCreate handles "POST /admin/webhooks".
func (s *Server) handleWebhookCreate(c echo.Context) error {
	params, err := c.FormParams()
	if err != nil {
		return echo.ErrBadRequest
	}
	rawURL, events := params.Get("url"), params["events"]
	ep, err := s.webhooks.CreateEndpoint(c.Request().Context(), rawURL, events)
	var fe webhooks.FieldErrors
	if errors.As(err, &fe) {
		form := webhookForm(strings.TrimSpace(rawURL), events)
		form.URLError, form.EventsError = fe["url"], fe["events"]
		return s.renderWebhooks(c, http.StatusUnprocessableEntity, form)
	}
	if err != nil {
		return err
	}
	s.log.InfoContext(c.Request().Context(), "webhook endpoint added from the dashboard", "webhook", ep.ID, "admin", adminSession(c).AdminID)
	return c.Redirect(http.StatusSeeOther, adminWebhookURL(ep.ID)+"?done=webhook-created")
}

// webhookForm is the create form with the given URL and events checked.
func webhookForm(rawURL string, checked []string) templates.WebhookForm {
	f := templates.WebhookForm{URL: rawURL}
	for _, t := range webhooks.EventTypes {
		f.Events = append(f.Events, templates.WebhookEventChoice{
			Type: t, Hint: webhookEventHints[t], Checked: slices.Contains(checked, t),
		})
	}
	return f
}

func (s *Server) renderWebhooks(c echo.Context, status int, form templates.WebhookForm) error {
	eps, err := s.store.ListWebhookEndpoints(c.Request().Context())
	if err != nil {
		return err
	}
	title := "Webhooks"
	if form.URLError != "" || form.EventsError != "" {
		title = "Error: Webhooks"
	}
	m := templates.WebhookListPage{AdminPage: s.webhookPage(c, title), Form: form}
	for _, e := range eps {
		m.Endpoints = append(m.Endpoints, templates.WebhookItem{
			ID: e.ID, URL: e.URL, Events: e.Events, Created: stamp(e.CreatedAt),
			Pending: e.Pending, Failed: e.Failed, DetailURL: adminWebhookURL(e.ID),
		})
	}
	return render(c, status, templates.WebhookList(m))
}

// webhookPage is adminPage with the webhook screens' own notices.
func (s *Server) webhookPage(c echo.Context, title string) templates.AdminPage {
	p := s.adminPage(c, title, "webhooks")
	if msg, ok := webhookFlash[c.QueryParam("done")]; ok {
		p.Flash = msg
	}
	return p
}

// handleWebhookDetail handles "GET /admin/webhooks/:id": the endpoint's
// secret and its delivery log, newest first, in pages.
func (s *Server) handleWebhookDetail(c echo.Context) error {
	ep, err := s.findWebhook(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	page := listPageParam(c)
	list, total, err := s.store.ListWebhookDeliveries(ctx, ep.ID, store.Page{Number: page, Size: listPageSize})
	if err != nil {
		return err
	}
	nav, ok := listNav(adminWebhookURL(ep.ID), nil, page, total)
	if !ok {
		return c.Redirect(http.StatusSeeOther, nav.PrevURL)
	}
	ids := make([]int64, len(list))
	for i, d := range list {
		ids[i] = d.ID
	}
	tries, err := s.store.ListWebhookAttempts(ctx, ids)
	if err != nil {
		return err
	}
	title := "Webhook " + ep.URL
	if nav.Page > 1 {
		title += fmt.Sprintf(" (page %d)", nav.Page)
	}
	m := templates.WebhookDetailPage{
		AdminPage: s.webhookPage(c, title),
		ID:        ep.ID, URL: ep.URL, Secret: ep.Secret, Events: ep.Events, Created: stamp(ep.CreatedAt),
		Total: total, Nav: nav, DeleteURL: adminWebhookURL(ep.ID) + "/delete",
		TestURL: adminWebhookURL(ep.ID) + "/test",
	}
	if got := s.sessions.takeFlash(c, flashWebhookTest); len(got) == 2 {
		m.Test = &templates.WebhookTestResult{OK: got[0] == "ok", Text: got[1]}
	}
	for _, d := range list {
		m.Deliveries = append(m.Deliveries, deliveryItem(ep.ID, d, tries[d.ID]))
	}
	return render(c, http.StatusOK, templates.WebhookDetail(m))
}

// deliveryItem is a delivery as the log shows it.
func deliveryItem(endpointID string, d store.WebhookDelivery, tries []store.WebhookAttempt) templates.DeliveryItem {
	id := strconv.FormatInt(d.ID, 10)
	item := templates.DeliveryItem{
		ID: id, Event: d.EventType, EventID: d.EventID, Subject: deliverySubject(d.OrderKey),
		Status: d.Status, Badge: deliveryBadges[d.Status], Attempts: d.Attempts, Created: stamp(d.CreatedAt),
		NextTry: templates.Timestamp{Text: "—"}, LastResult: "Not tried yet", LastError: d.LastError,
		ResendURL: adminWebhookURL(endpointID) + "/deliveries/" + id + "/resend",
		Payload:   indentJSON(d.Payload),
	}
	if d.NextAttemptAt != nil {
		item.NextTry = stamp(*d.NextAttemptAt)
	}
	if d.Attempts > 0 {
		item.LastResult = attemptResult(d.LastStatus)
	}
	if d.ResentFrom != 0 {
		item.ResentFrom = strconv.FormatInt(d.ResentFrom, 10)
	}
	for _, a := range tries {
		item.Tries = append(item.Tries, templates.AttemptItem{
			At: stamp(a.At), Result: attemptResult(a.Status), Error: a.Error,
			Duration: a.Duration.Round(time.Millisecond).String(),
		})
	}
	return item
}

// deliveryBadges are the CSS classes of the delivery statuses' badges,
// borrowed from the upload statuses' colours.
var deliveryBadges = map[string]string{
	store.DeliveryPending:   "uploading",
	store.DeliveryDelivered: "uploaded",
	store.DeliveryFailed:    "deleted",
}

func attemptResult(status int) string {
	if status == 0 {
		return "No answer"
	}
	return "HTTP " + strconv.Itoa(status)
}

// deliverySubject names what a delivery is about, from its order key.
func deliverySubject(key string) string {
	kind, id, ok := strings.Cut(key, ":")
	if !ok {
		return ""
	}
	return kind + " " + id
}

func indentJSON(b []byte) string {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return string(b)
	}
	return out.String()
}

// handleWebhookResend handles "POST /admin/webhooks/:id/deliveries/:did/resend":
// the delivery's event is sent again (see webhooks.Service.Resend).
func (s *Server) handleWebhookResend(c echo.Context) error {
	ep, err := s.findWebhook(c)
	if err != nil {
		return err
	}
	did, err := strconv.ParseInt(c.Param("did"), 10, 64)
	if err != nil || did < 1 {
		return echo.ErrNotFound
	}
	d, err := s.webhooks.Resend(c.Request().Context(), ep.ID, did)
	if err != nil {
		return err
	}
	s.log.InfoContext(c.Request().Context(), "webhook delivery resent from the dashboard", "webhook", ep.ID, "delivery", did, "new", d.ID, "admin", adminSession(c).AdminID)
	return c.Redirect(http.StatusSeeOther, adminWebhookURL(ep.ID)+"?done=webhook-resent")
}

// handleWebhookTest handles "POST /admin/webhooks/:id/test": one signed
// webhook.test event, sent now (webhooks.Service.SendTest). The endpoint's
// page then says what came of it, once.
func (s *Server) handleWebhookTest(c echo.Context) error {
	ep, err := s.findWebhook(c)
	if err != nil {
		return err
	}
	r := s.webhooks.SendTest(c.Request().Context(), ep)
	ok, text := "failed", "The test event failed: "+r.Error
	if r.OK {
		ok, text = "ok", fmt.Sprintf("The endpoint answered the test event with HTTP %d in %d ms.", r.Status, r.Duration.Milliseconds())
	}
	if err := s.sessions.setFlash(c, flashWebhookTest, ok, text); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, adminWebhookURL(ep.ID))
}

// handleWebhookDelete handles "POST /admin/webhooks/:id/delete". Deleting
// an endpoint that is already gone (a second click) just shows the list.
func (s *Server) handleWebhookDelete(c echo.Context) error {
	id := c.Param("id")
	if !store.ValidID(store.PrefixWebhookEndpoint, id) {
		return echo.ErrNotFound
	}
	err := s.store.DeleteWebhookEndpoint(c.Request().Context(), id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	s.log.InfoContext(c.Request().Context(), "webhook endpoint deleted from the dashboard", "webhook", id, "admin", adminSession(c).AdminID)
	return c.Redirect(http.StatusSeeOther, "/admin/webhooks?done=webhook-deleted")
}

// findWebhook loads the endpoint named in the path, checking the ID's
// shape before any lookup.
func (s *Server) findWebhook(c echo.Context) (store.WebhookEndpoint, error) {
	id := c.Param("id")
	if !store.ValidID(store.PrefixWebhookEndpoint, id) {
		return store.WebhookEndpoint{}, echo.ErrNotFound
	}
	return s.store.FindWebhookEndpoint(c.Request().Context(), id)
}

// adminWebhookURL is the dashboard page of an endpoint.
func adminWebhookURL(id string) string { return "/admin/webhooks/" + url.PathEscape(id) }

package web_test

// Tests of the dashboard's webhook screens: registering an endpoint (with
// its errors next to the fields), its secret, its delivery log with the
// resend button, and deleting it.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/web/webhooks"
	"github.com/uplink-video/uplink/web/webtest"
)

func text(s *goquery.Selection) string { return strings.Join(strings.Fields(s.Text()), " ") }

func TestWebhookCreateShowsTheSecret(t *testing.T) {
	a := newAdminApp(t)
	doc := a.getPage(t, "/admin/webhooks")
	if got, want := doc.Find("title").Text(), "Webhooks · uplink"; got != want {
		t.Errorf("title=%q, want=%q", got, want)
	}
	if got, _ := doc.Find(`nav a[aria-current="page"]`).Attr("href"); got != "/admin/webhooks" {
		t.Errorf("current menu entry=%q, want /admin/webhooks", got)
	}
	if got := text(testID(doc, "empty")); !strings.HasPrefix(got, "No endpoints yet") {
		t.Errorf("empty state=%q", got)
	}
	for _, typ := range webhooks.EventTypes {
		box := testID(doc, "event-"+typ)
		if _, checked := box.Attr("checked"); box.Length() != 1 || !checked {
			t.Errorf("the %s box is missing or unchecked", typ)
		}
	}
	if doc.Find(`label[for="webhook-url"]`).Length() != 1 || doc.Find("fieldset legend").Length() != 1 {
		t.Errorf("the form's fields are not labelled")
	}

	status, body, loc := a.postForm(t, "/admin/webhooks", url.Values{
		"url":    {"  https://hooks.example.com/uplink?tenant=7  "},
		"events": {webhooks.EventUploadCompleted, webhooks.EventLinkExpired},
	})
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/webhooks/wh") || !strings.HasSuffix(loc, "?done=webhook-created") {
		t.Fatalf("POST /admin/webhooks: %d %q\n%s", status, loc, body)
	}
	doc = a.getPage(t, loc)
	if got, want := text(testID(doc, "webhook-heading")), "https://hooks.example.com/uplink?tenant=7"; got != want {
		t.Errorf("heading=%q, want=%q", got, want)
	}
	if got := text(testID(doc, "flash")); !strings.Contains(got, "The endpoint was added") {
		t.Errorf("flash=%q", got)
	}
	if got, want := text(testID(doc, "webhook-events")), "upload.completed, link.expired"; got != want {
		t.Errorf("events=%q, want=%q", got, want)
	}
	secret, _ := testID(doc, "webhook-secret").Attr("value")
	id := strings.TrimSuffix(strings.TrimPrefix(loc, "/admin/webhooks/"), "?done=webhook-created")
	ep, err := a.Store.FindWebhookEndpoint(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if secret == "" || secret != ep.Secret {
		t.Errorf("shown secret=%q, want the endpoint's %q", secret, ep.Secret)
	}
	if sel, _ := testID(doc, "copy-secret").Attr("data-copy"); sel != "#webhook-secret" || doc.Find(sel).Length() != 1 {
		t.Errorf("the copy button copies %q, want the secret's field", sel)
	}
	if got := text(testID(doc, "empty")); !strings.HasPrefix(got, "No deliveries yet") {
		t.Errorf("empty log=%q", got)
	}

	doc = a.getPage(t, "/admin/webhooks")
	row := testID(doc, "webhook-row")
	if row.Length() != 1 || text(row.Find(`[data-testid="webhook-url"]`)) != "https://hooks.example.com/uplink?tenant=7" {
		t.Fatalf("rows=%d %q", row.Length(), text(row))
	}
	if href, _ := row.Find("a").Attr("href"); href != "/admin/webhooks/"+id {
		t.Errorf("row link=%q", href)
	}
	if got, want := text(row.Find(`[data-testid="webhook-queue"]`)), "0 pending"; got != want {
		t.Errorf("queue=%q, want=%q", got, want)
	}
}

func TestWebhookCreateShowsErrorsNextToFields(t *testing.T) {
	a := newAdminApp(t)
	tests := []struct {
		description string
		form        url.Values
		urlError    string
		eventsError string
	}{
		{"credentials and no events", url.Values{"url": {"https://user:pw@hooks.example.com/"}},
			"Leave the user name and password out of the URL", "Choose at least one event"},
		{"another scheme", url.Values{"url": {"ftp://hooks.example.com/"}, "events": {webhooks.EventUploadStarted}},
			"must start with https://", ""},
		{"a loopback address", url.Values{"url": {"http://127.0.0.1:8080/hook"}, "events": {webhooks.EventUploadStarted}},
			"local or private address", ""},
		{"loopback as IPv4-compatible IPv6", url.Values{"url": {"http://[::127.0.0.1]/hook"}, "events": {webhooks.EventUploadStarted}},
			"local or private address (::127.0.0.1, that is 127.0.0.1)", ""},
		{"loopback in hex", url.Values{"url": {"http://0x7f.1:8080/hook"}, "events": {webhooks.EventUploadStarted}},
			"local or private address (0x7f.1, that is 127.0.0.1)", ""},
		{"no URL", url.Values{"events": {webhooks.EventUploadStarted}}, "Enter the URL", ""},
		{"an unknown event", url.Values{"url": {"https://hooks.example.com/"}, "events": {"video.deleted"}},
			"", "Choose at least one event"},
	}
	for _, tt := range tests {
		t.Run(tt.description, func(t *testing.T) {
			status, body, _ := a.postForm(t, "/admin/webhooks", tt.form)
			if status != http.StatusUnprocessableEntity {
				t.Fatalf("status=%d, want=422\n%s", status, body)
			}
			doc := parseHTML(t, body)
			if got, want := doc.Find("title").Text(), "Error: Webhooks · uplink"; got != want {
				t.Errorf("title=%q, want=%q", got, want)
			}
			input := testID(doc, "webhook-url-input")
			if v, _ := input.Attr("value"); v != strings.TrimSpace(tt.form.Get("url")) {
				t.Errorf("the URL field lost its value: %q", v)
			}
			urlErr := text(testID(doc, "webhook-url-error"))
			inv, _ := input.Attr("aria-invalid")
			desc, _ := input.Attr("aria-describedby")
			if tt.urlError == "" {
				if urlErr != "" || inv != "" {
					t.Errorf("URL error=%q invalid=%q, want none", urlErr, inv)
				}
			} else if !strings.Contains(urlErr, tt.urlError) || inv != "true" || !strings.Contains(desc, "webhook-url-error") {
				t.Errorf("URL error=%q invalid=%q describedby=%q, want %q", urlErr, inv, desc, tt.urlError)
			}
			fieldset := testID(doc, "webhook-events-field")
			eventsErr := text(testID(doc, "webhook-events-error"))
			if tt.eventsError == "" {
				if eventsErr != "" {
					t.Errorf("events error=%q, want none", eventsErr)
				}
			} else if d, _ := fieldset.Attr("aria-describedby"); !strings.Contains(eventsErr, tt.eventsError) || d != "webhook-events-error" {
				t.Errorf("events error=%q describedby=%q, want %q", eventsErr, d, tt.eventsError)
			}
			for _, typ := range webhooks.EventTypes {
				_, checked := testID(doc, "event-"+typ).Attr("checked")
				if want := slices.Contains(tt.form["events"], typ); checked != want {
					t.Errorf("%s checked=%v, want=%v (as submitted)", typ, checked, want)
				}
			}
		})
	}
	eps, err := a.Store.ListWebhookEndpoints(context.Background())
	if err != nil || len(eps) != 0 {
		t.Errorf("endpoints after refused forms=%d, %v", len(eps), err)
	}
}

// deliveryRows returns the log's rows, newest first, as
// "event | status | attempts | result".
func deliveryRows(doc *goquery.Document) []string {
	var rows []string
	testID(doc, "delivery-row").Each(func(_ int, s *goquery.Selection) {
		var cells []string
		for _, f := range []string{"delivery-event", "delivery-status", "delivery-attempts", "delivery-result"} {
			cells = append(cells, text(s.Find(`[data-testid="`+f+`"]`)))
		}
		rows = append(rows, strings.Join(cells, " | "))
	})
	return rows
}

func TestWebhookDeliveryLogAndResend(t *testing.T) {
	// The app's webhooks service may call the test's loopback receiver;
	// the test runs its worker, and the dashboard shows what it did.
	a := newAdminApp(t, webtest.WithPrivateWebhooks())
	ctx := context.Background()
	var fixed atomic.Bool
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !fixed.Load() {
			http.Error(w, "not today", http.StatusInternalServerError)
		}
	}))
	t.Cleanup(rcv.Close)
	ep, err := a.Webhooks.CreateEndpoint(ctx, rcv.URL+"/hook", webhooks.EventTypes)
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{webhooks.EventUploadStarted, webhooks.EventUploadCompleted} {
		if _, err := a.Webhooks.Emit(ctx, webhooks.Event{Type: typ, OrderKey: "video:viABC", Data: webhooks.UploadData{VideoID: "viABC"}}); err != nil {
			t.Fatal(err)
		}
	}
	deliver := func() {
		t.Helper()
		if _, err := a.Webhooks.DeliverDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	deliver()

	page := "/admin/webhooks/" + ep.ID
	doc := a.getPage(t, page)
	want := []string{
		"upload.completed | pending | 0 | Not tried yet",
		"upload.started | pending | 1 | HTTP 500",
	}
	if got := deliveryRows(doc); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("log=\n%s\nwant=\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	started := testID(doc, "delivery-row").Eq(1)
	if got := text(started.Find(`[data-testid="delivery-error"]`)); got != "HTTP 500 Internal Server Error: not today" {
		t.Errorf("last error=%q", got)
	}
	next, _ := started.Find(`[data-testid="delivery-next"] time`).Attr("datetime")
	if next == "" {
		t.Errorf("a pending delivery shows no next try")
	}
	if got := text(started.Find(`[data-testid="delivery-payload"]`)); !strings.Contains(got, `"type": "upload.started"`) {
		t.Errorf("payload=%q", got)
	}
	if got := text(started.Find(`[data-testid="delivery-tries"]`)); !strings.Contains(got, "HTTP 500") {
		t.Errorf("attempts=%q", got)
	}
	if got := text(testID(doc, "delivery-count")); got != "2 deliveries, newest first" {
		t.Errorf("count=%q", got)
	}

	// The receiver is fixed. Its retry would come later; the admin
	// resends the pending delivery, which makes it due now.
	fixed.Store(true)
	startedID, _ := started.Attr("data-delivery-id")
	action, _ := started.Find("form").Attr("action")
	if want := page + "/deliveries/" + startedID + "/resend"; action != want {
		t.Errorf("resend form action=%q, want=%q", action, want)
	}
	status, body, loc := a.postForm(t, action, nil)
	if status != http.StatusSeeOther || loc != page+"?done=webhook-resent" {
		t.Fatalf("resend: %d %q\n%s", status, loc, body)
	}
	doc = a.getPage(t, loc)
	if got := text(testID(doc, "flash")); !strings.Contains(got, "queued again") {
		t.Errorf("flash=%q", got)
	}
	if got := testID(doc, "delivery-row").Length(); got != 2 {
		t.Errorf("resending a pending delivery made %d rows, want 2", got)
	}
	deliver()
	deliver()
	doc = a.getPage(t, page)
	want = []string{
		"upload.completed | delivered | 1 | HTTP 200",
		"upload.started | delivered | 2 | HTTP 200",
	}
	if got := deliveryRows(doc); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("log=\n%s\nwant=\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// A delivered one is sent again as a new delivery.
	completedID, _ := testID(doc, "delivery-row").First().Attr("data-delivery-id")
	action, _ = testID(doc, "delivery-row").First().Find("form").Attr("action")
	if status, _, _ := a.postForm(t, action, nil); status != http.StatusSeeOther {
		t.Fatalf("resend: %d", status)
	}
	deliver()
	doc = a.getPage(t, page)
	rows := testID(doc, "delivery-row")
	if got, want := text(rows.First().Find(`[data-testid="delivery-resent-from"]`)), "resends #"+completedID; got != want {
		t.Errorf("newest row says %q, want %q", got, want)
	}
	if got, want := deliveryRows(doc)[0], "upload.completed | delivered | 1 | HTTP 200"; got != want {
		t.Errorf("newest row=%q, want=%q", got, want)
	}

	// Another endpoint's delivery, or none, cannot be resent from here.
	other, err := a.Store.CreateWebhookEndpoint(ctx, store.WebhookEndpointCreate{URL: "https://hooks.example.com/", Secret: webhooks.NewSecret(), Events: webhooks.EventTypes})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		"/admin/webhooks/" + other.ID + "/deliveries/" + startedID + "/resend",
		page + "/deliveries/99999/resend",
		page + "/deliveries/x/resend",
		"/admin/webhooks/whnosuchendpoint000000000/deliveries/1/resend",
	} {
		if status, _, _ := a.postForm(t, path, nil); status != http.StatusNotFound {
			t.Errorf("POST %s: %d, want 404", path, status)
		}
	}
}

func TestWebhookDelete(t *testing.T) {
	a := newAdminApp(t)
	ctx := context.Background()
	ep, err := a.Store.CreateWebhookEndpoint(ctx, store.WebhookEndpointCreate{URL: "https://hooks.example.com/", Secret: webhooks.NewSecret(), Events: webhooks.EventTypes})
	if err != nil {
		t.Fatal(err)
	}
	page := "/admin/webhooks/" + ep.ID
	doc := a.getPage(t, page)
	form := testID(doc, "delete-webhook").Closest("form")
	action, _ := form.Attr("action")
	if confirm, _ := form.Attr("data-confirm"); action != page+"/delete" || confirm == "" {
		t.Errorf("delete form action=%q confirm=%q", action, confirm)
	}
	for range 2 { // A second click finds it gone, and says done all the same.
		status, body, loc := a.postForm(t, action, nil)
		if status != http.StatusSeeOther || loc != "/admin/webhooks?done=webhook-deleted" {
			t.Fatalf("delete: %d %q\n%s", status, loc, body)
		}
	}
	doc = a.getPage(t, "/admin/webhooks?done=webhook-deleted")
	if got := text(testID(doc, "flash")); !strings.Contains(got, "deleted") {
		t.Errorf("flash=%q", got)
	}
	if testID(doc, "webhook-row").Length() != 0 {
		t.Errorf("the deleted endpoint is still listed")
	}
	for _, path := range []string{page, "/admin/webhooks/nope", "/admin/webhooks/whnosuchendpoint000000000"} {
		if status, _ := a.get(t, path); status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, status)
		}
	}
	if status, _, _ := a.postForm(t, "/admin/webhooks/nope/delete", nil); status != http.StatusNotFound {
		t.Errorf("deleting a malformed ID: %d, want 404", status)
	}
}

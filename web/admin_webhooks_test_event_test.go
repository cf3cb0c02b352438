package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/uplink-video/uplink/web/webhooks"
	"github.com/uplink-video/uplink/web/webtest"
)

// TestWebhookSendTestEvent presses "Send a test event" on an endpoint's
// page: the endpoint receives one signed webhook.test event at once, the
// page says how it answered, once (a reload does not say it again nor
// send another), and the delivery log stays empty. An endpoint that
// answers 500 gets the error component with the answer.
func TestWebhookSendTestEvent(t *testing.T) {
	var (
		mu     sync.Mutex
		got    []string
		status = http.StatusNoContent
	)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		got = append(got, r.Header.Get(webhooks.HeaderEvent)+" "+r.Header.Get(webhooks.HeaderSignature)[:2]+" "+string(body[:min(len(body), 40)]))
		w.WriteHeader(status)
	}))
	t.Cleanup(rcv.Close)

	a := newAdminApp(t, webtest.WithPrivateWebhooks())
	status0, _, loc := a.postForm(t, "/admin/webhooks", url.Values{"url": {rcv.URL + "/hook"}, "events": {webhooks.EventUploadCompleted}})
	if status0 != http.StatusSeeOther {
		t.Fatalf("add the endpoint: %d", status0)
	}
	page, _, _ := strings.Cut(loc, "?")
	status1, _, loc := a.postForm(t, page+"/test", nil)
	if status1 != http.StatusSeeOther || loc != page {
		t.Fatalf("send a test event: %d to %q", status1, loc)
	}
	mu.Lock()
	if len(got) != 1 || !strings.HasPrefix(got[0], "webhook.test t= {") {
		t.Errorf("the endpoint received %q, want one signed webhook.test event", got)
	}
	mu.Unlock()
	doc := a.getPage(t, page)
	if text := strings.TrimSpace(testID(doc, "test-result").Text()); !strings.HasPrefix(text, "The endpoint answered the test event with HTTP 204") {
		t.Errorf("the page says %q about the test", text)
	}
	if testID(doc, "delivery-row").Length() != 0 {
		t.Error("the test event is in the delivery log")
	}
	doc = a.getPage(t, page)
	if testID(doc, "test-result").Length() != 0 {
		t.Error("a reload shows the test's result again")
	}

	mu.Lock()
	status = http.StatusInternalServerError
	mu.Unlock()
	a.postForm(t, page+"/test", nil)
	doc = a.getPage(t, page)
	failed := testID(doc, "test-result")
	if !failed.HasClass("error-summary") || !strings.Contains(failed.Text(), "HTTP 500") {
		t.Errorf("a failed test shows as %q (class %q)", failed.Text(), failed.AttrOr("class", ""))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 {
		t.Errorf("the endpoint received %d events, want 2 (no resend on reload)", len(got))
	}
}

// TestWebhookPrivateAddressSaysHowToAllow adds an endpoint on a loopback
// address to an app that refuses private ones: the error next to the URL
// names the flag that allows them.
func TestWebhookPrivateAddressSaysHowToAllow(t *testing.T) {
	a := newAdminApp(t)
	status, body, _ := a.postForm(t, "/admin/webhooks", map[string][]string{"url": {"http://127.0.0.1:9/hook"}, "events": {webhooks.EventUploadCompleted}})
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("add a loopback endpoint: %d, want 422", status)
	}
	msg := testID(parseHTML(t, body), "webhook-url-error").Text()
	if !strings.Contains(msg, "--webhook-allow-private") {
		t.Errorf("the URL's error=%q, want it to name --webhook-allow-private", msg)
	}
}

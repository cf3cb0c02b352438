package web_test

// Tests of the account page: changing one's own password, upload emails,
// and adding and removing admins (never the last one).

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
)

func TestPasswordChange(t *testing.T) {
	t.Parallel()
	a := newAdminApp(t)
	other := newAnonymousAppClient(t, a)

	for _, tc := range []struct {
		description, current, next, wantError string
	}{
		{"a wrong current password", "not it at all, sorry", "a brand new passphrase", "current password is not right"},
		{"a new password too short", adminPassword, "short", "at least 12 characters"},
	} {
		status, body, _ := a.postForm(t, "/admin/account/password", url.Values{"current": {tc.current}, "new": {tc.next}})
		if status != http.StatusUnprocessableEntity {
			t.Errorf("%s: status=%d, want=422", tc.description, status)
		}
		if got := testID(parseHTML(t, body), "new-password-error").Text(); !strings.Contains(got, tc.wantError) {
			t.Errorf("%s: error %q, want it to say %q", tc.description, got, tc.wantError)
		}
	}

	status, _, loc := a.postForm(t, "/admin/account/password", url.Values{"current": {adminPassword}, "new": {"a brand new passphrase"}})
	if status != http.StatusSeeOther || loc != "/admin/account?done=password-changed" {
		t.Fatalf("change: %d %q", status, loc)
	}
	// This session goes on; the other device is signed out.
	if status, _ := a.get(t, "/admin/account"); status != http.StatusOK {
		t.Errorf("this session after the change: %d, want 200", status)
	}
	if status, _ := other.get(t, "/admin/account"); status != http.StatusSeeOther {
		t.Errorf("the other session after the change: %d, want 303 to sign-in", status)
	}
	// The new password signs in; the old one no longer does.
	fresh := newAnonymousAppClient(t, a)
	if !fresh.trySignIn(t, adminEmail, "a brand new passphrase") {
		t.Error("the new password does not sign in")
	}
	if newAnonymousAppClient(t, a).trySignIn(t, adminEmail, adminPassword) {
		t.Error("the old password still signs in")
	}
}

func TestNotifyOptIn(t *testing.T) {
	t.Parallel()
	a := newAdminApp(t)
	doc := a.getPage(t, "/admin/account")
	if testID(doc, "email-off").Length() != 1 || testID(doc, "notify-on").Length() != 1 {
		t.Fatal("without --smtp-url the page should say email is off and offer to opt in")
	}
	if status, _, loc := a.postForm(t, "/admin/account/notify", url.Values{"notify": {"on"}}); status != http.StatusSeeOther || !strings.Contains(loc, "notify-on") {
		t.Fatalf("opt in: %d %q", status, loc)
	}
	list, err := a.Store.ListNotifiedAdmins(context.Background())
	if err != nil || len(list) != 1 || list[0].Email != adminEmail {
		t.Fatalf("notified admins = %+v, %v", list, err)
	}
	if testID(a.getPage(t, "/admin/account"), "notify-off").Length() != 1 {
		t.Error("after opting in, the page should offer to stop")
	}
	a.postForm(t, "/admin/account/notify", url.Values{"notify": {"off"}})
	if list, _ := a.Store.ListNotifiedAdmins(context.Background()); len(list) != 0 {
		t.Errorf("after opting out: %d notified", len(list))
	}
	if status, _, _ := a.postForm(t, "/admin/account/test-email", nil); status != http.StatusConflict {
		t.Errorf("test email without SMTP: %d, want 409", status)
	}
}

func TestAddAndRemoveAdmins(t *testing.T) {
	t.Parallel()
	a := newAdminApp(t)
	ctx := context.Background()

	// The only admin has no Remove button, and removing them is refused.
	doc := a.getPage(t, "/admin/account")
	if n := testID(doc, "remove-admin").Length(); n != 0 {
		t.Errorf("remove buttons with one admin: %d, want 0", n)
	}
	me, err := a.Store.FindAdminByEmail(ctx, adminEmail)
	if err != nil {
		t.Fatal(err)
	}
	status, body, _ := a.postForm(t, "/admin/admins/"+me.ID+"/remove", nil)
	if status != http.StatusConflict || !strings.Contains(testID(parseHTML(t, body), "remove-error").Text(), "last admin") {
		t.Errorf("removing the last admin: %d, want 409 saying why", status)
	}

	for _, bad := range []string{"", "not an email", "a@b.c, d@e.f"} {
		status, body, _ := a.postForm(t, "/admin/admins", url.Values{"email": {bad}})
		if status != http.StatusUnprocessableEntity || testID(parseHTML(t, body), "admin-email-new-error").Text() == "" {
			t.Errorf("add %q: %d, want 422 with the reason", bad, status)
		}
	}
	status, body, _ = a.postForm(t, "/admin/admins", url.Values{"email": {"second@example.com"}})
	if status != http.StatusOK {
		t.Fatalf("add: %d\n%s", status, body)
	}
	password, _ := testID(parseHTML(t, body), "new-admin-password").Attr("value")
	if len(password) < 12 {
		t.Fatalf("the new admin's password %q is not shown", password)
	}
	if status, body, _ := a.postForm(t, "/admin/admins", url.Values{"email": {"second@example.com"}}); status != http.StatusUnprocessableEntity ||
		!strings.Contains(body, "already an admin") {
		t.Errorf("adding the same email again: %d", status)
	}
	second := newAnonymousAppClient(t, a)
	if !second.trySignIn(t, "second@example.com", password) {
		t.Fatal("the new admin cannot sign in with the password shown")
	}

	// The first admin removes the second, who is signed out at once.
	two, _ := a.Store.FindAdminByEmail(ctx, "second@example.com")
	if status, _, loc := a.postForm(t, "/admin/admins/"+two.ID+"/remove", nil); status != http.StatusSeeOther || !strings.Contains(loc, "admin-removed") {
		t.Fatalf("remove: %d %q", status, loc)
	}
	if status, _ := second.get(t, "/admin/links"); status != http.StatusSeeOther {
		t.Errorf("the removed admin's session: %d, want 303 to sign-in", status)
	}
	if n, _ := a.Store.CountAdmins(ctx); n != 1 {
		t.Errorf("admins=%d, want 1", n)
	}
}

// newAnonymousAppClient returns a client of the same running app with a
// cookie jar of its own: another browser.
func newAnonymousAppClient(t *testing.T, a *adminApp) *adminApp {
	t.Helper()
	b := *a
	b.Client, b.csrf = newClient(t), ""
	if !b.trySignIn(t, adminEmail, adminPassword) {
		// The caller may sign in as someone else.
		b.Client = newClient(t)
	}
	return &b
}

// trySignIn signs in through the form and reports whether it worked.
func (a *adminApp) trySignIn(t *testing.T, email, password string) bool {
	t.Helper()
	a.Client = newClient(t)
	_, body := a.get(t, "/admin/login")
	status, _, _ := a.post(t, "/admin/login", url.Values{"_csrf": {formCSRF(t, body)}, "email": {email}, "password": {password}})
	if status != http.StatusSeeOther {
		return false
	}
	_, _ = a.get(t, "/admin/account")
	return true
}

// TestEmailLog: the account page shows the latest messages of the queue
// with their state, so that an admin sees whether email goes out.
func TestEmailLog(t *testing.T) {
	t.Parallel()
	a := newAdminApp(t)
	if testID(a.getPage(t, "/admin/account"), "email-log").Length() != 0 {
		t.Fatal("an empty queue shows a log")
	}
	_, err := a.Store.EnqueueEmails(context.Background(), []store.EmailMessage{{
		Kind: store.EmailTest, DedupeKey: "test:1", MessageID: "m1@uplink.test", To: "admin@example.com", Subject: "uplink: test message", Body: "hi",
	}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	doc := a.getPage(t, "/admin/account")
	if got := testID(doc, "email-status").Text(); got != "pending" || !strings.Contains(testID(doc, "email-log").Text(), "uplink: test message") {
		t.Errorf("email log: status %q, %q", got, testID(doc, "email-log").Text())
	}
}

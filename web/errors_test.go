package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestEndedSessionAnswers checks how a request without a session is told:
// a person navigating is sent to the sign-in page, a script gets a 401.
func TestEndedSessionAnswers(t *testing.T) {
	a := newAnonymousApp(t)
	for _, tc := range []struct {
		description string
		header      http.Header
		wantStatus  int
	}{
		{"a person navigating", http.Header{"Sec-Fetch-Mode": {"navigate"}}, http.StatusSeeOther},
		{"curl", nil, http.StatusSeeOther},
		{"fetch() from a page", http.Header{"Sec-Fetch-Mode": {"cors"}, "Accept": {"*/*"}}, http.StatusUnauthorized},
		{"a <video> element", http.Header{"Sec-Fetch-Mode": {"no-cors"}}, http.StatusUnauthorized},
		{"a script asking for JSON", http.Header{"Accept": {"application/json"}}, http.StatusUnauthorized},
	} {
		t.Run(tc.description, func(t *testing.T) {
			resp, body := a.getResponse(t, "/admin/links", tc.header)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if tc.wantStatus == http.StatusUnauthorized && !strings.Contains(body, "Sign in again") {
				t.Errorf("401 body does not tell the person to sign in again: %s", body)
			}
		})
	}
}

// TestForbiddenPageIsReadable checks that a refused form says why.
func TestForbiddenPageIsReadable(t *testing.T) {
	a := newAdminApp(t)
	status, body, _ := a.post(t, "/admin/logout", url.Values{"_csrf": {"wrong"}})
	if status != http.StatusForbidden {
		t.Fatalf("status %d, want 403", status)
	}
	if !strings.Contains(body, "This form has expired") {
		t.Errorf("403 page does not say the form expired:\n%s", body)
	}
}

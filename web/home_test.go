package web_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestHomeTalksAboutLinksFirst opens the start page: it links to the
// dashboard, its first steps are about links, and the commands it gives a
// newcomer work from a source checkout (go run ./cmd/uplink ...).
func TestHomeTalksAboutLinksFirst(t *testing.T) {
	a := newAnonymousApp(t)
	status, body := a.get(t, "/")
	if status != http.StatusOK {
		t.Fatalf("GET /: %d", status)
	}
	doc := parseHTML(t, body)
	if got := testID(doc, "open-dashboard").AttrOr("href", ""); got != "/admin" {
		t.Errorf("the dashboard link goes to %q, want /admin", got)
	}
	steps := strings.Join(strings.Fields(testID(doc, "get-started").Text()), " ")
	if i, j := strings.Index(steps, "Create a link"), strings.Index(body, "upload-tokens"); i < 0 || j < 0 || strings.Index(body, "Create a link") > j {
		t.Errorf("the first steps are not about links: %q", steps)
	}
	if !strings.Contains(steps, "go run ./cmd/uplink admin create") {
		t.Errorf("the first steps give no command that works from the source: %q", steps)
	}
}

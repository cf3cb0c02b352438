package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/uplink-video/uplink/web/links"
)

// TestLinkClosedShowsWhyAndNoShare opens the page of a link in each closed
// state: none has the Share block (URL, Copy, QR, embed), each says why it
// is closed and offers Duplicate, and the expired one also offers Extend.
// An active link has the Share block and no closed notice.
func TestLinkClosedShowsWhyAndNoShare(t *testing.T) {
	a := newAdminApp(t)
	active := seedLink(t, a, links.Spec{Label: "Open", EmbedOrigins: []string{"https://a.example"}})
	expired := seedLink(t, a, links.Spec{Label: "Old", TTL: 5 * time.Minute})
	revoked := seedLink(t, a, links.Spec{Label: "Gone"})
	usedUp := seedLink(t, a, links.Spec{Label: "Done", MaxUploads: 1})
	if _, err := a.Links.Revoke(context.Background(), revoked.ID); err != nil {
		t.Fatal(err)
	}
	uploadThrough(t, a, usedUp, 1000)
	a.Clock.Advance(10 * time.Minute)

	for _, tt := range []struct {
		description string
		id          string
		reason      string // What the closed notice says; "" for none.
		extend      bool
	}{
		{"active", active.ID, "", false},
		{"expired", expired.ID, "It expired on ", true},
		{"revoked", revoked.ID, "It was revoked on ", false},
		{"used up", usedUp.ID, "All its uploads were used (1 / 1).", false},
	} {
		doc := a.getPage(t, "/admin/links/"+tt.id)
		share := testID(doc, "link-url").Length() + testID(doc, "qr").Length() + testID(doc, "copy-url").Length()
		if got, want := share > 0, tt.reason == ""; got != want {
			t.Errorf("%s: Share block shown=%v, want=%v", tt.description, got, want)
		}
		reason := strings.TrimSpace(testID(doc, "closed-reason").Text())
		if !strings.HasPrefix(reason, tt.reason) || (tt.reason == "") != (reason == "") {
			t.Errorf("%s: closed reason=%q, want it to start with %q", tt.description, reason, tt.reason)
		}
		if tt.reason != "" {
			if got, want := testID(doc, "closed-duplicate").AttrOr("href", ""), "/admin/links/new?from="+tt.id; got != want {
				t.Errorf("%s: Duplicate goes to %q, want=%q", tt.description, got, want)
			}
		}
		if got := testID(doc, "closed-extend").Length() == 1; got != tt.extend {
			t.Errorf("%s: Extend offered=%v, want=%v", tt.description, got, tt.extend)
		}
	}
}

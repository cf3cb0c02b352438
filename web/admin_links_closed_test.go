package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

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

// TestLinkPageDropsDeletedVideos deletes, from the dashboard, a video that
// arrived through a link: the link's page no longer lists the upload nor
// links to the video, and the link still counts it against its limit.
func TestLinkPageDropsDeletedVideos(t *testing.T) {
	a := newAdminApp(t)
	l := seedLink(t, a, links.Spec{Label: "Two", MaxUploads: 2})
	kept := uploadThrough(t, a, l, 1000)
	gone := uploadThrough(t, a, l, 2000)
	if status, _, _ := a.postForm(t, "/admin/videos/"+gone.VideoID+"/delete", nil); status != http.StatusSeeOther {
		t.Fatalf("delete the video: %d", status)
	}
	doc := a.getPage(t, "/admin/links/"+l.ID)
	var rows []string
	testID(doc, "upload-row").Each(func(_ int, s *goquery.Selection) { rows = append(rows, s.AttrOr("data-upload-id", "")) })
	if len(rows) != 1 || rows[0] != kept.ID {
		t.Errorf("upload rows=%v, want only %s", rows, kept.ID)
	}
	if n := doc.Find(`a[href="/admin/videos/` + gone.VideoID + `"]`).Length(); n != 0 {
		t.Errorf("the page links to the deleted video %d times", n)
	}
	after, err := a.Store.FindLink(context.Background(), l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Completed != 2 {
		t.Errorf("the link counts %d completed uploads, want 2", after.Completed)
	}
}

package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/uplink-video/uplink/web/links"
)

// TestLinkTimelineCountsVisits opens a link's upload page three times in a
// row: the link's timeline shows one "Page opened 3 times".
func TestLinkTimelineCountsVisits(t *testing.T) {
	a := newAdminApp(t)
	l := seedLink(t, a, links.Spec{Label: "Visited"})
	for range 3 {
		if status, _ := a.get(t, "/u/"+l.ID); status != http.StatusOK {
			t.Fatalf("GET /u/%s: %d", l.ID, status)
		}
	}
	doc := a.getPage(t, "/admin/links/"+l.ID)
	var opened []string
	for _, n := range testID(doc, "event").Nodes {
		for _, at := range n.Attr {
			if at.Key == "data-kind" && at.Val == "opened" {
				opened = append(opened, strings.Join(strings.Fields(doc.FindNodes(n).Find(".event-text").Text()), " "))
			}
		}
	}
	if len(opened) != 1 || opened[0] != "Page opened 3 times" {
		t.Errorf("opened events=%q, want one \"Page opened 3 times\"", opened)
	}
}

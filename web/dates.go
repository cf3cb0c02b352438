package web

import (
	"time"

	"github.com/uplink-video/uplink/templates"
	"github.com/uplink-video/uplink/web/links"
)

// timeLayout is the one way the dashboard writes an instant: "3 Dec 2026,
// 06:33 UTC". The server does not know the viewer's time zone, so it
// writes UTC, with the zone shown, inside <time datetime="...">;
// static/js/admin.js then rewrites each of them in the viewer's zone with
// the same layout (Intl.DateTimeFormat "en-GB"), the zone still shown.
// Without the script the page stays true, in UTC.
const timeLayout = "2 Jan 2006, 15:04 MST"

// stamp formats an instant for a page: its RFC 3339 form for the
// datetime attribute, and its text in timeLayout.
func stamp(t time.Time) templates.Timestamp {
	t = t.UTC()
	return templates.Timestamp{ISO: t.Format(time.RFC3339), Text: t.Format(timeLayout)}
}

// linkTime is the text of stamp, for the view models that keep the
// attribute and the text apart.
func linkTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// relativeTime says when t is from now, rounded to the nearest whole
// unit (links.Duration): "in 7 days", "2 hours ago".
func relativeTime(t, now time.Time) string {
	if d := t.Sub(now); d > 0 {
		return "in " + links.Duration(d)
	}
	return links.Duration(now.Sub(t)) + " ago"
}

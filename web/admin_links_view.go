package web

import (
	"fmt"
	"strings"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/templates"
	"github.com/uplink-video/uplink/web/links"
)

// What a link's page says about the link: its settings, why it is closed,
// and its timeline.

// linkSettings lists a link's settings for its page.
func linkSettings(l store.Link, now time.Time) []templates.Setting {
	expires := templates.Setting{Term: "Expires", Value: "Never"}
	if l.ExpiresAt != nil {
		expires.At = stamp(*l.ExpiresAt)
		expires.Note = "(" + relativeTime(*l.ExpiresAt, now) + ")"
		expires.Value = expires.At.Text + " " + expires.Note
	}
	uploads := "Unlimited"
	switch {
	case l.MaxUploads == 1:
		uploads = "One-time"
	case l.MaxUploads > 1:
		uploads = fmt.Sprintf("Up to %d", l.MaxUploads)
	}
	uploads += fmt.Sprintf(" · %d completed", l.Completed)
	if l.InFlight > 0 {
		uploads += fmt.Sprintf(", %d in progress", l.InFlight)
	}
	size := "No limit"
	if l.MaxSize > 0 {
		size = links.FormatBytes(l.MaxSize)
	}
	embed := "No site"
	if len(l.EmbedOrigins) > 0 {
		embed = strings.Join(l.EmbedOrigins, ", ")
		if embed == "*" {
			embed = "Any site"
		}
	}
	ask := "No"
	if l.AskName {
		ask = "Yes"
	}
	out := []templates.Setting{
		expires,
		{Term: "Uploads", Value: uploads},
		{Term: "Largest file", Value: size},
		{Term: "Allowed files", Value: upperFirst(links.TypesText(l.AllowedTypes))},
		{Term: "May be embedded on", Value: embed},
		{Term: "Asks for name and email", Value: ask},
		{Term: "Emails a receipt", Value: yesNo(l.EmailReceipt)},
		{Term: "Created", Value: linkTime(l.CreatedAt), At: stamp(l.CreatedAt)},
	}
	if l.RecipientName != "" {
		who := l.RecipientName
		if l.RecipientEmail != "" {
			who += " <" + l.RecipientEmail + ">"
		}
		out = append(out, templates.Setting{Term: "Made for", Value: who})
	}
	if l.RevokedAt != nil {
		out = append(out, templates.Setting{Term: "Revoked", Value: linkTime(*l.RevokedAt), At: stamp(*l.RevokedAt)})
	}
	return out
}

var eventTexts = map[string]string{
	store.EventOpened:    "Page opened",
	store.EventStarted:   "Upload started",
	store.EventResumed:   "Upload resumed",
	store.EventCompleted: "Upload completed",
	store.EventRefused:   "Refused",
	store.EventCancelled: "Upload cancelled",
	store.EventAbandoned: "Upload abandoned",
	store.EventRevoked:   "Link revoked",
}

// eventRow is one event of a link's timeline. It names the file of the
// event's video (files maps video IDs to the names of the link's
// uploads), and says how many visits an "opened" event stands for.
func eventRow(e store.LinkEvent, files map[string]string) templates.EventRow {
	text := eventTexts[e.Kind]
	if text == "" {
		text = e.Kind
	}
	if e.Kind == store.EventOpened && e.Visits > 1 {
		text = fmt.Sprintf("%s %d times", text, e.Visits)
	}
	r := templates.EventRow{
		Kind: e.Kind, Text: text, Detail: e.Detail,
		At: linkTime(e.At), AtISO: e.At.Format(time.RFC3339),
	}
	if e.VideoID != "" {
		r.File = files[e.VideoID]
		if r.File == "" {
			r.File = "a deleted file"
		}
	}
	return r
}

// closedReason says why a link takes no more uploads, or "" while it is
// active.
func closedReason(l store.Link, state string) string {
	switch state {
	case store.LinkRevoked:
		if l.RevokedAt != nil {
			return "It was revoked on " + linkTime(*l.RevokedAt) + ". Nobody can upload with it any more. Duplicate it to send a new link."
		}
		return "It was revoked. Nobody can upload with it any more. Duplicate it to send a new link."
	case store.LinkExpired:
		at := ""
		if l.ExpiresAt != nil {
			at = " on " + linkTime(*l.ExpiresAt)
		}
		return "It expired" + at + ". Extend it to open it again at the same URL, or duplicate it to send a new link."
	case store.LinkUsedUp:
		return fmt.Sprintf("All its uploads were used (%s). Duplicate it to send a new link.", linkUploadsText(l))
	}
	return ""
}

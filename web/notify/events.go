package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/web/links"
)

// UploadStarted implements ingest.Events: nobody is emailed when an
// upload starts.
func (s *Service) UploadStarted(context.Context, string) {}

// UploadCompleted implements ingest.Events: an upload through a link
// completed. The admins who opted in are told, and the uploader gets a
// receipt when the link asks for one and has an address for them.
// Uploads through the API are not announced.
func (s *Service) UploadCompleted(ctx context.Context, videoID string) {
	if s == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	l, u, ok := s.linkUpload(ctx, videoID)
	if !ok {
		return
	}
	var msgs []store.EmailMessage
	subject := clean("Upload completed: " + u.Filename + " (" + l.Label + ")")
	body := s.adminBody(l, u, "A file arrived through the link “"+l.Label+"”.", "")
	for _, to := range s.notified(ctx) {
		msgs = append(msgs, s.message(store.EmailUploadCompleted, videoID, to, subject, body))
	}
	if to := receiptAddress(l, u); to != "" {
		msgs = append(msgs, s.message(store.EmailReceipt, videoID, to,
			clean("Receipt: "+u.Filename+" arrived"), receiptBody(l, u)))
	}
	s.enqueue(ctx, msgs)
}

// UploadFailed implements ingest.Events: an upload through a link stopped
// for good ("cancelled", "refused" or "abandoned"). The admins who opted
// in are told.
func (s *Service) UploadFailed(ctx context.Context, videoID, reason, detail string) {
	if s == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	l, u, ok := s.linkUpload(ctx, videoID)
	if !ok {
		return
	}
	why := failureTexts[reason]
	if why == "" {
		why = "It stopped: " + reason + "."
	}
	subject := clean("Upload failed: " + u.Filename + " (" + l.Label + ")")
	body := s.adminBody(l, u, "An upload through the link “"+l.Label+"” did not complete. "+why, detail)
	var msgs []store.EmailMessage
	for _, to := range s.notified(ctx) {
		msgs = append(msgs, s.message(store.EmailUploadFailed, videoID, to, subject, body))
	}
	s.enqueue(ctx, msgs)
}

var failureTexts = map[string]string{
	"cancelled": "The uploader cancelled it.",
	"refused":   "uplink refused the file.",
	"abandoned": "Nothing arrived for too long, so it was abandoned.",
}

// receiptAddress is where the uploader's receipt goes: the address they
// gave on the page, else the one the link was made for; "" when the link
// does not send receipts.
func receiptAddress(l store.Link, u store.LinkUpload) string {
	if !l.EmailReceipt {
		return ""
	}
	for _, a := range []string{u.UploaderEmail, l.RecipientEmail} {
		if a != "" && CheckAddress(a) == nil {
			return a
		}
	}
	return ""
}

// notified returns the addresses of the admins who opted in.
func (s *Service) notified(ctx context.Context) []string {
	admins, err := s.store.ListNotifiedAdmins(ctx)
	if err != nil {
		s.log.Error("finding the admins to email", "err", err)
		return nil
	}
	var out []string
	for _, a := range admins {
		out = append(out, a.Email)
	}
	return out
}

// linkUpload returns the upload through a link that fills videoID, and
// its link; ok is false for a video that did not come through a link.
func (s *Service) linkUpload(ctx context.Context, videoID string) (store.Link, store.LinkUpload, bool) {
	u, err := s.store.FindLinkUploadByVideo(ctx, videoID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Link{}, store.LinkUpload{}, false
	}
	var l store.Link
	if err == nil {
		l, err = s.store.FindLink(ctx, u.LinkID)
	}
	if err != nil {
		s.log.Error("reading the link upload of a video for an email", "video", videoID, "err", err)
		return store.Link{}, store.LinkUpload{}, false
	}
	return l, u, true
}

func (s *Service) message(kind, videoID, to, subject, body string) store.EmailMessage {
	return store.EmailMessage{
		Kind: kind, DedupeKey: kind + ":" + videoID + ":" + strings.ToLower(to),
		MessageID: s.newMessageID(), To: to, Subject: subject, Body: body,
	}
}

// adminBody is the text of an admin's notice about an upload.
func (s *Service) adminBody(l store.Link, u store.LinkUpload, lead, detail string) string {
	var b strings.Builder
	b.WriteString(lead + "\n")
	if detail != "" {
		b.WriteString(detail + "\n")
	}
	b.WriteString("\n")
	field(&b, "File", u.Filename)
	if u.Title != "" && u.Title != u.Filename {
		field(&b, "Title", u.Title)
	}
	field(&b, "Size", sizeText(u.Size))
	if u.SHA256 != "" {
		field(&b, "SHA-256", u.SHA256)
	}
	if u.CompletedAt != nil {
		field(&b, "Received", timeText(*u.CompletedAt))
	} else {
		field(&b, "Started", timeText(u.StartedAt))
	}
	switch {
	case u.UploaderName != "":
		field(&b, "From", u.UploaderName+" <"+u.UploaderEmail+">")
	case l.RecipientName != "":
		who := l.RecipientName
		if l.RecipientEmail != "" {
			who += " <" + l.RecipientEmail + ">"
		}
		field(&b, "Link made for", who)
	}
	field(&b, "Link", s.cfg.PublicURL+"/admin/links/"+l.ID)
	if u.Status == store.LinkUploadCompleted {
		field(&b, "Video", s.cfg.PublicURL+"/admin/videos/"+u.VideoID)
	}
	b.WriteString("\nYou get this email because you asked for upload emails on your account page: " +
		s.cfg.PublicURL + "/admin/account\n")
	return b.String()
}

// receiptBody is the text of an uploader's receipt.
func receiptBody(l store.Link, u store.LinkUpload) string {
	var b strings.Builder
	name := u.UploaderName
	if name == "" {
		name = l.RecipientName
	}
	if name != "" {
		b.WriteString("Hello " + name + ",\n\n")
	}
	b.WriteString("Your file arrived. This is your receipt.\n\n")
	field(&b, "File", u.Filename)
	field(&b, "Size", sizeText(u.Size))
	field(&b, "SHA-256", u.SHA256)
	if u.CompletedAt != nil {
		field(&b, "Received", timeText(*u.CompletedAt))
	}
	field(&b, "For", l.Label)
	b.WriteString("\nThe SHA-256 is a fingerprint of the file's bytes: if a copy of the file gives the same one " +
		"(sha256sum on Linux, shasum -a 256 on a Mac, Get-FileHash in PowerShell), it is exactly the file that arrived.\n")
	return b.String()
}

func field(b *strings.Builder, name, value string) {
	fmt.Fprintf(b, "%-9s %s\n", name+":", value)
}

func sizeText(n int64) string {
	return fmt.Sprintf("%s (%d bytes)", links.FormatBytes(n), n)
}

func timeText(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04:05 UTC") }

// clean makes s fit a header: control characters become spaces, and it is
// cut to 200 characters.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > 200 {
		s = string(r[:199]) + "…"
	}
	return s
}

package main

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/uplink-video/uplink/store"
)

// mailbox is a real SMTP server (emersion/go-smtp's) on loopback that
// keeps the recipients and text of every message it accepts. It offers
// no TLS: the STARTTLS upgrade is tested in web/notify; this test is
// about what serve wires together.
type mailbox struct {
	addr string
	mu   sync.Mutex
	got  []string // "to\ntext" of each message.
}

func newMailbox(t *testing.T) *mailbox {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &mailbox{addr: ln.Addr().String()}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &mailSession{box: m}, nil }))
	srv.Domain = "mx.test"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return m
}

func (m *mailbox) messages() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.got...)
}

type mailSession struct {
	box *mailbox
	to  []string
}

func (s *mailSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.box.mu.Lock()
	defer s.box.mu.Unlock()
	s.box.got = append(s.box.got, strings.Join(s.to, ",")+"\n"+string(b))
	return err
}
func (s *mailSession) Reset()        { s.to = nil }
func (s *mailSession) Logout() error { return nil }

// TestServeEmailsUploads: with --smtp-url, an upload through a link
// emails the admin who opted in, and its uploader a receipt, from the
// --smtp-from sender.
func TestServeEmailsUploads(t *testing.T) {
	box := newMailbox(t)
	data := t.TempDir()
	client := &http.Client{}
	url, _, _ := startInProcess(t, client, map[string]string{
		"UPLINK_SMTP_URL":       "smtp://" + box.addr,
		"UPLINK_SMTP_FROM":      "Uplink <uplink@example.com>",
		"UPLINK_ADMIN_EMAIL":    "boss@example.com",
		"UPLINK_ADMIN_PASSWORD": "correct horse battery staple",
	}, "--addr", "127.0.0.1:0", "--data", data)

	// The admin opts in, and a link is made for a person with an email,
	// as the dashboard does, on the server's own database.
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(data, "uplink.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	admin, err := st.FindAdminByEmail(ctx, "boss@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetAdminNotify(ctx, admin.ID, true); err != nil {
		t.Fatal(err)
	}
	_, batch, err := st.CreateLinkBatch(ctx, []store.LinkCreate{{
		Label: "Talks: Ann", MaxUploads: 1, AllowedTypes: []string{"video"},
		RecipientName: "Ann", RecipientEmail: "ann@example.com", EmailReceipt: true,
	}})
	if err != nil {
		t.Fatal(err)
	}

	uploadThroughLink(t, client, url+"/u/"+batch[0].ID, videoBytes(t, 300<<10))
	deadline := time.Now().Add(15 * time.Second)
	for len(box.messages()) < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	got := box.messages()
	if len(got) != 2 {
		t.Fatalf("the mailbox got %d messages, want 2 (the admin's notice, Ann's receipt):\n%s", len(got), strings.Join(got, "\n----\n"))
	}
	var toAdmin, toAnn string
	for _, m := range got {
		switch {
		case strings.HasPrefix(m, "boss@example.com\n"):
			toAdmin = m
		case strings.HasPrefix(m, "ann@example.com\n"):
			toAnn = m
		}
	}
	if !strings.Contains(toAdmin, "Subject: Upload completed: clip.webm (Talks: Ann)") || !strings.Contains(toAdmin, "From: \"Uplink\" <uplink@example.com>") {
		t.Errorf("the admin's notice:\n%s", toAdmin)
	}
	if !strings.Contains(toAnn, "Hello Ann") || !strings.Contains(toAnn, "Subject: Receipt: clip.webm arrived") {
		t.Errorf("Ann's receipt:\n%s", toAnn)
	}
}

package notify_test

import (
	"context"
	"crypto/tls"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/storetest"
	"github.com/uplink-video/uplink/web/notify"
)

// env is a notify service on a real SQLite file, with a clock the test
// moves, sending to a real SMTP server.
type env struct {
	t      *testing.T
	clock  *storetest.Clock
	dbPath string
	store  *store.Store
	svc    *notify.Service
	smtp   *smtpServer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, clock: storetest.NewClock(), dbPath: filepath.Join(t.TempDir(), "uplink.db"), smtp: newSMTPServer(t)}
	e.reopen()
	return e
}

// reopen closes the store and opens it again on the same file, with a new
// service, as a restart does.
func (e *env) reopen() {
	if e.store != nil {
		e.store.Close()
	}
	e.store = storetest.OpenDSN(e.t, e.dbPath, e.clock)
	host, port, _ := strings.Cut(e.smtp.addr, ":")
	p, _ := strconv.Atoi(port)
	e.svc = notify.New(e.store, notify.Config{
		SMTP:      notify.SMTP{Host: host, Port: p, Username: smtpUser, Password: smtpPassword},
		From:      "Uplink <uplink@uplink.test>",
		PublicURL: "https://uplink.test",
		TLSConfig: &tls.Config{RootCAs: e.smtp.ca, MinVersion: tls.VersionTLS12},
		Timeout:   5 * time.Second,
	})
}

// deliver makes one pass over the due messages and returns how many it
// attempted; errors of attempts are expected in some tests and ignored.
func (e *env) deliver() int {
	e.t.Helper()
	n, _ := e.svc.DeliverDue(context.Background())
	return n
}

func (e *env) emails() []store.EmailMessage {
	e.t.Helper()
	list, err := e.store.ListEmails(context.Background(), 100)
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

func TestParseSMTPURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		description, in string
		want            notify.SMTP
		wantErr         bool
	}{
		{description: "STARTTLS on the submission port", in: "smtp://user:p%40ss@mail.example.com",
			want: notify.SMTP{Host: "mail.example.com", Port: 587, Username: "user", Password: "p@ss"}},
		{description: "a port", in: "smtp://mail.example.com:2525", want: notify.SMTP{Host: "mail.example.com", Port: 2525}},
		{description: "implicit TLS", in: "smtps://u:p@mail.example.com",
			want: notify.SMTP{Host: "mail.example.com", Port: 465, Username: "u", Password: "p", ImplicitTLS: true}},
		{description: "another scheme", in: "http://mail.example.com", wantErr: true},
		{description: "no host", in: "smtp://", wantErr: true},
		{description: "a path", in: "smtp://mail.example.com/x", wantErr: true},
		{description: "a bad port", in: "smtp://mail.example.com:0", wantErr: true},
	} {
		got, err := notify.ParseSMTPURL(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("%s: ParseSMTPURL(%q) = %+v, %v; want %+v, error %v", tc.description, tc.in, got, err, tc.want, tc.wantErr)
		}
	}
	c, _ := notify.ParseSMTPURL("smtp://user:secret@mail.example.com")
	if s := c.String(); strings.Contains(s, "secret") || s != "smtp://user@mail.example.com:587" {
		t.Errorf("String() = %q, want the URL without its password", s)
	}
}

// TestSendOverSTARTTLS sends a test message: it arrives over the
// upgraded connection, authenticated, with the queued Message-ID.
func TestSendOverSTARTTLS(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if err := e.svc.SendTest(context.Background(), "admin@example.com"); err != nil {
		t.Fatal(err)
	}
	if n := e.deliver(); n != 1 {
		t.Fatalf("attempted %d, want 1", n)
	}
	got := e.smtp.messages()
	if len(got) != 1 {
		t.Fatalf("the server received %d messages, want 1", len(got))
	}
	m := got[0]
	if !m.TLS || m.User != smtpUser || m.From != "uplink@uplink.test" || len(m.To) != 1 || m.To[0] != "admin@example.com" {
		t.Errorf("received TLS=%v user=%q from=%q to=%v; want TLS, %q, uplink@uplink.test, admin@example.com",
			m.TLS, m.User, m.From, m.To, smtpUser)
	}
	if s := m.Header.Get("Subject"); s != "uplink: test message" {
		t.Errorf("Subject=%q", s)
	}
	queued := e.emails()
	if len(queued) != 1 || queued[0].Status != store.EmailSent {
		t.Fatalf("queue = %+v, want one sent message", queued)
	}
	if id := m.Header.Get("Message-Id"); id != "<"+queued[0].MessageID+">" {
		t.Errorf("Message-ID=%q, want <%s>", id, queued[0].MessageID)
	}
	if !strings.Contains(m.BodyText, "https://uplink.test") {
		t.Errorf("body %q does not name the install", m.BodyText)
	}
}

// TestUploadEmails: the admins who opted in hear about an upload that
// failed and one that completed, and the uploader gets a receipt at the
// address the link was made for; a repeated event sends nothing more.
func TestUploadEmails(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	a, err := e.store.CreateAdmin(ctx, "watcher@example.com", "hash")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.CreateAdmin(ctx, "quiet@example.com", "hash"); err != nil {
		t.Fatal(err)
	}
	if err := e.store.SetAdminNotify(ctx, a.ID, true); err != nil {
		t.Fatal(err)
	}
	_, batch, err := e.store.CreateLinkBatch(ctx, []store.LinkCreate{
		{Label: "Wedding: Ann", MaxUploads: 2, RecipientName: "Ann", RecipientEmail: "ann@example.com", EmailReceipt: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	l := batch[0]
	start := func(name string) string {
		lu := store.LinkUpload{
			ID: store.RandomString(22), LinkID: l.ID, VideoID: store.NewID(store.PrefixVideo), Filename: name,
			Size: 10, ChunkSize: 10, TotalParts: 1, HashState: []byte{0}, LeaseExpiresAt: e.store.Now().Add(time.Hour),
		}
		up := store.Upload{VideoID: lu.VideoID, Mode: store.ModePart, Status: store.UploadUploading, SourceKey: "S" + name,
			MultipartID: "M" + name, Filename: name, StartedAt: e.store.Now(), UpdatedAt: e.store.Now(), LeaseExpiresAt: e.store.Now().Add(time.Hour)}
		if err := e.store.StartLinkUpload(ctx, lu, store.NewUpload{Upload: up, Video: &store.VideoCreate{Title: name}}); err != nil {
			t.Fatalf("StartLinkUpload: %v", err)
		}
		return lu.VideoID
	}
	failed, done := start("broken.mp4"), start("ceremony.mp4")
	e.svc.UploadFailed(ctx, failed, "abandoned", "")
	e.svc.UploadCompleted(ctx, done)
	e.svc.UploadCompleted(ctx, done)
	if n := e.deliver(); n != 3 {
		t.Fatalf("attempted %d, want 3 (failed and completed to the admin, a receipt to Ann)", n)
	}
	byTo := map[string][]receivedMail{}
	for _, m := range e.smtp.messages() {
		byTo[m.To[0]] = append(byTo[m.To[0]], m)
	}
	if len(byTo["quiet@example.com"]) != 0 {
		t.Error("an admin who did not opt in was emailed")
	}
	w := byTo["watcher@example.com"]
	if len(w) != 2 || !strings.HasPrefix(w[0].Header.Get("Subject"), "Upload failed: broken.mp4") ||
		!strings.HasPrefix(w[1].Header.Get("Subject"), "Upload completed: ceremony.mp4") {
		t.Fatalf("the admin got %d messages: %+v", len(w), w)
	}
	if !strings.Contains(w[0].BodyText, "abandoned") || !strings.Contains(w[1].BodyText, "Ann <ann@example.com>") {
		t.Errorf("admin bodies:\n%s\n---\n%s", w[0].BodyText, w[1].BodyText)
	}
	r := byTo["ann@example.com"]
	if len(r) != 1 || !strings.Contains(r[0].BodyText, "Hello Ann") || !strings.Contains(r[0].BodyText, "ceremony.mp4") {
		t.Fatalf("receipts to Ann: %+v", r)
	}
	if e.svc.UploadCompleted(ctx, "vinotalinkupload"); e.deliver() != 0 {
		t.Error("a video that did not come through a link was announced")
	}
}

// TestRetryAfterRestart: while the server is down, a message waits with
// a backoff; it survives a restart of uplink and goes out once the
// server is back. A 4xx answer is retried, a 5xx one gives up.
func TestRetryAfterRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.smtp.stop()
	if err := e.svc.SendTest(ctx, "admin@example.com"); err != nil {
		t.Fatal(err)
	}
	if n := e.deliver(); n != 1 {
		t.Fatalf("attempted %d, want 1", n)
	}
	m := e.emails()[0]
	if m.Status != store.EmailPending || m.Attempts != 1 || m.NextAttemptAt == nil || !strings.Contains(m.LastError, "connecting") {
		t.Fatalf("after a failed attempt: %+v", m)
	}
	if n := e.deliver(); n != 0 {
		t.Errorf("attempted %d during the backoff, want 0", n)
	}

	e.smtp.restart()
	e.reopen()
	e.clock.Advance(time.Hour)
	if n := e.deliver(); n != 1 || len(e.smtp.messages()) != 1 {
		t.Fatalf("after the restart: attempted %d, received %d; want 1, 1", n, len(e.smtp.messages()))
	}

	e.smtp.setRefusals(nil, &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"})
	if err := e.svc.SendTest(ctx, "b@example.com"); err != nil {
		t.Fatal(err)
	}
	e.deliver()
	if m := e.emails()[0]; m.Status != store.EmailPending || !strings.Contains(m.LastError, "451") {
		t.Errorf("after a 451: %+v, want pending", m)
	}
	e.smtp.setRefusals(&smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}, nil)
	e.clock.Advance(time.Hour)
	e.deliver()
	if m := e.emails()[0]; m.Status != store.EmailFailed || m.Attempts != 2 {
		t.Errorf("after a 550: %+v, want failed after 2 attempts", m)
	}
	if len(e.smtp.messages()) != 1 {
		t.Errorf("received %d, want 1", len(e.smtp.messages()))
	}
}

// TestBackoff: each wait is between half and all of 30 s doubled per
// attempt, up to an hour.
func TestBackoff(t *testing.T) {
	t.Parallel()
	for n, full := range map[int]time.Duration{1: 30 * time.Second, 2: time.Minute, 3: 2 * time.Minute, 8: time.Hour, 100: time.Hour} {
		for range 20 {
			if d := notify.Backoff(n); d < full/2 || d > full {
				t.Errorf("Backoff(%d) = %v, want within [%v, %v]", n, d, full/2, full)
			}
		}
	}
}

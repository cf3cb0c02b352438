// Package notify sends email about uploads through links, when uplink is
// given an SMTP server: to the admins who opted in, when an upload
// completes or fails, and to the uploader, a receipt of their file, when
// the link asks for it.
//
// # Queue
//
// A message is composed when its event happens and kept in the store's
// email queue (store.EnqueueEmails), in the same way as webhook
// deliveries: Run sends the due messages, and a message that fails for a
// temporary reason (the server cannot be reached, answers 4xx, the
// connection breaks) is tried again with exponential backoff until
// Config.RetryFor has passed. A permanent refusal (5xx) gives it up at
// once. The queue survives a restart, so an SMTP server that is down, or
// an uplink that stops, loses nothing. Each message keeps its Message-ID
// across attempts.
//
// # Connection
//
// smtp://user:pass@host:port connects in clear and upgrades with
// STARTTLS when the server offers it (port 587 by default); smtps://
// connects with TLS from the start (port 465 by default). Credentials are
// only ever sent over TLS, or to a server on the loopback interface.
package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/uplink-video/uplink/store"
)

// SMTP is where and how to send email.
type SMTP struct {
	Host     string
	Port     int
	Username string
	Password string
	// ImplicitTLS connects with TLS from the start (smtps://); otherwise
	// the connection is upgraded with STARTTLS when the server offers it.
	ImplicitTLS bool
}

// ParseSMTPURL reads smtp://[user[:password]@]host[:port] or the same
// with smtps://. The user and password are percent-decoded.
func ParseSMTPURL(raw string) (SMTP, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return SMTP{}, errors.New("want smtp://user:password@host:port or smtps://...")
	}
	var c SMTP
	switch u.Scheme {
	case "smtp":
		c.Port = gomail.DefaultPortTLS
	case "smtps":
		c.Port, c.ImplicitTLS = gomail.DefaultPortSSL, true
	default:
		return SMTP{}, fmt.Errorf("the scheme must be smtp or smtps, not %q", u.Scheme)
	}
	if u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return SMTP{}, errors.New("want smtp://user:password@host:port, without a path or a query")
	}
	c.Host = u.Hostname()
	if c.Host == "" {
		return SMTP{}, errors.New("the URL has no host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return SMTP{}, fmt.Errorf("invalid port %q", p)
		}
		c.Port = n
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	return c, nil
}

// String describes the server without its password, for logs and the
// dashboard.
func (c SMTP) String() string {
	scheme := "smtp"
	if c.ImplicitTLS {
		scheme = "smtps"
	}
	s := scheme + "://"
	if c.Username != "" {
		s += url.User(c.Username).String() + "@"
	}
	return s + net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
}

// CheckAddress refuses anything but a plain address or "Name <address>".
func CheckAddress(addr string) error {
	a, err := mail.ParseAddress(addr)
	if err != nil || len(a.Address) > 254 {
		return fmt.Errorf("%q is not an email address such as uplink@example.com", addr)
	}
	return nil
}

// Config tunes a Service.
type Config struct {
	SMTP SMTP
	// From is the sender, "uplink@example.com" or "Uplink <uplink@example.com>".
	From string
	// PublicURL is the base of the dashboard's URLs in messages.
	PublicURL string
	// TLSConfig, when set, is used for TLS (its ServerName is set to the
	// SMTP host): tests give their own certificate authority.
	TLSConfig *tls.Config
	// Timeout bounds connecting and each command. Defaults to 30 s.
	Timeout time.Duration
	// RetryFor is how long a failing message is retried before it is
	// given up. Defaults to DefaultRetryFor.
	RetryFor time.Duration
	// PollInterval is how often Run looks for messages that came due;
	// queueing wakes it at once. Defaults to 5 s.
	PollInterval time.Duration
	// Keep is how long sent and failed messages stay in the log.
	// Defaults to 30 days.
	Keep   time.Duration
	Logger *slog.Logger
}

// DefaultRetryFor is how long a message is retried by default.
const DefaultRetryFor = 24 * time.Hour

// Service queues and sends email. A nil *Service is valid and sends
// nothing: uplink without SMTP settings.
type Service struct {
	store *store.Store
	cfg   Config
	host  string // Of PublicURL, for Message-IDs.
	log   *slog.Logger
	wake  chan struct{}
}

// New returns a Service that keeps its queue in st. Call Run to send.
func New(st *store.Store, cfg Config) *Service {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.RetryFor <= 0 {
		cfg.RetryFor = DefaultRetryFor
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 5 * time.Second
	}
	if cfg.Keep <= 0 {
		cfg.Keep = 30 * 24 * time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	host := "uplink.local"
	if u, err := url.Parse(cfg.PublicURL); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	return &Service{store: st, cfg: cfg, host: host, log: cfg.Logger, wake: make(chan struct{}, 1)}
}

// Enabled reports whether email is sent at all.
func (s *Service) Enabled() bool { return s != nil }

// Describe says where email goes, for the dashboard: the server without
// its password, and the sender.
func (s *Service) Describe() string {
	if s == nil {
		return ""
	}
	return s.cfg.SMTP.String() + ", from " + s.cfg.From
}

// Wake makes Run look for due messages now.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// enqueue queues messages and wakes Run; it logs instead of failing, as
// the events that cause them must not fail.
func (s *Service) enqueue(ctx context.Context, msgs []store.EmailMessage) {
	if len(msgs) == 0 {
		return
	}
	n, err := s.store.EnqueueEmails(context.WithoutCancel(ctx), msgs, s.cfg.RetryFor)
	if err != nil {
		s.log.Error("queueing email", "messages", len(msgs), "err", err)
		return
	}
	if n > 0 {
		s.Wake()
	}
}

// newMessageID returns a fresh Message-ID, without angle brackets.
func (s *Service) newMessageID() string {
	return "uplink." + store.RandomString(24) + "@" + s.host
}

// SendTest queues a test message to addr, so that an admin can check the
// settings; it arrives like any other (or shows its error in the log).
func (s *Service) SendTest(ctx context.Context, addr string) error {
	if s == nil {
		return errors.New("notify: email is not set up")
	}
	m := store.EmailMessage{
		Kind: store.EmailTest, DedupeKey: "test:" + store.RandomString(22), MessageID: s.newMessageID(), To: addr,
		Subject: "uplink: test message",
		Body: "This is a test message from uplink at " + s.cfg.PublicURL + ".\n\n" +
			"Email reaches you: uplink can tell you about uploads through links.\n",
	}
	_, err := s.store.EnqueueEmails(ctx, []store.EmailMessage{m}, s.cfg.RetryFor)
	if err == nil {
		s.Wake()
	}
	return err
}

// batchSize is how many due messages one pass of DeliverDue sends.
const batchSize = 20

// Run sends due messages until ctx is done: at once, then whenever a
// message is queued, and every poll interval for retries that came due.
func (s *Service) Run(ctx context.Context) {
	if s == nil {
		return
	}
	t := time.NewTicker(s.cfg.PollInterval)
	defer t.Stop()
	var pruned time.Time
	for {
		n, err := s.DeliverDue(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.log.Error("sending email", "err", err)
		}
		if time.Since(pruned) >= time.Hour {
			pruned = time.Now()
			if _, err := s.store.PruneEmails(ctx, s.store.Now().Add(-s.cfg.Keep)); err != nil {
				s.log.Error("pruning the email log", "err", err)
			}
		}
		if err == nil && n == batchSize {
			continue // More may be due.
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-t.C:
		}
	}
}

// DeliverDue makes one attempt at each message that is due now, over one
// connection, and returns how many it attempted. Run calls it; tests call
// it to step the queue with their own clock.
func (s *Service) DeliverDue(ctx context.Context) (int, error) {
	// The claim outlasts a slow batch (the connection, then each message
	// at two Timeouts), so that no other instance sends the same message
	// meanwhile. A message this process claimed and did not try, as it
	// stopped, waits for the claim to lapse: 21 minutes by default.
	due, err := s.store.ClaimDueEmails(ctx, batchSize, time.Duration(batchSize+1)*2*s.cfg.Timeout)
	if err != nil || len(due) == 0 {
		return 0, err
	}
	client, err := s.client()
	if err != nil {
		return 0, err
	}
	if err := client.DialWithContext(ctx); err != nil {
		if ctx.Err() != nil {
			return 0, nil // Stopping: nothing is counted as an attempt.
		}
		// The server cannot be reached: every message waits its turn.
		var errs []error
		for _, m := range due {
			errs = append(errs, s.record(ctx, m, false, true, "connecting to "+s.cfg.SMTP.String()+": "+err.Error()))
		}
		return len(due), errors.Join(errs...)
	}
	defer client.Close()
	var errs []error
	for _, m := range due {
		msg, err := s.compose(m)
		if err != nil {
			errs = append(errs, s.record(ctx, m, false, false, err.Error()))
			continue
		}
		err = client.Send(msg)
		if err == nil {
			errs = append(errs, s.record(ctx, m, true, false, ""))
			continue
		}
		// A 5xx answer will not change: give up. Anything else (4xx,
		// a broken connection) is tried again.
		var se *gomail.SendError
		temporary := !errors.As(err, &se) || se.IsTemp() || se.ErrorCode() == 0 || se.ErrorCode() < 500
		errs = append(errs, s.record(ctx, m, false, temporary, err.Error()))
	}
	return len(due), errors.Join(errs...)
}

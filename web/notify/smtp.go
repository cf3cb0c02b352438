package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/uplink-video/uplink/store"
)

// The SMTP side of the Service: the client, the message as sent, the
// outcome of an attempt and the backoff between attempts.

// client builds an SMTP client for the configured server.
func (s *Service) client() (*gomail.Client, error) {
	c := s.cfg.SMTP
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.cfg.TLSConfig != nil {
		tlsConf = s.cfg.TLSConfig.Clone()
	}
	tlsConf.ServerName = c.Host
	opts := []gomail.Option{
		gomail.WithPort(c.Port),
		gomail.WithTimeout(s.cfg.Timeout),
		gomail.WithTLSConfig(tlsConf),
	}
	if c.ImplicitTLS {
		opts = append(opts, gomail.WithSSL())
	} else if loopback(c.Host) {
		// A relay on this machine may offer no STARTTLS: nothing on the
		// network can read or strip it.
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	} else {
		// Across a network STARTTLS is required, so that a man in the
		// middle who strips it from the server's answer gets no mail in
		// clear, and no password.
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if c.Username != "" {
		// The strongest mechanism the server offers; PLAIN and LOGIN
		// refuse a connection without TLS unless it is to loopback.
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(c.Username), gomail.WithPassword(c.Password))
	}
	cl, err := gomail.NewClient(c.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("notify: SMTP client for %s: %w", c, err)
	}
	return cl, nil
}

// loopback reports whether host names this machine: "localhost" or a
// loopback address.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// compose builds the message to send from a queued one.
func (s *Service) compose(m store.EmailMessage) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.From(s.cfg.From); err != nil {
		return nil, fmt.Errorf("invalid sender %q: %w", s.cfg.From, err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("invalid recipient %q: %w", m.To, err)
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(m.MessageID)
	msg.SetDateWithValue(m.CreatedAt)
	msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	msg.SetUserAgent("uplink")
	msg.SetBodyString(gomail.TypeTextPlain, m.Body)
	return msg, nil
}

// record stores the outcome of an attempt: sent, or failed, with when to
// try again (after the backoff, no later than the give-up moment, where
// the last attempt is made) unless retry is false or the time is up.
func (s *Service) record(ctx context.Context, m store.EmailMessage, sent, retry bool, errText string) error {
	now := s.store.Now()
	a := store.EmailAttempt{MessageID: m.ID, At: now, Sent: sent, Error: errText}
	if !sent {
		if retry && now.Before(m.GiveUpAt) {
			next := now.Add(Backoff(m.Attempts + 1))
			if next.After(m.GiveUpAt) {
				next = m.GiveUpAt
			}
			a.NextAttemptAt = &next
		} else {
			s.log.Warn("gave up an email", "kind", m.Kind, "attempts", m.Attempts+1, "err", errText)
		}
	}
	err := s.store.RecordEmailAttempt(context.WithoutCancel(ctx), a)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// Backoff bounds: the first retry comes after about 30 seconds, then each
// waits twice as long, up to an hour.
const (
	backoffBase = 30 * time.Second
	backoffMax  = time.Hour
)

// Backoff returns how long to wait after the n-th failed attempt (from
// 1): 30s, 1m, 2m, ... up to an hour, each between half and all of it.
func Backoff(n int) time.Duration {
	d := backoffMax
	if n < 20 {
		d = min(backoffBase<<max(n-1, 0), backoffMax)
	}
	return d/2 + rand.N(d/2+1)
}

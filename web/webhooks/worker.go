package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/uplink-video/uplink/store"
)

// batchSize is how many due deliveries one pass of DeliverDue takes.
const batchSize = 32

// pruneEvery is how often Run deletes finished deliveries older than
// Config.Keep.
const pruneEvery = time.Hour

// Run delivers due deliveries until ctx is done: at once, then whenever
// Emit or Resend wakes it, and every poll interval for retries that came
// due. A delivery cut off by ctx is not counted as an attempt; it stays
// due and is sent on the next start.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.poll)
	defer t.Stop()
	var pruned time.Time
	for {
		n, err := s.DeliverDue(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.log.Error("delivering webhooks", "err", err)
		}
		if time.Since(pruned) >= pruneEvery {
			pruned = time.Now()
			if k, err := s.store.PruneWebhookDeliveries(ctx, s.store.Now().Add(-s.keep)); err != nil {
				s.log.Error("pruning the webhook delivery log", "err", err)
			} else if k > 0 {
				s.log.Info("pruned the webhook delivery log", "deleted", k)
			}
		}
		if err == nil && n > 0 {
			// More may be due: the rest of a full batch, or events that
			// waited behind those just delivered.
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-t.C:
		}
	}
}

// DeliverDue claims the deliveries that are due now and makes one attempt
// at each, a few at a time, and returns how many it claimed. Another
// worker sharing the store (another instance of uplink) does not send
// them meanwhile. Run calls it; tests call it to step the queue with
// their own clock.
func (s *Service) DeliverDue(ctx context.Context) (int, error) {
	due, err := s.store.ClaimDueWebhookDeliveries(ctx, batchSize, s.claimFor)
	if err != nil {
		return 0, err
	}
	var (
		wg   sync.WaitGroup
		sem  = make(chan struct{}, s.parallel)
		mu   sync.Mutex
		errs []error
	)
	for _, d := range due {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := s.attempt(ctx, d); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return len(due), errors.Join(errs...)
}

// attempt sends one delivery and records what came of it.
func (s *Service) attempt(ctx context.Context, d store.DueWebhookDelivery) error {
	at := s.store.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Payload))
	if err != nil {
		return s.record(ctx, d, store.WebhookAttempt{At: at, Error: "invalid URL: " + err.Error()}, false)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.userAgent)
	req.Header.Set(HeaderSignature, Sign(d.Secret, at, d.Payload))
	req.Header.Set(HeaderEvent, d.EventType)
	req.Header.Set(HeaderEventID, d.EventID)
	req.Header.Set(HeaderDelivery, strconv.FormatInt(d.ID, 10))

	start := time.Now()
	resp, err := s.client.Do(req)
	a := store.WebhookAttempt{At: at}
	if err != nil {
		if ctx.Err() != nil {
			// Stopping: the delivery is due again, with no attempt
			// counted.
			return s.store.ReleaseWebhookDelivery(context.WithoutCancel(ctx), d)
		}
		a.Duration, a.Error = time.Since(start), transportError(err)
		return s.record(ctx, d, a, false)
	}
	snippet := readSnippet(resp.Body)
	resp.Body.Close()
	a.Duration, a.Status = time.Since(start), resp.StatusCode
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	switch {
	case ok:
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		a.Error = fmt.Sprintf("HTTP %d: redirects are not followed; register the URL it points to", resp.StatusCode)
	default:
		a.Error = "HTTP " + resp.Status
		if snippet != "" {
			a.Error += ": " + snippet
		}
	}
	return s.record(ctx, d, a, ok)
}

// record stores an attempt, with when to try again after a failure: after
// the backoff, but no later than the give-up moment, where the last
// attempt is made; a failure at or after it gives up.
func (s *Service) record(ctx context.Context, d store.DueWebhookDelivery, a store.WebhookAttempt, ok bool) error {
	a.DeliveryID = d.ID
	r := store.WebhookAttemptResult{WebhookAttempt: a, Delivered: ok}
	if !ok {
		now := s.store.Now()
		if now.Before(d.GiveUpAt) {
			next := now.Add(Backoff(d.Attempts + 1))
			if next.After(d.GiveUpAt) {
				next = d.GiveUpAt
			}
			r.NextAttemptAt = &next
		} else {
			s.log.Warn("gave up a webhook delivery", "delivery", d.ID, "event", d.EventType,
				"endpoint", d.EndpointID, "attempts", d.Attempts+1, "err", a.Error)
		}
	}
	// An answer that arrived is recorded even when stopping.
	err := s.store.RecordWebhookAttempt(context.WithoutCancel(ctx), r)
	if errors.Is(err, store.ErrNotFound) {
		return nil // The endpoint was deleted meanwhile.
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
// 1): 30s, 1m, 2m, ... doubling up to an hour, each with a random part
// (between half and all of it), so that the deliveries that failed
// together do not all come back together.
func Backoff(n int) time.Duration {
	d := backoffMax
	if n < 20 {
		d = min(backoffBase<<max(n-1, 0), backoffMax)
	}
	return d/2 + rand.N(d/2+1)
}

// maxSnippet is how much of a refusing answer's body is kept, in bytes.
const maxSnippet = 200

// readSnippet reads the start of an answer's body as one line of text,
// and drains a little more so that the connection can be reused.
func readSnippet(body io.Reader) string {
	buf := make([]byte, maxSnippet)
	n, _ := io.ReadFull(body, buf)
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10))
	text := strings.ToValidUTF8(string(buf[:n]), "")
	text = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return ' '
		}
		return r
	}, text)
	text = strings.Join(strings.Fields(text), " ")
	if n == maxSnippet {
		text += "…"
	}
	return text
}

// transportError describes a failed request for the delivery log:
// without the URL (which the log shows already, and which may hold a
// token in its query), and plainly for timeouts.
func transportError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timed out: " + err.Error()
	}
	var pe *privateTargetError
	if errors.As(err, &pe) {
		return pe.Error() + " (uplink delivers webhooks to public addresses only). " + AllowPrivateHint
	}
	return err.Error()
}

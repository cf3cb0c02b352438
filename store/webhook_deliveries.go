package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Webhook delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed" // Given up, after retrying.
)

// WebhookDelivery is one event's delivery to one endpoint.
type WebhookDelivery struct {
	ID         int64 // Increases in the order the events were emitted.
	EndpointID string
	EventID    string
	EventType  string
	OrderKey   string
	Payload    []byte
	Status     string
	Attempts   int
	CreatedAt  time.Time
	// NextAttemptAt is when it is sent next; nil unless pending.
	NextAttemptAt *time.Time
	GiveUpAt      time.Time
	LastAttemptAt *time.Time
	LastStatus    int // HTTP status of the last attempt; 0 if none answered.
	LastError     string
	FinishedAt    *time.Time // When it was delivered or given up.
	ResentFrom    int64      // The delivery it sends again, or 0.
}

// DueWebhookDelivery is a delivery to send now, with where to send it.
// Its NextAttemptAt is when it came due.
type DueWebhookDelivery struct {
	WebhookDelivery
	URL    string
	Secret string
	// ClaimedUntil is when the claim that returned it lapses.
	ClaimedUntil time.Time
}

const webhookDeliveryColumns = `
	d.id, d.endpoint_id, d.event_id, v.type, d.order_key, v.payload, d.status, d.attempts,
	d.created_at, d.next_attempt_at, d.give_up_at, d.last_attempt_at, d.last_status,
	d.last_error, d.finished_at, coalesce(d.resent_from, 0)`

func scanWebhookDelivery(r rowScanner) (WebhookDelivery, error) {
	var (
		d                       WebhookDelivery
		payload                 string
		created, giveUp         int64
		next, lastTry, finished sql.NullInt64
	)
	if err := r.Scan(&d.ID, &d.EndpointID, &d.EventID, &d.EventType, &d.OrderKey, &payload,
		&d.Status, &d.Attempts, &created, &next, &giveUp, &lastTry, &d.LastStatus,
		&d.LastError, &finished, &d.ResentFrom); err != nil {
		return WebhookDelivery{}, err
	}
	d.Payload = []byte(payload)
	d.CreatedAt, d.GiveUpAt = fromMillis(created), fromMillis(giveUp)
	d.NextAttemptAt, d.LastAttemptAt, d.FinishedAt = nullMillis(next), nullMillis(lastTry), nullMillis(finished)
	return d, nil
}

// ClaimDueWebhookDeliveries claims up to limit pending deliveries that
// are due by now, soonest due first, for the caller to send: each is due
// again only at the end of the claim, now plus lease, so that no other
// worker, in this process or in another instance sharing the database,
// sends it meanwhile. The caller records what came of each
// (RecordWebhookAttempt), or gives back one it did not try
// (ReleaseWebhookDelivery); a claim whose worker died lapses, and the
// delivery is sent again. lease must outlast the attempts of the whole
// batch.
//
// Of the pending deliveries with the same order key to one endpoint only
// the oldest can be claimed: a later event waits until the earlier one is
// delivered or given up, whoever sends it.
//
// On PostgreSQL the claim skips the rows that another claim is taking at
// the same moment (FOR UPDATE SKIP LOCKED, in a READ COMMITTED
// transaction), so that instances claiming together take different
// deliveries and neither wait for nor fail each other.
func (s *Store) ClaimDueWebhookDeliveries(ctx context.Context, limit int, lease time.Duration) ([]DueWebhookDelivery, error) {
	var list []DueWebhookDelivery
	err := s.inQueue(ctx, func(tx *txn) error {
		now := s.Now()
		var err error
		list, err = queryRows(ctx, tx, scanDueWebhookDelivery, `
			SELECT `+webhookDeliveryColumns+`, e.url, e.secret
			FROM webhook_deliveries d
			JOIN webhook_events v ON v.id = d.event_id
			JOIN webhook_endpoints e ON e.id = d.endpoint_id
			WHERE d.status = 'pending' AND d.next_attempt_at <= :now
			  AND NOT EXISTS (
				SELECT 1 FROM webhook_deliveries b
				WHERE b.endpoint_id = d.endpoint_id AND b.order_key = d.order_key
				  AND b.status = 'pending' AND b.id < d.id)
			ORDER BY d.next_attempt_at, d.id
			LIMIT :limit`+tx.d.skipLocked("d"), sql.Named("now", millis(now)), sql.Named("limit", limit))
		if err != nil || len(list) == 0 {
			return err
		}
		until := now.Add(lease)
		args := []any{millis(until)}
		for i := range list {
			list[i].ClaimedUntil = until
			args = append(args, list[i].ID)
		}
		_, err = tx.ExecContext(ctx, `
			UPDATE webhook_deliveries SET next_attempt_at = ?
			WHERE id IN (?`+strings.Repeat(", ?", len(list)-1)+`)`, args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim due webhook deliveries: %w", err)
	}
	return list, nil
}

func scanDueWebhookDelivery(r rowScanner) (DueWebhookDelivery, error) {
	var due DueWebhookDelivery
	var err error
	due.WebhookDelivery, err = scanWebhookDelivery(extraColumns{r, []any{&due.URL, &due.Secret}})
	return due, err
}

// ReleaseWebhookDelivery gives back a claimed delivery that was not tried
// (its worker is stopping): it is due again when it was due before the
// claim. A delivery whose claim lapsed, and that another worker may have
// claimed since, is left alone.
func (s *Store) ReleaseWebhookDelivery(ctx context.Context, d DueWebhookDelivery) error {
	if d.NextAttemptAt == nil {
		return nil
	}
	err := s.inWrite(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `
			UPDATE webhook_deliveries SET next_attempt_at = ?
			WHERE id = ? AND status = 'pending' AND next_attempt_at = ?`,
			millis(*d.NextAttemptAt), d.ID, millis(d.ClaimedUntil))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: release webhook delivery %d: %w", d.ID, err)
	}
	return nil
}

// NextWebhookAttempt returns when the soonest pending delivery is due, and
// false when none is pending.
func (s *Store) NextWebhookAttempt(ctx context.Context) (time.Time, bool, error) {
	var next sql.NullInt64
	err := s.inRead(ctx, func(tx *txn) error {
		return tx.QueryRowContext(ctx, `
			SELECT min(next_attempt_at) FROM webhook_deliveries WHERE status = 'pending'`).Scan(&next)
	})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("store: find next webhook attempt: %w", err)
	}
	if !next.Valid {
		return time.Time{}, false, nil
	}
	return fromMillis(next.Int64), true, nil
}

// WebhookAttempt is one attempt to send a delivery.
type WebhookAttempt struct {
	DeliveryID int64
	At         time.Time
	Status     int    // The HTTP status; 0 when there was no answer.
	Error      string // What went wrong; empty after a 2xx.
	Duration   time.Duration
}

// WebhookAttemptResult is an attempt and what comes of it.
type WebhookAttemptResult struct {
	WebhookAttempt
	Delivered bool
	// NextAttemptAt is when to try again after a failure; nil gives up.
	NextAttemptAt *time.Time
}

// maxAttemptError is the longest error text kept, in bytes.
const maxAttemptError = 1000

// RecordWebhookAttempt records an attempt on a pending delivery and moves
// it on: delivered, due again, or given up. Returns ErrNotFound if the
// delivery is no longer pending (its endpoint was deleted meanwhile).
func (s *Store) RecordWebhookAttempt(ctx context.Context, r WebhookAttemptResult) error {
	r.Error = clipUTF8(r.Error, maxAttemptError)
	err := s.inWrite(ctx, func(tx *txn) error {
		status, next, finished := DeliveryPending, sql.NullInt64{}, sql.NullInt64{}
		switch {
		case r.Delivered:
			status, finished = DeliveryDelivered, sql.NullInt64{Int64: millis(r.At), Valid: true}
		case r.NextAttemptAt == nil:
			status, finished = DeliveryFailed, sql.NullInt64{Int64: millis(r.At), Valid: true}
		default:
			next = sql.NullInt64{Int64: millis(*r.NextAttemptAt), Valid: true}
		}
		res, err := tx.ExecContext(ctx, `
			UPDATE webhook_deliveries
			SET status = ?, attempts = attempts + 1, next_attempt_at = ?, last_attempt_at = ?,
				last_status = ?, last_error = ?, finished_at = ?
			WHERE id = ? AND status = 'pending'`,
			status, next, millis(r.At), r.Status, r.Error, finished, r.DeliveryID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		_, err = tx.ExecContext(ctx, `
			INSERT INTO webhook_attempts (delivery_id, at, status, error, duration_ms)
			VALUES (?, ?, ?, ?, ?)`,
			r.DeliveryID, millis(r.At), r.Status, r.Error, max(r.Duration.Milliseconds(), 0))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: record webhook attempt on %d: %w", r.DeliveryID, err)
	}
	return nil
}

// clipUTF8 cuts s to at most n bytes without splitting a character.
func clipUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && s[len(s)-1]&0xC0 == 0x80 {
		s = s[:len(s)-1]
	}
	if len(s) > 0 && s[len(s)-1] >= 0xC0 {
		s = s[:len(s)-1]
	}
	return s
}

// FindWebhookDelivery returns a delivery of an endpoint. Returns
// ErrNotFound if the endpoint has no such delivery.
func (s *Store) FindWebhookDelivery(ctx context.Context, endpointID string, id int64) (WebhookDelivery, error) {
	var d WebhookDelivery
	err := s.inRead(ctx, func(tx *txn) error {
		var err error
		d, err = findWebhookDelivery(ctx, tx, endpointID, id)
		return err
	})
	if err != nil {
		return WebhookDelivery{}, fmt.Errorf("store: find webhook delivery %d: %w", id, err)
	}
	return d, nil
}

func findWebhookDelivery(ctx context.Context, tx *txn, endpointID string, id int64) (WebhookDelivery, error) {
	d, err := scanWebhookDelivery(tx.QueryRowContext(ctx, `
		SELECT `+webhookDeliveryColumns+`
		FROM webhook_deliveries d JOIN webhook_events v ON v.id = d.event_id
		WHERE d.id = ? AND d.endpoint_id = ?`, id, endpointID))
	if errors.Is(err, sql.ErrNoRows) {
		return WebhookDelivery{}, ErrNotFound
	}
	return d, err
}

// ListWebhookDeliveries returns one page of an endpoint's deliveries,
// newest first, and how many it has in all.
func (s *Store) ListWebhookDeliveries(ctx context.Context, endpointID string, p Page) ([]WebhookDelivery, int, error) {
	var (
		list  []WebhookDelivery
		total int
	)
	err := s.inRead(ctx, func(tx *txn) error {
		if err := tx.QueryRowContext(ctx, `
			SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = ?`, endpointID).Scan(&total); err != nil {
			return err
		}
		var err error
		list, err = queryRows(ctx, tx, scanWebhookDelivery, `
			SELECT `+webhookDeliveryColumns+`
			FROM webhook_deliveries d JOIN webhook_events v ON v.id = d.event_id
			WHERE d.endpoint_id = ?
			ORDER BY d.id DESC LIMIT ? OFFSET ?`, endpointID, p.Size, p.offset())
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("store: list deliveries of webhook endpoint %s: %w", endpointID, err)
	}
	return list, total, nil
}

// ListWebhookAttempts returns the attempts on the given deliveries, by
// delivery, oldest attempt first.
func (s *Store) ListWebhookAttempts(ctx context.Context, deliveryIDs []int64) (map[int64][]WebhookAttempt, error) {
	out := map[int64][]WebhookAttempt{}
	if len(deliveryIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(deliveryIDs))
	for i, id := range deliveryIDs {
		args[i] = id
	}
	err := s.inRead(ctx, func(tx *txn) error {
		attempts, err := queryRows(ctx, tx, scanWebhookAttempt, `
			SELECT delivery_id, at, status, error, duration_ms FROM webhook_attempts
			WHERE delivery_id IN (?`+strings.Repeat(", ?", len(args)-1)+`)
			ORDER BY delivery_id, id`, args...)
		for _, a := range attempts {
			out[a.DeliveryID] = append(out[a.DeliveryID], a)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: list webhook attempts: %w", err)
	}
	return out, nil
}

func scanWebhookAttempt(r rowScanner) (WebhookAttempt, error) {
	var a WebhookAttempt
	var at, ms int64
	err := r.Scan(&a.DeliveryID, &at, &a.Status, &a.Error, &ms)
	a.At, a.Duration = fromMillis(at), time.Duration(ms)*time.Millisecond
	return a, err
}

// ResendWebhookDelivery sends a delivery's event to its endpoint again.
// A pending delivery is made due now (it still goes out after the earlier
// deliveries with its order key). A delivered or failed one is copied into
// a new delivery, due now and retried until retryFor has passed, which
// comes after every delivery emitted before it; the old one keeps its
// history. It returns the delivery that will be sent. Returns ErrNotFound
// if the endpoint has no such delivery.
func (s *Store) ResendWebhookDelivery(ctx context.Context, endpointID string, id int64, retryFor time.Duration) (WebhookDelivery, error) {
	var d WebhookDelivery
	err := s.inWrite(ctx, func(tx *txn) error {
		old, err := findWebhookDelivery(ctx, tx, endpointID, id)
		if err != nil {
			return err
		}
		now := s.Now()
		if old.Status == DeliveryPending {
			if _, err := tx.ExecContext(ctx, `
				UPDATE webhook_deliveries SET next_attempt_at = `+tx.d.least("next_attempt_at", "?")+` WHERE id = ?`,
				millis(now), old.ID); err != nil {
				return err
			}
			d, err = findWebhookDelivery(ctx, tx, endpointID, old.ID)
			return err
		}
		var newID int64
		if err := tx.QueryRowContext(ctx, `
			INSERT INTO webhook_deliveries (endpoint_id, event_id, order_key, status,
				created_at, next_attempt_at, give_up_at, resent_from)
			VALUES (?, ?, ?, 'pending', ?, ?, ?, ?)
			RETURNING id`,
			old.EndpointID, old.EventID, old.OrderKey, millis(now), millis(now), millis(now.Add(retryFor)), old.ID).
			Scan(&newID); err != nil {
			return err
		}
		d, err = findWebhookDelivery(ctx, tx, endpointID, newID)
		return err
	})
	if err != nil {
		return WebhookDelivery{}, fmt.Errorf("store: resend webhook delivery %d: %w", id, err)
	}
	return d, nil
}

// PruneWebhookDeliveries deletes the deliveries that were delivered or
// given up before the given moment, with their attempts, and the events
// no delivery refers to any more. It returns how many deliveries it
// deleted.
func (s *Store) PruneWebhookDeliveries(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.inWrite(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `
			DELETE FROM webhook_deliveries WHERE status <> 'pending' AND finished_at < ?`, millis(before))
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		_, err = tx.ExecContext(ctx, `
			DELETE FROM webhook_events
			WHERE NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = webhook_events.id)`)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: prune webhook deliveries: %w", err)
	}
	return int(n), nil
}

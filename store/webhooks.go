package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// PrefixWebhookEndpoint and PrefixWebhookEvent are the prefixes of webhook
// endpoint and event IDs.
const (
	PrefixWebhookEndpoint = "wh"
	PrefixWebhookEvent    = "ev"
)

// WebhookEndpoint is a URL that receives the events it subscribed to.
type WebhookEndpoint struct {
	ID        string
	URL       string
	Secret    string // The HMAC-SHA256 key its deliveries are signed with.
	Events    []string
	CreatedAt time.Time

	// Pending and Failed count its deliveries in those states, as of the
	// read.
	Pending int
	Failed  int
}

// Subscribes reports whether the endpoint receives events of the type.
func (e WebhookEndpoint) Subscribes(eventType string) bool {
	return slices.Contains(e.Events, eventType)
}

// WebhookEndpointCreate holds the attributes of a new endpoint.
type WebhookEndpointCreate struct {
	URL    string
	Secret string
	Events []string
}

// CreateWebhookEndpoint creates an endpoint with a fresh ID. The caller
// validates the URL and events.
func (s *Store) CreateWebhookEndpoint(ctx context.Context, c WebhookEndpointCreate) (WebhookEndpoint, error) {
	id := NewID(PrefixWebhookEndpoint)
	err := s.inWrite(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO webhook_endpoints (id, url, secret, events, created_at)
			VALUES (?, ?, ?, ?, ?)`,
			id, c.URL, c.Secret, strings.Join(c.Events, ","), millis(s.Now()))
		return err
	})
	if err != nil {
		return WebhookEndpoint{}, fmt.Errorf("store: create webhook endpoint: %w", err)
	}
	return s.FindWebhookEndpoint(ctx, id)
}

const webhookEndpointColumns = `
	e.id, e.url, e.secret, e.events, e.created_at,
	(SELECT count(*) FROM webhook_deliveries d WHERE d.endpoint_id = e.id AND d.status = 'pending'),
	(SELECT count(*) FROM webhook_deliveries d WHERE d.endpoint_id = e.id AND d.status = 'failed')`

func scanWebhookEndpoint(r rowScanner) (WebhookEndpoint, error) {
	var (
		e       WebhookEndpoint
		events  string
		created int64
	)
	if err := r.Scan(&e.ID, &e.URL, &e.Secret, &events, &created, &e.Pending, &e.Failed); err != nil {
		return WebhookEndpoint{}, err
	}
	e.Events = strings.Split(events, ",")
	e.CreatedAt = fromMillis(created)
	return e, nil
}

// FindWebhookEndpoint returns the endpoint with the given ID. Returns
// ErrNotFound if there is none.
func (s *Store) FindWebhookEndpoint(ctx context.Context, id string) (WebhookEndpoint, error) {
	var e WebhookEndpoint
	err := s.inRead(ctx, func(tx *sql.Tx) error {
		var err error
		e, err = scanWebhookEndpoint(tx.QueryRowContext(ctx, `
			SELECT `+webhookEndpointColumns+` FROM webhook_endpoints e WHERE e.id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		return err
	})
	if err != nil {
		return WebhookEndpoint{}, fmt.Errorf("store: find webhook endpoint %s: %w", id, err)
	}
	return e, nil
}

// ListWebhookEndpoints returns every endpoint, oldest first.
func (s *Store) ListWebhookEndpoints(ctx context.Context) ([]WebhookEndpoint, error) {
	var list []WebhookEndpoint
	err := s.inRead(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `
			SELECT `+webhookEndpointColumns+` FROM webhook_endpoints e
			ORDER BY e.created_at, e.rowid`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanWebhookEndpoint(rows)
			if err != nil {
				return err
			}
			list = append(list, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: list webhook endpoints: %w", err)
	}
	return list, nil
}

// WebhookSubscribed reports whether any endpoint receives events of the
// type.
func (s *Store) WebhookSubscribed(ctx context.Context, eventType string) (bool, error) {
	var yes bool
	err := s.inRead(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `
			SELECT EXISTS (SELECT 1 FROM webhook_endpoints
				WHERE instr(',' || events || ',', ',' || ? || ',') > 0)`, eventType).Scan(&yes)
	})
	if err != nil {
		return false, fmt.Errorf("store: find webhook subscribers: %w", err)
	}
	return yes, nil
}

// DeleteWebhookEndpoint deletes an endpoint with its deliveries, pending
// ones included. Returns ErrNotFound if there is no such endpoint.
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, id string) error {
	err := s.inWrite(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM webhook_endpoints WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: delete webhook endpoint %s: %w", id, err)
	}
	return nil
}

// Kinds of link notices.
const (
	NoticeUsedUp  = "used_up"
	NoticeExpired = "expired"
)

// LinkNotice names a fact about a link that is announced once: a link
// used up (At zero), or a link that expired at At.
type LinkNotice struct {
	LinkID string
	Kind   string
	At     time.Time
}

// WebhookEvent is an event to deliver to every endpoint subscribed to its
// type.
type WebhookEvent struct {
	ID   string // NewID(PrefixWebhookEvent) when empty.
	Type string
	// OrderKey groups events whose deliveries to one endpoint must go out
	// in order, such as those of one video.
	OrderKey string
	Payload  []byte // The JSON body.
	// Notice, when set, is recorded with the event; if it was recorded
	// before, nothing is enqueued.
	Notice *LinkNotice
}

// EnqueueWebhookEvent records an event and one pending delivery, due now,
// for each endpoint subscribed to its type, in one transaction; the
// deliveries are retried until retryFor has passed. It returns how many
// deliveries it created: none when no endpoint is subscribed (then the
// event is not kept either). Returns ErrConflict if e.Notice was recorded
// before.
func (s *Store) EnqueueWebhookEvent(ctx context.Context, e WebhookEvent, retryFor time.Duration) (int, error) {
	if e.ID == "" {
		e.ID = NewID(PrefixWebhookEvent)
	}
	var n int
	err := s.inWrite(ctx, func(tx *sql.Tx) error {
		now := s.Now()
		if e.Notice != nil {
			res, err := tx.ExecContext(ctx, `
				INSERT INTO webhook_link_notices (link_id, kind, at) VALUES (?, ?, ?)
				ON CONFLICT DO NOTHING`,
				e.Notice.LinkID, e.Notice.Kind, noticeAt(e.Notice.At))
			if err != nil {
				return err
			}
			if added, _ := res.RowsAffected(); added == 0 {
				return ErrConflict
			}
		}
		var endpoints []string
		rows, err := tx.QueryContext(ctx, `
			SELECT id FROM webhook_endpoints
			WHERE instr(',' || events || ',', ',' || ? || ',') > 0
			ORDER BY created_at, rowid`, e.Type)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			endpoints = append(endpoints, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(endpoints) == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO webhook_events (id, type, payload, created_at) VALUES (?, ?, ?, ?)`,
			e.ID, e.Type, string(e.Payload), millis(now)); err != nil {
			return err
		}
		for _, ep := range endpoints {
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO webhook_deliveries (endpoint_id, event_id, order_key, status,
					created_at, next_attempt_at, give_up_at)
				VALUES (?, ?, ?, 'pending', ?, ?, ?)`,
				ep, e.ID, e.OrderKey, millis(now), millis(now), millis(now.Add(retryFor))); err != nil {
				return err
			}
		}
		n = len(endpoints)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: enqueue webhook event %s: %w", e.Type, err)
	}
	return n, nil
}

// noticeAt is a notice's stored moment: 0 for a fact without one.
func noticeAt(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return millis(t)
}

// FindUnnoticedExpiredLinks returns the links whose expiry passed by now
// and was not announced yet, soonest expired first. A link revoked before
// it expired is left out: it closed by revocation, not expiry.
func (s *Store) FindUnnoticedExpiredLinks(ctx context.Context) ([]Link, error) {
	var list []Link
	err := s.inRead(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+linkColumns+` FROM links l
			WHERE l.expires_at IS NOT NULL AND l.expires_at <= :now
			  AND (l.revoked_at IS NULL OR l.revoked_at > l.expires_at)
			  AND NOT EXISTS (
				SELECT 1 FROM webhook_link_notices n
				WHERE n.link_id = l.id AND n.kind = 'expired' AND n.at = l.expires_at)
			ORDER BY l.expires_at, l.id`, sql.Named("now", millis(s.Now())))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			l, err := scanLink(rows)
			if err != nil {
				return err
			}
			list = append(list, l)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: find expired links: %w", err)
	}
	return list, nil
}

// FindLinkUploadByVideo returns the upload through a link that fills the
// video. Webhooks use it to leave the announcement of such an upload to
// the links service, which knows the link. Returns ErrNotFound if the
// video was not uploaded through a link.
func (s *Store) FindLinkUploadByVideo(ctx context.Context, videoID string) (LinkUpload, error) {
	us, err := s.findLinkUploads(ctx, `WHERE video_id = ?`, videoID)
	if err == nil && len(us) == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return LinkUpload{}, fmt.Errorf("store: find link upload of video %s: %w", videoID, err)
	}
	return us[0], nil
}

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
type DueWebhookDelivery struct {
	WebhookDelivery
	URL    string
	Secret string
}

const webhookDeliveryColumns = `
	d.id, d.endpoint_id, d.event_id, v.type, d.order_key, v.payload, d.status, d.attempts,
	d.created_at, d.next_attempt_at, d.give_up_at, d.last_attempt_at, d.last_status,
	d.last_error, d.finished_at, coalesce(d.resent_from, 0)`

func scanWebhookDelivery(r rowScanner, extra ...any) (WebhookDelivery, error) {
	var (
		d                       WebhookDelivery
		payload                 string
		created, giveUp         int64
		next, lastTry, finished sql.NullInt64
	)
	dest := append([]any{&d.ID, &d.EndpointID, &d.EventID, &d.EventType, &d.OrderKey, &payload,
		&d.Status, &d.Attempts, &created, &next, &giveUp, &lastTry, &d.LastStatus,
		&d.LastError, &finished, &d.ResentFrom}, extra...)
	if err := r.Scan(dest...); err != nil {
		return WebhookDelivery{}, err
	}
	d.Payload = []byte(payload)
	d.CreatedAt, d.GiveUpAt = fromMillis(created), fromMillis(giveUp)
	d.NextAttemptAt, d.LastAttemptAt, d.FinishedAt = nullMillis(next), nullMillis(lastTry), nullMillis(finished)
	return d, nil
}

// FindDueWebhookDeliveries returns up to limit pending deliveries that are
// due by now, soonest due first. Of the pending deliveries with the same
// order key to one endpoint only the oldest can be due: a later event
// waits until the earlier one is delivered or given up.
func (s *Store) FindDueWebhookDeliveries(ctx context.Context, limit int) ([]DueWebhookDelivery, error) {
	var list []DueWebhookDelivery
	err := s.inRead(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `
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
			LIMIT :limit`, sql.Named("now", millis(s.Now())), sql.Named("limit", limit))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var due DueWebhookDelivery
			var err error
			due.WebhookDelivery, err = scanWebhookDelivery(rows, &due.URL, &due.Secret)
			if err != nil {
				return err
			}
			list = append(list, due)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: find due webhook deliveries: %w", err)
	}
	return list, nil
}

// NextWebhookAttempt returns when the soonest pending delivery is due, and
// false when none is pending.
func (s *Store) NextWebhookAttempt(ctx context.Context) (time.Time, bool, error) {
	var next sql.NullInt64
	err := s.inRead(ctx, func(tx *sql.Tx) error {
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
	err := s.inWrite(ctx, func(tx *sql.Tx) error {
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
	err := s.inRead(ctx, func(tx *sql.Tx) error {
		var err error
		d, err = findWebhookDelivery(ctx, tx, endpointID, id)
		return err
	})
	if err != nil {
		return WebhookDelivery{}, fmt.Errorf("store: find webhook delivery %d: %w", id, err)
	}
	return d, nil
}

func findWebhookDelivery(ctx context.Context, tx *sql.Tx, endpointID string, id int64) (WebhookDelivery, error) {
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
	err := s.inRead(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `
			SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = ?`, endpointID).Scan(&total); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `
			SELECT `+webhookDeliveryColumns+`
			FROM webhook_deliveries d JOIN webhook_events v ON v.id = d.event_id
			WHERE d.endpoint_id = ?
			ORDER BY d.id DESC LIMIT ? OFFSET ?`, endpointID, p.Size, p.offset())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			d, err := scanWebhookDelivery(rows)
			if err != nil {
				return err
			}
			list = append(list, d)
		}
		return rows.Err()
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
	err := s.inRead(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `
			SELECT delivery_id, at, status, error, duration_ms FROM webhook_attempts
			WHERE delivery_id IN (?`+strings.Repeat(", ?", len(args)-1)+`)
			ORDER BY delivery_id, id`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var a WebhookAttempt
			var at, ms int64
			if err := rows.Scan(&a.DeliveryID, &at, &a.Status, &a.Error, &ms); err != nil {
				return err
			}
			a.At, a.Duration = fromMillis(at), time.Duration(ms)*time.Millisecond
			out[a.DeliveryID] = append(out[a.DeliveryID], a)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: list webhook attempts: %w", err)
	}
	return out, nil
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
	err := s.inWrite(ctx, func(tx *sql.Tx) error {
		old, err := findWebhookDelivery(ctx, tx, endpointID, id)
		if err != nil {
			return err
		}
		now := s.Now()
		if old.Status == DeliveryPending {
			if _, err := tx.ExecContext(ctx, `
				UPDATE webhook_deliveries SET next_attempt_at = min(next_attempt_at, ?) WHERE id = ?`,
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
	err := s.inWrite(ctx, func(tx *sql.Tx) error {
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

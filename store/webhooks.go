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
	err := s.inWrite(ctx, func(tx *txn) error {
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
	err := s.inRead(ctx, func(tx *txn) error {
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
	err := s.inRead(ctx, func(tx *txn) error {
		// rowid keeps endpoints created in the same millisecond in the
		// order they were created: SQLite's implicit one, and a column of
		// that name on PostgreSQL.
		var err error
		list, err = queryRows(ctx, tx, scanWebhookEndpoint, `
			SELECT `+webhookEndpointColumns+` FROM webhook_endpoints e
			ORDER BY e.created_at, e.rowid`)
		return err
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
	err := s.inRead(ctx, func(tx *txn) error {
		return tx.QueryRowContext(ctx, `
			SELECT EXISTS (SELECT 1 FROM webhook_endpoints
				WHERE `+subscribedTo(tx.d)+`)`, eventType).Scan(&yes)
	})
	if err != nil {
		return false, fmt.Errorf("store: find webhook subscribers: %w", err)
	}
	return yes, nil
}

// subscribedTo is the condition that an endpoint's events include the
// type bound to its one parameter.
func subscribedTo(d dialect) string {
	return d.position(`',' || events || ','`, `',' || ? || ','`) + ` > 0`
}

// DeleteWebhookEndpoint deletes an endpoint with its deliveries, pending
// ones included. Returns ErrNotFound if there is no such endpoint.
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, id string) error {
	err := s.inWrite(ctx, func(tx *txn) error {
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
	err := s.inWrite(ctx, func(tx *txn) error {
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
		n = 0
		endpoints, err := queryRows(ctx, tx, scanString, `
			SELECT id FROM webhook_endpoints
			WHERE `+subscribedTo(tx.d)+`
			ORDER BY created_at, rowid`, e.Type)
		if err != nil {
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
	err := s.inRead(ctx, func(tx *txn) error {
		var err error
		list, err = queryRows(ctx, tx, scanLink, `SELECT `+linkColumns+` FROM links l
			WHERE l.expires_at IS NOT NULL AND l.expires_at <= :now
			  AND (l.revoked_at IS NULL OR l.revoked_at > l.expires_at)
			  AND NOT EXISTS (
				SELECT 1 FROM webhook_link_notices n
				WHERE n.link_id = l.id AND n.kind = 'expired' AND n.at = l.expires_at)
			ORDER BY l.expires_at, l.id`, sql.Named("now", millis(s.Now())))
		return err
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

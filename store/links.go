package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Link is a delegated upload link.
type Link struct {
	ID        string // Public ID in the link's URL; not the token.
	Token     string // The upload token behind the link; never sent to browsers.
	Label     string
	Message   string
	TTL       int // Seconds; 0 means the link never expires.
	ExpiresAt *time.Time
	// MaxUploads is how many files the link takes; 0 is unlimited.
	MaxUploads int
	// MaxSize is the largest file the link takes, in bytes; 0 is no limit.
	MaxSize int64
	// AllowedTypes is "video", "any", or format names (see web/sniff).
	AllowedTypes []string
	// EmbedOrigins may embed the uploader in a frame; "*" is any origin.
	EmbedOrigins []string
	AskName      bool
	CreatedAt    time.Time
	RevokedAt    *time.Time
	// RecipientName and RecipientEmail name the person the link was
	// made for, in a batch of personalised links (BatchID); empty
	// otherwise.
	RecipientName  string
	RecipientEmail string
	BatchID        string
	// EmailReceipt sends the uploader a receipt by email when an upload
	// completes: to the address they gave, or the recipient's.
	EmailReceipt bool

	// Completed counts finished uploads; InFlight counts uploads that
	// hold a slot while their lease runs. Both are as of the read.
	Completed int
	InFlight  int
}

// Link states, as shown to uploaders and admins.
const (
	LinkActive  = "active"
	LinkExpired = "expired"
	LinkRevoked = "revoked"
	LinkUsedUp  = "used_up"
)

// State returns the link's state at now. A revoked link is revoked even
// if it also expired; a used-up link has no upload slot left for good.
func (l Link) State(now time.Time) string {
	switch {
	case l.RevokedAt != nil:
		return LinkRevoked
	case l.ExpiresAt != nil && !now.Before(*l.ExpiresAt):
		return LinkExpired
	case l.MaxUploads > 0 && l.Completed >= l.MaxUploads:
		return LinkUsedUp
	}
	return LinkActive
}

// Remaining returns how many more uploads the link can start now, or -1
// when it takes any number.
func (l Link) Remaining() int {
	if l.MaxUploads == 0 {
		return -1
	}
	return max(l.MaxUploads-l.Completed-l.InFlight, 0)
}

// LinkCreate holds the attributes of a new link.
type LinkCreate struct {
	Token        string
	Label        string
	Message      string
	TTL          int
	MaxUploads   int
	MaxSize      int64
	AllowedTypes []string
	EmbedOrigins []string
	AskName      bool
	// RecipientName and RecipientEmail are set on personalised links.
	RecipientName  string
	RecipientEmail string
	EmailReceipt   bool
}

// CreateLink creates a link with a fresh public ID.
func (s *Store) CreateLink(ctx context.Context, c LinkCreate) (Link, error) {
	var id string
	err := s.inWrite(ctx, func(tx *txn) error {
		var err error
		id, err = insertLink(ctx, tx, c, "", 0, s.Now())
		return err
	})
	if err != nil {
		return Link{}, fmt.Errorf("store: create link: %w", err)
	}
	return s.FindLink(ctx, id)
}

// insertLink inserts one link with a fresh public ID and returns the ID.
func insertLink(ctx context.Context, tx *txn, c LinkCreate, batchID string, seq int, now time.Time) (string, error) {
	id := RandomString(22)
	var expires sql.NullInt64
	if c.TTL > 0 {
		expires = sql.NullInt64{Int64: millis(now.Add(time.Duration(c.TTL) * time.Second)), Valid: true}
	}
	types := strings.Join(c.AllowedTypes, ",")
	if types == "" {
		types = "video"
	}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO links (id, token, label, message, ttl, expires_at, max_uploads, max_size,
			allowed_types, embed_origins, ask_name, created_at,
			recipient_name, recipient_email, batch_id, batch_seq, email_receipt)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, c.Token, c.Label, c.Message, c.TTL, expires, nullInt(int64(c.MaxUploads)), nullInt(c.MaxSize),
		types, strings.Join(c.EmbedOrigins, "\n"), c.AskName, millis(now),
		c.RecipientName, c.RecipientEmail, batchID, seq, c.EmailReceipt)
	return id, err
}

// linkColumns are the columns scanLink reads, with the slot counts as of
// the parameter bound to :now.
const linkColumns = `
	l.id, l.token, l.label, l.message, l.ttl, l.expires_at,
	coalesce(l.max_uploads, 0), coalesce(l.max_size, 0), l.allowed_types, l.embed_origins,
	l.ask_name, l.created_at, l.revoked_at,
	l.recipient_name, l.recipient_email, l.batch_id, l.email_receipt,
	(SELECT count(*) FROM link_uploads u WHERE u.link_id = l.id AND u.status = 'completed'),
	(SELECT count(*) FROM link_uploads u WHERE u.link_id = l.id
		AND u.status IN ('starting', 'uploading') AND u.lease_expires_at > :now)`

func scanLink(r rowScanner) (Link, error) {
	var (
		l                   Link
		types, origins      string
		expires, revoked    sql.NullInt64
		created             int64
		maxUploads          int64
		maxSize             int64
		completed, inFlight int
	)
	err := r.Scan(&l.ID, &l.Token, &l.Label, &l.Message, &l.TTL, &expires,
		&maxUploads, &maxSize, &types, &origins, &l.AskName, &created, &revoked,
		&l.RecipientName, &l.RecipientEmail, &l.BatchID, &l.EmailReceipt,
		&completed, &inFlight)
	if err != nil {
		return Link{}, err
	}
	l.MaxUploads, l.MaxSize = int(maxUploads), maxSize
	l.AllowedTypes = strings.Split(types, ",")
	if origins != "" {
		l.EmbedOrigins = strings.Split(origins, "\n")
	}
	l.ExpiresAt, l.RevokedAt, l.CreatedAt = nullMillis(expires), nullMillis(revoked), fromMillis(created)
	l.Completed, l.InFlight = completed, inFlight
	return l, nil
}

// FindLink returns the link with the given ID. Returns ErrNotFound if
// there is none.
func (s *Store) FindLink(ctx context.Context, id string) (Link, error) {
	var l Link
	err := s.inRead(ctx, func(tx *txn) error {
		var err error
		l, err = findLink(ctx, tx, id, s.Now())
		return err
	})
	if err != nil {
		return Link{}, fmt.Errorf("store: find link %s: %w", id, err)
	}
	return l, nil
}

func findLink(ctx context.Context, tx *txn, id string, now time.Time) (Link, error) {
	l, err := scanLink(tx.QueryRowContext(ctx, `SELECT `+linkColumns+` FROM links l WHERE l.id = :id`,
		sql.Named("now", millis(now)), sql.Named("id", id)))
	if errors.Is(err, sql.ErrNoRows) {
		return Link{}, ErrNotFound
	}
	return l, err
}

// ListLinks returns one page of links, newest first, and how many there
// are in all.
func (s *Store) ListLinks(ctx context.Context, p Page) ([]Link, int, error) {
	var (
		links []Link
		total int
	)
	err := s.inRead(ctx, func(tx *txn) error {
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM links`).Scan(&total); err != nil {
			return err
		}
		var err error
		links, err = queryRows(ctx, tx, scanLink, `SELECT `+linkColumns+` FROM links l
			ORDER BY l.created_at DESC, l.id DESC LIMIT :limit OFFSET :offset`,
			sql.Named("now", millis(s.Now())), sql.Named("limit", p.Size), sql.Named("offset", p.offset()))
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("store: list links: %w", err)
	}
	return links, total, nil
}

// ClearLinkToken forgets the remote token a link had from an older uplink,
// once deleted.
func (s *Store) ClearLinkToken(ctx context.Context, id string) error {
	err := s.inWrite(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `UPDATE links SET token = '' WHERE id = ?`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: clear the token of link %s: %w", id, err)
	}
	return nil
}

// FindLinksWithUnusedToken returns the links that still have a remote
// token from an older uplink that no upload in progress uses.
func (s *Store) FindLinksWithUnusedToken(ctx context.Context) ([]Link, error) {
	var links []Link
	err := s.inRead(ctx, func(tx *txn) error {
		var err error
		links, err = queryRows(ctx, tx, scanLink, `SELECT `+linkColumns+` FROM links l
			WHERE l.token <> '' AND NOT EXISTS (SELECT 1 FROM link_uploads u
				WHERE u.link_id = l.id AND u.token = l.token AND u.status IN ('starting', 'uploading'))`,
			sql.Named("now", millis(s.Now())))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: find links with an unused token: %w", err)
	}
	return links, nil
}

// RevokeLink marks the link revoked and returns it. Returns ErrNotFound if
// there is no such link, and ErrConflict if it was already revoked.
func (s *Store) RevokeLink(ctx context.Context, id string) (Link, error) {
	var l Link
	err := s.inWrite(ctx, func(tx *txn) error {
		now := s.Now()
		var err error
		if l, err = findLink(ctx, tx, id, now); err != nil {
			return err
		}
		if l.RevokedAt != nil {
			return ErrConflict
		}
		if _, err := tx.ExecContext(ctx, `UPDATE links SET revoked_at = ? WHERE id = ?`, millis(now), id); err != nil {
			return err
		}
		l.RevokedAt = &now
		return addLinkEvent(ctx, tx, LinkEvent{LinkID: id, At: now, Kind: EventRevoked})
	})
	if err != nil {
		return Link{}, fmt.Errorf("store: revoke link %s: %w", id, err)
	}
	return l, nil
}

// Kinds of link events.
const (
	EventOpened    = "opened"
	EventStarted   = "started"
	EventResumed   = "resumed"
	EventCompleted = "completed"
	EventRefused   = "refused"
	EventCancelled = "cancelled"
	EventAbandoned = "abandoned"
	EventRevoked   = "revoked"
)

// LinkEvent is one entry of a link's timeline.
type LinkEvent struct {
	LinkID  string
	At      time.Time
	Kind    string
	VideoID string
	Detail  string // For refusals, the reason.
	// Visits is how many visits an EventOpened stands for (RecordLinkVisit);
	// 1 for every other event.
	Visits int
}

// AddLinkEvent records an event on a link's timeline.
func (s *Store) AddLinkEvent(ctx context.Context, e LinkEvent) error {
	if e.At.IsZero() {
		e.At = s.Now()
	}
	err := s.inWrite(ctx, func(tx *txn) error { return addLinkEvent(ctx, tx, e) })
	if err != nil {
		return fmt.Errorf("store: add link event: %w", err)
	}
	return nil
}

func addLinkEvent(ctx context.Context, tx *txn, e LinkEvent) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO link_events (link_id, at, kind, video_id, detail) VALUES (?, ?, ?, ?, ?)`,
		e.LinkID, millis(e.At), e.Kind, e.VideoID, e.Detail)
	return err
}

// RecordLinkVisit counts a visit of a link's page on its timeline. When
// the link's latest event is a visit at or after since, the visit folds
// into it (its Visits grows, and its time becomes this visit's);
// otherwise it is a new EventOpened.
func (s *Store) RecordLinkVisit(ctx context.Context, linkID string, since time.Time) error {
	now := s.Now()
	err := s.inWrite(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE link_events
			SET visits = visits + 1, at = ?
			WHERE id = (
				SELECT id FROM link_events
				WHERE link_id = ?
				ORDER BY id DESC
				LIMIT 1
			)
			AND kind = ?
			AND at >= ?`,
			millis(now), linkID, EventOpened, millis(since))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		return addLinkEvent(ctx, tx, LinkEvent{LinkID: linkID, At: now, Kind: EventOpened})
	})
	if err != nil {
		return fmt.Errorf("store: record a visit of link %s: %w", linkID, err)
	}
	return nil
}

func scanLinkEvent(r rowScanner) (LinkEvent, error) {
	var e LinkEvent
	var at int64
	err := r.Scan(&e.LinkID, &at, &e.Kind, &e.VideoID, &e.Detail, &e.Visits)
	e.At = fromMillis(at)
	return e, err
}

// ListLinkEvents returns a link's most recent events, newest first.
func (s *Store) ListLinkEvents(ctx context.Context, linkID string, limit int) ([]LinkEvent, error) {
	var events []LinkEvent
	err := s.inRead(ctx, func(tx *txn) error {
		var err error
		events, err = queryRows(ctx, tx, scanLinkEvent, `
			SELECT link_id, at, kind, video_id, detail, visits FROM link_events
			WHERE link_id = ? ORDER BY id DESC LIMIT ?`, linkID, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: list events of link %s: %w", linkID, err)
	}
	return events, nil
}

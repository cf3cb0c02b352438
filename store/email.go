package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Kinds of email messages.
const (
	EmailUploadCompleted = "upload.completed"
	EmailUploadFailed    = "upload.failed"
	EmailReceipt         = "receipt"
	EmailTest            = "test"
)

// Statuses of email messages.
const (
	EmailPending = "pending"
	EmailSent    = "sent"
	EmailFailed  = "failed"
)

// EmailMessage is a plain-text email in the outgoing queue. It is
// composed when queued, so that every attempt sends the same message
// (with the same Message-ID, which lets a receiving server drop a copy
// that a lost answer made uplink send twice).
type EmailMessage struct {
	ID int64
	// Kind is one of the Email* kinds above.
	Kind string
	// DedupeKey names the notice the message carries, such as
	// "upload.completed:<video ID>:<address>": a message with the key of
	// one already queued is not queued again.
	DedupeKey string
	MessageID string // Without angle brackets.
	To        string
	Subject   string
	Body      string

	Status        string
	Attempts      int
	CreatedAt     time.Time
	NextAttemptAt *time.Time
	GiveUpAt      time.Time
	LastAttemptAt *time.Time
	LastError     string
	FinishedAt    *time.Time
}

const emailColumns = `id, kind, dedupe_key, message_id, to_addr, subject, body, status, attempts,
	created_at, next_attempt_at, give_up_at, last_attempt_at, last_error, finished_at`

func scanEmail(r rowScanner) (EmailMessage, error) {
	var (
		m                          EmailMessage
		created, giveUp            int64
		next, lastAttempt, finishd sql.NullInt64
	)
	err := r.Scan(&m.ID, &m.Kind, &m.DedupeKey, &m.MessageID, &m.To, &m.Subject, &m.Body, &m.Status, &m.Attempts,
		&created, &next, &giveUp, &lastAttempt, &m.LastError, &finishd)
	if err != nil {
		return EmailMessage{}, err
	}
	m.CreatedAt, m.GiveUpAt = fromMillis(created), fromMillis(giveUp)
	m.NextAttemptAt, m.LastAttemptAt, m.FinishedAt = nullMillis(next), nullMillis(lastAttempt), nullMillis(finishd)
	return m, nil
}

// EnqueueEmails queues messages, due now, in one transaction; each is
// retried until retryFor has passed. A message whose DedupeKey was queued
// before is skipped. It returns how many it queued.
func (s *Store) EnqueueEmails(ctx context.Context, msgs []EmailMessage, retryFor time.Duration) (int, error) {
	var n int
	err := s.inWrite(ctx, func(tx *txn) error {
		now := s.Now()
		for _, m := range msgs {
			res, err := tx.ExecContext(ctx, `
				INSERT INTO email_messages (kind, dedupe_key, message_id, to_addr, subject, body,
					status, created_at, next_attempt_at, give_up_at)
				VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)
				ON CONFLICT (dedupe_key) DO NOTHING`,
				m.Kind, m.DedupeKey, m.MessageID, m.To, m.Subject, m.Body,
				millis(now), millis(now), millis(now.Add(retryFor)))
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += int(k)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: enqueue %d emails: %w", len(msgs), err)
	}
	return n, nil
}

// ClaimDueEmails claims up to limit pending messages whose next attempt
// is due, the longest waiting first, for the caller to send: each is due
// again only at the end of the claim, now plus lease, so that no other
// worker, in this process or in another instance sharing the database,
// sends it meanwhile. The caller records what came of each
// (RecordEmailAttempt); a claim whose worker died lapses, and the message
// is tried again. lease must outlast the attempts of the whole batch. On
// PostgreSQL, instances claiming at the same moment skip each other's
// rows (FOR UPDATE SKIP LOCKED), as with webhook deliveries.
func (s *Store) ClaimDueEmails(ctx context.Context, limit int, lease time.Duration) ([]EmailMessage, error) {
	var list []EmailMessage
	err := s.inQueue(ctx, func(tx *txn) error {
		now := s.Now()
		var err error
		list, err = queryRows(ctx, tx, scanEmail, `
			SELECT `+emailColumns+` FROM email_messages m
			WHERE status = 'pending' AND next_attempt_at <= ?
			ORDER BY next_attempt_at, id
			LIMIT ?`+tx.d.skipLocked("m"), millis(now), limit)
		if err != nil || len(list) == 0 {
			return err
		}
		args := []any{millis(now.Add(lease))}
		for _, m := range list {
			args = append(args, m.ID)
		}
		_, err = tx.ExecContext(ctx, `
			UPDATE email_messages SET next_attempt_at = ?
			WHERE id IN (?`+strings.Repeat(", ?", len(list)-1)+`)`, args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim due emails: %w", err)
	}
	return list, nil
}

// EmailAttempt is the outcome of one attempt to send a message.
type EmailAttempt struct {
	MessageID int64 // EmailMessage.ID.
	At        time.Time
	Sent      bool
	Error     string // What went wrong; cut to 1,000 bytes.
	// NextAttemptAt is when to try again after a failure; nil gives the
	// message up.
	NextAttemptAt *time.Time
}

// RecordEmailAttempt records an attempt on a pending message: sent,
// failed for good, or due again at NextAttemptAt. Returns ErrNotFound if
// the message is not pending.
func (s *Store) RecordEmailAttempt(ctx context.Context, a EmailAttempt) error {
	status, finished := EmailPending, sql.NullInt64{}
	var next sql.NullInt64
	switch {
	case a.Sent:
		status, finished = EmailSent, sql.NullInt64{Int64: millis(a.At), Valid: true}
	case a.NextAttemptAt == nil:
		status, finished = EmailFailed, sql.NullInt64{Int64: millis(a.At), Valid: true}
	default:
		next = sql.NullInt64{Int64: millis(*a.NextAttemptAt), Valid: true}
	}
	errText := a.Error
	if len(errText) > 1000 {
		errText = errText[:1000]
	}
	err := s.inWrite(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE email_messages
			SET status = ?, attempts = attempts + 1, next_attempt_at = ?, last_attempt_at = ?,
				last_error = ?, finished_at = ?
			WHERE id = ? AND status = 'pending'`,
			status, next, millis(a.At), errText, finished, a.MessageID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: record attempt on email %d: %w", a.MessageID, err)
	}
	return nil
}

// ListEmails returns the most recent messages, newest first.
func (s *Store) ListEmails(ctx context.Context, limit int) ([]EmailMessage, error) {
	var list []EmailMessage
	err := s.inRead(ctx, func(tx *txn) error {
		var err error
		list, err = queryRows(ctx, tx, scanEmail, `
			SELECT `+emailColumns+` FROM email_messages
			ORDER BY created_at DESC, id DESC
			LIMIT ?`, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: list emails: %w", err)
	}
	return list, nil
}

// PruneEmails deletes sent and failed messages that finished before
// before, and returns how many it deleted.
func (s *Store) PruneEmails(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.inWrite(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `
			DELETE FROM email_messages WHERE status <> 'pending' AND finished_at < ?`, millis(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: prune emails: %w", err)
	}
	return n, nil
}

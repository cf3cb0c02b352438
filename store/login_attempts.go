package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// LoginLimits bound the dashboard sign-in attempts that
// ReserveLoginAttempt lets through.
type LoginLimits struct {
	// Window is how long an attempt counts against the limits.
	Window time.Duration
	// PerAccount and PerAddress are the most attempts, failed or still
	// pending, that one account and one client address may have in
	// Window. Both must be at least 1.
	PerAccount, PerAddress int
}

// ReserveLoginAttempt records a pending sign-in attempt on account from
// address, and returns its ID, if both have fewer attempts (failed or
// still pending) than their limits in the window. The caller then checks
// the password, and marks the attempt failed (FailLoginAttempt) or clears
// the account's attempts (ClearLoginAttempts).
//
// If the account or the address is at its limit, it records nothing and
// returns an ID of 0 and how long until an attempt is let through again:
// the time until enough of the counted attempts leave the window.
//
// The count and the insert are one write transaction, so that however many
// attempts arrive at once, from however many servers sharing the
// database, no more than the limits are let through: SQLite runs one
// write transaction at a time, and PostgreSQL runs it serializably.
//
// A pending attempt counts until it leaves the window, like a failed one:
// one left by a crash locks nobody out for longer than that.
func (s *Store) ReserveLoginAttempt(ctx context.Context, account, address string, lim LoginLimits) (int64, time.Duration, error) {
	if lim.PerAccount < 1 || lim.PerAddress < 1 || lim.Window <= 0 {
		return 0, 0, fmt.Errorf("store: reserve sign-in attempt: limits %+v are not all positive", lim)
	}
	var (
		id   int64
		wait time.Duration
	)
	err := s.inWrite(ctx, func(tx *txn) error {
		id, wait = 0, 0
		now := s.Now()
		since := millis(now.Add(-lim.Window))
		for _, k := range []struct {
			query string
			key   string
			limit int
		}{
			{`SELECT attempted_at FROM login_attempts WHERE account = ? AND attempted_at > ?
				ORDER BY attempted_at DESC LIMIT 1 OFFSET ?`, account, lim.PerAccount},
			{`SELECT attempted_at FROM login_attempts WHERE address = ? AND attempted_at > ?
				ORDER BY attempted_at DESC LIMIT 1 OFFSET ?`, address, lim.PerAddress},
		} {
			// The limit-th most recent attempt in the window, if there is
			// one, keeps the key at its limit until it leaves the window.
			var at int64
			err := tx.QueryRowContext(ctx, k.query, k.key, since, k.limit-1).Scan(&at)
			switch {
			case errors.Is(err, sql.ErrNoRows):
			case err != nil:
				return err
			default:
				wait = max(wait, fromMillis(at).Add(lim.Window).Sub(now))
			}
		}
		if wait > 0 {
			return nil
		}
		return tx.QueryRowContext(ctx, `
			INSERT INTO login_attempts (account, address, attempted_at, state)
			VALUES (?, ?, ?, 'pending')
			RETURNING id`, account, address, millis(now)).Scan(&id)
	})
	if err != nil {
		return 0, 0, fmt.Errorf("store: reserve sign-in attempt: %w", err)
	}
	return id, wait, nil
}

// FailLoginAttempt marks a reserved attempt failed. It changes nothing
// for the limits, which count a pending attempt as a failed one, so that
// a failure to record it is no reason to let more attempts through; it
// tells a person reading the table a failure from an attempt in progress
// (or one cut off by a crash). A deleted attempt is not an error.
func (s *Store) FailLoginAttempt(ctx context.Context, id int64) error {
	err := s.inWrite(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `UPDATE login_attempts SET state = 'failed' WHERE id = ?`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: fail sign-in attempt %d: %w", id, err)
	}
	return nil
}

// ClearLoginAttempts deletes every attempt on account, its owner having
// signed in: the attempts no longer count against the account, nor against
// the addresses they came from.
func (s *Store) ClearLoginAttempts(ctx context.Context, account string) error {
	err := s.inWrite(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM login_attempts WHERE account = ?`, account)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: clear sign-in attempts: %w", err)
	}
	return nil
}

// DeleteExpiredLoginAttempts deletes the attempts that no longer count, at
// least window old, and returns how many it deleted.
func (s *Store) DeleteExpiredLoginAttempts(ctx context.Context, window time.Duration) (int64, error) {
	var n int64
	err := s.inWrite(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM login_attempts WHERE attempted_at <= ?`, millis(s.Now().Add(-window)))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: delete expired sign-in attempts: %w", err)
	}
	return n, nil
}

package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

// PrefixAdmin is the prefix of admin IDs.
const PrefixAdmin = "ad"

// Admin is an account that signs in to the dashboard.
type Admin struct {
	ID                string
	Email             string
	PasswordHash      string
	CreatedAt         time.Time
	PasswordChangedAt time.Time
	// NotifyUploads is set when the admin asked to be emailed about
	// uploads through links that complete or fail.
	NotifyUploads bool
}

// adminColumns are the columns scanAdmin reads.
const adminColumns = `id, email, password_hash, created_at, password_changed_at, notify_uploads`

func scanAdmin(r rowScanner) (Admin, error) {
	var (
		a                Admin
		created, changed int64
	)
	if err := r.Scan(&a.ID, &a.Email, &a.PasswordHash, &created, &changed, &a.NotifyUploads); err != nil {
		return Admin{}, err
	}
	a.CreatedAt, a.PasswordChangedAt = fromMillis(created), fromMillis(changed)
	return a, nil
}

// CreateAdmin creates an account. passwordHash is already hashed. Returns
// ErrConflict if an account with the email (compared case-insensitively)
// exists.
func (s *Store) CreateAdmin(ctx context.Context, email, passwordHash string) (Admin, error) {
	now := s.Now()
	a := Admin{ID: NewID(PrefixAdmin), Email: strings.TrimSpace(email), PasswordHash: passwordHash, CreatedAt: now, PasswordChangedAt: now}
	err := s.inWrite(ctx, func(tx *txn) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM admins WHERE `+adminEmailIs(tx.d), a.Email).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrConflict
		}
		_, err := tx.ExecContext(ctx, `
			INSERT INTO admins (id, email, password_hash, created_at, password_changed_at)
			VALUES (?, ?, ?, ?, ?)`, a.ID, a.Email, a.PasswordHash, millis(now), millis(now))
		return err
	})
	if err != nil {
		return Admin{}, fmt.Errorf("store: create admin %s: %w", email, err)
	}
	return a, nil
}

// adminEmailIs is the condition that an admin's email is the one bound to
// its parameter, ignoring the case of ASCII letters, as the unique index
// on admins.email compares them.
func adminEmailIs(d dialect) string {
	return d.fold("email") + " = " + d.fold("?")
}

// CountAdmins returns the number of admin accounts.
func (s *Store) CountAdmins(ctx context.Context) (int, error) {
	var n int
	err := s.inRead(ctx, func(tx *txn) error {
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM admins`).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("store: count admins: %w", err)
	}
	return n, nil
}

// FindAdminByEmail returns the account with the email, compared
// case-insensitively. Returns ErrNotFound if there is none.
func (s *Store) FindAdminByEmail(ctx context.Context, email string) (Admin, error) {
	var a Admin
	err := s.inRead(ctx, func(tx *txn) error {
		var err error
		a, err = scanAdmin(tx.QueryRowContext(ctx, `SELECT `+adminColumns+` FROM admins WHERE `+adminEmailIs(tx.d), strings.TrimSpace(email)))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		return err
	})
	if err != nil {
		return Admin{}, fmt.Errorf("store: find admin %s: %w", email, err)
	}
	return a, nil
}

// FindAdmin returns the account with the ID. Returns ErrNotFound if there
// is none.
func (s *Store) FindAdmin(ctx context.Context, id string) (Admin, error) {
	var a Admin
	err := s.inRead(ctx, func(tx *txn) error {
		var err error
		a, err = scanAdmin(tx.QueryRowContext(ctx, `SELECT `+adminColumns+` FROM admins WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		return err
	})
	if err != nil {
		return Admin{}, fmt.Errorf("store: find admin %s: %w", id, err)
	}
	return a, nil
}

// ListAdmins returns every account, oldest first.
func (s *Store) ListAdmins(ctx context.Context) ([]Admin, error) {
	var list []Admin
	err := s.inRead(ctx, func(tx *txn) error {
		var err error
		list, err = queryRows(ctx, tx, scanAdmin, `SELECT `+adminColumns+` FROM admins ORDER BY created_at, id`)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: list admins: %w", err)
	}
	return list, nil
}

// ListNotifiedAdmins returns the accounts that asked to be emailed about
// uploads, oldest first.
func (s *Store) ListNotifiedAdmins(ctx context.Context) ([]Admin, error) {
	var list []Admin
	err := s.inRead(ctx, func(tx *txn) error {
		var err error
		list, err = queryRows(ctx, tx, scanAdmin, `
			SELECT `+adminColumns+` FROM admins
			WHERE notify_uploads = TRUE
			ORDER BY created_at, id`)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: list notified admins: %w", err)
	}
	return list, nil
}

// SetAdminNotify turns an account's upload emails on or off. Returns
// ErrNotFound if there is no such account.
func (s *Store) SetAdminNotify(ctx context.Context, id string, on bool) error {
	err := s.inWrite(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE admins SET notify_uploads = ? WHERE id = ?`, on, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: set notifications of admin %s: %w", id, err)
	}
	return nil
}

// ErrLastAdmin is returned when removing an account would leave the
// dashboard without any.
var ErrLastAdmin = errors.New("the last admin cannot be removed")

// RemoveAdmin deletes an account and, with it, every one of its sessions:
// a removed admin is signed out at once, on every device. Returns
// ErrNotFound if there is no such account, and ErrLastAdmin if it is the
// only one.
//
// The check and the delete are one statement in one write transaction:
// SQLite runs write transactions one at a time (BEGIN IMMEDIATE), so two
// admins removing each other at once cannot both succeed. The count is
// taken inside the DELETE so that the rule holds on a database with
// concurrent writers as long as the transaction is serializable.
func (s *Store) RemoveAdmin(ctx context.Context, id string) error {
	err := s.inWrite(ctx, func(tx *txn) error {
		var n int
		err := tx.QueryRowContext(ctx, `SELECT count(*) FROM admins WHERE id = ?`, id).Scan(&n)
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		res, err := tx.ExecContext(ctx, `
			DELETE FROM admins
			WHERE id = ? AND (SELECT count(*) FROM admins) > 1`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrLastAdmin
		}
		// The sessions go with the account (ON DELETE CASCADE); this
		// says so where it matters, whatever the foreign-key setting.
		_, err = tx.ExecContext(ctx, `DELETE FROM admin_sessions WHERE admin_id = ?`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: remove admin %s: %w", id, err)
	}
	return nil
}

// SetAdminPasswordKeeping replaces an account's password hash and ends all
// of its sessions but the one whose ID hash is keep: changing one's own
// password from the dashboard signs out everywhere else.
func (s *Store) SetAdminPasswordKeeping(ctx context.Context, id, passwordHash string, keep []byte) error {
	err := s.inWrite(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE admins SET password_hash = ?, password_changed_at = ? WHERE id = ?`,
			passwordHash, millis(s.Now()), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM admin_sessions WHERE admin_id = ? AND hash <> ?`, id, keep)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: set password of admin %s: %w", id, err)
	}
	return nil
}

// SetAdminPassword replaces an account's password hash and ends all of its
// sessions. Returns ErrNotFound if there is no such account.
func (s *Store) SetAdminPassword(ctx context.Context, id, passwordHash string) error {
	err := s.inWrite(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE admins SET password_hash = ?, password_changed_at = ? WHERE id = ?`,
			passwordHash, millis(s.Now()), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM admin_sessions WHERE admin_id = ?`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: set password of admin %s: %w", id, err)
	}
	return nil
}

// AdminSession is a signed-in dashboard session.
type AdminSession struct {
	AdminID    string
	Email      string
	CSRFToken  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // The absolute end, whatever the activity.
}

// CreateAdminSession records a new session under the hash of its ID.
func (s *Store) CreateAdminSession(ctx context.Context, idHash []byte, adminID, csrf string, absolute time.Duration) (AdminSession, error) {
	now := s.Now()
	sess := AdminSession{AdminID: adminID, CSRFToken: csrf, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(absolute)}
	err := s.inWrite(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO admin_sessions (hash, admin_id, csrf_token, created_at, last_seen_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)`, idHash, adminID, csrf, millis(now), millis(now), millis(sess.ExpiresAt))
		return err
	})
	if err != nil {
		return AdminSession{}, fmt.Errorf("store: create admin session: %w", err)
	}
	return sess, nil
}

// FindAdminSession returns the live session with the ID hash: not past its
// absolute end, and seen within idle. Returns ErrNotFound otherwise.
func (s *Store) FindAdminSession(ctx context.Context, idHash []byte, idle time.Duration) (AdminSession, error) {
	var sess AdminSession
	err := s.inRead(ctx, func(tx *txn) error {
		now := s.Now()
		var created, seen, expires int64
		err := tx.QueryRowContext(ctx, `
			SELECT s.admin_id, a.email, s.csrf_token, s.created_at, s.last_seen_at, s.expires_at
			FROM admin_sessions s JOIN admins a ON a.id = s.admin_id
			WHERE s.hash = ? AND s.expires_at > ? AND s.last_seen_at > ?`,
			idHash, millis(now), millis(now.Add(-idle))).
			Scan(&sess.AdminID, &sess.Email, &sess.CSRFToken, &created, &seen, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		sess.CreatedAt, sess.LastSeenAt, sess.ExpiresAt = fromMillis(created), fromMillis(seen), fromMillis(expires)
		return err
	})
	if err != nil {
		return AdminSession{}, fmt.Errorf("store: find admin session: %w", err)
	}
	return sess, nil
}

// TouchAdminSession records activity on a session, which keeps it from
// idling out.
func (s *Store) TouchAdminSession(ctx context.Context, idHash []byte) error {
	err := s.inWrite(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `UPDATE admin_sessions SET last_seen_at = ? WHERE hash = ?`, millis(s.Now()), idHash)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: touch admin session: %w", err)
	}
	return nil
}

// DeleteAdminSession ends a session.
func (s *Store) DeleteAdminSession(ctx context.Context, idHash []byte) error {
	err := s.inWrite(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM admin_sessions WHERE hash = ?`, idHash)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete admin session: %w", err)
	}
	return nil
}

// DeleteStaleAdminSessions removes sessions past their absolute end or
// idle for longer than idle, and returns how many it removed.
func (s *Store) DeleteStaleAdminSessions(ctx context.Context, idle time.Duration) (int64, error) {
	var n int64
	err := s.inWrite(ctx, func(tx *txn) error {
		now := s.Now()
		res, err := tx.ExecContext(ctx, `DELETE FROM admin_sessions WHERE expires_at <= ? OR last_seen_at <= ?`,
			millis(now), millis(now.Add(-idle)))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: delete stale admin sessions: %w", err)
	}
	return n, nil
}

// SessionKeys returns the keys that sign and encrypt session cookies,
// generating and keeping them in the database on first use, so that they
// survive restarts and stay in the data directory.
func (s *Store) SessionKeys(ctx context.Context) (hashKey, blockKey []byte, err error) {
	gen := func() string {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		return base64.StdEncoding.EncodeToString(b)
	}
	var h, b string
	err = s.inWrite(ctx, func(tx *txn) error {
		for _, k := range []struct {
			key string
			dst *string
		}{{"session_hash_key", &h}, {"session_block_key", &b}} {
			if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, k.key, gen()); err != nil {
				return err
			}
			if err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, k.key).Scan(k.dst); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: session keys: %w", err)
	}
	if hashKey, err = base64.StdEncoding.DecodeString(h); err != nil {
		return nil, nil, fmt.Errorf("store: session hash key: %w", err)
	}
	if blockKey, err = base64.StdEncoding.DecodeString(b); err != nil {
		return nil, nil, fmt.Errorf("store: session block key: %w", err)
	}
	return hashKey, blockKey, nil
}

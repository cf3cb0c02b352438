package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// UploadToken is a delegated upload token.
type UploadToken struct {
	ID        string
	TTL       int // Seconds; 0 means the token never expires.
	CreatedAt time.Time
	ExpiresAt *time.Time // Nil when TTL is 0.
	DeletedAt *time.Time
	// GuessSizes says whether POST /upload may guess a file part's length
	// from its request's framing; it turns false for good once a guess
	// was wrong (see StopSizeGuesses).
	GuessSizes bool
}

// Expired reports whether the token's TTL has run out at now.
func (t UploadToken) Expired(now time.Time) bool {
	return t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)
}

// Deleted reports whether the token was deleted.
func (t UploadToken) Deleted() bool { return t.DeletedAt != nil }

// MaxTokenTTL is the largest TTL api.video accepts, in seconds.
const MaxTokenTTL = 2147483647

// CreateUploadToken creates a token that lives ttl seconds (0: forever).
func (s *Store) CreateUploadToken(ctx context.Context, ttl int) (UploadToken, error) {
	if ttl < 0 || ttl > MaxTokenTTL {
		return UploadToken{}, fmt.Errorf("store: ttl %d out of range", ttl)
	}
	now := s.Now()
	t := UploadToken{ID: NewID(PrefixUploadToken), TTL: ttl, CreatedAt: now, GuessSizes: true}
	var expires sql.NullInt64
	if ttl > 0 {
		e := now.Add(time.Duration(ttl) * time.Second)
		t.ExpiresAt = &e
		expires = sql.NullInt64{Int64: millis(e), Valid: true}
	}
	err := s.inWrite(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO upload_tokens (id, ttl, created_at, expires_at)
			VALUES (?, ?, ?, ?)`,
			t.ID, t.TTL, millis(now), expires)
		return err
	})
	if err != nil {
		return UploadToken{}, fmt.Errorf("store: create upload token: %w", err)
	}
	return t, nil
}

// FindUploadToken returns the token with the given ID, including deleted
// and expired ones; callers decide what those states mean for them.
// Returns ErrNotFound if no such token was ever created.
func (s *Store) FindUploadToken(ctx context.Context, id string) (UploadToken, error) {
	var t UploadToken
	err := s.inRead(ctx, func(tx *txn) error {
		var err error
		t, err = findUploadToken(ctx, tx, id)
		return err
	})
	return t, err
}

func findUploadToken(ctx context.Context, tx *txn, id string) (UploadToken, error) {
	row := tx.QueryRowContext(ctx, `
		SELECT id, ttl, created_at, expires_at, deleted_at, size_guesses
		FROM upload_tokens
		WHERE id = ?`, id)
	t, err := scanUploadToken(row)
	if errors.Is(err, sql.ErrNoRows) {
		return UploadToken{}, fmt.Errorf("store: upload token: %w", ErrNotFound)
	}
	if err != nil {
		return UploadToken{}, fmt.Errorf("store: find upload token: %w", err)
	}
	return t, nil
}

func scanUploadToken(r rowScanner) (UploadToken, error) {
	var (
		t                  UploadToken
		created            int64
		expires, deletedAt sql.NullInt64
	)
	if err := r.Scan(&t.ID, &t.TTL, &created, &expires, &deletedAt, &t.GuessSizes); err != nil {
		return UploadToken{}, err
	}
	t.CreatedAt = fromMillis(created)
	t.ExpiresAt = nullMillis(expires)
	t.DeletedAt = nullMillis(deletedAt)
	return t, nil
}

// TokenSort names an order for ListUploadTokens.
type TokenSort string

// The orders api.video documents for GET /upload-tokens.
const (
	TokenSortCreatedAt TokenSort = "createdAt"
	// TokenSortTTL orders by how much longer a token stays active; tokens
	// that never expire come last in ascending order.
	TokenSortTTL TokenSort = "ttl"
)

// Page selects one page of a list. Page numbers start at 1.
type Page struct {
	Number int
	Size   int
}

func (p Page) offset() int { return (p.Number - 1) * p.Size }

// TokenFilter selects and orders upload tokens.
type TokenFilter struct {
	Sort TokenSort
	Desc bool
	Page Page
}

// tokenOrders maps each supported order to its ORDER BY clause. Each one
// matches an index in 0001_init.sql, and ends in the primary key so that
// pages are stable when timestamps tie.
var tokenOrders = map[tokenOrderKey]string{
	{TokenSortCreatedAt, false}: "created_at, id",
	{TokenSortCreatedAt, true}:  "created_at DESC, id DESC",
	{TokenSortTTL, false}:       "coalesce(expires_at, 9223372036854775807), created_at, id",
	{TokenSortTTL, true}:        "coalesce(expires_at, 9223372036854775807) DESC, created_at DESC, id DESC",
}

type tokenOrderKey struct {
	sort TokenSort
	desc bool
}

// ListUploadTokens returns one page of the tokens that are active now (not
// deleted, not expired), and how many active tokens there are in all.
func (s *Store) ListUploadTokens(ctx context.Context, f TokenFilter) ([]UploadToken, int, error) {
	order := tokenOrders[tokenOrderKey{f.Sort, f.Desc}]
	if order == "" {
		return nil, 0, fmt.Errorf("store: unknown token sort %q", f.Sort)
	}
	now := millis(s.Now())
	var (
		tokens []UploadToken
		total  int
	)
	err := s.inRead(ctx, func(tx *txn) error {
		if err := tx.QueryRowContext(ctx, `
			SELECT count(*) FROM upload_tokens
			WHERE deleted_at IS NULL
			  AND coalesce(expires_at, 9223372036854775807) > ?`, now).Scan(&total); err != nil {
			return err
		}
		var err error
		tokens, err = queryRows(ctx, tx, scanUploadToken, `
			SELECT id, ttl, created_at, expires_at, deleted_at, size_guesses
			FROM upload_tokens
			WHERE deleted_at IS NULL
			  AND coalesce(expires_at, 9223372036854775807) > ?
			ORDER BY `+order+`
			LIMIT ? OFFSET ?`, now, f.Page.Size, f.Page.offset())
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("store: list upload tokens: %w", err)
	}
	return tokens, total, nil
}

// StopSizeGuesses records that a guess of a file part's length was wrong
// for the token, so that its requests are no longer guessed. It is not an
// error if the token does not exist.
func (s *Store) StopSizeGuesses(ctx context.Context, id string) error {
	err := s.inWrite(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `
			UPDATE upload_tokens SET size_guesses = 0
			WHERE id = ? AND size_guesses = 1`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: stop size guesses: %w", err)
	}
	return nil
}

// DeleteUploadToken marks the token deleted. Uploads it started stop
// accepting parts. Returns ErrNotFound if the token does not exist or was
// already deleted.
func (s *Store) DeleteUploadToken(ctx context.Context, id string) error {
	err := s.inWrite(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE upload_tokens SET deleted_at = ?
			WHERE id = ? AND deleted_at IS NULL`, millis(s.Now()), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: delete upload token: %w", err)
	}
	return nil
}

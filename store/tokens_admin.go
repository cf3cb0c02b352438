package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// TokenRow is an upload token as the dashboard lists it: the token, the
// link it backs if any, and how many uploads it started.
type TokenRow struct {
	Token UploadToken
	// LinkID and LinkLabel name the link backed by the token (links.token),
	// or are empty for a token created through the API. Each link gets a
	// token of its own; should a token back several, the oldest is named.
	LinkID    string
	LinkLabel string
	// Uploads counts the uploads the token started, finished or not.
	Uploads int
}

// TokenRowFilter selects upload tokens for the dashboard, newest first.
// Unlike ListUploadTokens, deleted and expired tokens are included.
type TokenRowFilter struct {
	Page Page
}

// FindTokenRows returns one page of every upload token ever created,
// newest first, and how many there are in all.
func (s *Store) FindTokenRows(ctx context.Context, f TokenRowFilter) ([]TokenRow, int, error) {
	var (
		rows  []TokenRow
		total int
	)
	err := s.inRead(ctx, func(tx *txn) error {
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM upload_tokens`).Scan(&total); err != nil {
			return err
		}
		var err error
		rows, err = queryRows(ctx, tx, scanTokenRow, `
			SELECT t.id, t.ttl, t.created_at, t.expires_at, t.deleted_at, t.size_guesses,
				coalesce(l.id, ''), coalesce(l.label, ''),
				(SELECT count(*) FROM uploads u WHERE u.token_id = t.id)
			FROM upload_tokens t
			LEFT JOIN links l ON l.id = (
				SELECT id FROM links WHERE token = t.id ORDER BY created_at, id LIMIT 1)
			ORDER BY t.created_at DESC, t.id DESC
			LIMIT ? OFFSET ?`, f.Page.Size, f.Page.offset())
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("store: find token rows: %w", err)
	}
	return rows, total, nil
}

// scanTokenRow reads a token's columns, then the row's own.
func scanTokenRow(rs rowScanner) (TokenRow, error) {
	var r TokenRow
	t, err := scanUploadToken(extraColumns{rs, []any{&r.LinkID, &r.LinkLabel, &r.Uploads}})
	r.Token = t
	return r, err
}

// FindTokenLink returns the ID of the link an upload token backs, or ""
// for a token made through the API or the dashboard. Returns ErrNotFound
// if no such token was ever created.
func (s *Store) FindTokenLink(ctx context.Context, tokenID string) (string, error) {
	var linkID string
	err := s.inRead(ctx, func(tx *txn) error {
		return tx.QueryRowContext(ctx, `
			SELECT coalesce((SELECT l.id FROM links l WHERE l.token = t.id LIMIT 1), '')
			FROM upload_tokens t
			WHERE t.id = ?`, tokenID).Scan(&linkID)
	})
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("store: find the link of token %s: %w", tokenID, err)
	}
	return linkID, nil
}

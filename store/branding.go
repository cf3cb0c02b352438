package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Branding is the install's look on the pages recipients see: an accent
// colour and a logo, each optional. The caller validates both.
type Branding struct {
	// Accent is a colour such as "#0a7cff", or "" for uplink's own.
	Accent string
	// LogoType is the logo's media type (image/png, image/jpeg or
	// image/webp), or "" when there is no logo.
	LogoType   string
	LogoWidth  int
	LogoHeight int
	// UpdatedAt changes with every change, so that URLs built from it
	// can be cached for good.
	UpdatedAt time.Time
}

// HasLogo reports whether a logo is set.
func (b Branding) HasLogo() bool { return b.LogoType != "" }

// Branding returns the install's branding; the zero Branding when none
// was ever set. It does not read the logo's bytes (BrandLogo does).
func (s *Store) Branding(ctx context.Context) (Branding, error) {
	var b Branding
	err := s.inRead(ctx, func(tx *txn) error {
		var updated int64
		err := tx.QueryRowContext(ctx, `
			SELECT accent, logo_type, logo_width, logo_height, updated_at
			FROM branding WHERE id = 1`).Scan(&b.Accent, &b.LogoType, &b.LogoWidth, &b.LogoHeight, &updated)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		b.UpdatedAt = fromMillis(updated)
		return err
	})
	if err != nil {
		return Branding{}, fmt.Errorf("store: read branding: %w", err)
	}
	return b, nil
}

// BrandLogo returns the logo's bytes and media type. Returns ErrNotFound
// when there is no logo.
func (s *Store) BrandLogo(ctx context.Context) ([]byte, string, error) {
	var (
		logo []byte
		typ  string
	)
	err := s.inRead(ctx, func(tx *txn) error {
		err := tx.QueryRowContext(ctx, `SELECT logo, logo_type FROM branding WHERE id = 1 AND logo IS NOT NULL`).Scan(&logo, &typ)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("store: read the logo: %w", err)
	}
	return logo, typ, nil
}

// SetBrandAccent sets the accent colour ("" for uplink's own).
func (s *Store) SetBrandAccent(ctx context.Context, accent string) (Branding, error) {
	err := s.inWrite(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO branding (id, accent, updated_at) VALUES (1, ?, ?)
			ON CONFLICT (id) DO UPDATE SET accent = excluded.accent, updated_at = excluded.updated_at`,
			accent, millis(s.Now()))
		return err
	})
	if err != nil {
		return Branding{}, fmt.Errorf("store: set the accent colour: %w", err)
	}
	return s.Branding(ctx)
}

// SetBrandLogo replaces the logo with data, of the media type typ and
// the given size in pixels; nil data removes it.
func (s *Store) SetBrandLogo(ctx context.Context, data []byte, typ string, width, height int) (Branding, error) {
	var logo any // NULL, not an empty blob, when there is none.
	if data == nil {
		typ, width, height = "", 0, 0
	} else {
		logo = data
	}
	err := s.inWrite(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO branding (id, logo, logo_type, logo_width, logo_height, updated_at) VALUES (1, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET logo = excluded.logo, logo_type = excluded.logo_type,
				logo_width = excluded.logo_width, logo_height = excluded.logo_height, updated_at = excluded.updated_at`,
			logo, typ, width, height, millis(s.Now()))
		return err
	})
	if err != nil {
		return Branding{}, fmt.Errorf("store: set the logo: %w", err)
	}
	return s.Branding(ctx)
}

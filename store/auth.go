package store

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// APIKey is a managed API key. The secret itself is never stored.
type APIKey struct {
	ID         string
	Name       string
	Hint       string // The first characters of the secret, to recognise it in lists.
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// apiKeySecretLen is the length of generated API key secrets (about 238 bits).
const apiKeySecretLen = 40

// CreateAPIKey creates a key and returns it with its secret, which is shown
// to the admin once and never again.
func (s *Store) CreateAPIKey(ctx context.Context, name string) (APIKey, string, error) {
	if name == "" || len(name) > 200 {
		return APIKey{}, "", fmt.Errorf("store: API key name must be 1 to 200 bytes")
	}
	secret := RandomString(apiKeySecretLen)
	k := APIKey{ID: NewID(PrefixAPIKey), Name: name, Hint: secret[:6], CreatedAt: s.Now()}
	err := s.inWrite(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO api_keys (id, name, hint, hash, created_at)
			VALUES (?, ?, ?, ?, ?)`,
			k.ID, k.Name, k.Hint, hashSecret(secret), millis(k.CreatedAt))
		return err
	})
	if err != nil {
		return APIKey{}, "", fmt.Errorf("store: create API key: %w", err)
	}
	return k, secret, nil
}

// ListAPIKeys returns every key, revoked ones included, oldest first.
func (s *Store) ListAPIKeys(ctx context.Context) ([]APIKey, error) {
	var keys []APIKey
	err := s.inRead(ctx, func(tx *txn) error {
		var err error
		keys, err = queryRows(ctx, tx, scanAPIKey, `
			SELECT id, name, hint, created_at, last_used_at, revoked_at
			FROM api_keys ORDER BY created_at, id`)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: list API keys: %w", err)
	}
	return keys, nil
}

func scanAPIKey(r rowScanner) (APIKey, error) {
	var (
		k          APIKey
		created    int64
		used, revd sql.NullInt64
	)
	err := r.Scan(&k.ID, &k.Name, &k.Hint, &created, &used, &revd)
	k.CreatedAt, k.LastUsedAt, k.RevokedAt = fromMillis(created), nullMillis(used), nullMillis(revd)
	return k, err
}

// RevokeAPIKey revokes a key; requests and access tokens that use it stop
// working at once. Returns ErrNotFound if there is no such active key.
func (s *Store) RevokeAPIKey(ctx context.Context, id string) error {
	err := s.inWrite(ctx, func(tx *txn) error {
		var hash []byte
		err := tx.QueryRowContext(ctx, `SELECT hash FROM api_keys WHERE id = ? AND revoked_at IS NULL`, id).Scan(&hash)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = ? WHERE id = ?`, millis(s.Now()), id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM auth_tokens WHERE key_hash = ?`, hash)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: revoke API key %s: %w", id, err)
	}
	return nil
}

// Credentials decides which API keys are valid. The store knows managed
// keys; an extra key may come from the environment.
type Credentials struct {
	// ExtraKeyHash is the SHA-256 of a key accepted besides the managed
	// ones (UPLINK_API_KEY), or nil.
	ExtraKeyHash []byte
}

// matchesExtra reports whether hash is the extra key's. The hashes are
// compared in constant time, like every secret, although a hash leaks
// nothing useful about its key.
func (c Credentials) matchesExtra(hash []byte) bool {
	return len(c.ExtraKeyHash) > 0 && subtle.ConstantTimeCompare(hash, c.ExtraKeyHash) == 1
}

// HashSecret returns the SHA-256 that the store keeps of a secret.
func HashSecret(secret string) []byte { return hashSecret(secret) }

// AuthenticateAPIKey reports whether secret is a valid API key (managed and
// not revoked, or the extra key) and records its use. Returns ErrNotFound
// for an unknown or revoked key.
func (s *Store) AuthenticateAPIKey(ctx context.Context, c Credentials, secret string) error {
	h := hashSecret(secret)
	if c.matchesExtra(h) {
		return nil
	}
	err := s.inWrite(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE api_keys SET last_used_at = ?
			WHERE hash = ? AND revoked_at IS NULL`, millis(s.Now()), h)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: authenticate API key: %w", err)
	}
	return nil
}

// Token lifetimes for POST /auth/api-key and /auth/refresh.
const (
	AccessTokenTTL  = time.Hour
	RefreshTokenTTL = 30 * 24 * time.Hour
)

// TokenPair is an access token and the refresh token that renews it.
type TokenPair struct {
	Access    string
	Refresh   string
	ExpiresIn time.Duration
}

const authTokenLen = 43

// IssueTokens exchanges a valid API key for a new token pair. Returns
// ErrNotFound if the key is not valid.
func (s *Store) IssueTokens(ctx context.Context, c Credentials, apiKey string) (TokenPair, error) {
	if err := s.AuthenticateAPIKey(ctx, c, apiKey); err != nil {
		return TokenPair{}, err
	}
	var p TokenPair
	err := s.inWrite(ctx, func(tx *txn) error {
		var err error
		p, err = s.insertTokenPair(ctx, tx, hashSecret(apiKey))
		return err
	})
	if err != nil {
		return TokenPair{}, fmt.Errorf("store: issue tokens: %w", err)
	}
	return p, nil
}

// RefreshTokens exchanges a refresh token, once, for a new token pair.
// Returns ErrNotFound if the refresh token is unknown, used, expired, or
// its API key is no longer valid.
func (s *Store) RefreshTokens(ctx context.Context, c Credentials, refresh string) (TokenPair, error) {
	var p TokenPair
	err := s.inWrite(ctx, func(tx *txn) error {
		keyHash, err := s.consumeToken(ctx, tx, c, "refresh", hashSecret(refresh))
		if err != nil {
			return err
		}
		p, err = s.insertTokenPair(ctx, tx, keyHash)
		return err
	})
	if err != nil {
		return TokenPair{}, fmt.Errorf("store: refresh tokens: %w", err)
	}
	return p, nil
}

// AuthenticateAccessToken reports whether token is a live access token
// whose API key is still valid. Returns ErrNotFound otherwise.
func (s *Store) AuthenticateAccessToken(ctx context.Context, c Credentials, token string) error {
	return s.inRead(ctx, func(tx *txn) error {
		_, err := s.lookupToken(ctx, tx, c, "access", hashSecret(token))
		return err
	})
}

// DeleteExpiredAuthTokens removes access and refresh tokens past their
// expiry, and returns how many it removed.
func (s *Store) DeleteExpiredAuthTokens(ctx context.Context) (int64, error) {
	var n int64
	err := s.inWrite(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM auth_tokens WHERE expires_at <= ?`, millis(s.Now()))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: delete expired auth tokens: %w", err)
	}
	return n, nil
}

func (s *Store) insertTokenPair(ctx context.Context, tx *txn, keyHash []byte) (TokenPair, error) {
	now := s.Now()
	p := TokenPair{Access: RandomString(authTokenLen), Refresh: RandomString(authTokenLen), ExpiresIn: AccessTokenTTL}
	for _, t := range []struct {
		secret, kind string
		ttl          time.Duration
	}{{p.Access, "access", AccessTokenTTL}, {p.Refresh, "refresh", RefreshTokenTTL}} {
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO auth_tokens (hash, kind, key_hash, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?)`,
			hashSecret(t.secret), t.kind, keyHash, millis(now), millis(now.Add(t.ttl))); err != nil {
			return TokenPair{}, err
		}
	}
	return p, nil
}

// lookupToken finds a live token of the given kind and returns the hash of
// the API key behind it, checking that the key is still valid.
func (s *Store) lookupToken(ctx context.Context, tx *txn, c Credentials, kind string, hash []byte) ([]byte, error) {
	var keyHash []byte
	var managed int
	err := tx.QueryRowContext(ctx, `
		SELECT t.key_hash, (SELECT count(*) FROM api_keys k WHERE k.hash = t.key_hash AND k.revoked_at IS NULL)
		FROM auth_tokens t
		WHERE t.hash = ? AND t.kind = ? AND t.expires_at > ?`,
		hash, kind, millis(s.Now())).Scan(&keyHash, &managed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if managed == 0 && !c.matchesExtra(keyHash) {
		return nil, ErrNotFound
	}
	return keyHash, nil
}

// consumeToken is lookupToken followed by deleting the token, so that it
// can be used once.
func (s *Store) consumeToken(ctx context.Context, tx *txn, c Credentials, kind string, hash []byte) ([]byte, error) {
	keyHash, err := s.lookupToken(ctx, tx, c, kind, hash)
	if err != nil {
		return nil, err
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM auth_tokens WHERE hash = ?`, hash)
	return keyHash, err
}

package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/storetest"
)

func TestCreateAndListAPIKeys(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock()
	st := storetest.OpenWithClock(t, clock)

	a, secretA, err := st.CreateAPIKey(ctx, "scripts")
	if err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	clock.Advance(time.Second)
	b, _, err := st.CreateAPIKey(ctx, "ci")
	if err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	if got, want := len(secretA), 40; got != want {
		t.Errorf("secret length = %d, want %d", got, want)
	}
	if !strings.HasPrefix(secretA, a.Hint) || len(a.Hint) == 0 || len(a.Hint) >= len(secretA)/2 {
		t.Errorf("hint %q is not a short prefix of the secret", a.Hint)
	}
	if !store.ValidID(store.PrefixAPIKey, a.ID) {
		t.Errorf("ID = %q, want an \"ak\" ID", a.ID)
	}

	keys, err := st.ListAPIKeys(ctx)
	if err != nil {
		t.Fatalf("ListAPIKeys: %v", err)
	}
	if got, want := len(keys), 2; got != want {
		t.Fatalf("keys = %d, want %d", got, want)
	}
	if got, want := keys[0].ID+","+keys[1].ID, a.ID+","+b.ID; got != want {
		t.Errorf("key order = %s, want oldest first %s", got, want)
	}
	if got, want := keys[0].Name, "scripts"; got != want {
		t.Errorf("name = %q, want %q", got, want)
	}
	for _, k := range keys {
		if strings.Contains(k.Hint+k.Name+k.ID, secretA) {
			t.Errorf("a listed key exposes the secret")
		}
	}
}

func TestCreateAPIKeyRefusesBadNames(t *testing.T) {
	st := storetest.Open(t)
	for _, name := range []string{"", strings.Repeat("n", 201)} {
		if _, _, err := st.CreateAPIKey(context.Background(), name); err == nil {
			t.Errorf("CreateAPIKey(%d-byte name) succeeded, want an error", len(name))
		}
	}
}

func TestAuthenticateAPIKey(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock()
	st := storetest.OpenWithClock(t, clock)
	k, secret, err := st.CreateAPIKey(ctx, "scripts")
	if err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	revoked, revokedSecret, err := st.CreateAPIKey(ctx, "old")
	if err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	if err := st.RevokeAPIKey(ctx, revoked.ID); err != nil {
		t.Fatalf("RevokeAPIKey: %v", err)
	}
	const extra = "the-key-from-the-environment"
	withExtra := store.Credentials{ExtraKeyHash: store.HashSecret(extra)}

	for _, tt := range []struct {
		description string
		creds       store.Credentials
		secret      string
		wantErr     bool
	}{
		{"a managed key", store.Credentials{}, secret, false},
		{"a managed key, with an extra key configured", withExtra, secret, false},
		{"the extra key", withExtra, extra, false},
		{"the extra key, no longer configured", store.Credentials{}, extra, true},
		{"a revoked key", withExtra, revokedSecret, true},
		{"an unknown key", withExtra, "nope", true},
		{"an empty key", withExtra, "", true},
		{"a managed key with a different case", store.Credentials{}, strings.ToUpper(secret), secret != strings.ToUpper(secret)},
	} {
		t.Run(tt.description, func(t *testing.T) {
			err := st.AuthenticateAPIKey(ctx, tt.creds, tt.secret)
			if got, want := err != nil, tt.wantErr; got != want {
				t.Fatalf("AuthenticateAPIKey error = %v, want error: %v", err, want)
			}
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Errorf("error = %v, want ErrNotFound", err)
			}
		})
	}

	// Using a key records when.
	clock.Advance(time.Hour)
	if err := st.AuthenticateAPIKey(ctx, store.Credentials{}, secret); err != nil {
		t.Fatalf("AuthenticateAPIKey: %v", err)
	}
	keys, err := st.ListAPIKeys(ctx)
	if err != nil {
		t.Fatalf("ListAPIKeys: %v", err)
	}
	for _, got := range keys {
		switch got.ID {
		case k.ID:
			if got, want := fmtTime(got.LastUsedAt), fmtTime(ptr(storetest.Epoch.Add(time.Hour))); got != want {
				t.Errorf("LastUsedAt = %s, want %s", got, want)
			}
		case revoked.ID:
			if got.RevokedAt == nil {
				t.Errorf("RevokedAt = nil for a revoked key")
			}
		}
	}
}

func TestRevokeAPIKeyTwice(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	k, _, err := st.CreateAPIKey(ctx, "k")
	if err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	if err := st.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatalf("RevokeAPIKey: %v", err)
	}
	for _, id := range []string{k.ID, "ak0000000000000000000000"} {
		if got, want := st.RevokeAPIKey(ctx, id), store.ErrNotFound; !errors.Is(got, want) {
			t.Errorf("RevokeAPIKey(%s) error = %v, want %v", id, got, want)
		}
	}
}

func TestIssueTokens(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	_, secret, err := st.CreateAPIKey(ctx, "k")
	if err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	p, err := st.IssueTokens(ctx, store.Credentials{}, secret)
	if err != nil {
		t.Fatalf("IssueTokens: %v", err)
	}
	if got, want := p.ExpiresIn, time.Hour; got != want {
		t.Errorf("ExpiresIn = %v, want %v", got, want)
	}
	if p.Access == "" || p.Refresh == "" || p.Access == p.Refresh {
		t.Errorf("tokens = %q, %q; want two different non-empty tokens", p.Access, p.Refresh)
	}
	if err := st.AuthenticateAccessToken(ctx, store.Credentials{}, p.Access); err != nil {
		t.Errorf("AuthenticateAccessToken(access): %v", err)
	}
	for _, tt := range []struct {
		description string
		token       string
	}{
		{"a refresh token is not an access token", p.Refresh},
		{"the API key is not an access token", secret},
		{"an unknown token", "nope"},
	} {
		if got, want := st.AuthenticateAccessToken(ctx, store.Credentials{}, tt.token), store.ErrNotFound; !errors.Is(got, want) {
			t.Errorf("%s: error = %v, want %v", tt.description, got, want)
		}
	}
	if _, err := st.IssueTokens(ctx, store.Credentials{}, "not-a-key"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("IssueTokens(unknown key) error = %v, want ErrNotFound", err)
	}
}

// A refresh token buys one new pair and is spent; the new refresh token
// works in turn.
func TestRefreshTokensIsSingleUse(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	_, secret, err := st.CreateAPIKey(ctx, "k")
	if err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	first, err := st.IssueTokens(ctx, store.Credentials{}, secret)
	if err != nil {
		t.Fatalf("IssueTokens: %v", err)
	}
	second, err := st.RefreshTokens(ctx, store.Credentials{}, first.Refresh)
	if err != nil {
		t.Fatalf("RefreshTokens: %v", err)
	}
	if err := st.AuthenticateAccessToken(ctx, store.Credentials{}, second.Access); err != nil {
		t.Errorf("AuthenticateAccessToken(refreshed access): %v", err)
	}
	if _, err := st.RefreshTokens(ctx, store.Credentials{}, first.Refresh); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RefreshTokens(spent refresh token) error = %v, want ErrNotFound", err)
	}
	if _, err := st.RefreshTokens(ctx, store.Credentials{}, first.Access); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RefreshTokens(access token) error = %v, want ErrNotFound", err)
	}
	if _, err := st.RefreshTokens(ctx, store.Credentials{}, second.Refresh); err != nil {
		t.Errorf("RefreshTokens(new refresh token): %v", err)
	}
}

func TestRevokingAKeyKillsItsTokens(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	k, secret, err := st.CreateAPIKey(ctx, "k")
	if err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	_, otherSecret, err := st.CreateAPIKey(ctx, "other")
	if err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	p, err := st.IssueTokens(ctx, store.Credentials{}, secret)
	if err != nil {
		t.Fatalf("IssueTokens: %v", err)
	}
	q, err := st.IssueTokens(ctx, store.Credentials{}, otherSecret)
	if err != nil {
		t.Fatalf("IssueTokens: %v", err)
	}
	if err := st.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatalf("RevokeAPIKey: %v", err)
	}
	if err := st.AuthenticateAccessToken(ctx, store.Credentials{}, p.Access); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("access token of a revoked key: error = %v, want ErrNotFound", err)
	}
	if _, err := st.RefreshTokens(ctx, store.Credentials{}, p.Refresh); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("refresh token of a revoked key: error = %v, want ErrNotFound", err)
	}
	if err := st.AuthenticateAccessToken(ctx, store.Credentials{}, q.Access); err != nil {
		t.Errorf("access token of another key: %v", err)
	}
}

// Tokens obtained with the extra key (UPLINK_API_KEY) live only as long as
// that key stays configured.
func TestExtraKeyTokensDieWithTheKey(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	const extra = "the-key-from-the-environment"
	creds := store.Credentials{ExtraKeyHash: store.HashSecret(extra)}
	p, err := st.IssueTokens(ctx, creds, extra)
	if err != nil {
		t.Fatalf("IssueTokens(extra key): %v", err)
	}
	if err := st.AuthenticateAccessToken(ctx, creds, p.Access); err != nil {
		t.Errorf("AuthenticateAccessToken with the key configured: %v", err)
	}
	changed := store.Credentials{ExtraKeyHash: store.HashSecret("another-key")}
	for _, tt := range []struct {
		description string
		creds       store.Credentials
	}{
		{"no extra key", store.Credentials{}},
		{"another extra key", changed},
	} {
		if err := st.AuthenticateAccessToken(ctx, tt.creds, p.Access); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: AuthenticateAccessToken error = %v, want ErrNotFound", tt.description, err)
		}
		if _, err := st.RefreshTokens(ctx, tt.creds, p.Refresh); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: RefreshTokens error = %v, want ErrNotFound", tt.description, err)
		}
	}
	// The refused refreshes did not spend the token.
	if _, err := st.RefreshTokens(ctx, creds, p.Refresh); err != nil {
		t.Errorf("RefreshTokens with the key configured again: %v", err)
	}
}

func TestAuthTokensExpireWithTheClock(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock()
	st := storetest.OpenWithClock(t, clock)
	_, secret, err := st.CreateAPIKey(ctx, "k")
	if err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	p, err := st.IssueTokens(ctx, store.Credentials{}, secret)
	if err != nil {
		t.Fatalf("IssueTokens: %v", err)
	}
	old, err := st.IssueTokens(ctx, store.Credentials{}, secret)
	if err != nil {
		t.Fatalf("IssueTokens: %v", err)
	}

	clock.Advance(store.AccessTokenTTL - time.Millisecond)
	if err := st.AuthenticateAccessToken(ctx, store.Credentials{}, p.Access); err != nil {
		t.Errorf("access token just before expiry: %v", err)
	}
	clock.Advance(time.Millisecond)
	if err := st.AuthenticateAccessToken(ctx, store.Credentials{}, p.Access); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("access token at expiry: error = %v, want ErrNotFound", err)
	}
	// The refresh token outlives the access token.
	if _, err := st.RefreshTokens(ctx, store.Credentials{}, p.Refresh); err != nil {
		t.Errorf("refresh after the access token expired: %v", err)
	}

	clock.Set(storetest.Epoch.Add(store.RefreshTokenTTL))
	if _, err := st.RefreshTokens(ctx, store.Credentials{}, old.Refresh); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("refresh at refresh expiry: error = %v, want ErrNotFound", err)
	}
	// Left: old's access and refresh and p's access token (all expired),
	// and the pair from the refresh above, whose access token expired.
	n, err := st.DeleteExpiredAuthTokens(ctx)
	if err != nil {
		t.Fatalf("DeleteExpiredAuthTokens: %v", err)
	}
	if got, want := n, int64(4); got != want {
		t.Errorf("deleted %d expired tokens, want %d", got, want)
	}
}

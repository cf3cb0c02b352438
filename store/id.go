package store

import (
	"crypto/rand"
	"crypto/sha256"
	"math/big"
	"strings"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Prefixes of the IDs uplink hands out. Upload tokens and videos follow
// api.video's visible format: a two-letter prefix and 22 base62 characters.
const (
	PrefixUploadToken = "to"
	PrefixVideo       = "vi"
	PrefixAPIKey      = "ak"
)

// RandomString returns n characters drawn uniformly from [0-9A-Za-z] with
// crypto/rand. 22 characters carry 130 bits.
func RandomString(n int) string {
	var b strings.Builder
	b.Grow(n)
	max := big.NewInt(int64(len(base62)))
	for range n {
		i, err := rand.Int(rand.Reader, max)
		if err != nil {
			// crypto/rand never fails on supported platforms; see its docs.
			panic("store: crypto/rand failed: " + err.Error())
		}
		b.WriteByte(base62[i.Int64()])
	}
	return b.String()
}

// NewID returns a new random ID with the given two-letter prefix.
func NewID(prefix string) string { return prefix + RandomString(22) }

// ValidID reports whether s has the shape of an ID with the given prefix:
// the prefix followed by 21 or 22 base62 characters (api.video's own IDs
// come in both lengths). It is checked before any lookup.
func ValidID(prefix, s string) bool {
	if !strings.HasPrefix(s, prefix) {
		return false
	}
	rest := s[len(prefix):]
	if len(rest) < 21 || len(rest) > 22 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if strings.IndexByte(base62, rest[i]) < 0 {
			return false
		}
	}
	return true
}

// hashSecret returns the SHA-256 of a secret. Secrets (API keys, access
// and refresh tokens) are random and long, so a fast hash is enough; only
// the hash is stored.
func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

package store_test

import (
	"strings"
	"testing"

	"github.com/uplink-video/uplink/store"
)

func TestValidID(t *testing.T) {
	for _, tt := range []struct {
		description string
		prefix, id  string
		want        bool
	}{
		{"a generated token ID", store.PrefixUploadToken, store.NewID(store.PrefixUploadToken), true},
		{"a generated video ID", store.PrefixVideo, store.NewID(store.PrefixVideo), true},
		{"api.video's 24-character form", store.PrefixUploadToken, "to1tcmSFHeYY5KzyhOqVKMKb", true},
		{"api.video's 23-character form", store.PrefixUploadToken, "toumQA9i1rFpEsGKl4k7Q9Y", true},
		{"the wrong prefix", store.PrefixVideo, "to1tcmSFHeYY5KzyhOqVKMKb", false},
		{"too short", store.PrefixVideo, "vi" + strings.Repeat("a", 20), false},
		{"too long", store.PrefixVideo, "vi" + strings.Repeat("a", 23), false},
		{"a character outside base62", store.PrefixVideo, "vi" + strings.Repeat("a", 21) + "-", false},
		{"a path", store.PrefixVideo, "vi/../../../../etc/passwd", false},
		{"empty", store.PrefixVideo, "", false},
	} {
		t.Run(tt.description, func(t *testing.T) {
			if got, want := store.ValidID(tt.prefix, tt.id), tt.want; got != want {
				t.Errorf("ValidID(%q, %q) = %v, want %v", tt.prefix, tt.id, got, want)
			}
		})
	}
}

func TestRandomStringIsBase62(t *testing.T) {
	s := store.RandomString(1000)
	if got, want := len(s), 1000; got != want {
		t.Fatalf("len = %d, want %d", got, want)
	}
	if i := strings.IndexFunc(s, func(r rune) bool {
		return !('0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z')
	}); i >= 0 {
		t.Errorf("character %q at %d is not base62", s[i], i)
	}
	if store.RandomString(22) == store.RandomString(22) {
		t.Errorf("two random strings are equal")
	}
}

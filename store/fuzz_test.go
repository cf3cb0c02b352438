package store_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/uplink-video/uplink/store"
)

// FuzzValidID checks store.ValidID, which every handler calls on an ID
// from a request before any lookup, against a regular expression of the
// same rule (the prefix, byte for byte, then 21 or 22 characters of [0-9A-Za-z]), for any
// prefix and any string. IDs that NewID makes are always valid. Its seeds
// are in testdata/fuzz/FuzzValidID.
//
// Run it with: go test -run='^$' -fuzz='^FuzzValidID$' ./store
func FuzzValidID(f *testing.F) {
	for _, s := range []struct{ prefix, id string }{
		{store.PrefixVideo, store.NewID(store.PrefixVideo)},
		{store.PrefixUploadToken, "to1234567890123456789012"},
		{store.PrefixUploadToken, "to123456789012345678901"},
		{store.PrefixUploadToken, "to12345678901234567890"},
		{store.PrefixAPIKey, "ak" + "ÀÀÀÀÀÀÀÀÀÀÀ"},
		{store.PrefixVideo, "vi../../../../etc/passwd"},
		{store.PrefixVideo, "vi' OR 1=1 --aaaaaaaaaaa"},
		{"", "1234567890123456789012"},
		{"to", "TO1234567890123456789012"},
	} {
		f.Add(s.prefix, s.id)
	}
	rest := regexp.MustCompile(`^[0-9A-Za-z]{21,22}$`)
	f.Fuzz(func(t *testing.T, prefix, id string) {
		want := strings.HasPrefix(id, prefix) && rest.MatchString(id[len(prefix):])
		if got := store.ValidID(prefix, id); got != want {
			t.Fatalf("ValidID(%q, %q)=%v, want=%v", prefix, id, got, want)
		}
		if len(prefix) <= 8 {
			if n := store.NewID(prefix); !store.ValidID(prefix, n) {
				t.Fatalf("NewID(%q)=%q is not valid", prefix, n)
			}
		}
	})
}

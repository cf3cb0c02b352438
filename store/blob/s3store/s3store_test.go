package s3store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/store/blob/blobtest"
	"github.com/uplink-video/uplink/store/blob/s3store"
	"github.com/uplink-video/uplink/store/blob/s3store/s3test"
)

// TestVersitygw runs the contract and the S3 cases on versitygw's posix
// backend, in both modes.
func TestVersitygw(t *testing.T) {
	srv := s3test.Versitygw(t)
	runAll(t, srv)
	runEqualParts(t, srv)
}

// TestSeaweedFS runs the contract and the S3 cases on SeaweedFS ("weed
// mini"), in both modes. Its part listing keeps a part written twice
// twice (see testResentPart).
func TestSeaweedFS(t *testing.T) {
	srv := s3test.SeaweedFS(t)
	runAll(t, srv)
	runEqualParts(t, srv)
}

// runAll runs the contract and the S3 cases on srv, in the plain mode.
func runAll(t *testing.T, srv *s3test.Server) {
	t.Run("Contract", func(t *testing.T) {
		blobtest.Run(t, func(t *testing.T) blob.Store { return open(t, srv.Config(t)) })
	})
	t.Run("ResentPart", func(t *testing.T) { testResentPart(t, srv, srv.Config(t)) })
	t.Run("UnknownLengthPut", func(t *testing.T) { testUnknownLengthPut(t, open(t, srv.Config(t))) })
	t.Run("RangedReads", func(t *testing.T) { testRangedReads(t, srv.Config(t)) })
	t.Run("ListMultipartAfterAbandon", func(t *testing.T) { testListMultipartAfterAbandon(t, srv, srv.Config(t)) })
	t.Run("CompleteIsIdempotent", func(t *testing.T) { testCompleteIsIdempotent(t, open(t, srv.Config(t))) })
	t.Run("AbortDeletesAdoptedObjects", func(t *testing.T) { testAbortDeletesAdopted(t, srv, srv.Config(t)) })
	t.Run("OnlyKeysUnderThePrefix", func(t *testing.T) { testOnlyKeysUnderThePrefix(t, srv, srv.Config(t)) })
}

// runEqualParts runs the contract and the cases that differ in the
// equal-part mode (Config.EqualParts) on srv.
func runEqualParts(t *testing.T, srv *s3test.Server) {
	t.Run("EqualParts", func(t *testing.T) {
		equal := func(t *testing.T) s3store.Config {
			cfg := srv.Config(t)
			cfg.EqualParts = true
			return cfg
		}
		t.Run("Contract", func(t *testing.T) {
			blobtest.Run(t, func(t *testing.T) blob.Store { return open(t, equal(t)) })
		})
		t.Run("UnequalParts", func(t *testing.T) { testUnequalParts(t, srv, equal) })
		t.Run("CompleteIsIdempotent", func(t *testing.T) { testCompleteIsIdempotent(t, open(t, equal(t))) })
		t.Run("AbortDeletesAdoptedObjects", func(t *testing.T) { testAbortDeletesAdopted(t, srv, equal(t)) })
	})
}

// open returns a store of cfg.
func open(t *testing.T, cfg s3store.Config) *s3store.Store {
	t.Helper()
	s, err := s3store.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func TestParseURL(t *testing.T) {
	for _, tt := range []struct {
		description    string
		url            string
		bucket, prefix string
		ok             bool
	}{
		{"bucket and prefix", "s3://videos/uplink", "videos", "uplink/", true},
		{"prefix with its slash", "s3://videos/uplink/", "videos", "uplink/", true},
		{"nested prefix", "s3://videos/a/b", "videos", "a/b/", true},
		{"bucket alone", "s3://videos", "videos", "", true},
		{"bucket and slash", "s3://videos/", "videos", "", true},
		{"another scheme", "https://videos/uplink", "", "", false},
		{"no bucket", "s3:///uplink", "", "", false},
		{"a query", "s3://videos/uplink?region=x", "", "", false},
		{"user info", "s3://key:secret@videos/uplink", "", "", false},
		{"empty folder", "s3://videos/a//b", "", "", false},
		{"not a URL", "videos/uplink", "", "", false},
	} {
		t.Run(tt.description, func(t *testing.T) {
			cfg, err := s3store.ParseURL(tt.url)
			if (err == nil) != tt.ok {
				t.Fatalf("ParseURL(%q) error = %v, want ok=%v", tt.url, err, tt.ok)
			}
			if got, want := cfg.Bucket+" "+cfg.Prefix, tt.bucket+" "+tt.prefix; got != want {
				t.Errorf("ParseURL(%q) = bucket and prefix %q, want %q", tt.url, got, want)
			}
		})
	}
}

// New refuses a bucket it cannot reach, rather than failing later.
func TestNewChecksTheBucket(t *testing.T) {
	srv := s3test.Versitygw(t)
	cfg := srv.Config(t)
	cfg.Bucket = "no-such-bucket"
	if _, err := s3store.New(context.Background(), cfg); err == nil {
		t.Error("New with a missing bucket succeeded")
	}
	cfg = srv.Config(t)
	cfg.SecretKey = "wrong"
	if _, err := s3store.New(context.Background(), cfg); err == nil {
		t.Error("New with a wrong secret key succeeded")
	}
	// Ping answers while the bucket is there, and fails once it is gone.
	cfg = srv.Config(t)
	st, err := s3store.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	if _, err := srv.Client.DeleteBucket(context.Background(), &s3.DeleteBucketInput{Bucket: &cfg.Bucket}); err != nil {
		t.Fatal(err)
	}
	if err := st.Ping(context.Background()); err == nil {
		t.Error("Ping of a deleted bucket succeeded")
	}
}

// testOnlyKeysUnderThePrefix checks that the store lists only blob keys
// directly under its prefix, and refuses keys that could leave it.
func testOnlyKeysUnderThePrefix(t *testing.T, srv *s3test.Server, cfg s3store.Config) {
	ctx := context.Background()
	s := open(t, cfg)
	for _, k := range []string{"elsewhere/ABCDEFGH", "ABCDEFGH", cfg.Prefix + "folder/ABCDEFGH", cfg.Prefix + "not-a-key.txt"} {
		putRaw(t, srv, cfg.Bucket, k, "not uplink's")
	}
	key := blob.NewKey()
	if _, err := s.Put(ctx, key, 3, strings.NewReader("abc")); err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := s.List(ctx, func(i blob.Info) error { keys = append(keys, i.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] != key {
		t.Errorf("List = %v, want only %s", keys, key)
	}
	for _, bad := range []string{"../ABCDEFGH", "folder/ABCDEFGH", "a b c", ""} {
		if _, err := s.Put(ctx, bad, 1, strings.NewReader("x")); err == nil {
			t.Errorf("Put(%q) succeeded", bad)
		}
		if _, err := s.Open(ctx, bad); err == nil || errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Open(%q) = %v, want a refusal", bad, err)
		}
	}
}

package main

import (
	"html"
	"net/http"
	"path/filepath"
	"testing"
)

// TestDiskFullSignIn: on a full disk (a real tmpfs filled to its last
// byte, under the real binary), signing in to the dashboard answers a 507
// page that says the disk is full, never a 500. However often it is
// tried, with the right password or wrong ones, it locks nobody out: once
// space is freed, the admin signs in at the first try.
//
// SQLite cannot commit on such a disk: its write-ahead log grows with
// each commit, and the sign-in writes (the throttle's reservation of the
// attempt, then the session) need a page.
func TestDiskFullSignIn(t *testing.T) {
	t.Parallel()
	disk := mountTmpfs(t, "16m", "no other test fills the disk under the sign-in")
	const email, password = "boss@example.com", "a password for a full disk"
	srv := startServer(t, &http.Client{}, []string{"UPLINK_ADMIN_EMAIL=" + email, "UPLINK_ADMIN_PASSWORD=" + password},
		"--addr", "127.0.0.1:0", "--data", filepath.Join(disk.mnt, "data"))

	disk.fill(t, 0)
	b := newDashBrowser(t, srv.URL)
	const want = "The server's disk is full; signing in needs a little space. Free some space and try again."
	// More attempts than the throttle lets through for one account.
	for i, pw := range []string{password, "a wrong password", password, "another wrong one", password, password, password} {
		status, _, msg := b.signIn(email, pw)
		if got := html.UnescapeString(msg); status != http.StatusInsufficientStorage || got != want {
			t.Errorf("sign-in %d on a full disk: status=%d error=%q, want=507 %q", i+1, status, got, want)
		}
	}
	if b.signedIn() {
		t.Error("a sign-in on a full disk left a session")
	}

	disk.unfill(t)
	b.mustSignIn(email, password)
}

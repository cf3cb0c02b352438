package main

import (
	"database/sql"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// TestBackupWhileServing copies the database of a running server and
// checks the copy holds its data.
func TestBackupWhileServing(t *testing.T) {
	data := t.TempDir()
	client := &http.Client{}
	srv := startServer(t, client, nil, "--addr", "127.0.0.1:0", "--data", data)
	if _, stderr, code := runBinary(t, nil, "link", "create", "--label", "kept", "--data", data); code != 0 {
		t.Fatalf("link create: exit %d: %s", code, stderr)
	}
	to := filepath.Join(t.TempDir(), "copy.db")
	if _, stderr, code := runBinary(t, nil, "backup", "--data", data, "--to", to); code != 0 {
		t.Fatalf("backup: exit %d: %s", code, stderr)
	}
	db, err := sql.Open("sqlite", "file:"+to+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var label string
	if err := db.QueryRow(`SELECT label FROM links`).Scan(&label); err != nil || label != "kept" {
		t.Errorf("backup's link label=%q (err %v), want %q", label, err, "kept")
	}
	// A second backup to the same file is refused rather than overwriting.
	if _, stderr, code := runBinary(t, nil, "backup", "--data", data, "--to", to); code == 0 || !strings.Contains(stderr, "already exists") {
		t.Errorf("backup over an existing file: exit %d, stderr %q; want a refusal", code, stderr)
	}
	if got, want := srv.stop(t), 0; got != want {
		t.Errorf("exit code=%d, want=%d", got, want)
	}
}

func TestHealthcheck(t *testing.T) {
	client := &http.Client{}
	srv := startServer(t, client, nil, "--addr", "127.0.0.1:0", "--data", t.TempDir())
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runBinary(t, nil, "healthcheck", "--addr", u.Host)
	if code != 0 || !strings.Contains(stdout, "database: ok") {
		t.Errorf("healthcheck of a running server: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	srv.stop(t)
	if _, stderr, code := runBinary(t, nil, "healthcheck", "--addr", u.Host); code != 1 || !strings.Contains(stderr, "not reachable") {
		t.Errorf("healthcheck of a stopped server: exit %d, stderr %q; want 1 and \"not reachable\"", code, stderr)
	}
}

// TestBackupRefusesPostgres: uplink backup copies SQLite only, and for a
// PostgreSQL database says what to use instead and what it covers,
// without connecting to it.
func TestBackupRefusesPostgres(t *testing.T) {
	to := filepath.Join(t.TempDir(), "copy.db")
	_, stderr, code := runInProcess(t, map[string]string{"UPLINK_DATABASE": "postgres://uplink@127.0.0.1:1/uplink"},
		"backup", "--to", to, "--data", t.TempDir())
	if code != 1 {
		t.Errorf("exit code=%d, want 1", code)
	}
	for _, want := range []string{"pg_dump", "metadata only", "blobs/"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr=%q, want it to mention %q", stderr, want)
		}
	}
	if _, err := os.Stat(to); err == nil {
		t.Errorf("%s was written", to)
	}
}

package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/uplink-video/uplink/store/storetest"
)

// TestServeOnPostgres runs two instances of the binary on one new
// PostgreSQL database (--database) and one data directory: the first
// makes the schema and says the database is new, both are ready, and a
// video uploaded through the second reads back whole through the first.
// It runs when the tests run on PostgreSQL (storetest.EnvPostgres);
// store's tests start instances at once on an empty database.
func TestServeOnPostgres(t *testing.T) {
	if !storetest.Postgres() {
		t.Skipf("runs on PostgreSQL only: set %s=1", storetest.EnvPostgres)
	}
	dsn := storetest.NewEmptyDSN(t)
	data := filepath.Join(t.TempDir(), "data")
	client := &http.Client{}
	env := []string{"UPLINK_API_KEY=" + testKey, "UPLINK_DATABASE=" + dsn}
	var servers [2]*server
	for i := range servers {
		servers[i] = startServer(t, client, env, "--addr", "127.0.0.1:0", "--data", data)
	}
	fresh := 0
	for _, srv := range servers {
		out := srv.stdout.String()
		if !strings.Contains(out, "database: PostgreSQL") {
			t.Errorf("stdout does not name the database:\n%s", out)
		}
		if strings.Contains(out, "This is a new database") {
			fresh++
		}
		if code, body := do(t, client, "GET", srv.URL+"/readyz", "", nil); code != http.StatusOK || !strings.Contains(string(body), "database: ok") {
			t.Errorf("GET /readyz = %d %q, want 200 and the database ok", code, body)
		}
	}
	if fresh != 1 || !strings.Contains(servers[0].stdout.String(), "This is a new database") {
		t.Errorf("%d instances said the database is new, want 1", fresh)
	}
	file := filepath.Join("testdata", "vp9-opus.webm")
	id := uploadWhole(t, client, servers[1].URL, basicAuth(testKey), file)
	if got, want := sha256Source(t, client, servers[0].URL, basicAuth(testKey), id), sha256File(t, file); got != want {
		t.Errorf("GET /videos/%s/source from the other instance: sha256=%s, want=%s", id, got, want)
	}
	for _, srv := range servers {
		if got, want := srv.stop(t), 0; got != want {
			t.Errorf("exit code after SIGTERM=%d, want=%d; stderr:\n%s", got, want, srv.stderr)
		}
	}
}

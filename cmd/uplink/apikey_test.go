package main

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestAPIKeyLifecycle runs the real binary: a key printed by "apikey
// create" authenticates against a running server (Basic, and Bearer from
// /auth/api-key), "apikey list" shows it but never its secret, and after
// "apikey revoke" both credentials get 401 at once.
func TestAPIKeyLifecycle(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	client := &http.Client{}

	stdout, stderr, code := runBinary(t, nil, "apikey", "create", "--name", "ci-script", "--data", data)
	if code != 0 {
		t.Fatalf("apikey create: exit code=%d, want=0; stderr: %s", code, stderr)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{16,}\n$`).MatchString(stdout) {
		t.Fatalf("apikey create: stdout=%q, want the key alone on one line", stdout)
	}
	secret := strings.TrimSpace(stdout)
	if strings.Contains(stderr, secret) {
		t.Errorf("apikey create: stderr repeats the secret: %q", stderr)
	}

	srv := startServer(t, client, nil, "--addr", "127.0.0.1:0", "--data", data)
	if strings.Contains(srv.stdout.String(), "new data directory") {
		t.Errorf("serve after apikey create calls the data directory new:\n%s", srv.stdout)
	}

	if got, _ := do(t, client, "GET", srv.URL+"/upload-tokens", basicAuth(secret), nil); got != http.StatusOK {
		t.Fatalf("GET /upload-tokens with the new key: status=%d, want=200", got)
	}
	if got, _ := do(t, client, "GET", srv.URL+"/upload-tokens", basicAuth(secret+"x"), nil); got != http.StatusUnauthorized {
		t.Errorf("GET /upload-tokens with a wrong key: status=%d, want=401", got)
	}
	status, body := do(t, client, "POST", srv.URL+"/auth/api-key", "", map[string]string{"apiKey": secret})
	if status != http.StatusOK {
		t.Fatalf("POST /auth/api-key: status=%d, want=200; body: %s", status, body)
	}
	bearer := "Bearer " + mustDecode[struct {
		AccessToken string `json:"access_token"`
	}](t, body).AccessToken
	if got, _ := do(t, client, "GET", srv.URL+"/videos", bearer, nil); got != http.StatusOK {
		t.Fatalf("GET /videos with the access token: status=%d, want=200", got)
	}

	list, stderr, code := runBinary(t, nil, "apikey", "list", "--data", data)
	if code != 0 {
		t.Fatalf("apikey list: exit code=%d, want=0; stderr: %s", code, stderr)
	}
	if strings.Contains(list, secret) {
		t.Errorf("apikey list shows the secret:\n%s", list)
	}
	m := regexp.MustCompile(`(?m)^(\S+)\s+ci-script\s+` + regexp.QuoteMeta(secret[:6]) + `….*\sactive$`).FindStringSubmatch(list)
	if m == nil {
		t.Fatalf("apikey list has no active ci-script row with the key's first characters:\n%s", list)
	}
	id := m[1]

	// The flag after the ID, as the usage writes it.
	_, stderr, code = runBinary(t, nil, "apikey", "revoke", id, "--data", data)
	if code != 0 {
		t.Fatalf("apikey revoke: exit code=%d, want=0; stderr: %s", code, stderr)
	}
	if got, _ := do(t, client, "GET", srv.URL+"/upload-tokens", basicAuth(secret), nil); got != http.StatusUnauthorized {
		t.Errorf("GET /upload-tokens with the revoked key: status=%d, want=401", got)
	}
	if got, _ := do(t, client, "GET", srv.URL+"/videos", bearer, nil); got != http.StatusUnauthorized {
		t.Errorf("GET /videos with an access token of the revoked key: status=%d, want=401", got)
	}
	if got, _ := do(t, client, "POST", srv.URL+"/auth/api-key", "", map[string]string{"apiKey": secret}); got == http.StatusOK {
		t.Errorf("POST /auth/api-key with the revoked key: status=%d, want a refusal", got)
	}

	list, _, _ = runBinary(t, nil, "apikey", "list", "--data", data)
	if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(id) + `\s+ci-script\s.*\srevoked `).MatchString(list) {
		t.Errorf("apikey list does not show %s as revoked:\n%s", id, list)
	}
	_, stderr, code = runBinary(t, nil, "apikey", "revoke", id, "--data", data)
	if got, want := code, 1; got != want {
		t.Errorf("revoking twice: exit code=%d, want=%d", got, want)
	}
	if !strings.Contains(stderr, id) {
		t.Errorf("revoking twice: stderr=%q, want it to name %s", stderr, id)
	}
}

func TestAPIKeyDataFromEnvironment(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	env := map[string]string{"UPLINK_DATA": data}
	if _, stderr, code := runInProcess(t, env, "apikey", "create", "--name", "from-env"); code != 0 {
		t.Fatalf("apikey create: exit code=%d, want=0; stderr: %s", code, stderr)
	}
	list, stderr, code := runInProcess(t, env, "apikey", "list")
	if code != 0 {
		t.Fatalf("apikey list: exit code=%d, want=0; stderr: %s", code, stderr)
	}
	if !strings.Contains(list, "from-env") {
		t.Errorf("apikey list with $UPLINK_DATA does not show the key:\n%s", list)
	}
	// The flag wins over the variable.
	other := filepath.Join(t.TempDir(), "other")
	if _, stderr, code := runInProcess(t, env, "apikey", "create", "--name", "from-flag", "--data", other); code != 0 {
		t.Fatalf("apikey create --data: exit code=%d, want=0; stderr: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(other, "uplink.db")); err != nil {
		t.Errorf("apikey create --data did not use its directory: %v", err)
	}
	list, _, _ = runInProcess(t, env, "apikey", "list")
	if strings.Contains(list, "from-flag") {
		t.Errorf("apikey create --data wrote to $UPLINK_DATA instead:\n%s", list)
	}
}

// TestAPIKeyUsageErrors checks that a mistake exits 1 (or 0 for --help)
// with a message, and creates nothing.
func TestAPIKeyUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		description string
		args        []string
		wantCode    int
		wantStderr  string
	}{
		{"no subcommand", nil, 1, "create, list or revoke"},
		{"unknown subcommand", []string{"delete"}, 1, `unknown apikey subcommand "delete"`},
		{"create without --name", []string{"create"}, 1, "--name"},
		{"create with an argument", []string{"create", "--name", "n", "extra"}, 1, `"extra"`},
		{"list with an argument", []string{"list", "extra"}, 1, `"extra"`},
		{"list before any key", []string{"list"}, 1, "no uplink database"},
		{"revoke without ID", []string{"revoke"}, 1, "ID"},
		{"revoke before any key", []string{"revoke", "ak123"}, 1, "no uplink database"},
		{"help", []string{"--help"}, 0, "apikey create --name NAME"},
		{"create --help", []string{"create", "--help"}, 0, "--name"},
	} {
		t.Run(tt.description, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			args := append([]string{"apikey"}, tt.args...)
			_, stderr, code := runInProcess(t, map[string]string{"UPLINK_DATA": data}, args...)
			if got, want := code, tt.wantCode; got != want {
				t.Errorf("exit code=%d, want=%d; stderr: %s", got, want, stderr)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr=%q, want it to contain %q", stderr, tt.wantStderr)
			}
			if dirExists(data) {
				t.Errorf("%s was created", data)
			}
		})
	}
}

// TestDataDirNames checks that the database lands in the data directory
// whatever characters its path has.
func TestDataDirNames(t *testing.T) {
	for _, name := range []string{"with space", "hash#1", "query?x=1", "percent%41"} {
		t.Run(name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), name, "data")
			if _, stderr, code := runInProcess(t, nil, "apikey", "create", "--name", "n", "--data", data); code != 0 {
				t.Fatalf("apikey create: exit code=%d, want=0; stderr: %s", code, stderr)
			}
			if _, err := os.Stat(filepath.Join(data, "uplink.db")); err != nil {
				t.Errorf("no database in the data directory: %v", err)
			}
		})
	}
}

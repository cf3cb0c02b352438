package main

import (
	"flag"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseServe(t *testing.T) {
	defaults := serveConfig{
		addr:          "127.0.0.1:8080",
		backendConfig: backendConfig{dataDir: "./data", lease: 24 * time.Hour, chunkSize: 16 << 20},
		shutdown:      30 * time.Second,
		logFormat:     "text",
		readHeader:    10 * time.Second,
		readIdle:      time.Minute,
	}
	for _, tt := range []struct {
		description string
		args        []string
		env         map[string]string
		want        func(c *serveConfig) // Changes from defaults.
	}{
		{
			description: "defaults",
			want:        func(c *serveConfig) {},
		},
		{
			description: "a boolean flag alone",
			args:        []string{"--webhook-allow-private"},
			want:        func(c *serveConfig) { c.webhookPrivate = true },
		},
		{
			description: "a boolean variable",
			env:         map[string]string{"UPLINK_WEBHOOK_ALLOW_PRIVATE": "yes"},
			want:        func(c *serveConfig) { c.webhookPrivate = true },
		},
		{
			description: "a boolean flag set to false wins over its variable",
			args:        []string{"--webhook-allow-private=false"},
			env:         map[string]string{"UPLINK_WEBHOOK_ALLOW_PRIVATE": "true"},
			want:        func(c *serveConfig) {},
		},
		{
			description: "every flag",
			args: []string{
				"--addr", "0.0.0.0:9000", "--data", "/srv/uplink", "--public-url", "https://up.example/base/",
				"--tls-cert", "c.pem", "--tls-key", "k.pem", "--api-key", "0123456789abcdef",
				"--upload-lease", "2h", "--api-cors-origins", "https://a.example, http://b.example:8080/",
				"--shutdown-timeout", "5s", "--read-header-timeout", "3s", "--read-idle-timeout", "2m",
				"--metrics-addr", "10.0.0.5:9090",
			},
			want: func(c *serveConfig) {
				c.addr, c.dataDir, c.publicURL = "0.0.0.0:9000", "/srv/uplink", "https://up.example/base"
				c.tlsCert, c.tlsKey, c.apiKey = "c.pem", "k.pem", "0123456789abcdef"
				c.lease, c.shutdown = 2*time.Hour, 5*time.Second
				c.readHeader, c.readIdle = 3*time.Second, 2*time.Minute
				c.corsOrigins = []string{"https://a.example", "http://b.example:8080"}
				c.metricsAddr = "10.0.0.5:9090"
			},
		},
		{
			description: "single-dash flags and name=value",
			args:        []string{"-addr=127.0.0.1:0", "-data", "d"},
			want:        func(c *serveConfig) { c.addr, c.dataDir = "127.0.0.1:0", "d" },
		},
		{
			description: "every environment variable",
			env: map[string]string{
				"UPLINK_ADDR": ":7000", "UPLINK_DATA": "/var/lib/uplink", "UPLINK_PUBLIC_URL": "http://up.example",
				"UPLINK_TLS_CERT": "c.pem", "UPLINK_TLS_KEY": "k.pem", "UPLINK_API_KEY": "fedcba9876543210",
				"UPLINK_UPLOAD_LEASE": "90m", "UPLINK_API_CORS_ORIGINS": "https://a.example",
				"UPLINK_SHUTDOWN_TIMEOUT": "1m", "UPLINK_READ_HEADER_TIMEOUT": "4s", "UPLINK_READ_IDLE_TIMEOUT": "90s",
				"UPLINK_METRICS_ADDR": ":9090",
			},
			want: func(c *serveConfig) {
				c.addr, c.dataDir, c.publicURL = ":7000", "/var/lib/uplink", "http://up.example"
				c.tlsCert, c.tlsKey, c.apiKey = "c.pem", "k.pem", "fedcba9876543210"
				c.lease, c.shutdown = 90*time.Minute, time.Minute
				c.readHeader, c.readIdle = 4*time.Second, 90*time.Second
				c.corsOrigins = []string{"https://a.example"}
				c.metricsAddr = ":9090"
			},
		},
		{
			description: "a flag wins over its environment variable",
			args:        []string{"--addr", "127.0.0.1:1", "--upload-lease", "1h"},
			env:         map[string]string{"UPLINK_ADDR": "127.0.0.1:2", "UPLINK_UPLOAD_LEASE": "3h", "UPLINK_DATA": "env-data"},
			want:        func(c *serveConfig) { c.addr, c.lease, c.dataDir = "127.0.0.1:1", time.Hour, "env-data" },
		},
		{
			description: "a flag wins over a bad environment variable",
			args:        []string{"--upload-lease", "1h"},
			env:         map[string]string{"UPLINK_UPLOAD_LEASE": "soon"},
			want:        func(c *serveConfig) { c.lease = time.Hour },
		},
		{
			description: "an empty environment variable is unset",
			env:         map[string]string{"UPLINK_ADDR": ""},
			want:        func(c *serveConfig) {},
		},
		{
			description: "a PostgreSQL database",
			args:        []string{"--database", "postgres://uplink@db.internal/uplink"},
			want:        func(c *serveConfig) { c.database = "postgres://uplink@db.internal/uplink" },
		},
		{
			description: "a PostgreSQL database from the environment",
			env:         map[string]string{"UPLINK_DATABASE": "postgresql://uplink:pw@db.internal:5432/uplink?sslmode=require"},
			want:        func(c *serveConfig) { c.database = "postgresql://uplink:pw@db.internal:5432/uplink?sslmode=require" },
		},
	} {
		t.Run(tt.description, func(t *testing.T) {
			got, err := parseServe(tt.args, envFunc(tt.env), io.Discard)
			if err != nil {
				t.Fatalf("parseServe: %v", err)
			}
			want := defaults
			tt.want(&want)
			if got.addr != want.addr || got.dataDir != want.dataDir || got.publicURL != want.publicURL ||
				got.tlsCert != want.tlsCert || got.tlsKey != want.tlsKey || got.apiKey != want.apiKey ||
				got.lease != want.lease || got.shutdown != want.shutdown || !slices.Equal(got.corsOrigins, want.corsOrigins) ||
				got.readHeader != want.readHeader || got.readIdle != want.readIdle || got.metricsAddr != want.metricsAddr ||
				got.webhookPrivate != want.webhookPrivate || got.database != want.database {
				t.Errorf("config=%+v, want=%+v", got, want)
			}
		})
	}
}

func TestParseServeRejects(t *testing.T) {
	for _, tt := range []struct {
		description string
		args        []string
		env         map[string]string
		wantInError []string // The setting must be named.
	}{
		{
			description: "bad boolean variable",
			env:         map[string]string{"UPLINK_WEBHOOK_ALLOW_PRIVATE": "maybe"},
			wantInError: []string{"UPLINK_WEBHOOK_ALLOW_PRIVATE", "maybe"},
		},
		{
			description: "bad duration flag",
			args:        []string{"--upload-lease", "soon"},
			wantInError: []string{"upload-lease", "soon"},
		},
		{
			description: "bad duration variable",
			env:         map[string]string{"UPLINK_SHUTDOWN_TIMEOUT": "10"},
			wantInError: []string{"UPLINK_SHUTDOWN_TIMEOUT", `"10"`},
		},
		{
			description: "zero idle timeout",
			args:        []string{"--read-idle-timeout", "0s"},
			wantInError: []string{"read-idle-timeout", "positive"},
		},
		{
			description: "zero duration",
			args:        []string{"--shutdown-timeout", "0s"},
			wantInError: []string{"shutdown-timeout", "positive"},
		},
		{
			description: "negative duration variable",
			env:         map[string]string{"UPLINK_UPLOAD_LEASE": "-1h"},
			wantInError: []string{"UPLINK_UPLOAD_LEASE", "positive"},
		},
		{
			description: "tls-cert without tls-key",
			args:        []string{"--tls-cert", "c.pem"},
			wantInError: []string{"--tls-cert", "--tls-key"},
		},
		{
			description: "tls-key without tls-cert, from the environment",
			env:         map[string]string{"UPLINK_TLS_KEY": "k.pem"},
			wantInError: []string{"--tls-cert", "--tls-key"},
		},
		{
			description: "public URL without scheme",
			args:        []string{"--public-url", "up.example"},
			wantInError: []string{"--public-url", "up.example"},
		},
		{
			description: "public URL with another scheme",
			env:         map[string]string{"UPLINK_PUBLIC_URL": "ftp://up.example"},
			wantInError: []string{"--public-url", "ftp://up.example"},
		},
		{
			description: "public URL without host",
			args:        []string{"--public-url", "https://"},
			wantInError: []string{"--public-url"},
		},
		{
			description: "public URL with a query",
			args:        []string{"--public-url", "https://up.example/?x=1"},
			wantInError: []string{"--public-url"},
		},
		{
			description: "CORS origin with a path",
			args:        []string{"--api-cors-origins", "https://a.example,https://b.example/app"},
			wantInError: []string{"--api-cors-origins", "https://b.example/app"},
		},
		{
			description: "CORS origin without scheme",
			env:         map[string]string{"UPLINK_API_CORS_ORIGINS": "a.example"},
			wantInError: []string{"--api-cors-origins", "a.example"},
		},
		{
			description: "short UPLINK_API_KEY",
			env:         map[string]string{"UPLINK_API_KEY": "short"},
			wantInError: []string{"UPLINK_API_KEY", "16"},
		},
		{
			description: "short --api-key",
			args:        []string{"--api-key", "0123456789abcde"},
			wantInError: []string{"UPLINK_API_KEY", "16"},
		},
		{
			description: "metrics address without a port",
			args:        []string{"--metrics-addr", "127.0.0.1"},
			wantInError: []string{"--metrics-addr", "127.0.0.1"},
		},
		{
			description: "empty data directory",
			args:        []string{"--data", ""},
			wantInError: []string{"--data"},
		},
		{
			description: "unknown flag",
			args:        []string{"--port", "80"},
			wantInError: []string{"port"},
		},
		{
			description: "positional argument",
			args:        []string{"now"},
			wantInError: []string{`"now"`},
		},
		{
			description: "a database that is not PostgreSQL",
			env:         map[string]string{"UPLINK_DATABASE": "mysql://uplink:secret@db/uplink"},
			wantInError: []string{"--database", "postgres://"},
		},
	} {
		t.Run(tt.description, func(t *testing.T) {
			_, err := parseServe(tt.args, envFunc(tt.env), io.Discard)
			if err == nil {
				t.Fatal("parseServe succeeded, want an error")
			}
			for _, s := range tt.wantInError {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error=%q, want it to contain %q", err, s)
				}
			}
			// A database URL may hold a password: it is never repeated.
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error=%q repeats the database URL", err)
			}
		})
	}
}

// TestServeRejectsBadConfig checks that run stops with exit code 1 and
// one message naming the setting, before touching the data directory.
func TestServeRejectsBadConfig(t *testing.T) {
	data := t.TempDir() + "/data"
	stdout, stderr, code := runInProcess(t, map[string]string{"UPLINK_API_KEY": "short"}, "serve", "--data", data)
	if got, want := code, 1; got != want {
		t.Errorf("exit code=%d, want=%d", got, want)
	}
	if got, want := stderr, "uplink: UPLINK_API_KEY must be at least 16 characters long\n"; got != want {
		t.Errorf("stderr=%q, want=%q", got, want)
	}
	if stdout != "" {
		t.Errorf("stdout=%q, want nothing", stdout)
	}
	if dirExists(data) {
		t.Errorf("%s was created for a configuration that was refused", data)
	}
}

// serveSettings are the flags "uplink serve" must document, with their
// environment variables.
var serveSettings = []struct{ flag, env string }{
	{"addr", "UPLINK_ADDR"},
	{"data", "UPLINK_DATA"},
	{"public-url", "UPLINK_PUBLIC_URL"},
	{"tls-cert", "UPLINK_TLS_CERT"},
	{"tls-key", "UPLINK_TLS_KEY"},
	{"api-key", "UPLINK_API_KEY"},
	{"upload-lease", "UPLINK_UPLOAD_LEASE"},
	{"api-cors-origins", "UPLINK_API_CORS_ORIGINS"},
	{"shutdown-timeout", "UPLINK_SHUTDOWN_TIMEOUT"},
	{"upstream-url", "UPLINK_UPSTREAM_URL"},
	{"upstream-api-key", "UPLINK_UPSTREAM_API_KEY"},
	{"chunk-size", "UPLINK_CHUNK_SIZE"},
	{"admin-email", "UPLINK_ADMIN_EMAIL"},
	{"admin-password", "UPLINK_ADMIN_PASSWORD"},
	{"log-format", "UPLINK_LOG_FORMAT"},
	{"webhook-allow-private", "UPLINK_WEBHOOK_ALLOW_PRIVATE"},
	{"read-header-timeout", "UPLINK_READ_HEADER_TIMEOUT"},
	{"read-idle-timeout", "UPLINK_READ_IDLE_TIMEOUT"},
	{"metrics-addr", "UPLINK_METRICS_ADDR"},
	{"ffmpeg-dir", "UPLINK_FFMPEG_DIR"},
	{"processing-workers", "UPLINK_PROCESSING_WORKERS"},
	{"previews", "UPLINK_PREVIEWS"},
	{"processing-timeout", "UPLINK_PROCESSING_TIMEOUT"},
	{"processing-memory", "UPLINK_PROCESSING_MEMORY"},
	{"processing-threads", "UPLINK_PROCESSING_THREADS"},
	{"blobs", "UPLINK_BLOBS"},
	{"s3-endpoint", "AWS_ENDPOINT_URL"},
	{"s3-region", "AWS_REGION"},
	{"s3-access-key-id", "AWS_ACCESS_KEY_ID"},
	{"s3-secret-access-key", "AWS_SECRET_ACCESS_KEY"},
	{"s3-path-style", "UPLINK_S3_PATH_STYLE"},
	{"s3-equal-parts", "UPLINK_S3_EQUAL_PARTS"},
	{"s3-equal-part-size", "UPLINK_S3_EQUAL_PART_SIZE"},
	{"smtp-url", "UPLINK_SMTP_URL"},
	{"smtp-from", "UPLINK_SMTP_FROM"},
	{"database", "UPLINK_DATABASE"},
}

func TestHelpListsEveryFlag(t *testing.T) {
	secret := "do-not-print-this-secret-0123456789"
	env := map[string]string{"UPLINK_API_KEY": secret, "UPLINK_ADDR": "10.9.8.7:1", "UPLINK_DATABASE": "postgres://u:" + secret + "@db/u"}
	for _, tt := range []struct {
		description string
		args        []string
		toStdout    bool
	}{
		{"uplink --help", []string{"--help"}, true},
		{"uplink -h", []string{"-h"}, true},
		{"uplink help", []string{"help"}, true},
		{"uplink serve --help", []string{"serve", "--help"}, false},
		{"uplink serve -h after other flags", []string{"serve", "--addr", ":1", "-h"}, false},
	} {
		t.Run(tt.description, func(t *testing.T) {
			stdout, stderr, code := runInProcess(t, env, tt.args...)
			if got, want := code, 0; got != want {
				t.Errorf("exit code=%d, want=%d; stderr: %s", got, want, stderr)
			}
			help, other := stderr, stdout
			if tt.toStdout {
				help, other = stdout, stderr
			}
			if other != "" {
				t.Errorf("help also wrote %q to the other stream", other)
			}
			for _, s := range serveSettings {
				line := "--" + s.flag + " [$" + s.env + "]"
				if !strings.Contains(help, line) {
					t.Errorf("help has no %q:\n%s", line, help)
				}
			}
			// Any flag added later must be documented too.
			newServeFlags(envFunc(nil), io.Discard).fs.VisitAll(func(f *flag.Flag) {
				if !strings.Contains(help, "--"+f.Name+" ") {
					t.Errorf("help does not list --%s", f.Name)
				}
			})
			if !strings.Contains(help, "(default 127.0.0.1:8080)") {
				t.Errorf("help shows %q, want the real default of --addr", help)
			}
			if strings.Contains(help, secret) || strings.Contains(help, "10.9.8.7") {
				t.Errorf("help shows values from the environment:\n%s", help)
			}
		})
	}
}

func TestHelpCountsSettings(t *testing.T) {
	n := 0
	newServeFlags(envFunc(nil), io.Discard).fs.VisitAll(func(*flag.Flag) { n++ })
	if got, want := n, len(serveSettings); got != want {
		t.Errorf("serve has %d flags, want=%d: add the new one to serveSettings", got, want)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		description string
		args        []string
		wantCode    int
		wantStderr  string
	}{
		{"no command", nil, 2, "Usage:"},
		{"unknown command", []string{"serv"}, 2, `unknown command "serv"`},
		{"unknown serve flag", []string{"serve", "--bogus"}, 1, "bogus"},
	} {
		t.Run(tt.description, func(t *testing.T) {
			stdout, stderr, code := runInProcess(t, nil, tt.args...)
			if got, want := code, tt.wantCode; got != want {
				t.Errorf("exit code=%d, want=%d", got, want)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr=%q, want it to contain %q", stderr, tt.wantStderr)
			}
			if stdout != "" {
				t.Errorf("stdout=%q, want nothing", stdout)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	stdout, _, code := runInProcess(t, nil, "version")
	if got, want := code, 0; got != want {
		t.Errorf("exit code=%d, want=%d", got, want)
	}
	if strings.TrimSpace(stdout) == "" {
		t.Error("version printed nothing")
	}
}

func TestDefaultPublicURL(t *testing.T) {
	for _, tt := range []struct {
		description string
		scheme      string
		addr        net.Addr
		want        string
	}{
		{"loopback", "http", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}, "http://127.0.0.1:8080"},
		{"IPv6 loopback", "https", &net.TCPAddr{IP: net.IPv6loopback, Port: 8443}, "https://[::1]:8443"},
		{"IPv4 wildcard", "http", &net.TCPAddr{IP: net.IPv4zero, Port: 8080}, "http://localhost:8080"},
		{"IPv6 wildcard", "https", &net.TCPAddr{IP: net.IPv6unspecified, Port: 443}, "https://localhost:443"},
	} {
		t.Run(tt.description, func(t *testing.T) {
			if got := defaultPublicURL(tt.scheme, tt.addr); got != tt.want {
				t.Errorf("defaultPublicURL=%q, want=%q", got, tt.want)
			}
		})
	}
}

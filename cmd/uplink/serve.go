package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/uplink-video/uplink/web/reqid"
)

// maintenanceEvery is how often the cleanup job (maintainOnce) runs.
const maintenanceEvery = 10 * time.Minute

// serve runs "uplink serve": the server until ctx is done.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseServe(args, getenv, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg.logFormat, stderr)
	hooks, err := crashHooks(getenv(crashpointEnv), log)
	if err != nil {
		return err
	}
	m := NewMain(cfg, log, hooks)
	defer m.Close()
	if err := m.Open(ctx); err != nil {
		return err
	}
	return m.Run(ctx, stdout)
}

// newLogger returns the server's logger, in the format asked for; every
// entry made with a request's context carries its request ID.
func newLogger(format string, out io.Writer) *slog.Logger {
	if format == "json" {
		return slog.New(reqid.NewHandler(slog.NewJSONHandler(out, nil)))
	}
	return slog.New(reqid.NewHandler(slog.NewTextHandler(out, nil)))
}

// defaultPublicURL is the base URL handed out when none is configured: the
// listening address, except that a wildcard host (0.0.0.0 or ::, as in the
// container image), which no client can reach, becomes localhost.
func defaultPublicURL(scheme string, addr net.Addr) string {
	hostport := addr.String()
	if tcp, ok := addr.(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		hostport = net.JoinHostPort("localhost", strconv.Itoa(tcp.Port))
	}
	return scheme + "://" + hostport
}

// welcomeAdmin is the first admin, when this start created it.
type welcomeAdmin struct {
	created  bool
	email    string
	password string // Set only when it was generated: shown this once.
}

// printWelcome tells the operator where uplink is and what to do next.
// It writes the whole message at once, so that a reader of the first line
// (such as a test waiting for "listening on") sees the rest too.
func printWelcome(out io.Writer, cfg serveConfig, listenURL string, fresh bool, first welcomeAdmin) {
	w := &strings.Builder{}
	defer func() { io.WriteString(out, w.String()) }()
	fmt.Fprintf(w, "uplink is listening on %s\n", listenURL)
	fmt.Fprintf(w, "  dashboard: %s/admin\n", cfg.publicURL)
	fmt.Fprintf(w, "  API base URL for api.video SDKs: %s\n", cfg.publicURL)
	fmt.Fprintf(w, "  data directory: %s\n", cfg.dataDir)
	if cfg.database != "" {
		fmt.Fprintf(w, "  database: PostgreSQL (--database)\n")
	}
	if cfg.metricsAddr != "" {
		fmt.Fprintf(w, "  metrics, without authentication: http://%s/metrics\n", cfg.metricsAddr)
	}
	self := selfCommand()
	switch {
	case first.created && first.password != "":
		fmt.Fprintf(w, "\nSign in at %s/admin as %s with the password\n\n    %s\n\n", cfg.publicURL, first.email, first.password)
		fmt.Fprintf(w, "It is shown only this once. Change it with: %s admin reset-password --email %s --data %s\n", self, first.email, cfg.dataDir)
	case first.created:
		fmt.Fprintf(w, "\nSign in at %s/admin as %s with the password from UPLINK_ADMIN_PASSWORD.\n", cfg.publicURL, first.email)
	}
	if fresh {
		if cfg.database != "" {
			fmt.Fprintf(w, "\nThis is a new database. Next steps (with UPLINK_DATABASE set as for serve):\n")
		} else {
			fmt.Fprintf(w, "\nThis is a new data directory. Next steps:\n")
		}
		fmt.Fprintf(w, "  - Sign in at %s/admin and create a link. Send it to whoever has the video:\n", cfg.publicURL)
		fmt.Fprintf(w, "    they upload in their browser, without an account, and the video shows up in the dashboard.\n")
		fmt.Fprintf(w, "  - For scripts and api.video SDKs, with the API base URL above:\n")
		if cfg.apiKey != "" {
			fmt.Fprintf(w, "      The API key from UPLINK_API_KEY is accepted.\n")
		} else {
			fmt.Fprintf(w, "      Create an API key in the dashboard, or: %s apikey create --name my-script --data %s\n", self, cfg.dataDir)
		}
		fmt.Fprintf(w, "      Create an upload token:  curl -u \"$API_KEY:\" -X POST %s/upload-tokens -d '{\"ttl\":3600}'\n", cfg.publicURL)
		fmt.Fprintf(w, "      Upload with it:  curl -F file=@video.mp4 \"%s/upload?token=<token>\"\n", cfg.publicURL)
	}
}

// selfCommand is how the person who started uplink runs it again, for the
// commands the console suggests: "go run ./cmd/uplink" when this process
// was built by go run (its executable is in the go-build cache, and the
// person has no binary), "uplink" otherwise.
func selfCommand() string {
	exe, err := os.Executable()
	if err == nil && strings.Contains(filepath.ToSlash(exe), "/go-build") {
		return "go run ./cmd/uplink"
	}
	return "uplink"
}

package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/store/ingest"
	"github.com/uplink-video/uplink/web"
	"github.com/uplink-video/uplink/web/account"
	"github.com/uplink-video/uplink/web/links"
	"github.com/uplink-video/uplink/web/metrics"
	"github.com/uplink-video/uplink/web/reqid"
	"github.com/uplink-video/uplink/web/webhooks"
)

// maintenanceEvery is how often the cleanup job (maintainOnce) runs.
const maintenanceEvery = 10 * time.Minute

// app is an opened data directory: the metadata store and the blobs.
type app struct {
	store  *store.Store
	blobs  *blob.Dir
	ingest *ingest.Service
	fresh  bool // The data directory had no database before.
	// webhooks is set by serve, before anything is uploaded.
	webhooks *webhooks.Service
}

// videoCompleted announces an upload completed through the API, once
// serve has set up the webhooks.
func (a *app) videoCompleted(videoID string) {
	if a.webhooks != nil {
		a.webhooks.VideoCompleted(videoID)
	}
}

// linkEvents is what hears about uploads through links: the webhooks,
// once serve has set them up.
func (a *app) linkEvents() links.EventSink {
	if a.webhooks == nil {
		return nil // Not a nil *webhooks.Service in a non-nil interface.
	}
	return a.webhooks
}

// openApp opens (creating if needed) the data directory.
func openApp(ctx context.Context, dataDir string, lease time.Duration, log *slog.Logger) (*app, error) {
	return openAppHooks(ctx, dataDir, lease, log, ingest.Hooks{}, nil)
}

// openAppHooks is openApp with ingest hooks, which only crash tests set
// (see crashHooks), and the metrics of the uploads, which serve sets.
func openAppHooks(ctx context.Context, dataDir string, lease time.Duration, log *slog.Logger, hooks ingest.Hooks, m ingest.Metrics) (*app, error) {
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	dbPath := filepath.Join(dataDir, "uplink.db")
	_, statErr := os.Stat(dbPath)
	st, err := store.Open(ctx, dbPath)
	if err != nil {
		return nil, err
	}
	blobs, err := blob.NewDir(filepath.Join(dataDir, "blobs"))
	if err != nil {
		st.Close()
		return nil, err
	}
	a := &app{store: st, blobs: blobs, fresh: errors.Is(statErr, os.ErrNotExist)}
	a.ingest = ingest.New(st, blobs, ingest.Config{Lease: lease, Logger: log, OnComplete: a.videoCompleted, Hooks: hooks, Metrics: m})
	return a, nil
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseServe(args, getenv, stderr)
	if err != nil {
		return err
	}
	var log *slog.Logger
	if cfg.logFormat == "json" {
		log = slog.New(reqid.NewHandler(slog.NewJSONHandler(stderr, nil)))
	} else {
		log = slog.New(reqid.NewHandler(slog.NewTextHandler(stderr, nil)))
	}

	hooks, err := crashHooks(getenv(crashpointEnv), log)
	if err != nil {
		return err
	}
	// One registry per server, passed down: no global collectors.
	m := newMetrics()
	a, err := openAppHooks(ctx, cfg.dataDir, cfg.lease, log, hooks, m.Uploads(metrics.KindAPI))
	if err != nil {
		return err
	}
	defer a.store.Close()
	m.WatchState(storeState(a.store))
	cleanup := m.Cleanup()

	// Load the certificate before listening, so that a bad one stops
	// uplink before it announces itself.
	var tlsConfig *tls.Config
	scheme := "http"
	if cfg.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.tlsCert, cfg.tlsKey)
		if err != nil {
			return fmt.Errorf("load --tls-cert and --tls-key: %w", err)
		}
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		scheme = "https"
	}

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	listenURL := scheme + "://" + ln.Addr().String()
	// With --metrics-addr, the metrics are also served there, without
	// authentication; it stops after the main server, before the store
	// closes.
	if cfg.metricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.metricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen on --metrics-addr: %w", err)
		}
		cfg.metricsAddr = mln.Addr().String()
		msrv := metricsServer(m, cfg.readHeader, log)
		go func() {
			if err := msrv.Serve(mln); !errors.Is(err, http.ErrServerClosed) {
				log.Error("serving --metrics-addr", "err", err)
			}
		}()
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := msrv.Shutdown(sctx); err != nil {
				msrv.Close()
			}
		}()
	}
	if cfg.publicURL == "" {
		cfg.publicURL = defaultPublicURL(scheme, ln.Addr())
	}

	// Webhooks refuse private and loopback targets: whoever can add an
	// endpoint must not reach the services next to uplink through it.
	a.webhooks = webhooks.New(a.store, webhooks.Config{
		PublicURL: cfg.publicURL, AllowPrivateTargets: cfg.webhookPrivate, Version: version(), Logger: log,
	})
	// Recovery may complete uploads (pieces staged just before a crash),
	// so it runs once the webhooks can announce them; requests wait in
	// the listen queue meanwhile.
	report, err := a.ingest.Recover(ctx)
	if err != nil {
		return fmt.Errorf("recover uploads: %w", err)
	}
	log.Info("recovered uploads", "abandoned", report.Abandoned, "orphans", report.Orphans,
		"trimmed", report.Trimmed, "drained", report.Drained, "unexpected", report.Unexpected)
	cleanup.Removed("abandoned_upload", report.Abandoned)
	cleanup.Removed("orphan_blob", report.Orphans)

	// The first start creates the first dashboard admin.
	firstAdmin, password, created, err := account.Bootstrap(ctx, a.store, cfg.adminEmail, cfg.adminPass)
	if err != nil {
		return err
	}
	if created {
		log.Info("created the first dashboard admin", "email", firstAdmin.Email)
	}
	hashKey, blockKey, err := a.store.SessionKeys(ctx)
	if err != nil {
		return err
	}
	deps := web.Deps{
		SessionHashKey:  hashKey,
		SessionBlockKey: blockKey,
		SecureCookies:   strings.HasPrefix(cfg.publicURL, "https://"),
		DataDir:         cfg.dataDir,
		Store:           a.store,
		Ingest:          a.ingest,
		Webhooks:        a.webhooks,
		ExtraAPIKey:     cfg.apiKey,
		PublicURL:       cfg.publicURL,
		APICORSOrigins:  cfg.corsOrigins,
		ChunkSize:       cfg.chunkSize,
		ReadIdleTimeout: cfg.readIdle,
		Metrics:         m,
		Version:         version(),
		Logger:          log,
	}
	deps.API = web.NewAPI(deps)
	if deps.Links, err = newLinks(a, deps, cfg.backendConfig, log); err != nil {
		return err
	}
	handler := web.New(deps)
	srv := &http.Server{
		Handler: handler,
		// Headers must arrive promptly; bodies may take as long as a
		// large upload on a slow link needs, so there is no ReadTimeout.
		// An upload whose bytes stop arriving is ended by the idle read
		// deadline on the upload routes instead (web/deadline.go).
		ReadHeaderTimeout: cfg.readHeader,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	srv.TLSConfig = tlsConfig

	printWelcome(stdout, cfg, listenURL, a.fresh, welcomeAdmin{created: created, email: firstAdmin.Email, password: password})

	// Maintenance stops, and is waited for, before the store closes.
	mctx, stopMaintenance := context.WithCancel(ctx)
	maintained := make(chan struct{})
	go func() {
		defer close(maintained)
		maintain(mctx, a, deps.Links, cleanup, log)
	}()
	defer func() {
		stopMaintenance()
		<-maintained
	}()
	// So does the webhook worker. Deliveries it has not sent stay queued
	// in the store, and go out on the next start.
	wctx, stopWebhooks := context.WithCancel(ctx)
	delivered := make(chan struct{})
	go func() {
		defer close(delivered)
		a.webhooks.Run(wctx)
	}()
	defer func() {
		stopWebhooks()
		<-delivered
	}()

	errc := make(chan error, 1)
	go func() {
		errc <- serveHTTP(srv, ln, log)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.shutdown)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.shutdown)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		// Shutdown leaves late handlers running: close their
		// connections so that they end before the store closes.
		srv.Close()
		log.Warn("requests still running at shutdown were cut off", "err", err)
	}
	return nil
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
	if cfg.metricsAddr != "" {
		fmt.Fprintf(w, "  metrics, without authentication: http://%s/metrics\n", cfg.metricsAddr)
	}
	switch {
	case first.created && first.password != "":
		fmt.Fprintf(w, "\nSign in at %s/admin as %s with the password\n\n    %s\n\n", cfg.publicURL, first.email, first.password)
		fmt.Fprintf(w, "It is shown only this once. Change it with: uplink admin reset-password --email %s --data %s\n", first.email, cfg.dataDir)
	case first.created:
		fmt.Fprintf(w, "\nSign in at %s/admin as %s with the password from UPLINK_ADMIN_PASSWORD.\n", cfg.publicURL, first.email)
	}
	if fresh {
		fmt.Fprintf(w, "\nThis is a new data directory. Next steps:\n")
		if cfg.apiKey != "" {
			fmt.Fprintf(w, "  - The API key from UPLINK_API_KEY is accepted.\n")
		} else {
			fmt.Fprintf(w, "  - Create an API key:  uplink apikey create --name my-script --data %s\n", cfg.dataDir)
		}
		fmt.Fprintf(w, "  - Create an upload token:  curl -u \"$API_KEY:\" -X POST %s/upload-tokens -d '{\"ttl\":3600}'\n", cfg.publicURL)
		fmt.Fprintf(w, "  - Upload with it:  curl -F file=@video.mp4 \"%s/upload?token=<token>\"\n", cfg.publicURL)
	}
}

// maintain runs the cleanup job every maintenanceEvery until ctx is done.
func maintain(ctx context.Context, a *app, l *links.Service, c *metrics.Cleanup, log *slog.Logger) {
	t := time.NewTicker(maintenanceEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		maintainOnce(ctx, a, l, c, log)
	}
}

// maintainOnce is one run of the cleanup job: it reclaims abandoned
// uploads (their bytes, and the slots of those through links) and
// orphaned blobs, deletes expired access tokens and ended dashboard
// sessions, and announces expired links. It reports what it did in one
// log line and in the metrics.
func maintainOnce(ctx context.Context, a *app, l *links.Service, c *metrics.Cleanup, log *slog.Logger) {
	failed := false
	fail := func(msg string, err error) {
		failed = true
		log.Error(msg, "err", err)
	}
	r, err := a.ingest.Reclaim(ctx)
	if err != nil {
		fail("reclaiming uploads", err)
	}
	linkUploads, err := l.Reclaim(ctx)
	if err != nil {
		fail("reclaiming link uploads", err)
	}
	tokens, err := a.store.DeleteExpiredAuthTokens(ctx)
	if err != nil {
		fail("deleting expired access tokens", err)
	}
	sessions, err := a.store.DeleteStaleAdminSessions(ctx, web.SessionIdle)
	if err != nil {
		fail("deleting ended dashboard sessions", err)
	}
	// What a failed step did before failing is counted too.
	c.Removed("abandoned_upload", r.Abandoned)
	c.Removed("orphan_blob", r.Orphans)
	c.Removed("abandoned_link_upload", linkUploads)
	c.Removed("expired_auth_token", int(tokens))
	c.Removed("stale_session", int(sessions))
	if r.Abandoned+r.Orphans+linkUploads+int(tokens)+int(sessions) > 0 {
		log.Info("cleaned up", "abandoned_uploads", r.Abandoned, "orphan_blobs", r.Orphans,
			"abandoned_link_uploads", linkUploads, "expired_auth_tokens", tokens, "stale_sessions", sessions)
	}
	if a.webhooks != nil {
		if n, err := a.webhooks.ExpireLinks(ctx); err != nil {
			fail("announcing expired links", err)
		} else if n > 0 {
			log.Info("announced expired links", "count", n)
		}
	}
	c.Ran(time.Now(), failed)
}

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
	"strings"
	"sync"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/store/ingest"
	"github.com/uplink-video/uplink/store/processing"
	"github.com/uplink-video/uplink/web"
	"github.com/uplink-video/uplink/web/account"
	"github.com/uplink-video/uplink/web/links"
	"github.com/uplink-video/uplink/web/metrics"
	"github.com/uplink-video/uplink/web/notify"
	"github.com/uplink-video/uplink/web/webhooks"
)

// Main is one uplink server: its parts, built by Open in the order they
// depend on each other, served by Run, and released by Close (as
// benbjohnson/wtf's cmd/wtfd does it).
type Main struct {
	cfg   serveConfig
	log   *slog.Logger
	hooks ingest.Hooks

	ln        net.Listener
	tlsConfig *tls.Config
	listenURL string
	metricsLn net.Listener

	store    *store.Store
	blobs    blob.Store
	fresh    bool
	metrics  *metrics.Metrics
	cleanup  *metrics.Cleanup
	webhooks *webhooks.Service
	// notify emails about uploads through links; nil without --smtp-url.
	notify *notify.Service
	// processing probes completed uploads and makes their thumbnails and
	// previews; without ffmpeg it is there but queues nothing.
	processing *processing.Service
	ingest     *ingest.Service
	links      *links.Service
	handler    http.Handler
	first      welcomeAdmin

	// stop ends the background work Run started; Close waits for it.
	stop    context.CancelFunc
	workers sync.WaitGroup
}

// NewMain returns a server for cfg, not yet opened. hooks are for crash
// tests only.
func NewMain(cfg serveConfig, log *slog.Logger, hooks ingest.Hooks) *Main {
	return &Main{cfg: cfg, log: log, hooks: hooks}
}

// Open listens, opens the data, recovers uploads a crash interrupted, and
// builds the web application. Requests that arrive meanwhile wait in the
// listen queue.
func (m *Main) Open(ctx context.Context) error {
	if err := m.listen(); err != nil {
		return err
	}
	// One registry per server, passed down: no global collectors. The
	// bucket's client reports to it from its first call.
	m.metrics = newMetrics()
	if s3 := m.cfg.storage.s3; s3 != nil {
		s3.Observe = m.metrics.S3Request()
	}
	st, blobs, fresh, err := openData(ctx, m.cfg.backendConfig)
	if err != nil {
		return err
	}
	m.store, m.blobs, m.fresh = st, blobs, fresh
	m.metrics.WatchPools(st.Pools())
	m.buildServices()
	if err := m.recover(ctx); err != nil {
		return err
	}
	return m.buildWeb(ctx)
}

// listen loads the certificate and opens the listeners, so that a bad
// certificate or a busy port stops uplink before it announces itself.
func (m *Main) listen() error {
	scheme := "http"
	if m.cfg.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(m.cfg.tlsCert, m.cfg.tlsKey)
		if err != nil {
			return fmt.Errorf("load --tls-cert and --tls-key: %w", err)
		}
		m.tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		scheme = "https"
	}
	ln, err := net.Listen("tcp", m.cfg.addr)
	if err != nil {
		return err
	}
	m.ln = ln
	m.listenURL = scheme + "://" + ln.Addr().String()
	if m.cfg.publicURL == "" {
		m.cfg.publicURL = defaultPublicURL(scheme, ln.Addr())
	}
	if m.cfg.metricsAddr != "" {
		mln, err := net.Listen("tcp", m.cfg.metricsAddr)
		if err != nil {
			return fmt.Errorf("listen on --metrics-addr: %w", err)
		}
		m.metricsLn = mln
		m.cfg.metricsAddr = mln.Addr().String()
	}
	return nil
}

// buildServices builds the services over the data: the webhooks first,
// since the upload service and the links announce to them.
func (m *Main) buildServices() {
	m.metrics.WatchState(storeState(m.store))
	m.cleanup = m.metrics.Cleanup()
	// Webhooks refuse private and loopback targets: whoever can add an
	// endpoint must not reach the services next to uplink through it.
	m.webhooks = webhooks.New(m.store, webhooks.Config{
		PublicURL: m.cfg.publicURL, AllowPrivateTargets: m.cfg.webhookPrivate, Version: version(), Logger: m.log,
	})
	if m.cfg.smtp != nil {
		m.notify = notify.New(m.store, notify.Config{
			SMTP: *m.cfg.smtp, From: m.cfg.smtpFrom, PublicURL: m.cfg.publicURL, Logger: m.log,
		})
	}
	m.processing = m.newProcessing()
	m.metrics.WatchJobs(m.store.CountJobs)
	// The webhooks, processing and email hear about completed uploads.
	cfg := ingest.Config{
		Lease: m.cfg.lease, Logger: m.log, Hooks: m.hooks, Events: ingest.Fanout{m.webhooks, m.processing, m.notify},
		Metrics: m.metrics.Uploads(metrics.KindAPI), LinkMetrics: m.metrics.Uploads(metrics.KindLink),
	}
	if m.store.Postgres() {
		// Other instances may share the database: the parts being
		// received are claimed in it, and a start does not take their
		// uploads in progress for its own crash's debris.
		cfg.Claims, cfg.Shared = ingest.NewStoreClaims(m.store), true
	}
	m.ingest = ingest.New(m.store, m.blobs, cfg)
}

// recover finishes or reclaims what a crash left, before any request is
// served, and builds the links service.
func (m *Main) recover(ctx context.Context) error {
	report, err := m.ingest.Recover(ctx)
	if err != nil {
		return fmt.Errorf("recover uploads: %w", err)
	}
	m.log.Info("recovered uploads", "abandoned", report.Abandoned, "orphans", report.Orphans,
		"finished", report.Finished, "missing", report.Missing, "repaired", report.Repaired)
	// A SQLite database has one process, so every running job is one
	// this process's stop or crash interrupted: it runs again. Other
	// instances sharing a PostgreSQL database may be running theirs;
	// the jobs of one that died are taken back when their claims lapse.
	if !m.store.Postgres() {
		if n, err := m.processing.Recover(ctx); err != nil {
			return fmt.Errorf("recover processing jobs: %w", err)
		} else if n > 0 {
			m.log.Info("queued again the processing jobs a stop interrupted", "jobs", n)
		}
	}
	m.cleanup.Removed("abandoned_upload", report.Abandoned)
	m.cleanup.Removed("orphan_blob", report.Orphans)
	m.links, err = newLinks(m.store, m.ingest, m.cfg.backendConfig, ingest.Fanout{m.webhooks, m.notify}, m.metrics.Uploads(metrics.KindLink), m.log)
	if err != nil {
		return err
	}
	// A SQLite database has one process, so every start still pending is
	// one this process's crash interrupted. Other instances sharing a
	// PostgreSQL database may be starting uploads; the starts of one that
	// died are released by the cleanup job when their short lease runs
	// out.
	if m.store.Postgres() {
		return nil
	}
	n, err := m.links.SettleStarts(ctx, m.store.Now())
	if err != nil {
		return fmt.Errorf("settle link uploads: %w", err)
	}
	m.cleanup.Removed("abandoned_link_upload", n)
	return nil
}

// buildWeb creates the first admin on the first start, and the web
// application.
func (m *Main) buildWeb(ctx context.Context) error {
	firstAdmin, password, created, err := account.Bootstrap(ctx, m.store, m.cfg.adminEmail, m.cfg.adminPass)
	if err != nil {
		return err
	}
	if created {
		m.log.Info("created the first dashboard admin", "email", firstAdmin.Email)
	}
	m.first = welcomeAdmin{created: created, email: firstAdmin.Email, password: password}
	hashKey, blockKey, err := m.store.SessionKeys(ctx)
	if err != nil {
		return err
	}
	deps := web.Deps{
		SessionHashKey:  hashKey,
		SessionBlockKey: blockKey,
		SecureCookies:   strings.HasPrefix(m.cfg.publicURL, "https://"),
		DataDir:         m.cfg.dataDir,
		Store:           m.store,
		Ingest:          m.ingest,
		Blobs:           m.blobs,
		Processing:      m.processing,
		Links:           m.links,
		Webhooks:        m.webhooks,
		Notify:          m.notify,
		ExtraAPIKey:     m.cfg.apiKey,
		PublicURL:       m.cfg.publicURL,
		APICORSOrigins:  m.cfg.corsOrigins,
		ChunkSize:       m.cfg.chunkSize,
		ReadIdleTimeout: m.cfg.readIdle,
		Metrics:         m.metrics,
		Version:         version(),
		Logger:          m.log,
	}
	m.handler = web.New(deps)
	return nil
}

// Run serves requests, and runs the cleanup job and the webhook worker,
// until ctx is done; then it shuts the server down gracefully. It tells
// the operator on out where uplink is.
func (m *Main) Run(ctx context.Context, out io.Writer) error {
	srv := &http.Server{
		Handler: m.handler,
		// Headers must arrive promptly; bodies may take as long as a
		// large upload on a slow link needs, so there is no ReadTimeout.
		// An upload whose bytes stop arriving is ended by the idle read
		// deadline on the upload routes instead (web/deadline.go).
		ReadHeaderTimeout: m.cfg.readHeader,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
		TLSConfig:         m.tlsConfig,
	}
	printWelcome(out, m.cfg, m.listenURL, m.fresh, m.first)
	m.startWorkers(ctx)

	errc := make(chan error, 1)
	go func() { errc <- serveHTTP(srv, m.ln, m.log) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	m.log.Info("shutting down", "timeout", m.cfg.shutdown)
	sctx, cancel := context.WithTimeout(context.Background(), m.cfg.shutdown)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		// Shutdown leaves late handlers running: close their
		// connections so that they end before the store closes.
		srv.Close()
		m.log.Warn("requests still running at shutdown were cut off", "err", err)
	}
	return nil
}

// startWorkers starts the background work: the cleanup job, the webhook
// worker (deliveries it has not sent stay queued in the store, and go out
// on the next start), and the metrics listener.
func (m *Main) startWorkers(ctx context.Context) {
	wctx, stop := context.WithCancel(ctx)
	m.stop = stop
	m.workers.Add(4)
	go func() { defer m.workers.Done(); m.maintain(wctx) }()
	// Email waiting in the store goes out, as webhooks do, on this start
	// or the next; a nil notify returns at once.
	go func() { defer m.workers.Done(); m.notify.Run(wctx) }()
	go func() { defer m.workers.Done(); m.webhooks.Run(wctx) }()
	go func() { defer m.workers.Done(); m.processing.Run(wctx) }()
	if m.metricsLn == nil {
		return
	}
	// The metrics are served without authentication, until after the
	// main server stops and before the store closes.
	msrv := metricsServer(m.metrics, m.cfg.readHeader, m.log)
	m.workers.Add(1)
	go func() {
		defer m.workers.Done()
		if err := msrv.Serve(m.metricsLn); !errors.Is(err, http.ErrServerClosed) {
			m.log.Error("serving --metrics-addr", "err", err)
		}
	}()
	context.AfterFunc(wctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := msrv.Shutdown(sctx); err != nil {
			msrv.Close()
		}
	})
}

// Close stops the background work, waits for it, and closes the
// listeners and the store. It is safe to call on a Main that did not
// open, or only partly.
func (m *Main) Close() error {
	if m.stop != nil {
		m.stop()
	}
	m.workers.Wait()
	var errs []error
	if m.ln != nil {
		errs = append(errs, ignoreClosed(m.ln.Close()))
	}
	if m.metricsLn != nil {
		errs = append(errs, ignoreClosed(m.metricsLn.Close()))
	}
	if m.store != nil {
		errs = append(errs, m.store.Close())
	}
	return errors.Join(errs...)
}

func ignoreClosed(err error) error {
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

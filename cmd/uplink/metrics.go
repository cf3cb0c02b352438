package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/web/metrics"
)

// newMetrics builds the registry of one server: uplink's own metrics,
// and the Go runtime's and the process's (memory, goroutines, CPU, open
// files).
func newMetrics() *metrics.Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return metrics.New(reg)
}

// storeState reads the gauges of the metrics from the store, at each
// scrape.
func storeState(st *store.Store) func(context.Context) (metrics.State, error) {
	return func(ctx context.Context) (metrics.State, error) {
		c, err := st.CountStates(ctx)
		if err != nil {
			return metrics.State{}, err
		}
		return metrics.State{
			LinksByState:    c.Links,
			UploadsInFlight: map[string]int{metrics.KindAPI: c.Uploads, metrics.KindLink: c.LinkUploads},
		}, nil
	}
}

// metricsServer serves only GET /metrics, without authentication, for
// --metrics-addr: a Prometheus scraper on a private network.
func metricsServer(m *metrics.Metrics, readHeader time.Duration, log *slog.Logger) *http.Server {
	mux := http.NewServeMux()
	h := m.Handler()
	mux.Handle("GET /metrics", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	}))
	return &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: readHeader,
		ReadTimeout:       time.Minute,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

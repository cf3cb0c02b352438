package metrics

import (
	"database/sql"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// S3Request returns the function that counts and times each request to
// the S3-compatible bucket, for s3store.Config.Observe: the series
// uplink_s3_requests_total{operation,outcome} and
// uplink_s3_request_duration_seconds{operation}. An operation is the
// SDK's name of one call, such as "UploadPart", with its retries; its
// time includes the body sent, but of a body received (GetObject) only
// the wait for its first byte. Call
// S3Request once per Metrics: it registers the collectors.
func (m *Metrics) S3Request() func(operation string, d time.Duration, err error) {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "uplink_s3_requests_total",
		Help: "Calls to the S3-compatible bucket, by operation and outcome (ok or error), retries included in one call.",
	}, []string{"operation", "outcome"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "uplink_s3_request_duration_seconds",
		Help: "Time each call to the S3-compatible bucket took, by operation: retries and the request body included, up to the response headers.",
		// From a HeadObject on a nearby server to a 64 MiB part on a slow
		// link.
		Buckets: prometheus.ExponentialBuckets(0.005, 3, 10),
	}, []string{"operation"})
	m.reg.MustRegister(requests, duration)
	return func(operation string, d time.Duration, err error) {
		outcome := "ok"
		if err != nil {
			outcome = "error"
		}
		requests.WithLabelValues(operation, outcome).Inc()
		duration.WithLabelValues(operation).Observe(d.Seconds())
	}
}

// WatchPools registers the connection pool figures of each database pool
// (open, in use and idle connections, waits for one and their time), as
// the go_sql_* series with the label db_name set to the pool's name.
func (m *Metrics) WatchPools(pools map[string]*sql.DB) {
	for name, db := range pools {
		m.reg.MustRegister(collectors.NewDBStatsCollector(db, name))
	}
}

package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// JobKinds and JobOutcomes are the values of the labels of
// uplink_processing_jobs_total; JobStatuses those of uplink_processing_jobs.
var (
	JobKinds    = []string{"process", "thumbnail"}
	JobOutcomes = []string{"done", "failed", "retry", "interrupted"}
	JobStatuses = []string{"queued", "running", "done", "failed"}
)

// JobBuckets are the bounds, in seconds, of the job duration histogram:
// from a thumbnail of a short clip to the preview of a long film.
var JobBuckets = []float64{0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200}

// Processing counts the attempts at processing jobs (store/processing
// calls it).
type Processing struct {
	jobs     *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// Processing returns the counters of processing jobs, registering them
// on first use.
func (m *Metrics) Processing() *Processing {
	m.processingOnce.Do(func() {
		p := &Processing{
			jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "uplink_processing_jobs_total",
				Help: "Attempts at processing jobs, by kind (process, thumbnail) and outcome (done, failed for good, retry, interrupted by a stop).",
			}, []string{"kind", "outcome"}),
			duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
				Name:    "uplink_processing_job_duration_seconds",
				Help:    "How long an attempt at a processing job ran, by kind.",
				Buckets: JobBuckets,
			}, []string{"kind"}),
		}
		m.reg.MustRegister(p.jobs, p.duration)
		for _, k := range JobKinds {
			p.duration.WithLabelValues(k)
			for _, o := range JobOutcomes {
				p.jobs.WithLabelValues(k, o)
			}
		}
		m.processing = p
	})
	return m.processing
}

// JobFinished counts one attempt at a job. An unknown kind or outcome is
// not counted, so that a caller's mistake cannot create new series.
func (p *Processing) JobFinished(kind, outcome string, d time.Duration) {
	if !known(JobKinds, kind) || !known(JobOutcomes, outcome) {
		return
	}
	p.jobs.WithLabelValues(kind, outcome).Inc()
	p.duration.WithLabelValues(kind).Observe(d.Seconds())
}

func known(set []string, v string) bool {
	for _, s := range set {
		if s == v {
			return true
		}
	}
	return false
}

// WatchJobs registers the gauge uplink_processing_jobs{status}, which
// calls read at every scrape (with a deadline of 10 s): how many jobs the
// queue holds in each status. Call it once.
func (m *Metrics) WatchJobs(read func(context.Context) (map[string]int, error)) {
	m.reg.MustRegister(&jobsCollector{
		read: read,
		desc: prometheus.NewDesc("uplink_processing_jobs", "Processing jobs in the queue, by status.", []string{"status"}, nil),
	})
}

type jobsCollector struct {
	read func(context.Context) (map[string]int, error)
	desc *prometheus.Desc
}

func (c *jobsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *jobsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	counts, err := c.read(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for _, st := range JobStatuses {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[st]), st)
	}
}

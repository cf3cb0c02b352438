// Package metricstest reads a scrape of Prometheus metrics in the text
// format, for tests that check uplink's /metrics through HTTP.
package metricstest

import (
	"io"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Scrape is one parsed scrape: the metric families by name.
type Scrape map[string]*dto.MetricFamily

// Parse parses a scrape in the Prometheus text format, failing the test
// if it is not well-formed.
func Parse(tb testing.TB, r io.Reader) Scrape {
	tb.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		tb.Fatalf("parsing the scrape: %v", err)
	}
	return fams
}

// Value returns the value of the series of name whose labels are exactly
// labels (name, value, name, value...): a counter's or a gauge's value,
// or a histogram's count of observations. It fails the test if there is
// no such series.
func (s Scrape) Value(tb testing.TB, name string, labels ...string) float64 {
	tb.Helper()
	m := s.find(name, labels)
	if m == nil {
		tb.Fatalf("no series %s{%s} in the scrape", name, strings.Join(labels, ","))
		return 0
	}
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	tb.Fatalf("series %s{%s} has no value", name, strings.Join(labels, ","))
	return 0
}

// Has reports whether the scrape has a series of name with exactly these
// labels.
func (s Scrape) Has(name string, labels ...string) bool { return s.find(name, labels) != nil }

// LabelValues returns the values the label takes in the series of name.
func (s Scrape) LabelValues(name, label string) []string {
	var out []string
	if f := s[name]; f != nil {
		for _, m := range f.Metric {
			for _, lp := range m.Label {
				if lp.GetName() == label {
					out = append(out, lp.GetValue())
				}
			}
		}
	}
	return out
}

func (s Scrape) find(name string, labels []string) *dto.Metric {
	f := s[name]
	if f == nil || len(labels)%2 != 0 {
		return nil
	}
	for _, m := range f.Metric {
		if len(m.Label) != len(labels)/2 {
			continue
		}
		ok := true
		for i := 0; i < len(labels); i += 2 {
			found := false
			for _, lp := range m.Label {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					found = true
					break
				}
			}
			ok = ok && found
		}
		if ok {
			return m
		}
	}
	return nil
}

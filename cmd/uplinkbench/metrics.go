package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// partMetricNames are the names under which uplink's /metrics may hold
// its part latency histogram, newest first: the figure is optional, and
// an upload path that is being rewritten may rename it.
func partMetricNames() []string {
	return []string{"uplink_part_commit_seconds", "uplink_upload_part_duration_seconds"}
}

// histogram is a cumulative Prometheus histogram: Counts[i] observations
// were at most Bounds[i]; the last bound is +Inf.
type histogram struct {
	Name   string
	Bounds []float64
	Counts []float64
}

// scrapePartHistogram reads the part latency histogram of one upload
// kind (its "kind" label) from the server's /metrics. It returns an empty
// histogram, and no error, when the server has no such histogram.
func scrapePartHistogram(ctx context.Context, base, apiKey, kind string) (histogram, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/metrics", nil)
	if err != nil {
		return histogram{}, err
	}
	req.SetBasicAuth(apiKey, "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return histogram{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return histogram{}, fmt.Errorf("GET /metrics: HTTP %d", resp.StatusCode)
	}
	found := map[string]*histogram{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		name, rest, ok := strings.Cut(line, "_bucket{")
		if !ok || !slices.Contains(partMetricNames(), name) {
			continue
		}
		labels, value, ok := strings.Cut(rest, "} ")
		if !ok || !strings.Contains(labels, `kind="`+kind+`"`) {
			continue
		}
		_, le, _ := strings.Cut(labels, `le="`)
		le, _, _ = strings.Cut(le, `"`)
		bound, err1 := strconv.ParseFloat(le, 64)
		count, err2 := strconv.ParseFloat(strings.Fields(value)[0], 64)
		if err1 != nil || err2 != nil {
			return histogram{}, fmt.Errorf("/metrics: cannot read %q", line)
		}
		h := found[name]
		if h == nil {
			h = &histogram{Name: name}
			found[name] = h
		}
		h.Bounds = append(h.Bounds, bound)
		h.Counts = append(h.Counts, count)
	}
	if err := sc.Err(); err != nil {
		return histogram{}, err
	}
	for _, name := range partMetricNames() {
		if h := found[name]; h != nil {
			return *h, nil
		}
	}
	return histogram{}, nil
}

// add returns the sum of h and o, which must have the same buckets (one
// of them may be empty).
func (h histogram) add(o histogram) histogram {
	if len(h.Bounds) == 0 {
		return o
	}
	if len(o.Bounds) == 0 {
		return h
	}
	if !slices.Equal(h.Bounds, o.Bounds) {
		return h // Never happens with one binary; keep the first.
	}
	out := histogram{Name: h.Name, Bounds: h.Bounds, Counts: slices.Clone(h.Counts)}
	for i, c := range o.Counts {
		out.Counts[i] += c
	}
	return out
}

// total is the number of observations.
func (h histogram) total() float64 {
	if len(h.Counts) == 0 {
		return 0
	}
	return h.Counts[len(h.Counts)-1]
}

// quantile estimates the q-quantile as Prometheus's histogram_quantile
// does: it finds the bucket that holds the rank and interpolates linearly
// within it. A rank in the +Inf bucket gives the highest finite bound.
// The estimate is only as fine as the buckets. An empty histogram gives 0.
func (h histogram) quantile(q float64) float64 {
	n := h.total()
	if n == 0 || len(h.Bounds) < 2 {
		return 0
	}
	rank := q * n
	i, _ := slices.BinarySearch(h.Counts, rank)
	if i >= len(h.Bounds)-1 {
		return h.Bounds[len(h.Bounds)-2]
	}
	lower, below := 0.0, 0.0
	if i > 0 {
		lower, below = h.Bounds[i-1], h.Counts[i-1]
	}
	inBucket := h.Counts[i] - below
	if inBucket == 0 {
		return h.Bounds[i]
	}
	return lower + (h.Bounds[i]-lower)*(rank-below)/inBucket
}

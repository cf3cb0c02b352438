package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"
)

// Results are one run's figures.
type Results struct {
	Command  string       `json:"command"`
	Quick    bool         `json:"quick"`
	Machine  Machine      `json:"machine"`
	Sizes    sizes        `json:"sizes"`
	Baseline Throughput   `json:"baseline"`
	Direct   Throughput   `json:"direct"`
	Proxy    Throughput   `json:"proxy"`
	Parallel Throughput   `json:"parallel"`
	RSS      []RSS        `json:"peakRSS"`
	Tokens   TokenResults `json:"tokens"`
	Targets  []Target     `json:"targets"`
}

// Machine describes where the run happened.
type Machine struct {
	CPU        string  `json:"cpu"`
	Cores      int     `json:"cores"`
	MemoryGiB  float64 `json:"memoryGiB"`
	Filesystem string  `json:"filesystem"`
	Device     string  `json:"device"`
	OS         string  `json:"os"`
	GoVersion  string  `json:"goVersion"`
	Uplink     string  `json:"uplink"`
}

// Throughput is one timed transfer. MB are 10^6 bytes.
type Throughput struct {
	Name    string  `json:"name"`
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"`
	MBps    float64 `json:"mbPerSecond"`
	// Samples are the baseline's MB/s in each of its runs; MBps is
	// their median.
	Samples []float64 `json:"samplesMBPerSecond,omitempty"`
	// Ratio is MBps over the baseline's.
	Ratio float64 `json:"ratioToBaseline,omitempty"`
	// CPUPerGiB is the server's user+system CPU seconds per GiB moved.
	CPUPerGiB float64 `json:"serverCPUSecondsPerGiB,omitempty"`
	// PeakRSSMiB is the server's VmHWM after the transfer; IdleRSSMiB
	// the same before it.
	PeakRSSMiB float64 `json:"serverPeakRSSMiB,omitempty"`
	IdleRSSMiB float64 `json:"serverIdleRSSMiB,omitempty"`
}

// RSS is a fresh server's peak RSS for one upload of Bytes.
type RSS struct {
	Bytes   int64   `json:"bytes"`
	PeakMiB float64 `json:"peakMiB"`
	IdleMiB float64 `json:"idleMiB"`
}

// TokenResults are the token API's latencies with Count tokens stored.
type TokenResults struct {
	Count       int       `json:"count"`
	SeedSeconds float64   `json:"seedSeconds"`
	Latencies   []Latency `json:"latencies"`
}

// Target is one of issue 6's goals and whether this run met it.
type Target struct {
	Name string  `json:"name"`
	Want string  `json:"want"`
	Got  float64 `json:"got"`
	Met  bool    `json:"met"`
}

func targets(r *Results) []Target {
	small, large, big := r.RSS[0], r.RSS[1], r.RSS[2]
	growth := math.Abs(large.PeakMiB-small.PeakMiB) / small.PeakMiB
	return []Target{
		{Name: "(b)/(a)", Want: "≥ 0.85", Got: round(r.Direct.Ratio, 3), Met: r.Direct.Ratio >= 0.85},
		{Name: "(c)/(a)", Want: "≥ 0.80", Got: round(r.Proxy.Ratio, 3), Met: r.Proxy.Ratio >= 0.8},
		{Name: fmt.Sprintf("peak RSS, %s upload (MiB)", human(big.Bytes)), Want: "< 64", Got: round(big.PeakMiB, 1), Met: big.PeakMiB < 64},
		{Name: fmt.Sprintf("peak RSS, %s vs %s upload", human(large.Bytes), human(small.Bytes)), Want: "within 10%", Got: round(growth, 3), Met: growth <= 0.10},
	}
}

func printTable(w io.Writer, r *Results) {
	m := r.Machine
	fmt.Fprintf(w, "uplinkbench %s\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "uplink %s, %s\n", m.Uplink, m.GoVersion)
	fmt.Fprintf(w, "%s, %d cores, %.1f GiB RAM, %s on %s\n", m.CPU, m.Cores, m.MemoryGiB, m.Filesystem, m.Device)
	if r.Quick {
		fmt.Fprintln(w, "QUICK RUN: sizes scaled down; not comparable with full runs")
	}
	fmt.Fprintln(w)

	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "throughput (MB = 10^6 bytes)\tsize\ttime s\tMB/s\tvs (a)\tserver CPU s/GiB\tserver peak RSS MiB\t")
	for _, t := range []Throughput{r.Baseline, r.Direct, r.Proxy, r.Parallel} {
		ratio, cpu, rss := "-", "-", "-"
		if t.Ratio > 0 {
			ratio = fmt.Sprintf("%.2f", t.Ratio)
			cpu = fmt.Sprintf("%.2f", t.CPUPerGiB)
			rss = fmt.Sprintf("%.1f", t.PeakRSSMiB)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.2f\t%.0f\t%s\t%s\t%s\t\n", t.Name, human(t.Bytes), t.Seconds, t.MBps, ratio, cpu, rss)
	}
	tw.Flush()
	fmt.Fprintf(w, "(a) is the median of %v MB/s, taken before (b), between (b) and (c), and after (c).\n\n", r.Baseline.Samples)

	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "server peak RSS, fresh process per upload\tidle MiB\tpeak MiB\t")
	for _, x := range r.RSS {
		fmt.Fprintf(tw, "one %s upload\t%.1f\t%.1f\t\n", human(x.Bytes), x.IdleMiB, x.PeakMiB)
	}
	tw.Flush()
	fmt.Fprintln(w)

	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "token API, %d tokens stored\tp50 ms\tp99 ms\tsamples\t\n", r.Tokens.Count)
	for _, l := range r.Tokens.Latencies {
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%d\t\n", l.Op, l.P50ms, l.P99ms, l.Samples)
	}
	tw.Flush()
	fmt.Fprintln(w)

	for _, t := range r.Targets {
		verdict := "met"
		if !t.Met {
			verdict = "MISSED"
		}
		fmt.Fprintf(w, "target %s %s: %v, %s\n", t.Name, t.Want, t.Got, verdict)
	}
}

func mbps(n int64, d time.Duration) float64 { return float64(n) / 1e6 / d.Seconds() }

func mib(n int64) float64 { return float64(n) / (1 << 20) }

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

// human writes a power-of-two size the way the issue does: 256 MiB, 2 GiB.
func human(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return strings.TrimSpace(fmt.Sprintf("%d B", n))
}

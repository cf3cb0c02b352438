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
	Command     string  `json:"command"`
	Quick       bool    `json:"quick"`
	WallSeconds float64 `json:"wallSeconds"` // The whole run, builds excluded.
	Machine     Machine `json:"machine"`
	Sizes       sizes   `json:"sizes"`
	// Rounds holds every block of the interleaved rounds, in run order.
	Rounds  []Round   `json:"rounds"`
	Summary []Summary `json:"summary"` // One per size.
	RSS     []RSS     `json:"peakRSS"`
	// Parallel is (d): several direct uploads at once, on one server.
	Parallel *Run         `json:"parallel"`
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

// TokenResults are the token API's latencies with Count tokens stored.
type TokenResults struct {
	Count       int       `json:"count"`
	SeedSeconds float64   `json:"seedSeconds"`
	Latencies   []Latency `json:"latencies"`
}

func printTable(w io.Writer, r *Results) {
	m := r.Machine
	fmt.Fprintf(w, "uplinkbench %s, %s\n", time.Now().UTC().Format(time.RFC3339), r.Command)
	fmt.Fprintf(w, "uplink %s, %s; tusd %s\n", m.Uplink, m.GoVersion, tusdVersion)
	fmt.Fprintf(w, "%s, %d cores, %.1f GiB RAM, %s on %s\n", m.CPU, m.Cores, m.MemoryGiB, m.Filesystem, m.Device)
	fmt.Fprintf(w, "%d rounds, %s parts, run took %.0f s\n", r.Sizes.Rounds, human(r.Sizes.PartBytes), r.WallSeconds)
	if r.Quick {
		fmt.Fprintln(w, "QUICK RUN: sizes scaled down; not comparable with full runs")
	}
	fmt.Fprintln(w)

	for _, s := range r.Summary {
		printRounds(w, r.Rounds, s)
	}
	fmt.Fprintln(w, "(x)/(a): MiB/s over the same round's (a); (x)/(t): uplink's time over the same round's (t).")
	fmt.Fprintln(w, "CPU: the server process's user+system seconds per GiB ((t): tusd's; its fsync runs in the client); (a): this process's over its writes and fsyncs.")
	fmt.Fprintln(w, "(x)−(a): the server's CPU beyond the same round's (a), the kernel's cost of writing the bytes, which swings several times over on a shared virtual machine.")
	fmt.Fprintln(w)

	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "part latency, ms\tsize\tparts\tclient p50\tclient p99\tserver p50\tserver p99\t")
	for _, s := range r.Summary {
		for _, key := range []string{direct, link, tus} {
			l := s.Latency[key]
			sp50, sp99 := "-", "-"
			if l.ServerParts > 0 {
				sp50, sp99 = fmt.Sprintf("%.1f", l.ServerP50ms), fmt.Sprintf("%.1f", l.ServerP99ms)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f\t%.1f\t%s\t%s\t\n", contenderName(key), human(s.Bytes), l.Parts, l.ClientP50ms, l.ClientP99ms, sp50, sp99)
		}
	}
	tw.Flush()
	fmt.Fprintln(w, "client: from the end of a part's body to the end of its answer, every part of every round.")
	if name := serverMetric(r); name != "" {
		fmt.Fprintf(w, "server: %s (from the start of the part's request to its commit), interpolated within its buckets.\n", name)
	}
	fmt.Fprintln(w)

	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "server peak RSS, fresh process per upload\tsize\tidle MiB\tpeak MiB\t")
	for _, x := range r.RSS {
		fmt.Fprintf(tw, "%s\t%s\t%.1f\t%.1f\t\n", contenderName(x.Contender), human(x.Bytes), x.IdleMiB, x.PeakMiB)
	}
	tw.Flush()
	fmt.Fprintln(w)

	if p := r.Parallel; p != nil {
		fmt.Fprintf(w, "(d) %d × %s direct uploads at once: %.0f MiB/s, server CPU %.2f s/GiB, peak RSS %.1f MiB (no baseline beside it)\n\n",
			r.Sizes.Uploads, human(r.Sizes.Parallel), p.MiBps, p.CPUPerGiB, p.PeakRSSMiB)
	}

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

// printRounds prints the rounds at one size and their medians.
func printRounds(w io.Writer, rounds []Round, s Summary) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s, MiB/s\torder\t(a)\t(b)\t(b)/(a)\t(c)\t(c)/(a)\t(t)\t(t)/(a)\t(b)/(t) time\t(c)/(t) time\tCPU (a)\tCPU (b)\tCPU (c)\tCPU (t)\t(b)−(a)\t(c)−(a)\t(t)−(a)\t\n", human(s.Bytes))
	for _, rd := range rounds {
		if rd.Bytes != s.Bytes {
			continue
		}
		a, bb, c, t := rd.Runs[raw], rd.Runs[direct], rd.Runs[link], rd.Runs[tus]
		fmt.Fprintf(tw, "round %d\t%s\t%.0f\t%.0f\t%.2f\t%.0f\t%.2f\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t\n",
			rd.Round, strings.Join(rd.Order, " "), a.MiBps, bb.MiBps, bb.Ratio, c.MiBps, c.Ratio, t.MiBps, t.Ratio,
			bb.TimeOverTus, c.TimeOverTus, a.CPUPerGiB, bb.CPUPerGiB, c.CPUPerGiB, t.CPUPerGiB, bb.CPUOverRaw, c.CPUOverRaw, t.CPUOverRaw)
	}
	fmt.Fprintf(tw, "median\t\t%.0f\t%.0f\t%.2f\t%.0f\t%.2f\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t\n",
		s.MiBps[raw], s.MiBps[direct], s.Ratio[direct], s.MiBps[link], s.Ratio[link], s.MiBps[tus], s.Ratio[tus],
		s.TimeOverTus[direct], s.TimeOverTus[link], s.CPUPerGiB[raw], s.CPUPerGiB[direct], s.CPUPerGiB[link], s.CPUPerGiB[tus],
		s.CPUOverRaw[direct], s.CPUOverRaw[link], s.CPUOverRaw[tus])
	tw.Flush()
	// The proof that no contender's bytes stayed in the page cache: each
	// writer sent at least the file's size to the storage layer.
	fmt.Fprintf(w, "sent to the disk per byte of the file, lowest and median over the rounds:")
	for _, key := range contenders() {
		lowest := math.Inf(1)
		for _, rd := range rounds {
			if run := rd.Runs[key]; rd.Bytes == s.Bytes && run != nil {
				lowest = min(lowest, run.WritesPerByte)
			}
		}
		fmt.Fprintf(w, " (%s) %.3f, %.3f;", key, lowest, s.WritesPerByte[key])
	}
	fmt.Fprint(w, "\n\n")
}

// serverMetric names the histogram the server-side latencies came from.
func serverMetric(r *Results) string {
	for _, s := range r.Summary {
		for _, l := range s.Latency {
			if l.ServerMetric != "" {
				return l.ServerMetric
			}
		}
	}
	return ""
}

// mibps is n bytes over d, in MiB/s.
func mibps(n int64, d time.Duration) float64 { return float64(n) / (1 << 20) / d.Seconds() }

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

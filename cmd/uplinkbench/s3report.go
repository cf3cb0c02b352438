package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// S3Results are one run of the S3 mode.
type S3Results struct {
	Command     string  `json:"command"`
	WallSeconds float64 `json:"wallSeconds"`
	Machine     Machine `json:"machine"`
	// Load is /proc/loadavg's 1, 5 and 15 minute figures at the start
	// and at the end of the run: the machine is shared.
	Load     [2]string   `json:"loadAverage"`
	Endpoint string      `json:"s3Endpoint"`
	Started  bool        `json:"s3StartedByBench"` // versitygw, started by the run.
	Sizes    []int64     `json:"sizes"`
	Rounds   int         `json:"rounds"`
	Skipped  string      `json:"skipped,omitempty"` // Why (u3) did not run.
	Runs     []S3Round   `json:"runs"`
	Summary  []S3Summary `json:"summary"`
	Kills    []S3Kill    `json:"kills"`
	// KillMedians is the median S3Kill.Seconds of each contender.
	KillMedians map[string]float64 `json:"medianSecondsToContinue"`
	Targets     []Target           `json:"targets"`
}

// S3Run is one timed upload of the S3 mode.
type S3Run struct {
	Contender string  `json:"contender"`
	Bytes     int64   `json:"bytes"`
	Seconds   float64 `json:"seconds"`
	MiBps     float64 `json:"mibPerSecond"`
	// UplinkCPUPerGiB is the user+system CPU seconds per GiB of the
	// uplink instances together; 0 for (s1) and (s4).
	UplinkCPUPerGiB float64 `json:"uplinkCPUSecondsPerGiB,omitempty"`
	// S3CPUPerGiB is the S3 server's, when the run started it.
	S3CPUPerGiB float64 `json:"s3CPUSecondsPerGiB,omitempty"`
	// PeakRSSMiB is each instance's VmHWM after the upload; every upload
	// has new instances.
	PeakRSSMiB []float64 `json:"peakRSSMiB,omitempty"`
	// parts are each part's request time as the client sees it: the
	// UploadPart call for (s1) and (s4), the whole HTTP request for
	// uplink.
	parts []time.Duration
}

// S3Round is every contender once, at one size.
type S3Round struct {
	Round int               `json:"round"`
	Bytes int64             `json:"bytes"`
	Order []string          `json:"order"`
	Runs  map[string]*S3Run `json:"runs"`
	// Ratios are the uplink contenders' MiB/s over (s1)'s and (s4)'s
	// in this round, by "u1/s1" and the like.
	Ratios map[string]float64 `json:"ratios"`
}

// S3Summary is the medians over the rounds at one size.
type S3Summary struct {
	Bytes int64              `json:"bytes"`
	MiBps map[string]float64 `json:"medianMiBPerSecond"`
	// Ratio is the median of the per-round S3Round.Ratios.
	Ratio     map[string]float64 `json:"medianRatio"`
	UplinkCPU map[string]float64 `json:"medianUplinkCPUSecondsPerGiB"`
	S3CPU     map[string]float64 `json:"medianS3CPUSecondsPerGiB"`
	// PeakRSSMiB is the highest VmHWM over the rounds of each instance.
	PeakRSSMiB map[string][]float64 `json:"maxPeakRSSMiB"`
	// P50ms and P99ms are over every part of every round.
	P50ms map[string]float64 `json:"partP50Ms"`
	P99ms map[string]float64 `json:"partP99Ms"`
	Parts map[string]int     `json:"parts"`
}

// williams returns the order in which block r runs keys: row r (mod n)
// of a Williams design, as order does for the disk contenders. For an
// even n every key runs once in each position, and follows each other
// key once, over n blocks; for an odd n, once in each position.
func williams(keys []string, r int) []string {
	n := len(keys)
	out := make([]string, n)
	for i := range n {
		j := (i + 1) / 2
		if i > 0 && i%2 == 0 {
			j = n - i/2
		}
		out[i] = keys[(j+r)%n]
	}
	return out
}

// roundRatios returns each uplink contender's MiB/s over (s1)'s and
// (s4)'s in one round.
func roundRatios(runs map[string]*S3Run) map[string]float64 {
	out := map[string]float64{}
	for _, u := range []string{upOne, upOneLink, upThree} {
		for _, d := range []string{s3One, s3Four} {
			if runs[u] != nil && runs[d] != nil && runs[d].MiBps > 0 {
				out[u+"/"+d] = round(runs[u].MiBps/runs[d].MiBps, 3)
			}
		}
	}
	return out
}

// summariseS3 takes the medians over the rounds at one size.
func summariseS3(rounds []S3Round, keys []string, size int64) S3Summary {
	s := S3Summary{Bytes: size, MiBps: map[string]float64{}, Ratio: map[string]float64{}, UplinkCPU: map[string]float64{},
		S3CPU: map[string]float64{}, PeakRSSMiB: map[string][]float64{}, P50ms: map[string]float64{}, P99ms: map[string]float64{}, Parts: map[string]int{}}
	ratios := map[string][]float64{}
	for _, key := range keys {
		var mibps, ucpu, scpu []float64
		var parts []time.Duration
		for _, r := range rounds {
			run := r.Runs[key]
			if r.Bytes != size || run == nil {
				continue
			}
			mibps, ucpu, scpu = append(mibps, run.MiBps), append(ucpu, run.UplinkCPUPerGiB), append(scpu, run.S3CPUPerGiB)
			parts = append(parts, run.parts...)
			peaks := s.PeakRSSMiB[key]
			for i, p := range run.PeakRSSMiB {
				if i == len(peaks) {
					peaks = append(peaks, 0)
				}
				peaks[i] = max(peaks[i], p)
			}
			if len(peaks) > 0 {
				s.PeakRSSMiB[key] = peaks
			}
		}
		s.MiBps[key] = round(median(mibps), 1)
		s.UplinkCPU[key] = round(median(ucpu), 2)
		s.S3CPU[key] = round(median(scpu), 2)
		slices.Sort(parts)
		s.Parts[key] = len(parts)
		s.P50ms[key] = ms(percentile(parts, 0.50))
		s.P99ms[key] = ms(percentile(parts, 0.99))
	}
	for _, r := range rounds {
		if r.Bytes != size {
			continue
		}
		for name, x := range r.Ratios {
			ratios[name] = append(ratios[name], x)
		}
	}
	for name, xs := range ratios {
		s.Ratio[name] = round(median(xs), 3)
	}
	return s
}

// killMedians returns the median time to continue of each contender.
func killMedians(kills []S3Kill) map[string]float64 {
	by := map[string][]float64{}
	for _, k := range kills {
		by[k.Contender] = append(by[k.Contender], k.Seconds)
	}
	out := map[string]float64{}
	for key, xs := range by {
		out[key] = round(median(xs), 3)
	}
	return out
}

// s3Targets judges the run against issue 12's one figure with a target:
// uplink with one instance, one part at a time, at 0.85 of direct S3.
func s3Targets(r *S3Results) []Target {
	var out []Target
	for _, s := range r.Summary {
		for _, name := range []string{upOne + "/" + s3One, upOneLink + "/" + s3One} {
			if got, ok := s.Ratio[name]; ok {
				out = append(out, Target{Name: name + ", " + human(s.Bytes), Want: "≥ 0.85", Got: got, Met: got >= 0.85})
			}
		}
	}
	return out
}

// printS3 prints the S3 mode's figures as tables.
func printS3(w io.Writer, r *S3Results) {
	m := r.Machine
	fmt.Fprintf(w, "uplinkbench --s3 %s, %s\n", time.Now().UTC().Format(time.RFC3339), r.Command)
	fmt.Fprintf(w, "uplink %s, %s; %s, %d cores, %.1f GiB RAM, %s on %s\n", m.Uplink, m.GoVersion, m.CPU, m.Cores, m.MemoryGiB, m.Filesystem, m.Device)
	who := "an existing server"
	if r.Started {
		who = "versitygw (posix backend), started by the run"
	}
	fmt.Fprintf(w, "S3: %s at %s; %d rounds; run took %.0f s; load average %s at the start, %s at the end\n", who, r.Endpoint, r.Rounds, r.WallSeconds, r.Load[0], r.Load[1])
	if r.Skipped != "" {
		fmt.Fprintln(w, r.Skipped)
	}
	for _, s := range r.Summary {
		fmt.Fprintf(w, "\n%s, per round (MiB/s):\n", human(s.Bytes))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range s.MiBps {
				if !yield(k) {
					return
				}
			}
		})
		fmt.Fprintf(tw, "round\torder\t%s\tu1/s1\tu1/s4\t\n", strings.Join(keys, "\t"))
		for _, rd := range r.Runs {
			if rd.Bytes != s.Bytes {
				continue
			}
			fmt.Fprintf(tw, "%d\t%s\t", rd.Round, strings.Join(rd.Order, " "))
			for _, k := range keys {
				fmt.Fprintf(tw, "%.0f\t", rd.Runs[k].MiBps)
			}
			fmt.Fprintf(tw, "%.2f\t%.2f\t\n", rd.Ratios[upOne+"/"+s3One], rd.Ratios[upOne+"/"+s3Four])
		}
		tw.Flush()
		fmt.Fprintf(w, "\n%s, medians over the rounds:\n", human(s.Bytes))
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "contender\tMiB/s\t/s1\t/s4\tuplink CPU s/GiB\tS3 CPU s/GiB\tpeak RSS MiB\tparts\tp50 ms\tp99 ms")
		for _, k := range keys {
			fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%d\t%.1f\t%.1f\n", s3ContenderName(k), s.MiBps[k],
				ratioCell(s.Ratio, k+"/"+s3One), ratioCell(s.Ratio, k+"/"+s3Four), cpuCell(s.UplinkCPU[k]), cpuCell(s.S3CPU[k]),
				rssCell(s.PeakRSSMiB[k]), s.Parts[k], s.P50ms[k], s.P99ms[k])
		}
		tw.Flush()
	}
	fmt.Fprintln(w, "\nSIGKILL of the instance receiving a part, halfway through its body:")
	for _, k := range r.Kills {
		fmt.Fprintf(w, "  round %d, %s: part %d/%d committed %.2f s after the kill, %d attempts (%s)\n", k.Round, s3ContenderName(k.Contender), k.Part, k.Parts, k.Seconds, k.Attempts, k.Answers)
		if k.Refusal != "" {
			fmt.Fprintf(w, "    last refusal: %s\n", strings.Join(strings.Fields(k.Refusal), " "))
		}
	}
	for _, t := range r.Targets {
		verdict := "met"
		if !t.Met {
			verdict = "MISSED"
		}
		fmt.Fprintf(w, "target %s %s: %.3f, %s\n", t.Name, t.Want, t.Got, verdict)
	}
}

func ratioCell(ratios map[string]float64, name string) string {
	if x, ok := ratios[name]; ok {
		return fmt.Sprintf("%.2f", x)
	}
	return ""
}

func rssCell(peaks []float64) string {
	var out []string
	for _, p := range peaks {
		out = append(out, fmt.Sprintf("%.1f", p))
	}
	return strings.Join(out, ", ")
}

// cpuCell prints a CPU figure, or "-" where there is none (no uplink in
// (s1) and (s4), no S3 server's process to read with --s3-endpoint).
func cpuCell(x float64) string {
	if x == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", x)
}

package main

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// The contenders, by the names issue 11 gives them.
const (
	raw    = "a" // The test file written with os.File, fsync after each part.
	direct = "b" // POST /upload?token=, the official clients' format.
	link   = "c" // A link: POST /u/{id}/uploads, then PUT each part.
	tus    = "t" // tusd's file store over tus, then an fsync of its file.
)

// contenders lists the contenders in their canonical order.
func contenders() []string { return []string{raw, direct, link, tus} }

// contenderName describes a contender in tables.
func contenderName(key string) string {
	switch key {
	case raw:
		return "(a) os.File, fsync per part, writeback hints"
	case direct:
		return "(b) POST /upload"
	case link:
		return "(c) link PUT"
	case tus:
		return "(t) tusd " + tusdVersion + " + fsync"
	}
	return key
}

// order returns the order in which block r of a run writes the
// contenders: row r (mod 4) of a Williams Latin square. Row 0 is a, b, t,
// c (the contenders' indices 0, 1, n-1, 2, n-2, ...) and each later row adds
// one to every index, so the order rotates. Over four blocks each
// contender runs once in each position and directly follows each other
// contender exactly once: none always inherits the disk state (writeback
// in progress, a warm or cold journal) that the same other one leaves
// behind.
func order(r int) []string { return williams(contenders(), r) }

// Run is one timed upload (or, for (a), one timed write) of the test file.
type Run struct {
	Contender string  `json:"contender"`
	Bytes     int64   `json:"bytes"`
	Seconds   float64 `json:"seconds"`
	MiBps     float64 `json:"mibPerSecond"`
	// Ratio is MiBps over that of the same round's (a) at the same size.
	Ratio float64 `json:"ratioToRaw,omitempty"`
	// TimeOverTus is, for (b) and (c), Seconds over the same round's (t).
	TimeOverTus float64 `json:"timeOverTus,omitempty"`
	// CPUPerGiB is the server's user+system CPU seconds per GiB moved;
	// for (a), this process's over its writes and fsyncs.
	CPUPerGiB float64 `json:"serverCPUSecondsPerGiB,omitempty"`
	// CPUOverRaw is, for (b), (c) and (t), CPUPerGiB minus the same
	// round's (a): what the server spends beyond the kernel's cost of
	// writing the bytes, which on a virtual machine swings several times
	// over from minute to minute.
	CPUOverRaw float64 `json:"serverCPUSecondsPerGiBOverRaw,omitempty"`
	// PeakRSSMiB is the server's VmHWM after the upload; IdleRSSMiB the
	// same before it. Each upload has a fresh server.
	PeakRSSMiB float64 `json:"serverPeakRSSMiB,omitempty"`
	IdleRSSMiB float64 `json:"serverIdleRSSMiB,omitempty"`
	// WritesPerByte is what the writing process (the server, or this
	// one for (a)) sent to the storage layer, per byte of the file.
	WritesPerByte float64 `json:"diskWritesPerByte,omitempty"`

	waits []time.Duration // Each part's wait for its answer (see response.wait).
	hist  histogram       // The server's part latency histogram after the upload.
}

// Round is one block of a run: every contender once, at one size.
type Round struct {
	Round int             `json:"round"` // From 1.
	Bytes int64           `json:"bytes"`
	Order []string        `json:"order"`
	Runs  map[string]*Run `json:"runs"` // By contender.
}

// Summary is the medians over the rounds at one size.
type Summary struct {
	Bytes int64 `json:"bytes"`
	// MiBps is each contender's median MiB/s.
	MiBps map[string]float64 `json:"medianMiBPerSecond"`
	// Ratio is the median of the per-round ratios to (a).
	Ratio map[string]float64 `json:"medianRatioToRaw"`
	// TimeOverTus is the median of the per-round uplink/(t) times.
	TimeOverTus map[string]float64 `json:"medianTimeOverTus"`
	CPUPerGiB   map[string]float64 `json:"medianServerCPUSecondsPerGiB"`
	// CPUOverRaw is the median of the per-round Run.CPUOverRaw.
	CPUOverRaw map[string]float64 `json:"medianServerCPUSecondsPerGiBOverRaw"`
	// WritesPerByte is each contender's median Run.WritesPerByte.
	WritesPerByte map[string]float64     `json:"medianDiskWritesPerByte"`
	Latency       map[string]PartLatency `json:"partLatency"`
}

// PartLatency is the spread of the parts' waits over every round at one
// size: client-side, from the end of a part's body to the end of its
// answer; server-side, from the uplink histogram (the start of the part's
// request to its commit), when the server has one.
type PartLatency struct {
	Parts        int     `json:"parts"`
	ClientP50ms  float64 `json:"clientP50Ms"`
	ClientP99ms  float64 `json:"clientP99Ms"`
	ServerMetric string  `json:"serverMetric,omitempty"`
	ServerParts  int     `json:"serverParts,omitempty"`
	ServerP50ms  float64 `json:"serverP50Ms,omitempty"`
	ServerP99ms  float64 `json:"serverP99Ms,omitempty"`
}

// RSS is a fresh server's peak RSS for one upload.
type RSS struct {
	Contender string  `json:"contender"`
	Bytes     int64   `json:"bytes"`
	PeakMiB   float64 `json:"peakMiB"`
	IdleMiB   float64 `json:"idleMiB"`
}

// summarise takes the medians at one size over the rounds.
func summarise(rounds []Round, size int64) Summary {
	s := Summary{Bytes: size, MiBps: map[string]float64{}, Ratio: map[string]float64{},
		TimeOverTus: map[string]float64{}, CPUPerGiB: map[string]float64{}, CPUOverRaw: map[string]float64{}, WritesPerByte: map[string]float64{}, Latency: map[string]PartLatency{}}
	for _, key := range contenders() {
		var mibps, ratio, vsTus, cpu, overRaw, writes []float64
		var waits []time.Duration
		var hist histogram
		for _, r := range rounds {
			run := r.Runs[key]
			if r.Bytes != size || run == nil {
				continue
			}
			mibps = append(mibps, run.MiBps)
			ratio = append(ratio, run.Ratio)
			vsTus = append(vsTus, run.TimeOverTus)
			cpu = append(cpu, run.CPUPerGiB)
			overRaw = append(overRaw, run.CPUOverRaw)
			writes = append(writes, run.WritesPerByte)
			waits = append(waits, run.waits...)
			hist = hist.add(run.hist)
		}
		s.MiBps[key] = median(mibps) // Not rounded: the table rounds once.
		s.WritesPerByte[key] = round(median(writes), 3)
		s.CPUPerGiB[key] = round(median(cpu), 2)
		if key == raw {
			continue
		}
		s.Ratio[key] = round(median(ratio), 3)
		s.CPUOverRaw[key] = round(median(overRaw), 2)
		if key != tus {
			s.TimeOverTus[key] = round(median(vsTus), 3)
		}
		slices.Sort(waits)
		l := PartLatency{Parts: len(waits), ClientP50ms: ms(percentile(waits, 0.50)), ClientP99ms: ms(percentile(waits, 0.99))}
		if n := hist.total(); n > 0 {
			l.ServerMetric, l.ServerParts = hist.Name, int(n)
			l.ServerP50ms = round(hist.quantile(0.50)*1000, 1)
			l.ServerP99ms = round(hist.quantile(0.99)*1000, 1)
		}
		s.Latency[key] = l
	}
	return s
}

// median returns the median of xs (the mean of the middle two for an
// even count), or 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Target is one of issue 11's goals and whether this run met it.
type Target struct {
	Name string  `json:"name"`
	Want string  `json:"want"`
	Got  float64 `json:"got"`
	Met  bool    `json:"met"`
}

// targets judges the run against issue 11's goals: the ratios and CPU
// costs at each size (medians over the rounds), and the memory of (b)
// and (c) for the small and the large upload.
func targets(r *Results) []Target {
	var out []Target
	atMost := func(name string, got, limit float64) {
		out = append(out, Target{Name: name, Want: fmt.Sprintf("≤ %.2f", limit), Got: got, Met: got <= limit})
	}
	atLeast := func(name string, got, limit float64) {
		out = append(out, Target{Name: name, Want: fmt.Sprintf("≥ %.2f", limit), Got: got, Met: got >= limit})
	}
	for _, s := range r.Summary {
		at := ", " + human(s.Bytes)
		atLeast("(b)/(a)"+at, s.Ratio[direct], 0.90)
		atLeast("(c)/(a)"+at, s.Ratio[link], 0.85)
		atMost("(b) time / (t) time"+at, s.TimeOverTus[direct], 1.0)
		atMost("(c) time / (t) time"+at, s.TimeOverTus[link], 1.0)
		atMost("(b) server CPU s/GiB"+at, s.CPUPerGiB[direct], 1.8)
		atMost("(c) server CPU s/GiB"+at, s.CPUPerGiB[link], 2.5)
	}
	for _, key := range []string{direct, link} {
		var peaks []RSS
		for _, x := range r.RSS {
			if x.Contender == key {
				peaks = append(peaks, x)
			}
		}
		if len(peaks) != 2 {
			continue
		}
		small, large := peaks[0], peaks[1]
		name := fmt.Sprintf("(%s) peak RSS MiB, %s upload", key, human(large.Bytes))
		out = append(out, Target{Name: name, Want: "< 64", Got: round(large.PeakMiB, 1), Met: large.PeakMiB < 64 && small.PeakMiB < 64})
		growth := large.PeakMiB/small.PeakMiB - 1
		name = fmt.Sprintf("(%s) peak RSS, %s over %s, minus 1", key, human(large.Bytes), human(small.Bytes))
		out = append(out, Target{Name: name, Want: "within ±0.10", Got: round(growth, 3), Met: math.Abs(growth) <= 0.10})
	}
	return out
}

package main

import (
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestWilliamsIsAPermutationInEveryPosition checks the S3 mode's orders:
// with 4 or 5 contenders, every block runs each contender once, and over
// as many blocks as contenders each contender runs once in each position.
func TestWilliamsIsAPermutationInEveryPosition(t *testing.T) {
	for _, keys := range [][]string{{s3One, s3Four, upOne, upOneLink}, {s3One, s3Four, upOne, upOneLink, upThree}} {
		seen := make([]map[string]bool, len(keys))
		for i := range seen {
			seen[i] = map[string]bool{}
		}
		for r := range len(keys) {
			o := williams(keys, r)
			if got, want := slices.Sorted(slices.Values(o)), slices.Sorted(slices.Values(keys)); !slices.Equal(got, want) {
				t.Fatalf("williams(%v, %d)=%v, want a permutation", keys, r, o)
			}
			for i, k := range o {
				seen[i][k] = true
			}
		}
		for i, s := range seen {
			if got, want := len(s), len(keys); got != want {
				t.Errorf("%d contenders: position %d holds %d of them over %d blocks, want=%d", len(keys), i, got, len(keys), want)
			}
		}
	}
}

// TestSummariseS3 checks the medians: the ratio is the median of the
// per-round ratios (not the ratio of the median speeds), the peak RSS is
// the highest of each instance over the rounds, and the percentiles are
// over every part of every round.
func TestSummariseS3(t *testing.T) {
	run := func(key string, mibps float64, rss []float64, parts ...time.Duration) *S3Run {
		return &S3Run{Contender: key, MiBps: mibps, PeakRSSMiB: rss, parts: parts}
	}
	ms := time.Millisecond
	var rounds []S3Round
	for i, speeds := range [][2]float64{{100, 50}, {200, 190}, {50, 45}} {
		runs := map[string]*S3Run{
			s3One: run(s3One, speeds[0], nil, 10*ms, 20*ms),
			upOne: run(upOne, speeds[1], []float64{30 + float64(i), 40 - float64(i)}, 30*ms, time.Duration(40+i)*ms),
		}
		rounds = append(rounds, S3Round{Round: i + 1, Bytes: 1 << 30, Runs: runs, Ratios: roundRatios(runs)})
	}
	rounds = append(rounds, S3Round{Round: 1, Bytes: 2 << 30, Runs: map[string]*S3Run{s3One: run(s3One, 1, nil)}})
	s := summariseS3(rounds, []string{s3One, upOne}, 1<<30)
	// The per-round ratios are 0.5, 0.95 and 0.9, whose median is 0.9;
	// the ratio of the median speeds would be 50/100 = 0.5.
	if got, want := rounds[1].Ratios["u1/s1"], 0.95; got != want {
		t.Errorf("round 2 u1/s1=%v, want=%v", got, want)
	}
	if got, want := s.Ratio["u1/s1"], 0.9; got != want {
		t.Errorf("median u1/s1=%v, want=%v", got, want)
	}
	if _, ok := s.Ratio["u1/s4"]; ok {
		t.Errorf("u1/s4 has a ratio with no (s4) run")
	}
	if got, want := s.PeakRSSMiB[upOne], []float64{32, 40}; !slices.Equal(got, want) {
		t.Errorf("peak RSS=%v, want=%v", got, want)
	}
	if got, want := s.MiBps[s3One], 100.0; got != want {
		t.Errorf("s1 MiB/s=%v, want=%v", got, want)
	}
	if got, want := s.Parts[upOne], 6; got != want {
		t.Errorf("u1 parts=%v, want=%v", got, want)
	}
	if got, want := s.P50ms[upOne], 30.0; got != want {
		t.Errorf("u1 p50=%v, want=%v", got, want)
	}
	if got, want := s.P99ms[upOne], 42.0; got != want {
		t.Errorf("u1 p99=%v, want=%v", got, want)
	}
	if got, want := killMedians([]S3Kill{{Contender: upOne, Seconds: 3}, {Contender: upOne, Seconds: 1}, {Contender: upOne, Seconds: 2}}), 2.0; got[upOne] != want {
		t.Errorf("kill median=%v, want=%v", got[upOne], want)
	}
}

func TestS3Flags(t *testing.T) {
	for _, tc := range []struct {
		description string
		args        []string
		want        string
	}{
		{"--database needs --s3", []string{"--database", "postgres://u@h/db"}, "go with --s3"},
		{"--s3-endpoint needs --s3", []string{"--s3-endpoint", "http://127.0.0.1:7070"}, "go with --s3"},
		{"--database must be a PostgreSQL URL", []string{"--s3", "--database", "mysql://h/db"}, "postgres://"},
	} {
		err := run(context.Background(), tc.args, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: run(%q)=%v, want an error with %q", tc.description, tc.args, err, tc.want)
		}
	}
	if err := checkDatabaseURL("postgresql://u@h/db"); err != nil {
		t.Errorf("checkDatabaseURL(postgresql://)=%v, want=nil", err)
	}
}

func TestRedactDatabase(t *testing.T) {
	got := redactDatabase([]string{"--s3", "--database", "postgres://bench:secret@h/db", "--database=postgres://u:pw@h/db"})
	want := []string{"--s3", "--database", "postgres://bench:xxxxx@h/db", "--database=postgres://u:xxxxx@h/db"}
	if !slices.Equal(got, want) {
		t.Errorf("redactDatabase=%q, want=%q", got, want)
	}
}

func TestCountRuns(t *testing.T) {
	for _, tc := range []struct {
		answers []string
		want    string
	}{
		{nil, ""},
		{[]string{"201"}, "201"},
		{[]string{"503", "503", "502", "503", "201"}, "503 ×2, 502, 503, 201"},
	} {
		if got := countRuns(tc.answers); got != tc.want {
			t.Errorf("countRuns(%q)=%q, want=%q", tc.answers, got, tc.want)
		}
	}
}

package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// A small load run against a real "uplink serve": every file comes back
// identical and the figures are reported. The full run (100 uploads of
// 20 MiB) is a step of .ci/run of its own.
func TestLoadSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and uploads 44 MiB")
	}
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"-uploads", "4", "-size", "11MiB", "-part", "5MiB", "-dir", t.TempDir()}, &out, &errb)
	t.Logf("output:\n%s", out.String())
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errb.String())
	}
	for _, want := range []string{"identical: 4 of 4 files", "failed: 0", "part latency: p50 ", "(n=12)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the report lacks %q", want)
		}
	}
}

func TestFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		ok   bool
	}{
		{nil, true},
		{[]string{"-size", "1GiB", "-part", "128MiB"}, true},
		{[]string{"-part", "4MiB"}, false},
		{[]string{"-size", "-1"}, false},
		{[]string{"-size", "99999999999GiB"}, false},
		{[]string{"-uploads", "0"}, false},
		{[]string{"-size", "100GiB", "-part", "5MiB"}, false},
		{[]string{"-url", "http://127.0.0.1:1"}, false},
		{[]string{"extra"}, false},
	} {
		_, err := parseFlags(tt.args, &bytes.Buffer{})
		if got := err == nil; got != tt.ok {
			t.Errorf("parseFlags(%q): err=%v, want ok=%v", tt.args, err, tt.ok)
		}
	}
}

func TestQuantiles(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	if got, want := quantiles(ds), "p50 50ms, p90 90ms, p99 99ms, max 100ms (n=100)"; got != want {
		t.Errorf("quantiles=%q, want=%q", got, want)
	}
	if got := quantiles(nil); got != "none" {
		t.Errorf("quantiles(nil)=%q", got)
	}
}

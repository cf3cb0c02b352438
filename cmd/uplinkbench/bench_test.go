package main

import (
	"slices"
	"testing"
)

// TestOrderIsBalanced checks the property the interleaving relies on:
// over four blocks, every contender runs once in each position and
// directly follows every other contender exactly once.
func TestOrderIsBalanced(t *testing.T) {
	keys := contenders()
	follows := map[[2]string]int{}
	for r := range len(keys) {
		o := order(r)
		if got := slices.Sorted(slices.Values(o)); !slices.Equal(got, slices.Sorted(slices.Values(keys))) {
			t.Fatalf("order(%d)=%v, want a permutation of %v", r, o, keys)
		}
		if o[0] != keys[r] {
			t.Errorf("order(%d) starts with %s, want %s", r, o[0], keys[r])
		}
		for i := 1; i < len(o); i++ {
			follows[[2]string{o[i-1], o[i]}]++
		}
	}
	for _, x := range keys {
		for _, y := range keys {
			if x != y && follows[[2]string{x, y}] != 1 {
				t.Errorf("%s follows %s %d times over four blocks, want once", y, x, follows[[2]string{x, y}])
			}
		}
	}
}

func TestHistogramQuantile(t *testing.T) {
	h := histogram{Bounds: []float64{0.05, 0.1, 0.25, 1e308}, Counts: []float64{0, 10, 20, 20}}
	for _, tc := range []struct {
		q, want float64
	}{{0.5, 0.1}, {0.25, 0.075}, {0.75, 0.175}, {1, 0.25}} {
		if got := h.quantile(tc.q); got < tc.want-1e-9 || got > tc.want+1e-9 {
			t.Errorf("quantile(%v)=%v, want=%v", tc.q, got, tc.want)
		}
	}
	if got := (histogram{}).quantile(0.5); got != 0 {
		t.Errorf("empty quantile=%v, want=0", got)
	}
}

func TestParseSizes(t *testing.T) {
	got, err := parseSizes("1GiB, 512MiB,4096")
	if want := []int64{1 << 30, 512 << 20, 4096}; err != nil || !slices.Equal(got, want) {
		t.Errorf("parseSizes=%v, %v, want=%v", got, err, want)
	}
	for _, bad := range []string{"", "1GB", "-1MiB", "x"} {
		if _, err := parseSizes(bad); err == nil {
			t.Errorf("parseSizes(%q) gave no error", bad)
		}
	}
	if got := median([]float64{3, 1, 2, 10}); got != 2.5 {
		t.Errorf("median=%v, want=2.5", got)
	}
}

package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/uplink-video/uplink/store"
)

// seedTokens creates n upload tokens in the database of the data
// directory data, through the store package (one transaction per token,
// exactly as POST /upload-tokens does), before the server is started. A
// tenth never expire; the others live from one hour to thirty days, so
// that sorting by ttl has work to do. It returns the tokens' IDs.
func seedTokens(ctx context.Context, data string, n int, progress io.Writer) ([]string, error) {
	if err := os.MkdirAll(data, 0o750); err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, filepath.Join(data, "uplink.db"))
	if err != nil {
		return nil, err
	}
	defer st.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	ids := make([]string, 0, n)
	start := time.Now()
	for i := range n {
		ttl := 0
		if i%10 != 0 {
			ttl = 3600 + rng.IntN(30*24*3600)
		}
		t, err := st.CreateUploadToken(ctx, ttl)
		if err != nil {
			return nil, err
		}
		ids = append(ids, t.ID)
		if (i+1)%10000 == 0 {
			fmt.Fprintf(progress, "  %d tokens (%.0f/s)\n", i+1, float64(i+1)/time.Since(start).Seconds())
		}
	}
	return ids, nil
}

// tokens seeds the store and times the token API.
func (b *bench) tokens(ctx context.Context) (TokenResults, error) {
	data := b.dataDir()
	defer b.cleanup(data)
	start := time.Now()
	ids, err := seedTokens(ctx, data, b.sz.Tokens, b.log)
	if err != nil {
		return TokenResults{}, err
	}
	seeded := time.Since(start)
	s, err := startServer(ctx, b.bin, data, b.apiKey)
	if err != nil {
		return TokenResults{}, err
	}
	defer s.Stop()
	settle()
	lat, err := measureTokens(s.URL, b.apiKey, ids, b.sz.Samples)
	if err != nil {
		return TokenResults{}, fmt.Errorf("%w\nserver log:\n%s", err, s.logTail())
	}
	return TokenResults{Count: b.sz.Tokens, SeedSeconds: seeded.Seconds(), Latencies: lat}, nil
}

// Latency is the spread of one API call's response times.
type Latency struct {
	Op      string  `json:"op"`
	Samples int     `json:"samples"`
	P50ms   float64 `json:"p50Ms"`
	P99ms   float64 `json:"p99Ms"`
}

// measureTokens times the token API calls against a server holding the
// seeded tokens: each call samples times, one after another, after a
// short warm-up.
func measureTokens(base, apiKey string, ids []string, samples int) ([]Latency, error) {
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	rng := rand.New(rand.NewPCG(3, 4))
	calls := []struct {
		op     string
		method string
		url    func() string
		body   string
	}{
		{"create", "POST", func() string { return base + "/upload-tokens" }, `{"ttl":3600}`},
		{"get", "GET", func() string { return base + "/upload-tokens/" + ids[rng.IntN(len(ids))] }, ""},
		{"list createdAt page 1", "GET", func() string { return base + "/upload-tokens?sortBy=createdAt&sortOrder=asc&currentPage=1" }, ""},
		{"list createdAt page 400", "GET", func() string { return base + "/upload-tokens?sortBy=createdAt&sortOrder=asc&currentPage=400" }, ""},
		{"list ttl page 1", "GET", func() string { return base + "/upload-tokens?sortBy=ttl&sortOrder=asc&currentPage=1" }, ""},
		{"list ttl page 400", "GET", func() string { return base + "/upload-tokens?sortBy=ttl&sortOrder=asc&currentPage=400" }, ""},
	}
	var out []Latency
	for _, call := range calls {
		var times []time.Duration
		for i := -min(20, samples/5); i < samples; i++ {
			var list struct {
				Data []struct{} `json:"data"`
			}
			t0 := time.Now()
			if err := apiCall(c, call.method, call.url(), apiKey, call.body, &list); err != nil {
				return nil, fmt.Errorf("%s: %w", call.op, err)
			}
			d := time.Since(t0)
			if call.method == "GET" && call.op != "get" && len(list.Data) == 0 {
				return nil, fmt.Errorf("%s: the page is empty", call.op)
			}
			if i >= 0 {
				times = append(times, d)
			}
		}
		slices.Sort(times)
		out = append(out, Latency{Op: call.op, Samples: len(times), P50ms: ms(percentile(times, 0.50)), P99ms: ms(percentile(times, 0.99))})
	}
	return out, nil
}

// percentile returns the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

package web

import (
	"strings"
	"sync"
	"time"
)

// loginThrottle limits failed sign-ins per account and per client address
// over a sliding window, in memory. A restart forgets the counts, which
// only ever helps a person locked out by mistake.
type loginThrottle struct {
	mu         sync.Mutex
	failures   map[string][]time.Time
	window     time.Duration
	perAccount int
	perIP      int
	now        func() time.Time
	// swept is when fail last dropped every key with no recent failure.
	swept time.Time
}

func newLoginThrottle(now func() time.Time) *loginThrottle {
	return &loginThrottle{
		failures:   map[string][]time.Time{},
		window:     15 * time.Minute,
		perAccount: 5,
		perIP:      20,
		now:        now,
	}
}

func accountKey(email string) string { return "account:" + strings.ToLower(strings.TrimSpace(email)) }
func ipKey(ip string) string         { return "ip:" + ip }

// blocked reports whether the account or the address has failed too often,
// and for how long it stays blocked.
func (t *loginThrottle) blocked(email, ip string) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var wait time.Duration
	for _, k := range []struct {
		key   string
		limit int
	}{{accountKey(email), t.perAccount}, {ipKey(ip), t.perIP}} {
		fs := t.recent(k.key)
		if len(fs) >= k.limit {
			wait = max(wait, fs[len(fs)-k.limit].Add(t.window).Sub(t.now()))
		}
	}
	return wait > 0, wait
}

// fail records a failed sign-in. Once per window it also drops the keys
// whose failures have all expired: otherwise every email and address ever
// tried would stay in memory.
func (t *loginThrottle) fail(email, ip string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if now.Sub(t.swept) >= t.window {
		for k := range t.failures {
			t.recent(k)
		}
		t.swept = now
	}
	for _, k := range []string{accountKey(email), ipKey(ip)} {
		t.failures[k] = append(t.recent(k), now)
	}
}

// succeed forgets an account's failures once its owner signs in.
func (t *loginThrottle) succeed(email string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.failures, accountKey(email))
}

// recent returns the failures of key inside the window, dropping older
// ones. The caller holds mu.
func (t *loginThrottle) recent(key string) []time.Time {
	fs := t.failures[key]
	cut := t.now().Add(-t.window)
	i := 0
	for i < len(fs) && !fs[i].After(cut) {
		i++
	}
	fs = fs[i:]
	if len(fs) == 0 {
		delete(t.failures, key)
	} else {
		t.failures[key] = fs
	}
	return fs
}

// Package ratelimit limits how often each client may make a kind of
// request: one token bucket per client address, kept in memory.
//
// It is deliberately small. golang.org/x/time/rate would do the bucket
// arithmetic, but not the part that matters here, one bucket per address
// with bounded memory, and it is one function of ours with an injected
// clock that tests can drive.
package ratelimit

import (
	"math"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// Rate is how often a client may make a kind of request: Burst at once
// after a quiet spell, then PerMinute on average.
type Rate struct {
	PerMinute float64
	Burst     int
}

// Unlimited is a Rate that never refuses a request.
var Unlimited = Rate{PerMinute: math.Inf(1), Burst: math.MaxInt32}

// IsZero reports whether r is the zero Rate, which callers read as "use
// the default".
func (r Rate) IsZero() bool { return r == Rate{} }

func (r Rate) unlimited() bool { return math.IsInf(r.PerMinute, 1) }

// DefaultMaxKeys is how many client addresses a Limiter remembers at most
// when New is given 0: about 100 bytes each, so a few megabytes.
const DefaultMaxKeys = 50_000

// Limiter holds one token bucket per key. Its zero value is not usable;
// a nil *Limiter allows everything.
//
// A bucket is kept as the time at which it will be full again (the
// "theoretical arrival time" of GCRA), which is exact where counting
// fractional tokens drifts, and is one word per client.
type Limiter struct {
	now     func() time.Time
	maxKeys int
	// every is how often a token is added; window is how long an empty
	// bucket takes to fill (Burst tokens).
	every, window time.Duration

	mu    sync.Mutex
	full  map[string]time.Time // When each key's bucket is full again.
	swept time.Time
}

// New returns a limiter allowing r per key, reading the time from now
// and remembering at most maxKeys keys (DefaultMaxKeys when 0). It
// returns nil, which allows everything, for Unlimited.
func New(r Rate, now func() time.Time, maxKeys int) *Limiter {
	if r.unlimited() {
		return nil
	}
	if r.PerMinute <= 0 || r.Burst < 1 {
		panic("ratelimit: a Rate needs PerMinute > 0 and Burst >= 1")
	}
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	if now == nil {
		now = time.Now
	}
	every := time.Duration(float64(time.Minute) / r.PerMinute)
	return &Limiter{
		now: now, maxKeys: maxKeys,
		every: every, window: every * time.Duration(r.Burst),
		full: map[string]time.Time{},
	}
}

// Allow takes a token from key's bucket. When there is none it reports
// false and how long until there is one.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	full, ok := l.full[key]
	if !ok {
		if len(l.full) >= l.maxKeys {
			// Full of clients active within the last window: forget one
			// at random (map order) rather than grow. It only gets a
			// fresh bucket, which an attacker with that many addresses
			// could have had anyway.
			for k := range l.full {
				delete(l.full, k)
				break
			}
		}
	}
	// Taking a token moves the time the bucket is full again by one
	// interval; an empty bucket is one full again a window from now.
	if full.Before(now) {
		full = now
	}
	next := full.Add(l.every)
	if over := next.Sub(now) - l.window; over > 0 {
		return false, over
	}
	l.full[key] = next
	return true, 0
}

// sweep drops, once per window, every bucket that has filled up since it
// was last used: it is the same as no bucket. The caller holds mu.
func (l *Limiter) sweep(now time.Time) {
	if now.Sub(l.swept) < l.window {
		return
	}
	for k, full := range l.full {
		if !full.After(now) {
			delete(l.full, k)
		}
	}
	l.swept = now
}

// Len returns how many keys the limiter holds.
func (l *Limiter) Len() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.full)
}

// ClientKey is the bucket key of a client address: the address itself,
// or for IPv6 its /64 network, since one subscriber usually holds a whole
// /64 and could otherwise take a fresh bucket per request.
func ClientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return a.String()
	}
	return p.String()
}

// RetryAfter formats a wait as a Retry-After value: whole seconds,
// rounded up, at least 1.
func RetryAfter(wait time.Duration) string {
	return strconv.FormatInt(max(1, int64(math.Ceil(wait.Seconds()))), 10)
}

// Middleware takes a token for the client's address (c.RealIP()) before
// each request. A request over the limit gets a Retry-After header and
// refuse's answer instead of the handler's.
func (l *Limiter) Middleware(refuse func(c echo.Context, wait time.Duration) error) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if l == nil {
			return next
		}
		return func(c echo.Context) error {
			ok, wait := l.Allow(ClientKey(c.RealIP()))
			if !ok {
				c.Response().Header().Set("Retry-After", RetryAfter(wait))
				return refuse(c, wait)
			}
			return next(c)
		}
	}
}

package ratelimit

// An internal test: the limiter's memory cannot be seen from outside.
// Behaviour through HTTP is tested in web/ratelimit_test.go.

import (
	"fmt"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store/storetest"
)

func TestBurstThenRate(t *testing.T) {
	clk := storetest.NewClock()
	l := New(Rate{PerMinute: 10, Burst: 20}, clk.Now, 0)
	for i := range 20 {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, wait := l.Allow("a")
	if ok {
		t.Fatal("request 21 allowed, want refused")
	}
	if got, want := wait, 6*time.Second; got != want {
		t.Errorf("wait=%v, want=%v (one token at 10 a minute)", got, want)
	}
	if ok, _ := l.Allow("b"); !ok {
		t.Error("another key is refused: buckets are per key")
	}
	clk.Advance(5 * time.Second)
	if ok, wait := l.Allow("a"); ok || wait != time.Second {
		t.Errorf("after 5s: ok=%v wait=%v, want refused with 1s to go", ok, wait)
	}
	clk.Advance(time.Second)
	if ok, _ := l.Allow("a"); !ok {
		t.Error("after 6s: refused, want the refilled token")
	}
	if ok, _ := l.Allow("a"); ok {
		t.Error("the refilled token was used twice")
	}
	// A long pause refills the bucket to its size, not beyond.
	clk.Advance(time.Hour)
	n := 0
	for {
		if ok, _ := l.Allow("a"); !ok {
			break
		}
		n++
	}
	if n != 20 {
		t.Errorf("after an hour, %d requests allowed at once, want the burst of 20", n)
	}
}

func TestClockGoingBackDoesNotRefill(t *testing.T) {
	clk := storetest.NewClock()
	l := New(Rate{PerMinute: 60, Burst: 1}, clk.Now, 0)
	l.Allow("a")
	clk.Advance(-time.Hour)
	if ok, _ := l.Allow("a"); ok {
		t.Error("a clock stepped back refilled the bucket")
	}
}

// TestMemoryIsBounded: buckets of clients that went quiet are dropped once
// they have refilled, and no more than maxKeys are ever held, however
// many addresses come.
func TestMemoryIsBounded(t *testing.T) {
	clk := storetest.NewClock()
	l := New(Rate{PerMinute: 60, Burst: 120}, clk.Now, 1000)
	for i := range 5000 {
		l.Allow(fmt.Sprintf("198.51.%d.%d", i/256, i%256))
		if n := l.Len(); n > 1000 {
			t.Fatalf("holds %d keys, more than its cap of 1000", n)
		}
	}
	// Two minutes fill a bucket of 120 at 60 a minute: everyone is idle.
	clk.Advance(2 * time.Minute)
	l.Allow("192.0.2.1")
	if got, want := l.Len(), 1; got != want {
		t.Errorf("keys held after every other client went idle=%d, want=%d", got, want)
	}
}

func TestUnlimited(t *testing.T) {
	l := New(Unlimited, nil, 0)
	for range 10000 {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatal("Unlimited refused a request")
		}
	}
}

func TestClientKey(t *testing.T) {
	for _, tt := range []struct{ description, ip, want string }{
		{"IPv4 as is", "192.0.2.7", "192.0.2.7"},
		{"IPv4-mapped IPv6 as IPv4", "::ffff:192.0.2.7", "192.0.2.7"},
		{"IPv6 by its /64", "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"another address of the same /64", "2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
		{"not an address", "unix", "unix"},
	} {
		if got := ClientKey(tt.ip); got != tt.want {
			t.Errorf("%s: ClientKey(%q)=%q, want=%q", tt.description, tt.ip, got, tt.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	for _, tt := range []struct {
		wait time.Duration
		want string
	}{{0, "1"}, {time.Millisecond, "1"}, {time.Second, "1"}, {1500 * time.Millisecond, "2"}, {6 * time.Second, "6"}} {
		if got := RetryAfter(tt.wait); got != tt.want {
			t.Errorf("RetryAfter(%v)=%q, want=%q", tt.wait, got, tt.want)
		}
	}
}

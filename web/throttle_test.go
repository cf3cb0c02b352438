package web

// An internal test: what it checks, the throttle's memory, cannot be seen
// through HTTP. Behaviour is tested through the router in admin_auth_test.go.

import (
	"fmt"
	"testing"
	"time"
)

// TestLoginThrottleForgetsOldFailures: failures of accounts and addresses
// that never come back are dropped once their window has passed, so that
// sign-in attempts spread over many addresses and emails do not grow the
// throttle's memory without end.
func TestLoginThrottleForgetsOldFailures(t *testing.T) {
	now := time.Date(2024, time.July, 14, 12, 0, 0, 0, time.UTC)
	th := newLoginThrottle(func() time.Time { return now })
	for i := range 1000 {
		th.fail(fmt.Sprintf("user%d@example.com", i), fmt.Sprintf("198.51.%d.%d", i/256, i%256))
	}
	now = now.Add(15 * time.Minute)
	th.fail("late@example.com", "192.0.2.1")
	if got, want := len(th.failures), 2; got != want {
		t.Errorf("keys held after the window passed=%d, want=%d (the last failure's account and address)", got, want)
	}
	if blocked, _ := th.blocked("late@example.com", "192.0.2.1"); blocked {
		t.Error("one failure blocks")
	}
}

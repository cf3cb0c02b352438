package web_test

// Concurrent sign-ins against the throttle, through the real application
// behind a real HTTP server.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/uplink-video/uplink/web/account"
)

// TestSignInThrottleUnderConcurrentAttempts: wrong passwords for one
// account sent all at once are evaluated no more than the throttle allows
// (5), however many arrive; every other one is refused with 429 without a
// password check, and the right password sent right after is refused too,
// with the wait until the window ends.
//
// The account's password has account.Create's real bcrypt cost, so that
// each check takes long enough for the attempts to overlap.
func TestSignInThrottleUnderConcurrentAttempts(t *testing.T) {
	t.Parallel()
	for _, n := range []int{40, 150} {
		t.Run(fmt.Sprintf("%d at once", n), func(t *testing.T) {
			app := authStart(t, false)
			const email, password = "real@example.com", "a password at full cost"
			if _, _, err := account.Create(context.Background(), app.store, email, password); err != nil {
				t.Fatalf("account.Create: %v", err)
			}
			b := app.browser()
			form := b.loginForm("")
			form.Set("email", email)

			statuses := map[int]int{}
			var (
				mu    sync.Mutex
				wg    sync.WaitGroup
				start = make(chan struct{})
			)
			for i := range n {
				f := url.Values{}
				for k, v := range form {
					f[k] = v
				}
				f.Set("password", fmt.Sprintf("a wrong password, number %d", i))
				wg.Go(func() {
					<-start
					r := b.post("/admin/login", f, nil)
					mu.Lock()
					statuses[r.status]++
					mu.Unlock()
				})
			}
			close(start)
			wg.Wait()
			t.Logf("%d wrong passwords at once: %v", n, statuses)
			if got, want := statuses[http.StatusUnauthorized], 5; got != want {
				t.Errorf("passwords checked (401)=%d, want=%d", got, want)
			}
			if got, want := statuses[http.StatusTooManyRequests], n-5; got != want {
				t.Errorf("refused unchecked (429)=%d, want=%d; all statuses: %v", got, want, statuses)
			}

			r := b.signIn(email, password)
			authThrottled(t, r, email+" with the right password, right after", "15 minutes")
			if got, want := r.header.Get("Retry-After"), "900"; got != want {
				t.Errorf("Retry-After=%q, want=%q", got, want)
			}
		})
	}
}

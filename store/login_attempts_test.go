package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/storetest"
)

// signInLimits are the dashboard's: 5 per account, 20 per address, in 15
// minutes.
var signInLimits = store.LoginLimits{Window: 15 * time.Minute, PerAccount: 5, PerAddress: 20}

// reserveAtOnce makes n reservations at once, from n goroutines, the i-th
// for account(i) from address(i), and returns how many were let through
// and the waits of the others.
func reserveAtOnce(t *testing.T, st *store.Store, n int, account, address func(i int) string) (int, []time.Duration) {
	t.Helper()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		granted int
		waits   []time.Duration
		start   = make(chan struct{})
	)
	for i := range n {
		wg.Go(func() {
			<-start
			id, wait, err := st.ReserveLoginAttempt(context.Background(), account(i), address(i), signInLimits)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				t.Errorf("reservation %d: %v", i, err)
			case id > 0 && wait == 0:
				granted++
			case id == 0 && wait > 0:
				waits = append(waits, wait)
			default:
				t.Errorf("reservation %d: id=%d wait=%v, want an ID or a wait", i, id, wait)
			}
		})
	}
	close(start)
	wg.Wait()
	return granted, waits
}

func same(s string) func(int) string { return func(int) string { return s } }

func numbered(format string) func(int) string {
	return func(i int) string { return fmt.Sprintf(format, i) }
}

// TestReserveLoginAttemptUnderConcurrency: however many reservations
// arrive at once, on a real database (SQLite or PostgreSQL), no more
// than the limits are let through, and each refusal says to wait the
// whole window.
func TestReserveLoginAttemptUnderConcurrency(t *testing.T) {
	for _, tt := range []struct {
		description      string
		n                int
		account, address func(int) string
		want             int
	}{
		{"40 on one account, from one address", 40, same("owner@example.com"), same("192.0.2.1"), 5},
		{"150 on one account, from 150 addresses", 150, same("owner@example.com"), numbered("198.51.100.%d"), 5},
		{"150 on 150 accounts, from one address", 150, numbered("user%d@example.com"), same("192.0.2.1"), 20},
	} {
		t.Run(tt.description, func(t *testing.T) {
			t.Parallel()
			st := storetest.Open(t)
			granted, waits := reserveAtOnce(t, st, tt.n, tt.account, tt.address)
			if granted != tt.want {
				t.Errorf("let through=%d of %d, want=%d", granted, tt.n, tt.want)
			}
			for _, w := range waits {
				if w != signInLimits.Window {
					t.Errorf("a refusal's wait=%v, want=%v", w, signInLimits.Window)
					break
				}
			}
		})
	}
}

// TestLoginAttemptsAgeOut: attempts count for the window whatever their
// state, pending ones left by a crash included; the wait is until the
// oldest counted attempt leaves it; clearing an account frees it and the
// address its attempts came from; the cleanup deletes what no longer
// counts.
func TestLoginAttemptsAgeOut(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock()
	dsn := storetest.NewDSN(t)
	st := storetest.OpenDSN(t, dsn, clk)
	reserve := func(account, address string) (int64, time.Duration) {
		t.Helper()
		id, wait, err := st.ReserveLoginAttempt(ctx, account, address, signInLimits)
		if err != nil {
			t.Fatal(err)
		}
		return id, wait
	}

	// Five attempts, a minute apart: three failed, two left pending as
	// by a crash.
	var ids []int64
	for i := range 5 {
		id, wait := reserve("owner@example.com", "192.0.2.1")
		if id == 0 || wait != 0 {
			t.Fatalf("attempt %d: id=%d wait=%v, want a reservation", i+1, id, wait)
		}
		ids = append(ids, id)
		if i < 3 {
			if err := st.FailLoginAttempt(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		clk.Advance(time.Minute)
	}
	states := map[string]int{}
	rows, err := storetest.RawDB(t, dsn).Query(`SELECT state, count(*) FROM login_attempts GROUP BY state`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		states[s] = n
	}
	rows.Close()
	if got, want := fmt.Sprint(states), "map[failed:3 pending:2]"; got != want {
		t.Errorf("states=%s, want=%s", got, want)
	}

	// 5 minutes after the first: it leaves the window in 10.
	if id, wait := reserve("owner@example.com", "192.0.2.2"); id != 0 || wait != 10*time.Minute {
		t.Errorf("sixth attempt: id=%d wait=%v, want a refusal to wait 10m", id, wait)
	}
	// Another account from the same address is let through.
	if id, _ := reserve("other@example.com", "192.0.2.1"); id == 0 {
		t.Error("another account from the same address was refused")
	}
	clk.Advance(10*time.Minute - time.Millisecond)
	if id, wait := reserve("owner@example.com", "192.0.2.2"); id != 0 || wait != time.Millisecond {
		t.Errorf("a millisecond before the first attempt leaves the window: id=%d wait=%v, want a refusal to wait 1ms", id, wait)
	}
	clk.Advance(time.Millisecond)
	if id, _ := reserve("owner@example.com", "192.0.2.2"); id == 0 {
		t.Error("refused once the first attempt left the window")
	}

	// 15 minutes after the first attempt, it no longer counts.
	if n, err := st.DeleteExpiredLoginAttempts(ctx, signInLimits.Window); err != nil || n != 1 {
		t.Errorf("DeleteExpiredLoginAttempts=%d, %v; want 1 (the first attempt)", n, err)
	}

	if err := st.ClearLoginAttempts(ctx, "owner@example.com"); err != nil {
		t.Fatal(err)
	}
	// The address now holds only other@'s attempt.
	for i := range 20 {
		id, wait := reserve(fmt.Sprintf("user%d@example.com", i), "192.0.2.1")
		// other@'s attempt, the oldest counted, leaves the window in 5
		// minutes.
		if i < 19 && id == 0 || i == 19 && wait != 5*time.Minute {
			t.Errorf("after the clear, attempt %d from 192.0.2.1: id=%d wait=%v; want 19 let through (other@ holds the 20th place), then a refusal to wait 5m", i+1, id, wait)
		}
	}
	if n, err := st.DeleteExpiredLoginAttempts(ctx, 0); err != nil || n != 20 {
		t.Errorf("DeleteExpiredLoginAttempts(0)=%d, %v; want 20 (other@'s and 19 users')", n, err)
	}
}

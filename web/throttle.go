package web

import (
	"strings"
	"time"

	"github.com/uplink-video/uplink/store"
)

// SignInWindow is how long a sign-in attempt counts against the
// throttle's limits. cmd/uplink's cleanup deletes older attempts
// (store.DeleteExpiredLoginAttempts).
const SignInWindow = 15 * time.Minute

// signInLimits are the sign-in throttle's: at most 5 attempts per account
// and 20 per client address in SignInWindow, counting failed attempts and
// those whose password is being checked. The store counts them
// (store.ReserveLoginAttempt), so that servers sharing a database share
// the limits, and a restart forgets nothing.
func signInLimits() store.LoginLimits {
	return store.LoginLimits{Window: SignInWindow, PerAccount: 5, PerAddress: 20}
}

// maxAccountKey is the longest an account's email can be (store's admins
// table), in characters.
const maxAccountKey = 254

// accountKey is the throttle's key of the account an email names,
// whether one exists or not: the email as typed, trimmed and lower-cased
// (emails are compared without case), cut to the longest an account's
// email can be so that a longer one cannot grow the table's rows.
func accountKey(email string) string {
	k := strings.ToLower(strings.TrimSpace(email))
	if r := []rune(k); len(r) > maxAccountKey {
		k = string(r[:maxAccountKey])
	}
	return k
}

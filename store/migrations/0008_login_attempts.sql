-- Dashboard sign-in attempts, for the sign-in throttle. Each attempt is
-- reserved (pending) before its password is checked, so that concurrent
-- attempts count against the limits at once, and then marked failed, or
-- deleted with the account's others when it succeeds. Attempts older
-- than the throttle's window no longer count, whatever their state (a
-- pending one left by a crash included), and the cleanup job deletes them.
--
-- account is the email as typed, trimmed, lower-cased and cut to the
-- longest an account's email can be (an unknown one counts as well);
-- address is the client's address, or its /64 for IPv6.

CREATE TABLE login_attempts (
	id           INTEGER PRIMARY KEY,
	account      TEXT NOT NULL CHECK (length(account) <= 254),
	address      TEXT NOT NULL CHECK (length(address) <= 64),
	attempted_at INTEGER NOT NULL,
	state        TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'failed'))
) STRICT;

CREATE INDEX login_attempts_by_account ON login_attempts (account, attempted_at);
CREATE INDEX login_attempts_by_address ON login_attempts (address, attempted_at);
CREATE INDEX login_attempts_by_time ON login_attempts (attempted_at);

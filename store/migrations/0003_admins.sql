-- Admin accounts and their dashboard sessions.

CREATE TABLE admins (
	id                  TEXT PRIMARY KEY CHECK (id GLOB 'ad*' AND length(id) = 24),
	email               TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (length(email) BETWEEN 3 AND 254),
	password_hash       TEXT NOT NULL CHECK (password_hash <> ''),
	created_at          INTEGER NOT NULL,
	password_changed_at INTEGER NOT NULL
) STRICT;

-- A session's ID lives only in the admin's (signed, encrypted) cookie;
-- the row keeps its SHA-256. Deleting the row ends the session, whatever
-- the cookie says.
CREATE TABLE admin_sessions (
	hash         BLOB PRIMARY KEY CHECK (length(hash) = 32),
	admin_id     TEXT NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
	csrf_token   TEXT NOT NULL CHECK (length(csrf_token) >= 32),
	created_at   INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL CHECK (expires_at > created_at)
) STRICT;

CREATE INDEX admin_sessions_by_expiry ON admin_sessions (expires_at);
CREATE INDEX admin_sessions_by_admin ON admin_sessions (admin_id);

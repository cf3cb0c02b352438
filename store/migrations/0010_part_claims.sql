-- Claims on the parts being received, shared by every process that shares
-- the database (several instances on one PostgreSQL; see package ingest,
-- Claims). One process on a SQLite file keeps them in memory instead, so
-- on SQLite this table stays empty unless a test uses it. A claim is
-- short-lived: taken before a part's first byte is read, renewed while its
-- bytes stream, ended when it is recorded; one whose process died lapses
-- at expires_at.
CREATE TABLE part_claims (
	video_id   TEXT NOT NULL,
	-- The part's position: its number (part mode), its first byte (bytes
	-- mode), or 1 (a whole file).
	seq        INTEGER NOT NULL,
	claim_id   TEXT NOT NULL,
	-- The link the upload came through, or ''.
	link_id    TEXT NOT NULL DEFAULT '',
	-- The part's length, or -1 while unknown.
	size       INTEGER NOT NULL,
	-- The bytes received so far, as of the last renewal: the dashboard's
	-- live progress, whichever process receives the part.
	received   INTEGER NOT NULL DEFAULT 0 CHECK (received >= 0),
	expires_at INTEGER NOT NULL,
	PRIMARY KEY (video_id, seq)
) STRICT;

CREATE INDEX part_claims_by_link ON part_claims (link_id) WHERE link_id <> '';
CREATE INDEX part_claims_by_expiry ON part_claims (expires_at);

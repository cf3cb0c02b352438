-- Delegated upload links. Each link is backed by one upload token on the
-- token upload endpoint (uplink's own, or a remote api.video-compatible
-- host), so token is not a foreign key.

CREATE TABLE links (
	id            TEXT PRIMARY KEY CHECK (length(id) = 22),
	token         TEXT NOT NULL,
	label         TEXT NOT NULL CHECK (length(label) BETWEEN 1 AND 200),
	message       TEXT NOT NULL DEFAULT '' CHECK (length(message) <= 4000),
	ttl           INTEGER NOT NULL CHECK (ttl >= 0),
	expires_at    INTEGER,
	max_uploads   INTEGER CHECK (max_uploads >= 1),
	max_size      INTEGER CHECK (max_size >= 1),
	-- "video", "any", or a comma-separated list of format names.
	allowed_types TEXT NOT NULL DEFAULT 'video' CHECK (allowed_types <> ''),
	-- Newline-separated origins that may embed the uploader; "*" is any.
	embed_origins TEXT NOT NULL DEFAULT '',
	ask_name      INTEGER NOT NULL DEFAULT 0 CHECK (ask_name IN (0, 1)),
	created_at    INTEGER NOT NULL,
	revoked_at    INTEGER,
	CHECK ((ttl = 0) = (expires_at IS NULL))
) STRICT;

CREATE INDEX links_by_created ON links (created_at, id);

-- One row per file uploaded (or being uploaded) through a link. A row in
-- 'starting' or 'uploading' holds one of the link's upload slots while its
-- lease runs; 'completed' holds it for good; 'released' gives it back.
CREATE TABLE link_uploads (
	id               TEXT PRIMARY KEY CHECK (length(id) = 22),
	link_id          TEXT NOT NULL REFERENCES links (id) ON DELETE CASCADE,
	video_id         TEXT UNIQUE,
	status           TEXT NOT NULL CHECK (status IN ('starting', 'uploading', 'completed', 'released')),
	filename         TEXT NOT NULL,
	size             INTEGER NOT NULL CHECK (size > 0),
	last_modified    INTEGER NOT NULL,
	chunk_size       INTEGER NOT NULL CHECK (chunk_size > 0),
	total_parts      INTEGER NOT NULL CHECK (total_parts BETWEEN 1 AND 10000),
	-- Parts 1 .. next_part-1 were accepted in order and hashed into
	-- hash_state, the marshalled SHA-256 state.
	next_part        INTEGER NOT NULL DEFAULT 1 CHECK (next_part BETWEEN 1 AND total_parts + 1),
	hash_state       BLOB NOT NULL,
	sha256           TEXT,
	title            TEXT NOT NULL DEFAULT '',
	description      TEXT NOT NULL DEFAULT '',
	uploader_name    TEXT NOT NULL DEFAULT '',
	uploader_email   TEXT NOT NULL DEFAULT '',
	started_at       INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL,
	lease_expires_at INTEGER NOT NULL,
	completed_at     INTEGER,
	released_reason  TEXT NOT NULL DEFAULT '',
	CHECK ((status = 'completed') = (completed_at IS NOT NULL)),
	CHECK (status = 'starting' OR video_id IS NOT NULL)
) STRICT;

CREATE INDEX link_uploads_by_link ON link_uploads (link_id, status);
CREATE INDEX link_uploads_by_lease ON link_uploads (lease_expires_at) WHERE status IN ('starting', 'uploading');

-- What happened on a link, for its timeline.
CREATE TABLE link_events (
	id       INTEGER PRIMARY KEY,
	link_id  TEXT NOT NULL REFERENCES links (id) ON DELETE CASCADE,
	at       INTEGER NOT NULL,
	kind     TEXT NOT NULL CHECK (kind IN ('opened', 'started', 'resumed', 'completed', 'refused', 'cancelled', 'abandoned', 'revoked')),
	video_id TEXT NOT NULL DEFAULT '',
	detail   TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX link_events_by_link ON link_events (link_id, id);

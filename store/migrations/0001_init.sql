-- uplink's initial schema. Times are Unix milliseconds (UTC).

CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;

INSERT INTO meta (key, value) VALUES ('created_at', CAST(unixepoch('subsec') * 1000 AS INTEGER));

-- API keys are shown once at creation; only their SHA-256 is kept.
CREATE TABLE api_keys (
	id           TEXT PRIMARY KEY CHECK (id GLOB 'ak*' AND length(id) = 24),
	name         TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	hint         TEXT NOT NULL,
	hash         BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),
	created_at   INTEGER NOT NULL,
	last_used_at INTEGER,
	revoked_at   INTEGER
) STRICT;

-- Access and refresh tokens from POST /auth/api-key and /auth/refresh.
-- key_hash is the SHA-256 of the API key that obtained the token, so that
-- revoking a key (or removing the key given in the environment) also
-- invalidates every token obtained with it.
CREATE TABLE auth_tokens (
	hash       BLOB PRIMARY KEY CHECK (length(hash) = 32),
	kind       TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
	key_hash   BLOB NOT NULL CHECK (length(key_hash) = 32),
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL CHECK (expires_at > created_at)
) STRICT;

CREATE INDEX auth_tokens_expires ON auth_tokens (expires_at);

-- Delegated upload tokens. A deleted token keeps its row (deleted_at set)
-- so that the uploads it started can be told apart from unknown tokens.
CREATE TABLE upload_tokens (
	id         TEXT PRIMARY KEY CHECK (id GLOB 'to*' AND length(id) = 24),
	ttl        INTEGER NOT NULL CHECK (ttl BETWEEN 0 AND 2147483647),
	created_at INTEGER NOT NULL,
	expires_at INTEGER CHECK ((ttl = 0) = (expires_at IS NULL)),
	deleted_at INTEGER
) STRICT;

CREATE INDEX upload_tokens_by_created ON upload_tokens (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX upload_tokens_by_expiry ON upload_tokens (coalesce(expires_at, 9223372036854775807), created_at, id) WHERE deleted_at IS NULL;

CREATE TABLE videos (
	id              TEXT PRIMARY KEY CHECK (id GLOB 'vi*' AND length(id) = 24),
	title           TEXT NOT NULL,
	description     TEXT NOT NULL DEFAULT '',
	public          INTEGER NOT NULL DEFAULT 1 CHECK (public IN (0, 1)),
	panoramic       INTEGER NOT NULL DEFAULT 0 CHECK (panoramic IN (0, 1)),
	mp4_support     INTEGER NOT NULL DEFAULT 1 CHECK (mp4_support IN (0, 1)),
	language        TEXT,
	language_origin TEXT CHECK (language_origin IN ('api', 'auto')),
	player_id       TEXT,
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	published_at    INTEGER NOT NULL
) STRICT;

CREATE INDEX videos_by_created ON videos (created_at, id);
CREATE INDEX videos_by_updated ON videos (updated_at, id);
CREATE INDEX videos_by_published ON videos (published_at, id);
CREATE INDEX videos_by_title ON videos (title, id);

CREATE TABLE video_tags (
	video_id TEXT NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
	position INTEGER NOT NULL CHECK (position >= 0),
	tag      TEXT NOT NULL,
	PRIMARY KEY (video_id, position)
) STRICT;

CREATE INDEX video_tags_by_tag ON video_tags (tag, video_id);

CREATE TABLE video_metadata (
	video_id TEXT NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
	position INTEGER NOT NULL CHECK (position >= 0),
	key      TEXT NOT NULL,
	value    TEXT NOT NULL,
	PRIMARY KEY (video_id, position)
) STRICT;

CREATE INDEX video_metadata_by_pair ON video_metadata (key, value, video_id);

-- The ingest state of a video's source. source_key names the blob the
-- source is assembled in. Bytes [0, source_size) of that blob are durable
-- and belong to the source; anything past source_size is debris from an
-- interrupted write and is cut off before the next append.
CREATE TABLE uploads (
	video_id         TEXT PRIMARY KEY REFERENCES videos (id) ON DELETE CASCADE,
	token_id         TEXT NOT NULL REFERENCES upload_tokens (id),
	mode             TEXT NOT NULL CHECK (mode IN ('single', 'part', 'bytes')),
	status           TEXT NOT NULL CHECK (status IN ('uploading', 'uploaded')),
	source_key       TEXT NOT NULL UNIQUE,
	source_size      INTEGER NOT NULL DEFAULT 0 CHECK (source_size >= 0),
	appended_parts   INTEGER NOT NULL DEFAULT 0 CHECK (appended_parts >= 0),
	total_parts      INTEGER CHECK (total_parts BETWEEN 1 AND 10000),
	total_bytes      INTEGER CHECK (total_bytes >= 0),
	filename         TEXT NOT NULL,
	-- owns_video is 1 when the upload created its video, which then goes
	-- away with the upload if it is abandoned.
	owns_video       INTEGER NOT NULL CHECK (owns_video IN (0, 1)),
	started_at       INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL,
	lease_expires_at INTEGER NOT NULL,
	completed_at     INTEGER,
	CHECK ((status = 'uploaded') = (completed_at IS NOT NULL))
) STRICT;

CREATE INDEX uploads_open_by_token ON uploads (token_id) WHERE status = 'uploading';
CREATE INDEX uploads_open_by_lease ON uploads (lease_expires_at) WHERE status = 'uploading';

-- Every accepted piece of an upload. seq is the part number (part mode),
-- the first byte (bytes mode) or 1 (single mode). A piece is either already
-- appended to the source (offset set) or waiting aside in its own blob
-- (staged_key set) until the pieces before it have arrived.
CREATE TABLE upload_parts (
	video_id    TEXT NOT NULL REFERENCES uploads (video_id) ON DELETE CASCADE,
	seq         INTEGER NOT NULL CHECK (seq >= 0),
	size        INTEGER NOT NULL CHECK (size >= 0),
	offset      INTEGER CHECK (offset >= 0),
	staged_key  TEXT UNIQUE,
	received_at INTEGER NOT NULL,
	PRIMARY KEY (video_id, seq),
	CHECK ((offset IS NULL) <> (staged_key IS NULL))
) STRICT;

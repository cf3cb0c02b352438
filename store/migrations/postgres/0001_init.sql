-- uplink's schema on PostgreSQL: the same tables, columns, constraints and
-- indexes as SQLite's migrations 0001 to 0010 leave, so that the store's
-- one SQL text reads and writes both alike. Later changes get a file
-- after this one, beside SQLite's. Conventions:
--
-- * Times are BIGINT Unix milliseconds (UTC), as on SQLite, and every
--   integer is BIGINT (SQLite's INTEGER is 64 bits).
-- * Flags are BOOLEAN: the store binds Go bools and reads them back into
--   bools on both engines, and its SQL compares them with TRUE and FALSE,
--   which SQLite reads as 1 and 0.
-- * SQLite's REAL is DOUBLE PRECISION.
-- * Bytes (hashes, the SHA-256 state) are BYTEA; SQLite's length() of a
--   BLOB is PostgreSQL's length() of a BYTEA.
-- * Every text column is COLLATE "C": text compares and sorts by its
--   bytes, as SQLite's BINARY does, whatever the database's locale; and
--   lower() and ILIKE fold ASCII letters only, as SQLite's NOCASE and
--   LIKE do.
-- * SQLite's GLOB 'ak*' is LIKE 'ak%' (both case-sensitive), and an
--   INTEGER PRIMARY KEY is an identity column.

CREATE TABLE meta (
	key   TEXT COLLATE "C" PRIMARY KEY,
	value TEXT COLLATE "C" NOT NULL
);

INSERT INTO meta (key, value) VALUES ('created_at', (extract(epoch FROM clock_timestamp()) * 1000)::bigint::text);

-- API keys are shown once at creation; only their SHA-256 is kept.
CREATE TABLE api_keys (
	id           TEXT COLLATE "C" PRIMARY KEY CHECK (id LIKE 'ak%' AND length(id) = 24),
	name         TEXT COLLATE "C" NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	hint         TEXT COLLATE "C" NOT NULL,
	hash         BYTEA NOT NULL UNIQUE CHECK (length(hash) = 32),
	created_at   BIGINT NOT NULL,
	last_used_at BIGINT,
	revoked_at   BIGINT
);

-- Access and refresh tokens from POST /auth/api-key and /auth/refresh.
-- key_hash is the SHA-256 of the API key that obtained the token, so that
-- revoking a key (or removing the key given in the environment) also
-- invalidates every token obtained with it.
CREATE TABLE auth_tokens (
	hash       BYTEA PRIMARY KEY CHECK (length(hash) = 32),
	kind       TEXT COLLATE "C" NOT NULL CHECK (kind IN ('access', 'refresh')),
	key_hash   BYTEA NOT NULL CHECK (length(key_hash) = 32),
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL CHECK (expires_at > created_at)
);

CREATE INDEX auth_tokens_expires ON auth_tokens (expires_at);

-- Delegated upload tokens. A deleted token keeps its row (deleted_at set)
-- so that the uploads it started can be told apart from unknown tokens.
CREATE TABLE upload_tokens (
	id         TEXT COLLATE "C" PRIMARY KEY CHECK (id LIKE 'to%' AND length(id) = 24),
	ttl        BIGINT NOT NULL CHECK (ttl BETWEEN 0 AND 2147483647),
	created_at BIGINT NOT NULL,
	expires_at BIGINT CHECK ((ttl = 0) = (expires_at IS NULL)),
	deleted_at BIGINT
);

CREATE INDEX upload_tokens_by_created ON upload_tokens (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX upload_tokens_by_expiry ON upload_tokens (coalesce(expires_at, 9223372036854775807), created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX upload_tokens_all_by_created ON upload_tokens (created_at, id);

CREATE TABLE videos (
	id              TEXT COLLATE "C" PRIMARY KEY CHECK (id LIKE 'vi%' AND length(id) = 24),
	title           TEXT COLLATE "C" NOT NULL,
	description     TEXT COLLATE "C" NOT NULL DEFAULT '',
	public          BOOLEAN NOT NULL DEFAULT TRUE,
	panoramic       BOOLEAN NOT NULL DEFAULT FALSE,
	mp4_support     BOOLEAN NOT NULL DEFAULT TRUE,
	language        TEXT COLLATE "C",
	language_origin TEXT COLLATE "C" CHECK (language_origin IN ('api', 'auto')),
	player_id       TEXT COLLATE "C",
	created_at      BIGINT NOT NULL,
	updated_at      BIGINT NOT NULL,
	published_at    BIGINT NOT NULL
);

CREATE INDEX videos_by_created ON videos (created_at, id);
CREATE INDEX videos_by_updated ON videos (updated_at, id);
CREATE INDEX videos_by_published ON videos (published_at, id);
CREATE INDEX videos_by_title ON videos (title, id);

CREATE TABLE video_tags (
	video_id TEXT COLLATE "C" NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
	position BIGINT NOT NULL CHECK (position >= 0),
	tag      TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (video_id, position)
);

CREATE INDEX video_tags_by_tag ON video_tags (tag, video_id);

CREATE TABLE video_metadata (
	video_id TEXT COLLATE "C" NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
	position BIGINT NOT NULL CHECK (position >= 0),
	key      TEXT COLLATE "C" NOT NULL,
	value    TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (video_id, position)
);

CREATE INDEX video_metadata_by_pair ON video_metadata (key, value, video_id);

-- Each link is backed by no token, or by a remote api.video-compatible
-- host's from an older uplink (upstream mode), so token is not a foreign
-- key.
CREATE TABLE links (
	id            TEXT COLLATE "C" PRIMARY KEY CHECK (length(id) = 22),
	token         TEXT COLLATE "C" NOT NULL,
	label         TEXT COLLATE "C" NOT NULL CHECK (length(label) BETWEEN 1 AND 200),
	message       TEXT COLLATE "C" NOT NULL DEFAULT '' CHECK (length(message) <= 4000),
	ttl           BIGINT NOT NULL CHECK (ttl >= 0),
	expires_at    BIGINT,
	max_uploads   BIGINT CHECK (max_uploads >= 1),
	max_size      BIGINT CHECK (max_size >= 1),
	-- "video", "any", or a comma-separated list of format names.
	allowed_types TEXT COLLATE "C" NOT NULL DEFAULT 'video' CHECK (allowed_types <> ''),
	-- Newline-separated origins that may embed the uploader; "*" is any.
	embed_origins TEXT COLLATE "C" NOT NULL DEFAULT '',
	ask_name      BOOLEAN NOT NULL DEFAULT FALSE,
	created_at    BIGINT NOT NULL,
	revoked_at    BIGINT,
	CHECK ((ttl = 0) = (expires_at IS NULL))
);

CREATE INDEX links_by_created ON links (created_at, id);
CREATE INDEX links_by_expiry ON links (coalesce(expires_at, 9223372036854775807), created_at, id);
-- SQLite's label COLLATE NOCASE.
CREATE INDEX links_by_label ON links (lower(label), created_at DESC, id);
CREATE INDEX links_by_token ON links (token, created_at, id);

-- The ingest state of a video's source: a multipart object in the blob
-- store, assembled from the parts upload_parts records.
CREATE TABLE uploads (
	video_id         TEXT COLLATE "C" PRIMARY KEY REFERENCES videos (id) ON DELETE CASCADE,
	-- The token that started the upload; NULL for an upload through a
	-- link, which link_uploads describes.
	token_id         TEXT COLLATE "C" REFERENCES upload_tokens (id),
	mode             TEXT COLLATE "C" NOT NULL CHECK (mode IN ('single', 'part', 'bytes')),
	-- 'completing': every part is recorded and the object is being
	-- assembled; anyone may finish that.
	status           TEXT COLLATE "C" NOT NULL CHECK (status IN ('uploading', 'completing', 'uploaded')),
	source_key       TEXT COLLATE "C" NOT NULL UNIQUE,
	multipart_id     TEXT COLLATE "C" CHECK (multipart_id <> ''),
	source_size      BIGINT NOT NULL DEFAULT 0 CHECK (source_size >= 0),
	received_parts   BIGINT NOT NULL DEFAULT 0 CHECK (received_parts >= 0),
	total_parts      BIGINT CHECK (total_parts BETWEEN 1 AND 10000),
	total_bytes      BIGINT CHECK (total_bytes >= 0),
	filename         TEXT COLLATE "C" NOT NULL,
	-- The upload created its video, which then goes away with the upload
	-- if it is abandoned.
	owns_video       BOOLEAN NOT NULL,
	started_at       BIGINT NOT NULL,
	updated_at       BIGINT NOT NULL,
	lease_expires_at BIGINT NOT NULL,
	completed_at     BIGINT,
	CHECK ((status = 'uploaded') = (completed_at IS NOT NULL)),
	CHECK (status = 'uploaded' OR multipart_id IS NOT NULL)
);

CREATE INDEX uploads_open_by_token ON uploads (token_id) WHERE status = 'uploading';
CREATE INDEX uploads_open_by_lease ON uploads (lease_expires_at) WHERE status = 'uploading';
CREATE INDEX uploads_completing ON uploads (updated_at) WHERE status = 'completing';
CREATE INDEX uploads_by_token ON uploads (token_id);

-- Every recorded part. seq is the part number (part mode), the first byte
-- (bytes mode) or 1 (single mode); number is the blob store's part
-- number; etag names which write of the part the object is assembled
-- from (see SQLite's 0007_multipart_uploads.sql).
CREATE TABLE upload_parts (
	video_id    TEXT COLLATE "C" NOT NULL REFERENCES uploads (video_id) ON DELETE CASCADE,
	seq         BIGINT NOT NULL CHECK (seq >= 0),
	number      BIGINT NOT NULL CHECK (number BETWEEN 1 AND 10000),
	size        BIGINT NOT NULL CHECK (size >= 0),
	etag        TEXT COLLATE "C" NOT NULL DEFAULT '',
	received_at BIGINT NOT NULL,
	PRIMARY KEY (video_id, seq),
	UNIQUE (video_id, number)
);

CREATE INDEX upload_parts_by_etag ON upload_parts (etag) WHERE etag <> '';

-- One row per file uploaded (or being uploaded) through a link. A row in
-- 'starting' or 'uploading' holds one of the link's upload slots while its
-- lease runs; 'completed' holds it for good; 'released' gives it back.
CREATE TABLE link_uploads (
	id               TEXT COLLATE "C" PRIMARY KEY CHECK (length(id) = 22),
	link_id          TEXT COLLATE "C" NOT NULL REFERENCES links (id) ON DELETE CASCADE,
	video_id         TEXT COLLATE "C" UNIQUE,
	status           TEXT COLLATE "C" NOT NULL CHECK (status IN ('starting', 'uploading', 'completed', 'released')),
	filename         TEXT COLLATE "C" NOT NULL,
	size             BIGINT NOT NULL CHECK (size > 0),
	last_modified    BIGINT NOT NULL,
	chunk_size       BIGINT NOT NULL CHECK (chunk_size > 0),
	total_parts      BIGINT NOT NULL CHECK (total_parts BETWEEN 1 AND 10000),
	-- Parts 1 .. next_part-1 were accepted in order and hashed into
	-- hash_state, the marshalled SHA-256 state.
	next_part        BIGINT NOT NULL DEFAULT 1 CHECK (next_part BETWEEN 1 AND total_parts + 1),
	hash_state       BYTEA NOT NULL,
	sha256           TEXT COLLATE "C",
	title            TEXT COLLATE "C" NOT NULL DEFAULT '',
	description      TEXT COLLATE "C" NOT NULL DEFAULT '',
	uploader_name    TEXT COLLATE "C" NOT NULL DEFAULT '',
	uploader_email   TEXT COLLATE "C" NOT NULL DEFAULT '',
	-- The remote upload token of this upload (upstream mode), until it is
	-- deleted on the remote host; '' otherwise.
	token            TEXT COLLATE "C" NOT NULL DEFAULT '',
	started_at       BIGINT NOT NULL,
	updated_at       BIGINT NOT NULL,
	lease_expires_at BIGINT NOT NULL,
	completed_at     BIGINT,
	released_reason  TEXT COLLATE "C" NOT NULL DEFAULT '',
	CHECK ((status = 'completed') = (completed_at IS NOT NULL)),
	CHECK (status IN ('starting', 'released') OR video_id IS NOT NULL)
);

CREATE INDEX link_uploads_by_link ON link_uploads (link_id, status);
CREATE INDEX link_uploads_by_lease ON link_uploads (lease_expires_at) WHERE status IN ('starting', 'uploading');
CREATE INDEX link_uploads_by_link_start ON link_uploads (link_id, started_at DESC, id);
CREATE INDEX link_uploads_with_token ON link_uploads (status) WHERE token <> '';

-- What happened on a link, for its timeline.
CREATE TABLE link_events (
	id       BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	link_id  TEXT COLLATE "C" NOT NULL REFERENCES links (id) ON DELETE CASCADE,
	at       BIGINT NOT NULL,
	kind     TEXT COLLATE "C" NOT NULL CHECK (kind IN ('opened', 'started', 'resumed', 'completed', 'refused', 'cancelled', 'abandoned', 'revoked')),
	video_id TEXT COLLATE "C" NOT NULL DEFAULT '',
	detail   TEXT COLLATE "C" NOT NULL DEFAULT ''
);

CREATE INDEX link_events_by_link ON link_events (link_id, id);

-- Admin accounts and their dashboard sessions. Emails are unique ignoring
-- the case of ASCII letters, as SQLite's COLLATE NOCASE compares them.
CREATE TABLE admins (
	id                  TEXT COLLATE "C" PRIMARY KEY CHECK (id LIKE 'ad%' AND length(id) = 24),
	email               TEXT COLLATE "C" NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
	password_hash       TEXT COLLATE "C" NOT NULL CHECK (password_hash <> ''),
	created_at          BIGINT NOT NULL,
	password_changed_at BIGINT NOT NULL
);

CREATE UNIQUE INDEX admins_by_email ON admins (lower(email));

-- A session's ID lives only in the admin's (signed, encrypted) cookie;
-- the row keeps its SHA-256. Deleting the row ends the session, whatever
-- the cookie says.
CREATE TABLE admin_sessions (
	hash         BYTEA PRIMARY KEY CHECK (length(hash) = 32),
	admin_id     TEXT COLLATE "C" NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
	csrf_token   TEXT COLLATE "C" NOT NULL CHECK (length(csrf_token) >= 32),
	created_at   BIGINT NOT NULL,
	last_seen_at BIGINT NOT NULL,
	expires_at   BIGINT NOT NULL CHECK (expires_at > created_at)
);

CREATE INDEX admin_sessions_by_expiry ON admin_sessions (expires_at);
CREATE INDEX admin_sessions_by_admin ON admin_sessions (admin_id);

-- Webhooks: the endpoints admins register, the events sent to them, and
-- the queue of deliveries with every attempt (see SQLite's
-- 0005_webhooks.sql). Endpoints are listed in the order they were
-- created, by created_at and then rowid: SQLite's implicit rowid, and
-- here a column of that name.
CREATE TABLE webhook_endpoints (
	id         TEXT COLLATE "C" PRIMARY KEY CHECK (id LIKE 'wh%' AND length(id) = 24),
	url        TEXT COLLATE "C" NOT NULL CHECK (length(url) BETWEEN 10 AND 2000),
	secret     TEXT COLLATE "C" NOT NULL CHECK (length(secret) >= 32),
	-- Comma-separated event types, such as 'upload.completed,link.expired'.
	events     TEXT COLLATE "C" NOT NULL CHECK (events ~ '^[a-z]'),
	created_at BIGINT NOT NULL,
	rowid      BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE
);

-- payload is the exact body every endpoint receives: JSON keeps its text
-- as given (JSONB would not), and refuses text that is not JSON.
CREATE TABLE webhook_events (
	id         TEXT COLLATE "C" PRIMARY KEY CHECK (id LIKE 'ev%' AND length(id) = 24),
	type       TEXT COLLATE "C" NOT NULL CHECK (type IN ('upload.started', 'upload.completed', 'upload.failed',
		'link.used_up', 'link.expired', 'video.processed')),
	payload    JSON NOT NULL,
	created_at BIGINT NOT NULL
);

CREATE TABLE webhook_deliveries (
	id              BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	endpoint_id     TEXT COLLATE "C" NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
	event_id        TEXT COLLATE "C" NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
	order_key       TEXT COLLATE "C" NOT NULL,
	status          TEXT COLLATE "C" NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
	attempts        BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	created_at      BIGINT NOT NULL,
	next_attempt_at BIGINT,
	give_up_at      BIGINT NOT NULL,
	last_attempt_at BIGINT,
	last_status     BIGINT NOT NULL DEFAULT 0,
	last_error      TEXT COLLATE "C" NOT NULL DEFAULT '' CHECK (length(last_error) <= 1000),
	finished_at     BIGINT,
	resent_from     BIGINT,
	CHECK ((status = 'pending') = (next_attempt_at IS NOT NULL)),
	CHECK ((status = 'pending') = (finished_at IS NULL))
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (endpoint_id, order_key, id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, id);
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (event_id);
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at) WHERE status <> 'pending';

CREATE TABLE webhook_attempts (
	id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	delivery_id BIGINT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
	at          BIGINT NOT NULL,
	status      BIGINT NOT NULL DEFAULT 0 CHECK (status BETWEEN 0 AND 999),
	error       TEXT COLLATE "C" NOT NULL DEFAULT '' CHECK (length(error) <= 1000),
	duration_ms BIGINT NOT NULL CHECK (duration_ms >= 0)
);

CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (delivery_id, id);

-- What was noticed about links, so that each fact is announced once.
CREATE TABLE webhook_link_notices (
	link_id TEXT COLLATE "C" NOT NULL REFERENCES links (id) ON DELETE CASCADE,
	kind    TEXT COLLATE "C" NOT NULL CHECK (kind IN ('used_up', 'expired')),
	at      BIGINT NOT NULL,
	PRIMARY KEY (link_id, kind, at)
);

-- Dashboard sign-in attempts, for the sign-in throttle (see SQLite's
-- 0008_login_attempts.sql).
CREATE TABLE login_attempts (
	id           BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	account      TEXT COLLATE "C" NOT NULL CHECK (length(account) <= 254),
	address      TEXT COLLATE "C" NOT NULL CHECK (length(address) <= 64),
	attempted_at BIGINT NOT NULL,
	state        TEXT COLLATE "C" NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'failed'))
);

CREATE INDEX login_attempts_by_account ON login_attempts (account, attempted_at);
CREATE INDEX login_attempts_by_address ON login_attempts (address, attempted_at);
CREATE INDEX login_attempts_by_time ON login_attempts (attempted_at);

-- Processing (see SQLite's 0009_processing.sql): the durable queue of the
-- jobs that probe each video, take its thumbnail and make its preview,
-- and what they learned.
CREATE TABLE processing_jobs (
	id               BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	video_id         TEXT COLLATE "C" NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
	kind             TEXT COLLATE "C" NOT NULL CHECK (kind IN ('process', 'thumbnail')),
	at_ms            BIGINT CHECK (at_ms >= 0),
	status           TEXT COLLATE "C" NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
	attempts         BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	max_attempts     BIGINT NOT NULL CHECK (max_attempts >= 1),
	run_at           BIGINT NOT NULL,
	claim_id         TEXT COLLATE "C" CHECK (claim_id <> ''),
	claim_expires_at BIGINT,
	last_error       TEXT COLLATE "C" NOT NULL DEFAULT '' CHECK (length(last_error) <= 1000),
	created_at       BIGINT NOT NULL,
	updated_at       BIGINT NOT NULL,
	finished_at      BIGINT,
	CHECK ((kind = 'thumbnail') = (at_ms IS NOT NULL)),
	CHECK ((status = 'running') = (claim_id IS NOT NULL)),
	CHECK ((status = 'running') = (claim_expires_at IS NOT NULL)),
	CHECK ((status IN ('done', 'failed')) = (finished_at IS NOT NULL))
);

CREATE UNIQUE INDEX processing_jobs_queued ON processing_jobs (video_id, kind) WHERE status = 'queued';
CREATE INDEX processing_jobs_due ON processing_jobs (run_at, id) WHERE status = 'queued';
-- Unique here: several instances claim jobs at once, and one video's jobs
-- run one at a time (store.ClaimJob). SQLite's one writer needs no more
-- than the plain index of the same name.
CREATE UNIQUE INDEX processing_jobs_running ON processing_jobs (video_id) WHERE status = 'running';
CREATE INDEX processing_jobs_by_video ON processing_jobs (video_id, kind, id);

CREATE TABLE video_media (
	video_id         TEXT COLLATE "C" PRIMARY KEY REFERENCES videos (id) ON DELETE CASCADE,
	probed_at        BIGINT,
	container        TEXT COLLATE "C" NOT NULL DEFAULT '' CHECK (length(container) <= 100),
	duration_ms      BIGINT CHECK (duration_ms >= 0),
	width            BIGINT CHECK (width > 0),
	height           BIGINT CHECK (height > 0),
	framerate        DOUBLE PRECISION CHECK (framerate > 0),
	bitrate          BIGINT CHECK (bitrate >= 0),
	video_codec      TEXT COLLATE "C" CHECK (length(video_codec) <= 100),
	audio_codec      TEXT COLLATE "C" CHECK (length(audio_codec) <= 100),
	samplerate       BIGINT CHECK (samplerate > 0),
	aspect_ratio     TEXT COLLATE "C" CHECK (length(aspect_ratio) <= 20),
	rotation         BIGINT NOT NULL DEFAULT 0 CHECK (rotation IN (0, 90, 180, 270)),
	playable         BOOLEAN NOT NULL DEFAULT FALSE,
	thumbnail_key    TEXT COLLATE "C" UNIQUE,
	thumbnail_type   TEXT COLLATE "C" CHECK (thumbnail_type IN ('image/jpeg', 'image/png')),
	thumbnail_origin TEXT COLLATE "C" CHECK (thumbnail_origin IN ('auto', 'picked', 'uploaded')),
	thumbnail_at     BIGINT,
	preview_key      TEXT COLLATE "C" UNIQUE,
	preview_size     BIGINT CHECK (preview_size >= 0),
	CHECK ((thumbnail_key IS NULL) = (thumbnail_type IS NULL)),
	CHECK ((thumbnail_key IS NULL) = (thumbnail_origin IS NULL)),
	CHECK ((thumbnail_key IS NULL) = (thumbnail_at IS NULL)),
	CHECK ((preview_key IS NULL) = (preview_size IS NULL))
);

-- Claims on the parts being received, shared by every instance (see
-- SQLite's 0010_part_claims.sql and package ingest, Claims).
CREATE TABLE part_claims (
	video_id   TEXT COLLATE "C" NOT NULL,
	seq        BIGINT NOT NULL,
	claim_id   TEXT COLLATE "C" NOT NULL,
	link_id    TEXT COLLATE "C" NOT NULL DEFAULT '',
	size       BIGINT NOT NULL,
	received   BIGINT NOT NULL DEFAULT 0 CHECK (received >= 0),
	expires_at BIGINT NOT NULL,
	PRIMARY KEY (video_id, seq)
);

CREATE INDEX part_claims_by_link ON part_claims (link_id) WHERE link_id <> '';
CREATE INDEX part_claims_by_expiry ON part_claims (expires_at);

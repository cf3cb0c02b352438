-- Processing (issue 14): what uplink learns from a video once its source
-- is whole (ffprobe's facts, a thumbnail, a browser preview), and the
-- durable queue of the jobs that learn it.

-- One row per job. A job is claimed by one atomic UPDATE that moves it
-- from 'queued' to 'running' with a claim ID and a deadline, so that
-- several processes could share the queue; a claim whose deadline passed
-- (its worker died, or the job overran its time limit) is taken back.
-- 'process' probes the source and makes its thumbnail and preview;
-- 'thumbnail' picks the frame at at_ms as the thumbnail.
CREATE TABLE processing_jobs (
	id               INTEGER PRIMARY KEY,
	video_id         TEXT NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
	kind             TEXT NOT NULL CHECK (kind IN ('process', 'thumbnail')),
	at_ms            INTEGER CHECK (at_ms >= 0),
	status           TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
	-- Attempts started so far; an attempt cut short by a graceful stop is
	-- given back.
	attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	max_attempts     INTEGER NOT NULL CHECK (max_attempts >= 1),
	-- When a queued job may run: now, or after a failed attempt's backoff.
	run_at           INTEGER NOT NULL,
	claim_id         TEXT CHECK (claim_id <> ''),
	claim_expires_at INTEGER,
	-- Why the last attempt failed, in words an admin can act on.
	last_error       TEXT NOT NULL DEFAULT '' CHECK (length(last_error) <= 1000),
	created_at       INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL,
	finished_at      INTEGER,
	CHECK ((kind = 'thumbnail') = (at_ms IS NOT NULL)),
	CHECK ((status = 'running') = (claim_id IS NOT NULL)),
	CHECK ((status = 'running') = (claim_expires_at IS NOT NULL)),
	CHECK ((status IN ('done', 'failed')) = (finished_at IS NOT NULL))
) STRICT;

-- At most one queued job of each kind per video: asking again updates it.
CREATE UNIQUE INDEX processing_jobs_queued ON processing_jobs (video_id, kind) WHERE status = 'queued';
CREATE INDEX processing_jobs_due ON processing_jobs (run_at, id) WHERE status = 'queued';
CREATE INDEX processing_jobs_running ON processing_jobs (video_id) WHERE status = 'running';
CREATE INDEX processing_jobs_by_video ON processing_jobs (video_id, kind, id);

-- What processing learned about a video. The facts are ffprobe's, NULL
-- when the file does not tell them; bitrate is in bits per second and
-- duration in milliseconds. playable says whether a browser plays the
-- source as it is. The thumbnail and the preview are blobs; a thumbnail
-- an API client uploaded or picked is never replaced by processing.
CREATE TABLE video_media (
	video_id         TEXT PRIMARY KEY REFERENCES videos (id) ON DELETE CASCADE,
	probed_at        INTEGER,
	container        TEXT NOT NULL DEFAULT '' CHECK (length(container) <= 100),
	duration_ms      INTEGER CHECK (duration_ms >= 0),
	width            INTEGER CHECK (width > 0),
	height           INTEGER CHECK (height > 0),
	framerate        REAL CHECK (framerate > 0),
	bitrate          INTEGER CHECK (bitrate >= 0),
	video_codec      TEXT CHECK (length(video_codec) <= 100),
	audio_codec      TEXT CHECK (length(audio_codec) <= 100),
	samplerate       INTEGER CHECK (samplerate > 0),
	aspect_ratio     TEXT CHECK (length(aspect_ratio) <= 20),
	rotation         INTEGER NOT NULL DEFAULT 0 CHECK (rotation IN (0, 90, 180, 270)),
	playable         INTEGER NOT NULL DEFAULT 0 CHECK (playable IN (0, 1)),
	thumbnail_key    TEXT UNIQUE,
	thumbnail_type   TEXT CHECK (thumbnail_type IN ('image/jpeg', 'image/png')),
	thumbnail_origin TEXT CHECK (thumbnail_origin IN ('auto', 'picked', 'uploaded')),
	thumbnail_at     INTEGER,
	preview_key      TEXT UNIQUE,
	preview_size     INTEGER CHECK (preview_size >= 0),
	CHECK ((thumbnail_key IS NULL) = (thumbnail_type IS NULL)),
	CHECK ((thumbnail_key IS NULL) = (thumbnail_origin IS NULL)),
	CHECK ((thumbnail_key IS NULL) = (thumbnail_at IS NULL)),
	CHECK ((preview_key IS NULL) = (preview_size IS NULL))
) STRICT;

-- Webhooks gain the event 'video.processed'. SQLite cannot change a
-- CHECK in place, so the event table is rebuilt, and with it the tables
-- that refer to it, as 0007 rebuilt the uploads: create, copy, drop the
-- old ones children first (so that no cascade finds a row), rename.
CREATE TABLE webhook_events_new (
	id         TEXT PRIMARY KEY CHECK (id GLOB 'ev*' AND length(id) = 24),
	type       TEXT NOT NULL CHECK (type IN ('upload.started', 'upload.completed', 'upload.failed',
		'link.used_up', 'link.expired', 'video.processed')),
	payload    TEXT NOT NULL CHECK (json_valid(payload)),
	created_at INTEGER NOT NULL
) STRICT;

INSERT INTO webhook_events_new (id, type, payload, created_at)
	SELECT id, type, payload, created_at FROM webhook_events;

CREATE TABLE webhook_deliveries_new (
	id              INTEGER PRIMARY KEY,
	endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
	event_id        TEXT NOT NULL REFERENCES webhook_events_new (id) ON DELETE CASCADE,
	order_key       TEXT NOT NULL,
	status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
	attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	created_at      INTEGER NOT NULL,
	next_attempt_at INTEGER,
	give_up_at      INTEGER NOT NULL,
	last_attempt_at INTEGER,
	last_status     INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT NOT NULL DEFAULT '' CHECK (length(last_error) <= 1000),
	finished_at     INTEGER,
	resent_from     INTEGER,
	CHECK ((status = 'pending') = (next_attempt_at IS NOT NULL)),
	CHECK ((status = 'pending') = (finished_at IS NULL))
) STRICT;

INSERT INTO webhook_deliveries_new (id, endpoint_id, event_id, order_key, status, attempts,
	created_at, next_attempt_at, give_up_at, last_attempt_at, last_status, last_error,
	finished_at, resent_from)
	SELECT id, endpoint_id, event_id, order_key, status, attempts,
		created_at, next_attempt_at, give_up_at, last_attempt_at, last_status, last_error,
		finished_at, resent_from
	FROM webhook_deliveries;

CREATE TABLE webhook_attempts_new (
	id          INTEGER PRIMARY KEY,
	delivery_id INTEGER NOT NULL REFERENCES webhook_deliveries_new (id) ON DELETE CASCADE,
	at          INTEGER NOT NULL,
	status      INTEGER NOT NULL DEFAULT 0 CHECK (status BETWEEN 0 AND 999),
	error       TEXT NOT NULL DEFAULT '' CHECK (length(error) <= 1000),
	duration_ms INTEGER NOT NULL CHECK (duration_ms >= 0)
) STRICT;

INSERT INTO webhook_attempts_new (id, delivery_id, at, status, error, duration_ms)
	SELECT id, delivery_id, at, status, error, duration_ms FROM webhook_attempts;

DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_events;
ALTER TABLE webhook_events_new RENAME TO webhook_events;
ALTER TABLE webhook_deliveries_new RENAME TO webhook_deliveries;
ALTER TABLE webhook_attempts_new RENAME TO webhook_attempts;

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (endpoint_id, order_key, id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, id);
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (event_id);
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at) WHERE status <> 'pending';
CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (delivery_id, id);

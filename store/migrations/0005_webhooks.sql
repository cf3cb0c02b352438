-- Webhooks (issue 7): the endpoints admins register, the events sent to
-- them, and the queue of deliveries with every attempt. A pending
-- delivery is a row, so the queue survives a restart.

CREATE TABLE webhook_endpoints (
	id         TEXT PRIMARY KEY CHECK (id GLOB 'wh*' AND length(id) = 24),
	url        TEXT NOT NULL CHECK (length(url) BETWEEN 10 AND 2000),
	-- The HMAC-SHA256 key. It is kept in clear because signing needs it;
	-- the dashboard shows it so that the receiver can be configured.
	secret     TEXT NOT NULL CHECK (length(secret) >= 32),
	-- Comma-separated event types, such as 'upload.completed,link.expired'.
	events     TEXT NOT NULL CHECK (events GLOB '[a-z]*'),
	created_at INTEGER NOT NULL
) STRICT;

-- An event that at least one endpoint was subscribed to. payload is the
-- exact body every endpoint receives, and every retry and resend.
CREATE TABLE webhook_events (
	id         TEXT PRIMARY KEY CHECK (id GLOB 'ev*' AND length(id) = 24),
	type       TEXT NOT NULL CHECK (type IN ('upload.started', 'upload.completed', 'upload.failed', 'link.used_up', 'link.expired')),
	payload    TEXT NOT NULL CHECK (json_valid(payload)),
	created_at INTEGER NOT NULL
) STRICT;

-- One row per event and endpoint. The id gives the order of emission:
-- of the pending deliveries with the same order_key ('video:<id>' or
-- 'link:<id>') to one endpoint, only the oldest is sent, so that an
-- endpoint hears about a video in order.
CREATE TABLE webhook_deliveries (
	id              INTEGER PRIMARY KEY,
	endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
	event_id        TEXT NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
	order_key       TEXT NOT NULL,
	status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
	attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	created_at      INTEGER NOT NULL,
	next_attempt_at INTEGER,
	-- After this moment a failed attempt is the last one.
	give_up_at      INTEGER NOT NULL,
	last_attempt_at INTEGER,
	-- The HTTP status of the last attempt; 0 when none answered.
	last_status     INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT NOT NULL DEFAULT '' CHECK (length(last_error) <= 1000),
	finished_at     INTEGER,
	-- The delivery this one sends again, from the dashboard's resend. Not
	-- a foreign key: that one may be pruned first.
	resent_from     INTEGER,
	CHECK ((status = 'pending') = (next_attempt_at IS NOT NULL)),
	CHECK ((status = 'pending') = (finished_at IS NULL))
) STRICT;

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (endpoint_id, order_key, id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, id);
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (event_id);
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at) WHERE status <> 'pending';

-- Every attempt to send a delivery: its HTTP status (0 when there was no
-- answer), what went wrong, and how long it took.
CREATE TABLE webhook_attempts (
	id          INTEGER PRIMARY KEY,
	delivery_id INTEGER NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
	at          INTEGER NOT NULL,
	status      INTEGER NOT NULL DEFAULT 0 CHECK (status BETWEEN 0 AND 999),
	error       TEXT NOT NULL DEFAULT '' CHECK (length(error) <= 1000),
	duration_ms INTEGER NOT NULL CHECK (duration_ms >= 0)
) STRICT;

CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (delivery_id, id);

-- What was noticed about links, so that each fact is announced once, even
-- when two requests or passes notice it together: 'used_up' (at = 0), and
-- 'expired' (at = the expires_at that passed, so that a link extended
-- after expiring is announced again when it expires again). Facts noticed
-- while no endpoint listened are recorded too, so that a new endpoint is
-- not sent old news.
CREATE TABLE webhook_link_notices (
	link_id TEXT NOT NULL REFERENCES links (id) ON DELETE CASCADE,
	kind    TEXT NOT NULL CHECK (kind IN ('used_up', 'expired')),
	at      INTEGER NOT NULL,
	PRIMARY KEY (link_id, kind, at)
) STRICT, WITHOUT ROWID;

-- Links that expired before webhooks existed are old news.
INSERT INTO webhook_link_notices (link_id, kind, at)
	SELECT id, 'expired', expires_at FROM links
	WHERE expires_at IS NOT NULL AND expires_at <= CAST(unixepoch('subsec') * 1000 AS INTEGER);

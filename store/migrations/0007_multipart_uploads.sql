-- One straight upload path (issue 11). An upload is now a multipart object
-- in the blob store: each part is written once, as a part, and the object
-- is assembled from the parts this database records, with the ETag the
-- blob store returned for each. Uploads through links call the upload
-- service directly and need no upload token, so the tokens that backed
-- links are gone: nobody can use one past its link's rules (issue 10).
--
-- SQLite cannot change a column's constraints in place, so the upload
-- tables are rebuilt: create the new table, copy, drop the old one, and
-- rename. Children go before parents, so that dropping a parent finds no
-- child row to cascade to.

CREATE TABLE uploads_new (
	video_id         TEXT PRIMARY KEY REFERENCES videos (id) ON DELETE CASCADE,
	-- The token that started the upload; NULL for an upload through a
	-- link, which link_uploads describes.
	token_id         TEXT REFERENCES upload_tokens (id),
	mode             TEXT NOT NULL CHECK (mode IN ('single', 'part', 'bytes')),
	-- 'completing': every part is recorded and the object is being
	-- assembled (blob.CompleteMultipart); anyone may finish that.
	status           TEXT NOT NULL CHECK (status IN ('uploading', 'completing', 'uploaded')),
	-- The object the source is (or will be) in, and the blob store's
	-- multipart upload building it, until it completes.
	source_key       TEXT NOT NULL UNIQUE,
	multipart_id     TEXT CHECK (multipart_id <> ''),
	-- Bytes and parts recorded so far (every part, in order or not).
	source_size      INTEGER NOT NULL DEFAULT 0 CHECK (source_size >= 0),
	received_parts   INTEGER NOT NULL DEFAULT 0 CHECK (received_parts >= 0),
	total_parts      INTEGER CHECK (total_parts BETWEEN 1 AND 10000),
	total_bytes      INTEGER CHECK (total_bytes >= 0),
	filename         TEXT NOT NULL,
	owns_video       INTEGER NOT NULL CHECK (owns_video IN (0, 1)),
	started_at       INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL,
	lease_expires_at INTEGER NOT NULL,
	completed_at     INTEGER,
	CHECK ((status = 'uploaded') = (completed_at IS NOT NULL)),
	CHECK (status = 'uploaded' OR multipart_id IS NOT NULL)
) STRICT;

-- An upload in progress was assembled in its source blob, which is where
-- blob.Dir builds a multipart upload too (its ID is the key). Uploads
-- through links lose their token.
INSERT INTO uploads_new (video_id, token_id, mode, status, source_key, multipart_id,
	source_size, received_parts, total_parts, total_bytes, filename, owns_video,
	started_at, updated_at, lease_expires_at, completed_at)
SELECT u.video_id,
	CASE WHEN EXISTS (SELECT 1 FROM link_uploads lu WHERE lu.video_id = u.video_id) THEN NULL ELSE u.token_id END,
	u.mode, u.status, u.source_key,
	CASE WHEN u.status = 'uploading' THEN u.source_key END,
	coalesce((SELECT sum(p.size) FROM upload_parts p WHERE p.video_id = u.video_id), 0),
	(SELECT count(*) FROM upload_parts p WHERE p.video_id = u.video_id),
	u.total_parts, u.total_bytes, u.filename, u.owns_video,
	u.started_at, u.updated_at, u.lease_expires_at, u.completed_at
FROM uploads u;

-- Every recorded part. seq is the part number (part mode), the first byte
-- (bytes mode) or 1 (single mode); number is the blob store's part number:
-- the part number, or in bytes mode the first byte divided by 5 MiB, plus
-- one (every range but the last holds at least 5 MiB, so two ranges never
-- share a number, and the highest, for a range starting below the largest
-- total of 52,428,800,000 bytes, is 10,000). etag names which write of the
-- part the object is assembled from; with blob.Dir it is empty for a part
-- written in place, and otherwise the key of the object holding it.
CREATE TABLE upload_parts_new (
	video_id    TEXT NOT NULL REFERENCES uploads_new (video_id) ON DELETE CASCADE,
	seq         INTEGER NOT NULL CHECK (seq >= 0),
	number      INTEGER NOT NULL CHECK (number BETWEEN 1 AND 10000),
	size        INTEGER NOT NULL CHECK (size >= 0),
	etag        TEXT NOT NULL DEFAULT '',
	received_at INTEGER NOT NULL,
	PRIMARY KEY (video_id, seq),
	UNIQUE (video_id, number)
) STRICT;

INSERT INTO upload_parts_new (video_id, seq, number, size, etag, received_at)
SELECT p.video_id, p.seq,
	CASE u.mode WHEN 'bytes' THEN p.seq / 5242880 + 1 WHEN 'single' THEN 1 ELSE p.seq END,
	p.size, coalesce(p.staged_key, ''), p.received_at
FROM upload_parts p JOIN uploads u ON u.video_id = p.video_id;

DROP TABLE upload_parts;
DROP TABLE uploads;
ALTER TABLE uploads_new RENAME TO uploads;
ALTER TABLE upload_parts_new RENAME TO upload_parts;

CREATE INDEX uploads_open_by_token ON uploads (token_id) WHERE status = 'uploading';
CREATE INDEX uploads_open_by_lease ON uploads (lease_expires_at) WHERE status = 'uploading';
CREATE INDEX uploads_completing ON uploads (updated_at) WHERE status = 'completing';
CREATE INDEX uploads_by_token ON uploads (token_id);
CREATE INDEX upload_parts_by_etag ON upload_parts (etag) WHERE etag <> '';

-- Link uploads: a released upload may never have had a video (its start
-- failed before the video existed), and in upstream mode each upload has
-- an upload token of its own on the remote host, deleted when the upload
-- ends. link_uploads has no children, so it is rebuilt the same way.
CREATE TABLE link_uploads_new (
	id               TEXT PRIMARY KEY CHECK (length(id) = 22),
	link_id          TEXT NOT NULL REFERENCES links (id) ON DELETE CASCADE,
	video_id         TEXT UNIQUE,
	status           TEXT NOT NULL CHECK (status IN ('starting', 'uploading', 'completed', 'released')),
	filename         TEXT NOT NULL,
	size             INTEGER NOT NULL CHECK (size > 0),
	last_modified    INTEGER NOT NULL,
	chunk_size       INTEGER NOT NULL CHECK (chunk_size > 0),
	total_parts      INTEGER NOT NULL CHECK (total_parts BETWEEN 1 AND 10000),
	next_part        INTEGER NOT NULL DEFAULT 1 CHECK (next_part BETWEEN 1 AND total_parts + 1),
	hash_state       BLOB NOT NULL,
	sha256           TEXT,
	title            TEXT NOT NULL DEFAULT '',
	description      TEXT NOT NULL DEFAULT '',
	uploader_name    TEXT NOT NULL DEFAULT '',
	uploader_email   TEXT NOT NULL DEFAULT '',
	-- The remote upload token of this upload (upstream mode), until it is
	-- deleted on the remote host; '' otherwise.
	token            TEXT NOT NULL DEFAULT '',
	started_at       INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL,
	lease_expires_at INTEGER NOT NULL,
	completed_at     INTEGER,
	released_reason  TEXT NOT NULL DEFAULT '',
	CHECK ((status = 'completed') = (completed_at IS NOT NULL)),
	CHECK (status IN ('starting', 'released') OR video_id IS NOT NULL)
) STRICT;

INSERT INTO link_uploads_new (id, link_id, video_id, status, filename, size, last_modified,
	chunk_size, total_parts, next_part, hash_state, sha256, title, description,
	uploader_name, uploader_email, token, started_at, updated_at, lease_expires_at,
	completed_at, released_reason)
SELECT lu.id, lu.link_id, lu.video_id, lu.status, lu.filename, lu.size, lu.last_modified,
	lu.chunk_size, lu.total_parts, lu.next_part, lu.hash_state, lu.sha256, lu.title, lu.description,
	lu.uploader_name, lu.uploader_email,
	-- In upstream mode the uploads in progress go on with their link's
	-- token; a local link's token is deleted below.
	CASE WHEN lu.status IN ('starting', 'uploading') AND NOT EXISTS (SELECT 1 FROM upload_tokens t WHERE t.id = l.token)
		THEN l.token ELSE '' END,
	lu.started_at, lu.updated_at, lu.lease_expires_at, lu.completed_at, lu.released_reason
FROM link_uploads lu JOIN links l ON l.id = lu.link_id;

DROP TABLE link_uploads;
ALTER TABLE link_uploads_new RENAME TO link_uploads;

CREATE INDEX link_uploads_by_link ON link_uploads (link_id, status);
CREATE INDEX link_uploads_by_lease ON link_uploads (lease_expires_at) WHERE status IN ('starting', 'uploading');
CREATE INDEX link_uploads_by_link_start ON link_uploads (link_id, started_at DESC, id);
CREATE INDEX link_uploads_with_token ON link_uploads (status) WHERE token <> '';

-- The local tokens that backed links go: no upload through a link refers
-- to them any more. One that was also used through POST /upload (the hole
-- this closes) is kept, deleted, so that its uploads keep their record; the
-- others are removed. A link keeps in links.token only a remote host's
-- token from before (upstream mode), which the cleanup job deletes there
-- once no upload in progress uses it; '' otherwise.
CREATE TEMP TABLE link_tokens AS SELECT token AS id FROM links WHERE token IN (SELECT id FROM upload_tokens);
UPDATE upload_tokens SET deleted_at = CAST(unixepoch('subsec') * 1000 AS INTEGER)
	WHERE deleted_at IS NULL AND id IN (SELECT id FROM link_tokens);
DELETE FROM upload_tokens WHERE id IN (SELECT id FROM link_tokens)
	AND NOT EXISTS (SELECT 1 FROM uploads u WHERE u.token_id = upload_tokens.id);
UPDATE links SET token = '' WHERE token IN (SELECT id FROM link_tokens);
DROP TABLE link_tokens;

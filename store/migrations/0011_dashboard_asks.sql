-- What users of file-request tools ask for (issue 13): personalised links
-- made in bulk, admins who get email about uploads, the queue of that
-- email, and the install's branding.

-- The person a link was made for (bulk links), shown in its label and
-- used for email; batch_id groups the links made together, so that their
-- table can be shown and downloaded again, in the order of batch_seq (the
-- line of the list each came from). email_receipt sends the
-- uploader a receipt by email once the upload completes.
ALTER TABLE links ADD COLUMN recipient_name TEXT NOT NULL DEFAULT '' CHECK (length(recipient_name) <= 200);
ALTER TABLE links ADD COLUMN recipient_email TEXT NOT NULL DEFAULT '' CHECK (length(recipient_email) <= 254);
ALTER TABLE links ADD COLUMN batch_id TEXT NOT NULL DEFAULT '';
ALTER TABLE links ADD COLUMN batch_seq INTEGER NOT NULL DEFAULT 0 CHECK (batch_seq >= 0);
ALTER TABLE links ADD COLUMN email_receipt INTEGER NOT NULL DEFAULT 0 CHECK (email_receipt IN (0, 1));

CREATE INDEX links_by_batch ON links (batch_id, batch_seq) WHERE batch_id <> '';

-- An admin who opted in is emailed when an upload through a link
-- completes or fails.
ALTER TABLE admins ADD COLUMN notify_uploads INTEGER NOT NULL DEFAULT 0 CHECK (notify_uploads IN (0, 1));

-- Email waiting to be sent, and what came of it: a pending message is a
-- row, so the queue survives a restart and an SMTP server that is down
-- loses nothing. The message is composed when queued; dedupe_key makes
-- queueing the same notice twice (a repeated event) a no-op.
CREATE TABLE email_messages (
	id              INTEGER PRIMARY KEY,
	kind            TEXT NOT NULL CHECK (kind IN ('upload.completed', 'upload.failed', 'receipt', 'test')),
	dedupe_key      TEXT NOT NULL UNIQUE CHECK (length(dedupe_key) BETWEEN 1 AND 400),
	message_id      TEXT NOT NULL CHECK (length(message_id) BETWEEN 3 AND 300),
	to_addr         TEXT NOT NULL CHECK (length(to_addr) BETWEEN 3 AND 254),
	subject         TEXT NOT NULL CHECK (length(subject) <= 1000),
	body            TEXT NOT NULL CHECK (length(body) <= 100000),
	status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
	attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	created_at      INTEGER NOT NULL,
	next_attempt_at INTEGER,
	-- After this moment a failed attempt is the last one.
	give_up_at      INTEGER NOT NULL,
	last_attempt_at INTEGER,
	last_error      TEXT NOT NULL DEFAULT '' CHECK (length(last_error) <= 1000),
	finished_at     INTEGER,
	CHECK ((status = 'pending') = (next_attempt_at IS NOT NULL)),
	CHECK ((status = 'pending') = (finished_at IS NULL))
) STRICT;

CREATE INDEX email_messages_due ON email_messages (next_attempt_at) WHERE status = 'pending';
CREATE INDEX email_messages_finished ON email_messages (finished_at) WHERE status <> 'pending';

-- The install's branding, on the pages recipients see: one row at most.
-- The logo is kept here (at most 512 KiB) so that a backup of the
-- database carries it; logo_type is the type its bytes were sniffed as.
CREATE TABLE branding (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	accent     TEXT NOT NULL DEFAULT '' CHECK (accent = '' OR length(accent) = 7),
	logo       BLOB,
	logo_type  TEXT NOT NULL DEFAULT '' CHECK (logo_type IN ('', 'image/png', 'image/jpeg', 'image/webp')),
	logo_width  INTEGER NOT NULL DEFAULT 0 CHECK (logo_width >= 0),
	logo_height INTEGER NOT NULL DEFAULT 0 CHECK (logo_height >= 0),
	updated_at INTEGER NOT NULL,
	CHECK ((logo IS NULL) = (logo_type = '')),
	CHECK (logo IS NULL OR length(logo) <= 524288)
) STRICT;

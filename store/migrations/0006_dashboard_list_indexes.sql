-- Indexes for the dashboard's lists, so that each page is read in order
-- from an index instead of sorting the whole table (store/queryplan_test.go).

-- Links by expiry (never-expiring last) and by label, both directions.
CREATE INDEX links_by_expiry ON links (coalesce(expires_at, 9223372036854775807), created_at, id);
CREATE INDEX links_by_label ON links (label COLLATE NOCASE, created_at DESC, id);

-- Every token, deleted ones included, newest first; and the link and the
-- uploads behind a token.
CREATE INDEX upload_tokens_all_by_created ON upload_tokens (created_at, id);
CREATE INDEX links_by_token ON links (token, created_at, id);
CREATE INDEX uploads_by_token ON uploads (token_id);

-- SQLite's 0013. The object a claimant writes its part to when the part's
-- length is not known before its bytes end and the blob store needs it in
-- advance (an object store: see package ingest, writeAside), or ''. Such a
-- write is an upload of its own in the blob store; when the claimant dies
-- in the middle of it, whoever ends the lapsed claim discards what it
-- left, at once rather than when the cleanup job finds it an hour later.
ALTER TABLE part_claims ADD COLUMN aside_key TEXT COLLATE "C" NOT NULL DEFAULT '';

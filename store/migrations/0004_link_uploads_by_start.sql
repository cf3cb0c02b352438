-- A link's uploads are listed newest first (ListLinkUploads) and the
-- newest unfinished upload of a file is looked up to resume it. Both read
-- this index in order instead of sorting every upload of the link in a
-- temporary B-tree (issue 6; store/queryplan_test.go).

CREATE INDEX link_uploads_by_link_start ON link_uploads (link_id, started_at DESC, id);

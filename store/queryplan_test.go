package store

// The list queries must read their rows in order from an index, never
// sort the whole table (issue 6). This test asks SQLite for the plan of
// each list query and sort order, built from the same fragments the store
// uses (tokenOrders, videoSortColumns, linkColumns), and fails if a plan
// scans a table without an index or sorts in a temporary B-tree.
//
// The plans are taken without ANALYZE statistics, as in production, where
// uplink never runs ANALYZE.

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// SQLite only: PostgreSQL plans by statistics, and has its own EXPLAIN.
func TestListQueriesUseIndexes(t *testing.T) {
	if os.Getenv("UPLINK_TEST_POSTGRES") != "" { // storetest.EnvPostgres, which this package cannot import.
		t.Skip("SQLite only: the tests run on PostgreSQL")
	}
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "uplink.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	// A few rows of each kind, so that the plans are those of a store in
	// use; without statistics SQLite plans the same either way.
	for i := range 30 {
		if _, err := s.CreateUploadToken(ctx, i%3*3600); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateVideo(ctx, VideoCreate{Title: fmt.Sprintf("video %d", i), Tags: []string{"t"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateLink(ctx, LinkCreate{Token: "to", Label: "link"}); err != nil {
			t.Fatal(err)
		}
	}

	type query struct {
		description string
		sql         string
		args        []any
	}
	var queries []query
	const activeTokens = `FROM upload_tokens
		WHERE deleted_at IS NULL
		  AND coalesce(expires_at, 9223372036854775807) > ?`
	queries = append(queries, query{"count active tokens", `SELECT count(*) ` + activeTokens, []any{0}})
	for _, sort := range []TokenSort{TokenSortCreatedAt, TokenSortTTL} {
		for _, desc := range []bool{false, true} {
			queries = append(queries, query{
				fmt.Sprintf("tokens by %s desc=%v", sort, desc),
				`SELECT id, ttl, created_at, expires_at, deleted_at ` + activeTokens + `
				ORDER BY ` + tokenOrders[tokenOrderKey{sort, desc}] + `
				LIMIT ? OFFSET ?`,
				[]any{0, 25, 9975},
			})
		}
	}
	queries = append(queries, query{"count videos", `SELECT count(*) FROM videos v `, nil})
	for sort, col := range videoSortColumns {
		for _, dir := range []string{"", " DESC"} {
			queries = append(queries, query{
				fmt.Sprintf("videos by %s%s", sort, dir),
				`SELECT v.id, v.title, v.description, v.public, v.panoramic, v.mp4_support,
					v.language, v.language_origin, v.player_id,
					v.created_at, v.updated_at, v.published_at,
					coalesce(u.status, ''), coalesce(u.source_size, 0), coalesce(u.token_id, '')
				FROM videos v
				LEFT JOIN uploads u ON u.video_id = v.id
				ORDER BY ` + col + dir + `, v.id` + dir + ` LIMIT ? OFFSET ?`,
				[]any{25, 9975},
			})
		}
	}
	queries = append(queries,
		query{"tags of a page of videos", `SELECT video_id, tag FROM video_tags
			WHERE video_id IN (SELECT value FROM json_each(?))
			ORDER BY video_id, position`, []any{`["vi1","vi2"]`}},
		query{"metadata of a page of videos", `SELECT video_id, key, value FROM video_metadata
			WHERE video_id IN (SELECT value FROM json_each(?))
			ORDER BY video_id, position`, []any{`["vi1","vi2"]`}},
		query{"count links", `SELECT count(*) FROM links`, nil},
		query{"links, newest first", `SELECT ` + linkColumns + ` FROM links l
			ORDER BY l.created_at DESC, l.id DESC LIMIT :limit OFFSET :offset`,
			[]any{sql.Named("now", 0), sql.Named("limit", 25), sql.Named("offset", 0)}},
		query{"uploads of a link, newest first", `SELECT ` + linkUploadColumns + ` FROM link_uploads
			WHERE link_id = ? ORDER BY started_at DESC, id`, []any{"l"}},
		query{"resumable upload of a file on a link", `SELECT ` + linkUploadColumns + ` FROM link_uploads
			WHERE link_id = ? AND status = 'uploading' AND filename = ? AND size = ? AND last_modified = ?
			  AND lease_expires_at > ?
			ORDER BY started_at DESC LIMIT 1`, []any{"l", "f", 1, 1, 0}},
	)

	// The dashboard's lists (FindLinks without filters, FindVideoRows,
	// FindTokenRows), built from the same fragments.
	for sort, orders := range linkOrders(s.d) {
		for i, order := range orders {
			queries = append(queries, query{
				fmt.Sprintf("dashboard links by %s desc=%v", sort, i == 1),
				`SELECT ` + linkColumns + ` FROM links l ORDER BY ` + order + ` LIMIT :limit OFFSET :offset`,
				[]any{sql.Named("now", 0), sql.Named("limit", 25), sql.Named("offset", 0)},
			})
		}
	}
	queries = append(queries,
		query{"dashboard videos, newest first", videoRowQuery + `
			ORDER BY v.created_at DESC, v.id DESC LIMIT ? OFFSET ?`, []any{25, 0}},
		query{"dashboard tokens, newest first", `
			SELECT t.id, t.ttl, t.created_at, t.expires_at, t.deleted_at,
				coalesce(l.id, ''), coalesce(l.label, ''),
				(SELECT count(*) FROM uploads u WHERE u.token_id = t.id)
			FROM upload_tokens t
			LEFT JOIN links l ON l.id = (
				SELECT id FROM links WHERE token = t.id ORDER BY created_at, id LIMIT 1)
			ORDER BY t.created_at DESC, t.id DESC
			LIMIT ? OFFSET ?`, []any{25, 0}},
	)

	for _, q := range queries {
		t.Run(q.description, func(t *testing.T) {
			plan := explain(t, s, q.sql, q.args...)
			t.Logf("plan: %q", plan)
			for _, step := range plan {
				scan := strings.HasPrefix(step, "SCAN ") && !strings.Contains(step, " INDEX ") &&
					!strings.Contains(step, "VIRTUAL TABLE") && !strings.HasPrefix(step, "SCAN CONSTANT ROW")
				if scan || strings.Contains(step, "TEMP B-TREE") {
					t.Errorf("plan step %q: a table scan or a sort without an index\nplan:\n  %s", step, strings.Join(plan, "\n  "))
				}
			}
		})
	}
}

// explain returns the detail column of each step of the query's plan.
func explain(t *testing.T, s *Store, query string, args ...any) []string {
	t.Helper()
	rows, err := s.read.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("EXPLAIN QUERY PLAN: %v\n%s", err, query)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}

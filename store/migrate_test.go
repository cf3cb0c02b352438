package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/store/storetest"
)

const mib = 1 << 20

// oldLease is when the leases of the old uploads run out: after the
// store's clock (storetest.Epoch), so that those in progress still count.
var oldLease = storetest.Epoch.Add(50 * time.Minute)

// TestUpgradeFrom0006 builds a database the way uplink did before
// migration 0007 (schema 0001..0006, rows written in that schema), opens it
// with the current store, and checks through the store's methods what an
// upgraded install sees: 0007 rebuilt the upload tables without losing a
// row or a count, and removed the upload tokens that backed links, which
// used to work on POST /upload?token= past their link's rules.
//
// SQLite only: PostgreSQL's schema starts at today's.
func TestUpgradeFrom0006(t *testing.T) {
	storetest.SQLiteOnly(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "uplink.db")
	oldApplied := storetest.Epoch.Add(-30 * 24 * time.Hour)
	t0 := storetest.Epoch.Add(-48 * time.Hour) // When the links and tokens were made.
	t1 := storetest.Epoch.Add(-10 * time.Minute)

	db := openOld(t, path, oldApplied)
	o := oldDB{t, db}

	// An API token, with a finished part-mode upload and a bytes-mode one
	// in progress whose last range arrived first and waits aside.
	apiTok, vAPI, kAPI := store.NewID(store.PrefixUploadToken), store.NewID(store.PrefixVideo), blob.NewKey()
	vAPI2, kAPI2, staged := store.NewID(store.PrefixVideo), blob.NewKey(), blob.NewKey()
	o.exec(`INSERT INTO upload_tokens (id, ttl, created_at) VALUES (?, 0, ?)`, apiTok, ms(t0))
	o.upload(vAPI, apiTok, "part", kAPI, "interview.mp4", 3, 12*mib, t0, &t1,
		oldPart{1, 5 * mib, 0, ""}, oldPart{2, 5 * mib, 5 * mib, ""}, oldPart{3, 2 * mib, 10 * mib, ""})
	o.upload(vAPI2, apiTok, "bytes", kAPI2, "raw.mkv", 0, 12*mib, t1, nil,
		oldPart{0, 5 * mib, 0, ""}, oldPart{10 * mib, 2 * mib, -1, staged})

	// Link 1 is backed by its own token, used only by the link: one upload
	// completed, one in progress with the first of its three parts.
	link1, linkTok1 := store.RandomString(22), store.NewID(store.PrefixUploadToken)
	vA, kA, vB, kB := store.NewID(store.PrefixVideo), blob.NewKey(), store.NewID(store.PrefixVideo), blob.NewKey()
	luA, luB := store.RandomString(22), store.RandomString(22)
	o.link(link1, linkTok1, "Wedding footage", t0, true)
	o.upload(vA, linkTok1, "part", kA, "ceremony.mov", 2, 6*mib, t0, &t1,
		oldPart{1, 5 * mib, 0, ""}, oldPart{2, 1 * mib, 5 * mib, ""})
	o.upload(vB, linkTok1, "part", kB, "party.mov", 3, 0, t1, nil, oldPart{1, 5 * mib, 0, ""})
	sumA := "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	o.exec(`INSERT INTO link_uploads (id, link_id, video_id, status, filename, size, last_modified, chunk_size,
		total_parts, next_part, hash_state, sha256, uploader_name, started_at, updated_at, lease_expires_at, completed_at)
		VALUES (?, ?, ?, 'completed', 'ceremony.mov', ?, 1700000000000, ?, 2, 3, ?, ?, 'Ana', ?, ?, ?, ?)`,
		luA, link1, vA, 6*mib, 5*mib, []byte("state-A"), sumA, ms(t0), ms(t1), ms(t1), ms(t1))
	o.exec(`INSERT INTO link_uploads (id, link_id, video_id, status, filename, size, last_modified, chunk_size,
		total_parts, next_part, hash_state, uploader_name, started_at, updated_at, lease_expires_at)
		VALUES (?, ?, ?, 'uploading', 'party.mov', ?, 1700000000001, ?, 3, 2, ?, 'Ana', ?, ?, ?)`,
		luB, link1, vB, 12*mib, 5*mib, []byte("state-B"), ms(t1), ms(t1), ms(oldLease))
	for _, e := range []struct{ kind, video string }{{"started", vA}, {"completed", vA}, {"started", vB}} {
		o.exec(`INSERT INTO link_events (link_id, at, kind, video_id) VALUES (?, ?, ?, ?)`, link1, ms(t1), e.kind, e.video)
	}

	// Link 2's token was also used directly on POST /upload (the hole),
	// and link 3's token was never used.
	link2, linkTok2, vH, kH := store.RandomString(22), store.NewID(store.PrefixUploadToken), store.NewID(store.PrefixVideo), blob.NewKey()
	link3, linkTok3 := store.RandomString(22), store.NewID(store.PrefixUploadToken)
	o.link(link2, linkTok2, "Press kit", t0, true)
	o.upload(vH, linkTok2, "single", kH, "sneaky.mp4", 0, 3*mib, t0, &t1, oldPart{1, 3 * mib, 0, ""})
	o.link(link3, linkTok3, "Unused", t0, true)

	// Link 4 is in upstream mode: its token lives on a remote host, and
	// its upload in progress has no local video or upload row.
	link4, remoteTok, luR, vR := store.RandomString(22), store.NewID(store.PrefixUploadToken), store.RandomString(22), store.NewID(store.PrefixVideo)
	o.link(link4, remoteTok, "Remote", t0, false)
	o.exec(`INSERT INTO link_uploads (id, link_id, video_id, status, filename, size, last_modified, chunk_size,
		total_parts, next_part, hash_state, started_at, updated_at, lease_expires_at)
		VALUES (?, ?, ?, 'uploading', 'far.mp4', ?, 1700000000002, ?, 2, 2, ?, ?, ?, ?)`,
		luR, link4, vR, 8*mib, 5*mib, []byte("state-R"), ms(t1), ms(t1), ms(oldLease))

	if err := db.Close(); err != nil {
		t.Fatalf("close the old database: %v", err)
	}

	clock := storetest.NewClock()
	st := storetest.OpenDSN(t, path, clock)

	// The API token still works and is listed, alone: every link token is
	// gone from the list.
	if got, err := st.FindUploadToken(ctx, apiTok); err != nil || got.Deleted() || got.CreatedAt != t0 {
		t.Errorf("FindUploadToken(API token) = %+v, %v; want it intact and not deleted", got, err)
	}
	listed, total, err := st.ListUploadTokens(ctx, store.TokenFilter{Sort: store.TokenSortCreatedAt, Page: store.Page{Number: 1, Size: 100}})
	if err != nil || total != 1 || len(listed) != 1 || listed[0].ID != apiTok {
		t.Errorf("ListUploadTokens = %v (total %d), %v; want only the API token %s", listed, total, err, apiTok)
	}
	// A link token that only links used, or nobody, is removed. The one
	// also used on POST /upload stays so that its upload keeps its token,
	// but deleted, which the upload endpoint refuses like an unknown one.
	for _, id := range []string{linkTok1, linkTok3} {
		if got, err := st.FindUploadToken(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("FindUploadToken(link token %s) = %+v, %v; want ErrNotFound", id, got, err)
		}
	}
	if got, err := st.FindUploadToken(ctx, linkTok2); err != nil || !got.Deleted() {
		t.Errorf("FindUploadToken(link token used on POST /upload) = %+v, %v; want it kept and deleted", got, err)
	}

	// Every upload keeps its status, parts, sizes and source key. Sizes
	// and part counts now count every recorded part (vAPI2's staged range
	// included); parts get the blob store's part number, and a staged part
	// the key of the object holding it as its ETag. An upload in progress
	// is a multipart upload whose ID is its source key (blob.Dir's IDs).
	// Uploads through links lose their token; the one made with a link
	// token on POST /upload keeps it.
	parts := func(at time.Time, ps ...store.Part) []store.Part {
		for i := range ps {
			ps[i].ReceivedAt = at
		}
		return ps
	}
	wantUploads := []store.Upload{
		{VideoID: vAPI, TokenID: apiTok, Mode: "part", Status: "uploaded", SourceKey: kAPI,
			SourceSize: 12 * mib, ReceivedParts: 3, TotalParts: 3, TotalBytes: 12 * mib, Filename: "interview.mp4",
			OwnsVideo: true, StartedAt: t0, UpdatedAt: t1, LeaseExpiresAt: oldLease, CompletedAt: &t1,
			Parts: parts(t0, store.Part{Seq: 1, Number: 1, Size: 5 * mib}, store.Part{Seq: 2, Number: 2, Size: 5 * mib}, store.Part{Seq: 3, Number: 3, Size: 2 * mib})},
		{VideoID: vAPI2, TokenID: apiTok, Mode: "bytes", Status: "uploading", SourceKey: kAPI2, MultipartID: kAPI2,
			SourceSize: 7 * mib, ReceivedParts: 2, TotalBytes: 12 * mib, Filename: "raw.mkv",
			OwnsVideo: true, StartedAt: t1, UpdatedAt: t1, LeaseExpiresAt: oldLease,
			Parts: parts(t1, store.Part{Seq: 0, Number: 1, Size: 5 * mib}, store.Part{Seq: 10 * mib, Number: 3, Size: 2 * mib, ETag: staged})},
		{VideoID: vA, Mode: "part", Status: "uploaded", SourceKey: kA,
			SourceSize: 6 * mib, ReceivedParts: 2, TotalParts: 2, TotalBytes: 6 * mib, Filename: "ceremony.mov",
			OwnsVideo: true, StartedAt: t0, UpdatedAt: t1, LeaseExpiresAt: oldLease, CompletedAt: &t1,
			Parts: parts(t0, store.Part{Seq: 1, Number: 1, Size: 5 * mib}, store.Part{Seq: 2, Number: 2, Size: 1 * mib})},
		{VideoID: vB, Mode: "part", Status: "uploading", SourceKey: kB, MultipartID: kB,
			SourceSize: 5 * mib, ReceivedParts: 1, TotalParts: 3, Filename: "party.mov",
			OwnsVideo: true, StartedAt: t1, UpdatedAt: t1, LeaseExpiresAt: oldLease,
			Parts: parts(t1, store.Part{Seq: 1, Number: 1, Size: 5 * mib})},
		{VideoID: vH, TokenID: linkTok2, Mode: "single", Status: "uploaded", SourceKey: kH,
			SourceSize: 3 * mib, ReceivedParts: 1, TotalBytes: 3 * mib, Filename: "sneaky.mp4",
			OwnsVideo: true, StartedAt: t0, UpdatedAt: t1, LeaseExpiresAt: oldLease, CompletedAt: &t1,
			Parts: parts(t0, store.Part{Seq: 1, Number: 1, Size: 3 * mib})},
	}
	for _, want := range wantUploads {
		got, err := st.FindUpload(ctx, want.VideoID)
		if err != nil {
			t.Errorf("FindUpload(%s): %v", want.Filename, err)
			continue
		}
		checkFields(t, "upload of "+want.Filename, got, want)
		if _, err := st.FindVideo(ctx, want.VideoID); err != nil {
			t.Errorf("FindVideo(%s): %v", want.Filename, err)
		}
	}
	if open, err := st.FindOpenUploads(ctx, apiTok); err != nil || len(open) != 1 || open[0].VideoID != vAPI2 {
		t.Errorf("FindOpenUploads(API token) = %v, %v; want the bytes-mode upload %s", open, err, vAPI2)
	}

	// Links no longer name a local token; an upstream link keeps its
	// remote one, which the cleanup job deletes there later. Link 1 still
	// counts its completed upload and the one in flight.
	for _, l := range []struct {
		id, label, token    string
		completed, inFlight int
	}{{link1, "Wedding footage", "", 1, 1}, {link2, "Press kit", "", 0, 0}, {link3, "Unused", "", 0, 0}, {link4, "Remote", remoteTok, 0, 1}} {
		want := store.Link{ID: l.id, Token: l.token, Label: l.label, MaxUploads: 3, AllowedTypes: []string{"video"},
			CreatedAt: t0, Completed: l.completed, InFlight: l.inFlight}
		got, err := st.FindLink(ctx, l.id)
		if err != nil {
			t.Errorf("FindLink(%s): %v", l.label, err)
			continue
		}
		checkFields(t, "link "+l.label, got, want)
	}

	// The uploads through links keep their status, video, progress (next
	// part and hash state) and checksum. Only the upstream one in progress
	// takes its link's remote token, to go on with it.
	wantLU := map[string]store.LinkUpload{
		luA: {ID: luA, LinkID: link1, VideoID: vA, Status: "completed", Filename: "ceremony.mov", Size: 6 * mib,
			LastModified: 1700000000000, ChunkSize: 5 * mib, TotalParts: 2, NextPart: 3, HashState: []byte("state-A"),
			SHA256: sumA, UploaderName: "Ana", StartedAt: t0, UpdatedAt: t1, LeaseExpiresAt: t1, CompletedAt: &t1},
		luB: {ID: luB, LinkID: link1, VideoID: vB, Status: "uploading", Filename: "party.mov", Size: 12 * mib,
			LastModified: 1700000000001, ChunkSize: 5 * mib, TotalParts: 3, NextPart: 2, HashState: []byte("state-B"),
			UploaderName: "Ana", StartedAt: t1, UpdatedAt: t1, LeaseExpiresAt: oldLease},
		luR: {ID: luR, LinkID: link4, VideoID: vR, Status: "uploading", Filename: "far.mp4", Size: 8 * mib,
			LastModified: 1700000000002, ChunkSize: 5 * mib, TotalParts: 2, NextPart: 2, HashState: []byte("state-R"),
			Token: remoteTok, StartedAt: t1, UpdatedAt: t1, LeaseExpiresAt: oldLease},
	}
	for _, linkID := range []string{link1, link4} {
		got, err := st.ListLinkUploads(ctx, linkID)
		if err != nil {
			t.Fatalf("ListLinkUploads: %v", err)
		}
		for _, lu := range got {
			checkFields(t, "link upload "+lu.Filename, lu, wantLU[lu.ID])
			delete(wantLU, lu.ID)
		}
	}
	for _, lost := range wantLU {
		t.Errorf("link upload %s (%s) is missing after the upgrade", lost.ID, lost.Filename)
	}
	if lu, err := st.FindLinkUpload(ctx, link1, vB); err != nil || lu.Received() != 5*mib {
		t.Errorf("FindLinkUpload(in progress) = %+v, %v; want it found, with 5 MiB received", lu, err)
	}
	if events, err := st.ListLinkEvents(ctx, link1, 10); err != nil || len(events) != 3 {
		t.Errorf("ListLinkEvents(link 1) = %v, %v; want its 3 events", events, err)
	}

	// The gauges tell token uploads from link uploads by token_id: one
	// token upload runs (vAPI2; vB is a link's now), and two link uploads.
	counts, err := st.CountStates(ctx)
	if err != nil {
		t.Fatalf("CountStates: %v", err)
	}
	if counts.Uploads != 1 || counts.LinkUploads != 2 || counts.Links[store.LinkActive] != 4 {
		t.Errorf("CountStates = %+v, want 1 token upload, 2 link uploads, 4 active links", counts)
	}

	// No row points at a row that the rebuild dropped.
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	raw := storetest.RawDB(t, path)
	rows, err := raw.Query(`PRAGMA foreign_key_check`)
	if err != nil {
		t.Fatalf("foreign_key_check: %v", err)
	}
	for rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fk int
		if err := rows.Scan(&table, &rowid, &parent, &fk); err != nil {
			t.Fatalf("foreign_key_check: %v", err)
		}
		t.Errorf("row %v of %s points at a missing row of %s", rowid, table, parent)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("foreign_key_check: %v", err)
	}

	// The upgrade applied 0007 and 0008 only, at the store's time, and
	// reopening applies nothing again (it would record the later time).
	before := appliedMigrations(t, raw)
	names, _ := fs.Glob(os.DirFS("."), "migrations/*.sql")
	if len(before) != len(names) {
		t.Errorf("migrations recorded = %v, want all %d", before, len(names))
	}
	for name, at := range before {
		want := ms(storetest.Epoch) // Applied by this upgrade.
		if name < "migrations/0007" {
			want = ms(oldApplied)
		}
		if at != want {
			t.Errorf("migration %s applied_at = %d, want %d", name, at, want)
		}
	}
	clock.Advance(time.Hour)
	st = storetest.OpenDSN(t, path, clock)
	if _, err := st.FindUpload(ctx, vAPI); err != nil {
		t.Errorf("FindUpload after reopening: %v", err)
	}
	if after := appliedMigrations(t, raw); !reflect.DeepEqual(after, before) {
		t.Errorf("migrations after reopening = %v, want unchanged %v", after, before)
	}
}

// openOld creates the database at path as uplink did before 0007: the
// migrations table as migrate.go makes it, and 0001..0006 applied from
// their files and recorded under the names the store gives them.
func openOld(t *testing.T, path string, applied time.Time) *sql.DB {
	t.Helper()
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(ON)", "synchronous(FULL)"} {
		q.Add("_pragma", p)
	}
	q.Add("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`
		CREATE TABLE IF NOT EXISTS migrations (
			name       TEXT PRIMARY KEY,
			applied_at INTEGER NOT NULL
		) STRICT`); err != nil {
		t.Fatalf("create migrations table: %v", err)
	}
	names, err := fs.Glob(os.DirFS("."), "migrations/000[1-6]_*.sql")
	if err != nil || len(names) != 6 {
		t.Fatalf("migrations 0001..0006 = %v, %v; want 6 files", names, err)
	}
	for _, name := range names {
		body, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(string(body)); err != nil {
			t.Fatalf("apply %s: %v", name, err)
		}
		if _, err := tx.Exec(`INSERT INTO migrations (name, applied_at) VALUES (?, ?)`, name, ms(applied)); err != nil {
			t.Fatalf("record %s: %v", name, err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatalf("commit %s: %v", name, err)
		}
	}
	return db
}

// oldDB writes rows in the schema of 0001..0006.
type oldDB struct {
	t  *testing.T
	db *sql.DB
}

func (o oldDB) exec(query string, args ...any) {
	o.t.Helper()
	if _, err := o.db.Exec(query, args...); err != nil {
		o.t.Fatalf("%s: %v", query, err)
	}
}

// link inserts a link, and when local the upload token behind it, as
// links were created before 0007: one token per link, with its TTL.
func (o oldDB) link(id, token, label string, created time.Time, local bool) {
	o.t.Helper()
	if local {
		o.exec(`INSERT INTO upload_tokens (id, ttl, created_at) VALUES (?, 0, ?)`, token, ms(created))
	}
	o.exec(`INSERT INTO links (id, token, label, ttl, max_uploads, created_at) VALUES (?, ?, ?, 0, 3, ?)`, id, token, label, ms(created))
}

// oldPart is a piece in the old upload_parts: appended to the source at
// offset, or waiting aside in its staged blob (offset -1).
type oldPart struct {
	seq, size, offset int64
	staged            string
}

// upload inserts a video and its upload with the given pieces, computing
// the old counters: the contiguous bytes appended and, in part mode, the
// parts appended. Every piece was received when the upload started, and a
// completed upload has completed set.
func (o oldDB) upload(video, token, mode, key, filename string, totalParts int, totalBytes int64, started time.Time, completed *time.Time, parts ...oldPart) {
	o.t.Helper()
	var size, appended int64
	for _, p := range parts {
		if p.staged == "" {
			size += p.size
			appended++
		}
	}
	status, updated, done := "uploading", started, sql.NullInt64{}
	if completed != nil {
		status, updated, done = "uploaded", *completed, sql.NullInt64{Int64: ms(*completed), Valid: true}
	}
	if mode != "part" {
		appended = 0
	}
	o.exec(`INSERT INTO videos (id, title, created_at, updated_at, published_at) VALUES (?, ?, ?, ?, ?)`,
		video, filename, ms(started), ms(started), ms(started))
	o.exec(`INSERT INTO uploads (video_id, token_id, mode, status, source_key, source_size, appended_parts,
		total_parts, total_bytes, filename, owns_video, started_at, updated_at, lease_expires_at, completed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)`,
		video, token, mode, status, key, size, appended, sql.NullInt64{Int64: int64(totalParts), Valid: totalParts > 0},
		sql.NullInt64{Int64: totalBytes, Valid: totalBytes > 0}, filename, ms(started), ms(updated),
		ms(oldLease), done)
	for _, p := range parts {
		offset, staged := sql.NullInt64{Int64: p.offset, Valid: p.staged == ""}, sql.NullString{String: p.staged, Valid: p.staged != ""}
		o.exec(`INSERT INTO upload_parts (video_id, seq, size, offset, staged_key, received_at) VALUES (?, ?, ?, ?, ?, ?)`,
			video, p.seq, p.size, offset, staged, ms(started))
	}
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// checkFields reports each field of got that differs from want, so that a
// failure names what the upgrade lost.
func checkFields[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range g.NumField() {
		if gf, wf := g.Field(i).Interface(), w.Field(i).Interface(); !reflect.DeepEqual(gf, wf) {
			t.Errorf("%s: %s = %s, want %s", what, g.Type().Field(i).Name, show(g.Field(i)), show(w.Field(i)))
		}
	}
}

// show formats a value, following a pointer to what it points at.
func show(v reflect.Value) string {
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	return fmt.Sprintf("%+v", v.Interface())
}

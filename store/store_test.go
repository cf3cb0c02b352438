package store_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/storetest"
)

func appliedMigrations(t *testing.T, db *sql.DB) map[string]int64 {
	t.Helper()
	rows, err := db.Query(`SELECT name, applied_at FROM migrations`)
	if err != nil {
		t.Fatalf("list migrations: %v", err)
	}
	defer rows.Close()
	m := map[string]int64{}
	for rows.Next() {
		var name string
		var at int64
		if err := rows.Scan(&name, &at); err != nil {
			t.Fatalf("scan migration: %v", err)
		}
		m[name] = at
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("list migrations: %v", err)
	}
	return m
}

// Reopening a database applies nothing twice: the recorded migrations stay
// exactly as they were, and the data written before survives.
func TestOpenAppliesMigrationsOnce(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.NewDSN(t)
	clock := storetest.NewClock()

	st := storetest.OpenDSN(t, dsn, clock)
	tok, err := st.CreateUploadToken(ctx, 0)
	if err != nil {
		t.Fatalf("CreateUploadToken: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	before := appliedMigrations(t, storetest.RawDB(t, dsn))
	first := "migrations/0001_init.sql"
	if storetest.Postgres() {
		first = "migrations/postgres/0001_init.sql"
	}
	if _, ok := before[first]; !ok {
		t.Fatalf("migrations recorded = %v, want %s among them", before, first)
	}

	// A migration applied again would record the later time.
	clock.Advance(time.Hour)
	st = storetest.OpenDSN(t, dsn, clock)
	if _, err := st.FindUploadToken(ctx, tok.ID); err != nil {
		t.Errorf("FindUploadToken after reopen: %v", err)
	}
	if err := st.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
	after := appliedMigrations(t, storetest.RawDB(t, dsn))
	if got, want := len(after), len(before); got != want {
		t.Errorf("migrations recorded after reopen = %d, want %d", got, want)
	}
	for name, at := range before {
		if got, want := after[name], at; got != want {
			t.Errorf("migration %s applied_at = %d after reopen, want %d (applied once)", name, got, want)
		}
	}
}

// Every table is STRICT, so SQLite itself refuses a value of the wrong
// type instead of storing it silently. (PostgreSQL's columns are typed.)
func TestTablesAreStrict(t *testing.T) {
	storetest.SQLiteOnly(t)
	path := filepath.Join(t.TempDir(), "uplink.db")
	storetest.OpenDSN(t, path, storetest.NewClock())
	db := storetest.RawDB(t, path)

	rows, err := db.Query(`SELECT name, strict FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite_%'`)
	if err != nil {
		t.Fatalf("table list: %v", err)
	}
	defer rows.Close()
	var n int
	for rows.Next() {
		var name string
		var strict bool
		if err := rows.Scan(&name, &strict); err != nil {
			t.Fatalf("scan: %v", err)
		}
		n++
		if !strict {
			t.Errorf("table %s is not STRICT", name)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("table list: %v", err)
	}
	if n < 7 {
		t.Errorf("found %d tables, want at least the 7 of 0001_init.sql", n)
	}

	_, err = db.Exec(`INSERT INTO upload_tokens (id, ttl, created_at) VALUES ('to0123456789012345678901', 0, 'yesterday')`)
	if err == nil {
		t.Errorf("inserting a text created_at succeeded, want a STRICT type error")
	}
}

func TestOpenFailsOnUnusablePath(t *testing.T) {
	storetest.SQLiteOnly(t)
	path := filepath.Join(t.TempDir(), "missing-dir", "uplink.db")
	st, err := store.Open(context.Background(), path)
	if err == nil {
		st.Close()
		t.Fatalf("Open(%s) succeeded, want an error", path)
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/store/ingest"
)

// app is an opened data directory and database: the metadata store and
// the blobs, and the upload service over them, for the commands that
// manage data (link, apikey, admin). The server builds more around the
// same parts (Main).
type app struct {
	store  *store.Store
	blobs  blob.Store
	ingest *ingest.Service
	fresh  bool // The database was new.
}

// openApp opens (creating if needed) the data directory and the database,
// with an upload service that announces nothing.
func openApp(ctx context.Context, cfg backendConfig, log *slog.Logger) (*app, error) {
	st, blobs, fresh, err := openData(ctx, cfg)
	if err != nil {
		return nil, err
	}
	svc := ingest.New(st, blobs, ingest.Config{Lease: cfg.lease, Logger: log})
	return &app{store: st, blobs: blobs, ingest: svc, fresh: fresh}, nil
}

// openData opens (creating if needed) the data directory, the database
// (the PostgreSQL database at cfg.database, or else the data directory's
// SQLite file) and the blobs (see openBlobs), and reports whether the
// database is new.
func openData(ctx context.Context, cfg backendConfig) (*store.Store, blob.Store, bool, error) {
	dataDir, database := cfg.dataDir, cfg.database
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, nil, false, fmt.Errorf("create data directory: %w", err)
	}
	st, err := store.Open(ctx, databaseDSN(dataDir, database))
	if err != nil {
		return nil, nil, false, err
	}
	blobs, err := openBlobs(ctx, dataDir, cfg.storage)
	if err != nil {
		st.Close()
		return nil, nil, false, err
	}
	return st, blobs, st.Created(), nil
}

// addDatabaseFlag defines --database, the PostgreSQL database that several
// instances share, on a command's flags.
func addDatabaseFlag(fs *flagSet) *string {
	return fs.String("database", "UPLINK_DATABASE", "",
		"keep the metadata in this PostgreSQL database (postgres://user:password@host:5432/dbname?sslmode=...), which several instances of uplink may share; "+
			"default: the SQLite file uplink.db in --data (prefer the environment variable: the URL may hold a password)")
}

// checkDatabase validates the value of --database: empty, or a
// PostgreSQL URL. It never repeats the value, which may hold a password.
func checkDatabase(database string) error {
	if database != "" && !store.IsPostgres(database) {
		return errors.New("invalid --database: want a postgres:// or postgresql:// URL (the SQLite database is always uplink.db in --data)")
	}
	return nil
}

// databaseDSN is where the metadata is: the PostgreSQL database, or the
// data directory's SQLite file.
func databaseDSN(dataDir, database string) string {
	if database != "" {
		return database
	}
	return filepath.Join(dataDir, "uplink.db")
}

// checkDatabaseExists fails unless the SQLite database is in the data
// directory, for the commands that must not create one (listing, revoking,
// resetting a password): the next "uplink serve" would then not know the
// directory is new. A PostgreSQL database exists by the time it is named.
func checkDatabaseExists(dataDir, database string) error {
	if database != "" {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dataDir, "uplink.db")); err != nil {
		return fmt.Errorf("no uplink database in %s (set --data or $UPLINK_DATA, or --database)", dataDir)
	}
	return nil
}

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

// app is an opened data directory: the metadata store and the blobs, and
// the upload service over them, for the commands that manage data (link,
// apikey, admin). The server builds more around the same parts (Main).
type app struct {
	store  *store.Store
	blobs  blob.Store
	ingest *ingest.Service
	fresh  bool // The data directory had no database before.
}

// openApp opens (creating if needed) the data directory, with an upload
// service that announces nothing.
func openApp(ctx context.Context, cfg backendConfig, log *slog.Logger) (*app, error) {
	st, blobs, fresh, err := openData(ctx, cfg)
	if err != nil {
		return nil, err
	}
	svc := ingest.New(st, blobs, ingest.Config{Lease: cfg.lease, Logger: log})
	return &app{store: st, blobs: blobs, ingest: svc, fresh: fresh}, nil
}

// openData opens (creating if needed) the data directory's database, and
// the blobs (see openBlobs), and reports whether the database is new.
func openData(ctx context.Context, cfg backendConfig) (*store.Store, blob.Store, bool, error) {
	dataDir := cfg.dataDir
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, nil, false, fmt.Errorf("create data directory: %w", err)
	}
	dbPath := filepath.Join(dataDir, "uplink.db")
	_, statErr := os.Stat(dbPath)
	st, err := store.Open(ctx, dbPath)
	if err != nil {
		return nil, nil, false, err
	}
	blobs, err := openBlobs(ctx, dataDir, cfg.storage)
	if err != nil {
		st.Close()
		return nil, nil, false, err
	}
	return st, blobs, errors.Is(statErr, os.ErrNotExist), nil
}

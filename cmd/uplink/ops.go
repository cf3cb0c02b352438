package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/uplink-video/uplink/store"
)

const backupUsage = `uplink backup --to FILE [--data DIR]

Writes a consistent copy of uplink's SQLite database to FILE, while uplink
runs. Uploaded files are not in it: back up the data directory's blobs/
folder alongside (see the README). A PostgreSQL database (--database) is
backed up with PostgreSQL's own tools (pg_dump), not with this command.`

// postgresBackupAdvice is what uplink backup says of a PostgreSQL
// database, which it does not copy.
const postgresBackupAdvice = `uplink backup copies a SQLite database, and this uplink keeps its metadata in PostgreSQL (--database, $UPLINK_DATABASE).
Back it up with PostgreSQL's own tools while uplink runs, for example:
    pg_dump --format=custom --file=uplink.dump "$UPLINK_DATABASE"
(restore with pg_restore), or with continuous archiving (pg_basebackup and WAL archiving).
Either covers the metadata only: the uploaded files are in the blob store (the data directory's blobs/ folder, or the bucket of --blobs); back that up alongside.`

// backup copies the database while uplink may be running.
func backup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("backup", backupUsage, getenv, stderr)
	data := fs.String("data", "UPLINK_DATA", "./data", "uplink's data directory")
	database := addDatabaseFlag(fs)
	to := fs.String("to", "", "", "the file to write the copy to; it must not exist")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *database != "" {
		return errors.New(postgresBackupAdvice)
	}
	if *to == "" {
		return errors.New("backup needs --to FILE")
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	dbPath := filepath.Join(*data, "uplink.db")
	if _, err := os.Stat(dbPath); err != nil {
		return fmt.Errorf("no uplink database in %s (set --data or $UPLINK_DATA)", *data)
	}
	st, err := store.Open(ctx, dbPath)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Backup(ctx, *to); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "Wrote a copy of %s to %s.\n", dbPath, *to)
	return nil
}

const healthcheckUsage = `uplink healthcheck [--addr HOST:PORT] [--tls]

Asks the uplink listening on --addr whether it is ready (GET /readyz) and
exits 0 if it is, 1 if not. For container health checks.`

// healthcheck probes a running uplink's readiness.
func healthcheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("healthcheck", healthcheckUsage, getenv, stderr)
	addr := fs.String("addr", "UPLINK_ADDR", "127.0.0.1:8080", "address uplink listens on")
	useTLS := fs.String("tls-cert", "UPLINK_TLS_CERT", "", "set when uplink serves https (the certificate is not verified: this is a local probe)")
	if err := fs.parse(args); err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("invalid --addr %q: %w", *addr, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	scheme := "http"
	client := &http.Client{Timeout: 5 * time.Second}
	if *useTLS != "" {
		scheme = "https"
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+net.JoinHostPort(host, port)+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("not reachable: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("not ready (HTTP %d):\n%s", resp.StatusCode, body)
	}
	fmt.Fprint(stdout, string(body))
	return nil
}

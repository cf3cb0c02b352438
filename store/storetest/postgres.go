package storetest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
)

// EnvPostgres is the environment variable that runs the tests of a package
// whose TestMain calls Main on PostgreSQL: "1" starts a throwaway cluster
// for the test binary; a postgres:// URL uses that server instead, whose
// user must be allowed to create databases.
const EnvPostgres = "UPLINK_TEST_POSTGRES"

// EnvPostgresBin names the directory of PostgreSQL's programs (initdb,
// postgres) when they are neither on PATH nor in Debian's
// /usr/lib/postgresql/N/bin.
const EnvPostgresBin = "UPLINK_TEST_POSTGRES_BIN"

// The engine of this test binary's stores, and its PostgreSQL server once
// started. A test binary has one of each, shared by its tests; this
// package is only ever linked into tests.
var (
	postgresWanted string // EnvPostgres as Main read it.
	server         struct {
		once sync.Once
		srv  *pgServer
		err  error
	}
)

// Main runs a package's tests and returns their exit code: call it from
// TestMain as os.Exit(storetest.Main(m)). It reads EnvPostgres, so that
// the package's stores are on PostgreSQL when it is set, and stops the
// PostgreSQL cluster it started, if any, once the tests are done. The
// stores of a package without it are SQLite, whatever the environment.
func Main(m *testing.M) int {
	postgresWanted = os.Getenv(EnvPostgres)
	code := m.Run()
	if server.srv != nil {
		server.srv.stop()
	}
	return code
}

// Postgres reports whether this test binary's stores are on PostgreSQL.
func Postgres() bool { return postgresWanted != "" }

// pgServer is the PostgreSQL server of a test binary: a cluster it
// started, or a server EnvPostgres named.
type pgServer struct {
	admin    *sql.DB // To the server's "postgres" database, for CREATE DATABASE.
	base     url.URL // A URL to the server, whose path names the database.
	template string  // A migrated database, which each test's database copies.
	dir      string  // The cluster's directory; "" for a server we did not start.
	// stopCluster stops the cluster's server; nil for a server we did
	// not start.
	stopCluster func()
	exited      chan struct{} // Closed when the cluster's server exited.
	next        atomic.Int64
	mu          sync.Mutex     // CREATE DATABASE from one template, one at a time.
	drops       sync.WaitGroup // The DROP DATABASEs under way.
}

// newPostgresDatabase creates a database for one test from the migrated
// template, so that migrations run once per test binary, and drops it
// when the test ends.
func newPostgresDatabase(tb testing.TB) string {
	tb.Helper()
	s := postgresServer(tb)
	return s.createDatabase(tb, s.template)
}

// newEmptyPostgresDatabase creates an empty database for one test, and
// drops it when the test ends.
func newEmptyPostgresDatabase(tb testing.TB) string {
	tb.Helper()
	return postgresServer(tb).createDatabase(tb, "template0")
}

// postgresServer returns the test binary's server, started on first use.
func postgresServer(tb testing.TB) *pgServer {
	tb.Helper()
	server.once.Do(func() { server.srv, server.err = startPostgres() })
	if server.err != nil {
		tb.Fatalf("PostgreSQL for the tests (%s=%s): %v", EnvPostgres, postgresWanted, server.err)
	}
	return server.srv
}

// createDatabase creates a database copied from template, and drops it
// when the test ends.
func (s *pgServer) createDatabase(tb testing.TB, template string) string {
	tb.Helper()
	name := fmt.Sprintf("%s_%d", s.template, s.next.Add(1))
	ctx := context.Background()
	s.mu.Lock()
	_, err := s.admin.ExecContext(ctx, `CREATE DATABASE `+name+` TEMPLATE `+template+` STRATEGY FILE_COPY`)
	s.mu.Unlock()
	if err != nil {
		tb.Fatalf("create database %s: %v", name, err)
	}
	// Cleanups run last in, first out: this one after the stores of the
	// test, registered later, are closed. The database is dropped in
	// the background, which stop waits for: the test need not.
	tb.Cleanup(func() {
		s.drops.Go(func() {
			_, _ = s.admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
		})
	})
	return s.url(name)
}

// url returns the URL of a database on the server.
func (s *pgServer) url(database string) string {
	u := s.base
	u.Path = "/" + database
	return u.String()
}

// startPostgres starts a throwaway cluster, or connects to the server
// EnvPostgres names, and creates and migrates the template database.
func startPostgres() (*pgServer, error) {
	s := &pgServer{template: "uplink_test_" + strconv.Itoa(os.Getpid())}
	if store.IsPostgres(postgresWanted) {
		u, err := url.Parse(postgresWanted)
		if err != nil {
			return nil, errors.New("invalid URL")
		}
		s.base = *u
	} else if err := s.startCluster(); err != nil {
		return nil, err
	}
	var err error
	if s.admin, err = sql.Open("pgx", s.url("postgres")); err != nil {
		s.stop()
		return nil, err
	}
	if err := s.waitReady(30 * time.Second); err != nil {
		s.stop()
		return nil, err
	}
	ctx := context.Background()
	if _, err := s.admin.ExecContext(ctx, `CREATE DATABASE `+s.template); err != nil {
		s.stop()
		return nil, fmt.Errorf("create the template database: %w", err)
	}
	st, err := store.Open(ctx, s.url(s.template))
	if err == nil {
		err = st.Close()
	}
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("migrate the template database: %w", err)
	}
	return s, nil
}

// startCluster creates a cluster in a new temporary directory with initdb,
// and starts its server, listening on a unix socket in that directory
// only. As root, both run as the postgres user, since PostgreSQL refuses
// to run as root. Durability is off: the cluster lives as long as the
// test binary.
func (s *pgServer) startCluster() error {
	bin, err := postgresBin()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "uplink-pg-")
	if err != nil {
		return err
	}
	s.dir = dir
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("running as root, PostgreSQL needs the postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return err
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out)
	}
	logFile, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-k", dir,
		"-c", "listen_addresses=", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=300", "-c", "shared_buffers=32MB")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// postgres is stopped by its parent-death signal if the test binary
	// dies without stopping it (a test timeout panics past Main). Linux
	// sends it when the thread that started the child ends, so the
	// goroutine that starts it keeps its thread until postgres exits.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
	started := make(chan error, 1)
	s.exited = make(chan struct{})
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			close(s.exited)
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(s.exited)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	s.stopCluster = func() {
		_ = cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-s.exited
		}
	}
	s.base = url.URL{Scheme: "postgres", User: url.User("postgres"), Host: "", RawQuery: "host=" + url.QueryEscape(dir)}
	return nil
}

// waitReady waits until the server accepts connections, or its process
// exits, or the time is up.
func (s *pgServer) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		err := s.admin.Ping()
		if err == nil {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("postgres exited:\n%s", s.log())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready after %s: %v\n%s", limit, err, s.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// log returns the cluster's log, for errors.
func (s *pgServer) log() string {
	if s.dir == "" {
		return ""
	}
	b, _ := os.ReadFile(filepath.Join(s.dir, "postgres.log"))
	return string(b)
}

// stop drops the template database, or stops the cluster and removes
// its directory.
func (s *pgServer) stop() {
	s.drops.Wait()
	if s.admin != nil {
		if s.stopCluster == nil {
			_, _ = s.admin.Exec(`DROP DATABASE IF EXISTS ` + s.template + ` WITH (FORCE)`)
		}
		s.admin.Close()
	}
	if s.stopCluster != nil {
		s.stopCluster()
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

// postgresBin finds the directory of PostgreSQL's programs: EnvPostgresBin,
// the directory of initdb on PATH, or the newest of Debian's
// /usr/lib/postgresql/N/bin.
func postgresBin() (string, error) {
	if dir := os.Getenv(EnvPostgresBin); dir != "" {
		return dir, nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) < versionOf(dirs[j]) })
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i], nil
		}
	}
	return "", fmt.Errorf("no initdb on PATH nor in /usr/lib/postgresql/*/bin: install PostgreSQL (Debian: apt-get install postgresql) or set %s", EnvPostgresBin)
}

// versionOf reads N from /usr/lib/postgresql/N/bin.
func versionOf(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

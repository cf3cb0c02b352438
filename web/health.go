package web

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
)

// DefaultMinFreeBytes is the free space below which uplink reports itself
// not ready: less than one large part.
const DefaultMinFreeBytes = 1 << 30

// handleHealth handles "GET /healthz": the process is alive and serving.
// It checks nothing else, so that a full disk or a slow database makes
// uplink unready (/readyz) rather than restarted.
func (s *Server) handleHealth(c echo.Context) error {
	return c.String(http.StatusOK, "ok\n")
}

// handleReady handles "GET /readyz": uplink can take uploads. The
// database must accept a write, the data directory must be writable with
// at least minFree bytes free, and a blob store that can be asked (an
// object store's bucket) must answer. The body lists each check.
func (s *Server) handleReady(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 5*time.Second)
	defer cancel()
	checks := []struct {
		name string
		run  func(context.Context) error
	}{
		{"database", s.store.Ping},
		{"data directory", s.checkDataDir},
	}
	if p, ok := s.blobs.(pinger); ok {
		checks = append(checks, struct {
			name string
			run  func(context.Context) error
		}{"blob store", p.Ping})
	}
	status, body := http.StatusOK, ""
	for _, ch := range checks {
		if err := ch.run(ctx); err != nil {
			status = http.StatusServiceUnavailable
			body += fmt.Sprintf("%s: %v\n", ch.name, err)
			s.log.WarnContext(c.Request().Context(), "readiness check failed", "check", ch.name, "err", err)
			continue
		}
		body += ch.name + ": ok\n"
	}
	return c.String(status, body)
}

// pinger is a blob store that can say whether it is reachable.
type pinger interface {
	Ping(ctx context.Context) error
}

// checkDataDir writes and removes a file in the data directory and checks
// the free space there.
func (s *Server) checkDataDir(context.Context) error {
	if s.dataDir == "" {
		return nil
	}
	f, err := os.CreateTemp(s.dataDir, ".ready-*")
	if err != nil {
		return fmt.Errorf("not writable: %w", err)
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		return err
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(filepath.Clean(s.dataDir), &st); err != nil {
		return err
	}
	if free := int64(st.Bavail) * int64(st.Bsize); free < s.minFree {
		return fmt.Errorf("only %d bytes free, want at least %d", free, s.minFree)
	}
	return nil
}

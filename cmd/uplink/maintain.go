package main

import (
	"context"
	"time"

	"github.com/uplink-video/uplink/web"
)

// maintain runs the cleanup job every maintenanceEvery until ctx is done.
func (m *Main) maintain(ctx context.Context) {
	t := time.NewTicker(maintenanceEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		m.maintainLocked(ctx)
	}
}

// maintainLocked runs the cleanup job unless another instance sharing the
// database is running it: a pass at a time is enough, and two would
// reclaim the same uploads and count them twice. The lock is always
// granted on SQLite.
func (m *Main) maintainLocked(ctx context.Context) {
	release, ok, err := m.store.TryLock(ctx, "cleanup")
	switch {
	case err != nil:
		m.log.Error("taking the cleanup lock", "err", err)
		return
	case !ok:
		m.log.Debug("another instance is cleaning up; skipping this pass")
		return
	}
	defer release()
	m.maintainOnce(ctx)
}

// maintainOnce is one run of the cleanup job: it reclaims abandoned
// uploads (their bytes, and the slots of those through links), finishes
// uploads whose assembly was interrupted, removes orphaned blobs, deletes
// expired access tokens, ended dashboard sessions and sign-in attempts
// that no longer count, and announces expired links. It reports what it did in one log line and in the
// metrics; each count is of what it really removed.
func (m *Main) maintainOnce(ctx context.Context) {
	failed := false
	fail := func(msg string, err error) {
		failed = true
		m.log.Error(msg, "err", err)
	}
	r, err := m.ingest.Reclaim(ctx)
	if err != nil {
		fail("reclaiming uploads", err)
	}
	linkUploads, err := m.links.Reclaim(ctx)
	if err != nil {
		fail("reclaiming link uploads", err)
	}
	tokens, err := m.store.DeleteExpiredAuthTokens(ctx)
	if err != nil {
		fail("deleting expired access tokens", err)
	}
	sessions, err := m.store.DeleteStaleAdminSessions(ctx, web.SessionIdle)
	if err != nil {
		fail("deleting ended dashboard sessions", err)
	}
	attempts, err := m.store.DeleteExpiredLoginAttempts(ctx, web.SignInWindow)
	if err != nil {
		fail("deleting expired sign-in attempts", err)
	}
	// What a failed step did before failing is counted too.
	c := m.cleanup
	c.Removed("abandoned_upload", r.Abandoned)
	c.Removed("orphan_blob", r.Orphans)
	c.Removed("abandoned_link_upload", linkUploads)
	c.Removed("expired_auth_token", int(tokens))
	c.Removed("stale_session", int(sessions))
	c.Removed("expired_sign_in_attempt", int(attempts))
	if r.Abandoned+r.Orphans+r.Finished+linkUploads+int(tokens)+int(sessions)+int(attempts) > 0 {
		m.log.Info("cleaned up", "abandoned_uploads", r.Abandoned, "orphan_blobs", r.Orphans, "finished_uploads", r.Finished,
			"abandoned_link_uploads", linkUploads, "expired_auth_tokens", tokens, "stale_sessions", sessions,
			"expired_sign_in_attempts", attempts)
	}
	if n, err := m.webhooks.ExpireLinks(ctx); err != nil {
		fail("announcing expired links", err)
	} else if n > 0 {
		m.log.Info("announced expired links", "count", n)
	}
	c.Ran(time.Now(), failed)
}

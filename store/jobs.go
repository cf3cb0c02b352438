package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Kinds of processing jobs.
const (
	// JobProcess probes a video's source and makes its thumbnail and,
	// when needed, its preview.
	JobProcess = "process"
	// JobThumbnail picks the frame at a moment as the video's thumbnail.
	JobThumbnail = "thumbnail"
)

// Processing job statuses.
const (
	JobQueued  = "queued"
	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"
)

// ProcessingJob is one job of the processing queue.
type ProcessingJob struct {
	ID          int64
	VideoID     string
	Kind        string
	At          time.Duration // The moment to pick (JobThumbnail).
	Status      string
	Attempts    int
	MaxAttempts int
	RunAt       time.Time
	// ClaimID names the attempt that holds a running job; only it may
	// finish the job.
	ClaimID        string
	ClaimExpiresAt *time.Time
	LastError      string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	FinishedAt     *time.Time
}

const jobColumns = `
	j.id, j.video_id, j.kind, coalesce(j.at_ms, 0), j.status, j.attempts, j.max_attempts,
	j.run_at, coalesce(j.claim_id, ''), j.claim_expires_at, j.last_error,
	j.created_at, j.updated_at, j.finished_at`

func scanJob(r rowScanner) (ProcessingJob, error) {
	var (
		j                         ProcessingJob
		atMS, runAt, created, upd int64
		claimExp, finished        sql.NullInt64
	)
	if err := r.Scan(&j.ID, &j.VideoID, &j.Kind, &atMS, &j.Status, &j.Attempts, &j.MaxAttempts,
		&runAt, &j.ClaimID, &claimExp, &j.LastError, &created, &upd, &finished); err != nil {
		return ProcessingJob{}, err
	}
	j.At = time.Duration(atMS) * time.Millisecond
	j.RunAt, j.CreatedAt, j.UpdatedAt = fromMillis(runAt), fromMillis(created), fromMillis(upd)
	j.ClaimExpiresAt, j.FinishedAt = nullMillis(claimExp), nullMillis(finished)
	return j, nil
}

// EnqueueJob queues a job of the kind for the video, due now, unless one
// is queued already: then that one is kept, made due now, and for
// JobThumbnail given the new moment at. It returns the queued job.
// Returns ErrNotFound if there is no such video.
func (s *Store) EnqueueJob(ctx context.Context, videoID, kind string, at time.Duration, maxAttempts int) (ProcessingJob, error) {
	var atMS any
	if kind == JobThumbnail {
		atMS = at.Milliseconds()
	}
	var j ProcessingJob
	err := s.inWrite(ctx, func(tx *txn) error {
		now := millis(s.Now())
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM videos WHERE id = ?)`, videoID).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return ErrNotFound
		}
		var err error
		j, err = scanJob(tx.QueryRowContext(ctx, `
			INSERT INTO processing_jobs (video_id, kind, at_ms, status, max_attempts, run_at, created_at, updated_at)
			VALUES (:video, :kind, :at, 'queued', :max, :now, :now, :now)
			ON CONFLICT (video_id, kind) WHERE status = 'queued'
			DO UPDATE SET at_ms = excluded.at_ms, run_at = excluded.run_at, updated_at = excluded.updated_at
			RETURNING `+jobReturning,
			sql.Named("video", videoID), sql.Named("kind", kind), sql.Named("at", atMS),
			sql.Named("max", maxAttempts), sql.Named("now", now)))
		return err
	})
	if err != nil {
		return ProcessingJob{}, fmt.Errorf("store: enqueue %s job for %s: %w", kind, videoID, err)
	}
	return j, nil
}

// jobReturning is jobColumns for a RETURNING clause, which names the
// table's columns without its alias.
const jobReturning = `
	id, video_id, kind, coalesce(at_ms, 0), status, attempts, max_attempts,
	run_at, coalesce(claim_id, ''), claim_expires_at, last_error,
	created_at, updated_at, finished_at`

// maxJobClaims bounds the runs of one ClaimJob refused by the unique
// index on running jobs.
const maxJobClaims = 20

// ClaimJob takes the queued job that has been due longest, in one atomic
// UPDATE, and returns it running under claimID until lease from now. A
// video's jobs run one at a time: a job whose video has one running is
// left for later. Returns ErrNotFound when no job is due.
//
// On PostgreSQL the claim skips the jobs that another claim is taking at
// the same moment (FOR UPDATE SKIP LOCKED, READ COMMITTED), so that
// instances claiming together take different jobs without waiting for or
// failing each other. Two of them may still pick two jobs of one video
// at once; a unique index on the running job of each video refuses the
// second, whose claim is then run again and sees the first. Each refusal
// means that another claim succeeded, so the runs again end soon; with
// many claimers they can collide a few times in a row, on one video after
// another, so each waits a little longer, at random, and their number is
// bounded only against a loop that would not end.
func (s *Store) ClaimJob(ctx context.Context, claimID string, lease time.Duration) (ProcessingJob, error) {
	var j ProcessingJob
	claim := func(tx *txn) error {
		now := s.Now()
		var err error
		j, err = scanJob(tx.QueryRowContext(ctx, `
			UPDATE processing_jobs
			SET status = 'running', claim_id = :claim, claim_expires_at = :until,
				attempts = attempts + 1, updated_at = :now
			WHERE id = (
				SELECT q.id FROM processing_jobs q
				WHERE q.status = 'queued' AND q.run_at <= :now
				  AND NOT EXISTS (SELECT 1 FROM processing_jobs r
					WHERE r.video_id = q.video_id AND r.status = 'running')
				ORDER BY q.run_at, q.id
				LIMIT 1`+tx.d.skipLocked("q")+`)
			RETURNING `+jobReturning,
			sql.Named("claim", claimID), sql.Named("until", millis(now.Add(lease))), sql.Named("now", millis(now))))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		return err
	}
	err := s.inQueue(ctx, claim)
	for attempt := 1; s.d.uniqueViolation(err) && attempt < maxJobClaims; attempt++ {
		t := time.NewTimer(rand.N(time.Duration(attempt) * time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return ProcessingJob{}, fmt.Errorf("store: claim a processing job: %w", ctx.Err())
		case <-t.C:
		}
		err = s.inQueue(ctx, claim)
	}
	if err != nil {
		return ProcessingJob{}, fmt.Errorf("store: claim a processing job: %w", err)
	}
	return j, nil
}

// FailJob records that the attempt claimID of job id failed with reason:
// the job is queued again at retryAt when it has attempts left and
// retryAt is not nil, and failed for good otherwise. It reports whether
// it failed for good. Returns ErrConflict if the attempt no longer holds
// the job.
func (s *Store) FailJob(ctx context.Context, id int64, claimID, reason string, retryAt *time.Time) (bool, error) {
	reason = clipUTF8(reason, maxAttemptError)
	var final bool
	err := s.inWrite(ctx, func(tx *txn) error {
		now := millis(s.Now())
		retry := sql.NullInt64{}
		if retryAt != nil {
			retry = sql.NullInt64{Int64: millis(*retryAt), Valid: true}
		}
		// PostgreSQL types a parameter by where it is used: the CASTs
		// type those used first where any type would do.
		var status string
		err := tx.QueryRowContext(ctx, `
			UPDATE processing_jobs
			SET status = CASE WHEN CAST(:retry AS BIGINT) IS NOT NULL AND attempts < max_attempts THEN 'queued' ELSE 'failed' END,
				run_at = coalesce(:retry, run_at),
				finished_at = CASE WHEN CAST(:retry AS BIGINT) IS NOT NULL AND attempts < max_attempts THEN NULL ELSE CAST(:now AS BIGINT) END,
				claim_id = NULL, claim_expires_at = NULL, last_error = :reason, updated_at = :now
			WHERE id = :id AND claim_id = :claim AND status = 'running'
			RETURNING status`,
			sql.Named("retry", retry), sql.Named("now", now), sql.Named("reason", reason),
			sql.Named("id", id), sql.Named("claim", claimID)).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrConflict
		}
		final = status == JobFailed
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: fail processing job %d: %w", id, err)
	}
	return final, nil
}

// ReleaseJob gives back the attempt claimID of job id, cut short by a
// graceful stop: the job is queued again, due now, and the attempt is not
// counted. Returns ErrConflict if the attempt no longer holds the job.
func (s *Store) ReleaseJob(ctx context.Context, id int64, claimID string) error {
	err := s.inWrite(ctx, func(tx *txn) error {
		now := millis(s.Now())
		res, err := tx.ExecContext(ctx, `
			UPDATE processing_jobs
			SET status = 'queued', claim_id = NULL, claim_expires_at = NULL,
				attempts = `+tx.d.greatest("attempts - 1", "0")+`, run_at = ?, updated_at = ?
			WHERE id = ? AND claim_id = ? AND status = 'running'`, now, now, id, claimID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrConflict
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: release processing job %d: %w", id, err)
	}
	return nil
}

// RequeueLapsedJobs takes back the running jobs whose claim expired
// before t, or every running job when t is zero (at the start of a
// process that shares the store with nobody: they are what a crash
// interrupted). Each is queued again, due now, or failed for good when
// it has no attempt left. It returns how many it took back.
func (s *Store) RequeueLapsedJobs(ctx context.Context, t time.Time) (int, error) {
	var n int64
	err := s.inWrite(ctx, func(tx *txn) error {
		now := millis(s.Now())
		cond := `status = 'running'`
		args := []any{sql.Named("now", now)}
		if !t.IsZero() {
			cond += ` AND claim_expires_at <= :t`
			args = append(args, sql.Named("t", millis(t)))
		}
		res, err := tx.ExecContext(ctx, `
			UPDATE processing_jobs
			SET status = CASE WHEN attempts < max_attempts THEN 'queued' ELSE 'failed' END,
				finished_at = CASE WHEN attempts < max_attempts THEN NULL ELSE CAST(:now AS BIGINT) END,
				run_at = :now, claim_id = NULL, claim_expires_at = NULL, updated_at = :now,
				last_error = 'The attempt was interrupted: it ran past its time limit, or uplink stopped while it ran.'
			WHERE `+cond, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: requeue lapsed processing jobs: %w", err)
	}
	return int(n), nil
}

// NextJobAt returns when the soonest queued job is due, and false when
// none is queued.
func (s *Store) NextJobAt(ctx context.Context) (time.Time, bool, error) {
	var next sql.NullInt64
	err := s.inRead(ctx, func(tx *txn) error {
		return tx.QueryRowContext(ctx, `SELECT min(run_at) FROM processing_jobs WHERE status = 'queued'`).Scan(&next)
	})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("store: find next processing job: %w", err)
	}
	if !next.Valid {
		return time.Time{}, false, nil
	}
	return fromMillis(next.Int64), true, nil
}

// FindLatestJob returns the newest job of the kind for the video.
// Returns ErrNotFound if it never had one.
func (s *Store) FindLatestJob(ctx context.Context, videoID, kind string) (ProcessingJob, error) {
	var j ProcessingJob
	err := s.inRead(ctx, func(tx *txn) error {
		var err error
		j, err = scanJob(tx.QueryRowContext(ctx, `
			SELECT `+jobColumns+` FROM processing_jobs j
			WHERE j.video_id = ? AND j.kind = ? ORDER BY j.id DESC LIMIT 1`, videoID, kind))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		return err
	})
	if err != nil {
		return ProcessingJob{}, fmt.Errorf("store: find %s job of %s: %w", kind, videoID, err)
	}
	return j, nil
}

// FindJob returns the job with the given ID. Returns ErrNotFound if there
// is none.
func (s *Store) FindJob(ctx context.Context, id int64) (ProcessingJob, error) {
	var j ProcessingJob
	err := s.inRead(ctx, func(tx *txn) error {
		var err error
		j, err = scanJob(tx.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM processing_jobs j WHERE j.id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		return err
	})
	if err != nil {
		return ProcessingJob{}, fmt.Errorf("store: find processing job %d: %w", id, err)
	}
	return j, nil
}

// CountJobs returns how many jobs are in each status.
func (s *Store) CountJobs(ctx context.Context) (map[string]int, error) {
	counts := map[string]int{JobQueued: 0, JobRunning: 0, JobDone: 0, JobFailed: 0}
	err := s.inRead(ctx, func(tx *txn) error {
		byStatus, err := queryRows(ctx, tx, scanStatusCount, `SELECT status, count(*) FROM processing_jobs GROUP BY status`)
		for _, c := range byStatus {
			counts[c.state] = c.n
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: count processing jobs: %w", err)
	}
	return counts, nil
}

func scanStatusCount(r rowScanner) (stateCount, error) {
	var c stateCount
	return c, r.Scan(&c.state, &c.n)
}

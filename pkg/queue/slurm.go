package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/accel-data/accel-data/pkg/api"
)

// SlurmJob is what squeue says of a job that carries an accel-data token
// (job_submit.lua puts it in the job's admin comment).
type SlurmJob struct {
	JobID uint64
	Token string
	// State is Slurm's job_state: PENDING, RUNNING, CANCELLED, …
	State string
	// ExpectedStart is Slurm's start_time for a pending job; zero when unknown.
	ExpectedStart time.Time
}

// slurmGone are the Slurm job states after which a job never runs again.
var slurmGone = map[string]bool{
	"BOOT_FAIL": true, "CANCELLED": true, "COMPLETED": true, "DEADLINE": true, "FAILED": true,
	"NODE_FAIL": true, "OUT_OF_MEMORY": true, "PREEMPTED": true, "TIMEOUT": true,
}

// ObserveSlurmJobs records what squeue says of the jobs warmupd knows by
// their sbatch token: it binds each token to its Slurm job id (the tasks of
// an array job get one job each), keeps a pending job's expected start for
// the planner, and ends a job that left Slurm's queue without reaching a
// prolog (cancelled while pending, failed to launch), which cancels the
// queued warm-ups nobody needs any more. Jobs of unknown tokens are ignored.
// It returns how many jobs it ended.
func (s *Store) ObserveSlurmJobs(ctx context.Context, jobs []SlurmJob, now time.Time) (int, error) {
	if now.IsZero() {
		return 0, errors.New("queue: observe slurm jobs: Now is zero; pass the caller's clock time")
	}
	ended := 0
	err := s.inTx(ctx, func(tx *wtx) error {
		for _, j := range jobs {
			if j.Token == "" || j.JobID == 0 {
				continue
			}
			var uid uint32
			err := tx.QueryRowContext(ctx, `SELECT uid FROM jobs WHERE token = ? OR job_id = ? LIMIT 1`, j.Token, int64(j.JobID)).Scan(&uid)
			if errors.Is(err, sql.ErrNoRows) {
				continue // not submitted through this warmupd
			}
			if err != nil {
				return fmt.Errorf("queue: look up job of token: %w", err)
			}
			// The token's row may have ended (the array's first task) while
			// Slurm still has tasks of it: keep it from PruneHistory.
			if _, err := tx.ExecContext(ctx, `UPDATE jobs SET token_seen_at = ? WHERE token = ? AND state = ?`,
				ns(now), j.Token, string(api.JobEnded)); err != nil {
				return fmt.Errorf("queue: note token of job %d: %w", j.JobID, err)
			}
			id, err := upsertJob(ctx, tx, j.Token, j.JobID, uid, ns(now))
			if err != nil {
				return err
			}
			switch {
			case j.State == "PENDING":
				var at sql.NullInt64
				if !j.ExpectedStart.IsZero() {
					at = sql.NullInt64{Int64: ns(j.ExpectedStart), Valid: true}
				}
				if _, err := tx.ExecContext(ctx, `UPDATE jobs SET expected_start = ? WHERE id = ? AND state = ?`,
					at, id, string(api.JobSubmitted)); err != nil {
					return fmt.Errorf("queue: expected start of job %d: %w", j.JobID, err)
				}
			case slurmGone[j.State]:
				ok, err := s.endSubmittedTx(ctx, tx, id, "left the Slurm queue as "+j.State+" without reaching a prolog", now)
				if err != nil {
					return fmt.Errorf("queue: end job %d: %w", j.JobID, err)
				}
				if ok {
					ended++
				}
			}
		}
		return nil
	})
	return ended, err
}

// endSubmittedTx ends job row id while it is still submitted (it never
// reached a prolog), with reason, and settles the queued tasks only it
// wanted (cancelUnneeded). It reports false when the row was not submitted.
func (s *Store) endSubmittedTx(ctx context.Context, tx *wtx, id int64, reason string, now time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE jobs SET state = ?, ended_at = ?, reason = ? WHERE id = ? AND state = ?`,
		string(api.JobEnded), ns(now), reason, id, string(api.JobSubmitted))
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	if err := s.cancelUnneeded(ctx, tx, id, now); err != nil {
		return false, fmt.Errorf("cancel the tasks it no longer needs: %w", err)
	}
	return true, nil
}

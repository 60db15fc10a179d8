package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/accel-data/accel-data/pkg/api"
)

// ReconciledReason starts the reason of a job ended by ReconcileJobs.
const ReconciledReason = "reconciled: "

// ReconcileJobs ends the jobs warmupd still believes live — started, or
// submitted with a Slurm job id — that a complete squeue listing no longer
// shows, or shows in a state after which a job never runs again (its epilog
// could not reach warmupd: a crash, a hang). listed maps every job id the
// listing holds to its Slurm state; pass only a listing squeue produced
// without error. Jobs whose last change (start, or submission) is not
// before cutoff are left alone, so a job that began after squeue took its
// snapshot is not ended (cutoff is the snapshot's time minus a grace
// period). Ending a job cancels the queued warm-ups only it wanted, like
// JobEnd. It returns the Slurm ids of the jobs it ended.
func (s *Store) ReconcileJobs(ctx context.Context, listed map[uint64]string, cutoff, now time.Time) ([]uint64, error) {
	if now.IsZero() || cutoff.IsZero() {
		return nil, errors.New("queue: reconcile jobs: now and cutoff must be set; pass the caller's clock time")
	}
	var ended []uint64
	err := s.inTx(ctx, func(tx *wtx) error {
		ended = ended[:0]
		rows, err := tx.QueryContext(ctx, `SELECT job_id, state FROM jobs
			WHERE job_id IS NOT NULL AND (state = ?1 AND started_at < ?3 OR state = ?2 AND submitted_at < ?3)`,
			string(api.JobStarted), string(api.JobSubmitted), ns(cutoff))
		type live struct {
			jobID uint64
			state string
		}
		jobs, err := readAll(rows, err, func(rows *sql.Rows, l *live) error {
			var jobID int64
			err := rows.Scan(&jobID, &l.state)
			l.jobID = uint64(jobID)
			return err
		})
		if err != nil {
			return fmt.Errorf("queue: list live jobs: %w", err)
		}
		for _, l := range jobs {
			var why string
			switch st, ok := listed[l.jobID]; {
			case !ok:
				why = ReconciledReason + "not in squeue"
			case slurmGone[st]:
				why = ReconciledReason + "squeue lists it " + st
			default:
				continue
			}
			ok, err := s.endJobTx(ctx, tx, l.jobID, api.JobState(l.state), sql.NullInt64{}, JobEndParams{Reason: why, Now: now})
			if err != nil {
				return err
			}
			if ok {
				ended = append(ended, l.jobID)
			}
		}
		return nil
	})
	return ended, err
}

// UnboundReason is the reason of a job EndUnboundTokens ended.
const UnboundReason = ReconciledReason + "no Slurm job carries its sbatch token (sbatch refused the job after the plugin had submitted its paths?)"

// EndUnboundTokens ends the jobs known only by their sbatch token (no Slurm
// job id) submitted before cutoff: the caller saw a complete squeue listing
// in which jobs carry their tokens, and none of these (ObserveSlurmJobs
// binds every token it lists), so sbatch refused the job after the SPANK
// plugin had submitted its paths (a wrong partition, a limit) and no job
// will ever come for them. Their claims no longer pin the data and the
// warm-ups only they wanted are cancelled, as at a job's end. A job that
// does come later after all (its token was not shown in squeue: tagged by
// no job_submit.lua, or on another cluster) reopens its row when it is bound
// (reopenUnboundTx). It returns how many it ended.
func (s *Store) EndUnboundTokens(ctx context.Context, cutoff, now time.Time) (int, error) {
	if now.IsZero() || cutoff.IsZero() {
		return 0, errors.New("queue: end unbound tokens: now and cutoff must be set; pass the caller's clock time")
	}
	var n int
	err := s.inTx(ctx, func(tx *wtx) error {
		n = 0
		ids, err := queryIDs(ctx, tx, `SELECT id FROM jobs WHERE state = ? AND job_id IS NULL AND token IS NOT NULL AND submitted_at < ?`,
			string(api.JobSubmitted), ns(cutoff))
		if err != nil {
			return fmt.Errorf("queue: list unbound tokens: %w", err)
		}
		for _, id := range ids {
			ok, err := s.endSubmittedTx(ctx, tx, id, UnboundReason, now)
			if err != nil {
				return fmt.Errorf("queue: end unbound token: %w", err)
			}
			if ok {
				n++
			}
		}
		return nil
	})
	return n, err
}

// reopenUnboundTx undoes EndUnboundTokens for job row id, now bound to a
// Slurm job after all: the row is live again (its claims pin its data once
// more) and the warm-ups its end cancelled are queued again. A row ended
// for any other reason is left as it is. now is in ns.
func reopenUnboundTx(ctx context.Context, tx *wtx, id, now int64) error {
	res, err := tx.ExecContext(ctx, `UPDATE jobs SET state = ?, ended_at = NULL, reason = '' WHERE id = ? AND state = ? AND reason = ?`,
		string(api.JobSubmitted), id, string(api.JobEnded), UnboundReason)
	if err != nil {
		return fmt.Errorf("reopen: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	ids, err := queryIDs(ctx, tx, `SELECT DISTINCT t.id FROM job_tasks jt JOIN tasks t ON t.id = jt.task_id
		WHERE jt.job_id = ? AND t.state = ?`, id, string(api.TaskCancelled))
	if err != nil {
		return fmt.Errorf("reopen: %w", err)
	}
	for _, tid := range ids {
		if err := reviveTx(ctx, tx, tid, "its job came after all, after no Slurm job had carried its sbatch token: warming again", nil, now); err != nil {
			return fmt.Errorf("reopen: %w", err)
		}
	}
	return nil
}

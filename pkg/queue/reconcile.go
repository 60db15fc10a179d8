package queue

import (
	"context"
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
		rows, err := tx.QueryContext(ctx, `SELECT id, job_id, state FROM jobs
			WHERE job_id IS NOT NULL AND (state = ?1 AND started_at < ?3 OR state = ?2 AND submitted_at < ?3)`,
			string(api.JobStarted), string(api.JobSubmitted), ns(cutoff))
		if err != nil {
			return fmt.Errorf("queue: list live jobs: %w", err)
		}
		type live struct {
			id    int64
			jobID uint64
			state string
		}
		var gone []live
		var reasons []string
		for rows.Next() {
			var l live
			var jobID int64
			if err := rows.Scan(&l.id, &jobID, &l.state); err != nil {
				rows.Close()
				return fmt.Errorf("queue: list live jobs: %w", err)
			}
			l.jobID = uint64(jobID)
			st, ok := listed[l.jobID]
			switch {
			case !ok:
				reasons = append(reasons, ReconciledReason+"not in squeue")
			case slurmGone[st]:
				reasons = append(reasons, ReconciledReason+"squeue lists it "+st)
			default:
				continue
			}
			gone = append(gone, l)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("queue: list live jobs: %w", err)
		}
		for i, l := range gone {
			res, err := tx.ExecContext(ctx, `UPDATE jobs SET state = ?, ended_at = ?, reason = ? WHERE id = ? AND state = ?`,
				string(api.JobEnded), ns(now), reasons[i], l.id, l.state)
			if err != nil {
				return fmt.Errorf("queue: end job %d: %w", l.jobID, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue
			}
			if err := s.cancelUnneeded(ctx, tx, int64(l.jobID), now); err != nil {
				return fmt.Errorf("queue: cancel tasks job %d no longer needs: %w", l.jobID, err)
			}
			ended = append(ended, l.jobID)
		}
		return nil
	})
	return ended, err
}

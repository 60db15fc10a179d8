package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/accel-data/accel-data/pkg/api"
)

// A warm-up whose shards run as a Slurm job array is kept here while
// warmupd follows it (migrations/0011_shard_arrays.sql), so that a
// restarted warmupd follows the array it had submitted: shards done stay
// done, reports sent while it was down are kept, and no shard is warmed
// twice unless it failed. The scheduler owns what the states mean; the
// store only keeps them, through its one writer.

// ErrNoShardArray: no array of that run and task is followed (it ended, or
// it was never submitted).
var ErrNoShardArray = errors.New("no warm-up of this name runs as a Slurm job array here")

// ShardArray is a warm-up's Slurm job array as the store keeps it.
type ShardArray struct {
	Run    string // the run's name (its spool directory's)
	TaskID int64
	JobID  string // the array's Slurm job id (its first submission)
	Spool  string // the run's spool directory: the shard lists
	Files  int
	Bytes  int64
	Shards []ArrayShard // by index
}

// ArrayShard is one shard of a ShardArray.
type ArrayShard struct {
	Index    int
	Bytes    int64
	State    api.ShardState
	JobID    string // the Slurm job (array) it runs in now
	Attempts int    // submissions so far, counting one recorded before its sbatch (which may have failed)
	Node     string
	Error    string
}

// AddShardArray records a submitted array and its shards.
func (s *Store) AddShardArray(ctx context.Context, a ShardArray, now time.Time) error {
	return s.inTx(ctx, func(tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO shard_arrays (run, task_id, job_id, spool, files, bytes, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, a.Run, a.TaskID, a.JobID, a.Spool, a.Files, a.Bytes, ns(now)); err != nil {
			return fmt.Errorf("queue: record the job array %s of task %d: %w", a.Run, a.TaskID, err)
		}
		for _, sh := range a.Shards {
			if _, err := tx.ExecContext(ctx, `INSERT INTO array_shards (run, idx, bytes, state, job_id, attempts, node, error, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, a.Run, sh.Index, sh.Bytes, string(sh.State), sh.JobID, max(1, sh.Attempts), sh.Node, sh.Error, ns(now)); err != nil {
				return fmt.Errorf("queue: record shard %d of the job array %s: %w", sh.Index, a.Run, err)
			}
		}
		return nil
	})
}

// UpdateShards records the state, job, attempts, node and error of shards
// of run, in one transaction. A shard already done stays done (a report
// may have come meanwhile): done is final. The first job id given becomes
// the array's when it had none (it is recorded before sbatch runs).
func (s *Store) UpdateShards(ctx context.Context, run string, shards []ArrayShard, now time.Time) error {
	return s.inTx(ctx, func(tx *wtx) error {
		for _, sh := range shards {
			if sh.JobID == "" {
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE shard_arrays SET job_id = ? WHERE run = ? AND job_id = ''`, sh.JobID, run); err != nil {
				return fmt.Errorf("queue: record the job id of the job array %s: %w", run, err)
			}
			break
		}
		for _, sh := range shards {
			if _, err := tx.ExecContext(ctx, `UPDATE array_shards SET state = ?, job_id = ?, attempts = ?, node = ?, error = ?, updated_at = ?
				WHERE run = ? AND idx = ? AND state != ?`, string(sh.State), sh.JobID, max(1, sh.Attempts), sh.Node, sh.Error, ns(now),
				run, sh.Index, string(api.ShardDone)); err != nil {
				return fmt.Errorf("queue: record shard %d of the job array %s: %w", sh.Index, run, err)
			}
		}
		return nil
	})
}

// ReportShard records a shard's report from its node: done when it warmed
// its shard (from whichever submission: a shard done is done), failed when
// it did not and it came from the job the shard runs in now (a late report
// of an earlier submission changes nothing). It returns ErrNoShardArray
// when no followed array of r.TaskID is named r.Run.
func (s *Store) ReportShard(ctx context.Context, r api.ShardReport, now time.Time) error {
	return s.inTx(ctx, func(tx *wtx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM shard_arrays WHERE run = ? AND task_id = ?`, r.Run, r.TaskID).Scan(&n); err != nil {
			return fmt.Errorf("queue: shard report of %s: %w", r.Run, err)
		}
		if n == 0 {
			return fmt.Errorf("shard %d of %s (task %d): %w", r.Index, r.Run, r.TaskID, ErrNoShardArray)
		}
		var err error
		if r.OK {
			_, err = tx.ExecContext(ctx, `UPDATE array_shards SET state = ?, node = ?, error = '', updated_at = ? WHERE run = ? AND idx = ? AND state != ?`,
				string(api.ShardDone), r.Node, ns(now), r.Run, r.Index, string(api.ShardDone))
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE array_shards SET state = ?, node = ?, error = ?, updated_at = ?
				WHERE run = ? AND idx = ? AND state IN (?, ?) AND (job_id = ? OR ? = '')`,
				string(api.ShardFailed), r.Node, r.Error, ns(now), r.Run, r.Index, string(api.ShardPending), string(api.ShardRunning), r.JobID, r.JobID)
		}
		if err != nil {
			return fmt.Errorf("queue: record the report of shard %d of %s: %w", r.Index, r.Run, err)
		}
		return nil
	})
}

// ShardArrayOf is the job array of task that warmupd follows, nil when
// there is none.
func (s *Store) ShardArrayOf(ctx context.Context, task int64) (*ShardArray, error) {
	a := ShardArray{TaskID: task}
	err := s.r.QueryRowContext(ctx, `SELECT run, job_id, spool, files, bytes FROM shard_arrays WHERE task_id = ? ORDER BY created_at DESC LIMIT 1`, task).
		Scan(&a.Run, &a.JobID, &a.Spool, &a.Files, &a.Bytes)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("queue: job array of task %d: %w", task, err)
	}
	if a.Shards, err = s.Shards(ctx, a.Run); err != nil {
		return nil, err
	}
	return &a, nil
}

// Shards are the shards of run, by index.
func (s *Store) Shards(ctx context.Context, run string) ([]ArrayShard, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT idx, bytes, state, job_id, attempts, node, error FROM array_shards WHERE run = ? ORDER BY idx`, run)
	out, err := readAll(rows, err, func(rows *sql.Rows, sh *ArrayShard) error {
		var st string
		err := rows.Scan(&sh.Index, &sh.Bytes, &st, &sh.JobID, &sh.Attempts, &sh.Node, &sh.Error)
		sh.State = api.ShardState(st)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("queue: shards of the job array %s: %w", run, err)
	}
	return out, nil
}

// AbandonedShardArrays are the followed arrays whose task is neither
// queued nor warming any more (cancelled, or ended another way while
// warmupd was down): nobody will follow them. Their shards are not loaded.
func (s *Store) AbandonedShardArrays(ctx context.Context) ([]ShardArray, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT a.run, a.task_id, a.job_id, a.spool FROM shard_arrays a
		LEFT JOIN tasks t ON t.id = a.task_id WHERE t.id IS NULL OR t.state NOT IN (?, ?) ORDER BY a.created_at`,
		string(api.TaskQueued), string(api.TaskWarming))
	out, err := readAll(rows, err, func(rows *sql.Rows, a *ShardArray) error {
		return rows.Scan(&a.Run, &a.TaskID, &a.JobID, &a.Spool)
	})
	if err != nil {
		return nil, fmt.Errorf("queue: abandoned job arrays: %w", err)
	}
	return out, nil
}

// EndShardArray forgets run: warmupd no longer follows it (its shards are
// all done, or it was cancelled or given up). Its shards' reports are
// refused from now on (ErrNoShardArray).
func (s *Store) EndShardArray(ctx context.Context, run string) error {
	return s.inTx(ctx, func(tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM shard_arrays WHERE run = ?`, run); err != nil {
			return fmt.Errorf("queue: forget the job array %s: %w", run, err)
		}
		return nil
	})
}

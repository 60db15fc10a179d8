package queue

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/jfs"
)

// Task is a task as handed to a worker by Dequeue.
type Task struct {
	ID           int64
	DatasetID    int64
	Path         string
	State        api.TaskState
	Attempts     int
	Priority     float64
	LeaseOwner   string
	LeaseExpires time.Time
	Bytes        int64
	CachedBytes  int64
	// Source is who the task warms for (its request's source; a task
	// revived by the active warm-up policy is active).
	Source api.Source
}

// Check is the result of `juicefs warmup --check` (or a warm-up summary) for a dataset.
type Check struct {
	Files       int64
	Bytes       int64
	CachedBytes int64
	Ratio       float64
	// Method says how Ratio was obtained ("" is walked: a full --check);
	// a sampled one holds within ±Bound at 99 % confidence, from Sample files.
	Method api.RatioMethod
	Bound  float64
	Sample int64
	// Started is when the check began (zero: when it is recorded). A stale
	// event recorded after it is kept: the check may not have seen it.
	Started time.Time
}

// began is when the check that ended at now began (knownBy: a check cannot
// end before it begins).
func (c Check) began(now time.Time) time.Time { return knownBy(c.Started, now) }

// method is c's method as stored.
func (c Check) method() string {
	if c.Method == "" {
		return string(api.RatioWalked)
	}
	return string(c.Method)
}

// CheckOf turns the driver's `--check` result into a Check (nil for nil).
func CheckOf(r *jfs.CheckResult) *Check {
	if r == nil {
		return nil
	}
	return &Check{Files: r.Files, Bytes: r.TotalBytes, CachedBytes: r.CachedBytes, Ratio: r.Ratio}
}

// CheckBegun is CheckOf of a check that began at started: a stale event
// recorded after that is kept (see Check.Started).
func CheckBegun(r *jfs.CheckResult, started time.Time) *Check {
	c := CheckOf(r)
	if c != nil {
		c.Started = started
	}
	return c
}

// Outcome is how a worker's attempt ended.
type Outcome struct {
	// State is warm, partial, failed, or queued to retry at RetryAt. The
	// caller's retry policy decided it; the store only records it.
	State   api.TaskState
	Check   *Check    // the verifying check, if one ran
	Err     string    // what went wrong, for last_error and the attempts row
	RetryAt time.Time // for State queued: not before this time
	Reason  string    // the task's reason, e.g. "retry 2 of 3" or "gave up after 3 attempts"
}

// Dequeue takes the next runnable task for owner: a queued task whose
// not_before has passed, or a warming task whose lease expired (its worker
// died), highest priority first, then oldest. The task becomes warming with a
// lease until now+lease, its attempts count goes up by one and an attempts
// row is opened. It returns nil, nil when nothing is runnable.
//
// The queued candidate comes straight off the tasks_dequeue index (no sort,
// however long the queue); expired leases are few and sorted.
func (s *Store) Dequeue(ctx context.Context, owner string, now time.Time, lease time.Duration) (*Task, error) {
	return s.dequeue(ctx, owner, now, lease, nil)
}

// DequeueOnly is Dequeue restricted to the queued tasks whose ids are in
// allowed (the planner's choice); a warming task whose lease expired is
// always taken up, so crash recovery never waits for a plan.
func (s *Store) DequeueOnly(ctx context.Context, owner string, now time.Time, lease time.Duration, allowed []int64) (*Task, error) {
	if allowed == nil {
		allowed = []int64{}
	}
	return s.dequeue(ctx, owner, now, lease, allowed)
}

// dequeueSQL is dequeue's statement (?1 warming, ?2 owner, ?3 lease end, ?4
// now, ?5 queued, ?6 the JSON list of allowed ids when restricted): it
// takes the best of the queued candidate that queued selects and a warming
// task whose lease expired.
func dequeueSQL(queued string) string {
	return `UPDATE tasks SET state = ?1, lease_owner = ?2, lease_expires_at = ?3,
			attempts = attempts + 1, started_at = ?4, updated_at = ?4, finished_at = NULL
		WHERE id = (SELECT id FROM (
			SELECT * FROM (` + queued + `)
			UNION ALL
			SELECT * FROM (SELECT id, priority, created_at FROM tasks INDEXED BY tasks_lease
				WHERE state = ?1 AND lease_expires_at <= ?4 ORDER BY priority DESC, created_at, id LIMIT 1)
			) ORDER BY priority DESC, created_at, id LIMIT 1)
		RETURNING id, dataset_id, state, attempts, priority, source`
}

// The two forms of dequeue's statement, built once. Any queued task: the
// head of the queue, straight off the tasks_dequeue index. One of the
// planner's choice: each allowed id looked up, about 0.13 µs an id (0.03
// ms for 3, 1.3 ms for 10 000). Walking the queue in priority order until
// one of them came instead would walk all of it whenever none of them is
// queued any more, as after the planner's list has been taken and until
// the next plan (4 ms in the writer at 60 000 queued, after every
// submission's kick), and past every ranked task to reach the datasets the
// planner marks warm, which keep priority 0.
var (
	dequeueAnySQL = dequeueSQL(`SELECT id, priority, created_at FROM tasks INDEXED BY tasks_dequeue
		WHERE state = ?5 AND not_before <= ?4 ORDER BY priority DESC, created_at, id LIMIT 1`)
	dequeueOnlySQL = dequeueSQL(`SELECT t.id, t.priority, t.created_at FROM json_each(?6) a CROSS JOIN tasks t ON t.id = a.value
		WHERE t.state = ?5 AND t.not_before <= ?4 ORDER BY t.priority DESC, t.created_at, t.id LIMIT 1`)
)

// dequeue takes the next task; allowed == nil means any queued task.
func (s *Store) dequeue(ctx context.Context, owner string, now time.Time, lease time.Duration, allowed []int64) (*Task, error) {
	if owner == "" {
		return nil, errors.New("queue: dequeue: empty lease owner; give each worker a unique owner name")
	}
	if lease <= 0 {
		return nil, fmt.Errorf("queue: dequeue: lease %v; give a positive lease (the scheduler's Lease setting)", lease)
	}
	q, args := dequeueAnySQL, []any{string(api.TaskWarming), owner, ns(now.Add(lease)), ns(now), string(api.TaskQueued)}
	if allowed != nil {
		b, err := json.Marshal(allowed)
		if err != nil {
			return nil, err
		}
		q, args = dequeueOnlySQL, append(args, string(b))
	}
	var t *Task
	err := s.inTx(ctx, func(tx *wtx) error {
		t = &Task{LeaseOwner: owner, LeaseExpires: fromNS(ns(now.Add(lease)))}
		var st, src string
		err := tx.QueryRowContext(ctx, q, args...).
			Scan(&t.ID, &t.DatasetID, &st, &t.Attempts, &t.Priority, &src)
		if errors.Is(err, sql.ErrNoRows) {
			t = nil
			return nil
		}
		if err != nil {
			return fmt.Errorf("queue: dequeue: %w", err)
		}
		t.State, t.Source = api.TaskState(st), api.Source(src)
		// An attempt still open belonged to a worker whose lease expired.
		res, err := tx.ExecContext(ctx, `UPDATE attempts SET finished_at = ?, outcome = ?,
				error = 'lease of ' || owner || ' expired: the worker stopped heartbeating (crashed or killed)'
			WHERE task_id = ? AND finished_at IS NULL`, ns(now), string(api.TaskFailed), t.ID)
		if err != nil {
			return fmt.Errorf("queue: close expired attempt of task %d: %w", t.ID, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			s.log.Warn().Int64("task", t.ID).Str("owner", owner).Msg("reclaimed task whose lease expired")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO attempts (task_id, n, owner, started_at)
				VALUES (?1, (SELECT coalesce(max(n), 0) + 1 FROM attempts WHERE task_id = ?1), ?2, ?3)`,
			t.ID, owner, ns(now)); err != nil {
			return fmt.Errorf("queue: record attempt of task %d: %w", t.ID, err)
		}
		return tx.QueryRowContext(ctx, `SELECT path, bytes, cached_bytes FROM datasets WHERE id = ?`, t.DatasetID).
			Scan(&t.Path, &t.Bytes, &t.CachedBytes)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// Heartbeat extends owner's lease on a warming task to now+lease. It returns
// ErrLeaseLost when owner no longer holds the task (cancelled, or reclaimed
// by another owner after the lease expired).
func (s *Store) Heartbeat(ctx context.Context, taskID int64, owner string, now time.Time, lease time.Duration) error {
	return s.inTx(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tasks SET lease_expires_at = ? WHERE id = ? AND state = ? AND lease_owner = ?`,
			ns(now.Add(lease)), taskID, string(api.TaskWarming), owner)
		if err != nil {
			return fmt.Errorf("queue: heartbeat task %d: %w", taskID, err)
		}
		return leaseHeld(res, taskID, owner)
	})
}

// leaseHeld turns "no row updated" into ErrLeaseLost.
func leaseHeld(res sql.Result, taskID int64, owner string) error {
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("queue: task %d is no longer held by %s (cancelled, finished or reclaimed); stop working on it: %w", taskID, owner, ErrLeaseLost)
	}
	return nil
}

// Progress records an intermediate check of the dataset a warming task is
// warming (bytes, files, cached bytes and ratio). ErrLeaseLost if owner no
// longer holds the task.
func (s *Store) Progress(ctx context.Context, taskID int64, owner string, r Check, now time.Time) error {
	return s.inTx(ctx, func(tx *wtx) error {
		// Progress is counted (shards done, the mount's .stats), not a walk
		// of the files: it keeps the stale mark and the last check's start.
		res, err := tx.ExecContext(ctx, `UPDATE datasets SET files = ?, bytes = ?, cached_bytes = ?, cached_ratio = ?, checked_at = ?,
				ratio_method = ?, ratio_bound = ?, ratio_sample = ?
			WHERE id = (SELECT dataset_id FROM tasks WHERE id = ? AND state = ? AND lease_owner = ?)`,
			r.Files, r.Bytes, r.CachedBytes, r.Ratio, ns(now), r.method(), r.Bound, r.Sample, taskID, string(api.TaskWarming), owner)
		if err != nil {
			return fmt.Errorf("queue: record progress of task %d: %w", taskID, err)
		}
		return leaseHeld(res, taskID, owner)
	})
}

// Finish ends owner's attempt on a task with outcome o: the task becomes
// o.State with o.Reason, the lease is cleared, the attempts row is closed and
// a check, if any, is recorded on the dataset. Whether to retry is the
// caller's decision (the scheduler's retry policy); Finish decides nothing.
// ErrLeaseLost if owner no longer holds the task.
func (s *Store) Finish(ctx context.Context, taskID int64, owner string, o Outcome, now time.Time) error {
	switch o.State {
	case api.TaskWarm, api.TaskPartial, api.TaskFailed, api.TaskQueued:
	default:
		return fmt.Errorf("queue: finish task %d: outcome state %q is not one of warm, partial, failed, queued (retry)", taskID, o.State)
	}
	return s.inTx(ctx, func(tx *wtx) error {
		var dsID int64
		err := tx.QueryRowContext(ctx, `SELECT dataset_id FROM tasks WHERE id = ? AND state = ? AND lease_owner = ?`,
			taskID, string(api.TaskWarming), owner).Scan(&dsID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("queue: finish: task %d is no longer held by %s (cancelled, finished or reclaimed): %w", taskID, owner, ErrLeaseLost)
		}
		if err != nil {
			return fmt.Errorf("queue: finish task %d: %w", taskID, err)
		}
		notBefore := int64(0)
		finished := sql.NullInt64{Int64: ns(now), Valid: true}
		if o.State == api.TaskQueued {
			notBefore, finished = ns(now), sql.NullInt64{}
			if !o.RetryAt.IsZero() {
				notBefore = ns(o.RetryAt)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tasks SET state = ?, lease_owner = NULL, lease_expires_at = NULL,
				not_before = ?, reason = ?, last_error = ?, updated_at = ?, finished_at = ? WHERE id = ?`,
			string(o.State), notBefore, o.Reason, o.Err, ns(now), finished, taskID); err != nil {
			return fmt.Errorf("queue: finish task %d: %w", taskID, err)
		}
		var ratio sql.NullFloat64
		if o.Check != nil {
			ratio = sql.NullFloat64{Float64: o.Check.Ratio, Valid: true}
			if _, err := tx.ExecContext(ctx, `UPDATE datasets SET files = ?1, bytes = ?2, cached_bytes = ?3, cached_ratio = ?4, checked_at = ?5,
					ratio_method = ?6, ratio_bound = ?7, ratio_sample = ?8, `+checkedSince("?10")+` WHERE id = ?9`,
				o.Check.Files, o.Check.Bytes, o.Check.CachedBytes, o.Check.Ratio, ns(now), o.Check.method(), o.Check.Bound, o.Check.Sample, dsID, ns(o.Check.began(now))); err != nil {
				return fmt.Errorf("queue: record check of task %d: %w", taskID, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE attempts SET finished_at = ?, outcome = ?, cached_ratio = ?, error = ?
				WHERE task_id = ? AND finished_at IS NULL`, ns(now), string(o.State), ratio, o.Err, taskID); err != nil {
			return fmt.Errorf("queue: close attempt of task %d: %w", taskID, err)
		}
		return nil
	})
}

// ReleaseLeases puts every task owner is warming back to queued, for a
// graceful shutdown: the interrupted attempt is forgotten (not counted), so
// the next daemon starts it again at once.
func (s *Store) ReleaseLeases(ctx context.Context, owner string) error {
	return s.inTx(ctx, func(tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM attempts WHERE finished_at IS NULL AND task_id IN
				(SELECT id FROM tasks WHERE state = ? AND lease_owner = ?)`, string(api.TaskWarming), owner); err != nil {
			return fmt.Errorf("queue: release leases of %s: %w", owner, err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE tasks SET state = ?, lease_owner = NULL, lease_expires_at = NULL,
				attempts = max(attempts - 1, 0), started_at = NULL, reason = 'released at shutdown'
			WHERE state = ? AND lease_owner = ?`, string(api.TaskQueued), string(api.TaskWarming), owner)
		if err != nil {
			return fmt.Errorf("queue: release leases of %s: %w", owner, err)
		}
		n, _ := res.RowsAffected()
		s.log.Info().Str("owner", owner).Int64("tasks", n).Msg("released leases")
		return nil
	})
}

package queue

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/planner"
)

// PlanDatasets returns, for the cache manager's planner, the datasets that
// matter to a plan (ID is the task id): those with a queued or warming task,
// with cached bytes (eviction candidates), with a use history (active
// warm-up candidates) or with live jobs. A dataset with none of these
// cannot change a plan, so a store of 100 000 cold datasets plans fast. Job counts come from the jobs linked to the
// task: a started job whose task is still queued or warming counts as
// waiting in its prolog, a started job whose task is done as running, and each
// submitted job adds one pending start of unknown time. History is the use
// score decayed to now; HitRate is the read density from the access history
// (fillHitRates; -1, unknown, without one).
func (s *Store) PlanDatasets(ctx context.Context, now time.Time) (_ []planner.Dataset, err error) {
	defer s.done(time.Now(), &err)
	rows, err := s.r.QueryContext(ctx, `SELECT t.id, d.path, d.bytes, d.cached_bytes, t.state,
			coalesce(t.queued_at, t.created_at), d.use_score, d.last_used_at,
			coalesce(c.started, 0), coalesce(c.submitted, 0), t.priority, t.reason
		FROM tasks t JOIN datasets d ON d.id = t.dataset_id
		LEFT JOIN (SELECT jt.task_id,
				count(DISTINCT CASE WHEN j.state = ?1 THEN j.id END) AS started,
				count(DISTINCT CASE WHEN j.state = ?2 THEN j.id END) AS submitted
			FROM jobs j JOIN job_tasks jt ON jt.job_id = j.id
			WHERE j.state IN (?1, ?2) GROUP BY jt.task_id) c ON c.task_id = t.id
		WHERE t.state IN (?3, ?4) OR d.cached_bytes > 0 OR d.use_score > 0 OR c.task_id IS NOT NULL
		ORDER BY t.id`,
		string(api.JobStarted), string(api.JobSubmitted), string(api.TaskQueued), string(api.TaskWarming))
	out, err := readAll(rows, err, func(rows *sql.Rows, d *planner.Dataset) error {
		var st string
		var queued int64
		var score float64
		var used sql.NullInt64
		var started, submitted int
		if err := rows.Scan(&d.ID, &d.Path, &d.Bytes, &d.CachedBytes, &st, &queued, &score, &used, &started, &submitted,
			&d.StoredPriority, &d.StoredReason); err != nil {
			return err
		}
		d.State = api.TaskState(st)
		d.QueuedSince = fromNS(queued)
		d.LastUsed = fromNullNS(used)
		d.History = DecayedScore(score, d.LastUsed, now)
		d.HitRate = -1
		if d.State.Terminal() {
			d.RunningJobs = started
		} else {
			d.PrologWaiting = started
		}
		if submitted > 0 {
			d.PendingStarts = make([]time.Time, submitted)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("queue: datasets for planning: %w", err)
	}
	if err := s.fillHitRates(ctx, out); err != nil {
		return nil, err
	}
	return out, s.fillExpectedStarts(ctx, out)
}

// fillExpectedStarts puts the expected start of each pending job Slurm has
// given one (see ObserveSlurmJobs) into PendingStarts; the rest stay zero
// (unknown).
func (s *Store) fillExpectedStarts(ctx context.Context, ds []planner.Dataset) error {
	rows, err := s.r.QueryContext(ctx, `SELECT jt.task_id, j.expected_start FROM jobs j JOIN job_tasks jt ON jt.job_id = j.id
		WHERE j.state = ? AND j.expected_start IS NOT NULL GROUP BY jt.task_id, j.id`, string(api.JobSubmitted))
	type start struct{ task, at int64 }
	list, err := readAll(rows, err, func(rows *sql.Rows, s *start) error { return rows.Scan(&s.task, &s.at) })
	if err != nil {
		return fmt.Errorf("queue: expected starts: %w", err)
	}
	if len(list) == 0 {
		return nil
	}
	starts := map[int64][]time.Time{}
	for _, s := range list {
		starts[s.task] = append(starts[s.task], fromNS(s.at))
	}
	for i := range ds {
		known := starts[ds[i].ID]
		for k := 0; k < len(known) && k < len(ds[i].PendingStarts); k++ {
			ds[i].PendingStarts[k] = known[k]
		}
	}
	return nil
}

// planChunk is how many tasks one transaction of ApplyPlan writes. The
// writer is held for one chunk at a time (a few ms), so submissions and job
// starts go in between: sbatch waits at most timeout_ms (500 ms by default)
// for warmupd, and a round of 60 000 tasks in one transaction held the
// writer 1.2 s.
const planChunk = 1000

// ApplyPlan stores a planner round: the priority of each task in prio, and
// for each queued task in waits the reason it does not start (shown by
// swarmup). Queued tasks in prio but not in waits get their wait reason
// cleared; a retry's reason (api.RetryReasonPrefix) stays. Unknown ids are ignored.
// The round is written in id order, planChunk tasks per transaction, one
// statement each: a round is not atomic, and needs not be (each task's
// priority and reason stand alone; the next round rewrites what moved).
func (s *Store) ApplyPlan(ctx context.Context, prio map[int64]float64, waits map[int64]string, now time.Time) error {
	rows := make([][3]any, 0, len(prio)+len(waits)) // task id, priority or null, reason
	for _, id := range slices.Sorted(maps.Keys(prio)) {
		rows = append(rows, [3]any{id, prio[id], waits[id]})
	}
	for _, id := range slices.Sorted(maps.Keys(waits)) {
		if _, ok := prio[id]; !ok {
			rows = append(rows, [3]any{id, nil, waits[id]})
		}
	}
	for chunk := range slices.Chunk(rows, planChunk) {
		arg, err := json.Marshal(chunk)
		if err != nil {
			return fmt.Errorf("queue: apply plan: %w", err)
		}
		err = s.inTx(ctx, func(tx *wtx) error {
			_, err := tx.ExecContext(ctx, `UPDATE tasks SET priority = coalesce(p.prio, tasks.priority),
					reason = CASE WHEN tasks.state = ?2 AND tasks.reason NOT LIKE ?3 THEN p.reason ELSE tasks.reason END
				FROM (SELECT value ->> 0 AS id, value ->> 1 AS prio, value ->> 2 AS reason FROM json_each(?1)) AS p
				WHERE tasks.id = p.id`, string(arg), string(api.TaskQueued), api.RetryReasonPrefix+"%")
			return err
		})
		if err != nil {
			return fmt.Errorf("queue: apply plan: %w", err)
		}
	}
	return nil
}

// MarkEvicted records that the cache manager evicted a task's dataset: the
// task becomes evicted with reason, and the dataset's cached bytes drop to 0.
// A queued or warming task is refused (something needs it again); ErrNotFound
// if there is no such task.
func (s *Store) MarkEvicted(ctx context.Context, taskID int64, reason string, now time.Time) error {
	return s.inTx(ctx, func(tx *wtx) error {
		var st string
		var dsID int64
		err := tx.QueryRowContext(ctx, `SELECT state, dataset_id FROM tasks WHERE id = ?`, taskID).Scan(&st, &dsID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("queue: mark evicted: no task %d: %w", taskID, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("queue: mark task %d evicted: %w", taskID, err)
		}
		if !api.TaskState(st).Terminal() {
			return fmt.Errorf("queue: mark task %d evicted: it is %s again (a new request needs it); re-plan before evicting", taskID, st)
		}
		return markEvictedTx(ctx, tx, taskID, dsID, reason, now)
	})
}

// markEvictedTx makes task taskID of dataset dsID evicted with reason, and
// the dataset's cached bytes 0: an evicted dataset is no longer re-checked
// (CheckCandidates), so what it still held must not count against the
// capacity. MarkEvicted and Short use it.
func markEvictedTx(ctx context.Context, tx *wtx, taskID, dsID int64, reason string, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `UPDATE tasks SET state = ?, reason = ?, updated_at = ?, finished_at = ? WHERE id = ?`,
		string(api.TaskEvicted), reason, ns(now), ns(now), taskID); err != nil {
		return fmt.Errorf("queue: mark task %d evicted: %w", taskID, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE datasets SET cached_bytes = 0, cached_ratio = 0, checked_at = ?1, check_started_at = ?1,
			ratio_method = ?2, ratio_bound = 0, ratio_sample = 0, `+clearStale+` WHERE id = ?3`,
		ns(now), string(api.RatioInferred), dsID); err != nil {
		return fmt.Errorf("queue: mark task %d evicted: %w", taskID, err)
	}
	return nil
}

// CheckCandidate is a dataset the cache manager may re-check.
type CheckCandidate struct {
	TaskID      int64 // 0 when the dataset has no task
	Path        string
	Bytes       int64
	CachedBytes int64
	CheckedAt   time.Time // zero when never checked
	State       api.TaskState
	// StaleAt is the first event since CheckedAt that marked it stale
	// (zero: none), StaleReason which kind.
	StaleAt     time.Time
	StaleReason api.StaleReason
}

// CheckCandidates returns up to limit datasets that are warm, partial or
// have no task (the ones whose cache status can change behind our back),
// least recently checked first, never-checked ones before all others.
func (s *Store) CheckCandidates(ctx context.Context, limit int) (_ []CheckCandidate, err error) {
	defer s.done(time.Now(), &err)
	return s.checkCandidates(ctx, checkWhere, limit)
}

// The WHERE, ORDER BY and LIMIT of CheckCandidates and StaleCandidates
// (candidatesQuery).
const (
	// checkWhere walks index datasets_checkable (migration 0015): only
	// datasets with no task or a warm or partial one, whose column
	// checkable the schema's triggers keep; never-checked ones (NULL) sort
	// first. The states are asked again, so that the list stays right
	// should the column ever be wrong the other way.
	checkWhere = `WHERE d.checkable AND (t.id IS NULL OR t.state IN (?1, ?2)) ORDER BY d.checked_at, d.id LIMIT ?3`
	// staleWhere walks index datasets_stale (a few rows). The unary + does
	// not change what it selects; it keeps SQLite from driving the query
	// from the warm tasks instead, one lookup per warm dataset (50 ms a call
	// on 100 000 of them, and Refresh lists it every second).
	staleWhere = `WHERE d.stale_at IS NOT NULL AND +t.state = ?1 ORDER BY d.stale_at, d.id LIMIT ?3`
)

// candidatesQuery lists datasets with their tasks; where is the query's
// WHERE, ORDER BY and LIMIT (?1 warm, ?2 partial, ?3 limit).
func candidatesQuery(where string) string {
	return `SELECT coalesce(t.id, 0), d.path, d.bytes, d.cached_bytes, d.checked_at, coalesce(t.state, ''),
			d.stale_at, coalesce(d.stale_reason, '')
		FROM datasets d LEFT JOIN tasks t ON t.dataset_id = d.id ` + where
}

// checkCandidates runs candidatesQuery(where).
func (s *Store) checkCandidates(ctx context.Context, where string, limit int) ([]CheckCandidate, error) {
	rows, err := s.r.QueryContext(ctx, candidatesQuery(where), string(api.TaskWarm), string(api.TaskPartial), limit)
	out, err := readAll(rows, err, func(rows *sql.Rows, c *CheckCandidate) error {
		var checked, stale sql.NullInt64
		var st, reason string
		err := rows.Scan(&c.TaskID, &c.Path, &c.Bytes, &c.CachedBytes, &checked, &st, &stale, &reason)
		c.CheckedAt, c.State = fromNullNS(checked), api.TaskState(st)
		c.StaleAt, c.StaleReason = fromNullNS(stale), api.StaleReason(reason)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("queue: check candidates: %w", err)
	}
	return out, nil
}
